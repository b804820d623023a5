/* analysis-doublefree.c: frees a block twice; glibc aborts with "free():
 * double free detected in tcache 2" (used by tests/inspect/core). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noipa)) static void release(char *volatile *p)
{
	free(*p);
}

int main(void)
{
	char *volatile buf = malloc(48);

	strcpy(buf, "session");
	release(&buf);
	release(&buf);
	puts("not reached");
	return 0;
}
