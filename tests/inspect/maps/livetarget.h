/* livetarget.h: start a test program that prints "key=value" lines and
 * "ready", keep it alive while a test looks at it, stop it; and ask
 * addr2line what it says about an address. */
#ifndef LL_TEST_LIVETARGET_H
#define LL_TEST_LIVETARGET_H

#include <stdint.h>
#include <sys/types.h>

struct lt_proc {
	pid_t pid;
	int in_fd;          /* its stdin: closing it ends the program */
	char *out;          /* everything it printed up to "ready" */
};

/* Start argv (argv[0] a path) and read its output up to the line "ready".
 * Returns 0 or -errno (-EPROTO when it exited before "ready"). */
int lt_start(char *const argv[], struct lt_proc *p);

/* Close its stdin, kill it, reap it, free. */
void lt_stop(struct lt_proc *p);

/* The value of "key=" (first match, up to the end of the line) in the output,
 * copied to buf; NULL when absent. */
const char *lt_value(const struct lt_proc *p, const char *key, char *buf, size_t size);

/* The hex address after "key=", or 0. */
uint64_t lt_addr(const struct lt_proc *p, const char *key);

/* Function name addr2line -f -e file prints for addr (first line), into
 * buf. Returns 0 or -errno. */
int lt_addr2line(const char *file, uint64_t addr, char *buf, size_t size);

#endif
