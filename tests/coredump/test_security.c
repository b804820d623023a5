/* test_security.c: `lifeline coredump` and `lifeline cores` against a hostile
 * crashing process (run directly, as the kernel would, no core_pattern
 * change): mapped files with absurd ELF headers, a 2 MiB cmdline, 12,000
 * mappings, a live pid that is not dumping (pid reuse, CVE-2025-4598), a
 * user renaming itself to dodge the rate limit, a record pointing at another
 * entry's core, escape sequences for the terminal, gdb's auto-load, a core
 * pipe that stalls, a closed fd 0 or 3, a user flock()ing the store. Checks are on what a user sees: the
 * store's files, records and `lifeline cores` output. */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "testutil.h"


static json_object *only_record(const char *store, json_object **list)
{
	*list = th_list(store);
	assert_non_null(*list);
	assert_int_equal(json_object_array_length(*list), 1);
	return th_record(store, th_str(json_object_array_get_idx(*list, 0), "id"));
}

/* Run the helper for the live process pid through a pidfd, as %F does. */
static int helper_pidfd(const char *store, const char *config, pid_t pid, const char *comm,
			const char *input)
{
	int r;

	th_fd3 = (int)syscall(SYS_pidfd_open, pid, 0);
	assert_true(th_fd3 >= 0);
	r = th_helper(store, config, pid, 0, time(NULL), comm, input, "3", "1");
	close(th_fd3);
	th_fd3 = -1;
	return r;
}

/* A child that runs fn() then waits (for SIGKILL); returns once it is ready. */
static pid_t start_child(void (*fn)(void *), void *arg)
{
	int p[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		fn(arg);
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

static void stop_child(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* An ELF64 file (this machine's byte order) whose one PT_NOTE holds a GNU
 * build-id of 20 bytes 0xa0..0xb3, or (hostile) a PT_NOTE claiming filesz
 * bytes at offset 4096 of a sparse file of that size. */
static void make_elf(const char *path, bool hostile, uint64_t filesz)
{
	unsigned char buf[4096] = { 0 };
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(*eh));
	unsigned char *note = buf + 512;
	int fd;

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_DYN;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	ph->p_type = PT_NOTE;
	ph->p_align = 4;
	if (hostile) {
		ph->p_offset = 4096;
		ph->p_filesz = filesz - 4096;
	} else {
		uint32_t hdr[3] = { 4, 20, NT_GNU_BUILD_ID };

		memcpy(note, hdr, sizeof(hdr));
		memcpy(note + 12, "GNU", 4);
		for (int i = 0; i < 20; i++)
			note[16 + i] = (unsigned char)(0xa0 + i);
		ph->p_offset = 512;
		ph->p_filesz = 36;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	if (hostile)
		assert_int_equal(ftruncate(fd, (off_t)filesz), 0);
	close(fd);
}

static const char *map_paths[3];

static void map_files(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++) {
		int fd = open(map_paths[i], O_RDONLY);

		if (fd < 0 || mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED)
			_exit(1);
		close(fd);
	}
	/* The third file shrinks to nothing while mapped. */
	if (truncate(map_paths[2], 0) < 0)
		_exit(1);
}

static json_object *map_of(json_object *rec, const char *path)
{
	json_object *maps;

	assert_true(json_object_object_get_ex(rec, "maps", &maps) && maps);
	for (size_t i = 0; i < json_object_array_length(maps); i++) {
		json_object *m = json_object_array_get_idx(maps, i);

		if (th_str(m, "path") && !strcmp(th_str(m, "path"), path))
			return m;
	}
	return NULL;
}

/* Mapped files are read with bounded reads: a note segment claiming 16 GiB of
 * a sparse file, a file truncated under its mapping; a real build-id is still
 * found by the helper's own note reader. */
static void test_hostile_mapped_files(void **state)
{
	const char *store = th_path("bid-store"), *in = th_path("bid-in");
	json_object *list, *rec, *m;
	pid_t child;

	(void)state;
	map_paths[0] = th_path("bid-good.so");
	map_paths[1] = th_path("bid-huge.so");
	map_paths[2] = th_path("bid-shrunk.so");
	make_elf(map_paths[0], false, 0);
	make_elf(map_paths[1], true, 16ull << 30);
	make_elf(map_paths[2], false, 0);
	assert_int_equal(th_make_input(in, 4096, false), 0);
	child = start_child(map_files, NULL);
	assert_int_equal(helper_pidfd(store, NULL, child, "bidtest", in), 0);
	stop_child(child);
	rec = only_record(store, &list);
	assert_non_null(rec);
	assert_null(th_str(rec, "proc_error"));
	m = map_of(rec, map_paths[0]);
	assert_non_null(m);
	assert_string_equal(th_str(m, "file.build_id"), "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3");
	m = map_of(rec, map_paths[1]);
	assert_non_null(m);
	assert_int_equal(th_int(m, "file.size"), (int64_t)(16ull << 30));
	assert_null(th_str(m, "file.build_id"));
	m = map_of(rec, map_paths[2]);
	assert_non_null(m);
	assert_int_equal(th_int(m, "file.size"), 0);
	assert_null(th_str(m, "file.build_id"));
	json_object_put(rec);
	json_object_put(list);
}

/* A cmdline of 1.6 MB (16 arguments of 100 KiB; execve allows about 2 MiB
 * here) is kept as a bounded prefix, marked truncated. */
static void test_huge_cmdline(void **state)
{
	const char *store = th_path("cmd-store"), *in = th_path("cmd-in");
	enum { NARGS = 16, ARGLEN = 100 * 1024 };
	char *argv[NARGS + 3];
	json_object *list, *rec, *cmd;
	size_t total = 0;
	pid_t child;

	(void)state;
	assert_int_equal(th_make_input(in, 4096, false), 0);
	argv[0] = "test_coredump_security";
	argv[1] = "--pause";
	for (int i = 2; i < NARGS + 2; i++) {
		argv[i] = malloc(ARGLEN);
		assert_non_null(argv[i]);
		/* control bytes: 6 bytes each once escaped in the JSON */
		memset(argv[i], i % 2 ? 'a' + i : '\x01', ARGLEN - 1);
		argv[i][ARGLEN - 1] = '\0';
	}
	argv[NARGS + 2] = NULL;
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	usleep(300 * 1000);
	assert_int_equal(helper_pidfd(store, NULL, child, "bigcmd", in), 0);
	stop_child(child);
	rec = only_record(store, &list);
	assert_non_null(rec);
	assert_null(th_str(rec, "proc_error"));
	assert_true(th_bool(rec, "cmdline_truncated"));
	assert_true(json_object_object_get_ex(rec, "cmdline", &cmd) && cmd);
	assert_true(json_object_array_length(cmd) >= 2);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(cmd, 1)), "--pause");
	for (size_t i = 0; i < json_object_array_length(cmd); i++)
		total += strlen(json_object_get_string(json_object_array_get_idx(cmd, i))) + 1;
	assert_true(total > 64 * 1024);
	assert_true(total <= 128 * 1024 + 1); /* the last argument, cut, has no NUL */
	{
		char path[1024];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s.json", store, th_str(json_object_array_get_idx(list, 0), "id"));
		assert_int_equal(stat(path, &st), 0);
		assert_true(st.st_size < 1 << 20); /* what list and gc read stays under 1 MiB */
	}
	json_object_put(rec);
	json_object_put(list);
	for (int i = 2; i < NARGS + 2; i++)
		free(argv[i]);
}

static void many_maps(void *arg)
{
	size_t n = (size_t)(uintptr_t)arg, pg = 4096;
	char *p = mmap(NULL, 2 * n * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(1);
	for (size_t i = 0; i < n; i++)
		if (mprotect(p + 2 * i * pg, pg, PROT_READ) < 0)
			_exit(1);
}

/* 12,000 mappings: a bounded number is kept, marked truncated, in the maps
 * file beside the record. */
static void test_many_maps(void **state)
{
	const char *store = th_path("maps-store"), *in = th_path("maps-in");
	json_object *list, *rec, *maps;
	struct stat st;
	char path[1024];
	pid_t child;

	(void)state;
	assert_int_equal(th_make_input(in, 4096, false), 0);
	child = start_child(many_maps, (void *)(uintptr_t)12000);
	assert_int_equal(helper_pidfd(store, NULL, child, "manymaps", in), 0);
	stop_child(child);
	rec = only_record(store, &list);
	assert_non_null(rec);
	assert_true(th_bool(rec, "maps_truncated"));
	assert_true(json_object_object_get_ex(rec, "maps", &maps) && maps);
	assert_true(json_object_array_length(maps) >= 1000);
	assert_true(json_object_array_length(maps) <= 8192);
	/* The record stays small: the maps are in <id>.maps beside it. */
	snprintf(path, sizeof(path), "%s/%s.json", store, th_str(json_object_array_get_idx(list, 0), "id"));
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size < 64 * 1024);
	snprintf(path, sizeof(path), "%s/%s.maps", store, th_str(json_object_array_get_idx(list, 0), "id"));
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size < 8 << 20);
	assert_int_equal(st.st_mode & 0777, 0600); /* root only, as the record */
	json_object_put(rec);
	json_object_put(list);
}

static void nothing(void *arg)
{
	(void)arg;
}

/* Without %F, a live process with the right start time but not dumping a core
 * is not the crashed one (its pid was reused): nothing of it is recorded, and
 * the core stays root-only. */
static void test_pid_reuse_without_pidfd(void **state)
{
	const char *store = th_path("reuse-store"), *in = th_path("reuse-in");
	json_object *list, *rec;
	pid_t child;

	(void)state;
	assert_int_equal(th_make_input(in, 4096, false), 0);
	child = start_child(nothing, NULL);
	assert_int_equal(th_helper(store, NULL, child, 1000, time(NULL) + 5, "reuse", in, "", "1"), 0);
	stop_child(child);
	rec = only_record(store, &list);
	assert_non_null(rec);
	assert_non_null(strstr(th_str(rec, "proc_error"), "not dumping"));
	assert_null(th_str(rec, "exe"));
	assert_false(th_bool(rec, "dumpable"));
	assert_false(th_bool(rec, "readable_by_uid"));
	assert_true(th_bool(json_object_array_get_idx(list, 0), "stored"));
	json_object_put(rec);
	json_object_put(list);
}

/* Renaming itself (prctl(PR_SET_NAME)) does not get a user past the rate
 * limit, and one user's storm does not use up another user's. */
static void test_rate_limit_by_uid(void **state)
{
	const char *store = th_path("rl-store"), *in = th_path("rl-in"), *cfg = th_path("rl.conf");
	int64_t t = time(NULL);
	json_object *list;
	int stored_1000 = 0, stored_1001 = 0, limited = 0;

	(void)state;
	th_write_text(cfg, "[Coredump]\nRateLimitBurst=5\nRateLimitUserBurst=10\nRateLimitIntervalSec=5min\n");
	assert_int_equal(th_make_input(in, 4096, false), 0);
	for (int i = 0; i < 25; i++) {
		char comm[32];

		snprintf(comm, sizeof(comm), "name%d", i);
		assert_int_equal(th_helper(store, cfg, 400000 + i, 1000, t, comm, in, NULL, NULL), 0);
	}
	/* uid 1001 crashing under a name uid 1000 used: its own quota. */
	assert_int_equal(th_helper(store, cfg, 400100, 1001, t, "name0", in, NULL, NULL), 0);
	list = th_list(store);
	assert_non_null(list);
	assert_int_equal(json_object_array_length(list), 26);
	for (size_t i = 0; i < 26; i++) {
		json_object *e = json_object_array_get_idx(list, i);

		if (th_bool(e, "stored") && th_int(e, "uid") == 1000)
			stored_1000++;
		else if (th_bool(e, "stored"))
			stored_1001++;
		else if (th_str(e, "reason") && strstr(th_str(e, "reason"), "RateLimitUserBurst")) {
			json_object *rec = th_record(store, th_str(e, "id"));

			/* a storm's records stay small: no maps */
			assert_non_null(th_str(rec, "maps_skipped"));
			json_object_put(rec);
			limited++;
		}
	}
	assert_int_equal(stored_1000, 10);
	assert_int_equal(limited, 15);
	assert_int_equal(stored_1001, 1);
	json_object_put(list);
}

/* A record whose "file" names another entry's core (damaged, or written by an
 * older version that let the user own its record) cannot make `cores rm`
 * delete that other core. */
static void test_record_file_confined(void **state)
{
	const char *store = th_path("conf-store"), *in = th_path("conf-in");
	json_object *list, *rec, *core;
	char victim[300], path[2048], idv[256], ida[256];
	struct stat st;
	int status;

	(void)state;
	assert_int_equal(th_make_input(in, 4096, false), 0);
	assert_int_equal(th_helper(store, NULL, 500001, 0, 1000, "victim", in, NULL, NULL), 0);
	assert_int_equal(th_helper(store, NULL, 500002, 0, 2000, "attacker", in, NULL, NULL), 0);
	list = th_list(store);
	assert_int_equal(json_object_array_length(list), 2);
	snprintf(idv, sizeof(idv), "%s", th_str(json_object_array_get_idx(list, 0), "id"));
	snprintf(ida, sizeof(ida), "%s", th_str(json_object_array_get_idx(list, 1), "id"));
	json_object_put(list);
	rec = th_record(store, ida);
	assert_non_null(rec);
	assert_true(json_object_object_get_ex(rec, "core", &core));
	snprintf(victim, sizeof(victim), "%s.zst", idv);
	json_object_object_add(core, "file", json_object_new_string(victim));
	snprintf(path, sizeof(path), "%s/%s.json", store, ida);
	assert_int_equal(json_object_to_file(path, rec), 0);
	json_object_put(rec);
	json_object_put(th_cores_json(store, &status, "rm", ida));
	assert_int_equal(status, 0);
	snprintf(path, sizeof(path), "%s/%s", store, victim);
	assert_int_equal(stat(path, &st), 0);
	list = th_list(store);
	assert_int_equal(json_object_array_length(list), 1);
	assert_true(th_bool(json_object_array_get_idx(list, 0), "stored"));
	json_object_put(list);
}

static bool has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
			return true;
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return true;
		if (p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae)
			return true;
	}
	return false;
}

/* A comm made of escape sequences (OSC title, C1 CSI, right-to-left
 * override) reaches neither the terminal nor the log raw. */
static void test_terminal_escapes(void **state)
{
	const char *store = th_path("esc-store"), *in = th_path("esc-in");
	const char *comm = "\x1b]0;pwned\x07\xc2\x9b" "31m\xe2\x80\xae" "gpj.exe";
	const char *list_argv[] = { tu_lifeline(), "cores", "list", "--store", store, NULL };
	const char *info_argv[] = { tu_lifeline(), "cores", "info", "--store", store, NULL };
	char *out = NULL, *log = NULL;
	size_t len = 0;
	FILE *f;
	int st;

	(void)state;
	assert_int_equal(th_make_input(in, 4096, false), 0);
	assert_int_equal(th_helper(store, NULL, 500003, 0, time(NULL), comm, in, NULL, NULL), 0);
	st = tu_run((char *const *)list_argv, NULL, &out, NULL);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_non_null(strstr(out, "\\x1b]0;pwned"));
	assert_non_null(strstr(out, "\\u{009b}"));
	assert_false(has_control(out));
	free(out);
	out = NULL;
	st = tu_run((char *const *)info_argv, NULL, &out, NULL);
	assert_true(WIFEXITED(st));
	assert_non_null(strstr(out, "\\u{202e}"));
	assert_false(has_control(out));
	free(out);
	f = fopen(th_path("esc-store/coredump.log"), "re");
	assert_non_null(f);
	assert_true(getdelim(&log, &len, '\0', f) > 0);
	fclose(f);
	assert_false(has_control(log));
	free(log);
}

/* `cores gdb` starts gdb with no gdbinit and auto-load off: a .gdbinit or a
 * -gdb.py beside the crashing user's executable never runs. */
static void test_gdb_no_autoload(void **state)
{
	const char *store = th_path("gdb-store"), *in = th_path("gdb-in"), *bin = th_path("gdb-bin");
	const char *argv[] = { tu_lifeline(), "cores", "gdb", "--store", store, NULL };
	char script[1024], *args = NULL, *oldpath, newpath[4096];
	size_t len = 0;
	pid_t child;
	FILE *f;
	int st;

	(void)state;
	assert_int_equal(th_make_input(in, 4096, false), 0);
	child = start_child(nothing, NULL);
	assert_int_equal(helper_pidfd(store, NULL, child, "gdbme", in), 0);
	stop_child(child);
	assert_int_equal(mkdir(bin, 0755), 0);
	snprintf(script, sizeof(script), "%s/gdb", bin);
	f = fopen(script, "we");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\nfor a in \"$@\"; do printf '%%s\\n' \"$a\"; done > %s/args\n", bin);
	fclose(f);
	assert_int_equal(chmod(script, 0755), 0);
	oldpath = getenv("PATH");
	snprintf(newpath, sizeof(newpath), "%s:%s", bin, oldpath ? oldpath : "/usr/bin:/bin");
	oldpath = oldpath ? strdup(oldpath) : NULL;
	setenv("PATH", newpath, 1);
	st = tu_run((char *const *)argv, NULL, NULL, NULL);
	if (oldpath) {
		setenv("PATH", oldpath, 1);
		free(oldpath);
	}
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snprintf(script, sizeof(script), "%s/args", bin);
	f = fopen(script, "re");
	assert_non_null(f);
	assert_true(getdelim(&args, &len, '\0', f) > 0);
	fclose(f);
	assert_non_null(strstr(args, "-nx\n"));
	assert_non_null(strstr(args, "-iex\nset auto-load off\n"));
	assert_non_null(strstr(args, "-c\n/proc/self/fd/"));
	/* the executable from the record comes after an explicit option */
	assert_non_null(strstr(args, "-se\n/"));
	free(args);
}

/* A core pipe that goes silent: IdleTimeoutSec ends the read, the part read is
 * kept and marked; TimeoutSec kills a helper that would wait longer, and the
 * record claimed early is still there. */
static void test_stalled_pipe(void **state)
{
	const char *store = th_path("stall-store"), *cfg = th_path("stall.conf");
	const char *store2 = th_path("stall2-store"), *cfg2 = th_path("stall2.conf");
	char t[32], chunk[65536];
	json_object *list, *rec;
	int p[2], status;
	pid_t helper;

	(void)state;
	memset(chunk, 'z', sizeof(chunk));
	for (int round = 0; round < 2; round++) {
		const char *s = round ? store2 : store, *c = round ? cfg2 : cfg;

		th_write_text(c, round ? "[Coredump]\nIdleTimeoutSec=1h\nTimeoutSec=2\n"
				    : "[Coredump]\nIdleTimeoutSec=1\n");
		assert_int_equal(pipe(p), 0);
		assert_int_equal(write(p[1], chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
		helper = fork();
		assert_true(helper >= 0);
		if (helper == 0) {
			dup2(p[0], 0);
			close(p[1]);
			snprintf(t, sizeof(t), "%ld", (long)time(NULL));
			execl(tu_lifeline(), tu_lifeline(), "coredump", "--store", s, "--config", c, "500004",
			      "0", "0", "11", t, "18446744073709551615", "host", "stalled", (char *)NULL);
			_exit(127);
		}
		close(p[0]);
		/* The write end stays open and silent until the helper is done. */
		assert_int_equal(waitpid(helper, &status, 0), helper);
		close(p[1]);
		list = th_list(s);
		assert_non_null(list);
		assert_int_equal(json_object_array_length(list), 1);
		rec = th_record(s, th_str(json_object_array_get_idx(list, 0), "id"));
		assert_non_null(rec);
		if (round == 0) {
			assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
			assert_true(th_bool(rec, "core.truncated"));
			assert_non_null(strstr(th_str(rec, "core.truncated_reason"), "idle-timeout"));
			assert_int_equal(th_int(rec, "core.stored_size"), (int64_t)sizeof(chunk));
		} else {
			assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM);
			assert_non_null(strstr(th_str(rec, "core.not_stored_reason"), "in-progress"));
		}
		json_object_put(rec);
		json_object_put(list);
	}
}

/* fd 0 closed, fd 3 (%F) closed or not a pidfd: the helper neither crashes
 * nor mistakes the next file it opens for the core or the pidfd. */
static void test_closed_fds(void **state)
{
	const char *store = th_path("fds-store");
	char t[32];
	json_object *list;
	int status;
	pid_t helper;

	(void)state;
	/* round 0: fds 0 and 3 closed; 1: fd 3 closed; 2: fd 3 is not a pidfd */
	for (int round = 0; round < 3; round++) {
		helper = fork();
		assert_true(helper >= 0);
		if (helper == 0) {
			char spid[16];
			int fd = open("/dev/null", O_RDONLY);

			dup2(fd, 0);
			close(fd);
			close(3);
			if (round == 0)
				close(0);
			if (round == 2 && open("/dev/null", O_RDONLY) != 3)
				_exit(126);
			snprintf(t, sizeof(t), "%ld", (long)time(NULL));
			snprintf(spid, sizeof(spid), "%d", 500005 + round);
			execl(tu_lifeline(), tu_lifeline(), "coredump", "--store", store, spid, "0", "0", "11", t,
			      "18446744073709551615", "host", "closedfd", "3", "1", (char *)NULL);
			_exit(127);
		}
		assert_int_equal(waitpid(helper, &status, 0), helper);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	list = th_list(store);
	assert_non_null(list);
	assert_int_equal(json_object_array_length(list), 3);
	for (size_t i = 0; i < 3; i++) {
		const char *id = th_str(json_object_array_get_idx(list, i), "id");
		json_object *rec = th_record(store, id);

		assert_non_null(rec);
		assert_false(th_bool(rec, "pidfd"));
		assert_int_equal(th_int(rec, "core.size"), 0);
		if (strstr(id, ".500007."))
			assert_non_null(strstr(th_str(rec, "proc_error"), "not a pidfd"));
		json_object_put(rec);
	}
	json_object_put(list);
}

/* Bytes (st_blocks) of the store's records and cores. */
static uint64_t store_use(const char *store)
{
	DIR *d = opendir(store);
	struct dirent *de;
	uint64_t used = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char path[1024];
		struct stat st;

		if (!(l > 4 && !strcmp(de->d_name + l - 4, ".zst")) && !(l > 5 && !strcmp(de->d_name + l - 5, ".json")))
			continue;
		snprintf(path, sizeof(path), "%s/%s", store, de->d_name);
		if (lstat(path, &st) == 0)
			used += (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return used;
}

/* A long crash storm's records count in MaxUse: the oldest records go once no
 * core is left, so the store's disk use stays bounded; the newest crash keeps
 * its record. */
static void test_record_storm_bounded(void **state)
{
	const char *store = th_path("rs-store"), *cfg = th_path("rs.conf");
	const char *gc[] = { tu_lifeline(), "cores", "gc", "--store", store, "--config", cfg, NULL };
	char id_prefix[64];
	json_object *list;
	int st;

	(void)state;
	th_write_text(cfg, "[Coredump]\nRateLimitBurst=0\nRateLimitUserBurst=0\nMaxUse=96K\nKeepFree=0\n");
	for (int i = 0; i < 40; i++)
		assert_int_equal(th_helper(store, cfg, 600000 + i, 0, 1000000 + i, "stormrec", NULL, NULL, NULL), 0);
	st = tu_run((char *const *)gc, NULL, NULL, NULL);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_true(store_use(store) <= 96 * 1024);
	list = th_list(store);
	assert_non_null(list);
	assert_true(json_object_array_length(list) >= 1);
	assert_true(json_object_array_length(list) < 40);
	snprintf(id_prefix, sizeof(id_prefix), ".600039.");
	assert_non_null(strstr(th_str(json_object_array_get_idx(list, json_object_array_length(list) - 1), "id"),
			       id_prefix));
	json_object_put(list);
}

/* MaxUse holds right after a core is stored (not only at the next crash or
 * `cores gc`): the oldest cores went, the newest is kept. */
static void test_max_use_at_once(void **state)
{
	const char *store = th_path("mu-store"), *in = th_path("mu-in"), *cfg = th_path("mu.conf");
	json_object *list;
	size_t n;

	(void)state;
	th_write_text(cfg, "[Coredump]\nRateLimitBurst=0\nMaxUse=2500K\nKeepFree=0\n");
	assert_int_equal(th_make_input(in, 1u << 20, true), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(th_helper(store, cfg, 610000 + i, 0, 1000000 + i, "maxuse", in, NULL, NULL), 0);
	assert_true(store_use(store) <= 2500 * 1024);
	list = th_list(store);
	assert_non_null(list);
	n = json_object_array_length(list);
	assert_int_equal(n, 5);
	assert_true(th_bool(json_object_array_get_idx(list, n - 1), "stored"));
	assert_false(th_bool(json_object_array_get_idx(list, 0), "stored"));
	assert_non_null(strstr(th_str(json_object_array_get_idx(list, 0), "reason"), "MaxUse"));
	json_object_put(list);
}

/* A store inside a directory another user owns could be swapped under the
 * helper: refused, by the helper and by `cores`. */
static void test_store_parent_checked(void **state)
{
	const char *dir = th_path("userdir"), *store = th_path("userdir/store"), *in = th_path("up-in");
	const char *list[] = { tu_lifeline(), "cores", "list", "--store", store, NULL };
	struct stat st;
	int status;

	(void)state;
	assert_int_equal(th_make_input(in, 4096, false), 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(mkdir(store, 0755), 0);
	assert_int_equal(chown(dir, 1000, 1000), 0);
	assert_int_equal(th_helper(store, NULL, 620000, 0, time(NULL), "parent", in, NULL, NULL), 1);
	status = tu_run((char *const *)list, NULL, NULL, NULL);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	/* nothing was written into it */
	assert_int_equal(rmdir(store), 0);
	assert_int_equal(stat(store, &st), -1);
}

static const char *lock_store_path;

static void user_locks_store(void *arg)
{
	int fd;

	(void)arg;
	if (setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0)
		_exit(126);
	fd = open(lock_store_path, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || flock(fd, LOCK_EX) < 0)
		_exit(1);
	/* and the lock file too, if it can */
	fd = open(th_path("lock-store/.lock"), O_RDONLY);
	if (fd >= 0)
		flock(fd, LOCK_EX);
}

/* An unprivileged user holding an flock() on the store (a 0755 directory any
 * user can open) does not stall the helpers. */
static void test_user_lock(void **state)
{
	const char *store = th_path("lock-store"), *in = th_path("lock-in"), *cfg = th_path("lock.conf");
	json_object *list;
	pid_t child;

	(void)state;
	lock_store_path = store;
	th_write_text(cfg, "[Coredump]\nTimeoutSec=20\n");
	assert_int_equal(th_make_input(in, 4096, false), 0);
	assert_int_equal(th_helper(store, cfg, 500010, 0, time(NULL), "first", in, NULL, NULL), 0);
	child = start_child(user_locks_store, NULL);
	assert_int_equal(th_helper(store, cfg, 500011, 0, time(NULL), "second", in, NULL, NULL), 0);
	stop_child(child);
	list = th_list(store);
	assert_non_null(list);
	assert_int_equal(json_object_array_length(list), 2);
	assert_true(th_bool(json_object_array_get_idx(list, 1), "stored"));
	json_object_put(list);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_mapped_files),
		cmocka_unit_test(test_huge_cmdline),
		cmocka_unit_test(test_many_maps),
		cmocka_unit_test(test_pid_reuse_without_pidfd),
		cmocka_unit_test(test_rate_limit_by_uid),
		cmocka_unit_test(test_record_file_confined),
		cmocka_unit_test(test_terminal_escapes),
		cmocka_unit_test(test_gdb_no_autoload),
		cmocka_unit_test(test_stalled_pipe),
		cmocka_unit_test(test_closed_fds),
		cmocka_unit_test(test_user_lock),
		cmocka_unit_test(test_record_storm_bounded),
		cmocka_unit_test(test_max_use_at_once),
		cmocka_unit_test(test_store_parent_checked),
	};

	if (argc > 1 && !strcmp(argv[1], "--pause")) { /* test_huge_cmdline's process */
		for (;;)
			pause();
	}
	if (geteuid() != 0) {
		fprintf(stderr, "the coredump security tests need root (a root-owned store): skipped\n");
		return TU_SKIP;
	}
	if (tu_mkdtemp(th_root, sizeof(th_root)) < 0)
		return 1;
	chmod(th_root, 0755);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
