/* test_helper_privsep.c: the core_pattern helper parses and compresses a
 * crash's bytes without privileges (issue 15 §6).
 *
 * Run as the kernel would (directly, with a pidfd on fd 3, no core_pattern
 * change), with LIFELINE_SANDBOX_USER naming a real user this test creates:
 *  - the record's "capture" object, which the capture stage fills from its
 *    own /proc/self/status, says it ran as that user with no capability,
 *    no_new_privs, undumpable, under a seccomp filter;
 *  - seen from outside while it waits on a silent core pipe: the helper's
 *    child has every uid of that user, CapEff 0, NoNewPrivs 1, Seccomp 2;
 *    and an attacker (another real uid, the crash's) can neither signal it
 *    nor open its /proc files;
 *  - the user missing: the core is stored all the same, as nobody, and the
 *    record says so. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static json_object *only_record(const char *store)
{
	json_object *list = th_list(store), *rec;

	assert_non_null(list);
	assert_int_equal(json_object_array_length(list), 1);
	rec = th_record(store, th_str(json_object_array_get_idx(list, 0), "id"));
	json_object_put(list);
	assert_non_null(rec);
	return rec;
}

static void test_record_says_unprivileged(void **state)
{
	const char *store = th_path("rec-store"), *in = th_path("rec-in");
	pid_t victim = th_sleeper();
	json_object *rec;
	char want[32];
	int r;

	(void)state;
	assert_int_equal(th_make_input(in, 1 << 20, false), 0);
	setenv("LIFELINE_SANDBOX_USER", sb_name, 1);
	th_fd3 = (int)syscall(SYS_pidfd_open, victim, 0);
	assert_true(th_fd3 >= 0);
	r = th_helper(store, NULL, victim, 0, time(NULL), "privsep", in, "3", "1");
	close(th_fd3);
	th_fd3 = -1;
	th_stop(victim);
	assert_int_equal(r, 0);
	rec = only_record(store);
	assert_true(th_bool(rec, "core.stored"));
	assert_string_equal(th_str(rec, "capture.user"), sb_name);
	assert_null(th_str(rec, "capture.note"));
	/* Uid: real, effective, saved, filesystem: all the sandbox user's */
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)sb_uid, (unsigned)sb_uid,
		 (unsigned)sb_uid, (unsigned)sb_uid);
	assert_string_equal(th_str(rec, "capture.uid"), want);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)sb_gid, (unsigned)sb_gid,
		 (unsigned)sb_gid, (unsigned)sb_gid);
	assert_string_equal(th_str(rec, "capture.gid"), want);
	assert_string_equal(th_str(rec, "capture.cap_eff"), "0000000000000000");
	assert_string_equal(th_str(rec, "capture.cap_prm"), "0000000000000000");
	assert_string_equal(th_str(rec, "capture.no_new_privs"), "1");
	assert_false(th_bool(rec, "capture.dumpable"));
	assert_string_equal(th_str(rec, "capture.seccomp"), "filter");
	/* and the unprivileged stage did its work: maps with build-ids */
	assert_non_null(json_object_object_get(rec, "maps"));
	assert_true(json_object_array_length(json_object_object_get(rec, "maps")) > 0);
	json_object_put(rec);
	unsetenv("LIFELINE_SANDBOX_USER");
}

/* The first child of pid (from /proc/PID/task/PID/children), or -1. */
static pid_t child_of(pid_t pid)
{
	char path[64], buf[256] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return buf[0] ? (pid_t)atoi(buf) : -1;
}

static char *status_line(pid_t pid, const char *key, char *out, size_t size)
{
	char path[64], line[256];
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return out;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key))) {
			char *v = line + strlen(key);

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, size, "%s", v);
		}
	fclose(f);
	return out;
}

/* What the crash's uid manages against the capture process: a bit per
 * success (1: SIGSTOP, 2: /proc/PID/environ, 4: /proc/PID/fd/0, 8: mem). */
static int attack(pid_t target)
{
	int p[2], res = 0;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static const char *const files[] = { "environ", "fd/0", "mem" };
		char path[64];
		int got = 0;

		if (setgroups(0, NULL) < 0 || setresgid(at_gid, at_gid, at_gid) < 0 ||
		    setresuid(at_uid, at_uid, at_uid) < 0)
			_exit(126);
		if (kill(target, SIGSTOP) == 0) {
			got |= 1;
			kill(target, SIGCONT);
		}
		for (int i = 0; i < 3; i++) {
			int fd;

			snprintf(path, sizeof(path), "/proc/%d/%s", (int)target, files[i]);
			fd = open(path, O_RDONLY | O_NONBLOCK);
			if (fd >= 0) {
				got |= 2 << i;
				close(fd);
			}
		}
		if (write(p[1], &got, sizeof(got)) != sizeof(got))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &res, sizeof(res)), (ssize_t)sizeof(res));
	close(p[0]);
	waitpid(pid, NULL, 0);
	return res;
}

static void test_capture_seen_from_outside(void **state)
{
	const char *store = th_path("out-store"), *cfg = th_path("out.conf");
	char t[32], u[32], v[128], want[64], chunk[4096];
	int p[2], status, pidfd;
	pid_t victim = th_sleeper(), helper, cap = -1;
	json_object *rec;

	(void)state;
	th_write_text(cfg, "[Coredump]\nIdleTimeoutSec=1h\n");
	memset(chunk, 'c', sizeof(chunk));
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
	pidfd = (int)syscall(SYS_pidfd_open, victim, 0);
	assert_true(pidfd >= 0);
	snprintf(t, sizeof(t), "%ld", (long)time(NULL));
	snprintf(u, sizeof(u), "%u", (unsigned)at_uid);
	helper = fork();
	assert_true(helper >= 0);
	if (helper == 0) {
		char vp[32];

		snprintf(vp, sizeof(vp), "%d", (int)victim);
		dup2(p[0], 0);
		close(p[1]);
		dup2(pidfd, 3);
		setenv("LIFELINE_SANDBOX_USER", sb_name, 1);
		execl(tu_lifeline(), tu_lifeline(), "coredump", "--store", store, "--config", cfg, vp, u, u,
		      "11", t, "18446744073709551615", "host", "watched", "3", "1", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	/* The capture stage blocks on the silent pipe, under its filter. */
	for (int i = 0; i < 400; i++) {
		cap = child_of(helper);
		if (cap > 0 && !strcmp(status_line(cap, "Seccomp:", v, sizeof(v)), "2"))
			break;
		usleep(50 * 1000);
	}
	assert_true(cap > 0);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)sb_uid, (unsigned)sb_uid,
		 (unsigned)sb_uid, (unsigned)sb_uid);
	assert_string_equal(status_line(cap, "Uid:", v, sizeof(v)), want);
	assert_string_equal(status_line(cap, "CapEff:", v, sizeof(v)), "0000000000000000");
	assert_string_equal(status_line(cap, "NoNewPrivs:", v, sizeof(v)), "1");
	assert_string_equal(status_line(cap, "Seccomp:", v, sizeof(v)), "2");
	/* The crash's uid cannot reach it. */
	assert_int_equal(attack(cap), 0);
	/* The parent (root) neither: it only waits. */
	assert_string_equal(status_line(helper, "Uid:", v, sizeof(v)), "0\t0\t0\t0");
	close(p[1]);
	assert_int_equal(waitpid(helper, &status, 0), helper);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(pidfd);
	th_stop(victim);
	rec = only_record(store);
	assert_true(th_bool(rec, "core.stored"));
	assert_int_equal(th_int(rec, "core.stored_size"), (int64_t)sizeof(chunk));
	assert_string_equal(th_str(rec, "capture.user"), sb_name);
	json_object_put(rec);
}

/* No such user: stored all the same, as nobody, and said. */
static void test_missing_user_falls_back(void **state)
{
	const char *store = th_path("nouser-store"), *in = th_path("nouser-in");
	pid_t victim = th_sleeper();
	json_object *rec;
	int r;

	(void)state;
	assert_int_equal(th_make_input(in, 65536, false), 0);
	setenv("LIFELINE_SANDBOX_USER", "llt-no-such-user-x", 1);
	th_fd3 = (int)syscall(SYS_pidfd_open, victim, 0);
	assert_true(th_fd3 >= 0);
	r = th_helper(store, NULL, victim, 0, time(NULL), "nouser", in, "3", "1");
	close(th_fd3);
	th_fd3 = -1;
	th_stop(victim);
	unsetenv("LIFELINE_SANDBOX_USER");
	assert_int_equal(r, 0);
	rec = only_record(store);
	assert_true(th_bool(rec, "core.stored"));
	assert_int_equal(th_int(rec, "core.stored_size"), 65536);
	assert_string_equal(th_str(rec, "capture.user"), "nobody");
	assert_non_null(strstr(th_str(rec, "capture.note"), "llt-no-such-user-x does not exist"));
	assert_string_equal(th_str(rec, "capture.cap_eff"), "0000000000000000");
	assert_string_equal(th_str(rec, "capture.seccomp"), "filter");
	json_object_put(rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_says_unprivileged),
		cmocka_unit_test(test_capture_seen_from_outside),
		cmocka_unit_test(test_missing_user_falls_back),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "needs root (creates users, runs the helper as the kernel does): skipped\n");
		return TU_SKIP;
	}
	if (tu_mkdtemp(th_root, sizeof(th_root)) < 0)
		return 1;
	chmod(th_root, 0755);
	if (tu_user_create("capture", &sb_uid, &sb_gid, sb_name, sizeof(sb_name)) < 0 ||
	    tu_user_create("crasher", &at_uid, &at_gid, NULL, 0) < 0) {
		fprintf(stderr, "cannot create test users (useradd): skipped\n");
		return TU_SKIP;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
