/* demo_plugin.c: placeholder until the plugin module lands its demo part. */
#include <stdio.h>
#include "cli/commands.h"

int demo_plugin(void)
{
	printf("(the plugin demo part is not built yet)\n");
	return 1;
}
