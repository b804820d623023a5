/* demo_inspect.c: placeholder until the inspect module lands its demo part. */
#include <stdio.h>
#include "cli/commands.h"

int demo_inspect(void)
{
	printf("(the inspect demo part is not built yet)\n");
	return 1;
}
