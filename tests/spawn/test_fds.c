/* test_fds.c: `lifeline fds` on a process whose descriptors are known: this
 * test opens one of each type (file with an offset, dir, /dev/null, pipe,
 * FIFO, unix socketpair, TCP listener, TCP connection, UDP socket, eventfd,
 * epoll, signalfd, timerfd, inotify, memfd, pidfd), some close-on-exec and
 * some not, and checks the JSON the CLI prints for itself: type, flags,
 * close-on-exec, offset, socket protocol, endpoints and state. Then a child
 * given the listener: --inherited of the child and --port of the listener
 * name the right descriptor, opener and inheritor. And bad input. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lifeline/spawn.h"
#include "lifeline/inspect/fds.h"
#include "testutil.h"
#include "leakcheck.h"

static char tmpdir[256];

static json_object *run_json(char **argv, int want_exit)
{
	char *out = NULL, *err = NULL;
	json_object *root;
	int st = tu_run(argv, NULL, &out, &err);

	if (!WIFEXITED(st) || WEXITSTATUS(st) != want_exit)
		fprintf(stderr, "%s %s: status %#x, stderr: %s\n", argv[1], argv[2], st, err ? err : "");
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == want_exit);
	root = json_tokener_parse(out);
	assert_non_null(root);
	free(out);
	free(err);
	return root;
}

static json_object *fd_entry(json_object *root, int fd)
{
	json_object *procs, *fds, *v;

	assert_true(json_object_object_get_ex(root, "processes", &procs));
	assert_true(json_object_object_get_ex(json_object_array_get_idx(procs, 0), "fds", &fds));
	for (size_t i = 0; i < json_object_array_length(fds); i++) {
		json_object *e = json_object_array_get_idx(fds, i);

		if (json_object_object_get_ex(e, "fd", &v) && json_object_get_int(v) == fd)
			return e;
	}
	fprintf(stderr, "fd %d not listed\n", fd);
	fail();
	return NULL;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return "";
	return json_object_get_string(v);
}

static long long num(json_object *o, const char *key)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	return json_object_get_int64(v);
}

static void expect(json_object *root, int fd, const char *type, int cloexec)
{
	json_object *e = fd_entry(root, fd), *v;

	if (strcmp(str(e, "type"), type))
		fprintf(stderr, "fd %d: type %s, want %s (target %s)\n", fd, str(e, "type"), type,
			str(e, "target"));
	assert_string_equal(str(e, "type"), type);
	assert_true(json_object_object_get_ex(e, "cloexec", &v));
	if (json_object_get_boolean(v) != cloexec)
		fprintf(stderr, "fd %d (%s): cloexec %d, want %d\n", fd, type, !cloexec, cloexec);
	assert_int_equal(json_object_get_boolean(v), cloexec);
}

static json_object *sock_of(json_object *root, int fd)
{
	json_object *s;

	assert_true(json_object_object_get_ex(fd_entry(root, fd), "socket", &s));
	return s;
}

static void test_types_and_sockets(void **state)
{
	char path[512], pidstr[16], fifo[512];
	char *argv[] = { (char *)tu_lifeline(), "fds", "--json", pidstr, NULL };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int file, dir, null, p[2], sp[2], lst, cli, acc, udp, efd, ep, sfd, tfd, ino, mfd, pfd, ff;
	int port, fifo_r;
	sigset_t ss;
	json_object *root, *s;

	(void)state;
	snprintf(path, sizeof(path), "%s/data.txt", tmpdir);
	file = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600); /* inheritable */
	assert_true(file >= 0);
	assert_int_equal(write(file, "0123456789", 10), 10);
	dir = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	fifo_r = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	lst = lc_listen(&port);
	assert_true(lst >= 0);
	cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_port = htons((unsigned short)port);
	assert_int_equal(connect(cli, (struct sockaddr *)&a, sizeof(a)), 0);
	acc = accept4(lst, NULL, NULL, SOCK_CLOEXEC);
	assert_true(acc >= 0);
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	a.sin_port = 0;
	assert_int_equal(bind(udp, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(udp, (struct sockaddr *)&a, &alen), 0);
	efd = eventfd(0, EFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	sigemptyset(&ss);
	sigaddset(&ss, SIGUSR1);
	sfd = signalfd(-1, &ss, SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	ino = inotify_init1(IN_CLOEXEC);
	mfd = memfd_create("lifeline-test", MFD_CLOEXEC);
	pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	ff = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(dir >= 0 && null >= 0 && fifo_r >= 0 && efd >= 0 && ep >= 0 && sfd >= 0 && tfd >= 0 &&
		    ino >= 0 && mfd >= 0 && pfd >= 0 && ff >= 0);

	snprintf(pidstr, sizeof(pidstr), "%d", (int)getpid());
	root = run_json(argv, 0);
	expect(root, file, "file", 0);
	assert_int_equal(num(fd_entry(root, file), "pos"), 10);
	assert_string_equal(str(fd_entry(root, file), "flags"), "w,append");
	assert_string_equal(str(fd_entry(root, file), "target"), path);
	expect(root, dir, "dir", 1);
	expect(root, null, "chr", 1);
	assert_string_equal(str(fd_entry(root, null), "flags"), "rw");
	expect(root, p[0], "pipe", 1);
	assert_string_equal(str(fd_entry(root, p[0]), "flags"), "r,nonblock");
	expect(root, p[1], "pipe", 1);
	expect(root, fifo_r, "fifo", 1);
	expect(root, sp[0], "socket", 1);
	assert_string_equal(str(sock_of(root, sp[0]), "proto"), "unix");
	assert_string_equal(str(sock_of(root, sp[0]), "state"), "CONNECTED");
	expect(root, lst, "socket", 0);
	s = sock_of(root, lst);
	assert_string_equal(str(s, "proto"), "tcp");
	assert_string_equal(str(s, "state"), "LISTEN");
	assert_int_equal(num(s, "local_port"), port);
	char want[64];

	snprintf(want, sizeof(want), "127.0.0.1:%d", port);
	assert_string_equal(str(s, "local"), want);
	assert_string_equal(str(s, "remote"), "*:*");
	s = sock_of(root, cli);
	assert_string_equal(str(s, "state"), "ESTABLISHED");
	assert_int_equal(num(s, "remote_port"), port);
	s = sock_of(root, acc);
	assert_string_equal(str(s, "state"), "ESTABLISHED");
	assert_int_equal(num(s, "local_port"), port);
	s = sock_of(root, udp);
	assert_string_equal(str(s, "proto"), "udp");
	assert_string_equal(str(s, "state"), "UNCONN");
	assert_int_equal(num(s, "local_port"), ntohs(a.sin_port));
	expect(root, efd, "eventfd", 1);
	expect(root, ep, "epoll", 1);
	expect(root, sfd, "signalfd", 1);
	expect(root, tfd, "timerfd", 1);
	expect(root, ino, "inotify", 1);
	expect(root, mfd, "memfd", 1);
	expect(root, pfd, "pidfd", 1); /* pidfd_open sets close-on-exec */
	json_object_put(root);

	/* the text table too */
	char *out = NULL;
	char *targv[] = { (char *)tu_lifeline(), "fds", pidstr, NULL };

	assert_int_equal(tu_run(targv, NULL, &out, NULL), 0);
	assert_non_null(strstr(out, "LISTEN"));
	assert_non_null(strstr(out, want));
	free(out);

	int fds[] = { file, dir, null, p[0], p[1], fifo_r, sp[0], sp[1], lst, cli, acc, udp,
		      efd, ep, sfd, tfd, ino, mfd, pfd, ff };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		close(fds[i]);
}

/* A child given the listener as fd 3: --inherited of the child names it
 * with the parent's number; --port names the parent as the opener. */
static void test_inherited_and_port(void **state)
{
	char *argv[] = { (char *)tu_build_path("tests/spawn/fdreport"), "wait", NULL };
	char pidstr[16], portstr[16];
	char *inh[] = { (char *)tu_lifeline(), "fds", "--inherited", "--json", pidstr, NULL };
	char *prt[] = { (char *)tu_lifeline(), "fds", "--port", portstr, "--json", NULL };
	struct ll_spawn_fd map[2];
	struct ll_spawn_opts o = { 0 };
	json_object *root, *e, *holders;
	int port, lst, out[2], st, seen_parent = 0, seen_child = 0;
	char line[1024];
	pid_t child;

	(void)state;
	lst = lc_listen(&port);
	assert_true(lst >= 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	map[0] = (struct ll_spawn_fd){ lst, 3 };
	map[1] = (struct ll_spawn_fd){ out[1], 1 };
	o.fds = map;
	o.nfds = 2;
	assert_int_equal(ll_spawn(argv, &o, &child, NULL), 0);
	assert_true(lc_read_line(out[0], line, sizeof(line), 10000) > 0);

	snprintf(pidstr, sizeof(pidstr), "%d", (int)child);
	root = run_json(inh, 0);
	e = fd_entry(root, 3);
	assert_int_equal(num(e, "parent_fd"), lst);
	assert_string_equal(str(sock_of(root, 3), "state"), "LISTEN");
	assert_int_equal(num(fd_entry(root, 1), "parent_fd"), out[1]);
	json_object_put(root);

	snprintf(portstr, sizeof(portstr), "%d", port);
	root = run_json(prt, 0);
	assert_true(json_object_object_get_ex(root, "holders", &holders));
	for (size_t i = 0; i < json_object_array_length(holders); i++) {
		json_object *h = json_object_array_get_idx(holders, i), *v;

		assert_true(json_object_object_get_ex(h, "opener", &v));
		if (num(h, "pid") == getpid() && num(h, "fd") == lst) {
			assert_true(json_object_get_boolean(v));
			seen_parent = 1;
		} else if (num(h, "pid") == child) {
			assert_false(json_object_get_boolean(v));
			assert_int_equal(num(h, "inherited_from"), getpid());
			assert_int_equal(num(h, "fd"), 3);
			seen_child = 1;
		}
	}
	assert_true(seen_parent && seen_child);
	json_object_put(root);

	kill(child, SIGTERM);
	assert_int_equal(ll_spawn_wait(child, -1, 10000, &st), 0);
	close(lst);
	close(out[0]);
	close(out[1]);
}

/* The library: many descriptors sharing one inode, and kcmp tells them
 * apart (dups share a description, separate opens do not). */
static void test_library_inherited_many(void **state)
{
	struct ll_fds *fds = NULL;
	int a = open("/dev/null", O_RDONLY | O_CLOEXEC), b = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int c = fcntl(a, F_DUPFD_CLOEXEC, 0);
	int found_a = 0, found_c = 0;

	(void)state;
	/* Compared with itself, every descriptor is "shared" (but the
	 * directories the reader itself had open while listing). */
	assert_int_equal(ll_fds_read(0, 0, &fds), 0);
	assert_true(ll_fds_mark_inherited(fds, getpid()) >= (int)fds->n - 3);
	for (size_t i = 0; i < fds->n; i++) {
		if (fds->v[i].fd == a)
			found_a = 1;
		if (fds->v[i].fd == c) {
			found_c = 1;
			/* the same description: a or c itself */
			assert_true(fds->v[i].parent_fd == a || fds->v[i].parent_fd == c);
		}
		if (fds->v[i].fd == b)
			assert_int_equal(fds->v[i].parent_fd, b);
	}
	assert_true(found_a && found_c);
	ll_fds_free(fds);
	close(a);
	close(b);
	close(c);
}

static void test_bad_input(void **state)
{
	char *bad_pid[] = { (char *)tu_lifeline(), "fds", "12abc", NULL };
	char *no_pid[] = { (char *)tu_lifeline(), "fds", NULL };
	char *gone[] = { (char *)tu_lifeline(), "fds", "999999999", NULL };
	char *bad_port[] = { (char *)tu_lifeline(), "fds", "--port", "70000", NULL };
	char *err = NULL;
	int st;

	(void)state;
	st = tu_run(bad_pid, NULL, NULL, &err);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	assert_non_null(strstr(err, "12abc"));
	free(err);
	st = tu_run(no_pid, NULL, NULL, NULL);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	st = tu_run(gone, NULL, NULL, &err);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	assert_non_null(strstr(err, "999999999"));
	free(err);
	st = tu_run(bad_port, NULL, NULL, NULL);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types_and_sockets),
		cmocka_unit_test(test_inherited_and_port),
		cmocka_unit_test(test_library_inherited_many),
		cmocka_unit_test(test_bad_input),
	};

	if (tu_mkdtemp(tmpdir, sizeof(tmpdir)) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
