/* preload_crash.c: liblifeline-crash.so, the crash reporter for programs
 * that cannot be rebuilt (the successor of glibc's removed catchsegv /
 * libSegFault.so):
 *
 *   LD_PRELOAD=/usr/lib/x86_64-linux-gnu/liblifeline-crash.so program
 *
 * A constructor configures ll_crash_install() from the LIFELINE_CRASH_*
 * variables (LIFELINE_CRASH_DISABLE=1 turns it off). pthread_create is
 * wrapped so that every new thread gets its own alternate signal stack, which
 * a stack overflow in that thread needs; the stack is released when the
 * thread ends. Everything else is the crash module: its symbols are hidden
 * (-Wl,--exclude-libs,ALL), so a program that also links liblifeline keeps
 * its own copy.
 *
 * In a setuid/setgid program (AT_SECURE: a system-wide /etc/ld.so.preload,
 * or a DT_NEEDED) no LIFELINE_CRASH_* variable applies (secure_getenv), and
 * the report on stderr of a process that is not dumpable leaves out what
 * would leak the privileged process (see crash_report_write()). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifeline/crash.h"

static int active;

__attribute__((constructor)) static void lifeline_crash_preload_init(void)
{
	struct ll_crash_opts opts;
	const char *off = secure_getenv("LIFELINE_CRASH_DISABLE");
	char err[256];
	int r;

	if (off && *off && strcmp(off, "0"))
		return;
	ll_crash_opts_init(&opts);
	if (ll_crash_opts_from_env(&opts, err, sizeof(err)) < 0)
		fprintf(stderr, "liblifeline-crash: %s\n", err);
	r = ll_crash_install(&opts);
	if (r < 0 && r != -EALREADY) {
		fprintf(stderr, "liblifeline-crash: crash reporter not installed: %s\n", strerror(-r));
		return;
	}
	active = 1;
}

struct start {
	void *(*fn)(void *);
	void *arg;
};

static void thread_end(void *unused)
{
	(void)unused;
	ll_crash_thread_fini();
}

static void *thread_start(void *p)
{
	struct start s = *(struct start *)p;
	void *ret;

	free(p);
	ll_crash_thread_init();
	pthread_cleanup_push(thread_end, NULL);
	ret = s.fn(s.arg);
	pthread_cleanup_pop(1);
	return ret;
}

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

__attribute__((visibility("default"))) int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
							  void *(*fn)(void *), void *arg)
{
	static pthread_create_fn real;
	struct start *s;
	int r;

	if (!real) {
		real = (pthread_create_fn)(uintptr_t)dlsym(RTLD_NEXT, "pthread_create");
		if (!real)
			return EAGAIN;
	}
	if (!active)
		return real(thread, attr, fn, arg);
	s = malloc(sizeof(*s));
	if (!s)
		return real(thread, attr, fn, arg);
	s->fn = fn;
	s->arg = arg;
	r = real(thread, attr, thread_start, s);
	if (r != 0)
		free(s);
	return r;
}
