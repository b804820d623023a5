/* demo-lib.c: the small shared library demo-target loads with dlopen, so
 * that `lifeline maps` shows a library at a random base and `lifeline
 * symbolize` has a function in it to name. */
#include <stddef.h>
#include <stdint.h>

/* Data and bss of the library, so its map has every kind of segment. */
uint64_t demo_lib_calls = 1;
static uint64_t demo_lib_table[4096];

static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x100000001b3ull;
	return h ^ (h >> 29);
}

/* FNV-style checksum of a buffer; the inlined mix() gives symbolize an
 * inline frame to show. */
__attribute__((noinline)) uint64_t demo_lib_checksum(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h = mix(h, p[i]);
		demo_lib_table[i % 4096] += h;
	}
	demo_lib_calls++;
	return h;
}
