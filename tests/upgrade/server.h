/* server.h: helpers of the upgrade tests: start the example upgrade-server
 * as a child, read its "serving ..." lines, wait for processes. */
#ifndef LL_TEST_UPGRADE_SERVER_H
#define LL_TEST_UPGRADE_SERVER_H

#include <stdint.h>
#include <sys/types.h>

struct srv {
	pid_t pid;       /* the first process (our child) */
	int out;         /* read end of the stdout pipe all versions share */
	uint16_t port;
};

/* Path of an example binary (build tree), in a static buffer per call slot. */
const char *srv_example(const char *name);

/* Start examples/upgrade/NAME with extra arguments (NULL-terminated list,
 * may be empty) on an ephemeral port; waits for its "serving" line.
 * Makes this process a child subreaper, so that every version ends up our
 * child and is reaped here. Returns 0 or -errno. */
int srv_start(struct srv *s, const char *name, const char *const *extra);

/* Read the next "serving pid=... port=... version=V" line within timeout_ms;
 * *pid and version (may be NULL, 16 bytes) are filled. 0 or -ETIMEDOUT. */
int srv_next_serving(struct srv *s, int timeout_ms, pid_t *pid, char *version);

/* Wait at most timeout_ms for pid (a child of ours, directly or adopted)
 * to end, reaping it; 0 when it ended, -ETIMEDOUT. */
int srv_wait_exit(pid_t pid, int timeout_ms);

/* Reap whatever children ended (adopted old versions). */
void srv_reap(void);

/* SIGTERM pid and reap it (at most 5 s, then SIGKILL). */
void srv_stop(pid_t pid);

/* The inode of pid's descriptor fd when it is a socket, else 0. */
unsigned long srv_socket_inode(pid_t pid, int fd);

#endif
