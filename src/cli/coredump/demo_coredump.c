/* demo_coredump.c: placeholder until the coredump module lands its demo part. */
#include <stdio.h>
#include "cli/commands.h"

int demo_coredump(void)
{
	printf("(the coredump demo part is not built yet)\n");
	return 1;
}
