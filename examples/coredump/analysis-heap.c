/* analysis-heap.c: overflows a heap block into the top chunk's header; the
 * next allocation from the top makes glibc abort with "malloc(): corrupted
 * top size" (used by tests/inspect/core). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noipa)) static void fill(char *dst, size_t n)
{
	memset(dst, 0x41, n);
}

int main(void)
{
	char *small = malloc(24);

	fill(small, 24 + 8); /* 8 bytes past the block: the top chunk's size */
	char *big = malloc(3000);
	printf("%p %p\n", (void *)small, (void *)big);
	return 0;
}
