/* test_rollback.c: every way an upgrade can fail, on a server under load.
 *
 * upgrade-server v1 (readiness deadline 1.5 s; run under the crash
 * reporter, liblifeline-crash.so, outside sanitizer builds) serves on a
 * loopback port while loadgen keeps 8 keep-alive connections busy and opens
 * new ones. It is asked (ll_upgrade_request, what `lifeline upgrade` uses)
 * to upgrade to: a missing binary, one that is not executable, a truncated
 * ELF (a copy cut in half, as seen mid-`cp`), one that exits 1 at start,
 * one killed by SIGSEGV before it is ready, and one that never gets ready
 * (while that one runs, a second request is refused: an upgrade is running
 * already). Each time the status says why (reason, errno, exit status or
 * signal, the crash report), no new process is left, and v1 serves on. At
 * the end no connect was refused, no request failed, only v1 answered, and
 * a good upgrade (v2) still works. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lifeline/upgrade.h"
#include "loadgen.h"
#include "testutil.h"
#include "server.h"

static struct lg g;
static struct lg_stats st;
static struct srv s;
static char tmpdir[256];

static const char *tmp_path(const char *name)
{
	static char buf[2][512];
	static int slot;

	slot ^= 1;
	snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", tmpdir, name);
	return buf[slot];
}

/* Copy src to dst: the first len bytes (all with len 0), mode. */
static void copy_file(const char *src, const char *dst, size_t len, mode_t mode)
{
	char *data = NULL;
	size_t n = 0;
	FILE *f = fopen(src, "rb");
	int fd;

	assert_non_null(f);
	data = malloc(64 << 20);
	assert_non_null(data);
	n = fread(data, 1, 64 << 20, f);
	fclose(f);
	if (len && len < n)
		n = len;
	fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	fchmod(fd, mode);
	close(fd);
	free(data);
}

/* Ask for an upgrade to exe; it must be rolled back with reason and error. */
static void expect_rollback(const char *exe, enum ll_upgrade_reason reason, int error, const char *why_part,
			    struct ll_upgrade_status *out)
{
	struct ll_upgrade_status us;
	char why[512];
	int r = ll_upgrade_request(s.pid, exe, 15000, &us, why, sizeof(why));

	print_message("upgrade to %s: %s, %s: %s\n", exe, r >= 0 ? ll_upgrade_phase_name(r) : strerror(-r),
		      ll_upgrade_reason_name(us.reason), why);
	assert_int_equal(r, LL_UPGRADE_ROLLED_BACK);
	assert_int_equal(us.reason, reason);
	assert_int_equal(us.error, error);
	assert_int_equal(us.old_pid, s.pid);
	if (why_part && !strstr(us.why, why_part))
		fail_msg("the reason '%s' does not say '%s'", us.why, why_part);
	/* v1 serves on; the new process is gone (reaped by v1) */
	assert_int_equal(kill(s.pid, 0), 0);
	if (us.new_pid)
		assert_true(kill(us.new_pid, 0) < 0 && errno == ESRCH);
	if (out)
		*out = us;
}

static void *hang_request(void *arg)
{
	struct ll_upgrade_status *us = arg;
	char why[512];

	ll_upgrade_request(s.pid, srv_example("upgrade-server-hang"), 15000, us, why, sizeof(why));
	return NULL;
}

static void test_rollbacks(void **state)
{
	const char *const extra[] = { "--ready-timeout-ms", "1500", NULL };
	struct ll_upgrade_status us, hang;
	char v2[4096], why[512], crash_lib[4096];
	struct stat sb;
	pthread_t t;
	pid_t next;

	(void)state;
	snprintf(v2, sizeof(v2), "%s", srv_example("upgrade-server-v2"));
	assert_int_equal(tu_mkdtemp(tmpdir, sizeof(tmpdir)), 0);
	snprintf(crash_lib, sizeof(crash_lib), "%s", tu_build_path("src/preload/crash/liblifeline-crash.so"));
	if (!tu_sanitized() && access(crash_lib, R_OK) == 0) {
		setenv("LD_PRELOAD", crash_lib, 1);
		setenv("LIFELINE_CRASH_DIR", tmpdir, 1);
	}
	assert_int_equal(srv_start(&s, "upgrade-server", extra), 0);
	unsetenv("LD_PRELOAD");
	assert_int_equal(lg_start(&g, s.port, 8), 0);
	usleep(100 * 1000);

	expect_rollback(tmp_path("missing"), LL_UPGRADE_REASON_REFUSED, -ENOENT, "cannot open", NULL);
	copy_file(v2, tmp_path("noexec"), 0, 0644);
	expect_rollback(tmp_path("noexec"), LL_UPGRADE_REASON_REFUSED, -EACCES, "not executable", NULL);
	assert_int_equal(stat(v2, &sb), 0);
	copy_file(v2, tmp_path("truncated"), (size_t)sb.st_size / 2, 0755);
	expect_rollback(tmp_path("truncated"), LL_UPGRADE_REASON_REFUSED, -EAGAIN, "cut short", NULL);
	expect_rollback(srv_example("upgrade-server-v3-exit"), LL_UPGRADE_REASON_EXITED, -ECHILD, "status 1", &us);
	assert_true(WIFEXITED(us.wait_status) && WEXITSTATUS(us.wait_status) == 1);
	expect_rollback(srv_example("upgrade-server-v4-crash"), LL_UPGRADE_REASON_SIGNALED, -ECHILD, "signal 11",
			&us);
	assert_true(WIFSIGNALED(us.wait_status) && WTERMSIG(us.wait_status) == SIGSEGV);
	if (getenv("LIFELINE_CRASH_DIR")) {
		print_message("crash report of the new process: %s\n", us.crash_report);
		assert_non_null(strstr(us.crash_report, tmpdir));
		assert_int_equal(access(us.crash_report, R_OK), 0);
	}

	/* never ready: rolled back at the deadline; meanwhile a second
	 * request is refused */
	assert_int_equal(pthread_create(&t, NULL, hang_request, &hang), 0);
	usleep(300 * 1000);
	assert_int_equal(ll_upgrade_request(s.pid, v2, 5000, &us, why, sizeof(why)), -EBUSY);
	print_message("second request while one runs: %s\n", why);
	assert_non_null(strstr(why, "running already"));
	pthread_join(t, NULL);
	assert_int_equal(hang.phase, LL_UPGRADE_ROLLED_BACK);
	assert_int_equal(hang.reason, LL_UPGRADE_REASON_TIMEOUT);
	assert_true(WIFSIGNALED(hang.wait_status) && WTERMSIG(hang.wait_status) == SIGKILL);
	assert_true(kill(hang.new_pid, 0) < 0 && errno == ESRCH);

	/* not our uid's business: a request for a pid with no control socket */
	assert_true(ll_upgrade_request(getpid(), v2, 1000, &us, why, sizeof(why)) < 0);
	assert_non_null(strstr(why, "no upgrade control socket"));

	lg_snapshot(&g, &st);
	print_message("during the rollbacks: %llu requests, %llu refused, %llu failed (%s)\n",
		      (unsigned long long)st.ok, (unsigned long long)st.refused, (unsigned long long)st.failed,
		      st.last_error);
	assert_int_equal(st.refused, 0);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.bad, 0);
	assert_string_equal(st.versions[0], "v1");
	assert_string_equal(st.versions[1], "");

	/* and a good upgrade still works after all that */
	assert_int_equal(ll_upgrade_request(s.pid, v2, 15000, &us, why, sizeof(why)), LL_UPGRADE_READY);
	assert_int_equal(srv_next_serving(&s, 5000, &next, NULL), 0);
	assert_int_equal(next, us.new_pid);
	assert_int_equal(srv_wait_exit(s.pid, 10000), 0);
	lg_stop(&g);
	lg_snapshot(&g, &st);
	assert_int_equal(st.refused, 0);
	assert_int_equal(st.failed, 0);
	srv_stop(next);
	srv_reap();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rollbacks),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
