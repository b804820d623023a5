/* test_crash_env_suid.c: the crash reporter inside a setuid-root program,
 * attacked by a real unprivileged user (issue 15 §2).
 *
 * The test (root) creates a user, installs suid_crash as a setuid-root copy
 * (4755) in a fresh directory with a root-only secret and a root-only
 * reports/ directory, then runs it as that user with a hostile environment:
 * LIFELINE_CRASH_FD=3 (a file of the attacker's), LIFELINE_CRASH_DIR (a
 * directory of the attacker's), registers and maps asked for, and, for the
 * preload form, LD_PRELOAD. What the attacker must not get: the secret (it
 * sits in callee-saved registers at the crash), a register dump, a memory
 * map, any absolute address (the ASLR layout), or a file in the directory it
 * chose. What must still work: a report on stderr without those, and the
 * full report where the program itself configured it (its own directory, or
 * a descriptor it opened and marked LL_CRASH_FULL_FD). Positive controls run
 * the same program as root, where the full report (secret included) does go
 * to fd 3, so a leak would be seen. Skipped when not root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static char top[1024], prog[1100], reports[1100], adir[1100], achosen[1200];
static char secret_hex[17];
static uid_t uid;
static gid_t gid;

static char *slurp(const char *path)
{
	char *out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t len = 0, cap = 0;
	ssize_t n;

	if (fd < 0)
		return strdup("");
	do {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		n = read(fd, out + len, 4096);
		if (n > 0)
			len += (size_t)n;
	} while (n > 0);
	close(fd);
	if (!out)
		return strdup("");
	out[len] = '\0';
	return out;
}

static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* "0x" and 12 or more hex digits: an absolute address (module offsets are
 * shorter). Returns the place or NULL. */
static const char *raw_address(const char *s)
{
	for (const char *p = strstr(s, "0x"); p; p = strstr(p + 2, "0x")) {
		size_t n = strspn(p + 2, "0123456789abcdefABCDEF");

		if (n >= 12)
			return p;
	}
	return NULL;
}

static void run_checked(char *const argv[])
{
	char *err = NULL;
	int st = tu_run(argv, NULL, NULL, &err);

	if (st != 0)
		fail_msg("%s failed: %s", argv[0], err ? err : "");
	free(err);
}

/* Run suid_crash MODE as the attacker, stdout+stderr into adir/stderr.txt,
 * fd 3 into adir/fd3.txt, with the hostile environment (extra: one more
 * variable, or NULL). As root (the controls) LIFELINE_CRASH_DIR is left out,
 * so that the report goes to fd 3. Returns the wait status. */
static int run_prog(const char *mode, int as_root, const char *extra)
{
	char out[4300], fd3[4300], dirvar[4300];
	const char *asan = getenv("ASAN_OPTIONS");
	char asanvar[1100];
	char *envp[12];
	int ne = 0, st;
	pid_t pid;

	snprintf(out, sizeof(out), "%s/stderr.txt", adir);
	snprintf(fd3, sizeof(fd3), "%s/fd3.txt", adir);
	snprintf(dirvar, sizeof(dirvar), "LIFELINE_CRASH_DIR=%s", achosen);
	snprintf(asanvar, sizeof(asanvar), "ASAN_OPTIONS=%s", asan ? asan : "");
	envp[ne++] = "LIFELINE_CRASH_FD=3";
	if (!as_root)
		envp[ne++] = dirvar;
	envp[ne++] = "LIFELINE_CRASH_MAPS=1";
	envp[ne++] = "LIFELINE_CRASH_REGISTERS=1";
	envp[ne++] = "LIFELINE_CRASH_SIGNALS=SEGV";
	envp[ne++] = "PATH=/usr/bin:/bin";
	envp[ne++] = asanvar;
	if (extra)
		envp[ne++] = (char *)extra;
	envp[ne] = NULL;
	unlink(out);
	unlink(fd3);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit nocore = { 0, 0 };
		char *argv[] = { prog, (char *)mode, NULL };
		int fd;

		setrlimit(RLIMIT_CORE, &nocore);
		if (!as_root && (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0))
			_exit(120);
		fd = open(fd3, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 3) < 0)
			_exit(121);
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(122);
		execve(prog, argv, envp);
		_exit(123);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

/* What the attacker holds after a run: nothing privileged. */
static void assert_nothing_leaked(const char *mode)
{
	char path[4300];
	char *err, *fd3;
	const char *raw;

	snprintf(path, sizeof(path), "%s/stderr.txt", adir);
	err = slurp(path);
	snprintf(path, sizeof(path), "%s/fd3.txt", adir);
	fd3 = slurp(path);
	if (count_entries(achosen) != 0)
		fail_msg("%s: a file was created in the attacker's LIFELINE_CRASH_DIR %s", mode, achosen);
	if (fd3[0])
		fail_msg("%s: the attacker's LIFELINE_CRASH_FD=3 got output:\n%s", mode, fd3);
	if (strstr(err, secret_hex))
		fail_msg("%s: the root-only secret reached the attacker's stderr:\n%s", mode, err);
	if (strstr(err, "Registers:") || strstr(err, "Memory map"))
		fail_msg("%s: registers or the memory map reached the attacker's stderr:\n%s", mode, err);
	raw = raw_address(err);
	if (raw)
		fail_msg("%s: an absolute address reached the attacker's stderr at \"%.40s\":\n%s", mode, raw, err);
	free(err);
	free(fd3);
}

static char *attacker_stderr(void)
{
	char path[4300];

	snprintf(path, sizeof(path), "%s/stderr.txt", adir);
	return slurp(path);
}

static void assert_segv(int st, const char *mode)
{
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSEGV) {
		char *err = attacker_stderr();

		fail_msg("%s: expected death by SIGSEGV, got status 0x%x; output:\n%s", mode, st, err);
	}
}

/* The redacted report is still a useful report. */
static void assert_redacted_report(const char *mode)
{
	char *err = attacker_stderr();

	if (!strstr(err, "==== lifeline crash report ====") || !strstr(err, "Note:       this process is not dumpable") ||
	    !strstr(err, "suid-crash+0x") || !strstr(err, "(NULL pointer dereference)"))
		fail_msg("%s: no redacted report (note, frames, fault) on stderr:\n%s", mode, err);
	free(err);
}

/* Before each test: empty reports/ (root's) and chosen/ (the attacker's). */
static int clear_dirs(void **state)
{
	(void)state;
	tu_rm_rf(reports);
	tu_rm_rf(achosen);
	if (mkdir(reports, 0700) < 0 || mkdir(achosen, 0777) < 0 || chown(achosen, uid, gid) < 0)
		return -1;
	return 0;
}

/* A full report, secret and all, in a root-only file. */
static void assert_full_report_file(const char *path)
{
	struct stat st;
	char *s;

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	s = slurp(path);
	if (!strstr(s, "Registers:") || !strstr(s, "Memory map"))
		fail_msg("%s: not a full report:\n%s", path, s);
#if defined(__x86_64__)
	if (!strstr(s, secret_hex))
		fail_msg("%s: the secret is not in the registers (the leak checks would see nothing):\n%s", path, s);
#endif
	free(s);
}

static void test_env_ignored_and_redacted(void **state)
{
	char path[4300], *fd3;

	(void)state;
	/* Control: root runs it (dumpable, no AT_SECURE): fd 3 gets it all. */
	assert_segv(run_prog("env", 1, NULL), "env as root");
	snprintf(path, sizeof(path), "%s/fd3.txt", adir);
	fd3 = slurp(path);
	if (!strstr(fd3, "Registers:"))
		fail_msg("control: root's run wrote no full report to LIFELINE_CRASH_FD=3:\n%s", fd3);
#if defined(__x86_64__)
	if (!strstr(fd3, secret_hex))
		fail_msg("control: the secret is not in root's register dump:\n%s", fd3);
#endif
	free(fd3);

	assert_segv(run_prog("env", 0, NULL), "env");
	assert_nothing_leaked("env");
	assert_redacted_report("env");
	assert_int_equal(count_entries(reports), 0);
}

static void test_program_dir_gets_full_report(void **state)
{
	char path[4300], *err;
	DIR *d;
	struct dirent *e;
	int n = 0;

	(void)state;
	assert_segv(run_prog("dir", 0, NULL), "dir");
	assert_nothing_leaked("dir");
	err = attacker_stderr();
	snprintf(path, sizeof(path), "crash report written to %s/crash-suid-crash-", reports);
	if (!strstr(err, path))
		fail_msg("dir: stderr does not name the report file in the program's directory:\n%s", err);
	free(err);
	d = opendir(reports);
	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", reports, e->d_name);
		assert_full_report_file(path);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 1);
}

static void test_program_fd_gets_full_report(void **state)
{
	char path[4300], *err;

	(void)state;
	assert_segv(run_prog("fullfd", 0, NULL), "fullfd");
	assert_nothing_leaked("fullfd");
	err = attacker_stderr();
	if (strstr(err, "lifeline crash report"))
		fail_msg("fullfd: the report went to stderr, not to the program's own descriptor:\n%s", err);
	free(err);
	snprintf(path, sizeof(path), "%s/own.log", reports);
	assert_full_report_file(path);
}

static void test_dlopen_preload_library(void **state)
{
	(void)state;
	assert_segv(run_prog("dlopen", 0, NULL), "dlopen");
	assert_nothing_leaked("dlopen");
	assert_redacted_report("dlopen");
}

static void test_ld_preload_ignored(void **state)
{
	char pre[4300], path[4300], *err;

	(void)state;
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s/liblifeline-crash.so", top);
	if (!tu_sanitized()) {
		/* Control: for root (no AT_SECURE) the LD_PRELOAD form reports. */
		assert_segv(run_prog("none", 1, pre), "LD_PRELOAD as root");
		snprintf(path, sizeof(path), "%s/fd3.txt", adir);
		err = slurp(path);
		if (!strstr(err, "==== lifeline crash report ===="))
			fail_msg("control: LD_PRELOAD as root gave no report:\n%s", err);
		free(err);
	}
	assert_segv(run_prog("none", 0, pre), "LD_PRELOAD");
	assert_nothing_leaked("LD_PRELOAD");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_env_ignored_and_redacted, clear_dirs),
		cmocka_unit_test_setup(test_program_dir_gets_full_report, clear_dirs),
		cmocka_unit_test_setup(test_program_fd_gets_full_report, clear_dirs),
		cmocka_unit_test_setup(test_dlopen_preload_library, clear_dirs),
		cmocka_unit_test_setup(test_ld_preload_ignored, clear_dirs),
	};
	char lib[1100], secret[1100], name[64];
	unsigned char rnd[6];
	int r, fd;

	if (geteuid() != 0) {
		printf("skipped: needs root (creates a user and installs a setuid-root program)\n");
		return TU_SKIP;
	}
	r = tu_user_create("crashenv", &uid, &gid, name, sizeof(name));
	if (r < 0) {
		printf("skipped: cannot create a test user: %s\n", strerror(-r));
		return TU_SKIP;
	}
	if (tu_mkdtemp(top, sizeof(top)) < 0 || chmod(top, 0755) < 0)
		return 1;
	snprintf(prog, sizeof(prog), "%s/suid-crash", top);
	snprintf(reports, sizeof(reports), "%s/reports", top);
	snprintf(adir, sizeof(adir), "%s/attacker", top);
	snprintf(achosen, sizeof(achosen), "%s/chosen", adir);
	snprintf(lib, sizeof(lib), "%s/liblifeline-crash.so", top);
	{
		/* tu_build_path's buffer is static: one call per command. */
		char *inst[] = { "install", "-o", "root", "-g", "root", "-m", "4755",
				 (char *)tu_build_path("tests/security/crash-env/suid-crash"), prog, NULL };

		run_checked(inst);
		inst[6] = "0644";
		inst[7] = (char *)tu_build_path("src/preload/crash/liblifeline-crash.so");
		inst[8] = lib;
		run_checked(inst);
	}
	/* A secret of 16 hex digits, the first one not 0. */
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return 1;
	snprintf(secret_hex, sizeof(secret_hex), "5ec2%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3],
		 rnd[4], rnd[5]);
	snprintf(secret, sizeof(secret), "%s/secret", top);
	fd = open(secret, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, secret_hex, 16) != 16 || close(fd) < 0)
		return 1;
	if (mkdir(adir, 0755) < 0 || chown(adir, uid, gid) < 0)
		return 1;
	{
		struct stat st;

		if (stat(prog, &st) < 0 || !(st.st_mode & S_ISUID)) {
			printf("skipped: %s is not setuid after install (a nosuid file system?)\n", prog);
			return TU_SKIP;
		}
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
