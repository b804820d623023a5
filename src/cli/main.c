/* main.c: `lifeline` entry point. Dispatches git-style to one subcommand;
 * every subcommand lives in its module's directory under src/cli/. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lifeline/lifeline.h"
#include "cli/commands.h"
#include "cli/text.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "maps", cmd_maps, "show a process's memory map, classified, with RSS/PSS" },
	{ "symbolize", cmd_symbolize, "turn addresses (or crash report frames) into function, file:line" },
	{ "install", cmd_install, "atomically replace a .so or binary (never in place)" },
	{ "stale", cmd_stale, "find processes running deleted or truncated mappings" },
	{ "fds", cmd_fds, "list a process's descriptors, sockets and leaks" },
	{ "coredump", cmd_coredump, "the core_pattern helper (and --install/--uninstall)" },
	{ "cores", cmd_cores, "list, inspect, extract and debug stored cores" },
	{ "upgrade", cmd_upgrade, "upgrade a running lifeline service's binary, keeping its sockets" },
	{ "demo", cmd_demo, "show what lifeline does, on bundled programs" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: lifeline [--version] [--help] COMMAND [ARGS]\n\n"
		   "Keep long-running Linux services alive and debuggable.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'lifeline COMMAND --help' for a command's options.\n"
		   "Exit status: 0 success, 1 an item or the operation failed, 2 usage error.\n");
}

/* Output that could not be written (a full disk, a closed stdout) is a
 * failure, not a silent success. */
static int finish(const char *cmd, int status)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "lifeline %s: writing the output failed: %s\n", cmd,
			strerror(errno ? errno : EIO));
		return status ? status : LL_EXIT_FAIL;
	}
	return status;
}

int main(int argc, char **argv)
{
	/* A closed 0, 1 or 2 gets /dev/null, so that no file a command opens
	 * can become its stdout. */
	cli_std_fds();
	if (argc < 2) {
		usage(stderr);
		return LL_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return finish("--help", LL_EXIT_OK);
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("lifeline %s\n", ll_version());
		return finish("--version", LL_EXIT_OK);
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return finish(argv[1], commands[i].run(argc - 1, argv + 1));
	fprintf(stderr, "lifeline: unknown command '%s'; run 'lifeline --help' for the list\n", argv[1]);
	return LL_EXIT_USAGE;
}
