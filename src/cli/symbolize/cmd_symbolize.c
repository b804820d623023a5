/* cmd_symbolize.c: placeholder until the inspect module lands this command. */
#include "cli/commands.h"
#include "cli/output.h"

int cmd_symbolize(int argc, char **argv)
{
	(void)argc;
	out_error(argv[0], "not built yet");
	return LL_EXIT_FAIL;
}
