/* upgrade-server.c: a small HTTP/1.1 keep-alive server (epoll, one thread)
 * that upgrades its own binary with no refused or failed connection.
 *
 * Start-up: the listening socket comes from ll_upgrade_inherited("http")
 * (handed over by the old version, or by systemd socket activation), else
 * it binds 127.0.0.1:PORT itself (first start); it is registered under
 * "http". The state blob carries the generation number (how many upgrades
 * led here). Then it signals readiness (ll_upgrade_ready()) and serves.
 *
 * Upgrade: on SIGUSR2 (to /proc/self/exe as it is on disk now) or on a
 * `lifeline upgrade PID` request (control socket). When the new version is
 * ready, this one closes its listening socket (ll_upgrade_release_all()),
 * answers the next request of each open connection with "Connection:
 * close", closes the connections, and exits when none is left or when the
 * drain deadline passes. If the upgrade is rolled back, it serves on.
 *
 * Every response names the version and pid that answered it (X-Version,
 * X-Pid headers, and the body "VERSION PID\n"). Built in several versions
 * from this one file (see meson.build): UPGRADE_VERSION names it, and
 * UPGRADE_FAIL makes a broken one: "exit" exits 1 at start, "crash" is
 * killed by SIGSEGV before it is ready, "hang" never says it is ready.
 *
 * Usage: upgrade-server [--port PORT] [--drain-ms MS] [--ready-timeout-ms MS]
 * It prints one line "serving pid=PID port=PORT version=V generation=G" on
 * stdout once it serves, and "drained pid=PID" before it exits after an
 * upgrade. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lifeline/upgrade.h"

#ifndef UPGRADE_VERSION
#define UPGRADE_VERSION "v1"
#endif

#define MAX_EVENTS 64
#define BUF_SIZE 4096

struct conn {
	int fd;
	size_t in_len;
	char in[BUF_SIZE];
	size_t out_len, out_off;
	char out[BUF_SIZE];
	int close_after;
};

static int ep = -1, lfd = -1, sfd = -1, ufd = -1;
static unsigned long generation;
static int draining;
static long open_conns;

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((unsigned short)port) };
	int one = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (s < 0)
		return -1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4096) < 0) {
		close(s);
		return -1;
	}
	return s;
}

static int port_of(int s)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	return getsockname(s, (struct sockaddr *)&a, &len) < 0 ? -1 : ntohs(a.sin_port);
}

static void add(int fd, void *ptr, unsigned events)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void conn_close(struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
	open_conns--;
}

static void accept_all(void)
{
	for (;;) {
		int one = 1, fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct conn *c;

		if (fd < 0)
			return;
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		open_conns++;
		add(fd, c, EPOLLIN);
	}
}

/* Send what is buffered; 0 when done, 1 when it waits for EPOLLOUT, -1 on error. */
static int flush_out(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };

			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			return 1;
		}
		if (n <= 0)
			return -1;
		c->out_off += (size_t)n;
	}
	c->out_len = c->out_off = 0;
	return 0;
}

/* Answer every complete request in the input buffer. */
static int serve_requests(struct conn *c)
{
	char *end;

	while (c->out_len == 0 && (end = memmem(c->in, c->in_len, "\r\n\r\n", 4))) {
		size_t used = (size_t)(end - c->in) + 4;
		char body[64];
		int blen, wants_close = memmem(c->in, used, "Connection: close", 17) != NULL;

		c->close_after = wants_close || draining;
		blen = snprintf(body, sizeof(body), "%s %d\n", UPGRADE_VERSION, (int)getpid());
		c->out_len = (size_t)snprintf(c->out, sizeof(c->out),
					      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
					      "X-Version: %s\r\nX-Pid: %d\r\nConnection: %s\r\n\r\n%s",
					      blen, UPGRADE_VERSION, (int)getpid(),
					      c->close_after ? "close" : "keep-alive", body);
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
		int r = flush_out(c);

		if (r != 0)
			return r < 0 ? -1 : 0; /* 1: the rest goes on EPOLLOUT */
		if (c->close_after)
			return -1;
	}
	return 0;
}

static void on_conn(struct conn *c, unsigned events)
{
	if (events & EPOLLOUT) {
		int r = flush_out(c);

		if (r < 0 || (r == 0 && c->close_after)) {
			conn_close(c);
			return;
		}
		if (r == 0) {
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			if (serve_requests(c) < 0) {
				conn_close(c);
				return;
			}
		}
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);

		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0 || (c->in_len += (size_t)n) == sizeof(c->in)) {
			conn_close(c);
			return;
		}
		if (serve_requests(c) < 0)
			conn_close(c);
	}
}

static void save_state(void)
{
	char blob[32];
	int n = snprintf(blob, sizeof(blob), "generation=%lu", generation + 1);

	ll_upgrade_set_state(blob, (size_t)n);
}

static void on_upgrade_event(int ready_timeout_ms)
{
	struct ll_upgrade_status st;
	int phase = ll_upgrade_dispatch(&st);

	(void)ready_timeout_ms;
	if (phase == LL_UPGRADE_READY && !draining) {
		/* The new version serves: stop accepting and drain. */
		epoll_ctl(ep, EPOLL_CTL_DEL, lfd, NULL);
		ll_upgrade_release_all();
		lfd = -1;
		draining = 1;
		fprintf(stderr, "upgrade-server %s[%d]: %s\n", UPGRADE_VERSION, (int)getpid(), st.why);
	} else if (phase == LL_UPGRADE_ROLLED_BACK && st.new_pid && !draining) {
		fprintf(stderr, "upgrade-server %s[%d]: rolled back (%s): %s\n", UPGRADE_VERSION, (int)getpid(),
			ll_upgrade_reason_name(st.reason), st.why);
	}
}

static void fail_on_purpose(void)
{
#ifdef UPGRADE_FAIL_EXIT
	fprintf(stderr, "upgrade-server %s: broken on purpose: exiting at start\n", UPGRADE_VERSION);
	exit(1);
#endif
#ifdef UPGRADE_FAIL_CRASH
	fprintf(stderr, "upgrade-server %s: broken on purpose: crashing before ready\n", UPGRADE_VERSION);
	raise(SIGSEGV);
#endif
#ifdef UPGRADE_FAIL_HANG
	fprintf(stderr, "upgrade-server %s: broken on purpose: never ready\n", UPGRADE_VERSION);
	for (int i = 0; i < 600; i++)
		sleep(1);
	exit(1);
#endif
}

int main(int argc, char **argv)
{
	struct ll_upgrade_opts uo = { 0 };
	struct epoll_event evs[MAX_EVENTS];
	int port = 8080, drain_ms = 5000, marker_sig = 0, marker_up = 0;
	long drain_end = 0;
	void *blob = NULL;
	size_t blen = 0;
	sigset_t mask;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--drain-ms") && i + 1 < argc)
			drain_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--ready-timeout-ms") && i + 1 < argc)
			uo.ready_timeout_ms = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: upgrade-server [--port PORT] [--drain-ms MS] [--ready-timeout-ms MS]\n");
			return 2;
		}
	}
	fail_on_purpose();
	lfd = ll_upgrade_inherited("http");
	if (lfd == -ENOENT)
		lfd = listen_on(port);
	if (lfd < 0) {
		fprintf(stderr, "upgrade-server: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
		return 1;
	}
	if (ll_upgrade_state(&blob, &blen) == 0 && blob) {
		char text[64];

		snprintf(text, sizeof(text), "%.*s", (int)blen, (const char *)blob);
		sscanf(text, "generation=%lu", &generation);
		free(blob);
	}
	ll_upgrade_register("http", lfd);
	save_state();
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ll_upgrade_control_open(&uo);
	ufd = ll_upgrade_fd();
	if (sfd < 0 || ep < 0 || ufd < 0) {
		fprintf(stderr, "upgrade-server: cannot set up the event loop: %s\n", strerror(errno));
		return 1;
	}
	add(lfd, &lfd, EPOLLIN);
	add(sfd, &marker_sig, EPOLLIN);
	add(ufd, &marker_up, EPOLLIN);
	/* serving from here on: tell the old version (if any) */
	ll_upgrade_ready();
	printf("serving pid=%d port=%d version=%s generation=%lu\n", (int)getpid(), port_of(lfd), UPGRADE_VERSION,
	       generation);
	fflush(stdout);

	for (;;) {
		int n, timeout = -1;

		if (draining) {
			if (!drain_end)
				drain_end = now_ms() + drain_ms;
			if (open_conns == 0 || now_ms() >= drain_end)
				break;
			timeout = (int)(drain_end - now_ms());
		}
		n = epoll_wait(ep, evs, MAX_EVENTS, timeout);
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &lfd) {
				accept_all();
			} else if (p == &marker_up) {
				on_upgrade_event(uo.ready_timeout_ms);
			} else if (p == &marker_sig) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
					char why[512];

					if (si.ssi_signo != SIGUSR2)
						return 0;
					if (!draining && ll_upgrade_start(&uo, why, sizeof(why)) < 0)
						fprintf(stderr, "upgrade-server %s[%d]: upgrade refused: %s\n",
							UPGRADE_VERSION, (int)getpid(), why);
				}
			} else {
				on_conn(p, evs[i].events);
			}
		}
	}
	printf("drained pid=%d open=%ld\n", (int)getpid(), open_conns);
	fflush(stdout);
	return 0;
}
