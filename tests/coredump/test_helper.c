/* test_helper.c: `lifeline coredump` invoked directly, as the kernel would,
 * with crafted stdin and arguments (no core_pattern change): round trip,
 * garbage and truncated input, KeepFree and ENOSPC on a small tmpfs, a
 * planted symlink, a hostile %e, a 200-crash storm, ownership by the dump
 * mode, MaxUse gc (a fair share between uids), a record of an older version
 * too large to parse, bad configurations and bad IDs. Every check is on what a
 * user sees: the store's files and `lifeline cores ... --json`. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "testutil.h"


/* The single record of a store, checked to be the only one. */
static json_object *only_entry(const char *store, json_object **list)
{
	*list = th_list(store);
	assert_non_null(*list);
	assert_int_equal(json_object_array_length(*list), 1);
	return json_object_array_get_idx(*list, 0);
}

static void dump_to(const char *store, const char *id, const char *out, bool force, int want)
{
	const char *argv[] = { tu_lifeline(), "cores", "dump", id, "--store", store, "-o", out,
			       force ? "--force" : NULL, NULL };
	char *err = NULL;
	int st = tu_run((char *const *)argv, NULL, NULL, &err);

	if (!(WIFEXITED(st) && WEXITSTATUS(st) == want))
		fprintf(stderr, "cores dump: %s\n", err ? err : "");
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == want);
	free(err);
}

static void test_roundtrip(void **state)
{
	const char *store = th_path("rt-store"), *in = th_path("rt-in"), *out = th_path("rt-out");
	json_object *list, *e, *rec;
	struct stat st;

	(void)state;
	assert_int_equal(th_make_input(in, 3u << 20, false), 0);
	assert_int_equal(th_helper(store, NULL, 999999, 0, time(NULL), "roundtrip", in, NULL, NULL), 0);
	e = only_entry(store, &list);
	assert_true(th_bool(e, "stored"));
	assert_false(th_bool(e, "truncated"));
	assert_int_equal(th_int(e, "size"), 3u << 20);
	assert_true(th_int(e, "disk_size") < (3 << 20) / 2); /* it compressed */
	dump_to(store, th_str(e, "id"), out, false, 0);
	assert_int_equal(th_cmp_prefix(out, in, -1), 0);
	/* The record: the schema's keys, and what happened to /proc. */
	rec = th_record(store, th_str(e, "id"));
	assert_non_null(rec);
	assert_string_equal(th_str(rec, "id"), th_str(e, "id"));
	assert_string_equal(th_str(rec, "signal_name"), "SIGSEGV");
	assert_string_equal(th_str(rec, "hostname"), "testhost");
	assert_false(th_bool(rec, "pidfd"));
	assert_false(th_bool(rec, "dumpable")); /* /proc unreadable: root only */
	assert_non_null(th_str(rec, "proc_error"));
	assert_string_equal(th_str(rec, "core.format"), "not an ELF core");
	assert_true(th_int(rec, "core.compressed_size") > 0);
	/* A second dump onto the same file needs --force. */
	dump_to(store, th_str(e, "id"), out, false, 1);
	dump_to(store, th_str(e, "id"), out, true, 0);
	assert_int_equal(stat(store, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0755);
	json_object_put(rec);
	json_object_put(list);
}

/* A live process read through /proc: exe, cmdline, maps with build-ids. */
static void test_live_process(void **state)
{
	const char *store = th_path("live-store"), *in = th_path("live-in");
	json_object *list, *e, *rec, *maps;
	pid_t child;
	int status;
	bool bid = false;

	(void)state;
	assert_int_equal(th_make_input(in, 64 * 1024, false), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	usleep(100 * 1000);
	/* As the kernel does: %F, a pidfd on fd 3 (a live process that is not
	 * dumping is refused without one: its pid could have been reused). */
	th_fd3 = (int)syscall(SYS_pidfd_open, child, 0);
	assert_true(th_fd3 >= 0);
	assert_int_equal(th_helper(store, NULL, child, 0, time(NULL), "sleep", in, "3", NULL), 0);
	close(th_fd3);
	th_fd3 = -1;
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	e = only_entry(store, &list);
	rec = th_record(store, th_str(e, "id"));
	assert_non_null(rec);
	assert_null(th_str(rec, "proc_error"));
	assert_string_equal(th_str(rec, "exe"), "/usr/bin/sleep");
	assert_true(json_object_object_get_ex(rec, "maps", &maps) && maps);
	assert_true(json_object_array_length(maps) > 5);
	for (size_t i = 0; i < json_object_array_length(maps); i++)
		if (th_str(json_object_array_get_idx(maps, i), "file.build_id"))
			bid = true;
	assert_true(bid);
	assert_true(th_int(rec, "rlimits.nofile.soft") > 0);
	json_object_put(rec);
	/* `cores info --json` gives the record with its maps, read from the
	 * side file (what the core analysis gets too). */
	{
		int st;
		json_object *info = th_cores_json(store, &st, "info", th_str(e, "id")), *m, *im;

		assert_non_null(info);
		assert_true(json_object_object_get_ex(info, "metadata", &m));
		assert_true(json_object_object_get_ex(m, "maps", &im) && im);
		assert_true(json_object_array_length(im) > 5);
		assert_int_equal(json_object_array_length(im), th_int(m, "maps_count"));
		json_object_put(info);
	}
	json_object_put(list);
}

/* An ELF core header promising 8 MiB, followed by only 1 MiB. */
/* The start of an x86-64 little-endian ELF core header (the rest zero). */
static void core_ehdr(unsigned char *hdr, size_t size)
{
	memset(hdr, 0, size);
	memcpy(hdr, "\177ELF", 4);
	hdr[4] = 2;                /* ELFCLASS64 */
	hdr[5] = 1;                /* little endian */
	hdr[6] = 1;
	hdr[16] = 4;               /* ET_CORE */
	hdr[18] = 62;              /* x86-64 */
}

static void test_truncated_elf(void **state)
{
	const char *store = th_path("tr-store"), *in = th_path("tr-in");
	unsigned char hdr[64 + 2 * 56];
	json_object *list, *e, *rec;
	FILE *f;

	(void)state;
	core_ehdr(hdr, sizeof(hdr));
	hdr[32] = 64;              /* e_phoff */
	hdr[52] = 64;              /* e_ehsize */
	hdr[54] = 56;              /* e_phentsize */
	hdr[56] = 2;               /* e_phnum */
	/* phdr 1: PT_NOTE at 0x1000, 0x1000 bytes; phdr 2: PT_LOAD at 0x2000, 8 MiB */
	hdr[64] = 4;
	hdr[64 + 9] = 0x10;       /* p_offset 0x1000 */
	hdr[64 + 33] = 0x10;      /* p_filesz 0x1000 */
	hdr[120] = 1;
	hdr[120 + 9] = 0x20;      /* p_offset 0x2000 */
	hdr[120 + 34] = 0x80;     /* p_filesz 0x800000 */
	assert_int_equal(th_make_input(in, 1u << 20, false), 0);
	f = fopen(in, "r+e");
	assert_non_null(f);
	fwrite(hdr, 1, sizeof(hdr), f);
	fclose(f);
	assert_int_equal(th_helper(store, NULL, 999998, 0, time(NULL), "truncated", in, NULL, NULL), 0);
	e = only_entry(store, &list);
	assert_true(th_bool(e, "stored"));
	assert_true(th_bool(e, "truncated"));
	rec = th_record(store, th_str(e, "id"));
	assert_string_equal(th_str(rec, "core.format"), "ELF core");
	assert_int_equal(th_int(rec, "core.expected_size"), 0x802000);
	assert_int_equal(th_int(rec, "core.size"), 1u << 20);
	assert_non_null(strstr(th_str(rec, "core.truncated_reason"), "input ended early"));
	json_object_put(rec);
	json_object_put(list);
}

/* Empty stdin: still a record, with an empty (valid) core. */
static void test_empty_input(void **state)
{
	const char *store = th_path("empty-store");
	json_object *list, *e;

	(void)state;
	assert_int_equal(th_helper(store, NULL, 999997, 0, time(NULL), "empty", NULL, NULL, NULL), 0);
	e = only_entry(store, &list);
	assert_int_equal(th_int(e, "size"), 0);
	assert_string_equal(th_str(e, "reason") ? th_str(e, "reason") : "", "");
	json_object_put(list);
}

static int mount_small_tmpfs(const char *dir)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (mount("tmpfs", dir, "tmpfs", 0, "size=8m,mode=0755") < 0)
		return -errno;
	return 0;
}

static void tmpfs_case(const char *tag, const char *keep_free, const char *want_reason)
{
	char mnt[512], store[600], cfg[600], in[600], out[600];
	json_object *list, *e, *rec;
	int64_t stored;

	snprintf(mnt, sizeof(mnt), "%s/%s-mnt", th_root, tag);
	snprintf(store, sizeof(store), "%s/store", mnt);
	snprintf(cfg, sizeof(cfg), "%s/%s.conf", th_root, tag);
	snprintf(in, sizeof(in), "%s/%s-in", th_root, tag);
	snprintf(out, sizeof(out), "%s/%s-out", th_root, tag);
	if (mount_small_tmpfs(mnt) < 0) {
		fprintf(stderr, "cannot mount a tmpfs (%s): skipped\n", strerror(errno));
		skip();
	}
	{
		char text[256];

		snprintf(text, sizeof(text), "[Coredump]\nKeepFree=%s\nMaxUse=infinity\n", keep_free);
		th_write_text(cfg, text);
	}
	assert_int_equal(th_make_input(in, 24u << 20, true), 0);
	assert_int_equal(th_helper(store, cfg, 999996, 0, time(NULL), tag, in, NULL, NULL), 0);
	e = only_entry(store, &list);
	assert_true(th_bool(e, "stored"));
	assert_true(th_bool(e, "truncated"));
	assert_non_null(strstr(th_str(e, "reason"), want_reason));
	rec = th_record(store, th_str(e, "id"));
	assert_non_null(rec);
	stored = th_int(rec, "core.stored_size");
	assert_true(stored > 0 && stored < (24 << 20));
	/* The partial core decompresses to exactly the first bytes of the input. */
	dump_to(store, th_str(e, "id"), out, false, 0);
	assert_int_equal(th_cmp_prefix(out, in, stored), 0);
	json_object_put(rec);
	json_object_put(list);
	assert_int_equal(umount2(mnt, MNT_DETACH), 0);
}

static void test_tmpfs_keep_free(void **state)
{
	(void)state;
	tmpfs_case("keepfree", "3M", "keep-free");
}

static void test_tmpfs_enospc(void **state)
{
	(void)state;
	tmpfs_case("enospc", "0", "ENOSPC");
}

/* KeepFree larger than the filesystem: nothing stored, the record says why. */
static void test_tmpfs_no_room(void **state)
{
	char mnt[512], store[600], cfg[600], in[600];
	json_object *list, *e;

	(void)state;
	snprintf(mnt, sizeof(mnt), "%s/noroom-mnt", th_root);
	snprintf(store, sizeof(store), "%s/store", mnt);
	snprintf(cfg, sizeof(cfg), "%s/noroom.conf", th_root);
	snprintf(in, sizeof(in), "%s/noroom-in", th_root);
	if (mount_small_tmpfs(mnt) < 0)
		skip();
	th_write_text(cfg, "[Coredump]\nKeepFree=64M\n");
	assert_int_equal(th_make_input(in, 1u << 20, true), 0);
	assert_int_equal(th_helper(store, cfg, 999995, 0, time(NULL), "noroom", in, NULL, NULL), 0);
	e = only_entry(store, &list);
	assert_false(th_bool(e, "stored"));
	assert_non_null(strstr(th_str(e, "reason"), "keep-free"));
	json_object_put(list);
	assert_int_equal(umount2(mnt, MNT_DETACH), 0);
}

static void test_symlink_planted(void **state)
{
	const char *store = th_path("sl-store"), *in = th_path("sl-in"), *victim = th_path("sl-victim");
	char boot[64], name[1024];
	int64_t t = time(NULL);
	json_object *list, *e;
	struct stat st;
	const char *exts[] = { ".zst", ".json" };

	(void)state;
	assert_int_equal(th_make_input(in, 256 * 1024, false), 0);
	assert_int_equal(mkdir(store, 0755), 0);
	th_boot_tag(boot, sizeof(boot));
	for (int i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "%s/core.planted.0.%s.999994.%" PRId64 "%s", store, boot, t, exts[i]);
		assert_int_equal(symlink(victim, name), 0);
	}
	assert_int_equal(th_helper(store, NULL, 999994, 0, t, "planted", in, NULL, NULL), 0);
	/* Nothing was written through the links, which are still links. */
	assert_int_equal(lstat(victim, &st), -1);
	for (int i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "%s/core.planted.0.%s.999994.%" PRId64 "%s", store, boot, t, exts[i]);
		assert_int_equal(lstat(name, &st), 0);
		assert_true(S_ISLNK(st.st_mode));
	}
	/* The crash went to another id, complete. */
	e = only_entry(store, &list);
	assert_true(th_bool(e, "stored"));
	assert_non_null(strstr(th_str(e, "id"), ".999994."));
	assert_int_equal(th_int(e, "size"), 256 * 1024);
	json_object_put(list);
}

static void test_hostile_comm(void **state)
{
	const char *store = th_path("comm-store"), *in = th_path("comm-in");
	const char *comm = "../../etc/x\n..\x01/y";
	json_object *list, *e, *rec;
	struct dirent *de;
	DIR *d;
	int files = 0;

	(void)state;
	assert_int_equal(th_make_input(in, 4096, false), 0);
	assert_int_equal(th_helper(store, NULL, 999993, 0, time(NULL), comm, in, NULL, NULL), 0);
	e = only_entry(store, &list);
	/* The name: safe characters only, no leading dot, inside the store. */
	for (const char *p = th_str(e, "id"); *p; p++)
		assert_non_null(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *p));
	assert_true(!strncmp(th_str(e, "id"), "core.", 5));
	assert_null(strchr(th_str(e, "id") + 5, '/'));
	d = opendir(store);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			files++;
	closedir(d);
	assert_int_equal(files, 3); /* .zst, .json, coredump.log */
	/* The record keeps the text as it was (JSON-escaped). */
	rec = th_record(store, th_str(e, "id"));
	assert_string_equal(th_str(rec, "comm"), comm);
	json_object_put(rec);
	json_object_put(list);
}

static void test_storm(void **state)
{
	const char *store = th_path("storm-store"), *in = th_path("storm-in"), *cfg = th_path("storm.conf");
	int64_t t = time(NULL);
	json_object *list;
	int stored = 0, limited = 0;

	(void)state;
	th_write_text(cfg, "[Coredump]\nRateLimitBurst=10\nRateLimitIntervalSec=5min\n");
	assert_int_equal(th_make_input(in, 8192, false), 0);
	/* 200 crashes, 16 helpers at a time (as core_pipe_limit=16 allows). */
	for (int i = 0; i < 200; i += 16) {
		pid_t kids[16];
		int n = 0, status;

		for (int k = i; k < i + 16 && k < 200; k++) {
			kids[n] = fork();
			assert_true(kids[n] >= 0);
			if (kids[n] == 0)
				_exit(th_helper(store, cfg, 200000 + k, 0, t, "stormy", in, NULL, NULL));
			n++;
		}
		for (int k = 0; k < n; k++) {
			assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
			assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		}
	}
	list = th_list(store);
	assert_non_null(list);
	assert_int_equal(json_object_array_length(list), 200);
	for (size_t i = 0; i < 200; i++) {
		json_object *e = json_object_array_get_idx(list, i);

		if (th_bool(e, "stored"))
			stored++;
		else if (th_str(e, "reason") && strstr(th_str(e, "reason"), "rate-limit"))
			limited++;
	}
	assert_int_equal(stored, 10);
	assert_int_equal(limited, 190);
	json_object_put(list);
}

/* dump mode 2 (set-uid, suid_dumpable=2): root only; a plain process of
 * uid 1000 with dump mode 1: readable (only readable) by uid 1000. */
static void test_ownership(void **state)
{
	const char *store = th_path("own-store"), *in = th_path("own-in");
	json_object *list;
	char path[1024];
	struct stat st;
	pid_t child;
	int status;

	(void)state;
	assert_int_equal(th_make_input(in, 4096, false), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		if (setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0)
			_exit(126);
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	usleep(100 * 1000);
	th_fd3 = (int)syscall(SYS_pidfd_open, child, 0);
	assert_true(th_fd3 >= 0);
	assert_int_equal(th_helper(store, NULL, child, 1000, time(NULL), "userproc", in, "3", "1"), 0);
	assert_int_equal(th_helper(store, NULL, child, 1000, time(NULL), "suidproc", in, "3", "2"), 0);
	close(th_fd3);
	th_fd3 = -1;
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	list = th_list(store);
	assert_non_null(list);
	assert_int_equal(json_object_array_length(list), 2);
	for (size_t i = 0; i < 2; i++) {
		json_object *e = json_object_array_get_idx(list, i);
		bool user = strstr(th_str(e, "id"), "userproc") != NULL;
		const char *exts[] = { ".zst", ".json" };

		for (int k = 0; k < 2; k++) {
			snprintf(path, sizeof(path), "%s/%s%s", store, th_str(e, "id"), exts[k]);
			assert_int_equal(stat(path, &st), 0);
			/* Root's files in every case (the user must not be able
			 * to chmod, rewrite or grow them); read access for the
			 * user through an ACL entry only. */
			assert_int_equal(st.st_uid, 0);
			assert_int_equal(st.st_gid, 0);
			assert_int_equal(st.st_mode & 0777, user ? 0640 : 0600);
			assert_true((getxattr(path, "system.posix_acl_access", NULL, 0) > 0) == user);
		}
	}
	json_object_put(list);

	/* As uid 1000: its own core is listed and dumped, the set-uid one is not. */
	{
		char out[600], cmd[2048];
		int p[2];
		pid_t kid;
		char buf[65536];
		ssize_t n, got = 0;
		json_object *mine;

		snprintf(out, sizeof(out), "%s/own-out", th_root);
		assert_int_equal(pipe(p), 0);
		kid = fork();
		if (kid == 0) {
			dup2(p[1], 1);
			close(p[0]);
			if (setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0)
				_exit(126);
			snprintf(cmd, sizeof(cmd), "%s cores list --json --store %s && %s cores dump --store %s "
				 "--exe userproc -o - > /dev/null && ! %s cores dump --store %s --exe suidproc "
				 "-o - > /dev/null 2>&1 && for f in %s/core.userproc.*; do "
				 "! (: >> \"$f\") 2>/dev/null && ! chmod 666 \"$f\" 2>/dev/null || exit 9; done",
				 tu_lifeline(), store, tu_lifeline(), store, tu_lifeline(), store, store);
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
		close(p[1]);
		while ((n = read(p[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
			got += n;
		buf[got] = '\0';
		close(p[0]);
		assert_int_equal(waitpid(kid, &status, 0), kid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		mine = json_tokener_parse(buf);
		assert_non_null(mine);
		assert_int_equal(json_object_array_length(mine), 1);
		assert_non_null(strstr(th_str(json_object_array_get_idx(mine, 0), "id"), "userproc"));
		json_object_put(mine);
	}
}

/* Write text into cfg, run `cores gc` with it (it must succeed), and return
 * the list after it. */
static json_object *gc_with(const char *store, const char *cfg, const char *text)
{
	const char *argv[] = { tu_lifeline(), "cores", "gc", "--store", store, "--config", cfg, NULL };
	int st;

	th_write_text(cfg, text);
	st = tu_run((char *const *)argv, NULL, NULL, NULL);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return th_list(store);
}

/* Entries [from, n) of list: how many kept their core; each kept one is at
 * index >= newest_from, each removed one's reason holds why. */
static int kept_cores(json_object *list, size_t from, size_t newest_from, const char *why)
{
	int kept = 0;

	for (size_t i = from; i < json_object_array_length(list); i++) {
		json_object *e = json_object_array_get_idx(list, i);

		if (th_bool(e, "stored")) {
			kept++;
			assert_true(i >= newest_from);
		} else {
			assert_non_null(strstr(th_str(e, "reason"), why));
		}
	}
	return kept;
}

/* n crashes of uid (pids pid0.., times t0..), each with 1 MiB of random
 * bytes, no rate limit. */
static void crashes_of(const char *store, const char *cfg, const char *in, uid_t uid, pid_t pid0,
		       int64_t t0, const char *comm, int n)
{
	th_write_text(cfg, "[Coredump]\nRateLimitBurst=0\nRateLimitUserBurst=0\n");
	if (access(in, F_OK) < 0)
		assert_int_equal(th_make_input(in, 1u << 20, true), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(th_helper(store, cfg, pid0 + i, uid, t0 + i, comm, in, NULL, NULL), 0);
}

static void test_gc_max_use(void **state)
{
	const char *store = th_path("gc-store"), *in = th_path("gc-in"), *cfg = th_path("gc.conf");
	json_object *list;

	(void)state;
	crashes_of(store, cfg, in, 0, 300000, 1000000, "gcme", 5);
	list = gc_with(store, cfg, "[Coredump]\nMaxUse=2500K\nKeepFree=0\n");
	assert_int_equal(json_object_array_length(list), 5);
	assert_int_equal(kept_cores(list, 0, 3, "MaxUse"), 2); /* the newest survive */
	json_object_put(list);
	/* MaxAgeSec: these crashes are from 1970: every record goes. */
	list = gc_with(store, cfg, "[Coredump]\nMaxAgeSec=30d\n");
	assert_int_equal(json_object_array_length(list), 0);
	json_object_put(list);
}

/* `cores gc` shares MaxUse fairly: the uid holding the most bytes loses its
 * oldest cores first, another uid's single core survives even though it is
 * the oldest of all. */
static void test_gc_fair_share(void **state)
{
	const char *store = th_path("fair-store"), *in = th_path("fair-in"), *cfg = th_path("fair.conf");
	json_object *list;

	(void)state;
	crashes_of(store, cfg, in, 4242, 310000, 1000000, "small", 1);
	crashes_of(store, cfg, in, 4343, 310001, 1000001, "big", 4);
	list = gc_with(store, cfg, "[Coredump]\nMaxUse=3500K\nKeepFree=0\n");
	assert_int_equal(json_object_array_length(list), 5);
	assert_int_equal(th_int(json_object_array_get_idx(list, 0), "uid"), 4242);
	assert_true(th_bool(json_object_array_get_idx(list, 0), "stored")); /* the oldest, not the biggest user's */
	assert_int_equal(kept_cores(list, 1, 3, "uid 4343 held the most"), 2);
	json_object_put(list);
}

/* A record of an older version, too large to parse (inline maps): listed
 * from its names, removable; never parsed by list or gc. */
static void test_oversized_record(void **state)
{
	const char *store = th_path("big-store"), *in = th_path("big-in");
	const char *rm[] = { tu_lifeline(), "cores", "rm", NULL, "--store", store, NULL };
	char path[1024], id[256];
	json_object *list, *e;
	FILE *f;
	int st;

	(void)state;
	assert_int_equal(th_make_input(in, 4096, false), 0);
	assert_int_equal(th_helper(store, NULL, 320000, 0, time(NULL), "oldrec", in, NULL, NULL), 0);
	list = th_list(store);
	snprintf(id, sizeof(id), "%s", th_str(json_object_array_get_idx(list, 0), "id"));
	json_object_put(list);
	/* 3 MiB of inline maps, as records of 9,000 mappings used to be */
	snprintf(path, sizeof(path), "%s/%s.json", store, id);
	f = fopen(path, "we");
	assert_non_null(f);
	fprintf(f, "{\"id\": \"%s\", \"uid\": 0, \"core\": {\"file\": \"%s.zst\", \"stored\": true}, "
		"\"maps\": [", id, id);
	for (int i = 0; i < 30000; i++)
		fprintf(f, "%s{\"start\": \"0x%x000\", \"end\": \"0x%x000\", \"path\": \"/usr/lib/"
			"x86_64-linux-gnu/libpadding-for-size.so\"}", i ? "," : "", i, i + 1);
	fprintf(f, "]}\n");
	assert_int_equal(fclose(f), 0);
	list = th_list(store);
	assert_non_null(list);
	assert_int_equal(json_object_array_length(list), 1);
	e = json_object_array_get_idx(list, 0);
	assert_string_equal(th_str(e, "id"), id);
	assert_true(th_bool(e, "stored")); /* its core, found by name */
	json_object_put(list);
	rm[3] = id;
	st = tu_run((char *const *)rm, NULL, NULL, NULL);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/%s.zst", store, id);
	assert_int_equal(access(path, F_OK), -1);
	list = th_list(store);
	assert_int_equal(json_object_array_length(list), 0);
	json_object_put(list);
}

static void test_bad_config_and_ids(void **state)
{
	const char *store = th_path("bad-store"), *in = th_path("bad-in"), *cfg = th_path("bad.conf");
	const char *gc[] = { tu_lifeline(), "cores", "gc", "--store", store, "--config", cfg, NULL };
	const char *info[] = { tu_lifeline(), "cores", "info", "core.nosuch", "--store", store, NULL };
	char *err = NULL;
	json_object *list;
	int st;

	(void)state;
	th_write_text(cfg, "[Coredump]\nMaxUse=lots\n");
	assert_int_equal(th_make_input(in, 4096, false), 0);
	/* The helper never drops a core over a bad configuration. */
	assert_int_equal(th_helper(store, cfg, 999992, 0, time(NULL), "badcfg", in, NULL, NULL), 0);
	list = th_list(store);
	assert_int_equal(json_object_array_length(list), 1);
	assert_true(th_bool(json_object_array_get_idx(list, 0), "stored"));
	json_object_put(list);
	st = tu_run((char *const *)gc, NULL, NULL, &err);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	assert_non_null(strstr(err, "line 2"));
	assert_non_null(strstr(err, "MaxUse"));
	free(err);
	/* The shipped example configuration is valid. */
	{
		const char *ex[] = { tu_lifeline(), "cores", "gc", "--store", store, "--config",
				     tu_source_path("docs/coredump.conf.example"), NULL };

		st = tu_run((char *const *)ex, NULL, NULL, NULL);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	st = tu_run((char *const *)info, NULL, NULL, &err);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	assert_non_null(strstr(err, "lifeline cores list"));
	free(err);
	/* Wrong arguments from core_pattern: exit 2, and said in the log. */
	{
		const char *argv[] = { tu_lifeline(), "coredump", "--store", store, "notapid", NULL };
		char *log = NULL;
		size_t len = 0;
		FILE *f;

		st = tu_run((char *const *)argv, "", NULL, NULL);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
		f = fopen(th_path("bad-store/coredump.log"), "re");
		assert_non_null(f);
		assert_true(getdelim(&log, &len, '\0', f) > 0);
		fclose(f);
		assert_non_null(strstr(log, "bad arguments"));
		free(log);
	}
}


/* cores list filters, ID resolution (prefix, ambiguous, latest), rm. */
static json_object *cores(const char *store, int *status, const char *a1, const char *a2,
			  const char *a3, const char *a4)
{
	const char *argv[] = { tu_lifeline(), "cores", a1, "--store", store, "--json", a2, a3, a4, NULL };
	char *out = NULL;
	int st = tu_run((char *const *)argv, NULL, &out, NULL);
	json_object *j = out ? json_tokener_parse(out) : NULL;

	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	free(out);
	return j;
}

static void test_filters_and_rm(void **state)
{
	const char *store = th_path("f-store"), *in = th_path("f-in");
	json_object *j;
	char since[32], id[300];
	int st;

	(void)state;
	assert_int_equal(th_make_input(in, 4096, false), 0);
	assert_int_equal(th_helper(store, NULL, 400001, 0, 1700000000, "alpha", in, NULL, NULL), 0);
	assert_int_equal(th_helper(store, NULL, 400002, 0, 1700000100, "beta", in, NULL, NULL), 0);
	assert_int_equal(th_helper(store, NULL, 400003, 0, 1700000200, "beta", in, NULL, NULL), 0);

	j = cores(store, &st, "list", "--exe", "beta", NULL);
	assert_int_equal(st, 0);
	assert_int_equal(json_object_array_length(j), 2);
	json_object_put(j);
	j = cores(store, &st, "list", "--pid", "400001", NULL);
	assert_int_equal(json_object_array_length(j), 1);
	json_object_put(j);
	snprintf(since, sizeof(since), "%d", 1700000050);
	j = cores(store, &st, "list", "--since", since, NULL);
	assert_int_equal(json_object_array_length(j), 2);
	json_object_put(j);
	j = cores(store, &st, "list", "--until", "2023-11-14", NULL);
	assert_int_equal(st, 0);
	json_object_put(j);
	j = cores(store, &st, "list", "--since", "yesterday-ish", NULL);
	assert_int_equal(st, 2); /* a bad time is a usage error */
	json_object_put(j);

	/* No ID: the latest passing the filters. */
	j = cores(store, &st, "info", "--exe", "beta", NULL);
	assert_int_equal(th_int(j, "metadata.pid"), 400003);
	json_object_put(j);
	/* An ambiguous prefix is refused; a unique one works. */
	j = cores(store, &st, "info", "core.beta", NULL, NULL);
	assert_int_equal(st, 1);
	json_object_put(j);
	j = cores(store, &st, "info", "core.alpha", NULL, NULL);
	assert_int_equal(th_int(j, "metadata.pid"), 400001);
	snprintf(id, sizeof(id), "%s", th_str(j, "id"));
	json_object_put(j);
	{
		const char *rm[] = { tu_lifeline(), "cores", "rm", "core.alpha", "--store", store, NULL };

		st = tu_run((char *const *)rm, NULL, NULL, NULL);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	j = th_list(store);
	assert_int_equal(json_object_array_length(j), 2);
	json_object_put(j);
	{
		char path[1024];
		struct stat sb;

		snprintf(path, sizeof(path), "%s/%s.zst", store, id);
		assert_int_equal(stat(path, &sb), -1);
	}
}

/* Size limit: stored truncated at ExternalSizeMax; Storage=none and
 * RLIMIT_CORE 0: records only. */
static void test_limits(void **state)
{
	const char *store = th_path("lim-store"), *in = th_path("lim-in"), *out = th_path("lim-out");
	const char *cfg = th_path("lim.conf"), *none = th_path("none.conf");
	json_object *list, *rec;
	int seen = 0;

	(void)state;
	th_write_text(cfg, "[Coredump]\nExternalSizeMax=1M\n");
	th_write_text(none, "[Coredump]\nStorage=none\n");
	assert_int_equal(th_make_input(in, 3u << 20, false), 0);
	assert_int_equal(th_helper(store, cfg, 500001, 0, 1700000001, "big", in, NULL, NULL), 0);
	assert_int_equal(th_helper(store, none, 500002, 0, 1700000002, "nostore", in, NULL, NULL), 0);
	th_core_limit = "0";
	assert_int_equal(th_helper(store, NULL, 500003, 0, 1700000003, "nolimit", in, NULL, NULL), 0);
	th_core_limit = NULL;
	list = th_list(store);
	assert_int_equal(json_object_array_length(list), 3);
	for (size_t i = 0; i < 3; i++) {
		json_object *e = json_object_array_get_idx(list, i);
		const char *id = th_str(e, "id"), *why = th_str(e, "reason");

		assert_non_null(why);
		if (strstr(id, ".big.")) {
			assert_true(th_bool(e, "stored") && th_bool(e, "truncated"));
			assert_non_null(strstr(why, "too-large"));
			rec = th_record(store, id);
			assert_int_equal(th_int(rec, "core.stored_size"), 1u << 20);
			json_object_put(rec);
			dump_to(store, id, out, false, 0);
			assert_int_equal(th_cmp_prefix(out, in, 1 << 20), 0);
			seen |= 1;
		} else if (strstr(id, ".nostore.")) {
			assert_false(th_bool(e, "stored"));
			assert_non_null(strstr(why, "storage-none"));
			seen |= 2;
		} else {
			assert_false(th_bool(e, "stored"));
			assert_non_null(strstr(why, "rlimit-core"));
			seen |= 4;
		}
	}
	assert_int_equal(seen, 7);
	json_object_put(list);
}

/* %F: a pidfd of the named process is used (pidfd: true); a pidfd of another
 * process is refused and nothing is read from /proc. Without %F, a process
 * that started after %t is a reused pid: refused too. */
static void test_pidfd_checks(void **state)
{
	const char *store = th_path("pfd-store"), *in = th_path("pfd-in");
	json_object *list;
	pid_t a, b;
	int fd, status;

	(void)state;
	assert_int_equal(th_make_input(in, 4096, false), 0);
	a = fork();
	if (a == 0) {
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	b = fork();
	if (b == 0) {
		execl("/bin/sleep", "sleep", "31", (char *)NULL);
		_exit(127);
	}
	usleep(100 * 1000);
	fd = (int)syscall(SYS_pidfd_open, a, 0);
	assert_true(fd >= 0);
	th_fd3 = fd;
	assert_int_equal(th_helper(store, NULL, a, 0, time(NULL), "rightpid", in, "3", "1"), 0);
	assert_int_equal(th_helper(store, NULL, b, 0, time(NULL), "wrongpid", in, "3", "1"), 0);
	th_fd3 = -1;
	close(fd);
	assert_int_equal(th_helper(store, NULL, b, 0, 1000, "reused", in, NULL, NULL), 0);
	kill(a, SIGKILL);
	kill(b, SIGKILL);
	waitpid(a, &status, 0);
	waitpid(b, &status, 0);
	list = th_list(store);
	assert_int_equal(json_object_array_length(list), 3);
	for (size_t i = 0; i < 3; i++) {
		const char *id = th_str(json_object_array_get_idx(list, i), "id");
		json_object *rec = th_record(store, id);

		if (strstr(id, ".rightpid.")) {
			assert_true(th_bool(rec, "pidfd"));
			assert_null(th_str(rec, "proc_error"));
			assert_string_equal(th_str(rec, "exe"), "/usr/bin/sleep");
		} else if (strstr(id, ".wrongpid.")) {
			assert_false(th_bool(rec, "pidfd"));
			assert_non_null(strstr(th_str(rec, "proc_error"), "pidfd names pid"));
			assert_null(th_str(rec, "exe"));
			assert_false(th_bool(rec, "dumpable"));
		} else {
			assert_non_null(strstr(th_str(rec, "proc_error"), "reused"));
			assert_null(th_str(rec, "exe"));
		}
		assert_true(th_bool(json_object_array_get_idx(list, i), "stored"));
		json_object_put(rec);
	}
	json_object_put(list);
}

/* A store writable by others is refused (by the helper and by cores). */
static void test_unsafe_store(void **state)
{
	const char *store = th_path("unsafe-store"), *in = th_path("unsafe-in");
	const char *list[] = { tu_lifeline(), "cores", "list", "--store", store, NULL };
	char *err = NULL;
	int st;

	(void)state;
	assert_int_equal(th_make_input(in, 4096, false), 0);
	assert_int_equal(mkdir(store, 0777), 0);
	assert_int_equal(chmod(store, 0777), 0);
	assert_int_equal(th_helper(store, NULL, 999991, 0, time(NULL), "unsafe", in, NULL, NULL), 1);
	st = tu_run((char *const *)list, NULL, NULL, &err);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	assert_non_null(strstr(err, store));
	free(err);
	assert_int_equal(rmdir(store), 0); /* nothing was written into it */
}

/* Bounded memory: 256 MiB through a pipe, peak RSS of the helper < 32 MiB
 * (plain builds only: ASan's shadow memory inflates RSS). */
static void test_bounded_memory(void **state)
{
	const char *store = th_path("mem-store"), *chunk = th_path("mem-chunk");
	char *buf = malloc(4u << 20);
	struct rusage ru;
	int p[2], status, fd;
	pid_t writer, helper;

	(void)state;
	if (tu_sanitized()) {
		free(buf);
		skip();
	}
	assert_non_null(buf);
	assert_int_equal(th_make_input(chunk, 4u << 20, false), 0);
	fd = open(chunk, O_RDONLY);
	assert_int_equal(read(fd, buf, 4u << 20), 4 << 20);
	close(fd);
	assert_int_equal(pipe(p), 0);
	writer = fork();
	if (writer == 0) {
		close(p[0]);
		for (int i = 0; i < 64; i++) {
			buf[i] ^= 1; /* no two chunks alike */
			if (write(p[1], buf, 4u << 20) != 4 << 20)
				_exit(1);
		}
		_exit(0);
	}
	close(p[1]);
	helper = fork();
	if (helper == 0) {
		char t[32];

		dup2(p[0], 0);
		snprintf(t, sizeof(t), "%ld", (long)time(NULL));
		execl(tu_lifeline(), tu_lifeline(), "coredump", "--store", store, "999990", "0", "0", "11",
		      t, "18446744073709551615", "host", "memtest", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	assert_int_equal(wait4(helper, &status, 0, &ru), helper);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	waitpid(writer, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fprintf(stderr, "helper peak RSS for 256 MiB: %ld KiB\n", ru.ru_maxrss);
	assert_true(ru.ru_maxrss < 32 * 1024);
	{
		json_object *list, *e = only_entry(store, &list);

		assert_int_equal(th_int(e, "size"), 256 << 20);
		assert_false(th_bool(e, "truncated"));
		json_object_put(list);
	}
	free(buf);
}

/* A failed tmpfs case must not leave its mount behind. */
static int unmount_all(void **state)
{
	const char *tags[] = { "keepfree", "enospc", "noroom" };
	char mnt[512];

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		snprintf(mnt, sizeof(mnt), "%s/%s-mnt", th_root, tags[i]);
		umount2(mnt, MNT_DETACH);
	}
	return 0;
}

/* Two findings of the fuzzing campaign (fuzz/CAMPAIGN.md), as a user meets
 * them: a core whose e_phoff wraps around 2^64 (the helper's ELF check read
 * before its buffer: an ASan report in build-asan) is stored and described,
 * and `cores info` on a record whose cmdline is not an array (json-c
 * asserted: SIGABRT) prints the entry and exits normally. */
static void test_fuzz_findings(void **state)
{
	const char *store = th_path("fz-store"), *in = th_path("fz-in");
	unsigned char hdr[64 + 56];
	json_object *list, *e, *rec;
	char id[300], recpath[1024], *out = NULL;
	FILE *f;
	int st;

	(void)state;
	core_ehdr(hdr, sizeof(hdr));
	memset(hdr + 32, 0xff, 8);
	hdr[32] = 0xf8;            /* e_phoff 2^64 - 8 */
	hdr[52] = 64;              /* e_ehsize */
	hdr[54] = 56;              /* e_phentsize */
	hdr[56] = 1;               /* e_phnum */
	assert_int_equal(th_make_input(in, 4096, false), 0);
	f = fopen(in, "r+e");
	assert_non_null(f);
	fwrite(hdr, 1, sizeof(hdr), f);
	fclose(f);
	assert_int_equal(th_helper(store, NULL, 999997, 0, time(NULL), "phoffwrap", in, NULL, NULL), 0);
	e = only_entry(store, &list);
	assert_true(th_bool(e, "stored"));
	snprintf(id, sizeof(id), "%s", th_str(e, "id"));
	rec = th_record(store, id);
	assert_non_null(strstr(th_str(rec, "core.format"), "size not checked"));

	json_object_object_add(rec, "cmdline", json_object_new_string("not a list"));
	snprintf(recpath, sizeof(recpath), "%s/%s.json", store, id);
	assert_int_equal(json_object_to_file(recpath, rec), 0);
	{
		const char *argv[] = { tu_lifeline(), "cores", "info", id, "--store", store, NULL };

		st = tu_run((char *const *)argv, NULL, &out, NULL);
	}
	assert_true(WIFEXITED(st)); /* 1: the analysis of these bytes fails, said so */
	assert_non_null(out);
	assert_non_null(strstr(out, "pid 999997"));
	free(out);
	json_object_put(rec);
	json_object_put(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_live_process),
		cmocka_unit_test(test_truncated_elf),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_tmpfs_keep_free),
		cmocka_unit_test(test_tmpfs_enospc),
		cmocka_unit_test(test_tmpfs_no_room),
		cmocka_unit_test(test_symlink_planted),
		cmocka_unit_test(test_hostile_comm),
		cmocka_unit_test(test_storm),
		cmocka_unit_test(test_ownership),
		cmocka_unit_test(test_gc_max_use),
		cmocka_unit_test(test_gc_fair_share),
		cmocka_unit_test(test_oversized_record),
		cmocka_unit_test(test_bad_config_and_ids),
		cmocka_unit_test(test_filters_and_rm),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_pidfd_checks),
		cmocka_unit_test(test_unsafe_store),
		cmocka_unit_test(test_bounded_memory),
		cmocka_unit_test(test_fuzz_findings),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "the coredump helper tests need root (store ownership, tmpfs): skipped\n");
		return TU_SKIP;
	}
	if (tu_mkdtemp(th_root, sizeof(th_root)) < 0)
		return 1;
	chmod(th_root, 0755);
	return cmocka_run_group_tests(tests, NULL, unmount_all);
}
