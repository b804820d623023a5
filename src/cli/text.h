/* text.h: text helpers shared by the CLI commands that handle names
 * chosen by someone else (file names, process names, input lines) and by
 * their option parsing. */
#ifndef LL_CLI_TEXT_H
#define LL_CLI_TEXT_H

#include <getopt.h>
#include <stddef.h>
#include <json-c/json.h>

/* s made safe for a terminal: control bytes (C0, DEL, UTF-8-encoded C1),
 * bytes that are not valid UTF-8 and backslash are written as \xHH (\\ for
 * backslash); valid UTF-8 is kept. Cut with "..." to fit size. Returns buf. */
const char *cli_esc(const char *s, char *buf, size_t size);

/* Like cli_esc() for a counted string (may hold NUL bytes), no size limit
 * beyond size. Returns buf. */
const char *cli_esc_len(const char *s, size_t len, char *buf, size_t size);

/* True when s holds nothing cli_esc() would change. */
int cli_is_clean(const char *s, size_t len);

/* A JSON string for s that is valid UTF-8 whatever s holds: bytes that are
 * not valid UTF-8 become the text \xHH (JSON escapes control characters
 * itself). NULL for a NULL s (JSON null). */
json_object *cli_json_str(const char *s);
json_object *cli_json_str_len(const char *s, size_t len);

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
