/* lib.c: libsymtest.so, a shared library of the symbolizer test, with its
 * own inlined helpers. */
#include "mathx.h"

static inline uint32_t lib_round(uint32_t s, unsigned i)
{
	return step(s, i) + rotl(s, i);
}

__attribute__((noinline)) uint32_t st_lib_entry(uint32_t seed, unsigned rounds)
{
	for (unsigned i = 0; i < rounds; i++)
		seed = lib_round(seed, i);
	return seed;
}
