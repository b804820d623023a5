/* main.c: the symbolizer test program. Built by the tests with -g -O2 (PIE,
 * non-PIE, stripped...). With "wait" it prints the runtime addresses of a
 * few functions (its own and libsymtest.so's) and sleeps until killed, for
 * `lifeline symbolize --pid`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mathx.h"

static inline int parse_count(const char *s)
{
	int n = s ? atoi(s) : 16;

	return n > 0 && n < 4096 ? n : 16;
}

int main(int argc, char **argv)
{
	int n = parse_count(argc > 2 ? argv[2] : NULL);
	uint32_t w[64];
	int v[64];

	for (int i = 0; i < 64; i++) {
		w[i] = (uint32_t)(i * 7 + n);
		v[i] = (int)mix32((uint32_t)i) % 1000;
	}
	printf("%u %u %d %u\n", st_hash_words(w, 64), st_checksum(argv[0]), st_sort_and_sum(v, 64),
	       st_lib_entry((uint32_t)n, 10));
	if (argc > 1 && !strcmp(argv[1], "wait")) {
		printf("st_hash_words %p\nst_sort_and_sum %p\nst_lib_entry %p\n", (void *)st_hash_words,
		       (void *)st_sort_and_sum, (void *)st_lib_entry);
		fflush(stdout);
		pause();
	}
	return 0;
}
