/* demo_crash.c: placeholder until the crash module lands its demo part. */
#include <stdio.h>
#include "cli/commands.h"

int demo_crash(void)
{
	printf("(the crash demo part is not built yet)\n");
	return 1;
}
