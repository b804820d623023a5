/* hash.c: a compile unit whose loops inline the helpers of mathx.h. */
#include "mathx.h"

static inline uint32_t fold(uint32_t a, uint32_t b)
{
	return step(a, b) ^ step(b, a);
}

__attribute__((noinline)) uint32_t st_hash_words(const uint32_t *w, unsigned n)
{
	uint32_t acc = 0x9e3779b9U;

	for (unsigned i = 0; i < n; i++)
		acc = fold(acc, w[i]);
	return mix32(acc);
}

__attribute__((noinline)) uint32_t st_checksum(const char *s)
{
	uint32_t acc = 1;

	while (*s) {
		acc = step(acc, (unsigned char)*s);
		s++;
	}
	return acc;
}
