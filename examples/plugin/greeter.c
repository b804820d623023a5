/* greeter.c: the example plugin, built in several versions from this one
 * source (GREETER_VERSION=N), plus broken variants used by the demo and the
 * tests: GREETER_WRONG_ABI, GREETER_UNDEFINED (calls a function nobody
 * defines), GREETER_INIT_FAIL, GREETER_NO_DESCRIPTOR, and GREETER_TLS_DTOR
 * (each calling thread registers a thread_local destructor, as C++
 * thread_local objects do: glibc then keeps the object mapped after dlclose
 * until those threads exit), GREETER_INIT_CRASH (init dies of SIGSEGV),
 * GREETER_INIT_HANG (init never returns) and GREETER_SAVE_FAIL (save always
 * fails: a state trap for the next version). GREETER_PAD shifts the
 * code so that a version's functions do not sit where another's did (what a
 * real update does, and why `cp` over a mapped .so kills a naive host).
 * State (the number of calls served) is saved and restored across reloads. */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include <lifeline/plugin.h>

#include "greeter.h"

#ifndef GREETER_VERSION
#define GREETER_VERSION 1
#endif
#define STR2(x) #x
#define STR(x) STR2(x)

static atomic_ulong served_calls;

#if GREETER_PAD
/* A block of code ahead of the real functions. */
__attribute__((noinline, used)) long greeter_pad(long x)
{
	volatile long acc = x;
#define PAD4 acc = acc * 31 + 7; acc ^= acc >> 3; acc += 12345; acc = acc * 17 - 3;
#define PAD16 PAD4 PAD4 PAD4 PAD4
#define PAD64 PAD16 PAD16 PAD16 PAD16
	PAD64 PAD64 PAD64 PAD64 PAD64 PAD64 PAD64 PAD64
	return acc;
}
#endif

#ifdef GREETER_UNDEFINED
extern long greeter_missing_symbol(long x);
#endif

#ifdef GREETER_TLS_DTOR
/* What g++ emits for a thread_local object with a destructor. */
extern int __cxa_thread_atexit_impl(void (*dtor)(void *), void *obj, void *dso);
extern void *__dso_handle;
static __thread int tls_registered;

static void tls_dtor(void *obj)
{
	(void)obj;
}
#endif

static const char *version(void)
{
	return "v" STR(GREETER_VERSION);
}

static int number(void)
{
	return GREETER_VERSION;
}

static long answer(long x)
{
	atomic_fetch_add_explicit(&served_calls, 1, memory_order_relaxed);
#ifdef GREETER_TLS_DTOR
	if (!tls_registered) {
		tls_registered = 1;
		__cxa_thread_atexit_impl(tls_dtor, NULL, &__dso_handle);
	}
#endif
#ifdef GREETER_UNDEFINED
	return greeter_missing_symbol(x);
#else
	return x + GREETER_STEP * GREETER_VERSION;
#endif
}

static unsigned long served(void)
{
	return atomic_load_explicit(&served_calls, memory_order_relaxed);
}

__attribute__((unused)) static int init(void)
{
#if defined(GREETER_INIT_FAIL)
	return -EIO;
#elif defined(GREETER_INIT_CRASH)
	static volatile uintptr_t nowhere = 16; /* not NULL: UBSan would report it first */

	return *(volatile int *)nowhere; /* SIGSEGV */
#elif defined(GREETER_INIT_HANG)
	for (;;)
		pause();
	return 0;
#else
	return 0;
#endif
}

__attribute__((unused)) static int save(void **data, size_t *len)
{
#ifdef GREETER_SAVE_FAIL
	(void)data;
	(void)len;
	return -EIO;
#endif
	unsigned long *n = malloc(sizeof(*n));

	if (!n)
		return -ENOMEM;
	*n = served();
	*data = n;
	*len = sizeof(*n);
	return 0;
}

__attribute__((unused)) static int restore(const void *data, size_t len)
{
	unsigned long n;

	if (len != sizeof(n))
		return -EINVAL;
	memcpy(&n, data, sizeof(n));
	atomic_fetch_add_explicit(&served_calls, n, memory_order_relaxed);
	return 0;
}

static const struct greeter_api api = {
	.version = version, .number = number, .answer = answer, .served = served,
};

#ifndef GREETER_NO_DESCRIPTOR
#ifdef GREETER_WRONG_ABI
#define ABI (GREETER_ABI + 98)
#else
#define ABI GREETER_ABI
#endif
LL_PLUGIN(.name = GREETER_NAME, .abi = ABI, .table = &api, .init = init, .save = save, .restore = restore);
#else
/* No descriptor: only the table is exported. */
__attribute__((visibility("default"))) const struct greeter_api *greeter_table = &api;
#endif
