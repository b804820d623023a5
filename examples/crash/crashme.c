/* crashme.c: a program that crashes in the way its argument names.
 *
 * Built twice: `crashme` (plain, for the LD_PRELOAD form of the crash
 * reporter) and `crashme-linked` (-DLL_CRASHME_LINKED: calls
 * ll_crash_install() itself, configured from LIFELINE_CRASH_*). Each kind
 * crashes in a function of its own, named in the table below, which the tests
 * look for as the first frame of this program in the report:
 *   null nullfn wild text stack abort fpe ill trap sys bus thread twin heap plugin tstack
 *   mallocbusy (main thread crashes while two threads loop in malloc/free)
 *   heaplock (abort() from free() while this thread holds malloc's arena lock)
 *   fifoplugin (crash in a plugin whose file became a FIFO, as user nobody)
 * `churn` starts 10,000 short threads and prints VmSize, and `ok` exits 0.
 * crashme-linked also knows `nested` (the report itself overflows a tiny
 * alternate stack), `chain` and `chainplain` (a SIGSEGV handler installed
 * before the reporter, SA_SIGINFO or plain, must still run, after the
 * report) and `abortign` (abort() while SIGABRT was ignored before the
 * reporter was installed). The functions are noinline and exempt from UBSan, so the
 * fault is the real one even in the sanitizer build. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <unistd.h>

#ifdef LL_CRASHME_LINKED
#include "lifeline/crash.h"
#endif

#if defined(__clang__)
#define CRASHER __attribute__((noinline, no_sanitize("undefined")))
#else
#define CRASHER __attribute__((noinline, noclone, no_sanitize("undefined")))
#endif

static volatile int zero;
static volatile int depth_limit = INT_MAX;
static int *volatile null_ptr;
static void *volatile sink;
static void (*volatile null_fn)(void);

CRASHER static void crash_null_deref(void)
{
	*null_ptr = 42;
}

/* A call through a NULL function pointer: the PC itself is 0, so no
 * unwind table covers the faulting frame. */
CRASHER static void crash_null_function(void)
{
	null_fn();
	__asm__ volatile("" ::: "memory");   /* no tail call: keep this frame */
}

CRASHER static void crash_wild_pointer(void)
{
	volatile int *p = (volatile int *)(uintptr_t)0x500000001234ull;

	*p = 1;
}

CRASHER static void crash_write_text(void)
{
	volatile unsigned char *p = (volatile unsigned char *)(uintptr_t)&crash_write_text;

	*p = 0xc3;
}

CRASHER static int recurse_forever(int depth)
{
	volatile char frame[512];
	int r = 0;

	frame[0] = (char)depth;
	if (depth < depth_limit)
		r = recurse_forever(depth + 1);
	return r + frame[0];
}

CRASHER static void crash_stack_overflow(void)
{
	printf("%d\n", recurse_forever(0));
}

CRASHER static void crash_abort(void)
{
	abort();
}

CRASHER static int crash_divide_by_zero(int x)
{
	return x / zero;
}

CRASHER static void crash_illegal_instruction(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ volatile("ud2");
#elif defined(__aarch64__)
	__asm__ volatile("udf #0");
#else
	__builtin_trap();
#endif
}

/* A breakpoint instruction: SIGTRAP, a trap (the PC is already past it, so
 * only the re-raise, not re-execution, can end the process). */
CRASHER static void crash_breakpoint(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ volatile("int3");
#elif defined(__aarch64__)
	__asm__ volatile("brk #0");
#else
	raise(SIGTRAP);
#endif
	__asm__ volatile("" ::: "memory");
}

/* A seccomp filter that traps getppid(): SIGSYS with SYS_SECCOMP. */
CRASHER static int crash_seccomp(void)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) {
		perror("crashme: seccomp");
		return 1;
	}
	return (int)syscall(SYS_getppid);
}

CRASHER static int crash_sigbus(void)
{
	char path[] = "/tmp/crashme-bus-XXXXXX";
	volatile char *p;
	int fd = mkstemp(path);

	if (fd < 0 || unlink(path) < 0 || ftruncate(fd, 8192) < 0) {
		perror("crashme: temp file");
		return 1;
	}
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("crashme: mmap");
		return 1;
	}
	/* The file shrinks under the mapping, as with `cp` over a loaded .so. */
	if (ftruncate(fd, 0) < 0) {
		perror("crashme: ftruncate");
		return 1;
	}
	return p[4096];
}

CRASHER static void *thread_crash(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "crashme-worker");
	*null_ptr = 7;
	return NULL;
}

CRASHER static void *thread_stack_overflow(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "crashme-deep");
#ifdef LL_CRASHME_LINKED
	ll_crash_thread_init();
#endif
	printf("%d\n", recurse_forever(0));
	return NULL;
}

static pthread_barrier_t twin_barrier;

CRASHER static void *twin_crash(void *arg)
{
	pthread_setname_np(pthread_self(), "crashme-twin");
	pthread_barrier_wait(&twin_barrier);
	*null_ptr = (int)(intptr_t)arg;
	return NULL;
}

static int run_threads(int n, void *(*fn)(void *))
{
	pthread_t t[2];

	for (int i = 0; i < n; i++) {
		if (pthread_create(&t[i], NULL, fn, (void *)(intptr_t)(i + 1)) != 0) {
			fprintf(stderr, "crashme: pthread_create failed\n");
			return 1;
		}
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}

CRASHER static void crash_heap_corrupt(void)
{
	char *a = malloc(24), *b = malloc(24);
	volatile char *p = a;

	sink = b;

	/* Overrun a into b's chunk header, then free b: glibc's malloc
	 * detects the corrupt size and aborts. */
	for (int i = 0; i < 48; i++)
		p[i] = 'A'; /* cppcheck-suppress arrayIndexOutOfBounds ; the point of this kind */
	free(sink);
	free(a);
}

/* Threads that allocate and free without pause, mostly in sizes above the
 * tcache's, so that they spend their time inside malloc's arena lock; the
 * main thread crashes while they run. The report must not need that lock. */
static _Atomic long malloc_rounds;

static void *malloc_loop(void *arg)
{
	size_t sizes[] = { 2000, 70000, 24, 9000 };

	(void)arg;
	for (unsigned long i = 0;; i++) {
		void *p = malloc(sizes[i % 4]);

		sink = p;
		free(p);
		malloc_rounds++;
	}
	return NULL;
}

CRASHER static void crash_while_malloc_busy(void)
{
	pthread_t t;

	for (int i = 0; i < 2; i++)
		if (pthread_create(&t, NULL, malloc_loop, NULL) != 0) {
			fprintf(stderr, "crashme: pthread_create failed\n");
			exit(1);
		}
	while (malloc_rounds < 200000)
		sched_yield();
	*null_ptr = 3;
}

/* 10,000 short threads, one after another; prints VmSize (KiB) after the
 * first 100 and after all: the alternate stacks the reporter gives each
 * thread must be unmapped when the thread ends. */
static void *short_thread(void *arg)
{
#ifdef LL_CRASHME_LINKED
	/* No ll_crash_thread_fini(): the stack must go when the thread does. */
	ll_crash_thread_init();
#endif
	return arg;
}

static long vm_size_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmSize:", 7))
			kib = atol(line + 7);
	if (f)
		fclose(f);
	return kib;
}

static int thread_churn(void)
{
	long before = 0;

	for (int i = 0; i < 10000; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, short_thread, NULL) != 0) {
			fprintf(stderr, "crashme: pthread_create failed\n");
			return 1;
		}
		pthread_join(t, NULL);
		if (i == 99)
			before = vm_size_kib();
	}
	fprintf(stderr, "vmsize-after-100 %ld\nvmsize-after-10000 %ld\n", before, vm_size_kib());
	return 0;
}

/* A double free of a chunk too large for the tcache: glibc's free() takes
 * the arena lock, finds the corruption and aborts while still holding it.
 * The report is written by the very thread that holds malloc's lock. */
static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void *volatile keep;

CRASHER static void crash_double_free_locked(void)
{
	pthread_t t;
	char *p, *q;

	/* A single-threaded process takes no arena lock: start a thread. */
	if (pthread_create(&t, NULL, idle_thread, NULL) != 0) {
		fprintf(stderr, "crashme: pthread_create failed\n");
		exit(1);
	}
	p = malloc(5000);
	q = malloc(5000);
	keep = q;  /* keeps p off the top chunk */
	sink = p;  /* the second free goes through a volatile: no use-after-free warning */
	free(p);
	free(sink);
}

static int crash_in_plugin(const char *self)
{
	char path[4096];
	const char *dir = getenv("CRASHME_PLUGIN_DIR");
	struct { const char *name; int *slot; } conf = { "demo", NULL };
	int (*run)(void *, int);
	void *h;

	if (dir)
		snprintf(path, sizeof(path), "%s/libcrashplugin.so", dir);
	else {
		ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
		char *slash;

		if (n < 0) {
			fprintf(stderr, "crashme: /proc/self/exe: %s\n", strerror(errno));
			return 1;
		}
		path[n] = '\0';
		slash = strrchr(path, '/');
		snprintf(slash + 1, sizeof(path) - (size_t)(slash + 1 - path), "libcrashplugin.so");
	}
	(void)self;
	h = dlopen(path, RTLD_NOW);
	if (!h) {
		fprintf(stderr, "crashme: %s\n", dlerror());
		return 1;
	}
	run = (int (*)(void *, int))(uintptr_t)dlsym(h, "plugin_run");
	if (!run) {
		fprintf(stderr, "crashme: plugin_run: %s\n", dlerror());
		return 1;
	}
	return run(&conf, 20);
}

/* A crash inside a plugin whose file was replaced by a FIFO after it was
 * loaded, in a process that cannot open /proc/self/map_files (not root):
 * the reporter falls back to the path, which is now a FIFO. open() of a
 * FIFO blocks until a writer comes: the report must not wait for one.
 * CRASHME_FIFO_DIR (mode 0755) receives the copy of the plugin and then
 * the FIFO; alarm(30) turns a hang into SIGALRM. */
static int crash_in_replaced_plugin(void)
{
	const char *dir = getenv("CRASHME_FIFO_DIR");
	char src[4096], dst[4096], buf[65536];
	struct { const char *name; int *slot; } conf = { "demo", NULL };
	int (*run)(void *, int);
	ssize_t n, len;
	int in, out;
	void *h;
	char *slash;

	if (!dir) {
		fprintf(stderr, "crashme: CRASHME_FIFO_DIR is not set\n");
		return 1;
	}
	len = readlink("/proc/self/exe", src, sizeof(src) - 32);
	if (len < 0) {
		perror("crashme: /proc/self/exe");
		return 1;
	}
	src[len] = '\0';
	slash = strrchr(src, '/');
	strcpy(slash + 1, "libcrashplugin.so");
	snprintf(dst, sizeof(dst), "%s/libcrashplugin.so", dir);
	in = open(src, O_RDONLY | O_CLOEXEC);
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (in < 0 || out < 0) {
		perror("crashme: copy plugin");
		return 1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			perror("crashme: copy plugin");
			return 1;
		}
	close(in);
	close(out);
	h = dlopen(dst, RTLD_NOW);
	run = h ? (int (*)(void *, int))(uintptr_t)dlsym(h, "plugin_run") : NULL;
	if (!run) {
		fprintf(stderr, "crashme: %s\n", dlerror());
		return 1;
	}
	if (unlink(dst) < 0 || mkfifo(dst, 0666) < 0) {
		perror("crashme: mkfifo");
		return 1;
	}
	if (setgid(65534) < 0 || setuid(65534) < 0) {
		perror("crashme: setuid");
		return 1;
	}
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	alarm(30);
	return run(&conf, 20);
}

#ifdef LL_CRASHME_LINKED
/* An alternate stack far too small for the report: the handler itself
 * overflows it (a fault inside the crash handler). */
static int crash_with_tiny_altstack(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), size = 16384;
	char *map = mmap(NULL, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	stack_t ss;

	if (map == MAP_FAILED || mprotect(map, page, PROT_NONE) < 0) {
		perror("crashme: mmap");
		return 1;
	}
	ss.ss_sp = map + page;
	ss.ss_size = size;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) < 0) {
		perror("crashme: sigaltstack");
		return 1;
	}
	crash_null_deref();
	return 1;
}

static void previous_plain_handler(int sig)
{
	char msg[] = "crashme: previous plain handler ran for signal NN\n";
	char *p = strstr(msg, "NN");

	p[0] = (char)('0' + sig / 10);
	p[1] = (char)('0' + sig % 10);
	if (write(2, msg, strlen(msg)) < 0)
		_exit(43);
	_exit(41);
}

static void previous_handler(int sig, siginfo_t *si, void *uc)
{
	char msg[128];
	int n;

	(void)uc;
	n = snprintf(msg, sizeof(msg), "crashme: previous handler ran for signal %d code %d\n", sig,
		     si->si_code);
	if (write(2, msg, (size_t)n) < 0)
		_exit(43);
	_exit(42);
}
#endif

static void usage(void)
{
	fprintf(stderr, "usage: crashme null|nullfn|wild|text|stack|abort|fpe|ill|trap|sys|bus|thread|twin|heap|plugin|tstack|mallocbusy|heaplock|fifoplugin|churn|ok"
#ifdef LL_CRASHME_LINKED
			"|nested|chain|chainplain|abortign"
#endif
			"\n");
}

int main(int argc, char **argv)
{
	const char *k;

	if (argc != 2) {
		usage();
		return 2;
	}
#ifdef LL_CRASHME_LINKED
	{
		struct ll_crash_opts opts;
		char err[256];
		int r;

		if (!strcmp(argv[1], "chainplain"))
			signal(SIGSEGV, previous_plain_handler);
		if (!strcmp(argv[1], "abortign"))
			signal(SIGABRT, SIG_IGN);
		if (!strcmp(argv[1], "chain")) {
			struct sigaction sa;

			/* Installed before the reporter, as a program's own
			 * handler would be: the reporter must chain to it. */
			memset(&sa, 0, sizeof(sa));
			sa.sa_sigaction = previous_handler;
			sa.sa_flags = SA_SIGINFO;
			sigaction(SIGSEGV, &sa, NULL);
		}
		ll_crash_opts_init(&opts);
		if (ll_crash_opts_from_env(&opts, err, sizeof(err)) < 0)
			fprintf(stderr, "crashme: %s\n", err);
		r = ll_crash_install(&opts);
		if (r < 0) {
			fprintf(stderr, "crashme: ll_crash_install: %s\n", strerror(-r));
			return 1;
		}
		/* For the lazy-binding test: what LD_DEBUG=bindings prints after
		 * this line was bound inside the crash handler. */
		if (getenv("CRASHME_MARK_INSTALLED"))
			fputs("crashme: reporter installed\n", stderr);
	}
#endif
	k = argv[1];
	if (!strcmp(k, "null"))
		crash_null_deref();
	else if (!strcmp(k, "nullfn"))
		crash_null_function();
	else if (!strcmp(k, "wild"))
		crash_wild_pointer();
	else if (!strcmp(k, "text"))
		crash_write_text();
	else if (!strcmp(k, "stack"))
		crash_stack_overflow();
	else if (!strcmp(k, "abort"))
		crash_abort();
	else if (!strcmp(k, "fpe"))
		return crash_divide_by_zero(argc);
	else if (!strcmp(k, "ill"))
		crash_illegal_instruction();
	else if (!strcmp(k, "trap"))
		crash_breakpoint();
	else if (!strcmp(k, "sys"))
		return crash_seccomp();
	else if (!strcmp(k, "bus"))
		return crash_sigbus();
	else if (!strcmp(k, "thread"))
		return run_threads(1, thread_crash);
	else if (!strcmp(k, "twin"))
		return pthread_barrier_init(&twin_barrier, NULL, 2) ? 1 : run_threads(2, twin_crash);
	else if (!strcmp(k, "heap"))
		crash_heap_corrupt();
	else if (!strcmp(k, "plugin"))
		return crash_in_plugin(argv[0]);
	else if (!strcmp(k, "tstack"))
		return run_threads(1, thread_stack_overflow);
	else if (!strcmp(k, "fifoplugin"))
		return crash_in_replaced_plugin();
	else if (!strcmp(k, "heaplock"))
		crash_double_free_locked();
	else if (!strcmp(k, "mallocbusy"))
		crash_while_malloc_busy();
	else if (!strcmp(k, "churn"))
		return thread_churn();
	else if (!strcmp(k, "ok"))
		return 0;
#ifdef LL_CRASHME_LINKED
	else if (!strcmp(k, "nested"))
		return crash_with_tiny_altstack();
	else if (!strcmp(k, "chain") || !strcmp(k, "chainplain"))
		crash_null_deref();
	else if (!strcmp(k, "abortign"))
		crash_abort();
#endif
	else {
		usage();
		return 2;
	}
	fprintf(stderr, "crashme: '%s' did not crash\n", k);
	return 1;
}
