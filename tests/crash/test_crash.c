/* test_crash.c: the crash reporter on 12 kinds of crash, in one of two forms
 * (argv[1]): "linked" runs crashme-linked, which calls ll_crash_install();
 * "preload" runs the plain crashme under LD_PRELOAD=liblifeline-crash.so.
 *
 * For each kind the child runs with RLIMIT_CORE unlimited and core_pattern
 * pointing into a temp directory (both restored at exit, even on failure:
 * tu_save_global_state), and the test checks what a user would: the exit
 * status is the signal, the kernel dumped a core file, there is exactly one
 * report, its Signal line names the signal and si_code, and the first frame
 * in the test program's own code names the function that crashed -- and
 * addr2line, given that frame's module+offset, names the same function. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

extern char **environ;

#define STR_(x) #x
#define STR(x) STR_(x)

static const char *form;         /* "linked" or "preload" */
static char coredir[512];
static char preload_value[8192];  /* LD_PRELOAD for the preload form */
static int stderr_override = -1;  /* child's stderr instead of the capture file */

struct run {
	int status;
	pid_t pid;
	char *err;    /* stderr: the report */
};

/* Run crashme KIND with extra environment entries; stderr captured. */
static int run_crashme(const char *kind, const char *const *extra_env, int extra_fd, struct run *r)
{
	char errpath[] = "/tmp/crash-test-err-XXXXXX";
	const char *prog = tu_build_path(!strcmp(form, "linked") ? "examples/crash/crashme-linked"
								  : "examples/crash/crashme");
	char progbuf[4096], asan[1024], pre[8300];
	char *envp[256];
	size_t ne = 0;
	int efd = mkstemp(errpath);
	pid_t pid;

	snprintf(progbuf, sizeof(progbuf), "%s", prog);
	if (efd < 0)
		return -errno;
	unlink(errpath);
	for (char **e = environ; *e && ne < 200; e++) {
		if (!strncmp(*e, "LIFELINE_CRASH_", 15) || !strncmp(*e, "LD_PRELOAD=", 11) ||
		    !strncmp(*e, "ASAN_OPTIONS=", 13))
			continue;
		envp[ne++] = *e;
	}
	/* ASan disables core dumps by default (disable_coredump=1). */
	snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s:disable_coredump=0",
		 getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "");
	envp[ne++] = asan;
	if (!strcmp(form, "preload")) {
		snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", preload_value);
		envp[ne++] = pre;
	}
	for (size_t i = 0; extra_env && extra_env[i]; i++)
		envp[ne++] = (char *)extra_env[i];
	envp[ne] = NULL;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
		char *argv[] = { progbuf, (char *)kind, NULL };
		int devnull = open("/dev/null", O_RDWR);

		setrlimit(RLIMIT_CORE, &rl);
		/* As a service would start: default dispositions, nothing
		 * blocked (tu_run leaves SIGPIPE ignored in this process). */
		signal(SIGPIPE, SIG_DFL);
		{
			sigset_t none;

			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
		}
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(stderr_override >= 0 ? stderr_override : efd, 2);
		if (extra_fd >= 0 && extra_fd != 5)
			dup2(extra_fd, 5);
		execve(progbuf, argv, envp);
		_exit(127);
	}
	while (waitpid(pid, &r->status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	r->pid = pid;
	{
		off_t len = lseek(efd, 0, SEEK_END);

		r->err = calloc(1, (size_t)len + 1);
		if (pread(efd, r->err, (size_t)len, 0) < 0)
			r->err[0] = '\0';
	}
	close(efd);
	return 0;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The core the kernel wrote for pid, per core_pattern "<coredir>/core.%p". */
static long core_size(pid_t pid)
{
	char path[600];
	struct stat st;

	snprintf(path, sizeof(path), "%s/core.%d", coredir, (int)pid);
	if (stat(path, &st) < 0)
		return -1;
	return (long)st.st_size;
}

/* The NT_SIGINFO note of pid's core, as eu-readelf -n prints it
 * ("si_signo: 11, si_errno: 0, si_code: 1" and "fault address: 0x..."),
 * malloc'ed; the core is removed afterwards. */
static char *core_siginfo(pid_t pid)
{
	char path[600];
	char *argv[] = { "eu-readelf", "-n", path, NULL };
	char *out = NULL, *p, *res = NULL;

	snprintf(path, sizeof(path), "%s/core.%d", coredir, (int)pid);
	if (tu_run(argv, NULL, &out, NULL) == 0 && out && (p = strstr(out, "SIGINFO"))) {
		char *end = strstr(p, "AUXV");

		if (end)
			*end = '\0';
		res = strdup(p);
	}
	free(out);
	unlink(path);
	return res;
}

/* First frame line whose module is one of ours (examples/crash/...):
 * module path, offset and function (suffixes like .constprop.0 cut). */
static int first_own_frame(const char *report, char *module, size_t msize, unsigned long long *off,
			   char *func, size_t fsize)
{
	const char *own = tu_build_path("examples/crash/");
	char ownbuf[4096];
	const char *line = report;

	snprintf(ownbuf, sizeof(ownbuf), "%s", own);
	while ((line = strstr(line, "  #"))) {
		const char *eol = strchr(line, '\n');
		char l[8192], mod[4096], fn[512];
		unsigned long long pc;
		int idx;
		size_t len = eol ? (size_t)(eol - line) : strlen(line);

		if (len >= sizeof(l))
			len = sizeof(l) - 1;
		memcpy(l, line, len);
		l[len] = '\0';
		line += len;
		if (sscanf(l, "  #%d %llx %4095s (%511[^)])", &idx, &pc, mod, fn) != 4)
			continue;
		if (strncmp(mod, ownbuf, strlen(ownbuf)))
			continue;
		{
			char *plus = strrchr(mod, '+');

			if (!plus)
				continue;
			*plus = '\0';
			*off = strtoull(plus + 1, NULL, 16);
		}
		{
			char *plus = strrchr(fn, '+');

			if (plus)
				*plus = '\0';
			plus = strchr(fn, '.');
			if (plus)
				*plus = '\0';
		}
		snprintf(module, msize, "%s", mod);
		snprintf(func, fsize, "%s", fn);
		return 0;
	}
	return -1;
}

/* addr2line -f -i -e MODULE OFF: the outermost function at OFF (the last
 * function line: inlined frames come first). */
static void addr2line_func(const char *module, unsigned long long off, char *func, size_t size)
{
	char offs[32];
	char *argv[] = { "addr2line", "-f", "-i", "-e", (char *)module, offs, NULL };
	char *out = NULL;
	int st;

	snprintf(offs, sizeof(offs), "0x%llx", off);
	st = tu_run(argv, NULL, &out, NULL);
	func[0] = '\0';
	if (st == 0 && out) {
		char *line = out;
		int i = 0;

		while (*line) {
			size_t len = strcspn(line, "\n");

			if (i % 2 == 0)
				snprintf(func, size, "%.*s", (int)len, line);
			line += len;
			if (*line)
				line++;
			i++;
		}
		if (strchr(func, '.'))
			*strchr(func, '.') = '\0';
	}
	free(out);
}

/* Point core_pattern at coredir, run crashme KIND, and find its core.
 * Other test suites on a shared development machine may set core_pattern
 * meanwhile: when the core is missing and the pattern is no longer ours, say
 * so and run again (at most 5 times). *core is the core's size, -1 if there
 * is none, or CORE_CONTENDED if every attempt lost core_pattern to another
 * process (CI runs suites one at a time, so this happens only on a shared
 * box); the kernel's WCOREDUMP status is then the evidence of a core. */
#define CORE_CONTENDED (-2)

static int run_with_core(const char *kind, const char *const *env, int extra_fd, struct run *r, long *core)
{
	char pattern[700], now[700];

	snprintf(pattern, sizeof(pattern), "%s/core.%%p", coredir);
	for (int attempt = 0; attempt < 5; attempt++) {
		int ret;

		if (attempt > 0)
			free(r->err);
		memset(r, 0, sizeof(*r));
		if (extra_fd >= 0 && ftruncate(extra_fd, 0) < 0)
			return -errno;
		ret = tu_sysctl_write("kernel/core_pattern", pattern);
		if (ret < 0)
			return ret;
		ret = run_crashme(kind, env, extra_fd, r);
		if (ret < 0)
			return ret;
		*core = core_size(r->pid);
		if (*core >= 0)
			return 0;
		tu_sysctl_read("kernel/core_pattern", now, sizeof(now));
		print_message("no core file %s/core.%d; core_pattern is now '%s'%s\n", coredir, (int)r->pid, now,
			      strcmp(now, pattern) ? " (changed by another process during the test: retrying)" : "");
		if (!strcmp(now, pattern))
			return 0;
	}
	print_message("core_pattern kept being changed by another process: the core file is not checked, "
		      "only the kernel's \"core dumped\" status\n");
	*core = CORE_CONTENDED;
	return 0;
}

/* A core was dumped: the file is on disk (or, see above, the status says so). */
#define assert_core(r, core)                                                    \
	do {                                                                    \
		assert_true(WCOREDUMP((r).status));                             \
		assert_true((core) > 0 || (core) == CORE_CONTENDED);            \
	} while (0)

struct kind {
	const char *name;
	int sig;
	const char *signal_line;  /* expected in the Signal: line */
	const char *func;         /* first frame in our code */
	const char *module;       /* that frame's module (base name) */
	const char *also;         /* another string the report must hold, or NULL */
};

static const char *own_program(void)
{
	return !strcmp(form, "linked") ? "crashme-linked" : "crashme";
}

static void check_kind(const struct kind *k, const char *const *env)
{
	struct run r = { 0 };
	char module[4096], func[512], a2l[512], sigline[256];
	unsigned long long off = 0;
	const char *base, *sl;
	long core = 0;

	assert_int_equal(run_with_core(k->name, env, -1, &r, &core), 0);
	print_message("---- %s (%s): report ----\n%.3000s\n", k->name, form, r.err);

	assert_true(WIFSIGNALED(r.status));
	assert_int_equal(WTERMSIG(r.status), k->sig);
	assert_true(WCOREDUMP(r.status));
	assert_core(r, core);

	assert_int_equal(count(r.err, "==== lifeline crash report ===="), 1);
	assert_int_equal(count(r.err, "==== end of lifeline crash report ===="), 1);
	sl = strstr(r.err, "Signal:");
	assert_non_null(sl);
	snprintf(sigline, sizeof(sigline), "%.*s", (int)strcspn(sl, "\n"), sl);
	assert_non_null(strstr(sigline, k->signal_line));
	if (k->also)
		assert_non_null(strstr(r.err, k->also));
	assert_non_null(strstr(r.err, "lifeline symbolize < report"));

	/* The re-raise kept the original siginfo: the core says the same. */
	if (core > 0) {
		char *note = core_siginfo(r.pid), want[128];
		const char *code = strstr(sigline, "si_code ");
		const char *addr = strstr(r.err, "Address:    0x");

		assert_non_null(note);
		assert_non_null(code);
		snprintf(want, sizeof(want), "si_signo: %d, si_errno: 0, si_code: %d", k->sig,
			 atoi(code + strlen("si_code ")));
		print_message("core NT_SIGINFO: %s\n", note);
		assert_non_null(strstr(note, want));
		if (addr) {
			unsigned long long a = strtoull(addr + strlen("Address:    "), NULL, 16);

			snprintf(want, sizeof(want), "fault address: %#llx", a);
			assert_non_null(strstr(note, want));
		}
		free(note);
	}

	assert_int_equal(first_own_frame(r.err, module, sizeof(module), &off, func, sizeof(func)), 0);
	assert_string_equal(func, k->func);
	base = strrchr(module, '/') ? strrchr(module, '/') + 1 : module;
	assert_string_equal(base, k->module ? k->module : own_program());
	/* The offset is what addr2line takes: it must name the same function. */
	addr2line_func(module, off, a2l, sizeof(a2l));
	print_message("first own frame: %s+0x%llx (%s); addr2line says %s\n", module, off, func, a2l);
	assert_string_equal(a2l, k->func);
	free(r.err);
}

#define KIND_TEST(id, ...)                                              \
	static void test_##id(void **state)                             \
	{                                                               \
		static const struct kind k = { __VA_ARGS__ };           \
		(void)state;                                            \
		check_kind(&k, NULL);                                   \
	}

KIND_TEST(null, "null", SIGSEGV, "SIGSEGV (11), si_code 1 SEGV_MAPERR", "crash_null_deref", NULL,
	  "NULL pointer dereference")
/* PC 0: the callers come from the return address on the stack and the
 * frame-pointer chain. */
KIND_TEST(nullfn, "nullfn", SIGSEGV, "SIGSEGV (11), si_code 1 SEGV_MAPERR", "crash_null_function", NULL,
	  "it is the PC itself: a call or jump through a bad function pointer")
KIND_TEST(wild, "wild", SIGSEGV, "SIGSEGV (11), si_code 1 SEGV_MAPERR", "crash_wild_pointer", NULL,
	  "Address:    0x0000500000001234: not in any mapping")
KIND_TEST(text, "text", SIGSEGV, "SIGSEGV (11), si_code 2 SEGV_ACCERR", "crash_write_text", NULL,
	  "a write into code")
KIND_TEST(stack, "stack", SIGSEGV, "SIGSEGV (11)", "recurse_forever", NULL, "STACK OVERFLOW")
KIND_TEST(abort, "abort", SIGABRT, "SIGABRT (6), si_code -6 SI_TKILL", "crash_abort", NULL,
	  "(this process: abort()")

/* glibc ships stripped (only .dynsym): with Debian's libc6-dbg installed,
 * the static function abort() ends in is named from the build-id debug file. */
static void test_abort_debug_names(void **state)
{
	struct run r = { 0 };
	long core = 0;

	(void)state;
	if (access("/usr/share/doc/libc6-dbg", F_OK) < 0) {
		print_message("skipped: libc6-dbg is not installed\n");
		skip();
	}
	assert_int_equal(run_with_core("abort", NULL, -1, &r, &core), 0);
	assert_core(r, core);
	assert_non_null(strstr(r.err, "/libc.so.6+0x"));
	assert_non_null(strstr(r.err, "(__pthread_kill_implementation+0x"));
	assert_non_null(strstr(r.err, "(__libc_start_call_main+0x"));
	free(r.err);
}
KIND_TEST(fpe, "fpe", SIGFPE, "SIGFPE (8), si_code 1 FPE_INTDIV", "crash_divide_by_zero", NULL, NULL)
KIND_TEST(ill, "ill", SIGILL, "SIGILL (4), si_code 2 ILL_ILLOPN", "crash_illegal_instruction", NULL, NULL)
KIND_TEST(trap, "trap", SIGTRAP, "SIGTRAP (5), si_code 128 SI_KERNEL", "crash_breakpoint", NULL, NULL)
KIND_TEST(sys, "sys", SIGSYS, "SIGSYS (31), si_code 1 SYS_SECCOMP", "crash_seccomp", NULL,
	  "Syscall:    " STR(SYS_getppid) " (called at 0x")
KIND_TEST(bus, "bus", SIGBUS, "SIGBUS (7), si_code 2 BUS_ADRERR", "crash_sigbus", NULL, "/tmp/crashme-bus-")
KIND_TEST(thread, "thread", SIGSEGV, "SIGSEGV (11), si_code 1 SEGV_MAPERR", "thread_crash", NULL,
	  "\"crashme-worker\"")
KIND_TEST(twin, "twin", SIGSEGV, "SIGSEGV (11), si_code 1 SEGV_MAPERR", "twin_crash", NULL, "\"crashme-twin\"")
KIND_TEST(plugin, "plugin", SIGSEGV, "SIGSEGV (11), si_code 1 SEGV_MAPERR", "plugin_run", "libcrashplugin.so",
	  NULL)

/* Stack overflow in a thread other than main: needs that thread's own
 * alternate stack (ll_crash_thread_init(), or the preload's pthread_create
 * wrapper), and the guard page glibc puts under thread stacks. */
KIND_TEST(thread_stack, "tstack", SIGSEGV, "SIGSEGV (11)", "recurse_forever", NULL, "STACK OVERFLOW")

static void test_heap(void **state)
{
	static const struct kind k = { "heap", SIGABRT, "SIGABRT (6), si_code -6 SI_TKILL", "crash_heap_corrupt",
				       NULL, "(this process: abort()" };

	(void)state;
	if (tu_sanitized()) {
		/* ASan's allocator replaces glibc's: the overrun is not detected
		 * by free() there, so there is no crash to report. */
		skip();
	}
	check_kind(&k, NULL);
}

/* The main thread crashes while two other threads loop in malloc/free
 * (mostly inside the arena lock): the report needs no malloc, so it is
 * complete, and the core is still dumped. */
KIND_TEST(malloc_busy, "mallocbusy", SIGSEGV, "SIGSEGV (11), si_code 1 SEGV_MAPERR", "crash_while_malloc_busy",
	  NULL, NULL)

/* glibc aborts in free() ("double free or corruption") while the crashing
 * thread itself holds the arena lock: a handler that called malloc would
 * deadlock here; ours writes the whole report and the core follows. */
static void test_heap_locked(void **state)
{
	static const struct kind k = { "heaplock", SIGABRT, "SIGABRT (6), si_code -6 SI_TKILL",
				       "crash_double_free_locked", NULL, "double free or corruption" };

	(void)state;
	if (tu_sanitized())
		skip(); /* ASan's allocator reports the double free itself */
	check_kind(&k, NULL);
}

/* A crash in a plugin whose file was replaced by a FIFO, in a process that
 * cannot open /proc/self/map_files (it runs as nobody): the reporter opens
 * the path, a FIFO, and must not block there (O_NONBLOCK, regular files
 * only). crashme arms alarm(30): a hang would end in SIGALRM, not SIGSEGV. */
static void test_replaced_by_fifo(void **state)
{
	char dir[600], envdir[700];
	struct run r = { 0 };
	long core = 0;

	(void)state;
	assert_int_equal(tu_mkdtemp(dir, sizeof(dir)), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(envdir, sizeof(envdir), "CRASHME_FIFO_DIR=%s", dir);
	{
		const char *env[] = { envdir, NULL };

		assert_int_equal(run_with_core("fifoplugin", env, -1, &r, &core), 0);
	}
	print_message("stderr: %.3000s\n", r.err);
	assert_true(WIFSIGNALED(r.status));
	assert_int_equal(WTERMSIG(r.status), SIGSEGV);
	assert_int_equal(count(r.err, "==== lifeline crash report ===="), 1);
	assert_int_equal(count(r.err, "==== end of lifeline crash report ===="), 1);
	assert_non_null(strstr(r.err, "/libcrashplugin.so+0x"));
	assert_non_null(strstr(r.err, "(crash_in_replaced_plugin+0x"));
	free(r.err);
	tu_rm_rf(dir);
}

/* The report hangs (here: an LD_PRELOAD'ed _Unwind_Backtrace that never
 * returns inside the handler, as libgcc's would waiting for a lock a JIT's
 * thread holds): after LIFELINE_CRASH_WATCHDOG seconds the watchdog ends
 * the process with its own signal, and the kernel still dumps core. */
static void test_watchdog(void **state)
{
	char pre[4200];
	struct run r = { 0 };
	long core = 0;

	(void)state;
	if (strcmp(form, "linked"))
		skip(); /* the preload form's LD_PRELOAD is taken by liblifeline-crash.so */
	if (tu_sanitized()) {
		print_message("skipped under ASan: a library preloaded before ASan's runtime is refused\n");
		skip();
	}
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", tu_build_path("tests/crash/libstallunwind.so"));
	{
		const char *env[] = { pre, "LIFELINE_CRASH_WATCHDOG=2", NULL };

		assert_int_equal(run_with_core("null", env, -1, &r, &core), 0);
	}
	print_message("stderr: %.3000s\n", r.err);
	assert_true(WIFSIGNALED(r.status));
	assert_int_equal(WTERMSIG(r.status), SIGSEGV);
	assert_core(r, core);
	assert_int_equal(count(r.err, "==== lifeline crash report ===="), 1);
	assert_int_equal(count(r.err, "==== end of lifeline crash report ===="), 0);
	assert_non_null(strstr(r.err, "did not finish within the watchdog time"));
	free(r.err);
}

/* abort() in a program that ignored SIGABRT before the reporter came:
 * abort() cannot be ignored, so the report is written, then glibc's abort
 * ends the process with SIGABRT and a core. */
static void test_abort_ignored(void **state)
{
	static const struct kind k = { "abortign", SIGABRT, "SIGABRT (6), si_code -6 SI_TKILL", "crash_abort",
				       NULL, "while the program ignores SIGABRT" };

	(void)state;
	if (strcmp(form, "linked"))
		skip();
	check_kind(&k, NULL);
}

/* A plain (not SA_SIGINFO) SIGSEGV handler installed before the reporter
 * runs after the report. */
static void test_chain_plain(void **state)
{
	struct run r = { 0 };

	(void)state;
	if (strcmp(form, "linked"))
		skip();
	assert_int_equal(run_crashme("chainplain", NULL, -1, &r), 0);
	print_message("stderr: %.2000s\n", r.err);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 41);
	assert_int_equal(count(r.err, "==== lifeline crash report ===="), 1);
	assert_int_equal(count(r.err, "==== end of lifeline crash report ===="), 1);
	assert_non_null(strstr(r.err, "crashme: previous plain handler ran for signal 11"));
	free(r.err);
}

/* 10,000 short threads, each given an alternate stack (by the preload's
 * pthread_create wrapper, or by ll_crash_thread_init() without a matching
 * fini in the linked form): the stacks are unmapped when the threads end,
 * so VmSize stays flat. A leak would be 260 KiB a thread, 2.5 GiB in all. */
static void test_thread_churn(void **state)
{
	struct run r = { 0 };
	const char *a, *b;
	long before, after;

	(void)state;
	assert_int_equal(run_crashme("churn", NULL, -1, &r), 0);
	print_message("stderr: %.2000s\n", r.err);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 0);
	a = strstr(r.err, "vmsize-after-100 ");
	b = strstr(r.err, "vmsize-after-10000 ");
	assert_non_null(a);
	assert_non_null(b);
	before = atol(a + strlen("vmsize-after-100 "));
	after = atol(b + strlen("vmsize-after-10000 "));
	assert_true(before > 0);
	/* Flat: less than 4 MiB of growth over 9,900 more threads. */
	assert_true(after - before < 4096);
	free(r.err);
}

/* Nothing the handler calls is bound lazily inside it: a first call
 * through a PLT slot would run the dynamic linker's binder in the signal
 * handler. With LD_DEBUG=bindings the loader prints each binding as it is
 * made; after crashme-linked says the reporter is installed, none may name a
 * function the handler calls (the list is what crash-signal-safety prints
 * for the handler). Three paths: the report to a file (dir), two threads
 * crashing at once (the second one waits), abort(). */
static void test_no_lazy_binding_in_handler(void **state)
{
	static const char *const handler_calls[] = {
		"write", "poll", "read", "pread64", "open64", "close", "readlink", "clock_gettime", "getpid",
		"sigaction", "memcpy", "memchr", "strlen", "strcmp", "strcat", "strrchr", "syscall",
		"nanosleep", "__errno_location", "_Unwind_Backtrace", "_Unwind_GetIPInfo", "alarm", "memset",
		"sigemptyset", "sigaddset", "fstat64", "fstat",
	};
	static const char *const kinds[] = { "null", "twin", "abort" };
	char dir[600], envdir[700];

	(void)state;
	if (strcmp(form, "linked"))
		skip(); /* liblifeline-crash.so is linked with -z now: nothing is lazy */
	assert_int_equal(tu_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(envdir, sizeof(envdir), "LIFELINE_CRASH_DIR=%s", dir);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const char *env[] = { "LD_DEBUG=bindings", "CRASHME_MARK_INSTALLED=1", envdir, NULL };
		struct run r = { 0 };
		const char *p;
		long core = 0;

		assert_int_equal(run_with_core(kinds[k], env, -1, &r, &core), 0);
		assert_true(WIFSIGNALED(r.status));
		p = strstr(r.err, "crashme: reporter installed");
		assert_non_null(p);
		for (p = strstr(p, "binding file "); p; p = strstr(p + 1, "binding file ")) {
			const char *sym = strstr(p, "normal symbol `");
			const char *eol = strchr(p, '\n');

			if (!sym || (eol && sym > eol))
				continue;
			sym += strlen("normal symbol `");
			for (size_t i = 0; i < sizeof(handler_calls) / sizeof(handler_calls[0]); i++) {
				size_t n = strlen(handler_calls[i]);

				if (!strncmp(sym, handler_calls[i], n) && sym[n] == '\'') {
					print_message("%s: '%s' was bound lazily after install (in the handler):\n%.*s\n",
						      kinds[k], handler_calls[i], (int)(eol ? eol - p : 200), p);
					fail();
				}
			}
		}
		free(r.err);
	}
	tu_rm_rf(dir);
}

/* LIFELINE_CRASH_DIR: the report is a file, stderr names it. */
static void test_dir(void **state)
{
	char dir[600], path[1200], name[64];
	long core = 0;
	const char *env[2];
	char envbuf[700];
	struct run r = { 0 };
	FILE *f;
	char *text;
	long len;
	const char *p;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/reports", coredir);
	mkdir(dir, 0700);
	snprintf(envbuf, sizeof(envbuf), "LIFELINE_CRASH_DIR=%s", dir);
	env[0] = envbuf;
	env[1] = NULL;
	assert_int_equal(run_with_core("null", env, -1, &r, &core), 0);
	print_message("stderr: %s\n", r.err);
	assert_true(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGSEGV);
	assert_core(r, core);
	assert_int_equal(count(r.err, "==== lifeline crash report"), 0);
	snprintf(name, sizeof(name), "crash-%s-%d-", own_program(), (int)r.pid);
	p = strstr(r.err, "crash report written to ");
	assert_non_null(p);
	p += strlen("crash report written to ");
	snprintf(path, sizeof(path), "%.*s", (int)strcspn(p, "\n"), p);
	assert_non_null(strstr(path, name));
	assert_true(strlen(path) > 4 && !strcmp(path + strlen(path) - 4, ".txt"));
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)len + 1);
	assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	assert_int_equal(count(text, "==== lifeline crash report ===="), 1);
	assert_non_null(strstr(text, "(crash_null_deref+0x"));
	free(text);
	free(r.err);

	/* A directory that does not exist: the report still reaches stderr,
	 * after a line saying why there is no file. */
	snprintf(envbuf, sizeof(envbuf), "LIFELINE_CRASH_DIR=%s/missing/dir", coredir);
	assert_int_equal(run_with_core("null", env, -1, &r, &core), 0);
	assert_true(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGSEGV);
	assert_core(r, core);
	assert_non_null(strstr(r.err, "could not create a crash report file in"));
	assert_non_null(strstr(r.err, "ENOENT"));
	assert_int_equal(count(r.err, "==== lifeline crash report ===="), 1);
	free(r.err);
}

/* LIFELINE_CRASH_FD: the report goes to a descriptor the program inherited;
 * a bad LIFELINE_CRASH_SIGNALS is reported and the defaults still apply. */
static void test_fd_and_bad_env(void **state)
{
	char path[] = "/tmp/crash-test-fd-XXXXXX";
	long core = 0;
	const char *env[] = { "LIFELINE_CRASH_FD=5", "LIFELINE_CRASH_SIGNALS=SEGV,NOSUCHSIG", NULL };
	struct run r = { 0 };
	int fd = mkstemp(path);
	char buf[65536];
	ssize_t n;

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(run_with_core("fpe", env, fd, &r, &core), 0);
	assert_true(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGFPE);
	assert_core(r, core);
	print_message("stderr: %s\n", r.err);
	assert_non_null(strstr(r.err, "LIFELINE_CRASH_SIGNALS='SEGV,NOSUCHSIG'"));
	assert_int_equal(count(r.err, "==== lifeline crash report"), 0);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_int_equal(count(buf, "==== lifeline crash report ===="), 1);
	assert_non_null(strstr(buf, "FPE_INTDIV"));
	close(fd);
	free(r.err);
}

/* A program that does not crash is left alone: exit 0, no output. */
static void test_no_crash(void **state)
{
	struct run r = { 0 };

	(void)state;
	assert_int_equal(run_crashme("ok", NULL, -1, &r), 0);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.err, "");
	free(r.err);
}

/* The report overflows a deliberately tiny alternate stack: a fault inside
 * the handler. Still at most one report, and still a core. */
static void test_fault_in_handler(void **state)
{
	struct run r = { 0 };
	long core = 0;

	(void)state;
	if (strcmp(form, "linked"))
		skip();
	assert_int_equal(run_with_core("nested", NULL, -1, &r, &core), 0);
	print_message("stderr: %.2000s\n", r.err);
	assert_true(WIFSIGNALED(r.status));
	assert_int_equal(WTERMSIG(r.status), SIGSEGV);
	/* The report began (at most once) and never finished. */
	assert_true(count(r.err, "==== lifeline crash report ====") <= 1);
	assert_int_equal(count(r.err, "==== end of lifeline crash report ===="), 0);
	assert_true(WCOREDUMP(r.status));
	assert_core(r, core);
	free(r.err);
}

/* A SIGSEGV handler installed before ours is chained to. */
static void test_chain(void **state)
{
	struct run r = { 0 };

	(void)state;
	if (strcmp(form, "linked"))
		skip();
	assert_int_equal(run_crashme("chain", NULL, -1, &r), 0);
	print_message("stderr: %.2000s\n", r.err);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 42);
	assert_int_equal(count(r.err, "==== lifeline crash report ===="), 1);
	assert_non_null(strstr(r.err, "crashme: previous handler ran for signal 11 code 1"));
	free(r.err);
}

/* stderr is a pipe nobody will ever read (its reader closed): the write
 * fails with EPIPE instead of killing the process with SIGPIPE; the
 * process still dies of its own signal, with a core. */
static void test_stderr_broken_pipe(void **state)
{
	struct run r = { 0 };
	int p[2];
	long core = 0;

	(void)state;
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	stderr_override = p[1];
	assert_int_equal(run_with_core("null", NULL, -1, &r, &core), 0);
	stderr_override = -1;
	close(p[1]);
	assert_true(WIFSIGNALED(r.status));
	assert_int_equal(WTERMSIG(r.status), SIGSEGV);
	assert_true(WCOREDUMP(r.status));
	assert_core(r, core);
	free(r.err);
}

/* stderr is a full pipe nobody drains: the report gives up after its write
 * budget (5 s) and the process still dies with a core, instead of hanging. */
static void test_stderr_stuck_pipe(void **state)
{
	struct run r = { 0 };
	char junk[4096];
	int p[2], fl;
	long core = 0;

	(void)state;
	assert_int_equal(pipe(p), 0);
	memset(junk, 'x', sizeof(junk));
	fl = fcntl(p[1], F_GETFL);
	fcntl(p[1], F_SETFL, fl | O_NONBLOCK);
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	fcntl(p[1], F_SETFL, fl);
	stderr_override = p[1];
	assert_int_equal(run_with_core("abort", NULL, -1, &r, &core), 0);
	stderr_override = -1;
	close(p[0]);
	close(p[1]);
	assert_true(WIFSIGNALED(r.status));
	assert_int_equal(WTERMSIG(r.status), SIGABRT);
	assert_true(WCOREDUMP(r.status));
	assert_core(r, core);
	free(r.err);
}

/* The promise at the end of every report: `lifeline symbolize < report`
 * adds file:line and the inlined frames (the plugin's NULL store is in an
 * inlined helper). */
static void test_symbolize_report(void **state)
{
	char *argv[] = { (char *)tu_lifeline(), "symbolize", NULL };
	struct run r = { 0 };
	char *out = NULL, *err = NULL;
	long core = 0;
	int st;

	(void)state;
	if (access(tu_lifeline(), X_OK) < 0) {
		print_message("skipped: %s not built\n", tu_lifeline());
		skip();
	}
	assert_int_equal(run_with_core("plugin", NULL, -1, &r, &core), 0);
	assert_true(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGSEGV);
	st = tu_run(argv, r.err, &out, &err);
	print_message("lifeline symbolize: status %d\n%s\n%s\n", st, out ? out : "", err ? err : "");
	assert_int_equal(st, 0);
	assert_non_null(strstr(out, "(plugin_run+0x"));
	assert_non_null(strstr(out, "store_setting at "));
	assert_non_null(strstr(out, "crash_plugin.c:"));
	assert_non_null(strstr(out, "(inlined)"));
	assert_non_null(strstr(out, "crash_in_plugin at "));
	assert_non_null(strstr(out, "crashme.c:"));
	free(out);
	free(err);
	free(r.err);
}

/* LD_PRELOAD value: our library, after libasan in the sanitizer build
 * (ASan must come first in the library list). */
static int find_preload(void)
{
	const char *lib = tu_build_path("src/preload/crash/liblifeline-crash.so");
	char libbuf[4096];

	snprintf(libbuf, sizeof(libbuf), "%s", lib);
	if (access(libbuf, R_OK) < 0) {
		fprintf(stderr, "%s: %s\n", libbuf, strerror(errno));
		return -1;
	}
	if (tu_sanitized()) {
		FILE *f = fopen("/proc/self/maps", "r");
		char line[4096], asan[4096] = "";

		while (f && fgets(line, sizeof(line), f)) {
			char *p = strchr(line, '/');

			if (p && strstr(p, "/libasan.so")) {
				p[strcspn(p, "\n")] = '\0';
				snprintf(asan, sizeof(asan), "%s", p);
				break;
			}
		}
		if (f)
			fclose(f);
		if (!asan[0]) {
			fprintf(stderr, "sanitized build but no libasan.so mapped in the test\n");
			return -1;
		}
		snprintf(preload_value, sizeof(preload_value), "%s:%s", asan, libbuf);
	} else {
		snprintf(preload_value, sizeof(preload_value), "%s", libbuf);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_nullfn),
		cmocka_unit_test(test_wild),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_stack),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_abort_debug_names),
		cmocka_unit_test(test_fpe),
		cmocka_unit_test(test_ill),
		cmocka_unit_test(test_trap),
		cmocka_unit_test(test_sys),
		cmocka_unit_test(test_bus),
		cmocka_unit_test(test_thread),
		cmocka_unit_test(test_twin),
		cmocka_unit_test(test_heap),
		cmocka_unit_test(test_plugin),
		cmocka_unit_test(test_thread_stack),
		cmocka_unit_test(test_malloc_busy),
		cmocka_unit_test(test_heap_locked),
		cmocka_unit_test(test_replaced_by_fifo),
		cmocka_unit_test(test_watchdog),
		cmocka_unit_test(test_abort_ignored),
		cmocka_unit_test(test_chain_plain),
		cmocka_unit_test(test_thread_churn),
		cmocka_unit_test(test_no_lazy_binding_in_handler),
		cmocka_unit_test(test_dir),
		cmocka_unit_test(test_fd_and_bad_env),
		cmocka_unit_test(test_no_crash),
		cmocka_unit_test(test_fault_in_handler),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_symbolize_report),
		cmocka_unit_test(test_stderr_broken_pipe),
		cmocka_unit_test(test_stderr_stuck_pipe),
	};

	if (argc != 2 || (strcmp(argv[1], "linked") && strcmp(argv[1], "preload"))) {
		fprintf(stderr, "usage: test_crash linked|preload\n");
		return 2;
	}
	form = argv[1];
	if (geteuid() != 0) {
		printf("skipped: setting core_pattern needs root\n");
		return TU_SKIP;
	}
	if (!strcmp(form, "preload") && find_preload() < 0)
		return 1;
	tu_save_global_state();
	if (tu_mkdtemp(coredir, sizeof(coredir)) < 0) {
		perror("mkdtemp");
		return 1;
	}
	chmod(coredir, 0777);
	return cmocka_run_group_tests_name(form, tests, NULL, NULL);
}
