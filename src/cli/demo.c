/* demo.c: `lifeline demo` runs each module's demo part in turn and says
 * which parts behaved as they should. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/output.h"

struct part {
	const char *name;
	int (*run)(void);
};

static const struct part parts[] = {
	{ "inspect", demo_inspect },
	{ "plugin", demo_plugin },
	{ "crash", demo_crash },
	{ "spawn", demo_spawn },
	{ "coredump", demo_coredump },
	{ "upgrade", demo_upgrade },
};

int cmd_demo(int argc, char **argv)
{
	const char *only = NULL;
	int failed = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: lifeline demo [PART]\n\nRuns every demo part, or only PART:");
			for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++)
				printf(" %s", parts[p].name);
			printf(".\nExit status 0 when every part behaved as it should.\n");
			return LL_EXIT_OK;
		}
		if (argv[i][0] == '-' || only) {
			out_error("demo", "unexpected argument '%s'; see 'lifeline demo --help'", argv[i]);
			return LL_EXIT_USAGE;
		}
		only = argv[i];
	}
	for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
		int r;

		if (only && strcmp(only, parts[p].name))
			continue;
		printf("%s==== lifeline demo: %s ====%s\n", OUT_BOLD, parts[p].name, OUT_RESET);
		fflush(stdout);
		r = parts[p].run();
		printf("%s---- %s: %s%s\n\n", r == 0 ? OUT_GREEN : OUT_RED, parts[p].name,
		       r == 0 ? "ok" : "FAILED", OUT_RESET);
		fflush(stdout);
		if (r != 0)
			failed++;
		only = only ? "" : NULL;
	}
	if (only && *only) {
		out_error("demo", "no demo part named '%s'; see 'lifeline demo --help'", only);
		return LL_EXIT_USAGE;
	}
	return failed ? LL_EXIT_FAIL : LL_EXIT_OK;
}
