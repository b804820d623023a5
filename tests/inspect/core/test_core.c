/* test_core.c: ll_core_analyze() on real cores of small crashing programs.
 *
 * Each program (examples/coredump/analysis-*.c, built -g -O2 without
 * sanitizers) is run with RLIMIT_CORE unlimited while core_pattern points to
 * a file in a temporary directory (saved and restored by
 * tu_save_global_state()). The analysis is then checked the way a user
 * would: the crashing thread's top frame against `gdb -batch -ex bt`, the
 * signal and si_code, the fault address classification, the cause named,
 * glibc's abort message; a plugin overwritten in place with cp while loaded
 * (with metadata built like the core_pattern helper builds it, and without);
 * a truncated core, non-core files; a C++ program's names demangled as
 * c++filt does (and kept mangled with no_demangle). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "testutil.h"
#include "lifeline/inspect/core.h"

#ifndef CORE_PROG_DIR
#error CORE_PROG_DIR must name the directory of the built test programs
#endif

static char tmpdir[256];

static json_object *module_named(json_object *j, const char *name);

static const char *prog(const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", CORE_PROG_DIR, name);
	return buf[i];
}

static bool file_nonempty(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && st.st_size > 0;
}

/* Run argv with a core limit; with io, the child's stdin/stdout are pipes
 * handed back (io[0] to write to it, io[1] to read from it). */
static pid_t spawn(char *const argv[], int io[2])
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	pid_t pid;

	if (io && (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0))
		return -1;
	pid = fork();
	if (pid == 0) {
		struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
		int null = open("/dev/null", O_RDWR);

		setrlimit(RLIMIT_CORE, &rl);
		prctl(PR_SET_DUMPABLE, 1);
		if (io) {
			dup2(in[0], 0);
			dup2(out[1], 1);
		} else {
			dup2(null, 0);
			dup2(null, 1);
		}
		dup2(null, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	if (io) {
		close(in[0]);
		close(out[1]);
		io[0] = in[1];
		io[1] = out[0];
	}
	return pid;
}

static int set_pattern(void)
{
	char pattern[512];

	snprintf(pattern, sizeof(pattern), "%s/core.%%p", tmpdir);
	return tu_sysctl_write("kernel/core_pattern", pattern);
}

/* Wait for pid to die of a signal with a core in tmpdir; core gets its path. */
static int reap_core(pid_t pid, char *core, size_t size)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	if (!WIFSIGNALED(status)) {
		fprintf(stderr, "pid %d did not die of a signal (status 0x%x)\n", pid, status);
		return -ECHILD;
	}
	snprintf(core, size, "%s/core.%d", tmpdir, pid);
	return file_nonempty(core) ? 0 : -ENOENT;
}

/* Crash a program and get its core. Another test may change core_pattern
 * meanwhile (it is global): retry a few times. */
static int crash(char *const argv[], char *core, size_t size)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		pid_t pid;
		int r;

		if (set_pattern() < 0)
			return -EPERM;
		pid = spawn(argv, NULL);
		if (pid < 0)
			return -errno;
		r = reap_core(pid, core, size);
		if (r != -ENOENT)
			return r;
		usleep(200 * 1000);
	}
	return -ENOENT;
}

/* gdb's function of frame n of the current (crashing) thread ("??" when
 * gdb has none). */
static int gdb_frame(const char *exe, const char *core, int n, char *fn, size_t size)
{
	char tag[8];
	char *const argv[] = { "gdb", "-batch", "-nx", "-ex", "bt", (char *)exe, (char *)core, NULL };
	char *out = NULL, *line, *p;
	int st = tu_run(argv, NULL, &out, NULL);

	fn[0] = '\0';
	if (st < 0 || !out) {
		free(out);
		return -1;
	}
	snprintf(tag, sizeof(tag), "#%d ", n);
	for (line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, tag, strlen(tag)) != 0)
			continue;
		p = line + strlen(tag);
		while (*p == ' ')
			p++;
		if (strncmp(p, "0x", 2) == 0) {
			p = strstr(p, " in ");
			if (!p)
				break;
			p += 4;
		}
		snprintf(fn, size, "%.*s", (int)strcspn(p, " \n("), p);
		break;
	}
	free(out);
	return fn[0] ? 0 : -1;
}

static struct ll_core_analysis *analyze(const char *core, json_object *meta)
{
	struct ll_core_options o = { 0 };
	struct ll_core_analysis *a = NULL;
	char err[512] = "";
	int r;

	o.metadata = meta;
	o.errbuf = err;
	o.errbuf_size = sizeof(err);
	r = ll_core_analyze(core, &o, &a);
	if (r < 0)
		fprintf(stderr, "ll_core_analyze(%s): %d: %s\n", core, r, err);
	assert_int_equal(r, 0);
	assert_non_null(a);
	return a;
}

static char *print_text(const struct ll_core_analysis *a)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(ll_core_analysis_print(a, f, false), 0);
	fclose(f);
	return buf;
}

static const char *jget_str(json_object *o, const char *path)
{
	char buf[256], *save = NULL, *k;
	json_object *cur = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(cur, k, &cur))
			return NULL;
	return cur ? json_object_get_string(cur) : NULL;
}

static int jget_int(json_object *o, const char *path)
{
	const char *s = jget_str(o, path);

	return s ? atoi(s) : -9999;
}

static json_object *top_frame_json(json_object *j)
{
	json_object *threads, *frames;

	assert_true(json_object_object_get_ex(j, "threads", &threads));
	assert_true(json_object_array_length(threads) >= 1);
	assert_true(json_object_object_get_ex(json_object_array_get_idx(threads, 0), "frames", &frames));
	assert_true(json_object_array_length(frames) >= 1);
	return json_object_array_get_idx(frames, 0);
}

/* The checks every crash shares: top frame equals gdb's, signal, cause. */
static json_object *check_crash(const char *name, const char *arg, int signo, int code, const char *fault_kind,
				const char *cause, const char *expect_fn, struct ll_core_analysis **out)
{
	char *const argv[] = { (char *)prog(name), (char *)arg, NULL };
	char core[512], gdbfn[256];
	struct ll_core_analysis *a;
	json_object *j, *f;
	const char *top, *fn;
	char *text;

	assert_int_equal(crash(argv, core, sizeof(core)), 0);
	a = analyze(core, NULL);
	j = ll_core_analysis_json(a);
	assert_non_null(j);

	assert_int_equal(ll_core_analysis_signal(a), signo);
	assert_int_equal(jget_int(j, "signal.number"), signo);
	assert_int_equal(jget_int(j, "signal.code"), code);
	if (fault_kind)
		assert_string_equal(jget_str(j, "fault_kind"), fault_kind);
	assert_non_null(ll_core_analysis_cause(a));
	assert_string_equal(ll_core_analysis_cause(a), cause);

	f = top_frame_json(j);
	fn = jget_str(f, "function");
	top = ll_core_analysis_top_frame(a);
	assert_non_null(top);
	assert_int_equal(gdb_frame(argv[0], core, 0, gdbfn, sizeof(gdbfn)), 0);
	if (strcmp(gdbfn, "??") == 0) { /* gdb has no function either (pc 0) */
		assert_null(fn);
	} else {
		assert_non_null(fn);
		assert_string_equal(fn, gdbfn);
		assert_int_equal(strncmp(top, fn, strlen(fn)), 0);
	}
	if (expect_fn)
		assert_string_equal(fn, expect_fn);

	text = print_text(a);
	assert_non_null(strstr(text, "Crashing thread"));
	assert_non_null(strstr(text, "Fix:"));
	assert_non_null(strstr(text, "=>")); /* the faulting instruction is marked */
	free(text);
	if (out)
		*out = a;
	else
		ll_core_analysis_free(a);
	return j;
}

static void test_null_deref(void **state)
{
	struct ll_core_analysis *a;
	json_object *j = check_crash("analysis-null", NULL, SIGSEGV, 1 /* SEGV_MAPERR */, "null-deref",
				     "null-deref", "parse_record", &a);
	json_object *dis, *f = top_frame_json(j);
	bool marked = false;

	(void)state;
	assert_string_equal(jget_str(j, "signal.address"), "0x10");
	assert_non_null(strstr(jget_str(j, "signal.code_text"), "SEGV_MAPERR"));
	assert_non_null(strstr(jget_str(j, "fault"), "NULL"));
	/* registers: rip is the top frame's pc; the marked instruction is there */
	assert_string_equal(jget_str(j, "registers.rip"), jget_str(f, "pc"));
	assert_true(json_object_object_get_ex(j, "disassembly", &dis));
	for (size_t i = 0; i < json_object_array_length(dis); i++) {
		json_object *in = json_object_array_get_idx(dis, i), *cur;

		if (json_object_object_get_ex(in, "current", &cur) && json_object_get_boolean(cur)) {
			assert_string_equal(jget_str(in, "address"), jget_str(f, "pc"));
			assert_non_null(strstr(jget_str(in, "text"), "0x10"));
			marked = true;
		}
	}
	assert_true(marked);
	assert_non_null(strstr(jget_str(f, "file"), "analysis-null.c"));
	json_object_put(j);
	ll_core_analysis_free(a);
}

static void test_stack_overflow(void **state)
{
	struct ll_core_analysis *a;
	json_object *j = check_crash("analysis-recurse", NULL, SIGSEGV, 1, "stack-overflow", "stack-overflow",
				     "descend", &a);
	char *text = print_text(a);

	(void)state;
	assert_non_null(strstr(text, "stack overflow"));
	assert_non_null(strstr(text, "recursion"));
	assert_non_null(strstr(text, "increase the stack size"));
	free(text);
	json_object_put(j);
	ll_core_analysis_free(a);
}

static void test_assert(void **state)
{
	json_object *j = check_crash("analysis-assert", NULL, SIGABRT, -6 /* SI_TKILL */, NULL, "assertion",
				     NULL, NULL);
	const char *msg = jget_str(j, "abort_message");

	(void)state;
	assert_non_null(msg);
	assert_non_null(strstr(msg, "check_balance: Assertion `debits == credits && \"ledger out of "
				    "balance\"' failed."));
	json_object_put(j);
}

static void test_double_free(void **state)
{
	json_object *j = check_crash("analysis-doublefree", NULL, SIGABRT, -6, NULL, "double-free", NULL, NULL);
	json_object *causes;

	(void)state;
	assert_string_equal(jget_str(j, "abort_message"), "free(): double free detected in tcache 2");
	assert_true(json_object_object_get_ex(j, "causes", &causes));
	/* the program's own call is named, not only libc's internals */
	assert_non_null(strstr(jget_str(json_object_array_get_idx(causes, 0), "detail"),
			       "analysis-doublefree.c:"));
	json_object_put(j);
}

static void test_heap_corruption(void **state)
{
	json_object *j = check_crash("analysis-heap", NULL, SIGABRT, -6, NULL, "heap-corruption", NULL, NULL);

	(void)state;
	assert_string_equal(jget_str(j, "abort_message"), "malloc(): corrupted top size");
	json_object_put(j);
}

/* The frames of our own program are named alike by the shared symbolizer
 * and by libdwfl's DWARF reading (the two paths of core_symbolize.c). */
static void compare_symbolizers(const char *core, const char *exe_name)
{
	struct ll_core_options o = { 0 };
	struct ll_core_analysis *a1 = NULL, *a2 = NULL;
	json_object *j1, *j2, *t1, *t2;
	size_t same = 0;

	assert_int_equal(ll_core_analyze(core, &o, &a1), 0);
	o.dwfl_symbols = true;
	assert_int_equal(ll_core_analyze(core, &o, &a2), 0);
	j1 = ll_core_analysis_json(a1);
	j2 = ll_core_analysis_json(a2);
	assert_true(json_object_object_get_ex(j1, "threads", &t1));
	assert_true(json_object_object_get_ex(j2, "threads", &t2));
	assert_int_equal(json_object_array_length(t1), json_object_array_length(t2));
	for (size_t i = 0; i < json_object_array_length(t1); i++) {
		json_object *f1, *f2;

		json_object_object_get_ex(json_object_array_get_idx(t1, i), "frames", &f1);
		json_object_object_get_ex(json_object_array_get_idx(t2, i), "frames", &f2);
		assert_int_equal(json_object_array_length(f1), json_object_array_length(f2));
		for (size_t k = 0; k < json_object_array_length(f1); k++) {
			json_object *x = json_object_array_get_idx(f1, k), *y = json_object_array_get_idx(f2, k);

			if (!jget_str(x, "module") || strcmp(jget_str(x, "module"), exe_name) != 0)
				continue;
			assert_non_null(jget_str(x, "function"));
			assert_non_null(jget_str(y, "function"));
			assert_string_equal(jget_str(x, "function"), jget_str(y, "function"));
			assert_int_equal(jget_int(x, "line"), jget_int(y, "line"));
			same++;
		}
	}
	assert_true(same >= 3);
	json_object_put(j1);
	json_object_put(j2);
	ll_core_analysis_free(a1);
	ll_core_analysis_free(a2);
}

static void test_threads(void **state)
{
	json_object *j = check_crash("analysis-threads", NULL, SIGSEGV, 1, "null-deref", "null-deref",
				     "store_result", NULL);
	json_object *threads, *t, *v;
	bool idle = false;

	(void)state;
	assert_true(json_object_object_get_ex(j, "threads", &threads));
	assert_int_equal(json_object_array_length(threads), 3);
	assert_true(json_object_object_get_ex(json_object_array_get_idx(threads, 0), "crashed", &v));
	assert_true(json_object_get_boolean(v));
	for (size_t i = 1; i < 3; i++) {
		json_object *frames;

		t = json_object_array_get_idx(threads, i);
		assert_true(json_object_object_get_ex(t, "crashed", &v));
		assert_false(json_object_get_boolean(v));
		assert_true(json_object_object_get_ex(t, "frames", &frames));
		assert_true(json_object_array_length(frames) >= 2);
		for (size_t k = 0; k < json_object_array_length(frames); k++) {
			const char *fn = jget_str(json_object_array_get_idx(frames, k), "function");

			if (fn && strcmp(fn, "idle_worker") == 0)
				idle = true;
		}
	}
	assert_true(idle);
	compare_symbolizers(jget_str(j, "core"), "analysis-threads");
	json_object_put(j);
}

static void test_write_rodata(void **state)
{
	json_object *j = check_crash("analysis-misc", "rodata", SIGSEGV, 2 /* SEGV_ACCERR */,
				     "write-read-only", "write-read-only", "shout", NULL);

	(void)state;
	assert_non_null(strstr(jget_str(j, "fault"), "write to read-only mapping"));
	json_object_put(j);
}

static void test_exec_data(void **state)
{
	json_object *j = check_crash("analysis-misc", "exec", SIGSEGV, 2, "exec-non-exec", "bad-jump",
				     NULL, NULL);

	(void)state;
	assert_non_null(strstr(jget_str(j, "fault"), "not executable"));
	json_object_put(j);
}

/* pc 0: the caller comes from the return address the call pushed */
static void test_null_call(void **state)
{
	struct ll_core_analysis *a;
	json_object *j = check_crash("analysis-misc", "nullcall", SIGSEGV, 1, "null-call", "null-call",
				     NULL, &a);
	json_object *threads, *frames;
	char gdbfn[256], core[512];

	(void)state;
	assert_true(json_object_object_get_ex(j, "threads", &threads));
	assert_true(json_object_object_get_ex(json_object_array_get_idx(threads, 0), "frames", &frames));
	assert_true(json_object_array_length(frames) >= 2);
	assert_string_equal(jget_str(json_object_array_get_idx(frames, 1), "function"), "dispatch");
	snprintf(core, sizeof(core), "%s", jget_str(j, "core"));
	assert_int_equal(gdb_frame(prog("analysis-misc"), core, 1, gdbfn, sizeof(gdbfn)), 0);
	assert_string_equal(gdbfn, "dispatch");
	json_object_put(j);
	ll_core_analysis_free(a);
}

static void test_thread_stack_overflow(void **state)
{
	json_object *j = check_crash("analysis-misc", "thread-overflow", SIGSEGV, 2, "stack-overflow",
				     "stack-overflow", "spiral", NULL);

	(void)state;
	assert_non_null(strstr(jget_str(j, "fault"), "guard page"));
	json_object_put(j);
}

/* ---- C++: names demangled as c++filt does, the mangled one kept ---- */

static char *cxxfilt(const char *mangled)
{
	char *const argv[] = { "c++filt", NULL };
	char *out = NULL;
	size_t n;

	if (tu_run(argv, mangled, &out, NULL) != 0 || !out)
		return NULL;
	n = strlen(out);
	while (n && out[n - 1] == '\n')
		out[--n] = '\0';
	return out;
}

static void test_cxx_demangled(void **state)
{
	static const char lambda[] = "srv::handle(std::vector<srv::Conn, std::allocator<srv::Conn> >&, int)::"
				     "{lambda(srv::Conn const&)#1}::operator()(srv::Conn const&) const";
	char *const argv[] = { (char *)prog("analysis-cxx"), "crash", NULL };
	struct ll_core_options o = { 0 };
	struct ll_core_analysis *a;
	char core[512], *text, *want;
	json_object *j, *f, *threads, *frames;
	bool caller = false;

	(void)state;
	if (access(argv[0], X_OK) != 0 || access("/usr/bin/c++filt", X_OK) != 0) {
		print_message("skipped: no C++ compiler at build time or no c++filt\n");
		skip();
	}
	assert_int_equal(crash(argv, core, sizeof(core)), 0);
	a = analyze(core, NULL);
	j = ll_core_analysis_json(a);
	f = top_frame_json(j);
	assert_non_null(jget_str(f, "linkage_name"));
	assert_int_equal(strncmp(jget_str(f, "linkage_name"), "_ZZN3srv6handle", 15), 0);
	want = cxxfilt(jget_str(f, "linkage_name"));
	assert_non_null(want);
	assert_string_equal(jget_str(f, "function"), want);   /* what c++filt says */
	assert_string_equal(jget_str(f, "function"), lambda);  /* and what a person reads */
	free(want);
	assert_int_equal(strncmp(ll_core_analysis_top_frame(a), lambda, strlen(lambda)), 0);
	assert_true(json_object_object_get_ex(j, "threads", &threads));
	assert_true(json_object_object_get_ex(json_object_array_get_idx(threads, 0), "frames", &frames));
	for (size_t i = 1; i < json_object_array_length(frames); i++) {
		json_object *c = json_object_array_get_idx(frames, i);

		if (jget_str(c, "function") &&
		    strcmp(jget_str(c, "function"), "srv::handle(std::vector<srv::Conn, std::allocator<srv::Conn> >&, int)") == 0)
			caller = strcmp(jget_str(c, "linkage_name"), "_ZN3srv6handleERSt6vectorINS_4ConnESaIS1_EEi") == 0;
		if (jget_str(c, "function") && strcmp(jget_str(c, "function"), "main") == 0)
			assert_null(jget_str(c, "linkage_name")); /* a C name: as it is, no linkage_name */
	}
	assert_true(caller);
	text = print_text(a);
	assert_non_null(strstr(text, lambda));
	assert_non_null(strstr(jget_str(json_object_array_get_idx(json_object_object_get(j, "causes"), 0), "title"),
			       "srv::handle("));
	free(text);
	json_object_put(j);
	ll_core_analysis_free(a);

	/* no_demangle: the names as they are in the file */
	o.no_demangle = true;
	assert_int_equal(ll_core_analyze(core, &o, &a), 0);
	j = ll_core_analysis_json(a);
	f = top_frame_json(j);
	assert_int_equal(strncmp(jget_str(f, "function"), "_ZZN3srv6handle", 15), 0);
	assert_null(jget_str(f, "linkage_name"));
	assert_int_equal(strncmp(ll_core_analysis_top_frame(a), "_ZZN3srv6handle", 15), 0);
	json_object_put(j);
	ll_core_analysis_free(a);
	unlink(core);
}

static void test_divide_by_zero(void **state)
{
	json_object *j = check_crash("analysis-misc", "divzero", SIGFPE, 1 /* FPE_INTDIV */, NULL,
				     "divide-error", "ratio", NULL);

	(void)state;
	assert_non_null(strstr(jget_str(j, "signal.code_text"), "FPE_INTDIV"));
	json_object_put(j);
}

/* ---- a plugin overwritten in place (cp) while loaded ---- */

static double now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static json_object *stat_json(const char *path)
{
	struct stat st;
	json_object *o;

	if (stat(path, &st) != 0)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "inode", json_object_new_int64((int64_t)st.st_ino));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)st.st_size));
	json_object_object_add(o, "mtime", json_object_new_double(st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9));
	json_object_object_add(o, "ctime", json_object_new_double(st.st_ctim.tv_sec + st.st_ctim.tv_nsec / 1e9));
	json_object_object_add(o, "build_id", NULL);
	return o;
}

/* Metadata as the core_pattern helper writes it (docs/coredump-metadata.md):
 * the maps at crash time with each mapped file's stat. */
static json_object *metadata_from_maps(const char *maps, double start_time, const char *exe)
{
	json_object *m = json_object_new_object(), *arr = json_object_new_array();
	const char *line = maps;

	while (line && *line) {
		unsigned long long start, end, off, inode;
		char perms[8], dev[16], path[512] = "";
		int n = sscanf(line, "%llx-%llx %7s %llx %15s %llu %511[^\n]", &start, &end, perms, &off, dev,
			       &inode, path);
		const char *nl = strchr(line, '\n');

		if (n >= 6) {
			json_object *e = json_object_new_object();
			char hex[32];
			char *p = path;

			while (*p == ' ')
				p++;
			snprintf(hex, sizeof(hex), "0x%llx", start);
			json_object_object_add(e, "start", json_object_new_string(hex));
			snprintf(hex, sizeof(hex), "0x%llx", end);
			json_object_object_add(e, "end", json_object_new_string(hex));
			snprintf(hex, sizeof(hex), "0x%llx", off);
			json_object_object_add(e, "offset", json_object_new_string(hex));
			json_object_object_add(e, "perms", json_object_new_string(perms));
			json_object_object_add(e, "dev", json_object_new_string(dev));
			json_object_object_add(e, "inode", json_object_new_int64((int64_t)inode));
			json_object_object_add(e, "path", *p ? json_object_new_string(p) : NULL);
			json_object_object_add(e, "deleted", json_object_new_boolean(false));
			json_object_object_add(e, "file", inode && *p == '/' ? stat_json(p) : NULL);
			json_object_array_add(arr, e);
		}
		line = nl ? nl + 1 : NULL;
	}
	json_object_object_add(m, "maps", arr);
	json_object_object_add(m, "process_start_time", json_object_new_double(start_time));
	json_object_object_add(m, "exe", json_object_new_string(exe));
	return m;
}

/* Run the plugin host: it maps plugin.so, then the test copies a smaller
 * build over it with cp (the same inode, truncated and rewritten), recording
 * the metadata the core_pattern helper would, and lets the host go on: with
 * mode NULL it calls into the plugin, with "null" it crashes in its own code. */
static void host_crash_with(const char *mode, const char *new_plugin, char *plugin, size_t psize,
			    char *core, size_t size, json_object **meta)
{
	char plugdir[512], maps_path[64], *maps = NULL;
	char *argv[] = { (char *)prog("analysis-host"), plugin, (char *)mode, NULL };
	char *cp[] = { "cp", (char *)prog(new_plugin), plugin, NULL };
	char *cp0[] = { "cp", (char *)prog("analysis-plugin.so"), plugin, NULL };
	double start;
	char line[16];
	int io[2], r = -ENOENT;
	pid_t pid;

	snprintf(plugdir, sizeof(plugdir), "%s/plugins-%s-%s", tmpdir, mode ? mode : "call", new_plugin);
	mkdir(plugdir, 0755);
	snprintf(plugin, psize, "%s/plugin.so", plugdir);
	*meta = NULL;
	for (int attempt = 0; attempt < 5 && r == -ENOENT; attempt++) {
		FILE *f;
		size_t len = 0;

		unlink(plugin);
		assert_int_equal(tu_run(cp0, NULL, NULL, NULL), 0);
		assert_int_equal(set_pattern(), 0);
		start = now_real();
		pid = spawn(argv, io);
		assert_true(pid > 0);
		assert_true(read(io[1], line, sizeof(line)) > 0); /* "ready": the plugin is mapped */
		snprintf(maps_path, sizeof(maps_path), "/proc/%d/maps", pid);
		free(maps);
		maps = NULL;
		f = fopen(maps_path, "re");
		assert_non_null(f);
		assert_true(getdelim(&maps, &len, '\0', f) > 0);
		fclose(f);
		/* the operator's mistake: cp over the loaded library (same inode),
		 * later than the clock tick and timestamp granularity the analysis
		 * allows around the start (a write within them is taken for one
		 * before the start: see test_core_hostile.c's mtime boundary) */
		usleep(100 * 1000);
		assert_int_equal(tu_run(cp, NULL, NULL, NULL), 0);
		json_object_put(*meta);
		*meta = metadata_from_maps(maps, start, argv[0]);
		assert_int_equal(write(io[0], "go\n", 3), 3);
		close(io[0]);
		close(io[1]);
		r = reap_core(pid, core, size);
	}
	free(maps);
	assert_int_equal(r, 0);
}

static void host_crash(const char *mode, char *plugin, size_t psize, char *core, size_t size,
		       json_object **meta)
{
	host_crash_with(mode, "analysis-plugin-small.so", plugin, psize, core, size, meta);
}

static void test_modified_in_place(void **state)
{
	char plugin[600], core[512];
	struct ll_core_analysis *a;
	json_object *meta = NULL, *j, *mods, *causes;
	bool replaced = false;
	char *text;

	(void)state;
	host_crash(NULL, plugin, sizeof(plugin), core, sizeof(core), &meta);

	/* with the helper's metadata: a fact */
	a = analyze(core, meta);
	j = ll_core_analysis_json(a);
	assert_int_equal(jget_int(j, "signal.number"), SIGBUS);
	assert_int_equal(jget_int(j, "signal.code"), 2 /* BUS_ADRERR */);
	assert_string_equal(jget_str(j, "fault_kind"), "beyond-eof");
	assert_string_equal(ll_core_analysis_cause(a), "modified-in-place");
	assert_true(json_object_object_get_ex(j, "causes", &causes));
	assert_non_null(strstr(jget_str(json_object_array_get_idx(causes, 0), "title"),
			       "plugin.so was modified in place (cp over a loaded library) after the "
			       "process mapped it"));
	assert_non_null(strstr(jget_str(json_object_array_get_idx(causes, 0), "fix"), "lifeline install"));
	assert_string_equal(jget_str(json_object_array_get_idx(causes, 0), "hint"), "false");
	/* the plugin's build-id differs now: reported, its frames not symbolized */
	assert_true(json_object_object_get_ex(j, "modules", &mods));
	for (size_t i = 0; i < json_object_array_length(mods); i++) {
		json_object *m = json_object_array_get_idx(mods, i);

		if (strcmp(jget_str(m, "name"), plugin) == 0) {
			assert_string_equal(jget_str(m, "status"), "modified-in-place");
			replaced = true;
		}
	}
	assert_true(replaced);
	assert_null(jget_str(top_frame_json(j), "function"));
	assert_string_equal(jget_str(top_frame_json(j), "module"), "plugin.so");
	text = print_text(a);
	assert_non_null(strstr(text, "plugin.so was modified in place while mapped"));
	assert_non_null(strstr(text, "frames in it are not symbolized"));
	free(text);
	json_object_put(j);
	ll_core_analysis_free(a);

	/* without metadata: the SIGBUS past the end of the file is still a fact */
	a = analyze(core, NULL);
	j = ll_core_analysis_json(a);
	assert_string_equal(ll_core_analysis_cause(a), "modified-in-place");
	assert_true(json_object_object_get_ex(j, "causes", &causes));
	assert_string_equal(jget_str(json_object_array_get_idx(causes, 0), "hint"), "false");
	assert_null(jget_str(top_frame_json(j), "function"));
	json_object_put(j);
	ll_core_analysis_free(a);
	json_object_put(meta);
}

/* The plugin is overwritten in place but the crash is elsewhere: with the
 * metadata it is named (not first); without, a hint from its size now. */
static void test_modified_elsewhere(void **state)
{
	char plugin[600], core[512];
	struct ll_core_analysis *a;
	json_object *meta = NULL, *j, *causes;
	bool found = false;

	(void)state;
	host_crash("null", plugin, sizeof(plugin), core, sizeof(core), &meta);

	a = analyze(core, meta);
	j = ll_core_analysis_json(a);
	assert_int_equal(jget_int(j, "signal.number"), SIGSEGV);
	assert_string_equal(ll_core_analysis_cause(a), "null-deref");
	assert_string_equal(jget_str(top_frame_json(j), "function"), "host_step");
	assert_true(json_object_object_get_ex(j, "causes", &causes));
	for (size_t i = 0; i < json_object_array_length(causes); i++) {
		json_object *c = json_object_array_get_idx(causes, i);

		if (strcmp(jget_str(c, "kind"), "modified-in-place") == 0) {
			assert_string_equal(jget_str(c, "hint"), "false");
			assert_non_null(strstr(jget_str(c, "title"), "plugin.so was modified in place"));
			found = true;
		}
	}
	assert_true(found);
	json_object_put(j);
	ll_core_analysis_free(a);

	a = analyze(core, NULL);
	j = ll_core_analysis_json(a);
	assert_string_equal(ll_core_analysis_cause(a), "null-deref");
	assert_true(json_object_object_get_ex(j, "causes", &causes));
	found = false;
	for (size_t i = 0; i < json_object_array_length(causes); i++) {
		json_object *c = json_object_array_get_idx(causes, i);

		if (strcmp(jget_str(c, "kind"), "modified-in-place") == 0) {
			assert_string_equal(jget_str(c, "hint"), "true");
			assert_non_null(strstr(jget_str(c, "detail"), "hint only"));
			assert_non_null(strstr(jget_str(c, "detail"), "shorter than the mapping"));
			found = true;
		}
	}
	assert_true(found);
	json_object_put(j);
	ll_core_analysis_free(a);
	json_object_put(meta);
}

/* The same bytes copied over the loaded plugin (same size, new mtime): the
 * metadata shows an in-place write after the start; today's file gives no
 * reason for a hint. */
static void test_modified_same_size(void **state)
{
	char plugin[600], core[512];
	struct ll_core_analysis *a;
	json_object *meta = NULL, *j, *causes;
	bool found = false;

	(void)state;
	host_crash_with("null", "analysis-plugin.so", plugin, sizeof(plugin), core, sizeof(core), &meta);
	a = analyze(core, meta);
	j = ll_core_analysis_json(a);
	assert_string_equal(ll_core_analysis_cause(a), "null-deref");
	assert_true(json_object_object_get_ex(j, "causes", &causes));
	for (size_t i = 0; i < json_object_array_length(causes); i++) {
		json_object *c = json_object_array_get_idx(causes, i);

		if (strcmp(jget_str(c, "kind"), "modified-in-place") == 0) {
			assert_non_null(strstr(jget_str(c, "detail"), "modified after the process started"));
			assert_null(strstr(jget_str(c, "detail"), "shorter"));
			found = true;
		}
	}
	assert_true(found);
	json_object_put(j);
	ll_core_analysis_free(a);

	a = analyze(core, NULL);
	j = ll_core_analysis_json(a);
	assert_true(json_object_object_get_ex(j, "causes", &causes));
	assert_int_equal(json_object_array_length(causes), 1); /* the NULL dereference only */
	assert_string_equal(jget_str(module_named(j, plugin), "status"), "ok");
	json_object_put(j);
	ll_core_analysis_free(a);
	json_object_put(meta);
}

/* Without metadata and without a SIGBUS: only the hint from today's file. */
static void test_modified_hint_only(void **state)
{
	(void)state;
	/* covered by the second half of test_modified_in_place for the size hint;
	 * here the build-id hint for a module replaced after a crash elsewhere */
	char exe[600], core[512];
	char *argv[] = { exe, NULL };
	char *cp[] = { "cp", (char *)prog("analysis-null"), exe, NULL };
	/* a larger ELF file: the hint about a file now shorter than its mapping must not fire */
	char *cp2[] = { "cp", (char *)prog("analysis-plugin.so"), exe, NULL };
	struct ll_core_analysis *a;
	json_object *j, *mods;
	char *text;
	bool seen = false;

	snprintf(exe, sizeof(exe), "%s/replaced-exe", tmpdir);
	unlink(exe);
	assert_int_equal(tu_run(cp, NULL, NULL, NULL), 0);
	assert_int_equal(crash(argv, core, sizeof(core)), 0);
	/* replaced after the crash, by a new file (not in place) */
	assert_int_equal(unlink(exe), 0);
	assert_int_equal(tu_run(cp2, NULL, NULL, NULL), 0);
	a = analyze(core, NULL);
	j = ll_core_analysis_json(a);
	assert_string_equal(ll_core_analysis_cause(a), "null-deref"); /* still the real cause */
	assert_true(json_object_object_get_ex(j, "modules", &mods));
	for (size_t i = 0; i < json_object_array_length(mods); i++) {
		json_object *m = json_object_array_get_idx(mods, i);

		if (strcmp(jget_str(m, "name"), exe) == 0) {
			assert_string_equal(jget_str(m, "status"), "replaced");
			assert_non_null(jget_str(m, "disk_build_id"));
			assert_string_not_equal(jget_str(m, "disk_build_id"), jget_str(m, "build_id"));
			seen = true;
		}
	}
	assert_true(seen);
	/* never symbolized with the wrong file */
	assert_null(jget_str(top_frame_json(j), "function"));
	text = print_text(a);
	assert_non_null(strstr(text, "replaced-exe was replaced since the crash (build-id differs"));
	assert_non_null(strstr(text, "Hint"));
	free(text);
	json_object_put(j);
	ll_core_analysis_free(a);
}

static struct ll_core_analysis *analyze_with(const char *core, const char *exe_hint, const char *debug_dir)
{
	struct ll_core_options o = { 0 };
	struct ll_core_analysis *a = NULL;

	o.exe_hint = exe_hint;
	o.debug_dir = debug_dir;
	assert_int_equal(ll_core_analyze(core, &o, &a), 0);
	return a;
}

static json_object *module_named(json_object *j, const char *name)
{
	json_object *mods;

	assert_true(json_object_object_get_ex(j, "modules", &mods));
	for (size_t i = 0; i < json_object_array_length(mods); i++)
		if (strcmp(jget_str(json_object_array_get_idx(mods, i), "name"), name) == 0)
			return json_object_array_get_idx(mods, i);
	fail_msg("no module %s", name);
	return NULL;
}

/* The executable is gone after the crash: found again by build-id, through
 * the exe the caller names or a debug directory's .build-id tree. */
static void test_build_id_lookup(void **state)
{
	char exe[600], core[512], dbg[600], dbgfile[1200], dir[800];
	char *argv[] = { exe, NULL };
	char *cp[] = { "cp", (char *)prog("analysis-null"), exe, NULL };
	char *keep[] = { "objcopy", "--only-keep-debug", (char *)prog("analysis-null"), dbgfile, NULL };
	struct ll_core_analysis *a;
	json_object *j, *m;
	char bid[130];

	(void)state;
	snprintf(exe, sizeof(exe), "%s/gone-exe", tmpdir);
	unlink(exe);
	assert_int_equal(tu_run(cp, NULL, NULL, NULL), 0);
	assert_int_equal(crash(argv, core, sizeof(core)), 0);
	assert_int_equal(unlink(exe), 0);

	a = analyze_with(core, NULL, tmpdir); /* no debug files there */
	j = ll_core_analysis_json(a);
	m = module_named(j, exe);
	assert_string_equal(jget_str(m, "status"), "missing");
	assert_null(jget_str(top_frame_json(j), "function"));
	assert_string_equal(ll_core_analysis_cause(a), "null-deref");
	assert_non_null(jget_str(m, "build_id"));
	snprintf(bid, sizeof(bid), "%s", jget_str(m, "build_id"));
	snprintf(dbg, sizeof(dbg), "%s/debug", tmpdir);
	snprintf(dir, sizeof(dir), "%s/.build-id/%.2s", dbg, bid);
	snprintf(dbgfile, sizeof(dbgfile), "%s/%s.debug", dir, bid + 2);
	json_object_put(j);
	ll_core_analysis_free(a);

	a = analyze_with(core, prog("analysis-null"), tmpdir);
	j = ll_core_analysis_json(a);
	assert_string_equal(jget_str(module_named(j, exe), "status"), "ok");
	assert_string_equal(jget_str(top_frame_json(j), "function"), "parse_record");
	json_object_put(j);
	ll_core_analysis_free(a);

	mkdir(dbg, 0755);
	snprintf(dbgfile, sizeof(dbgfile), "%s/.build-id", dbg);
	mkdir(dbgfile, 0755);
	mkdir(dir, 0755);
	snprintf(dbgfile, sizeof(dbgfile), "%s/%s.debug", dir, bid + 2);
	assert_int_equal(tu_run(keep, NULL, NULL, NULL), 0);
	a = analyze_with(core, NULL, dbg);
	j = ll_core_analysis_json(a);
	assert_string_equal(jget_str(module_named(j, exe), "status"), "debug-file-only");
	assert_string_equal(jget_str(top_frame_json(j), "function"), "parse_record");
	assert_non_null(strstr(jget_str(top_frame_json(j), "file"), "analysis-null.c"));
	json_object_put(j);
	ll_core_analysis_free(a);
}

static bool in_path(const char *tool)
{
	char *const argv[] = { "sh", "-c", "command -v \"$0\" >/dev/null", (char *)tool, NULL };

	return tu_run(argv, NULL, NULL, NULL) == 0;
}

/* A foreign architecture: an aarch64 program crashed under qemu-user (whose
 * cores have no NT_FILE and no NT_SIGINFO), analysed on this x86_64 box with
 * the executable named by the caller. */
static void test_foreign_arch(void **state)
{
	char dir[600], exe[700], core[900] = "", pc[32];
	char *cc[] = { "aarch64-linux-gnu-gcc", "-g", "-O2", "-static", "-o", exe,
		       (char *)tu_source_path("examples/coredump/analysis-null.c"), NULL };
	struct ll_core_analysis *a;
	json_object *j, *f, *dis;
	struct dirent *de;
	pid_t pid;
	DIR *d;
	bool marked = false;

	(void)state;
	if (!in_path("aarch64-linux-gnu-gcc") || !in_path("qemu-aarch64")) {
		printf("skipped: needs aarch64-linux-gnu-gcc and qemu-aarch64 (scripts/packages.txt)\n");
		skip();
	}
	snprintf(dir, sizeof(dir), "%s/arm64", tmpdir);
	mkdir(dir, 0755);
	snprintf(exe, sizeof(exe), "%s/null-arm64", dir);
	assert_int_equal(tu_run(cc, NULL, NULL, NULL), 0);
	assert_int_equal(set_pattern(), 0); /* qemu itself dies of the signal too */
	pid = fork();
	if (pid == 0) {
		struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
		int null = open("/dev/null", O_RDWR);

		setrlimit(RLIMIT_CORE, &rl);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (chdir(dir) == 0)
			execlp("qemu-aarch64", "qemu-aarch64", exe, (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "qemu_", 5) == 0)
			snprintf(core, sizeof(core), "%s/%s", dir, de->d_name);
	closedir(d);
	assert_true(core[0] != '\0');

	a = analyze_with(core, exe, NULL);
	j = ll_core_analysis_json(a);
	assert_string_equal(jget_str(j, "arch"), "aarch64");
	assert_int_equal(jget_int(j, "signal.number"), SIGSEGV);
	f = top_frame_json(j);
	assert_string_equal(jget_str(f, "function"), "parse_record");
	assert_non_null(strstr(jget_str(f, "file"), "analysis-null.c"));
	assert_string_equal(jget_str(j, "registers.pc"), jget_str(f, "pc"));
	assert_non_null(jget_str(j, "registers.x30"));
	snprintf(pc, sizeof(pc), "%s", jget_str(f, "pc"));
	assert_true(json_object_object_get_ex(j, "disassembly", &dis));
	for (size_t i = 0; i < json_object_array_length(dis); i++) {
		json_object *in = json_object_array_get_idx(dis, i), *cur;

		if (json_object_object_get_ex(in, "current", &cur) && json_object_get_boolean(cur)) {
			assert_string_equal(jget_str(in, "address"), pc);
			assert_non_null(strstr(jget_str(in, "text"), "ldr")); /* an ARM64 load */
			marked = true;
		}
	}
	assert_true(marked);
	assert_string_equal(jget_str(module_named(j, exe), "status"), "unverified");
	json_object_put(j);
	ll_core_analysis_free(a);

	/* without the executable: still analysed, frames unsymbolized */
	a = analyze_with(core, NULL, NULL);
	j = ll_core_analysis_json(a);
	assert_string_equal(jget_str(j, "arch"), "aarch64");
	assert_null(jget_str(top_frame_json(j), "function"));
	json_object_put(j);
	ll_core_analysis_free(a);
}

/* The executable is unlinked while it runs (an upgrade renames a new file
 * over it): the core names it "PATH (deleted)". */
static void test_deleted_exe(void **state)
{
	char exe[600], core[512], line[16];
	char *argv[] = { exe, (char *)prog("analysis-plugin.so"), "null", NULL };
	char *cp[] = { "cp", (char *)prog("analysis-host"), exe, NULL };
	struct ll_core_analysis *a;
	json_object *j, *mods;
	int io[2], r = -ENOENT;
	bool seen = false;
	char *text;

	(void)state;
	snprintf(exe, sizeof(exe), "%s/host-del", tmpdir);
	for (int attempt = 0; attempt < 5 && r == -ENOENT; attempt++) {
		pid_t pid;

		unlink(exe);
		assert_int_equal(tu_run(cp, NULL, NULL, NULL), 0);
		assert_int_equal(set_pattern(), 0);
		pid = spawn(argv, io);
		assert_true(pid > 0);
		assert_true(read(io[1], line, sizeof(line)) > 0);
		assert_int_equal(unlink(exe), 0);
		assert_int_equal(write(io[0], "go\n", 3), 3);
		close(io[0]);
		close(io[1]);
		r = reap_core(pid, core, sizeof(core));
	}
	assert_int_equal(r, 0);

	a = analyze(core, NULL);
	j = ll_core_analysis_json(a);
	assert_string_equal(ll_core_analysis_cause(a), "null-deref");
	assert_true(json_object_object_get_ex(j, "modules", &mods));
	for (size_t i = 0; i < json_object_array_length(mods); i++) {
		json_object *m = json_object_array_get_idx(mods, i);

		if (strstr(jget_str(m, "name"), "host-del (deleted)")) {
			assert_string_equal(jget_str(m, "status"), "missing");
			seen = true;
		}
	}
	assert_true(seen);
	assert_null(jget_str(top_frame_json(j), "function"));
	text = print_text(a);
	assert_non_null(strstr(text, "had been deleted"));
	free(text);
	json_object_put(j);
	ll_core_analysis_free(a);

	/* the same build re-installed at the path: found, checked by build-id */
	assert_int_equal(tu_run(cp, NULL, NULL, NULL), 0);
	a = analyze(core, NULL);
	j = ll_core_analysis_json(a);
	assert_string_equal(jget_str(top_frame_json(j), "function"), "host_step");
	json_object_put(j);
	ll_core_analysis_free(a);
}

/* SIGQUIT sent by another process: not a bug of the program, and said so. */
static void test_killed(void **state)
{
	char *argv[] = { (char *)prog("analysis-host"), (char *)prog("analysis-plugin.so"), NULL };
	char core[512], line[16];
	struct ll_core_analysis *a;
	json_object *j;
	int io[2], r = -ENOENT;

	(void)state;
	for (int attempt = 0; attempt < 5 && r == -ENOENT; attempt++) {
		pid_t pid;

		assert_int_equal(set_pattern(), 0);
		pid = spawn(argv, io);
		assert_true(pid > 0);
		assert_true(read(io[1], line, sizeof(line)) > 0);
		assert_int_equal(kill(pid, SIGQUIT), 0);
		r = reap_core(pid, core, sizeof(core));
		close(io[0]);
		close(io[1]);
	}
	assert_int_equal(r, 0);
	a = analyze(core, NULL);
	j = ll_core_analysis_json(a);
	assert_int_equal(jget_int(j, "signal.number"), SIGQUIT);
	assert_int_equal(jget_int(j, "signal.code"), 0 /* SI_USER */);
	assert_int_equal(jget_int(j, "signal.sender_pid"), getpid());
	assert_string_equal(ll_core_analysis_cause(a), "killed");
	json_object_put(j);
	ll_core_analysis_free(a);
}

/* ---- bad input ---- */

static int copy_prefix(const char *from, const char *to, off_t len)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char buf[65536];
	off_t done = 0;
	int r = 0;

	if (in < 0 || out < 0)
		r = -errno;
	while (r == 0 && done < len) {
		ssize_t n = read(in, buf, (size_t)(len - done) < sizeof(buf) ? (size_t)(len - done) : sizeof(buf));

		if (n <= 0 || write(out, buf, (size_t)n) != n)
			r = -EIO;
		done += n;
	}
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return r;
}

static void test_truncated(void **state)
{
	char *const argv[] = { (char *)prog("analysis-threads"), NULL };
	char core[512], half[600], tiny[600];
	struct ll_core_options o = { 0 };
	struct ll_core_analysis *a = NULL;
	char err[512];
	struct stat st;
	json_object *j;
	char *text;

	(void)state;
	assert_int_equal(crash(argv, core, sizeof(core)), 0);
	assert_int_equal(stat(core, &st), 0);
	snprintf(half, sizeof(half), "%s.half", core);
	assert_int_equal(copy_prefix(core, half, st.st_size / 2), 0);
	a = analyze(half, NULL);
	j = ll_core_analysis_json(a);
	assert_string_equal(jget_str(j, "truncated"), "true");
	assert_int_equal(jget_int(j, "signal.number"), SIGSEGV);
	text = print_text(a);
	assert_non_null(strstr(text, "truncated"));
	free(text);
	{
		/* libc's headers are past the cut: placed from NT_FILE, unverified;
		 * with the build-ids the helper records at crash time, checked */
		json_object *mods, *meta, *maps = json_object_new_array(), *full_j;
		struct ll_core_analysis *full = analyze(core, NULL);
		const char *libc = NULL;

		full_j = ll_core_analysis_json(full);
		assert_true(json_object_object_get_ex(full_j, "modules", &mods));
		for (size_t i = 0; i < json_object_array_length(mods); i++) {
			json_object *m = json_object_array_get_idx(mods, i), *e, *f;

			if (jget_str(m, "name")[0] != '/' || !jget_str(m, "build_id"))
				continue;
			if (strstr(jget_str(m, "name"), "/libc.so"))
				libc = jget_str(m, "name");
			e = json_object_new_object();
			f = json_object_new_object();
			json_object_object_add(e, "start", json_object_new_string(jget_str(m, "start")));
			json_object_object_add(e, "end", json_object_new_string(jget_str(m, "end")));
			json_object_object_add(e, "offset", json_object_new_string("0x0"));
			json_object_object_add(e, "perms", json_object_new_string("r-xp"));
			json_object_object_add(e, "inode", json_object_new_int(0));
			json_object_object_add(e, "path", json_object_new_string(jget_str(m, "name")));
			json_object_object_add(f, "build_id", json_object_new_string(jget_str(m, "build_id")));
			json_object_object_add(e, "file", f);
			json_object_array_add(maps, e);
		}
		assert_non_null(libc);
		/* (libc lies after the thread stacks, so past the cut; if a kernel
		 * ever orders them otherwise, its headers are there: "ok") */
		assert_true(strcmp(jget_str(module_named(j, libc), "status"), "unverified") == 0 ||
			    strcmp(jget_str(module_named(j, libc), "status"), "ok") == 0);
		meta = json_object_new_object();
		json_object_object_add(meta, "maps", maps);
		ll_core_analysis_free(a);
		json_object_put(j);
		a = analyze(half, meta);
		j = ll_core_analysis_json(a);
		assert_string_equal(jget_str(module_named(j, libc), "status"), "ok");
		json_object_put(meta);
		json_object_put(full_j);
		ll_core_analysis_free(full);
	}
	json_object_put(j);
	ll_core_analysis_free(a);

	/* cut inside the program headers: nothing to analyse */
	snprintf(tiny, sizeof(tiny), "%s.tiny", core);
	assert_int_equal(copy_prefix(core, tiny, 100), 0);
	o.errbuf = err;
	o.errbuf_size = sizeof(err);
	a = NULL;
	assert_int_equal(ll_core_analyze(tiny, &o, &a), -EINVAL);
	assert_null(a);
	assert_non_null(strstr(err, "truncated"));
	assert_int_equal(copy_prefix(core, tiny, 10), 0);
	assert_int_equal(ll_core_analyze(tiny, &o, &a), -EINVAL);
	assert_non_null(strstr(err, "truncated"));
}

/* Corrupted headers and notes (what a hostile process could hand the
 * helper): every variant is analysed or refused, never a crash (the ASan
 * build checks the memory accesses). */
static void test_corrupted(void **state)
{
	char *const argv[] = { (char *)prog("analysis-threads"), NULL };
	char core[512], bad[600];
	unsigned long long seed = 0x5eed1234abcdULL;
	struct stat st;
	int analysed = 0;

	(void)state;
	assert_int_equal(crash(argv, core, sizeof(core)), 0);
	assert_int_equal(stat(core, &st), 0);
	snprintf(bad, sizeof(bad), "%s.bad", core);
	for (int i = 0; i < 60; i++) {
		struct ll_core_analysis *a = NULL;
		off_t span = st.st_size < 16384 ? st.st_size : 16384;
		int fd, r;

		assert_int_equal(copy_prefix(core, bad, st.st_size), 0);
		fd = open(bad, O_WRONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		for (int k = 0; k < 1 + i % 16; k++) {
			unsigned char b;
			off_t off;

			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			off = (off_t)((seed >> 33) % (unsigned long long)span);
			b = (unsigned char)(seed >> 20);
			assert_int_equal(pwrite(fd, &b, 1, off), 1);
		}
		close(fd);
		r = ll_core_analyze(bad, NULL, &a);
		if (r == 0) {
			FILE *f = fopen("/dev/null", "we");
			json_object *j = ll_core_analysis_json(a);

			assert_non_null(j);
			assert_non_null(f);
			ll_core_analysis_print(a, f, true);
			fclose(f);
			json_object_put(j);
			analysed++;
		} else {
			assert_true(r == -ENOEXEC || r == -EINVAL);
			assert_null(a);
		}
		ll_core_analysis_free(a);
	}
	assert_true(analysed > 0);
}

/* Metadata with wrong types and missing keys: ignored where it makes no
 * sense, never a crash; the core alone still gives the analysis. */
static void test_bad_metadata(void **state)
{
	char *const argv[] = { (char *)prog("analysis-null"), NULL };
	static const char *const bad[] = {
		"{}",
		"{\"maps\": 7, \"process_start_time\": \"yesterday\", \"exe\": 3}",
		"{\"maps\": [1, \"x\", null, {\"start\": \"zz\", \"end\": \"0x10\"}], \"exe\": null}",
		"{\"maps\": [{\"start\": \"0x1000\", \"end\": \"0x0\"}, {\"start\": 4096, \"end\": 8192, "
		"\"perms\": 5, \"path\": 9, \"file\": {\"inode\": \"a\", \"size\": -1, \"mtime\": null}}]}",
		"{\"maps\": [{\"start\": \"0x0\", \"end\": \"0xffffffffffffffff\", \"perms\": \"r\", "
		"\"path\": \"/\", \"inode\": 1, \"file\": {\"inode\": 1, \"size\": 0, \"mtime\": 1e300}}], "
		"\"process_start_time\": -5}",
	};
	char core[512];

	(void)state;
	assert_int_equal(crash(argv, core, sizeof(core)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_object *meta = json_tokener_parse(bad[i]);
		struct ll_core_analysis *a;
		json_object *j;
		char *text;

		assert_non_null(meta);
		a = analyze(core, meta);
		j = ll_core_analysis_json(a);
		assert_int_equal(jget_int(j, "signal.number"), SIGSEGV);
		text = print_text(a);
		assert_non_null(strstr(text, "parse_record"));
		free(text);
		json_object_put(j);
		ll_core_analysis_free(a);
		json_object_put(meta);
	}
}

static void test_not_a_core(void **state)
{
	struct ll_core_options o = { 0 };
	struct ll_core_analysis *a = NULL;
	char err[512] = "", text[600];
	FILE *f;

	(void)state;
	o.errbuf = err;
	o.errbuf_size = sizeof(err);
	/* an ELF executable */
	assert_int_equal(ll_core_analyze(prog("analysis-null"), &o, &a), -ENOEXEC);
	assert_null(a);
	assert_non_null(strstr(err, "not a core file"));
	/* a text file */
	snprintf(text, sizeof(text), "%s/notes.txt", tmpdir);
	f = fopen(text, "we");
	assert_non_null(f);
	fputs("this is not a core\n", f);
	fclose(f);
	assert_int_equal(ll_core_analyze(text, &o, &a), -ENOEXEC);
	assert_non_null(strstr(err, "not an ELF core file"));
	/* an empty file, a directory, a missing file */
	f = fopen(text, "we");
	fclose(f);
	assert_int_equal(ll_core_analyze(text, &o, &a), -ENOEXEC);
	assert_int_equal(ll_core_analyze(tmpdir, &o, &a), -EINVAL);
	snprintf(text, sizeof(text), "%s/missing", tmpdir);
	assert_int_equal(ll_core_analyze(text, &o, &a), -ENOENT);
	assert_non_null(strstr(err, "missing"));
	/* the helpers accept NULL */
	ll_core_analysis_free(NULL);
	assert_null(ll_core_analysis_top_frame(NULL));
	assert_null(ll_core_analysis_json(NULL));
}

static bool have_gdb(void)
{
	char *const argv[] = { "gdb", "--version", NULL };

	return tu_run(argv, NULL, NULL, NULL) == 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_deref),
		cmocka_unit_test(test_stack_overflow),
		cmocka_unit_test(test_assert),
		cmocka_unit_test(test_double_free),
		cmocka_unit_test(test_heap_corruption),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_write_rodata),
		cmocka_unit_test(test_exec_data),
		cmocka_unit_test(test_null_call),
		cmocka_unit_test(test_thread_stack_overflow),
		cmocka_unit_test(test_divide_by_zero),
		cmocka_unit_test(test_cxx_demangled),
		cmocka_unit_test(test_modified_in_place),
		cmocka_unit_test(test_modified_elsewhere),
		cmocka_unit_test(test_modified_same_size),
		cmocka_unit_test(test_modified_hint_only),
		cmocka_unit_test(test_build_id_lookup),
		cmocka_unit_test(test_foreign_arch),
		cmocka_unit_test(test_deleted_exe),
		cmocka_unit_test(test_killed),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupted),
		cmocka_unit_test(test_bad_metadata),
		cmocka_unit_test(test_not_a_core),
	};

	if (geteuid() != 0) {
		printf("skipped: setting core_pattern needs root\n");
		return TU_SKIP;
	}
	if (!have_gdb()) {
		printf("skipped: gdb is not installed (the top frames are compared with its)\n");
		return TU_SKIP;
	}
	tu_save_global_state();
	if (tu_mkdtemp(tmpdir, sizeof(tmpdir)) < 0) {
		printf("cannot create a temporary directory\n");
		return 1;
	}
	chmod(tmpdir, 0755);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
