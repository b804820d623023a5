/* spawn.c: `lifeline demo spawn`, the inherited-socket leak and its fix.
 *
 * This process listens on 127.0.0.1 (ephemeral port, no close-on-exec, as
 * most servers do) and runs a helper ("exec sleep 30") from a thread, first
 * with glibc's system(), then with ll_system(). Each time it shows what the
 * helper shares with its parent (the `lifeline fds --inherited` view) and
 * who holds the port (the `--port` view), then closes its socket and binds
 * the port again while the helper still lives: with system() that fails
 * (EADDRINUSE: the helper holds the listening socket), with ll_system() it
 * works. The part passes when both outcomes are as described. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lifeline/inspect/fds.h"
#include "lifeline/spawn.h"
#include "cli/output.h"
#include "demo.h"

#define HELPER "exec sleep 30"

struct runner {
	int safe;
	int status;
};

static void *run_helper(void *arg)
{
	struct runner *r = arg;

	r->status = r->safe ? ll_system(HELPER) : system(HELPER);
	return NULL;
}

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((unsigned short)port) };
	int s = socket(AF_INET, SOCK_STREAM, 0); /* inheritable on purpose */

	if (s < 0)
		return -errno;
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 16) < 0) {
		int e = errno;

		close(s);
		return -e;
	}
	return s;
}

static int port_of(int s)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getsockname(s, (struct sockaddr *)&a, &len) < 0)
		return -errno;
	return ntohs(a.sin_port);
}

/* The child of ours named "sleep", waiting up to 5 s for it to appear. */
static pid_t find_helper(void)
{
	for (int tries = 0; tries < 500; tries++) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		pid_t found = 0;

		while (d && (e = readdir(d)) && !found) {
			char path[300], buf[512], *p;
			int fd, ppid;
			ssize_t n;

			if (e->d_name[0] < '1' || e->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n <= 0)
				continue;
			buf[n] = '\0';
			p = strrchr(buf, ')');
			if (p && sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == getpid() &&
			    strstr(buf, "(sleep)"))
				found = atoi(e->d_name);
		}
		if (d)
			closedir(d);
		if (found)
			return found;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	return -1;
}

static void show_inherited(pid_t child, int port)
{
	struct ll_fds *fds = NULL;
	int shared, shown = 0;

	if (ll_fds_read(child, 0, &fds) < 0 || (shared = ll_fds_mark_inherited(fds, 0)) < 0) {
		printf("  (could not read the helper's descriptors)\n");
		ll_fds_free(fds);
		return;
	}
	printf("  lifeline fds --inherited %d: the helper shares %d of its %zu descriptors with us\n",
	       (int)child, shared, fds->n);
	for (size_t i = 0; i < fds->n && shown < 6; i++) {
		const struct ll_fd *f = &fds->v[i];

		if (f->parent_fd < 0)
			continue;
		shown++;
		if (f->has_socket && f->sock.local_port == port)
			printf("    %sfd %d = our fd %d: %s %s %s  <- our listening socket%s\n", OUT_RED,
			       f->fd, f->parent_fd, ll_sock_proto_name(f->sock.proto), f->sock.local,
			       f->sock.state, OUT_RESET);
		else
			printf("    fd %d = our fd %d: %s %s\n", f->fd, f->parent_fd, ll_fd_type_name(f->type),
			       f->target);
	}
	ll_fds_free(fds);
}

static void show_port(int port)
{
	struct ll_port_holder *h = NULL;
	size_t n = 0;

	if (ll_fds_port_holders((uint16_t)port, &h, &n) < 0) {
		printf("  (could not scan /proc)\n");
		return;
	}
	printf("  lifeline fds --port %d: %zu holder%s\n", port, n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++)
		printf("    pid %d (%s) fd %d %s %s%s\n", (int)h[i].pid, h[i].comm, h[i].fd, h[i].sock.state,
		       h[i].opener ? "opened it" : "holds it too",
		       h[i].inherited_from ? " (inherited from its parent)" : "");
	free(h);
}

/* One round: returns the errno of the rebind (0: it worked), or -1. */
static int round_with(int safe, int *sock)
{
	struct runner r = { .safe = safe, .status = -1 };
	pthread_t t;
	pid_t child;
	int port = port_of(*sock), e;

	printf("%s%s(\"" HELPER "\")%s with our socket on 127.0.0.1:%d open\n", OUT_BOLD,
	       safe ? "ll_system" : "system", OUT_RESET, port);
	if (pthread_create(&t, NULL, run_helper, &r) != 0)
		return -1;
	child = find_helper();
	if (child < 0) {
		printf("  the helper did not start\n");
		pthread_join(t, NULL);
		return -1;
	}
	show_inherited(child, port);
	show_port(port);
	close(*sock);
	*sock = listen_on(port);
	e = *sock < 0 ? -*sock : 0;
	if (e)
		printf("  we closed our socket and bound port %d again while the helper lives: %s%s%s\n", port,
		       OUT_RED, strerror(e), OUT_RESET);
	else
		printf("  we closed our socket and bound port %d again while the helper lives: %sok%s\n", port,
		       OUT_GREEN, OUT_RESET);
	kill(child, SIGTERM);
	pthread_join(t, NULL);
	if (*sock < 0)
		*sock = listen_on(port); /* the helper is gone: the port is free */
	return e;
}

int demo_spawn(void)
{
	int sock = listen_on(0), leak, fixed;

	if (sock < 0) {
		out_error("demo", "spawn: cannot listen on 127.0.0.1: %s", strerror(-sock));
		return 1;
	}
	printf("A server (this process, pid %d) listens on 127.0.0.1:%d without close-on-exec\n"
	       "and restarts a helper. The helper must not keep the server's port.\n\n",
	       (int)getpid(), port_of(sock));
	fflush(stdout);
	leak = round_with(0, &sock);
	putchar('\n');
	fixed = sock >= 0 ? round_with(1, &sock) : -1;
	if (sock >= 0)
		close(sock);
	printf("\nsystem(): the helper kept the port (%s); ll_system(): %s.\n",
	       leak == EADDRINUSE ? "EADDRINUSE on rebind, as expected" : "unexpected",
	       fixed == 0 ? "the port was free at once" : "unexpected failure");
	return leak == EADDRINUSE && fixed == 0 ? 0 : 1;
}
