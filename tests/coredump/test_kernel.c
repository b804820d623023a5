/* test_kernel.c: real crashes through core_pattern.
 *
 * `lifeline coredump --install --store TMP` points the kernel at the built
 * helper (core_pattern and core_pipe_limit are saved first and restored at
 * exit, on a signal, and by scripts/run-tests.sh); examples/coredump/crasher
 * dies of SIGSEGV; the stored core must decompress to a core gdb accepts,
 * whose innermost frame is the one `lifeline cores info --json` reports.
 * Then a crash with a hostile comm, a binary copied just before it ran
 * (not called "modified in place"), and --uninstall restoring the values. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "helpers.h"
#include "testutil.h"

static char root[256], store[512], dropin[512], saved_pattern[512], saved_limit[64];

static int run_status(const char *const argv[], char **out, char **err)
{
	int st = tu_run((char *const *)argv, NULL, out, err);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char our_pattern[512];

/* The record of the crash of pid, from `cores list --pid`, or NULL. The
 * kernel waits for the helper (core_pipe_limit > 0), but another test run
 * may have reset core_pipe_limit to 0: then the record comes a moment after
 * the crash, so look for up to 5 seconds. */
static json_object *record_of(pid_t pid)
{
	char spid[32];
	const char *argv[] = { tu_lifeline(), "cores", "list", "--store", store, "--json", "--pid", spid, NULL };

	snprintf(spid, sizeof(spid), "%d", (int)pid);
	for (int i = 0; i < 30; i++) {
		char *out = NULL;
		json_object *l;

		tu_run((char *const *)argv, NULL, &out, NULL);
		l = out ? json_tokener_parse(out) : NULL;
		free(out);
		if (l && json_object_array_length(l) == 1) {
			json_object *e = json_object_get(json_object_array_get_idx(l, 0));

			json_object_put(l);
			if (th_bool(e, "stored") || !th_str(e, "reason") ||
			    !strstr(th_str(e, "reason"), "in-progress"))
				return e;
			json_object_put(e);
		} else {
			json_object_put(l);
		}
		usleep(100 * 1000);
	}
	return NULL;
}

static const char *want_suid_dumpable; /* set by the set-uid test */

/* Put our core_pattern back if another test run replaced it; true if it
 * had to. */
static bool reclaim_pattern(void)
{
	char now[512] = "";

	if (want_suid_dumpable) {
		char sd[16] = "";

		tu_sysctl_read("fs/suid_dumpable", sd, sizeof(sd));
		if (strcmp(sd, want_suid_dumpable))
			tu_sysctl_write("fs/suid_dumpable", want_suid_dumpable);
	}
	tu_sysctl_read("kernel/core_pattern", now, sizeof(now));
	if (!strcmp(now, our_pattern))
		return false;
	fprintf(stderr, "core_pattern was changed by someone else (%s); putting ours back\n", now);
	tu_sysctl_write("kernel/core_pattern", our_pattern);
	tu_sysctl_write("kernel/core_pipe_limit", "16");
	return true;
}

static pid_t crash_once(const char *comm, int *status);
static const char *crash_path; /* NULL: the built crasher */
static uid_t crash_uid;       /* 0: run as root */
/* When set, the child copies the built crasher to crash_path after fork(),
 * copy_delay_ms after it, then execs the copy (`cp a b && exec b`): the
 * copy's mtime is after the process start. */
static bool copy_in_child;
static unsigned copy_delay_ms;

/* Crash and return the record of the crash (the caller puts it). Other test
 * runs on a shared machine (another build, another module) may set
 * core_pattern for their own crashes at the same moment: then our record
 * does not come; put our core_pattern back and crash again (up to 20
 * times, each said on stderr). With ours in place throughout and no
 * record, it is a real failure. */
static json_object *crash(const char *comm, int *status)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		bool changed = reclaim_pattern();
		pid_t pid = crash_once(comm, status);
		json_object *e = record_of(pid);

		if (e)
			return e;
		changed |= reclaim_pattern();
		if (!changed)
			return NULL;
		usleep(200 * 1000);
	}
	return NULL;
}

/* Run the crasher; returns its pid, *status its wait status. */
static pid_t crash_once(const char *comm, int *status)
{
	const char *crasher = crash_path ? crash_path : tu_build_path("examples/coredump/crasher");
	pid_t pid = fork();

	if (pid == 0) {
		struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

		setrlimit(RLIMIT_CORE, &rl);
		if (crash_uid && (setresgid(crash_uid, crash_uid, crash_uid) < 0 ||
				  setresuid(crash_uid, crash_uid, crash_uid) < 0))
			_exit(126);
		/* An ASan build's crasher must let the kernel dump it. */
		setenv("ASAN_OPTIONS", "disable_coredump=0:handle_segv=0:handle_abort=0:detect_leaks=0", 1);
		if (copy_in_child) {
			char cmd[8192];

			usleep(copy_delay_ms * 1000);
			snprintf(cmd, sizeof(cmd), "cp %s %s.new && chmod 0755 %s.new && mv %s.new %s",
				 tu_build_path("examples/coredump/crasher"), crasher, crasher, crasher, crasher);
			if (system(cmd) != 0)
				_exit(125);
		}
		if (comm)
			execl(crasher, crasher, "--comm", comm, "segv", (char *)NULL);
		else
			execl(crasher, crasher, "segv", (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, status, 0), pid);
	return pid;
}

/* gdb's innermost function for EXE and CORE, or NULL when gdb is missing. */
static char *gdb_top(const char *exe, const char *core)
{
	const char *argv[] = { "gdb", "-nx", "-batch", "-ex", "bt", exe, core, NULL };
	char *out = NULL, *err = NULL, *line, *fn = NULL;
	int st = run_status(argv, &out, &err);

	if (st == 127) {
		free(out);
		free(err);
		return NULL;
	}
	line = out ? strstr(out, "#0 ") : NULL;
	if (!line)
		fprintf(stderr, "gdb output:\n%s\n%s\n", out ? out : "", err ? err : "");
	assert_non_null(line);
	line += 3;
	while (*line == ' ')
		line++;
	{
		char *in = strstr(line, " in ");
		char *eol = strchr(line, '\n');

		if (in && (!eol || in < eol) && !strncmp(line, "0x", 2))
			line = in + 4;
		fn = strndup(line, strcspn(line, " ("));
	}
	free(out);
	free(err);
	return fn;
}

static void test_install_crash_analyse(void **state)
{
	const char *install[] = { tu_lifeline(), "coredump", "--install", "--store", store,
				  "--sysctl-d", dropin, NULL };
	char pattern[512], core[600], exe[PATH_MAX], *fn, *err = NULL;
	json_object *e, *rec, *info;
	int status, st;

	(void)state;
	/* Read back what --install wrote (again if another test run replaced it
	 * in between: see crash()). */
	for (int attempt = 0; attempt < 20; attempt++) {
		assert_int_equal(run_status(install, NULL, &err), 0);
		free(err);
		err = NULL;
		assert_int_equal(tu_sysctl_read("kernel/core_pattern", pattern, sizeof(pattern)), 0);
		if (pattern[0] == '|' && strstr(pattern, tu_lifeline()) && strstr(pattern, store))
			break;
		fprintf(stderr, "core_pattern was changed by someone else (%s); installing again\n", pattern);
		usleep(200 * 1000);
	}
	assert_true(pattern[0] == '|' && strstr(pattern, tu_lifeline()) && strstr(pattern, store));
	snprintf(our_pattern, sizeof(our_pattern), "%s", pattern);
	/* The drop-in carries the same values for the next boot. */
	{
		FILE *f = fopen(dropin, "re");
		char text[2048] = "", want[600];
		size_t n;

		assert_non_null(f);
		n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = '\0';
		fclose(f);
		snprintf(want, sizeof(want), "kernel.core_pattern = %s\n", pattern);
		assert_non_null(strstr(text, want));
		assert_non_null(strstr(text, "kernel.core_pipe_limit = 16\n"));
	}
	/* Installing again keeps the first saved values. */
	assert_int_equal(run_status(install, NULL, NULL), 0);

	e = crash(NULL, &status);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
	assert_true(WCOREDUMP(status));
	assert_non_null(e);
	assert_true(th_bool(e, "stored"));
	assert_false(th_bool(e, "truncated"));
	rec = th_record(store, th_str(e, "id"));
	assert_non_null(rec);
	assert_true(th_bool(rec, "pidfd"));
	assert_true(th_bool(rec, "dumpable"));
	assert_string_equal(th_str(rec, "core.format"), "ELF core");
	assert_int_equal(th_int(rec, "core.size"), th_int(rec, "core.expected_size"));
	assert_non_null(realpath(tu_build_path("examples/coredump/crasher"), exe));
	assert_string_equal(th_str(rec, "exe"), exe);
	assert_string_equal(th_str(rec, "signal_name"), "SIGSEGV");

	/* The stored core is one gdb accepts, and agrees with cores info. */
	snprintf(core, sizeof(core), "%s/core.out", root);
	{
		const char *dump[] = { tu_lifeline(), "cores", "dump", th_str(e, "id"), "--store", store,
				       "-o", core, NULL };

		assert_int_equal(run_status(dump, NULL, NULL), 0);
	}
	fn = gdb_top(exe, core);
	if (!fn) {
		fprintf(stderr, "gdb is not installed: the gdb check is skipped\n");
	} else {
		assert_string_equal(fn, "parse_record");
	}
	info = th_cores_json(store, &st, "info", th_str(e, "id"));
	assert_non_null(info);
	if (th_str(info, "analysis_error") && strstr(th_str(info, "analysis_error"), "not built yet")) {
		/* TODO: compare with the analysis once src/inspect/core is built. */
		fprintf(stderr, "TODO: core analysis not built yet; top frame not compared\n");
	} else {
		const char *top = th_str(info, "top_frame");

		if (!top)
			fprintf(stderr, "cores info: %s\n", json_object_to_json_string(info));
		assert_non_null(top);
		assert_int_equal(st, 0);
		if (fn)
			assert_true(!strncmp(top, fn, strlen(fn)));
		/* `cores list --top` shows the same frame. */
		{
			char spid[32], *out = NULL;
			const char *argv[] = { tu_lifeline(), "cores", "list", "--top", "--json", "--store",
					       store, "--pid", spid, NULL };
			json_object *l;

			snprintf(spid, sizeof(spid), "%" PRId64, th_int(rec, "pid"));
			tu_run((char *const *)argv, NULL, &out, NULL);
			l = out ? json_tokener_parse(out) : NULL;
			assert_non_null(l);
			assert_int_equal(json_object_array_length(l), 1);
			assert_string_equal(th_str(json_object_array_get_idx(l, 0), "top_frame"), top);
			json_object_put(l);
			free(out);
		}
	}
	/* `cores gdb` opens the same core in gdb (which quits at EOF on stdin). */
	if (fn) {
		const char *gdb[] = { tu_lifeline(), "cores", "gdb", th_str(e, "id"), "--store", store, NULL };
		char *out = NULL;

		run_status(gdb, &out, NULL);
		assert_non_null(out);
		assert_non_null(strstr(out, fn));
		free(out);
	}
	free(fn);
	json_object_put(info);
	json_object_put(rec);
	json_object_put(e);
}

static void test_hostile_comm_kernel(void **state)
{
	json_object *e;
	const char *id;
	int status;

	(void)state;
	e = crash("x/../y\nz", &status);
	assert_true(WIFSIGNALED(status) && WCOREDUMP(status));
	assert_non_null(e);
	assert_true(th_bool(e, "stored"));
	id = th_str(e, "id");
	for (const char *p = id; *p; p++)
		assert_non_null(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *p));
	json_object_put(e);
}

/* CVE-2022-4415: a set-uid program run by uid 1000 crashes (with
 * fs.suid_dumpable=2, saved and restored): its core and record stay root's. */
static void test_setuid_crash(void **state)
{
	char copy[600], cmd[8192], path[1200];
	json_object *e, *rec;
	struct stat st;
	int status;

	(void)state;
	snprintf(copy, sizeof(copy), "%s/suid-crasher", root);
	snprintf(cmd, sizeof(cmd), "cp %s %s && chown 0:0 %s && chmod 4755 %s",
		 tu_build_path("examples/coredump/crasher"), copy, copy, copy);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(tu_sysctl_write("fs/suid_dumpable", "2"), 0);
	want_suid_dumpable = "2";
	crash_path = copy;
	crash_uid = 1000;
	e = crash(NULL, &status);
	crash_path = NULL;
	crash_uid = 0;
	want_suid_dumpable = NULL;
	if (!e && WIFEXITED(status) && WEXITSTATUS(status) == 126) {
		fprintf(stderr, "cannot switch to uid 1000 here: skipped\n");
		skip();
	}
	assert_non_null(e);
	rec = th_record(store, th_str(e, "id"));
	assert_non_null(rec);
	assert_int_equal(th_int(rec, "uid"), 1000);
	assert_int_equal(th_int(rec, "dump_mode"), 2);
	assert_false(th_bool(rec, "dumpable"));
	for (int k = 0; k < 2; k++) {
		snprintf(path, sizeof(path), "%s/%s%s", store, th_str(e, "id"), k ? ".json" : ".zst");
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_uid, 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	json_object_put(rec);
	json_object_put(e);
}

/* Escape sequences in the crashing process's command line reach the core
 * itself (pr_psargs) and so the analysis `cores info` prints: they are shown
 * escaped, never sent raw to the terminal. */
static void test_escapes_in_core(void **state)
{
	const char *comm = "\x1b]0;pwn\x07\xc2\x9bX";
	char *out = NULL;
	json_object *e;
	int status;

	(void)state;
	e = crash(comm, &status);
	assert_non_null(e);
	assert_true(th_bool(e, "stored"));
	{
		const char *argv[] = { tu_lifeline(), "cores", "info", th_str(e, "id"), "--store", store, NULL };

		run_status(argv, &out, NULL);
	}
	assert_non_null(out);
	assert_non_null(strstr(out, "\\x1b]0;pwn\\x07"));
	for (const unsigned char *p = (const unsigned char *)out; *p; p++) {
		assert_false((*p < 0x20 && *p != '\n') || *p == 0x7f);
		assert_false(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f);
	}
	free(out);
	json_object_put(e);
}

/* `cores info ID` on a real terminal (script(1) gives it a pseudo-terminal,
 * so lifeline decides on colour as for a person), its output in out. */
static void info_on_pty(const char *id, char **out)
{
	char cmd[2048];
	const char *argv[] = { "script", "-qec", cmd, "/dev/null", NULL };

	snprintf(cmd, sizeof(cmd), "%s cores info %s --store %s", tu_lifeline(), id, store);
	assert_int_equal(run_status(argv, out, NULL), 0);
	assert_non_null(*out);
}

/* The colour is there as sequences, never as text; no byte of the crash
 * reaches the terminal raw; each is escaped once (one notation). */
static void assert_clean_colour(const char *out)
{
	static const char *const ours[] = { "1m", "1;31m", "31m", "33m", "2m", "0m" };

	/* colour is on: the heading in bold, the cause's title in red (the
	 * sequence once shown as the text \x1b[1;31m) */
	assert_non_null(strstr(out, "\x1b[1mCore\x1b[0m"));
	assert_non_null(strstr(out, "| \x1b[1;31m"));
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
		char shown[32];

		snprintf(shown, sizeof(shown), "\\x1b[%s", ours[i]);
		assert_null(strstr(out, shown));
	}
	for (const unsigned char *p = (const unsigned char *)out; *p; p++) {
		if (*p == 0x1b) { /* only our SGR sequences: ESC [ digits ; m */
			size_t k = 2;

			assert_int_equal(p[1], '[');
			while ((p[k] >= '0' && p[k] <= '9') || p[k] == ';')
				k++;
			assert_int_equal(p[k], 'm');
			continue;
		}
		assert_false(*p < 0x20 && *p != '\n' && *p != '\r');
		assert_false(*p == 0x7f || *p == 0x9b || *p == 0xff);
	}
	assert_null(strstr(out, "\xe2\x80\xae"));
	/* escaped once: the OSC of the exe name, the bidi override, the lone
	 * C1 byte, the backslash (never \\\\ nor \\x9b: escaped twice) */
	assert_non_null(strstr(out, "\\x1b]0;pwn\\x07"));
	assert_non_null(strstr(out, "\\u{202e}"));
	assert_non_null(strstr(out, "\\x9b"));
	assert_non_null(strstr(out, "\\\\q.bin"));
	if (strstr(out, "\\\\\\\\") || strstr(out, "\\\\x9b"))
		fprintf(stderr, "escaped twice:\n%s\n", out);
	assert_null(strstr(out, "\\\\\\\\"));
	assert_null(strstr(out, "\\\\x9b"));
}

/* `cores info` in colour on a real terminal, for a crash whose comm, exe
 * path and command line (argv[0]) hold escape sequences, a bidi override, a
 * lone C1 byte and a backslash: root's own crash (analysed in-process) and
 * a fresh unprivileged user's (analysed in a child as that user, whose
 * answer root renders). */
static void test_colour_terminal(void **state)
{
	const char *comm = "\x1b]0;t\x07\xc2\x9bX";
	char hostile[600], cmd[2048], user[64], *out = NULL, *old_nc = getenv("NO_COLOR");
	uid_t uid;
	gid_t gid;
	json_object *e;
	int status;

	(void)state;
	if (system("command -v script >/dev/null") != 0) {
		fprintf(stderr, "script(1) (util-linux) is missing: skipped\n");
		skip();
	}
	old_nc = old_nc ? strdup(old_nc) : NULL;
	unsetenv("NO_COLOR");
	setenv("TERM", "xterm", 1);
	snprintf(hostile, sizeof(hostile), "%s/x\x1b]0;pwn\x07\xe2\x80\xae\x9b\\q.bin", root);
	snprintf(cmd, sizeof(cmd), "cp %s '%s' && chmod 0755 '%s'", tu_build_path("examples/coredump/crasher"),
		 hostile, hostile);
	assert_int_equal(system(cmd), 0);
	usleep(50 * 1000); /* not in the exec's clock tick: see test_user_crash */

	crash_path = hostile;
	e = crash(comm, &status);
	assert_non_null(e);
	assert_true(th_bool(e, "stored"));
	info_on_pty(th_str(e, "id"), &out);
	assert_clean_colour(out);
	free(out);
	out = NULL;
	json_object_put(e);
	/* the hostile name, as its bytes, finds the crash (the record keeps it
	 * escaped: the filter compares like with like) */
	{
		const char *argv[] = { tu_lifeline(), "cores", "list", "--json", "--store", store, "--exe",
				       strrchr(hostile, '/') + 1, NULL };
		json_object *l;

		assert_int_equal(run_status(argv, &out, NULL), 0);
		l = json_tokener_parse(out);
		assert_non_null(l);
		assert_int_equal(json_object_array_length(l), 1);
		json_object_put(l);
		free(out);
		out = NULL;
	}

	if (tu_user_create("pty", &uid, &gid, user, sizeof(user)) < 0) {
		fprintf(stderr, "cannot create a user here: the unprivileged half is skipped\n");
	} else {
		crash_uid = uid;
		e = crash(comm, &status);
		crash_uid = 0;
		assert_non_null(e);
		assert_true(th_bool(e, "stored"));
		info_on_pty(th_str(e, "id"), &out);
		assert_clean_colour(out);
		free(out);
		json_object_put(e);
		tu_user_delete(user);
	}
	crash_path = NULL;
	if (old_nc)
		setenv("NO_COLOR", old_nc, 1);
	free(old_nc);
	unlink(hostile);
}

/* A plain program of uid 1000 crashes: /proc read through the %F pidfd; its
 * core and record stay root's files, readable by uid 1000 through an ACL only
 * (an owner could chmod, rewrite or grow them). */
static void test_user_crash(void **state)
{
	char copy[600], cmd[8192], path[1200];
	json_object *e, *rec;
	struct stat st;
	int status;

	(void)state;
	snprintf(copy, sizeof(copy), "%s/user-crasher", root);
	snprintf(cmd, sizeof(cmd), "cp %s %s && chmod 0755 %s", tu_build_path("examples/coredump/crasher"),
		 copy, copy);
	assert_int_equal(system(cmd), 0);
	/* The process start time has clock-tick (10 ms) resolution: a file
	 * written in the same tick as the exec looks written after it, and the
	 * analysis would call the executable modified in place. */
	usleep(50 * 1000);
	crash_path = copy;
	crash_uid = 1000;
	e = crash(NULL, &status);
	crash_path = NULL;
	crash_uid = 0;
	if (!e && WIFEXITED(status) && WEXITSTATUS(status) == 126) {
		fprintf(stderr, "cannot switch to uid 1000 here: skipped\n");
		skip();
	}
	assert_non_null(e);
	assert_true(th_bool(e, "stored"));
	rec = th_record(store, th_str(e, "id"));
	assert_non_null(rec);
	assert_int_equal(th_int(rec, "uid"), 1000);
	assert_true(th_bool(rec, "pidfd"));
	assert_true(th_bool(rec, "dumpable"));
	assert_true(th_bool(rec, "readable_by_uid"));
	assert_string_equal(th_str(rec, "exe"), copy);
	for (int k = 0; k < 2; k++) {
		snprintf(path, sizeof(path), "%s/%s%s", store, th_str(e, "id"), k ? ".json" : ".zst");
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_uid, 0);
		assert_int_equal(st.st_mode & 0777, 0640);
		assert_true(getxattr(path, "system.posix_acl_access", NULL, 0) > 0);
	}
	json_object_put(rec);
	/* `cores info` run by root analyses uid 1000's core as uid 1000, and
	 * finds the same innermost frame as for root's own crash. */
	{
		json_object *info = th_cores_json(store, &status, "info", th_str(e, "id"));

		assert_non_null(info);
		assert_int_equal(status, 0);
		assert_int_equal(th_int(info, "analysis_uid"), 1000);
		assert_non_null(th_str(info, "top_frame"));
		if (!strstr(th_str(info, "top_frame"), "parse_record"))
			fprintf(stderr, "top frame as uid 1000: %s\n%s\n", th_str(info, "top_frame"),
				json_object_to_json_string(info));
		assert_non_null(strstr(th_str(info, "top_frame"), "parse_record"));
		json_object_put(info);
	}
	json_object_put(e);
}

/* Issue 15 §9: a binary copied and run at once (in the same clock tick,
 * and one copied between the fork and the exec, 300 ms after the process
 * start) is not said to be "modified in place after the process mapped it":
 * its mtime after the start is no proof (at most "possibly", a hint), its
 * frames are symbolized, and `cores info` names the core by its store id. */
static void check_not_modified(const char *copy, unsigned delay_ms)
{
	json_object *e, *info, *causes;
	int status;

	copy_in_child = true;
	copy_delay_ms = delay_ms;
	crash_path = copy;
	e = crash(NULL, &status);
	crash_path = NULL;
	copy_in_child = false;
	assert_non_null(e);
	assert_true(th_bool(e, "stored"));
	info = th_cores_json(store, &status, "info", th_str(e, "id"));
	assert_non_null(info);
	assert_int_equal(status, 0);
	assert_non_null(th_str(info, "analysis.core"));
	assert_string_equal(th_str(info, "analysis.core"), th_str(e, "id"));
	assert_non_null(th_str(info, "top_frame"));
	assert_non_null(strstr(th_str(info, "top_frame"), "parse_record"));
	assert_true(json_object_object_get_ex(info, "analysis", &causes));
	assert_true(json_object_object_get_ex(causes, "causes", &causes));
	for (size_t i = 0; i < json_object_array_length(causes); i++) {
		json_object *c = json_object_array_get_idx(causes, i);

		if (strcmp(th_str(c, "kind"), "modified-in-place"))
			continue;
		if (!th_bool(c, "hint") || !strstr(th_str(c, "title"), "possibly"))
			fail_msg("a copy run %u ms after its fork was called modified in place: %s", delay_ms,
				 json_object_to_json_string(c));
		print_message("copied %u ms after the fork: %s\n", delay_ms, th_str(c, "title"));
	}
	{
		/* the text names the core by its id, not /proc/self/fd/N */
		const char *argv[] = { tu_lifeline(), "cores", "info", "--store", store, th_str(e, "id"), NULL };
		char *out = NULL, line[600];

		assert_int_equal(run_status(argv, &out, NULL), 0);
		snprintf(line, sizeof(line), "Core %s: PID", th_str(e, "id"));
		if (!strstr(out, line) || strstr(out, "/proc/self/fd"))
			fail_msg("cores info does not name the core by its id %s:\n%s", th_str(e, "id"), out);
		free(out);
	}
	json_object_put(info);
	json_object_put(e);
}

/* Issue 13: a C++ crash reads as C++ in `cores info` and `cores list
 * --top` (demangled as c++filt does, the mangled name kept in the JSON as
 * linkage_name), and as in the file with --no-demangle. */
static void test_cxx_names(void **state)
{
	static const char lambda[] = "srv::handle(std::vector<srv::Conn, std::allocator<srv::Conn> >&, int)::"
				     "{lambda(srv::Conn const&)#1}::operator()(srv::Conn const&) const";
	char cxx[4096], spid[32];
	json_object *e, *info, *list;
	char *out = NULL;
	int status;

	(void)state;
	snprintf(cxx, sizeof(cxx), "%s", tu_build_path("tests/inspect/core/analysis-cxx"));
	if (access(cxx, X_OK) != 0) {
		print_message("skipped: analysis-cxx was not built (no C++ compiler)\n");
		skip();
	}
	crash_path = cxx;
	e = crash(NULL, &status);
	crash_path = NULL;
	assert_non_null(e);
	assert_true(th_bool(e, "stored"));
	snprintf(spid, sizeof(spid), "%d", (int)th_int(e, "pid"));

	info = th_cores_json(store, &status, "info", th_str(e, "id"));
	assert_non_null(info);
	assert_int_equal(status, 0);
	assert_non_null(th_str(info, "top_frame"));
	if (strncmp(th_str(info, "top_frame"), lambda, strlen(lambda)))
		fail_msg("cores info top frame: %s", th_str(info, "top_frame"));
	{
		json_object *threads, *frames, *f;

		assert_true(json_object_object_get_ex(json_object_object_get(info, "analysis"), "threads", &threads));
		assert_true(json_object_object_get_ex(json_object_array_get_idx(threads, 0), "frames", &frames));
		f = json_object_array_get_idx(frames, 0);
		assert_string_equal(th_str(f, "function"), lambda);
		assert_non_null(th_str(f, "linkage_name"));
		assert_int_equal(strncmp(th_str(f, "linkage_name"), "_ZZN3srv6handle", 15), 0);
	}
	json_object_put(info);
	{
		const char *argv[] = { tu_lifeline(), "cores", "list", "--store", store, "--top", "--json", "--pid", spid,
				       NULL };

		assert_int_equal(run_status(argv, &out, NULL), 0);
		list = json_tokener_parse(out);
		assert_non_null(list);
		assert_int_equal(json_object_array_length(list), 1);
		if (strncmp(th_str(json_object_array_get_idx(list, 0), "top_frame"), lambda, strlen(lambda)))
			fail_msg("cores list --top: %s", out);
		json_object_put(list);
		free(out);
	}
	{
		const char *argv[] = { tu_lifeline(), "cores", "list", "--store", store, "--top", "--no-demangle", "--pid",
				       spid, NULL };

		assert_int_equal(run_status(argv, &out, NULL), 0);
		/* (an inlined template's DWARF name has "srv::handle(" in it:
		 * only the demangler writes "{lambda(...)#1}") */
		if (!strstr(out, "_ZZN3srv6handle") || strstr(out, "{lambda(srv::Conn const&)#1}"))
			fail_msg("cores list --top --no-demangle:\n%s", out);
		free(out);
	}
	{
		const char *argv[] = { tu_lifeline(), "cores", "info", "--store", store, "--no-demangle", th_str(e, "id"),
				       NULL };

		assert_int_equal(run_status(argv, &out, NULL), 0);
		if (!strstr(out, "_ZZN3srv6handle") || strstr(out, "{lambda(srv::Conn const&)#1}"))
			fail_msg("cores info --no-demangle:\n%.3000s", strstr(out, "Top frame") ? strstr(out, "Top frame") : out);
		free(out);
	}
	json_object_put(e);
}

static void test_copied_then_run(void **state)
{
	char copy[600];

	(void)state;
	snprintf(copy, sizeof(copy), "%s/fresh-copy", root);
	check_not_modified(copy, 0);
	snprintf(copy, sizeof(copy), "%s/slow-copy", root);
	check_not_modified(copy, 300);
}

static void test_too_long_and_uninstall(void **state)
{
	char longstore[200], after[512], *err = NULL;
	const char *install[] = { tu_lifeline(), "coredump", "--install", "--store", longstore,
				  "--no-sysctl-d", NULL };
	const char *uninstall[] = { tu_lifeline(), "coredump", "--uninstall", "--store", store, NULL };

	(void)state;
	memset(longstore, 'a', sizeof(longstore) - 1);
	longstore[0] = '/';
	longstore[sizeof(longstore) - 1] = '\0';
	assert_int_equal(run_status(install, NULL, &err), 1);
	assert_non_null(strstr(err, "127 bytes"));
	free(err);
	assert_int_equal(tu_sysctl_read("kernel/core_pattern", after, sizeof(after)), 0);
	assert_null(strstr(after, longstore)); /* nothing was written */

	assert_int_equal(run_status(uninstall, NULL, NULL), 0);
	assert_int_equal(tu_sysctl_read("kernel/core_pattern", after, sizeof(after)), 0);
	assert_string_equal(after, saved_pattern);
	assert_int_equal(tu_sysctl_read("kernel/core_pipe_limit", after, sizeof(after)), 0);
	assert_string_equal(after, saved_limit);
	assert_int_equal(access(dropin, F_OK), -1); /* the drop-in is gone */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_install_crash_analyse),
		cmocka_unit_test(test_hostile_comm_kernel),
		cmocka_unit_test(test_setuid_crash),
		cmocka_unit_test(test_user_crash),
		cmocka_unit_test(test_escapes_in_core),
		cmocka_unit_test(test_copied_then_run),
		cmocka_unit_test(test_colour_terminal),
		cmocka_unit_test(test_cxx_names),
		cmocka_unit_test(test_too_long_and_uninstall),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "needs root (core_pattern): skipped\n");
		return TU_SKIP;
	}
	tu_save_global_state();
	if (tu_sysctl_read("kernel/core_pattern", saved_pattern, sizeof(saved_pattern)) < 0 ||
	    tu_sysctl_read("kernel/core_pipe_limit", saved_limit, sizeof(saved_limit)) < 0 ||
	    tu_mkdtemp(root, sizeof(root)) < 0)
		return 1;
	chmod(root, 0755);
	snprintf(store, sizeof(store), "%s/store", root);
	snprintf(dropin, sizeof(dropin), "%s/sysctl.d/50-lifeline-coredump.conf", root);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
