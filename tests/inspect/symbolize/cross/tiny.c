/* tiny.c: cross-compiled (aarch64, mipsel) for the foreign-binary
 * disassembly test of `lifeline symbolize`. */
int tiny_sum(const int *v, int n);

__attribute__((noinline)) int tiny_sum(const int *v, int n)
{
	int s = 0;

	for (int i = 0; i < n; i++)
		s += v[i] * 3 + (v[i] >> 2);
	return s;
}

int main(void)
{
	static const int v[4] = { 1, 2, 3, 4 };

	return tiny_sum(v, 4) & 1;
}
