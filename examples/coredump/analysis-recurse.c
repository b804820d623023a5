/* analysis-recurse.c: overflows the main thread's stack by unbounded
 * recursion (used by tests/inspect/core). */
#include <stdio.h>
#include <string.h>

__attribute__((noipa)) static unsigned long descend(unsigned long depth, const char *tag)
{
	volatile char frame[256];

	memset((char *)frame, (int)depth, sizeof(frame));
	if (tag[0] == '\0')
		return frame[3];
	return descend(depth + 1, tag) + frame[(depth * 7) % sizeof(frame)];
}

int main(int argc, char **argv)
{
	printf("%lu\n", descend(0, argc > 1 ? argv[1] : "go"));
	return 0;
}
