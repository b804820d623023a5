/* output.h: the CLI's one output module: errors, JSON, colour. */
#ifndef LL_CLI_OUTPUT_H
#define LL_CLI_OUTPUT_H

#include <stdbool.h>
#include <json-c/json.h>

/* Print "lifeline <cmd>: <message>\n" to stderr. */
void out_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print a JSON value to stdout, pretty, followed by a newline; then release
 * it (json_object_put). Returns 0 or -EIO. */
int out_json(json_object *o);

/* True when stdout is a terminal and NO_COLOR is not set. */
bool out_color(void);

/* ANSI sequence for bold/red/green/yellow/dim/reset, or "" without colour. */
const char *out_c(const char *ansi);
#define OUT_BOLD out_c("\033[1m")
#define OUT_RED out_c("\033[31m")
#define OUT_GREEN out_c("\033[32m")
#define OUT_YELLOW out_c("\033[33m")
#define OUT_DIM out_c("\033[2m")
#define OUT_RESET out_c("\033[0m")

/* Human-readable size: "12.0 KiB". buf must hold 32 bytes. Returns buf. */
const char *out_size(unsigned long long bytes, char buf[32]);

#endif
