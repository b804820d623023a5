/* resolve-lib.c: a library the resolve tests link with unusual layouts
 * (segments whose p_offset != p_vaddr, a nonzero base, text sharing a page
 * with data) and load at a random base. */
int resolve_lib_data = 42;
int resolve_lib_bss[4096];

__attribute__((noinline)) int resolve_lib_a(int x)
{
	resolve_lib_bss[x & 4095] += x;
	return x * 7 + resolve_lib_data;
}

__attribute__((noinline)) int resolve_lib_b(int x)
{
	for (int i = 0; i < x; i++)
		resolve_lib_bss[i & 4095] ^= i;
	return resolve_lib_a(x) + 1;
}
