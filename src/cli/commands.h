/* commands.h: every `lifeline` subcommand and demo part, one entry point each.
 *
 * A subcommand gets argc/argv starting at its own name (argv[0] is "maps")
 * and returns the process exit status:
 *   0  everything asked for was done
 *   1  at least one item failed (the others were still answered), or a
 *      runtime error; a message naming the item was printed to stderr
 *   2  usage error (bad option or argument)
 * Each parses its own options (getopt_long) and handles --help. */
#ifndef LL_CLI_COMMANDS_H
#define LL_CLI_COMMANDS_H

#define LL_EXIT_OK 0
#define LL_EXIT_FAIL 1
#define LL_EXIT_USAGE 2

int cmd_maps(int argc, char **argv);
int cmd_symbolize(int argc, char **argv);
int cmd_install(int argc, char **argv);
int cmd_stale(int argc, char **argv);
int cmd_fds(int argc, char **argv);
int cmd_coredump(int argc, char **argv);
int cmd_cores(int argc, char **argv);
int cmd_upgrade(int argc, char **argv);
int cmd_demo(int argc, char **argv);


#endif
