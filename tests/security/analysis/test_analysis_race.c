/* test_analysis_race.c: root browsing the store must hand nothing of a
 * root-only core, nor root's environment, to the crash's uid; and root's gdb
 * must not open what the core's link_map names (issue 15 §1, §3).
 *
 * Real cores (the kernel writes them through a file core_pattern, restored
 * at once and at exit), real users (tu_user_create): the attacker is the
 * crash's uid; the sandbox user stands for lifeline-coredump
 * (LIFELINE_SANDBOX_USER).
 *  - root-only core (the record says readable_by_uid: false, as for a
 *    set-uid crash): while root runs `cores info` and `cores list --top`
 *    over and over with ROOT_TOKEN in its environment, an attacker process
 *    of the crash's uid races through /proc: SIGSTOPs every process it may,
 *    reads every environ and every /proc/PID/fd/N it can open. It finds
 *    neither the secret held in the core nor root's token, and the analysis
 *    ran as the sandbox user;
 *  - core readable by its uid: the analysis runs as that uid, the attacker
 *    stops it and reads its environ: root's command comes back (the stopped
 *    child is killed) and the environ holds no ROOT_TOKEN;
 *  - `cores gdb` on a root-only core whose link_map names a FIFO: gdb
 *    finishes (within 30 s) and the FIFO is never opened. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "testutil.h"

static uid_t sb_uid, at_uid;
static gid_t sb_gid, at_gid;
static char sb_name[64];
static char secret[64], token[64];
static char fifo_path[512];

/* Crash a child running fn() with the kernel writing its core to
 * th_root/name (core_pattern changed for the crash only). */
static void make_core(const char *name, void (*fn)(void))
{
	char saved[512], pattern[600];
	int status;
	pid_t pid;

	assert_int_equal(tu_sysctl_read("kernel/core_pattern", saved, sizeof(saved)), 0);
	snprintf(pattern, sizeof(pattern), "%s", th_path(name));
	assert_int_equal(tu_sysctl_write("kernel/core_pattern", pattern), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

		setrlimit(RLIMIT_CORE, &rl);
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		fn();
		signal(SIGABRT, SIG_DFL);
		abort();
	}
	waitpid(pid, &status, 0);
	tu_sysctl_write("kernel/core_pattern", saved);
	assert_true(WIFSIGNALED(status) && WCOREDUMP(status));
}

/* The crash holds the secret in its memory (never in a file). */
static void hold_secret(void)
{
	for (int i = 0; i < 64; i++) {
		char *p = malloc(4096);

		if (!p)
			break;
		snprintf(p, 4096, "%s", secret);
	}
}

/* Store the core at th_root/core_name as a crash of uid at_uid, readable by it
 * or root-only (the %d the kernel passes: 1 or 2). Returns the id (malloc'ed). */
static char *store_core(const char *store, const char *core_name, bool readable)
{
	pid_t victim = th_sleeper();
	json_object *list;
	char *id;
	int r;

	th_fd3 = (int)syscall(SYS_pidfd_open, victim, 0);
	assert_true(th_fd3 >= 0);
	r = th_helper(store, NULL, victim, at_uid, time(NULL), "victim", th_path(core_name), "3",
		      readable ? "1" : "2");
	close(th_fd3);
	th_fd3 = -1;
	th_stop(victim);
	assert_int_equal(r, 0);
	list = th_list(store);
	assert_non_null(list);
	assert_int_equal(json_object_array_length(list), 1);
	id = strdup(th_str(json_object_array_get_idx(list, 0), "id"));
	json_object_put(list);
	{
		json_object *rec = th_record(store, id);

		assert_non_null(rec);
		assert_int_equal(th_bool(rec, "readable_by_uid"), readable);
		json_object_put(rec);
	}
	return id;
}

static bool contains(const char *buf, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++)
		if (buf[i] == needle[0] && !memcmp(buf + i, needle, n))
			return true;
	return false;
}

/* Read up to 64 MiB of path; does it hold the secret or the token? */
static int steal(const char *path)
{
	static char buf[1 << 20];
	size_t total = 0;
	int fd = open(path, O_RDONLY | O_NONBLOCK), got = 0;

	if (fd < 0)
		return 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		if (contains(buf, (size_t)n, secret))
			got |= 1;
		if (contains(buf, (size_t)n, token))
			got |= 2;
		total += (size_t)n;
		if (total > (64u << 20))
			break;
	}
	close(fd);
	return got;
}

struct loot {
	int stolen;      /* 1: the core's secret, 2: root's token */
	int stopped;     /* processes it managed to SIGSTOP */
	int passes;
};

/* The attacker: the crash's uid, racing through /proc until stop_fd has
 * something to read. */
static void attacker(int stop_fd, int out_fd)
{
	struct loot l = { 0 };
	pid_t self = getpid();

	if (setgroups(0, NULL) < 0 || setresgid(at_gid, at_gid, at_gid) < 0 ||
	    setresuid(at_uid, at_uid, at_uid) < 0)
		_exit(126);
	for (;;) {
		struct timeval tv = { 0, 0 };
		fd_set set;
		DIR *d = opendir("/proc");
		struct dirent *de;

		FD_ZERO(&set);
		FD_SET(stop_fd, &set);
		if (select(stop_fd + 1, &set, NULL, NULL, &tv) > 0)
			break;
		while (d && (de = readdir(d))) {
			char path[300];
			pid_t pid = (pid_t)atoi(de->d_name);
			DIR *fds;
			struct dirent *fe;

			if (pid <= 0 || pid == self)
				continue;
			if (kill(pid, SIGSTOP) == 0)
				l.stopped++; /* left stopped: the attack that hung root */
			snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
			l.stolen |= steal(path);
			snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
			fds = opendir(path);
			while (fds && (fe = readdir(fds))) {
				if (fe->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid, fe->d_name);
				l.stolen |= steal(path);
			}
			if (fds)
				closedir(fds);
		}
		if (d)
			closedir(d);
		l.passes++;
	}
	if (write(out_fd, &l, sizeof(l)) != sizeof(l))
		_exit(1);
	_exit(0);
}

static pid_t start_attacker(int *stop_w, int *out_r)
{
	int s[2], o[2];
	pid_t pid;

	assert_int_equal(pipe(s), 0);
	assert_int_equal(pipe(o), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(s[1]);
		close(o[0]);
		attacker(s[0], o[1]);
	}
	close(s[0]);
	close(o[1]);
	*stop_w = s[1];
	*out_r = o[0];
	return pid;
}

static struct loot stop_attacker(pid_t pid, int stop_w, int out_r)
{
	struct loot l = { -1, -1, -1 };

	assert_int_equal(write(stop_w, "x", 1), 1);
	assert_int_equal(read(out_r, &l, sizeof(l)), (ssize_t)sizeof(l));
	waitpid(pid, NULL, 0);
	close(stop_w);
	close(out_r);
	return l;
}

/* `lifeline cores SUB [ID] --store S --json [--top]` as root with ROOT_TOKEN
 * and the sandbox user in its environment; the parsed output. */
static json_object *cores_as_root(const char *store, const char *sub, const char *id, bool top,
				  int *status)
{
	json_object *j;

	setenv("ROOT_TOKEN", token, 1);
	setenv("LIFELINE_SANDBOX_USER", sb_name, 1);
	/* "--top" takes the place of an id: `cores list --top --store S --json` */
	j = th_cores_json(store, status, sub, top ? "--top" : id);
	unsetenv("ROOT_TOKEN");
	unsetenv("LIFELINE_SANDBOX_USER");
	return j;
}

static void test_root_only_core_race(void **state)
{
	const char *store = th_path("ro-store");
	int stop_w, out_r, status;
	struct loot l;
	char *id;
	pid_t att;

	(void)state;
	make_core("ro-core", hold_secret);
	id = store_core(store, "ro-core", false);
	att = start_attacker(&stop_w, &out_r);
	for (int round = 0; round < 6; round++) {
		json_object *j = cores_as_root(store, round % 2 ? "list" : "info", round % 2 ? NULL : id,
					       round % 2, &status);

		assert_non_null(j);
		assert_int_equal(status, 0);
		if (round % 2 == 0) {
			/* analysed, and as the sandbox user, never the crash's uid */
			if (th_str(j, "analysis_error"))
				fprintf(stderr, "analysis error: %s\n", th_str(j, "analysis_error"));
			assert_null(th_str(j, "analysis_error"));
			assert_int_equal(th_int(j, "analysis_uid"), (int64_t)sb_uid);
		}
		json_object_put(j);
	}
	l = stop_attacker(att, stop_w, out_r);
	fprintf(stderr, "attacker: %d passes over /proc, %d processes stopped, stolen %d\n", l.passes,
		l.stopped, l.stolen);
	assert_true(l.passes > 0);
	assert_int_equal(l.stolen, 0);
	free(id);
}

static void test_readable_core_stopped(void **state)
{
	const char *store = th_path("rd-store");
	int stop_w, out_r, status;
	struct loot l;
	char *id;
	pid_t att;

	(void)state;
	make_core("rd-core", hold_secret);
	id = store_core(store, "rd-core", true);
	att = start_attacker(&stop_w, &out_r);
	for (int round = 0; round < 4; round++) {
		json_object *j = cores_as_root(store, "info", id, false, &status);

		/* Root's command always comes back; either analysed as the
		 * crash's uid, or the stopped child was killed, and said so. */
		assert_non_null(j);
		if (th_str(j, "analysis_error")) {
			fprintf(stderr, "round %d: %s\n", round, th_str(j, "analysis_error"));
			assert_int_equal(status, 1);
			assert_non_null(strstr(th_str(j, "analysis_error"), "stopped or traced"));
		} else {
			assert_int_equal(status, 0);
			assert_int_equal(th_int(j, "analysis_uid"), (int64_t)at_uid);
		}
		json_object_put(j);
	}
	l = stop_attacker(att, stop_w, out_r);
	fprintf(stderr, "attacker: %d passes, %d processes stopped, stolen %d\n", l.passes, l.stopped,
		l.stolen);
	/* The core is the attacker's own (readable_by_uid): only root's
	 * environment must stay out of reach. */
	assert_int_equal(l.stolen & 2, 0);
	free(id);
}

/* The crash names a FIFO in its link_map (libc's l_name). */
static void fifo_link_map(void)
{
	static char name[512];
	struct link_map *m = _r_debug.r_map;

	snprintf(name, sizeof(name), "%s", fifo_path);
	for (; m; m = m->l_next)
		if (m->l_name && strstr(m->l_name, "libc.so"))
			m->l_name = name;
}

static void test_gdb_fifo_link_map(void **state)
{
	const char *store = th_path("gdb-store");
	const char *argv[] = { tu_lifeline(), "cores", "gdb", "--store", store, NULL };
	int p[2], status = -1, opened = 0;
	pid_t watcher, gdb;
	char *id;
	bool done = false;

	(void)state;
	if (access("/usr/bin/gdb", X_OK) < 0) {
		fprintf(stderr, "gdb is not installed: skipped\n");
		skip();
	}
	snprintf(fifo_path, sizeof(fifo_path), "%s", th_path("libc-fifo"));
	assert_int_equal(mkfifo(fifo_path, 0666), 0);
	make_core("fifo-core", fifo_link_map);
	id = store_core(store, "fifo-core", false);
	/* A reader of the FIFO, even one blocked in open(), lets a
	 * non-blocking writer open it. */
	assert_int_equal(pipe(p), 0);
	watcher = fork();
	assert_true(watcher >= 0);
	if (watcher == 0) {
		close(p[0]);
		for (;;) {
			int fd = open(fifo_path, O_WRONLY | O_NONBLOCK);

			if (fd >= 0) {
				if (write(p[1], "o", 1) != 1)
					_exit(1);
				close(fd);
				_exit(0);
			}
			usleep(1000);
		}
	}
	close(p[1]);
	gdb = fork();
	assert_true(gdb >= 0);
	if (gdb == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		setpgid(0, 0);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	/* A hang guard, not a benchmark: the bug was 10 minutes in fifo_open. */
	for (int i = 0; i < 300 && !done; i++) {
		if (waitpid(gdb, &status, WNOHANG) == gdb)
			done = true;
		else
			usleep(100 * 1000);
	}
	if (!done) {
		kill(-gdb, SIGKILL);
		kill(gdb, SIGKILL);
		waitpid(gdb, &status, 0);
	}
	th_stop(watcher);
	{
		char c;

		fcntl(p[0], F_SETFL, O_NONBLOCK);
		opened = read(p[0], &c, 1) == 1;
		close(p[0]);
	}
	assert_true(done);
	assert_false(opened);
	assert_true(WIFEXITED(status));
	free(id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_only_core_race),
		cmocka_unit_test(test_readable_core_stopped),
		cmocka_unit_test(test_gdb_fifo_link_map),
	};
	unsigned rnd;

	if (geteuid() != 0) {
		fprintf(stderr, "needs root (users, core_pattern): skipped\n");
		return TU_SKIP;
	}
	tu_save_global_state();
	if (tu_mkdtemp(th_root, sizeof(th_root)) < 0)
		return 1;
	chmod(th_root, 0755);
	if (tu_user_create("sandbox", &sb_uid, &sb_gid, sb_name, sizeof(sb_name)) < 0 ||
	    tu_user_create("crash", &at_uid, &at_gid, NULL, 0) < 0) {
		fprintf(stderr, "cannot create test users (useradd): skipped\n");
		return TU_SKIP;
	}
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	rnd = (unsigned)rand();
	snprintf(secret, sizeof(secret), "LLT-CORE-SECRET-%08x", rnd);
	snprintf(token, sizeof(token), "LLT-ROOT-TOKEN-%08x", rnd ^ 0x5a5a5a5au);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
