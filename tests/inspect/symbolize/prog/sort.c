/* sort.c: another compile unit: an insertion sort with inlined compare and
 * swap helpers, and a call into mathx.h's helpers. */
#include "mathx.h"

static inline int less(int a, int b)
{
	return (int)mix32((uint32_t)a) % 7 < (int)mix32((uint32_t)b) % 7 || (a < b);
}

static inline void swap_ints(int *a, int *b)
{
	int t = *a;

	*a = *b;
	*b = t;
}

__attribute__((noinline)) int st_sort_and_sum(int *v, unsigned n)
{
	int sum = 0;

	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && less(v[j], v[j - 1]); j--)
			swap_ints(&v[j], &v[j - 1]);
	for (unsigned i = 0; i < n; i++)
		sum += (int)step((uint32_t)sum, (uint32_t)v[i]);
	return sum;
}
