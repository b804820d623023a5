/* test_spawn.c: ll_spawn, ll_system, ll_popen never leak descriptors.
 *
 * The parent holds a TCP socket listening on 127.0.0.1 and 10,000 other
 * descriptors without close-on-exec. Each spawn function starts fdreport,
 * which lists its own /proc/self/fd and waits: the list must be 0,1,2 (plus
 * what the map asks for), and the parent must be able to close its socket
 * and bind the same port again while the child still lives. Then the
 * details: dup2 maps with overlaps, the close fallbacks, exec errors, status
 * values equal to system()'s, signals, environment, cwd, rlimits, timeouts,
 * and no zombie left behind. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lifeline/spawn.h"
#include "testutil.h"
#include "leakcheck.h"

#define MANY 10000

static char fdreport[4096];
static char tmpdir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(fdreport, sizeof(fdreport), "%s", tu_build_path("tests/spawn/fdreport"));
	if (access(fdreport, X_OK) != 0) {
		fprintf(stderr, "fdreport not built at %s\n", fdreport);
		return -1;
	}
	if (tu_mkdtemp(tmpdir, sizeof(tmpdir)) < 0)
		return -1;
	return lc_open_many(MANY);
}

/* Close the listener, bind its port again (the child still lives), kill
 * the child. */
static void rebind_and_kill(int listener, int port, pid_t child)
{
	close(listener);
	assert_int_equal(lc_rebind(port), 0);
	assert_int_equal(kill(child, SIGTERM), 0);
}

static pid_t line_pid(const char *line)
{
	char v[32];

	assert_int_equal(lc_field(line, "pid", v, sizeof(v)), 0);
	return (pid_t)atoi(v);
}

static void assert_fds(const char *line, const char *want)
{
	char v[65536];

	assert_int_equal(lc_field(line, "fds", v, sizeof(v)), 0);
	assert_string_equal(v, want);
}

static void test_spawn_leaks_nothing(void **state)
{
	char *argv[] = { fdreport, "wait", NULL };
	struct ll_spawn_fd map;
	struct ll_spawn_opts o = { 0 };
	char line[1024];
	int p[2], port, listener, pidfd = -1, st = 0;
	pid_t pid;

	(void)state;
	listener = lc_listen(&port);
	assert_true(listener >= 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	map.parent_fd = p[1];
	map.child_fd = 1;
	o.fds = &map;
	o.nfds = 1;
	assert_int_equal(ll_spawn(argv, &o, &pid, &pidfd), 0);
	assert_true(pidfd >= 0);
	assert_true(fcntl(pidfd, F_GETFD) & FD_CLOEXEC);
	close(p[1]);
	assert_true(lc_read_line(p[0], line, sizeof(line), 10000) > 0);
	assert_fds(line, "0,1,2");
	assert_int_equal(line_pid(line), pid);
	rebind_and_kill(listener, port, pid);
	assert_int_equal(ll_spawn_wait(pid, pidfd, 10000, &st), 0);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	close(pidfd);
	close(p[0]);
}

struct system_run {
	const char *cmd;
	int status;
};

static void *system_thread(void *arg)
{
	struct system_run *r = arg;

	r->status = ll_system(r->cmd);
	return NULL;
}

static void test_system_leaks_nothing(void **state)
{
	char fifo[512], cmd[8192], line[1024];
	struct system_run run;
	pthread_t t;
	int port, listener, rd;

	(void)state;
	snprintf(fifo, sizeof(fifo), "%s/system.fifo", tmpdir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	rd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(rd >= 0);
	listener = lc_listen(&port);
	assert_true(listener >= 0);
	snprintf(cmd, sizeof(cmd), "exec '%s' wait > '%s'", fdreport, fifo);
	run.cmd = cmd;
	run.status = -2;
	assert_int_equal(pthread_create(&t, NULL, system_thread, &run), 0);
	assert_true(lc_read_line(rd, line, sizeof(line), 10000) > 0);
	assert_fds(line, "0,1,2");
	rebind_and_kill(listener, port, line_pid(line));
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(WIFSIGNALED(run.status) && WTERMSIG(run.status) == SIGTERM);
	close(rd);
}

static void test_popen_leaks_nothing(void **state)
{
	char cmd[8192], line[1024];
	FILE *r1, *w1, *f;
	int port, listener, st;
	pid_t pid;

	(void)state;
	listener = lc_listen(&port);
	assert_true(listener >= 0);
	/* Two other popen streams are open: their pipes must not reach the
	 * third child either. */
	r1 = ll_popen("exec cat >/dev/null", "w");
	assert_non_null(r1);
	w1 = ll_popen("true", "r");
	assert_non_null(w1);
	assert_false(fcntl(fileno(r1), F_GETFD) & FD_CLOEXEC);
	snprintf(cmd, sizeof(cmd), "exec '%s' wait", fdreport);
	f = ll_popen(cmd, "re");
	assert_non_null(f);
	assert_true(ll_popen_owns(f));
	assert_true(fcntl(fileno(f), F_GETFD) & FD_CLOEXEC);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_fds(line, "0,1,2");
	pid = line_pid(line);
	rebind_and_kill(listener, port, pid);
	st = ll_pclose(f);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	assert_false(ll_popen_owns(f));
	assert_int_equal(ll_pclose(w1), 0);
	assert_int_equal(ll_pclose(r1), 0);
	/* Not ours. */
	f = fopen("/dev/null", "r");
	assert_int_equal(ll_pclose(f), -1);
	assert_int_equal(errno, ECHILD);
	fclose(f);
	errno = 0;
	assert_null(ll_popen("true", "x"));
	assert_int_equal(errno, EINVAL);
	assert_null(ll_popen("true", "rw"));
}

static void test_popen_write(void **state)
{
	char cmd[1024], path[512], buf[64] = "";
	FILE *f;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/popen-w.txt", tmpdir);
	snprintf(cmd, sizeof(cmd), "cat > '%s'", path);
	f = ll_popen(cmd, "w");
	assert_non_null(f);
	fputs("hello through the pipe\n", f);
	assert_int_equal(ll_pclose(f), 0);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	assert_string_equal(buf, "hello through the pipe\n");
}

/* The map: two sources swapped onto each other's numbers, one source kept
 * at its own number although it is close-on-exec in the parent. */
static void test_fd_map_overlaps(void **state)
{
	struct ll_spawn_fd map[3];
	struct ll_spawn_opts o = { 0 };
	char line[1024];
	int a[2], b[2], out[2], st;
	pid_t pid;
	char *argv[] = { fdreport, "write", "5001", "to-a", "write", "5000", "to-b", NULL };

	(void)state;
	assert_int_equal(pipe2(a, O_CLOEXEC), 0);
	assert_int_equal(pipe2(b, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(dup3(a[1], 15000, O_CLOEXEC), 15000);
	assert_int_equal(dup3(b[1], 15001, O_CLOEXEC), 15001);
	/* child 5001 <- a (parent 15000), child 5000 <- b (parent 15001) */
	assert_int_equal(dup3(15000, 5000, O_CLOEXEC), 5000);
	assert_int_equal(dup3(15001, 5001, O_CLOEXEC), 5001);
	map[0] = (struct ll_spawn_fd){ 5000, 5001 };
	map[1] = (struct ll_spawn_fd){ 5001, 5000 };
	map[2] = (struct ll_spawn_fd){ out[1], out[1] };
	o.fds = map;
	o.nfds = 3;
	o.flags = LL_SPAWN_NO_STDIO;
	/* fdreport prints to stdout: with NO_STDIO it has none, so give it
	 * out[1] as 1 via a second spawn below; here check via the pipes. */
	assert_int_equal(ll_spawn(argv, &o, &pid, NULL), 0);
	assert_int_equal(ll_spawn_wait(pid, -1, -1, &st), 0);
	assert_true(WIFEXITED(st));
	close(a[1]);
	close(b[1]);
	close(15000);
	close(15001);
	close(5000);
	close(5001);
	assert_true(lc_read_line(a[0], line, sizeof(line), 5000) > 0);
	assert_string_equal(line, "to-a");
	assert_true(lc_read_line(b[0], line, sizeof(line), 5000) > 0);
	assert_string_equal(line, "to-b");
	close(a[0]);
	close(b[0]);

	/* stdout swapped in: the child's list is exactly 0,1,2,7 */
	char *argv2[] = { fdreport, NULL };
	struct ll_spawn_fd map2[2] = { { out[1], 1 }, { out[1], 7 } };
	char want[64];

	o.fds = map2;
	o.nfds = 2;
	o.flags = 0;
	assert_int_equal(ll_spawn(argv2, &o, &pid, NULL), 0);
	assert_int_equal(ll_spawn_wait(pid, -1, -1, &st), 0);
	assert_true(lc_read_line(out[0], line, sizeof(line), 5000) > 0);
	snprintf(want, sizeof(want), "0,1,2,7");
	assert_fds(line, want);
	close(out[0]);
	close(out[1]);

	/* bad maps */
	struct ll_spawn_fd dup_target[2] = { { 0, 5 }, { 1, 5 } };
	struct ll_spawn_fd negative[1] = { { -1, 5 } };

	o.fds = dup_target;
	o.nfds = 2;
	assert_int_equal(ll_spawn(argv2, &o, &pid, NULL), -EINVAL);
	o.fds = negative;
	o.nfds = 1;
	assert_int_equal(ll_spawn(argv2, &o, &pid, NULL), -EINVAL);
}

/* A rotation (each source is another entry's target) and a chain whose
 * source is not a target: every child fd gets the right pipe. */
static void test_fd_map_rotation(void **state)
{
	int p[4][2], st;
	char line[64], want[16];
	struct ll_spawn_fd map[4];
	struct ll_spawn_opts o = { 0 };
	pid_t pid;
	char *argv[] = { fdreport, "write", "6000", "0", "write", "6001", "1", "write", "6002", "2",
			 "write", "6003", "3", NULL };

	(void)state;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pipe2(p[i], O_CLOEXEC), 0);
		assert_int_equal(dup3(p[i][1], 6000 + i, O_CLOEXEC), 6000 + i);
		close(p[i][1]);
	}
	/* child 6000+i must be pipe (i+1)%3 for 0..2; 6003 comes from 6000's
	 * pipe via a source that is also a target */
	map[0] = (struct ll_spawn_fd){ 6001, 6000 };
	map[1] = (struct ll_spawn_fd){ 6002, 6001 };
	map[2] = (struct ll_spawn_fd){ 6000, 6002 };
	map[3] = (struct ll_spawn_fd){ 6003, 6003 };
	o.fds = map;
	o.nfds = 4;
	o.flags = LL_SPAWN_NO_STDIO;
	assert_int_equal(ll_spawn(argv, &o, &pid, NULL), 0);
	assert_int_equal(ll_spawn_wait(pid, -1, -1, &st), 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (int i = 0; i < 4; i++)
		close(6000 + i);
	/* pipe 1 got what the child wrote to 6000 ("0"), pipe 2 "1", pipe 0 "2" */
	for (int i = 0; i < 4; i++) {
		int wrote_to = i == 3 ? 3 : (i + 2) % 3;

		assert_true(lc_read_line(p[i][0], line, sizeof(line), 5000) > 0);
		snprintf(want, sizeof(want), "%d", wrote_to);
		assert_string_equal(line, want);
		close(p[i][0]);
	}
}

static void check_close_method(enum ll_spawn_close m)
{
	char *argv[] = { fdreport, NULL };
	struct ll_spawn_fd map;
	struct ll_spawn_opts o = { 0 };
	char line[1024];
	int p[2], st;
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	map.parent_fd = p[1];
	map.child_fd = 1;
	o.fds = &map;
	o.nfds = 1;
	o.close_method = m;
	assert_int_equal(ll_spawn(argv, &o, &pid, NULL), 0);
	assert_int_equal(ll_spawn_wait(pid, -1, -1, &st), 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_true(lc_read_line(p[0], line, sizeof(line), 5000) > 0);
	assert_fds(line, "0,1,2");
	close(p[0]);
	close(p[1]);
}

static void test_close_fallbacks(void **state)
{
	(void)state;
	check_close_method(LL_SPAWN_CLOSE_PROCFS);
	check_close_method(LL_SPAWN_CLOSE_LOOP);
}

static void test_exec_errors(void **state)
{
	char path[512];
	char *missing[] = { "/nonexistent/lifeline-no-such-program", NULL };
	char *noexec[] = { path, NULL };
	char *byname[] = { "lifeline-no-such-program-either", NULL };
	struct ll_spawn_opts o = { 0 };
	pid_t pid;
	int fd, status;

	(void)state;
	assert_int_equal(ll_spawn(missing, NULL, &pid, NULL), -ENOENT);
	snprintf(path, sizeof(path), "%s/not-executable", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
	close(fd);
	assert_int_equal(ll_spawn(noexec, NULL, &pid, NULL), -EACCES);
	o.flags = LL_SPAWN_SEARCH_PATH;
	assert_int_equal(ll_spawn(byname, &o, &pid, NULL), -ENOENT);
	/* A failing chdir is reported the same way. */
	char *ok[] = { fdreport, NULL };

	o.flags = 0;
	o.cwd = "/nonexistent-dir";
	assert_int_equal(ll_spawn(ok, &o, &pid, NULL), -ENOENT);
	/* errno of the caller is untouched */
	errno = 1234;
	assert_int_equal(ll_spawn(missing, NULL, &pid, NULL), -ENOENT);
	assert_int_equal(errno, 1234);
	/* system() reports a missing shell command as exit 127 */
	status = ll_system("/nonexistent/lifeline-no-such-program 2>/dev/null");
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 127);
	/* every failed child was reaped: no child, no zombie left */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_status_like_system(void **state)
{
	static const char *const cmds[] = {
		"exit 0", "exit 1", "exit 3", "exit 255", "kill -TERM $$", "kill -KILL $$",
		"kill -SEGV $$", "/nonexistent/x 2>/dev/null", "exec true", "false",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int want = system(cmds[i]);
		int got = ll_system(cmds[i]);

		if (want != got)
			fprintf(stderr, "'%s': system %#x, ll_system %#x\n", cmds[i], want, got);
		assert_int_equal(got, want);
	}
	assert_int_equal(!!ll_system(NULL), !!system(NULL));
	assert_true(ll_system(NULL) != 0);
}

static unsigned long long hexmask(const char *line, const char *key)
{
	char v[64];

	assert_int_equal(lc_field(line, key, v, sizeof(v)), 0);
	return strtoull(v, NULL, 16);
}

#define BIT(sig) (1ull << ((sig) - 1))

static void on_usr1(int sig)
{
	(void)sig;
}

/* Signals, environment, cwd, session, rlimits. */
static void test_child_state(void **state)
{
	char *argv[] = { fdreport, NULL };
	char *envp[] = { "LL_T=from-envp", NULL };
	struct ll_spawn_rlimit rl = { RLIMIT_NOFILE, 64, 64 };
	struct ll_spawn_fd map;
	struct ll_spawn_opts o = { 0 };
	struct sigaction sa = { 0 }, old1, old2;
	sigset_t block, oldmask;
	char line[1024], v[512];
	int p[2], st;
	pid_t pid;

	(void)state;
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, &old1);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGUSR2, &sa, &old2);
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &oldmask);

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	map.parent_fd = p[1];
	map.child_fd = 1;
	o.fds = &map;
	o.nfds = 1;
	o.envp = envp;
	o.cwd = "/";
	o.flags = LL_SPAWN_SETSID;
	o.rlimits = &rl;
	o.nrlimits = 1;
	assert_int_equal(ll_spawn(argv, &o, &pid, NULL), 0);
	assert_int_equal(ll_spawn_wait(pid, -1, 10000, &st), 0);
	assert_true(lc_read_line(p[0], line, sizeof(line), 5000) > 0);
	assert_int_equal(hexmask(line, "sigblk"), 0);
	assert_int_equal(hexmask(line, "sigign"), 0);
	assert_int_equal(lc_field(line, "llt", v, sizeof(v)), 0);
	assert_string_equal(v, "from-envp");
	assert_int_equal(lc_field(line, "cwd", v, sizeof(v)), 0);
	assert_string_equal(v, "/");
	assert_int_equal(lc_field(line, "sid", v, sizeof(v)), 0);
	assert_int_equal(atoi(v), pid);
	assert_int_equal(lc_field(line, "nofile", v, sizeof(v)), 0);
	assert_string_equal(v, "64");

	/* exec semantics on request: ignored stays ignored, mask as given */
	o.flags = LL_SPAWN_KEEP_IGNORED | LL_SPAWN_SETSIGMASK | LL_SPAWN_SETPGID;
	o.sigmask = block;
	o.envp = NULL;
	o.cwd = NULL;
	o.nrlimits = 0;
	setenv("LL_T", "inherited", 1);
	assert_int_equal(ll_spawn(argv, &o, &pid, NULL), 0);
	assert_int_equal(ll_spawn_wait(pid, -1, 10000, &st), 0);
	assert_true(lc_read_line(p[0], line, sizeof(line), 5000) > 0);
	assert_int_equal(hexmask(line, "sigblk"), BIT(SIGHUP));
	assert_true(hexmask(line, "sigign") & BIT(SIGUSR2));
	assert_false(hexmask(line, "sigign") & BIT(SIGUSR1));
	assert_int_equal(lc_field(line, "llt", v, sizeof(v)), 0);
	assert_string_equal(v, "inherited");
	assert_int_equal(lc_field(line, "pgid", v, sizeof(v)), 0);
	assert_int_equal(atoi(v), pid);
	unsetenv("LL_T");
	close(p[0]);
	close(p[1]);

	/* ll_system: the parent's SIGUSR2 stays ignored, SIGINT/SIGQUIT are not
	 * ignored in the child although the parent ignores them while it
	 * waits, and the parent's handlers and mask are back afterwards. */
	char cmd[8192], out[512];
	FILE *f;

	struct sigaction int_before;

	sigaction(SIGINT, NULL, &int_before);
	snprintf(out, sizeof(out), "%s/system-state.txt", tmpdir);
	snprintf(cmd, sizeof(cmd), "exec '%s' > '%s'", fdreport, out);
	assert_int_equal(ll_system(cmd), 0);
	f = fopen(out, "re");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_true(hexmask(line, "sigign") & BIT(SIGUSR2));
	if (int_before.sa_handler != SIG_IGN)
		assert_false(hexmask(line, "sigign") & BIT(SIGINT));
	assert_int_equal(hexmask(line, "sigblk"), BIT(SIGHUP));
	sigaction(SIGINT, NULL, &sa);
	assert_true(sa.sa_handler == int_before.sa_handler);
	sigaction(SIGUSR1, NULL, &sa);
	assert_true(sa.sa_handler == on_usr1);

	sigaction(SIGUSR1, &old1, NULL);
	sigaction(SIGUSR2, &old2, NULL);
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
}

static void test_wait_timeout(void **state)
{
	char *argv[] = { fdreport, "wait", NULL };
	struct ll_spawn_fd map = { 0, 1 };
	struct ll_spawn_opts o = { .fds = &map, .nfds = 1 };
	int pidfd, st;
	pid_t pid;

	(void)state;
	map.parent_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(map.parent_fd >= 0);
	assert_int_equal(ll_spawn(argv, &o, &pid, &pidfd), 0);
	assert_int_equal(ll_spawn_wait(pid, pidfd, 50, &st), -ETIMEDOUT);
	assert_int_equal(ll_spawn_wait(pid, -1, 50, &st), -ETIMEDOUT);
	kill(pid, SIGKILL);
	assert_int_equal(ll_spawn_wait(pid, -1, 10000, &st), 0);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	close(pidfd);
	close(map.parent_fd);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

/* 1,000 spawns that fail in every way the child can fail (missing program,
 * not executable, bad cwd, a map entry whose descriptor is not open), each
 * asking for a pidfd, with a successful spawn + wait now and then: the
 * parent has exactly as many descriptors afterwards (no pidfd, pipe or
 * directory fd left behind) and no child or zombie. */
static void test_failing_spawns_leak_nothing(void **state)
{
	char noexec_path[512];
	char *missing[] = { "/nonexistent/lifeline-no-such-program", NULL };
	char *noexec[] = { noexec_path, NULL };
	char *ok[] = { "/bin/true", NULL };
	int before, after, fd, closed_fd, st;

	(void)state;
	snprintf(noexec_path, sizeof(noexec_path), "%s/not-executable-2", tmpdir);
	fd = open(noexec_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	closed_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(closed_fd >= 0);
	close(closed_fd);

	before = count_fds();
	for (int i = 0; i < 1000; i++) {
		struct ll_spawn_fd map = { closed_fd, 5 };
		struct ll_spawn_opts o = { 0 };
		int pidfd = -1234, want;
		char **argv = ok;
		pid_t pid = 0;

		switch (i % 5) {
		case 0: argv = missing; want = -ENOENT; break;
		case 1: argv = noexec; want = -EACCES; break;
		case 2: o.cwd = "/nonexistent-dir"; want = -ENOENT; break;
		case 3: o.fds = &map; o.nfds = 1; want = -EBADF; break;
		default: want = 0; break;
		}
		assert_int_equal(ll_spawn(argv, &o, &pid, &pidfd), want);
		if (want == 0) {
			assert_true(pidfd >= 0);
			assert_int_equal(ll_spawn_wait(pid, pidfd, -1, &st), 0);
			assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
			close(pidfd);
		}
	}
	after = count_fds();
	print_message("descriptors before: %d, after 1,000 spawns (800 failing): %d\n", before, after);
	assert_int_equal(after, before);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void on_int(int sig)
{
	(void)sig;
}

struct sys_job {
	int code;
	int bad;
};

static void *system_loop(void *arg)
{
	struct sys_job *j = arg;
	char cmd[32];

	snprintf(cmd, sizeof(cmd), "exit %d", j->code);
	for (int i = 0; i < 40; i++) {
		int st = ll_system(cmd);

		if (!WIFEXITED(st) || WEXITSTATUS(st) != j->code)
			j->bad++;
	}
	return NULL;
}

/* Two threads calling ll_system at once: each gets its own child's status,
 * and once both are done SIGINT and SIGQUIT are back to what they were. */
static void test_system_two_threads(void **state)
{
	struct sigaction sa = { 0 }, old_int, old_quit, now;
	struct sys_job jobs[2] = { { 3, 0 }, { 5, 0 } };
	pthread_t t[2];

	(void)state;
	/* as it came (a background job of a non-interactive shell starts with
	 * SIGQUIT ignored) */
	assert_int_equal(sigaction(SIGQUIT, NULL, &old_quit), 0);
	sa.sa_handler = on_int;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGINT, &sa, &old_int), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, system_loop, &jobs[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(jobs[0].bad, 0);
	assert_int_equal(jobs[1].bad, 0);
	assert_int_equal(sigaction(SIGINT, NULL, &now), 0);
	assert_ptr_equal(now.sa_handler, on_int);
	assert_int_equal(sigaction(SIGQUIT, NULL, &now), 0);
	assert_ptr_equal(now.sa_handler, old_quit.sa_handler);
	sigaction(SIGINT, &old_int, NULL);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void *system_sleep(void *arg)
{
	ll_system((const char *)arg);
	return NULL;
}

/* A thread cancelled while ll_system waits: its child is killed and reaped,
 * SIGINT is no longer ignored, SIGCHLD no longer blocked in that thread. */
static void test_system_cancel(void **state)
{
	struct sigaction sa = { 0 }, old_int, now;
	char marker[512], cmd[2048], buf[32] = "";
	pthread_t t;
	void *ret;
	pid_t child = 0;
	int fd;

	(void)state;
	if (tu_sanitized()) {
		/* ASan's __asan_handle_no_return trips its own CHECK
		 * (asan_thread.cpp:371) while the cancellation unwinds through
		 * the setjmp-based cleanup of pthread_cleanup_push: a runtime
		 * problem, not ours; the plain build runs this test. */
		print_message("skipped under ASan: pthread_cancel unwinding trips an ASan CHECK\n");
		skip();
	}
	snprintf(marker, sizeof(marker), "%s/system-cancel-pid", tmpdir);
	unlink(marker);
	snprintf(cmd, sizeof(cmd), "echo $$ > %s.tmp && mv %s.tmp %s && exec sleep 60", marker, marker, marker);
	sa.sa_handler = on_int;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGINT, &sa, &old_int), 0);
	assert_int_equal(pthread_create(&t, NULL, system_sleep, cmd), 0);
	/* Wait (up to 20 s) until the child has started. */
	for (int i = 0; i < 2000 && access(marker, F_OK) != 0; i++)
		usleep(10000);
	fd = open(marker, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	child = (pid_t)atoi(buf);
	assert_true(child > 0);
	assert_int_equal(pthread_cancel(t), 0);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_ptr_equal(ret, PTHREAD_CANCELED);
	/* The child was killed and reaped by the cancelled thread. */
	assert_int_equal(kill(child, 0), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_int_equal(sigaction(SIGINT, NULL, &now), 0);
	assert_ptr_equal(now.sa_handler, on_int);
	sigaction(SIGINT, &old_int, NULL);
	/* And ll_system still works afterwards. */
	assert_int_equal(WEXITSTATUS(ll_system("exit 7")), 7);
}

static void *popen_loop(void *arg)
{
	struct sys_job *j = arg;
	char cmd[64], line[64];

	snprintf(cmd, sizeof(cmd), "echo ok-%d; exit %d", j->code, j->code);
	for (int i = 0; i < 40; i++) {
		FILE *f = ll_popen(cmd, "re");
		char want[16];
		int st;

		if (!f) {
			j->bad++;
			continue;
		}
		snprintf(want, sizeof(want), "ok-%d\n", j->code);
		if (!fgets(line, sizeof(line), f) || strcmp(line, want))
			j->bad++;
		st = ll_pclose(f);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != j->code)
			j->bad++;
	}
	return NULL;
}

/* Two threads using ll_popen/ll_pclose at once: each stream is matched
 * with its own child (the list under its lock), each pclose returns that
 * child's status, and nothing is left behind. */
static void test_popen_two_threads(void **state)
{
	struct sys_job jobs[2] = { { 6, 0 }, { 9, 0 } };
	pthread_t t[2];
	int before = count_fds();

	(void)state;
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, popen_loop, &jobs[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(jobs[0].bad, 0);
	assert_int_equal(jobs[1].bad, 0);
	assert_int_equal(count_fds(), before);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* fork() by one thread while another waits in ll_system(): in the fork
 * child, that wait does not exist, so SIGINT is back to the program's own
 * disposition (not left ignored) and ll_system() works (its lock is new). */
static void test_system_fork_while_waiting(void **state)
{
	struct sigaction sa = { 0 }, old_int;
	char marker[512], cmd[2048], buf[32] = "";
	pthread_t t;
	pid_t child, sleeper;
	int fd, st;

	(void)state;
	snprintf(marker, sizeof(marker), "%s/system-fork-pid", tmpdir);
	unlink(marker);
	snprintf(cmd, sizeof(cmd), "echo $$ > %s.tmp && mv %s.tmp %s && exec sleep 60", marker, marker, marker);
	sa.sa_handler = on_int;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGINT, &sa, &old_int), 0);
	assert_int_equal(pthread_create(&t, NULL, system_sleep, cmd), 0);
	for (int i = 0; i < 2000 && access(marker, F_OK) != 0; i++)
		usleep(10000);
	fd = open(marker, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	sleeper = (pid_t)atoi(buf);
	assert_true(sleeper > 0);

	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct sigaction now;

		if (sigaction(SIGINT, NULL, &now) < 0 || now.sa_handler != on_int)
			_exit(10);
		st = ll_system("exit 4");
		_exit(WIFEXITED(st) && WEXITSTATUS(st) == 4 ? 0 : 11);
	}
	assert_int_equal(waitpid(child, &st, 0), child);
	kill(sleeper, SIGKILL);
	assert_int_equal(pthread_join(t, NULL), 0);
	print_message("fork child status: %#x\n", st);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	sigaction(SIGINT, &old_int, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spawn_leaks_nothing),
		cmocka_unit_test(test_system_leaks_nothing),
		cmocka_unit_test(test_popen_leaks_nothing),
		cmocka_unit_test(test_popen_write),
		cmocka_unit_test(test_fd_map_overlaps),
		cmocka_unit_test(test_fd_map_rotation),
		cmocka_unit_test(test_close_fallbacks),
		cmocka_unit_test(test_exec_errors),
		cmocka_unit_test(test_status_like_system),
		cmocka_unit_test(test_child_state),
		cmocka_unit_test(test_wait_timeout),
		cmocka_unit_test(test_failing_spawns_leak_nothing),
		cmocka_unit_test(test_system_two_threads),
		cmocka_unit_test(test_system_cancel),
		cmocka_unit_test(test_popen_two_threads),
		cmocka_unit_test(test_system_fork_while_waiting),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
