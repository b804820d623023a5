/* cmd_demo.c: `lifeline demo` runs lifeline-demo, which ships apart from
 * the tool with its example programs (LIBEXECDIR/lifeline). In a build tree
 * (BUILD/src/cli/lifeline) the one built beside it, BUILD/demo, comes
 * first. The demo is told to run this very lifeline (--cli). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ll_config.h"
#include "cli/commands.h"
#include "cli/output.h"

#define BUILD_SUFFIX "/src/cli/lifeline"

int cmd_demo(int argc, char **argv)
{
	char self[PATH_MAX], prog[PATH_MAX + 32];
	char *nargv[64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	size_t len, k = 0;

	if (n <= 0) {
		out_error("demo", "cannot tell where this lifeline is (/proc/self/exe: %s)", strerror(errno));
		return LL_EXIT_FAIL;
	}
	self[n] = '\0';
	len = (size_t)n;
	if (len > strlen(BUILD_SUFFIX) && !strcmp(self + len - strlen(BUILD_SUFFIX), BUILD_SUFFIX))
		snprintf(prog, sizeof(prog), "%.*s/demo/lifeline-demo", (int)(len - strlen(BUILD_SUFFIX)), self);
	else
		snprintf(prog, sizeof(prog), "%s/lifeline-demo", LL_LIBEXECDIR);
	if (argc > 60) {
		out_error("demo", "too many arguments; see 'lifeline demo --help'");
		return LL_EXIT_USAGE;
	}
	nargv[k++] = prog;
	nargv[k++] = "--cli";
	nargv[k++] = self;
	for (int i = 1; i < argc; i++)
		nargv[k++] = argv[i];
	nargv[k] = NULL;
	fflush(NULL);
	execv(prog, nargv);
	out_error("demo", "cannot run the demo program %s: %s; build the tree (ninja -C build) or install "
			  "lifeline with its demo", prog, strerror(errno));
	return LL_EXIT_FAIL;
}
