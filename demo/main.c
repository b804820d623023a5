/* main.c: lifeline-demo, the program behind `lifeline demo`. It ships apart
 * from the tool (installed under LIBEXECDIR/lifeline with the example
 * programs it runs) and runs each module's demo part in turn, saying which
 * parts behaved as they should. `lifeline demo` starts it with --cli naming
 * itself; the parts run that lifeline as a separate program, as a user
 * would. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/output.h"
#include "demo.h"

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

static void usage(void)
{
	printf("usage: lifeline demo [--cli PATH] [PART]\n\nRuns every demo part, or only PART:");
	for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++)
		printf(" %s", parts[p].name);
	printf(".\n\n  --cli PATH   the lifeline program the parts run (default: the one that started\n"
	       "               the demo, or the one beside it)\n  -h, --help   this help\n\n"
	       "Exit status 0 when every part behaved as it should.\n");
}

int main(int argc, char **argv)
{
	static char found[4096];
	const char *only = NULL;
	int failed = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage();
			return 0;
		}
		if (!strcmp(argv[i], "--cli") && i + 1 < argc) {
			demo_cli = argv[++i];
			continue;
		}
		if (argv[i][0] == '-' || only) {
			out_error("demo", "unexpected argument '%s'; see 'lifeline demo --help'", argv[i]);
			return 2;
		}
		only = argv[i];
	}
	if (!demo_cli) {
		if (demo_asset("src/cli/lifeline", found, sizeof(found)) < 0 &&
		    demo_asset("../../bin/lifeline", found, sizeof(found)) < 0) {
			out_error("demo", "no lifeline program found beside this one: run 'lifeline demo', or "
					  "name it with --cli PATH");
			return 2;
		}
		demo_cli = found;
	}
	if (only) {
		size_t p = 0;

		while (p < sizeof(parts) / sizeof(parts[0]) && strcmp(only, parts[p].name))
			p++;
		if (p == sizeof(parts) / sizeof(parts[0])) {
			out_error("demo", "no demo part named '%s'; see 'lifeline demo --help'", only);
			return 2;
		}
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
	}
	return failed ? 1 : 0;
}
