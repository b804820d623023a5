/* stall_unwind.c: an LD_PRELOAD library for the crash reporter's watchdog
 * test. Its _Unwind_Backtrace never returns when called on an alternate
 * signal stack, i.e. from the crash handler, as libgcc's would while it
 * waits for a lock that another thread holds (a JIT registering frames:
 * docs/crash.md); anywhere else (the warm-up at install) it is libgcc's. */
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>
#include <unwind.h>

typedef _Unwind_Reason_Code (*backtrace_fn)(_Unwind_Trace_Fn, void *);

__attribute__((visibility("default"))) _Unwind_Reason_Code _Unwind_Backtrace(_Unwind_Trace_Fn fn, void *arg)
{
	static backtrace_fn real;
	stack_t ss;

	if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK))
		for (;;)
			pause();
	if (!real)
		real = (backtrace_fn)(uintptr_t)dlsym(RTLD_NEXT, "_Unwind_Backtrace");
	return real ? real(fn, arg) : _URC_END_OF_STACK;
}
