/* legacy_system.c: an unmodified program of the kind that leaks: it listens
 * on 127.0.0.1 (ephemeral port, no close-on-exec), holds 10,000 more
 * inheritable descriptors, and runs a helper with plain system() from a
 * thread. It knows nothing of lifeline; the tests run it with and without
 * the preload shim.
 *
 * Protocol on stdout/stdin: prints "port=N"; the helper (argv[1], a shell
 * command) prints its own line; then on the line "rebind" from stdin, the
 * program closes its socket, tries to bind the port again and prints
 * "rebind=ok" or "rebind=ERRNO-NAME"; then it waits for system() to return
 * and prints "status=0xHEX". */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "leakcheck.h"

static int sys_status;

static void *run(void *cmd)
{
	sys_status = system(cmd);
	return NULL;
}

int main(int argc, char **argv)
{
	char line[64];
	pthread_t t;
	int port, s, r;

	if (argc != 2) {
		fprintf(stderr, "usage: legacy_system SHELL-COMMAND\n");
		return 2;
	}
	if (lc_open_many(10000) < 0 || (s = lc_listen(&port)) < 0) {
		perror("legacy_system: set-up");
		return 1;
	}
	printf("port=%d\n", port);
	fflush(stdout);
	if (pthread_create(&t, NULL, run, argv[1]) != 0)
		return 1;
	if (!fgets(line, sizeof(line), stdin) || strncmp(line, "rebind", 6)) {
		fprintf(stderr, "legacy_system: expected 'rebind' on stdin\n");
		return 1;
	}
	close(s);
	r = lc_rebind(port);
	printf("rebind=%s\n", r == 0 ? "ok" : r == -EADDRINUSE ? "EADDRINUSE" : strerror(-r));
	fflush(stdout);
	pthread_join(t, NULL);
	printf("status=%#x\n", (unsigned)sys_status);
	fflush(stdout);
	return 0;
}
