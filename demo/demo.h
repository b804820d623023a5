/* demo.h: the parts of lifeline-demo (one per module) and the few helpers
 * they share: finding the example programs shipped beside the demo,
 * running the lifeline CLI, and following a child's output. */
#ifndef LL_DEMO_H
#define LL_DEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Each part prints what it does and returns 0 when everything behaved as
 * the part says it should, 1 otherwise. */
int demo_inspect(void);
int demo_plugin(void);
int demo_crash(void);
int demo_spawn(void);
int demo_coredump(void);
int demo_upgrade(void);

/* The lifeline program the parts run (`--cli`, or found beside the demo). */
extern const char *demo_cli;

/* Locate a file shipped with the demo, REL as in the build tree
 * ("examples/inspect/demo-target"): beside this program when installed
 * (LIBEXECDIR/lifeline/REL), one directory up in the build tree
 * (BUILD/demo/../REL). Writes the path into buf. Returns 0 or -ENOENT. */
int demo_asset(const char *rel, char *buf, size_t size);

/* Monotonic clock in milliseconds. */
long demo_now_ms(void);

/* Run argv (argv[0] a path or a name looked up in PATH) to completion with
 * our stdout and stderr; stdin from in_fd (read from its start) or
 * /dev/null when in_fd < 0. Returns the wait status or -errno. */
int demo_run(char *const argv[], int in_fd);

/* A child whose stdout we read line by line. */
struct demo_child {
	pid_t pid;
	int out;  /* its stdout, or -1 */
	int in;   /* the write end of its stdin, or -1 */
	char buf[8192];
	size_t used;
};
#define DEMO_CHILD_INIT { .pid = -1, .out = -1, .in = -1 }

/* Start argv with stdout on a pipe, stdin on a pipe when want_stdin (else
 * /dev/null), stderr to /dev/null when quiet. Returns 0 or -errno. */
int demo_child_start(struct demo_child *c, char *const argv[], bool want_stdin, bool quiet);

/* Print c's lines (indented, dimmed) as they come until one contains needle
 * (returns 1), end of file (0) or the timeout (-ETIMEDOUT); needle NULL:
 * until end of file. */
int demo_child_follow(struct demo_child *c, const char *needle, long timeout_ms);

/* Read c's output silently until a line contains needle; that line (without
 * its newline) goes into line. Returns 1, 0 (end of file) or -ETIMEDOUT. */
int demo_child_expect(struct demo_child *c, const char *needle, long timeout_ms, char *line, size_t size);

/* Close c's pipes, SIGKILL and reap it (when it is still ours). */
void demo_child_stop(struct demo_child *c);

#endif
