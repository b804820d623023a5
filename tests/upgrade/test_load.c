/* test_load.c: 100 consecutive upgrades of the example server under load.
 *
 * upgrade-server v1 runs on an ephemeral loopback port; loadgen keeps 8
 * keep-alive connections busy and opens new connections continuously.
 * Each round asks the running version (`lifeline upgrade`'s library call,
 * ll_upgrade_request) to upgrade to the other binary (v2, then v1, ...),
 * checks the outcome (ready, the new pid answers with the new version, the
 * listening socket is the very same one) and waits for the old version to
 * drain and exit. At the end: 0 refused connects, 0 failed requests, every
 * response named exactly one version, and the last process holds 0, 1, 2,
 * the handed-over socket and only its own descriptors (epoll, signalfd,
 * the upgrade epoll set and its control socket). Every loop is bounded. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>

#include "lifeline/upgrade.h"
#include "loadgen.h"
#include "testutil.h"
#include "server.h"

#define ROUNDS 100

static struct lg g;
static struct lg_stats st;

/* The inode of the unix socket bound to @lifeline-upgrade-<pid>. */
static unsigned long control_inode(pid_t pid)
{
	char want[64], line[512];
	unsigned long ino = 0;
	FILE *f = fopen("/proc/net/unix", "r");

	snprintf(want, sizeof(want), "@lifeline-upgrade-%d", (int)pid);
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long i;
		char path[128] = "";

		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu %127s", &i, path) == 2 && !strcmp(path, want))
			ino = i;
	}
	if (f)
		fclose(f);
	return ino;
}

/* 0,1,2, fd 3 = the listening socket (inode listen_ino), and only the
 * server's own: eventpoll, signalfd, its control socket. */
static void check_final_fds(pid_t pid, unsigned long listen_ino)
{
	char dir[64];
	struct dirent *e;
	DIR *d;
	int n = 0, own = 0;
	unsigned long ctl = control_inode(pid);

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	assert_non_null(d);
	assert_int_not_equal(ctl, 0);
	while ((e = readdir(d))) {
		char path[600], target[256];
		ssize_t len;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		assert_true(len > 0);
		target[len] = '\0';
		n++;
		if (fd <= 2)
			continue;
		if (fd == 3) {
			assert_int_equal(srv_socket_inode(pid, 3), listen_ino);
			continue;
		}
		own++;
		if (!strcmp(target, "anon_inode:[eventpoll]") || !strcmp(target, "anon_inode:[signalfd]"))
			continue;
		if (srv_socket_inode(pid, fd) == ctl)
			continue;
		fail_msg("the final server holds fd %d -> %s: neither handed over nor its own", fd, target);
	}
	closedir(d);
	print_message("final pid %d: %d descriptors: 0-2, the listening socket, %d of its own\n", (int)pid, n, own);
	assert_int_equal(own, 4); /* its epoll, signalfd, upgrade epoll set, control socket */
}

static void test_hundred_upgrades(void **state)
{
	const char *const extra[] = { "--drain-ms", "5000", NULL };
	struct srv s;
	pid_t cur;
	unsigned long listen_ino;
	char why[512];

	(void)state;
	assert_int_equal(srv_start(&s, "upgrade-server", extra), 0);
	cur = s.pid;
	listen_ino = srv_socket_inode(cur, 3);
	assert_int_not_equal(listen_ino, 0);
	assert_int_equal(lg_start(&g, s.port, 8), 0);
	for (int i = 0; i < ROUNDS; i++) {
		struct ll_upgrade_status us;
		const char *to = i % 2 == 0 ? "upgrade-server-v2" : "upgrade-server";
		char version[16];
		pid_t next;
		int r = ll_upgrade_request(cur, srv_example(to), 15000, &us, why, sizeof(why));

		if (r != LL_UPGRADE_READY)
			fail_msg("round %d: upgrade of %d to %s: %d (%s)", i, (int)cur, to, r, why);
		assert_int_equal(srv_next_serving(&s, 5000, &next, version), 0);
		assert_int_equal(next, us.new_pid);
		assert_string_equal(version, i % 2 == 0 ? "v2" : "v1");
		assert_int_equal(us.nfds, 1);
		assert_string_equal(us.fdnames, "http");
		assert_int_equal(srv_socket_inode(next, 3), listen_ino);
		if (srv_wait_exit(cur, 10000) < 0)
			fail_msg("round %d: the old version %d did not drain and exit within 10 s", i, (int)cur);
		cur = next;
	}
	lg_stop(&g);
	lg_snapshot(&g, &st);
	print_message("%d upgrades: %llu requests answered, %llu connections opened, %llu refused, %llu failed "
		      "(%s), %llu bad\n",
		      ROUNDS, (unsigned long long)st.ok, (unsigned long long)st.connects,
		      (unsigned long long)st.refused, (unsigned long long)st.failed, st.last_error,
		      (unsigned long long)st.bad);
	for (int v = 0; v < LG_MAX_VERSIONS && st.versions[v][0]; v++)
		print_message("  %s answered %llu\n", st.versions[v], (unsigned long long)st.by_version[v]);
	assert_int_equal(st.refused, 0);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.bad, 0);
	assert_true(st.ok > 0);
	assert_true(st.connects > 8);
	for (int v = 0; v < LG_MAX_VERSIONS && st.versions[v][0]; v++)
		assert_true(!strcmp(st.versions[v], "v1") || !strcmp(st.versions[v], "v2"));
	/* the load is gone: its connections closed on the server side too */
	usleep(200 * 1000);
	check_final_fds(cur, listen_ino);
	srv_stop(cur);
	srv_reap();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hundred_upgrades),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
