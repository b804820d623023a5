/* cmd_fds.c: placeholder until the spawn module lands this command. */
#include "cli/commands.h"
#include "cli/output.h"

int cmd_fds(int argc, char **argv)
{
	(void)argc;
	out_error(argv[0], "not built yet");
	return LL_EXIT_FAIL;
}
