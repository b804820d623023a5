/* leakcheck.h: the scenario the spawn tests share: a parent with a listening
 * loopback socket and thousands of inheritable descriptors, and the check
 * that it can bind its port again while a child lives. */
#ifndef LL_TEST_LEAKCHECK_H
#define LL_TEST_LEAKCHECK_H

#include <stddef.h>

/* Raise the soft RLIMIT_NOFILE to the hard one and open n descriptors
 * without close-on-exec (dups of /dev/null). Returns 0 or -errno. */
int lc_open_many(int n);

/* A TCP socket listening on 127.0.0.1, ephemeral port, no close-on-exec.
 * Returns the fd (port in *port) or -errno. */
int lc_listen(int *port);

/* Bind and listen on 127.0.0.1:port with a fresh socket, then close it.
 * Returns 0 or -errno (-EADDRINUSE when someone still holds the port). */
int lc_rebind(int port);

/* Copy the value of key=... from a fdreport line into out. 0 or -ENOENT. */
int lc_field(const char *line, const char *key, char *out, size_t size);

/* Read one line from fd into buf (at most size-1 bytes, no newline), waiting
 * at most timeout_ms. Returns its length or -errno (-ETIMEDOUT). */
int lc_read_line(int fd, char *buf, size_t size, int timeout_ms);

#endif
