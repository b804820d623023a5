/* leaky-server.c: the bug lifeline's spawn module fixes, as a program to
 * try the tools on. It listens on 127.0.0.1:PORT (0: any free port) without
 * close-on-exec, as most servers do, prints "pid=N port=N", and runs
 * COMMAND (default "sleep 60") with plain system(). The command inherits the
 * listening socket:
 *
 *   ./leaky-server 0 'sleep 60' &
 *   lifeline fds --port PORT              # the server and sleep hold it
 *   lifeline fds --inherited $(pgrep -n sleep)
 *   LD_PRELOAD=liblifeline-safe-spawn.so ./leaky-server 0 'sleep 60' &
 *   lifeline fds --port PORT              # only the server */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	const char *cmd = argc > 2 ? argv[2] : "sleep 60";
	int s, st;

	if (argc > 3 || (argc > 1 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: leaky-server [PORT [COMMAND]]\n");
		return 2;
	}
	a.sin_port = htons((unsigned short)(argc > 1 ? atoi(argv[1]) : 0));
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 16) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) < 0) {
		perror("leaky-server: listen on 127.0.0.1");
		return 1;
	}
	printf("pid=%d port=%d\n", (int)getpid(), ntohs(a.sin_port));
	fflush(stdout);
	st = system(cmd);
	printf("system(\"%s\") returned %#x\n", cmd, (unsigned)st);
	close(s);
	return 0;
}
