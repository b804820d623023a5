/* mathx.h: small inline helpers of the symbolizer test program; each is
 * inlined into callers in several compile units (the inline chains the
 * test compares with addr2line -f -i). */
#ifndef SYMTEST_MATHX_H
#define SYMTEST_MATHX_H

#include <stdint.h>

static inline uint32_t mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

__attribute__((always_inline)) static inline uint32_t rotl(uint32_t x, unsigned r)
{
	return (x << (r & 31)) | (x >> ((32 - r) & 31));
}

__attribute__((always_inline)) static inline uint32_t step(uint32_t acc, uint32_t v)
{
	if (v & 1)
		return rotl(acc ^ mix32(v), 5) + v;
	return rotl(acc + v * 2654435761U, 13) ^ mix32(acc);
}

uint32_t st_hash_words(const uint32_t *w, unsigned n);
uint32_t st_checksum(const char *s);
int st_sort_and_sum(int *v, unsigned n);
uint32_t st_lib_entry(uint32_t seed, unsigned rounds); /* in libsymtest.so */

#endif
