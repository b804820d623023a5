/* test_store_flood.c: an unprivileged user attacks the core store (issue 15
 * §4, §5). Two real users are created (an attacker and a victim, deleted at
 * exit even on failure); their crashes are real processes running as them,
 * handed to `lifeline coredump` through a pidfd as the kernel's %F does,
 * with the bytes of a core on stdin (no core_pattern change).
 *
 *  - flood: the attacker crashes again and again with big incompressible
 *    cores, or once with a core near MaxUse: the victim's and root's cores
 *    survive; the attacker's own oldest cores went, their records say why.
 *  - filesystem filled below KeepFree by the attacker's ordinary files (on a
 *    small tmpfs): new crashes are refused with the reason in a record kept,
 *    nobody's stored core is deleted.
 *  - bloated records: the attacker's process has 9,000 mappings and crashes
 *    30 times: each record stays small (the maps go to <id>.maps), `cores
 *    list` and the victim's helper cleaning the store stay under 50 MB (peak
 *    RSS, not checked under ASan, whose shadow memory counts in it); the
 *    cleanup takes the attacker's cores, then its oldest records, never the
 *    victim's core.
 *
 * Not root: skipped (exit 77), saying why. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "testutil.h"

#define MIB (1u << 20)
#define RSS_BOUND_KB (50 * 1024)

static uid_t att_uid, vic_uid;
static gid_t att_gid, vic_gid;

/* A process of uid that maps nmaps separate pages, then waits to "crash". */
static pid_t start_as(uid_t uid, gid_t gid, size_t nmaps)
{
	int p[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		size_t pg = 4096;
		char *m = nmaps ? mmap(NULL, 2 * nmaps * pg, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : NULL;

		close(p[0]);
		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
			_exit(126);
		if (m == MAP_FAILED)
			_exit(1);
		for (size_t i = 0; i < nmaps; i++)
			if (mprotect(m + 2 * i * pg, pg, PROT_READ) < 0)
				_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void stop(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* One crash of the live process pid (of uid) at time t, core from input. */
static void crash(const char *store, const char *cfg, pid_t pid, uid_t uid, int64_t t,
		  const char *comm, const char *input)
{
	th_fd3 = (int)syscall(SYS_pidfd_open, pid, 0);
	assert_true(th_fd3 >= 0);
	assert_int_equal(th_helper(store, cfg, pid, uid, t, comm, input, "3", "1"), 0);
	close(th_fd3);
	th_fd3 = -1;
}

/* The entry of `cores list --json` whose id has comm and uid. */
static json_object *entry_of(json_object *list, const char *comm, uid_t uid)
{
	char part[128];

	snprintf(part, sizeof(part), "core.%s.%u.", comm, (unsigned)uid);
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *e = json_object_array_get_idx(list, i);

		if (!strncmp(th_str(e, "id"), part, strlen(part)))
			return e;
	}
	return NULL;
}

static uint64_t dir_bytes(const char *dir)
{
	const char *argv[] = { "du", "-s", "-B1", dir, NULL };
	char *out = NULL;
	uint64_t n = 0;

	if (tu_run((char *const *)argv, NULL, &out, NULL) == 0 && out)
		n = strtoull(out, NULL, 10);
	free(out);
	return n;
}

/* The attacker's flood of big random cores evicts only the attacker's. */
static void test_flood(void **state)
{
	const char *store = th_path("flood-store"), *cfg = th_path("flood.conf");
	const char *small = th_path("flood-1m"), *big = th_path("flood-3m"), *huge = th_path("flood-7m");
	int64_t t0 = time(NULL) - 100;
	json_object *list, *e;
	pid_t vic, att, root;
	unsigned att_stored = 0, att_removed = 0;
	char uidtext[32];

	(void)state;
	th_write_text(cfg, "[Coredump]\nMaxUse=8M\nKeepFree=0\nRateLimitBurst=0\nRateLimitUserBurst=0\n");
	assert_int_equal(th_make_input(small, MIB, true), 0);
	assert_int_equal(th_make_input(big, 3 * MIB, true), 0);
	assert_int_equal(th_make_input(huge, 7 * MIB, true), 0);
	vic = start_as(vic_uid, vic_gid, 0);
	att = start_as(att_uid, att_gid, 0);
	root = start_as(0, 0, 0);
	crash(store, cfg, vic, vic_uid, t0, "victim", small);
	crash(store, cfg, root, 0, t0 + 1, "rootd", small);
	for (int i = 0; i < 5; i++)
		crash(store, cfg, att, att_uid, t0 + 2 + i, "flood", big);
	/* and one core that alone nearly fills MaxUse */
	crash(store, cfg, att, att_uid, t0 + 10, "hugeone", huge);
	stop(vic);
	stop(att);
	stop(root);

	list = th_list(store);
	assert_non_null(list);
	assert_int_equal(json_object_array_length(list), 8); /* every crash keeps its record */
	e = entry_of(list, "victim", vic_uid);
	assert_non_null(e);
	assert_true(th_bool(e, "stored"));
	e = entry_of(list, "rootd", 0);
	assert_non_null(e);
	assert_true(th_bool(e, "stored"));
	snprintf(uidtext, sizeof(uidtext), "uid %u", (unsigned)att_uid);
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		e = json_object_array_get_idx(list, i);
		if (th_int(e, "uid") != (int64_t)att_uid)
			continue;
		if (th_bool(e, "stored")) {
			att_stored++;
			continue;
		}
		att_removed++;
		assert_non_null(strstr(th_str(e, "reason"), "MaxUse"));
		assert_non_null(strstr(th_str(e, "reason"), uidtext));
	}
	assert_true(att_removed >= 4);
	assert_true(att_stored + att_removed == 6);
	assert_true(dir_bytes(store) <= 8 * MIB + 64 * 1024); /* + the log and the lock */
	json_object_put(list);
}

/* The attacker fills the filesystem below KeepFree with ordinary files: new
 * crashes are refused (records kept, reason stated), no core is deleted. */
static void test_keep_free(void **state)
{
	char mnt[512], store[600], cfg[600], fill[600], in[600];
	json_object *list, *e;
	pid_t vic, root, filler;
	int64_t t0 = time(NULL) - 100;
	int status;

	(void)state;
	snprintf(mnt, sizeof(mnt), "%s/kf-mnt", th_root);
	snprintf(store, sizeof(store), "%s/store", mnt);
	snprintf(fill, sizeof(fill), "%s/attacker", mnt);
	snprintf(cfg, sizeof(cfg), "%s/kf.conf", th_root);
	snprintf(in, sizeof(in), "%s/kf-in", th_root);
	assert_int_equal(mkdir(mnt, 0755), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=24m,mode=0755") < 0) {
		fprintf(stderr, "cannot mount a tmpfs (%s): skipped\n", strerror(errno));
		skip();
	}
	th_write_text(cfg, "[Coredump]\nKeepFree=6M\nMaxUse=infinity\nRateLimitBurst=0\n"
		      "RateLimitUserBurst=0\n");
	assert_int_equal(th_make_input(in, 2 * MIB, true), 0);
	vic = start_as(vic_uid, vic_gid, 0);
	root = start_as(0, 0, 0);
	crash(store, cfg, vic, vic_uid, t0, "victim", in);
	crash(store, cfg, root, 0, t0 + 1, "rootd", in);
	/* The attacker's own directory on the same filesystem, filled by the
	 * attacker until 3 MiB are left. */
	assert_int_equal(mkdir(fill, 0700), 0);
	assert_int_equal(chown(fill, att_uid, att_gid), 0);
	filler = fork();
	assert_true(filler >= 0);
	if (filler == 0) {
		char path[700], buf[65536];
		struct statvfs sv;
		int fd;

		memset(buf, 'A', sizeof(buf));
		if (setgroups(0, NULL) < 0 || setresgid(att_gid, att_gid, att_gid) < 0 ||
		    setresuid(att_uid, att_uid, att_uid) < 0)
			_exit(126);
		snprintf(path, sizeof(path), "%s/junk", fill);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0)
			_exit(1);
		while (statvfs(fill, &sv) == 0 && (uint64_t)sv.f_bavail * sv.f_frsize > 3 * MIB)
			if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
				_exit(1);
		_exit(close(fd) == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(filler, &status, 0), filler);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	crash(store, cfg, root, 0, t0 + 2, "rootd2", in);
	crash(store, cfg, vic, vic_uid, t0 + 3, "victim2", in);
	stop(vic);
	stop(root);

	list = th_list(store);
	assert_non_null(list);
	assert_int_equal(json_object_array_length(list), 4);
	assert_true(th_bool(entry_of(list, "victim", vic_uid), "stored"));
	assert_true(th_bool(entry_of(list, "rootd", 0), "stored"));
	e = entry_of(list, "rootd2", 0);
	assert_false(th_bool(e, "stored"));
	assert_non_null(strstr(th_str(e, "reason"), "keep-free"));
	e = entry_of(list, "victim2", vic_uid);
	assert_false(th_bool(e, "stored"));
	assert_non_null(strstr(th_str(e, "reason"), "keep-free"));
	json_object_put(list);
	assert_int_equal(umount2(mnt, MNT_DETACH), 0);
}

/* Peak RSS (KiB) of argv run with input on stdin (and th_fd3 as fd 3). */
static long run_peak_kb(char *const argv[], const char *input, int *status)
{
	struct rusage ru;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(input ? input : "/dev/null", O_RDONLY), devnull = open("/dev/null", O_WRONLY);

		if (fd < 0 || devnull < 0 || dup2(fd, 0) < 0 || dup2(devnull, 1) < 0)
			_exit(126);
		if (th_fd3 >= 0 && (th_fd3 == 3 ? fcntl(3, F_SETFD, 0) : dup2(th_fd3, 3)) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	assert_int_equal(wait4(pid, status, 0, &ru), pid);
	return ru.ru_maxrss;
}

/* 30 crashes of a process with 9,000 mappings: small records, bounded
 * memory for `cores list` and for the cleanup a victim's crash does. */
static void test_bloated_records(void **state)
{
	const char *store = th_path("bloat-store"), *cfg = th_path("bloat.conf"), *in = th_path("bloat-in");
	const char *vin = th_path("bloat-vin");
	char *list_argv[] = { (char *)tu_lifeline(), "cores", "list", "--store", (char *)store, "--json", NULL };
	int64_t t0 = time(NULL) - 1000;
	json_object *list, *e, *rec;
	long list_kb, helper_kb;
	pid_t att, vic;
	int status;

	(void)state;
	th_write_text(cfg, "[Coredump]\nMaxUse=infinity\nKeepFree=0\nRateLimitBurst=0\nRateLimitUserBurst=0\n");
	assert_int_equal(th_make_input(in, 256 * 1024, true), 0);
	assert_int_equal(th_make_input(vin, 2 * MIB, true), 0);
	att = start_as(att_uid, att_gid, 9000);
	for (int i = 0; i < 30; i++)
		crash(store, cfg, att, att_uid, t0 + i, "bloat", in);
	stop(att);
	list = th_list(store);
	assert_non_null(list);
	assert_int_equal(json_object_array_length(list), 30);
	for (size_t i = 0; i < 30; i++) {
		char path[1024];
		struct stat st;
		json_object *maps;

		e = json_object_array_get_idx(list, i);
		snprintf(path, sizeof(path), "%s/%s.json", store, th_str(e, "id"));
		assert_int_equal(stat(path, &st), 0);
		assert_true(st.st_size < 64 * 1024); /* 3.3 MB before: the maps are beside it */
		rec = th_record(store, th_str(e, "id"));
		assert_non_null(rec);
		assert_true(json_object_object_get_ex(rec, "maps", &maps) && maps);
		assert_true(json_object_array_length(maps) >= 8000);
		assert_int_equal(th_int(rec, "maps_count"), json_object_array_length(maps));
		json_object_put(rec);
	}
	json_object_put(list);

	list_kb = run_peak_kb(list_argv, NULL, &status);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* The victim's crash needs room: its helper cleans the attacker's
	 * entries up (MaxUse now below what the store holds). */
	th_write_text(cfg, "[Coredump]\nMaxUse=4M\nKeepFree=0\nRateLimitBurst=0\nRateLimitUserBurst=0\n");
	vic = start_as(vic_uid, vic_gid, 0);
	th_fd3 = (int)syscall(SYS_pidfd_open, vic, 0);
	assert_true(th_fd3 >= 0);
	{
		char spid[32], suid[32], stime[32];
		char *argv[] = { (char *)tu_lifeline(), "coredump", "--store", (char *)store, "--config",
				 (char *)cfg, spid, suid, suid, "11", stime, "18446744073709551615",
				 "testhost", "victim", "3", "1", NULL };

		snprintf(spid, sizeof(spid), "%d", (int)vic);
		snprintf(suid, sizeof(suid), "%u", (unsigned)vic_uid);
		snprintf(stime, sizeof(stime), "%lld", (long long)(t0 + 100));
		helper_kb = run_peak_kb(argv, vin, &status);
	}
	close(th_fd3);
	th_fd3 = -1;
	stop(vic);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The attacker's cores went first, then its oldest records (each
	 * with its 3 MB of maps: records count in MaxUse); the victim's core
	 * stays. */
	list = th_list(store);
	assert_non_null(list);
	assert_true(json_object_array_length(list) >= 2);
	assert_true(json_object_array_length(list) < 31);
	e = entry_of(list, "victim", vic_uid);
	assert_non_null(e);
	assert_true(th_bool(e, "stored"));
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		e = json_object_array_get_idx(list, i);
		if (th_int(e, "uid") == (int64_t)att_uid)
			assert_false(th_bool(e, "stored"));
	}
	json_object_put(list);
	assert_true(dir_bytes(store) <= 4 * MIB + 64 * 1024);
	{
		char path[1024], *log = NULL;
		size_t len = 0;
		FILE *f;

		snprintf(path, sizeof(path), "%s/coredump.log", store);
		f = fopen(path, "re");
		assert_non_null(f);
		assert_true(getdelim(&log, &len, '\0', f) > 0);
		fclose(f);
		assert_non_null(strstr(log, "removed: the store exceeded MaxUse"));
		free(log);
	}

	fprintf(stderr, "peak RSS: cores list over 30 bloated records %ld KiB, the victim's helper "
		"cleaning up %ld KiB (bound %d KiB)\n", list_kb, helper_kb, RSS_BOUND_KB);
	if (tu_sanitized()) {
		fprintf(stderr, "ASan build: the RSS bound is not checked (shadow memory counts in it)\n");
		return;
	}
	assert_true(list_kb < RSS_BOUND_KB);
	assert_true(helper_kb < RSS_BOUND_KB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_keep_free),
		cmocka_unit_test(test_bloated_records),
	};
	int r;

	if (geteuid() != 0) {
		fprintf(stderr, "skipped: creating the attacker and victim users and reading their processes "
			"as the helper does needs root\n");
		return TU_SKIP;
	}
	if ((r = tu_user_create("stattack", &att_uid, &att_gid, NULL, 0)) < 0 ||
	    (r = tu_user_create("stvictim", &vic_uid, &vic_gid, NULL, 0)) < 0) {
		fprintf(stderr, "skipped: cannot create a test user: %s\n", strerror(-r));
		return TU_SKIP;
	}
	assert_int_equal(tu_mkdtemp(th_root, sizeof(th_root)), 0);
	chmod(th_root, 0755);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
