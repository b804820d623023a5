/* test_api.c: the library in one process (this test is the old process).
 *
 *  - systemd socket activation without names: LISTEN_FDS=1 and LISTEN_PID
 *    (the child's own, written by ll_spawn's pid_slot) give the socket as
 *    "unknown"; a LISTEN_PID of another process gives nothing; either way
 *    the variables are taken out of the environment;
 *  - bad input: names (empty, ':', space, too long), closed or negative
 *    descriptors, duplicates, one descriptor too many, a state blob over
 *    the limit, a registered descriptor closed before the start, a binary
 *    that is not executable or not an ELF, another process squatting a
 *    service's control socket name: each a clear -errno and reason;
 *  - socket-activation interop: sockact (written against LISTEN_FDS only,
 *    no lifeline) receives a TCP and a Unix listening socket by name, with
 *    LISTEN_PID equal to its own pid, and holds nothing else than 0, 1, 2,
 *    those two and the readiness socket (`lifeline fds --inherited` agrees);
 *    it never says it is ready, so the deadline rolls the upgrade back: the
 *    callback and the status say so, and our sockets still work;
 *  - systemd: with NOTIFY_SOCKET pointing at a datagram socket of this
 *    test, the descriptors go to the "fd store" (FDSTORE=1, FDNAME=http,
 *    the very socket), the new process sends READY=1 and we MAINPID=<new>;
 *    the state blob arrives in the new process (it prints generation=41);
 *    after that, another upgrade is refused (this process hands over). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stddef.h>

#include "lifeline/spawn.h"
#include "lifeline/upgrade.h"
#include "testutil.h"
#include "server.h"

static char tmpdir[256];

static int tcp_listen(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s, 64), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return s;
}

static int tcp_connect(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 5 };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
	return s;
}

static unsigned long inode_of(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return (unsigned long)st.st_ino;
}

static void test_bad_input(void **state)
{
	char longname[LL_UPGRADE_NAME_MAX + 2], why[512], path[512];
	struct ll_upgrade_status st;
	int fds[LL_UPGRADE_MAX_FDS + 1], fd = open("/dev/null", O_RDONLY | O_CLOEXEC), closed, f;
	void *blob = (void *)1;
	size_t blen = 1;

	(void)state;
	assert_int_equal(ll_upgrade_register("", fd), -EINVAL);
	assert_int_equal(ll_upgrade_register(NULL, fd), -EINVAL);
	assert_int_equal(ll_upgrade_register("a:b", fd), -EINVAL);
	assert_int_equal(ll_upgrade_register("a b", fd), -EINVAL);
	assert_int_equal(ll_upgrade_register("tab\t", fd), -EINVAL);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(ll_upgrade_register(longname, fd), -EINVAL);
	longname[LL_UPGRADE_NAME_MAX] = '\0';
	assert_int_equal(ll_upgrade_register(longname, fd), 0);
	assert_int_equal(ll_upgrade_unregister(longname), 0);
	assert_int_equal(ll_upgrade_register("x", -1), -EINVAL);
	closed = dup(fd);
	close(closed);
	assert_int_equal(ll_upgrade_register("x", closed), -EBADF);
	assert_int_equal(ll_upgrade_register("x", fd), 0);
	assert_int_equal(ll_upgrade_register("x", fd), -EEXIST);
	assert_int_equal(ll_upgrade_register("y", fd), -EEXIST); /* the same descriptor twice */
	assert_int_equal(ll_upgrade_unregister("x"), 0);
	assert_int_equal(ll_upgrade_unregister("x"), -ENOENT);
	assert_int_equal(ll_upgrade_unregister(NULL), -EINVAL);
	for (int i = 0; i <= LL_UPGRADE_MAX_FDS; i++) {
		char name[16];

		fds[i] = dup(fd);
		snprintf(name, sizeof(name), "fd%d", i);
		assert_int_equal(ll_upgrade_register(name, fds[i]), i < LL_UPGRADE_MAX_FDS ? 0 : -E2BIG);
	}
	for (int i = 0; i <= LL_UPGRADE_MAX_FDS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "fd%d", i);
		ll_upgrade_unregister(name);
		close(fds[i]);
	}
	assert_int_equal(ll_upgrade_set_state(NULL, 5), -EINVAL);
	assert_int_equal(ll_upgrade_set_state("x", (size_t)LL_UPGRADE_STATE_MAX + 1), -EFBIG);
	assert_int_equal(ll_upgrade_set_state(NULL, 0), 0);

	/* a registered descriptor closed since */
	f = dup(fd);
	assert_int_equal(ll_upgrade_register("gone", f), 0);
	close(f);
	assert_int_equal(ll_upgrade_start(&(struct ll_upgrade_opts){ .exe = srv_example("upgrade-server-v2") }, why,
					  sizeof(why)),
			 -EBADF);
	print_message("closed descriptor: %s\n", why);
	assert_non_null(strstr(why, "'gone'"));
	assert_int_equal(ll_upgrade_status(&st), LL_UPGRADE_ROLLED_BACK);
	assert_int_equal(st.reason, LL_UPGRADE_REASON_REFUSED);
	assert_int_equal(ll_upgrade_unregister("gone"), 0);

	/* not executable; executable but not an ELF (nor a #! script) */
	snprintf(path, sizeof(path), "%s/notelf", tmpdir);
	f = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(f >= 0);
	assert_int_equal(write(f, "hello, world\n", 13), 13);
	close(f);
	assert_int_equal(ll_upgrade_start(&(struct ll_upgrade_opts){ .exe = path }, why, sizeof(why)), -EACCES);
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(ll_upgrade_start(&(struct ll_upgrade_opts){ .exe = path }, why, sizeof(why)), -ENOEXEC);
	print_message("not an ELF: %s\n", why);
	assert_non_null(strstr(why, "not an ELF"));

	/* the new-process side, in a process that was not upgraded */
	assert_int_equal(ll_upgrade_inherited("bad:name"), -EINVAL);
	assert_int_equal(ll_upgrade_inherited("http"), -ENOENT);
	assert_int_equal(ll_upgrade_state(&blob, &blen), 0);
	assert_null(blob);
	assert_int_equal(blen, 0);
	assert_int_equal(ll_upgrade_ready(), 0);
	assert_int_equal(ll_upgrade_request(0, NULL, 100, &st, why, sizeof(why)), -EINVAL);
	/* a squatter on another process's control name is not talked to */
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int sq = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
					    (size_t)snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1,
							     "lifeline-upgrade-1"));

		assert_int_equal(bind(sq, (struct sockaddr *)&sa, len), 0);
		assert_int_equal(listen(sq, 1), 0);
		assert_int_equal(ll_upgrade_request(1, NULL, 1000, &st, why, sizeof(why)), -EPERM);
		print_message("squatter: %s\n", why);
		assert_non_null(strstr(why, "belongs to pid"));
		close(sq);
	}
	close(fd);
}

static int callbacks;
static struct ll_upgrade_status cb_status;

static void on_end(const struct ll_upgrade_status *st, void *arg)
{
	(void)arg;
	callbacks++;
	cb_status = *st;
}

/* The descriptors `lifeline fds --inherited --json PID` says pid shares
 * with us, as a bit mask of fd numbers (< 64). */
static unsigned long long inherited_mask(pid_t pid)
{
	char pidstr[16], *out = NULL;
	char *argv[] = { (char *)tu_lifeline(), "fds", "--inherited", "--json", pidstr, NULL };
	json_object *o, *procs, *fds;
	unsigned long long mask = 0;

	snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
	assert_int_equal(tu_run(argv, NULL, &out, NULL), 0);
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "processes", &procs));
	assert_true(json_object_object_get_ex(json_object_array_get_idx(procs, 0), "fds", &fds));
	for (size_t i = 0; i < json_object_array_length(fds); i++) {
		json_object *fd;

		assert_true(json_object_object_get_ex(json_object_array_get_idx(fds, i), "fd", &fd));
		if (json_object_get_int(fd) < 64)
			mask |= 1ull << json_object_get_int(fd);
	}
	json_object_put(o);
	free(out);
	return mask;
}

static void test_socket_activation_interop(void **state)
{
	struct sockaddr_un ua = { .sun_family = AF_UNIX };
	struct ll_upgrade_opts o = { 0 };
	struct ll_upgrade_status st;
	char sockact[4096], line[1024] = "", why[512], expect[64];
	char *argv[] = { sockact, "web", NULL };
	uint16_t port;
	int web = tcp_listen(&port), admin = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), c, r;
	ssize_t n;

	(void)state;
	snprintf(sockact, sizeof(sockact), "%s", tu_build_path("tests/upgrade/sockact"));
	assert_true(snprintf(ua.sun_path, sizeof(ua.sun_path), "%.90s/admin.sock", tmpdir) < (int)sizeof(ua.sun_path));
	assert_int_equal(bind(admin, (struct sockaddr *)&ua, sizeof(ua)), 0);
	assert_int_equal(listen(admin, 8), 0);
	assert_int_equal(ll_upgrade_register("web", web), 0);
	assert_int_equal(ll_upgrade_register("admin", admin), 0);
	o.exe = sockact;
	o.argv = argv;
	o.ready_timeout_ms = 3000;
	o.callback = on_end;
	r = ll_upgrade_start(&o, why, sizeof(why));
	print_message("start: %d %s\n", r, why);
	assert_int_equal(r, 0);
	assert_int_equal(ll_upgrade_status(&st), LL_UPGRADE_RUNNING);
	assert_string_equal(st.fdnames, "web:admin");

	/* nobody here accepts: the answer comes from the new process */
	c = tcp_connect(port);
	n = read(c, line, sizeof(line) - 1);
	close(c);
	assert_true(n > 0);
	line[n] = '\0';
	print_message("sockact says: %s", line);
	snprintf(expect, sizeof(expect), "pid=%d ", (int)st.new_pid);
	assert_non_null(strstr(line, expect));
	assert_non_null(strstr(line, "listen_pid_ok=1"));
	assert_non_null(strstr(line, "names=web,admin "));
	assert_non_null(strstr(line, "fds=0,1,2,3,4,5\n")); /* 5: the readiness socket */
	/* shared with us: 0, 1, 2 and exactly the two registered sockets */
	assert_int_equal(inherited_mask(st.new_pid), 0x1full);

	/* it never says it is ready: rolled back at the deadline */
	assert_int_equal(ll_upgrade_wait(-1, &st), LL_UPGRADE_ROLLED_BACK);
	print_message("outcome: %s\n", st.why);
	assert_int_equal(st.reason, LL_UPGRADE_REASON_TIMEOUT);
	assert_int_equal(st.error, -ETIMEDOUT);
	assert_int_equal(callbacks, 1);
	assert_int_equal(cb_status.reason, LL_UPGRADE_REASON_TIMEOUT);
	assert_int_equal(cb_status.new_pid, st.new_pid);
	assert_true(kill(st.new_pid, 0) < 0 && errno == ESRCH);

	/* our sockets work on */
	c = tcp_connect(port);
	r = accept(web, NULL, NULL);
	assert_true(r >= 0);
	close(r);
	close(c);
	assert_int_equal(ll_upgrade_unregister("web"), 0);
	assert_int_equal(ll_upgrade_unregister("admin"), 0);
	close(web);
	close(admin);
}

static void test_notify_socket_and_state(void **state)
{
	struct sockaddr_un na = { .sun_family = AF_UNIX };
	struct ll_upgrade_opts o = { 0 };
	struct ll_upgrade_status st;
	char v2[4096], why[512], line[256] = "", expect[128];
	char *argv[] = { v2, "--port", "0", NULL };
	uint16_t port;
	int http = tcp_listen(&port), ns = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), out[2], saved, r;
	int got_store = 0, got_ready = 0, got_mainpid = 0;
	size_t len = 0;

	(void)state;
	snprintf(v2, sizeof(v2), "%s", srv_example("upgrade-server-v2"));
	assert_true(snprintf(na.sun_path, sizeof(na.sun_path), "%.90s/notify", tmpdir) < (int)sizeof(na.sun_path));
	assert_int_equal(bind(ns, (struct sockaddr *)&na, sizeof(na)), 0);
	setenv("NOTIFY_SOCKET", na.sun_path, 1);
	assert_int_equal(ll_upgrade_register("http", http), 0);
	assert_int_equal(ll_upgrade_set_state("generation=41", 13), 0);
	o.exe = v2;
	o.argv = argv;
	/* the new process's stdout: a pipe of ours */
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	saved = dup(1);
	dup2(out[1], 1);
	r = ll_upgrade_start(&o, why, sizeof(why));
	dup2(saved, 1);
	close(saved);
	close(out[1]);
	assert_int_equal(r, 0);
	assert_int_equal(ll_upgrade_wait(10000, &st), LL_UPGRADE_READY);
	print_message("outcome: %s\n", st.why);
	assert_int_equal(st.state_size, 13);
	/* the new process got the socket and the state */
	while (len + 1 < sizeof(line)) {
		struct pollfd p = { .fd = out[0], .events = POLLIN };

		if (poll(&p, 1, 5000) != 1 || read(out[0], line + len, 1) != 1 || line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	print_message("new process: %s\n", line);
	snprintf(expect, sizeof(expect), "serving pid=%d port=%u version=v2 generation=41", (int)st.new_pid,
		 port);
	assert_string_equal(line, expect);

	/* what "systemd" received */
	for (int i = 0; i < 10; i++) {
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int) * 4)];
		} c;
		char msg[512];
		struct iovec iov = { .iov_base = msg, .iov_len = sizeof(msg) - 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf,
				     .msg_controllen = sizeof(c.buf) };
		ssize_t n = recvmsg(ns, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		struct cmsghdr *h;

		if (n < 0)
			break;
		msg[n] = '\0';
		print_message("notify: %s\n", msg);
		h = CMSG_FIRSTHDR(&mh);
		if (!strcmp(msg, "FDSTORE=1\nFDNAME=http")) {
			int fd;

			assert_non_null(h);
			assert_int_equal(h->cmsg_type, SCM_RIGHTS);
			memcpy(&fd, CMSG_DATA(h), sizeof(fd));
			assert_int_equal(inode_of(fd), inode_of(http));
			close(fd);
			got_store++;
		} else if (!strcmp(msg, "READY=1")) {
			got_ready++;
		} else {
			snprintf(expect, sizeof(expect), "MAINPID=%d", (int)st.new_pid);
			assert_string_equal(msg, expect);
			got_mainpid++;
		}
	}
	assert_int_equal(got_store, 1);
	assert_int_equal(got_ready, 1);
	assert_int_equal(got_mainpid, 1);

	/* this process handed over: no second upgrade */
	assert_int_equal(ll_upgrade_start(&o, why, sizeof(why)), -EBUSY);
	print_message("after the hand-over: %s\n", why);
	assert_non_null(strstr(why, "draining"));
	assert_int_equal(ll_upgrade_release_all(), 1);
	assert_true(fcntl(http, F_GETFD) < 0); /* closed: we stopped accepting */
	unsetenv("NOTIFY_SOCKET");
	kill(st.new_pid, SIGTERM);
	assert_int_equal(ll_spawn_wait(st.new_pid, -1, 5000, NULL), 0);
	close(out[0]);
	close(ns);
}

/* Run this test binary as a "systemd-activated" child: LISTEN_FDS=1, no
 * LISTEN_FDNAMES, LISTEN_PID written by the child itself (ll_spawn's
 * pid_slot) or a wrong one; the child prints what ll_upgrade_inherited()
 * found. */
static void systemd_child(int right_pid, char *out, size_t size)
{
	char self[4096], pidvar[32] = "LISTEN_PID=1";
	char *argv[] = { self, "--systemd-child", NULL };
	char *envp[] = { "LISTEN_FDS=1", pidvar, NULL };
	uint16_t port;
	int sock = tcp_listen(&port), p[2], st;
	struct ll_spawn_fd map[2];
	struct ll_spawn_opts o = { .fds = map, .nfds = 2, .envp = envp };
	ssize_t n;
	pid_t pid;

	assert_true(readlink("/proc/self/exe", self, sizeof(self) - 1) > 0);
	self[sizeof(self) - 1] = '\0';
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	map[0] = (struct ll_spawn_fd){ sock, 3 };
	map[1] = (struct ll_spawn_fd){ p[1], 1 };
	if (right_pid) {
		o.pid_slot = pidvar + strlen("LISTEN_PID=");
		o.pid_slot_size = sizeof(pidvar) - strlen("LISTEN_PID=");
		o.pid_slot_size = 4; /* too small: refused */
		assert_int_equal(ll_spawn(argv, &o, &pid, NULL), -EINVAL);
		o.pid_slot_size = sizeof(pidvar) - strlen("LISTEN_PID=");
	}
	assert_int_equal(ll_spawn(argv, &o, &pid, NULL), 0);
	close(p[1]);
	n = read(p[0], out, size - 1);
	out[n > 0 ? n : 0] = '\0';
	assert_int_equal(ll_spawn_wait(pid, -1, 5000, &st), 0);
	close(p[0]);
	close(sock);
}

static void test_systemd_activation(void **state)
{
	char out[256];

	(void)state;
	systemd_child(1, out, sizeof(out));
	print_message("LISTEN_PID = the child's pid: %s", out);
	assert_string_equal(out, "unknown=3 http=-2 env=gone\n");
	systemd_child(0, out, sizeof(out));
	print_message("LISTEN_PID = another pid: %s", out);
	assert_string_equal(out, "unknown=-2 http=-2 env=gone\n");
}

static int setup(void **state)
{
	(void)state;
	return tu_mkdtemp(tmpdir, sizeof(tmpdir)) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_systemd_activation),
		cmocka_unit_test(test_socket_activation_interop),
		cmocka_unit_test(test_notify_socket_and_state),
	};

	if (argc == 2 && !strcmp(argv[1], "--systemd-child")) {
		int a = ll_upgrade_inherited("unknown"), b = ll_upgrade_inherited("http");

		printf("unknown=%d http=%d env=%s\n", a, b, getenv("LISTEN_FDS") || getenv("LISTEN_PID") ? "left" : "gone");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, NULL);
}
