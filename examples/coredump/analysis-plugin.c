/* analysis-plugin.c: a plugin whose entry point lies far into its text (a
 * large table of code before it), so that a smaller file copied over it
 * leaves plugin_run past the new end of file (used by tests/inspect/core). */
#define PAD(n) __attribute__((noipa, used)) long pad_##n(long x) { \
	return x * (n + 3) + (x >> 3) - (x ^ n) * 7 + (x & 0xff) * (n | 1); }
#define PAD8(n) PAD(n##0) PAD(n##1) PAD(n##2) PAD(n##3) PAD(n##4) PAD(n##5) PAD(n##6) PAD(n##7)
#define PAD64(n) PAD8(n##0) PAD8(n##1) PAD8(n##2) PAD8(n##3) PAD8(n##4) PAD8(n##5) PAD8(n##6) PAD8(n##7)
PAD64(1) PAD64(2) PAD64(3) PAD64(4) PAD64(5) PAD64(6) PAD64(7)

__attribute__((noipa)) long plugin_run(long x)
{
	return pad_100(x) + pad_777(x) + 1;
}
