/* install.c: ll_crash_install(), the fatal-signal handler, and the hand-off
 * back to the kernel.
 *
 * The handler (on the thread's alternate stack) claims an atomic owner word
 * with compare-and-swap, so one thread at a time writes the report:
 *   - the first crashing thread writes it, puts back every disposition that
 *     was in place before us, and re-raises its signal;
 *   - another thread crashing meanwhile waits (nanosleep, bounded) for the
 *     report to finish, then restores and re-raises too;
 *   - a fault inside the handler (owner == this thread) writes one line,
 *     restores and re-raises at once; a fault of the very signal being
 *     handled (blocked in its handler) never gets here: the kernel kills the
 *     process with the default action, which still dumps core.
 * Re-raising uses rt_tgsigqueueinfo with the original siginfo (the core's
 * NT_SIGINFO then still says SEGV_MAPERR and the fault address), falling back
 * to tgkill. The signal is blocked while the handler runs, so it is delivered
 * when the handler returns, to the restored disposition: SIG_DFL dumps core
 * and the exit status is the signal's; a handler installed before ours runs
 * as if we had not been there. For faults (SIGSEGV at a bad address...)
 * returning also re-executes the faulting instruction, which would fault
 * again under SIG_DFL anyway.
 *
 * A signal the program ignored before install and that another process
 * sends stays ignored; a SIGABRT the process raises itself while ignoring
 * it (abort()) is reported, since abort() kills regardless. Everything the
 * handler calls is bound at install (warm_up), so no lazy PLT binding runs
 * inside it.
 *
 * Watchdog: while the report is written, alarm(cfg.watchdog_s) is armed
 * with a SIGALRM handler of ours (SIGALRM unblocked in the reporting
 * thread). Should the report hang (libgcc's unwinder waiting on a lock that
 * a JIT's thread holds: docs/crash.md), the alarm ends the process with the
 * crash's signal at SIG_DFL, so the core is still dumped. The program's
 * SIGALRM disposition and pending alarm are put back after the report. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "crash/crash_internal.h"
#include "lifeline/crash.h"

#define DIR_MAX 3800
#define WAIT_ROUNDS 1000  /* 10 ms each: a second crashing thread waits <= 10 s */

static const int default_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS };

static struct {
	int installed;
	int signals[LL_CRASH_MAX_SIGNALS];
	struct sigaction old[LL_CRASH_MAX_SIGNALS];
	size_t nsignals;
	int fd;
	unsigned flags;
	unsigned watchdog_s;
	char dir[DIR_MAX + 1];
	int have_dir;
} cfg;

/* The crash being reported, for the watchdog. */
static int wd_sig;
static siginfo_t wd_si;

/* A load of errno that cannot be optimised away (warm_up). */
static volatile int saved_errno_sink;

/* 0: idle; > 0: tid of the thread writing the report; -1: report done. */
static _Atomic int owner;

void ll_crash_opts_init(struct ll_crash_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->fd = 2;
	opts->watchdog_s = 30;
}

static void restore_all(void)
{
	for (size_t i = 0; i < cfg.nsignals; i++)
		sigaction(cfg.signals[i], &cfg.old[i], NULL);
}

static const struct sigaction *old_action(int sig)
{
	for (size_t i = 0; i < cfg.nsignals; i++)
		if (cfg.signals[i] == sig)
			return &cfg.old[i];
	return NULL;
}

static void reraise(int sig, siginfo_t *si)
{
	pid_t pid = getpid(), tid = (pid_t)syscall(SYS_gettid);

	if (syscall(SYS_rt_tgsigqueueinfo, pid, tid, sig, si) < 0)
		syscall(SYS_tgkill, pid, tid, sig);
}

static void say(const char *msg)
{
	struct cw w;

	cw_init(&w, cfg.fd);
	cw_str(&w, msg);
	cw_flush(&w);
}

/* In this thread only (Linux: the mask is per thread). */
static void thread_unblock(int sig)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &set, NULL, (long)(NSIG / 8));
}

/* SIGALRM: the report took longer than cfg.watchdog_s. End the process
 * with the crash's signal at SIG_DFL (a core), from whichever thread got
 * the alarm: queue it to this thread and unblock it here. */
static void watchdog(int s, siginfo_t *si, void *uc)
{
	struct sigaction dfl;

	(void)s;
	(void)si;
	(void)uc;
	say("\nlifeline: the crash report did not finish within the watchdog time (the unwinder may be "
	    "waiting for a lock: see docs/crash.md); ending the process with its signal now\n");
	restore_all();
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(wd_sig, &dfl, NULL);
	reraise(wd_sig, &wd_si);
	thread_unblock(wd_sig);
}

struct watch {
	int armed;
	unsigned prev_alarm;
	struct sigaction prev_action;
};

static void watchdog_arm(int sig, const siginfo_t *si, struct watch *w)
{
	struct sigaction sa;

	w->armed = 0;
	if (!cfg.watchdog_s || old_action(SIGALRM))
		return;
	wd_sig = sig;
	wd_si = *si;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = watchdog;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	if (sigaction(SIGALRM, &sa, &w->prev_action) < 0)
		return;
	/* Reach this thread even if the program blocks SIGALRM everywhere
	 * (the handler's return restores the thread's mask). */
	thread_unblock(SIGALRM);
	w->prev_alarm = alarm(cfg.watchdog_s);
	w->armed = 1;
}

static void watchdog_disarm(struct watch *w)
{
	if (!w->armed)
		return;
	alarm(0);
	sigaction(SIGALRM, &w->prev_action, NULL);
	if (w->prev_alarm)
		alarm(w->prev_alarm);
}

static void handler(int sig, siginfo_t *si, void *ucv)
{
	struct watch w;
	const struct sigaction *old = old_action(sig);
	int saved_errno = errno;
	int expected = 0, tid = (int)syscall(SYS_gettid);

	/* A signal sent by a process to a program that ignored it before
	 * we came: keep ignoring it. Except SIGABRT sent by this very process
	 * (abort(), or raise(SIGABRT)): abort() cannot be ignored, it goes on
	 * to set SIG_DFL itself and raise again, which would end the process
	 * with a core but no report. So write the report, leave every
	 * disposition as it is and return: abort() then dumps core with the
	 * signal's exit status; a plain raise(SIGABRT) goes on ignored (the
	 * report says so), and the reporter stays armed. */
	if (old && old->sa_handler == SIG_IGN && !(old->sa_flags & SA_SIGINFO) && si->si_code <= 0) {
		if (sig == SIGABRT && si->si_pid == getpid() &&
		    atomic_compare_exchange_strong(&owner, &expected, tid)) {
			say("lifeline: SIGABRT raised by this process while the program ignores SIGABRT: "
			    "abort() ends the process anyway, so here is the report\n");
			watchdog_arm(sig, si, &w);
			crash_report_write(cfg.fd, sig, si, ucv, cfg.flags, cfg.have_dir ? cfg.dir : NULL);
			watchdog_disarm(&w);
			atomic_store(&owner, 0);
		}
		errno = saved_errno;
		return;
	}
	if (!atomic_compare_exchange_strong(&owner, &expected, tid)) {
		if (expected == tid) {
			say("lifeline: fault inside the crash reporter; the report above is incomplete\n");
		} else {
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			for (int i = 0; i < WAIT_ROUNDS && atomic_load(&owner) > 0; i++)
				nanosleep(&ts, NULL);
		}
		restore_all();
		reraise(sig, si);
		errno = saved_errno;
		return;
	}
	watchdog_arm(sig, si, &w);
	crash_report_write(cfg.fd, sig, si, ucv, cfg.flags, cfg.have_dir ? cfg.dir : NULL);
	watchdog_disarm(&w);
	restore_all();
	atomic_store(&owner, -1);
	reraise(sig, si);
	errno = saved_errno;
}

/* Run the whole report once into /dev/null: loads and binds everything the
 * handler uses (libgcc_s's unwinder, lazy PLT entries) outside any signal.
 * The few functions that dry run does not reach are called here once too
 * (a first call through a lazily bound PLT slot would run the dynamic
 * linker's binder inside the handler): nanosleep (a second crashing thread
 * waits), strrchr and strcmp (the report file's name; the stack-gap test),
 * alarm and memset (the watchdog) and errno's accessor. The test crash-linked checks with LD_DEBUG=bindings
 * that nothing is bound after install. */
static void warm_up(void)
{
	siginfo_t si;
	ucontext_t uc;
	struct timespec zero = { 0, 0 };
	char name[] = "a/b";
	char *volatile opaque = name;   /* keeps the calls from being folded */
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	nanosleep(&zero, NULL);
	/* alarm(): the watchdog. A pending alarm of the program keeps its
	 * whole seconds. */
	{
		unsigned prev = alarm(0);

		if (prev)
			alarm(prev);
	}
	memset(opaque, 0, 1);
	if (!strrchr(opaque, '/') || !strcmp(opaque, "[stack]"))
		errno = 0;
	saved_errno_sink = errno;
	crash_unwind_warm();
	if (fd < 0)
		return;
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGSEGV;
	si.si_code = SEGV_MAPERR;
	if (getcontext(&uc) == 0)
		crash_report_write(fd, SIGSEGV, &si, &uc, cfg.flags | LL_CRASH_NO_MAPS, NULL);
	close(fd);
}

int ll_crash_install(const struct ll_crash_opts *opts)
{
	struct ll_crash_opts defaults;
	struct sigaction sa;
	size_t i;
	int r;

	if (cfg.installed)
		return -EALREADY;
	if (!opts) {
		ll_crash_opts_init(&defaults);
		opts = &defaults;
	}
	if (opts->nsignals > LL_CRASH_MAX_SIGNALS || opts->fd < 0)
		return -EINVAL;
	for (i = 0; i < opts->nsignals; i++)
		if (opts->signals[i] <= 0 || opts->signals[i] >= NSIG || opts->signals[i] == SIGKILL ||
		    opts->signals[i] == SIGSTOP)
			return -EINVAL;
	if (opts->dir && (strlen(opts->dir) > DIR_MAX || !opts->dir[0]))
		return -EINVAL;
	if (opts->watchdog_s > 3600)
		return -EINVAL;

	memset(&cfg, 0, sizeof(cfg));
	if (opts->nsignals) {
		memcpy(cfg.signals, opts->signals, opts->nsignals * sizeof(int));
		cfg.nsignals = opts->nsignals;
	} else {
		memcpy(cfg.signals, default_signals, sizeof(default_signals));
		cfg.nsignals = LL_ARRAY_SIZE(default_signals);
	}
	cfg.fd = opts->fd;
	cfg.flags = opts->flags;
	cfg.watchdog_s = opts->watchdog_s;
	if (opts->dir) {
		strcpy(cfg.dir, opts->dir);
		cfg.have_dir = 1;
	}
	if (opts->altstack_size)
		crash_altstack_size = opts->altstack_size;
	r = ll_crash_thread_init();
	if (r < 0)
		return r;
	warm_up();
	atomic_store(&owner, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	/* A report written to a pipe whose reader is gone must not end the
	 * process with SIGPIPE (no core): keep it blocked in the handler;
	 * the write fails with EPIPE instead. The re-raised fatal signal is
	 * delivered before the pending SIGPIPE (synchronous signals first). */
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGPIPE);
	for (i = 0; i < cfg.nsignals; i++) {
		if (sigaction(cfg.signals[i], &sa, &cfg.old[i]) < 0) {
			r = -errno;
			cfg.nsignals = i;
			restore_all();
			return r;
		}
	}
	cfg.installed = 1;
	return 0;
}

int ll_crash_uninstall(void)
{
	if (!cfg.installed)
		return -ENOENT;
	restore_all();
	cfg.installed = 0;
	ll_crash_thread_fini();
	return 0;
}
