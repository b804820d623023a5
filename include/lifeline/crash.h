/* lifeline/crash.h: the in-process crash reporter.
 *
 * ll_crash_install() catches the fatal signals (SIGSEGV, SIGBUS, SIGILL,
 * SIGFPE, SIGABRT, SIGTRAP, SIGSYS by default) on an alternate signal stack.
 * When one arrives, an async-signal-safe handler (no malloc, no stdio, no
 * locks) writes a report: the signal and what its si_code means, the fault
 * address and the mapping it falls in ("stack overflow" when it is the guard
 * area under a stack), the thread, the registers, the backtrace with
 * module+offset and function+offset for each frame, and the memory map. Then
 * the previous disposition is put back (a handler installed before ours is
 * chained to, otherwise SIG_DFL) and the signal is re-raised with its
 * original siginfo, so the kernel still dumps core and the exit status is the
 * signal's. A second crash while a report is being written (in the handler
 * itself or in another thread) writes nothing more and still ends in a core.
 *
 * Frame lines have exactly this form (`lifeline symbolize` reads them):
 *   "  #3  0x00007f1234567890 /usr/lib/libfoo.so+0x1a2b3 (foo_bar+0x1c)"
 * The number after '+' is the ELF virtual address in that module (what
 * `addr2line -e PATH` takes); for caller frames both addresses are the
 * return address minus one, i.e. inside the call instruction. "(??)" when no
 * symbol covers the address.
 *
 * The same reporter is available without rebuilding a program:
 *   LD_PRELOAD=liblifeline-crash.so program
 * configured by the LIFELINE_CRASH_* variables (see ll_crash_opts_from_env()
 * and docs/crash.md).
 *
 * Privileged processes. In a setuid, setgid or file-capability program
 * (AT_SECURE) the LIFELINE_CRASH_* variables are ignored (secure_getenv()).
 * In a process that is not dumpable at the time of the crash
 * (prctl(PR_GET_DUMPABLE) != 1: setuid programs, and processes that changed
 * credentials), the report written to ll_crash_opts.fd leaves out
 * everything that would hand the privileged process to whoever holds that
 * descriptor (stderr is the invoking user's): no registers, no stack bytes,
 * no raw addresses (frames show only MODULE+0xOFFSET (function+0xOFF), the
 * fault address only its mapping and module offset) and no memory map; one
 * "Note:" line says so. The full report goes only where the program itself
 * chose: a file in ll_crash_opts.dir, or fd when the program sets
 * LL_CRASH_FULL_FD.
 *
 * All functions return 0 on success and a negative errno value on failure. */
#ifndef LIFELINE_CRASH_H
#define LIFELINE_CRASH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Most signals ll_crash_opts.signals may list. */
#define LL_CRASH_MAX_SIGNALS 16

/** Flags of ll_crash_opts.flags. */
enum {
	LL_CRASH_NO_MAPS = 1u << 0,      /**< omit the memory map from the report */
	LL_CRASH_NO_REGISTERS = 1u << 1, /**< omit the register dump */
	/** fd is a descriptor the program opened itself (a root-only log), not
	 *  one it inherited: it gets the full report even when the process is
	 *  not dumpable (see "Privileged processes" above). Cleared by
	 *  ll_crash_opts_from_env() when LIFELINE_CRASH_FD applies. */
	LL_CRASH_FULL_FD = 1u << 2,
};

/** Reporter configuration. Initialise with ll_crash_opts_init(), then
 *  change what you need. ll_crash_install() copies everything it needs. */
struct ll_crash_opts {
	/** Signals to catch; nsignals == 0 means the default set (SEGV BUS ILL
	 *  FPE ABRT TRAP SYS). At most LL_CRASH_MAX_SIGNALS. */
	int signals[LL_CRASH_MAX_SIGNALS];
	size_t nsignals;
	/** Descriptor the report is written to (default 2, stderr). It must
	 *  stay open: the handler writes to whatever this number is then. */
	int fd;
	/** When non-NULL, each report goes to a new file in this directory,
	 *  "crash-<exe>-<pid>-<UTC time>.txt", created with O_EXCL|O_NOFOLLOW
	 *  (mode 0600); a line on fd names it. If the file cannot be created the
	 *  report goes to fd, saying why. At most 3800 bytes; the directory is
	 *  opened at crash time, so it need not exist yet at install. */
	const char *dir;
	/** Size of the alternate signal stacks; 0 means 256 KiB. At least
	 *  64 KiB is used. Each stack has a PROT_NONE guard page below it. */
	size_t altstack_size;
	/** LL_CRASH_* flags. */
	unsigned flags;
	/** Watchdog, in seconds (ll_crash_opts_init: 30; 0: none). If the
	 *  report is not finished by then (the unwinder stuck on a lock, see
	 *  docs/crash.md), a SIGALRM armed with alarm() for the duration of the
	 *  report ends the process with its fatal signal at the default action,
	 *  so the core is still dumped. Not armed when SIGALRM is itself one of
	 *  the caught signals. At most 3600. */
	unsigned watchdog_s;
};

/** Fill opts with the defaults: default signal set, fd 2, no directory,
 *  a 30 s watchdog. */
void ll_crash_opts_init(struct ll_crash_opts *opts);

/** Apply the LIFELINE_CRASH_* environment variables to opts:
 *   LIFELINE_CRASH_DIR=path       write reports as files into path
 *   LIFELINE_CRASH_FD=n           write reports (or the file-name line) to fd n
 *   LIFELINE_CRASH_SIGNALS=list   comma-separated names or numbers
 *                                 ("SEGV,SIGBUS,6")
 *   LIFELINE_CRASH_MAPS=0         omit the memory map
 *   LIFELINE_CRASH_REGISTERS=0    omit the registers
 *   LIFELINE_CRASH_ALTSTACK=bytes alternate stack size (suffix k or m allowed)
 *   LIFELINE_CRASH_WATCHDOG=secs  watchdog (0: none; at most 3600)
 * Each is read with secure_getenv(): in a setuid, setgid or file-capability
 * program none of them applies (the invoking user chose them).
 * opts->dir points into the environment afterwards. A bad value leaves that
 * setting at its previous value, and the first such problem is described in
 * err (when err is not NULL) and makes the call return -EINVAL after
 * applying every valid variable. */
int ll_crash_opts_from_env(struct ll_crash_opts *opts, char *err, size_t errlen);

/** Install the reporter for the whole process, and give the calling thread
 *  an alternate signal stack (ll_crash_thread_init()). Call it early in
 *  main(), before starting threads. The dynamic unwinder (libgcc_s) and the
 *  whole report path are run once here (into /dev/null), so that the
 *  handler never loads or lazily binds anything. opts NULL means the
 *  defaults. Dispositions in place before (a handler, SIG_IGN) are kept and
 *  chained to after the report (see the top of this file); a signal the
 *  program ignored that another process sends stays ignored, except a
 *  SIGABRT the process raises itself (abort()), which is reported.
 *  Not thread-safe against itself or ll_crash_uninstall().
 *  -EALREADY if installed, -EINVAL for a bad signal, a negative fd, more
 *  than LL_CRASH_MAX_SIGNALS signals, an empty or too long dir, or a
 *  watchdog over 3600 s;
 *  ll_crash_thread_init()'s errors; sigaction's errno (the dispositions
 *  already changed are put back). */
int ll_crash_install(const struct ll_crash_opts *opts);

/** Put back the dispositions that were in place before ll_crash_install()
 *  and release the calling thread's alternate stack if it is ours (other
 *  threads keep theirs until they exit). -ENOENT if not installed. */
int ll_crash_uninstall(void);

/** Give the calling thread its own alternate signal stack, so that a stack
 *  overflow in this thread can still be reported. Every thread that may
 *  overflow its stack should call it once (the LD_PRELOAD form does it for
 *  every thread started with pthread_create). Does nothing when the thread
 *  already has an alternate stack of at least the configured size. Safe to
 *  call before ll_crash_install() (the default size is used then). The
 *  stack is mmap'ed (never malloc'ed) and is unmapped automatically when the
 *  thread exits (a pthread key destructor), so short-lived threads do not
 *  leak it; for that reason the library holding the reporter must not be
 *  dlclose'd while such threads run. Not async-signal-safe.
 *  -ENOMEM (or another mmap/mprotect errno) when the stack cannot be mapped;
 *  -EBUSY when called while running on the current alternate stack. */
int ll_crash_thread_init(void);

/** Release the calling thread's alternate stack now, if
 *  ll_crash_thread_init() made it (an alternate stack installed by someone
 *  else is left alone; a smaller one that ours replaced is put back, so its
 *  owner can free it). 0 when there is nothing to release; -EBUSY when
 *  called on that very stack (from a signal handler). */
int ll_crash_thread_fini(void);

#ifdef __cplusplus
}
#endif

#endif
