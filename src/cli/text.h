/* text.h: helpers shared by the CLI commands for their descriptors and
 * their option parsing. Names chosen by someone else (file names, process
 * names, input lines) are escaped with common/escape.h. */
#ifndef LL_CLI_TEXT_H
#define LL_CLI_TEXT_H

#include <getopt.h>
#include <stddef.h>

/* Make sure descriptors 0, 1 and 2 exist: each closed one is given
 * /dev/null read-only, so that no file we open later becomes "stdout" (and
 * gets our output written into it) while writes to it still fail and are
 * reported. Returns a mask of the ones that were closed (1 << fd) when it
 * was first called (main() calls it at start; later calls return the same). */
unsigned cli_std_fds(void);

/* Report a getopt_long() error (c is '?' or ':', the optstring started with
 * ':' and opterr is 0) for command cmd: names the option and what is wrong
 * (unknown, takes no value, needs a value, a negative number). Returns
 * LL_EXIT_USAGE. */
int cli_opt_error(const char *cmd, int c, char **argv, const struct option *longopts);

#endif
