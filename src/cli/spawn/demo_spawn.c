/* demo_spawn.c: placeholder until the spawn module lands its demo part. */
#include <stdio.h>
#include "cli/commands.h"

int demo_spawn(void)
{
	printf("(the spawn demo part is not built yet)\n");
	return 1;
}
