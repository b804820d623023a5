/* signals.c: signal names and what each si_code means, for the report.
 *
 * Tables of constant strings only, so every lookup is async-signal-safe
 * (crash_sig_from_name, used when parsing the configuration, is not called
 * from the handler). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"
#include "crash/crash_internal.h"

struct signame {
	int sig;
	const char *name;
};

static const struct signame signames[] = {
	{ SIGHUP, "SIGHUP" },   { SIGINT, "SIGINT" },     { SIGQUIT, "SIGQUIT" },
	{ SIGILL, "SIGILL" },   { SIGTRAP, "SIGTRAP" },   { SIGABRT, "SIGABRT" },
	{ SIGBUS, "SIGBUS" },   { SIGFPE, "SIGFPE" },     { SIGKILL, "SIGKILL" },
	{ SIGUSR1, "SIGUSR1" }, { SIGSEGV, "SIGSEGV" },   { SIGUSR2, "SIGUSR2" },
	{ SIGPIPE, "SIGPIPE" }, { SIGALRM, "SIGALRM" },   { SIGTERM, "SIGTERM" },
	{ SIGSTKFLT, "SIGSTKFLT" }, { SIGCHLD, "SIGCHLD" }, { SIGCONT, "SIGCONT" },
	{ SIGSTOP, "SIGSTOP" }, { SIGTSTP, "SIGTSTP" },   { SIGTTIN, "SIGTTIN" },
	{ SIGTTOU, "SIGTTOU" }, { SIGURG, "SIGURG" },     { SIGXCPU, "SIGXCPU" },
	{ SIGXFSZ, "SIGXFSZ" }, { SIGVTALRM, "SIGVTALRM" }, { SIGPROF, "SIGPROF" },
	{ SIGWINCH, "SIGWINCH" }, { SIGIO, "SIGIO" },     { SIGPWR, "SIGPWR" },
	{ SIGSYS, "SIGSYS" },
};

const char *crash_signame(int sig)
{
	for (size_t i = 0; i < LL_ARRAY_SIZE(signames); i++)
		if (signames[i].sig == sig)
			return signames[i].name;
	return NULL;
}

int crash_sig_from_name(const char *s, size_t len)
{
	char buf[16];
	char *end;
	long v;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (buf[0] >= '0' && buf[0] <= '9') {
		v = strtol(buf, &end, 10);
		return *end || v <= 0 || v >= NSIG ? -1 : (int)v;
	}
	for (size_t i = 0; i < LL_ARRAY_SIZE(signames); i++) {
		const char *n = signames[i].name;

		if (!strcasecmp(buf, n) || !strcasecmp(buf, n + 3))
			return signames[i].sig;
	}
	return -1;
}

struct code {
	int sig;   /* 0: any signal */
	int code;
	const char *name;
	const char *meaning;
};

static const struct code codes[] = {
	{ SIGSEGV, SEGV_MAPERR, "SEGV_MAPERR", "address not mapped to object" },
	{ SIGSEGV, SEGV_ACCERR, "SEGV_ACCERR", "invalid permissions for mapped object (no permission)" },
#ifdef SEGV_BNDERR
	{ SIGSEGV, SEGV_BNDERR, "SEGV_BNDERR", "failed address bound checks" },
#endif
#ifdef SEGV_PKUERR
	{ SIGSEGV, SEGV_PKUERR, "SEGV_PKUERR", "access denied by memory protection keys" },
#endif
	{ SIGBUS, BUS_ADRALN, "BUS_ADRALN", "invalid address alignment" },
	{ SIGBUS, BUS_ADRERR, "BUS_ADRERR", "nonexistent physical address (e.g. past the end of a mapped file)" },
	{ SIGBUS, BUS_OBJERR, "BUS_OBJERR", "object-specific hardware error" },
#ifdef BUS_MCEERR_AR
	{ SIGBUS, BUS_MCEERR_AR, "BUS_MCEERR_AR", "hardware memory error consumed on a machine check" },
	{ SIGBUS, BUS_MCEERR_AO, "BUS_MCEERR_AO", "hardware memory error detected in the process" },
#endif
	{ SIGILL, ILL_ILLOPC, "ILL_ILLOPC", "illegal opcode" },
	{ SIGILL, ILL_ILLOPN, "ILL_ILLOPN", "illegal operand (e.g. ud2)" },
	{ SIGILL, ILL_ILLADR, "ILL_ILLADR", "illegal addressing mode" },
	{ SIGILL, ILL_ILLTRP, "ILL_ILLTRP", "illegal trap" },
	{ SIGILL, ILL_PRVOPC, "ILL_PRVOPC", "privileged opcode" },
	{ SIGILL, ILL_PRVREG, "ILL_PRVREG", "privileged register" },
	{ SIGILL, ILL_COPROC, "ILL_COPROC", "coprocessor error" },
	{ SIGILL, ILL_BADSTK, "ILL_BADSTK", "internal stack error" },
	{ SIGFPE, FPE_INTDIV, "FPE_INTDIV", "integer divide by zero" },
	{ SIGFPE, FPE_INTOVF, "FPE_INTOVF", "integer overflow" },
	{ SIGFPE, FPE_FLTDIV, "FPE_FLTDIV", "floating-point divide by zero" },
	{ SIGFPE, FPE_FLTOVF, "FPE_FLTOVF", "floating-point overflow" },
	{ SIGFPE, FPE_FLTUND, "FPE_FLTUND", "floating-point underflow" },
	{ SIGFPE, FPE_FLTRES, "FPE_FLTRES", "floating-point inexact result" },
	{ SIGFPE, FPE_FLTINV, "FPE_FLTINV", "floating-point invalid operation" },
	{ SIGFPE, FPE_FLTSUB, "FPE_FLTSUB", "subscript out of range" },
	{ SIGTRAP, TRAP_BRKPT, "TRAP_BRKPT", "process breakpoint" },
	{ SIGTRAP, TRAP_TRACE, "TRAP_TRACE", "process trace trap" },
#ifdef TRAP_BRANCH
	{ SIGTRAP, TRAP_BRANCH, "TRAP_BRANCH", "process taken branch trap" },
#endif
#ifdef TRAP_HWBKPT
	{ SIGTRAP, TRAP_HWBKPT, "TRAP_HWBKPT", "hardware breakpoint or watchpoint" },
#endif
	{ SIGSYS, SYS_SECCOMP, "SYS_SECCOMP", "system call refused by a seccomp filter" },
	{ 0, SI_USER, "SI_USER", "sent by kill()" },
	{ 0, SI_TKILL, "SI_TKILL", "sent by tkill()/tgkill() (raise(), abort(), pthread_kill())" },
	{ 0, SI_QUEUE, "SI_QUEUE", "sent by sigqueue()" },
	{ 0, SI_TIMER, "SI_TIMER", "a POSIX timer expired" },
	{ 0, SI_MESGQ, "SI_MESGQ", "a POSIX message queue changed state" },
	{ 0, SI_ASYNCIO, "SI_ASYNCIO", "asynchronous I/O completed" },
	{ 0, SI_SIGIO, "SI_SIGIO", "queued SIGIO" },
	{ SIGSEGV, SI_KERNEL, "SI_KERNEL", "sent by the kernel: a general-protection fault (e.g. a non-canonical address)" },
	{ SIGTRAP, SI_KERNEL, "SI_KERNEL", "sent by the kernel: a breakpoint instruction (int3)" },
	{ 0, SI_KERNEL, "SI_KERNEL", "sent by the kernel" },
};

void crash_code_text(int sig, int code, const char **name, const char **meaning)
{
	/* Codes <= 0 and SI_KERNEL mean the same for every signal; positive
	 * codes are per signal. */
	for (size_t i = 0; i < LL_ARRAY_SIZE(codes); i++) {
		if (codes[i].code != code)
			continue;
		if (codes[i].sig == sig || (codes[i].sig == 0 && (code <= 0 || code == SI_KERNEL))) {
			*name = codes[i].name;
			*meaning = codes[i].meaning;
			return;
		}
	}
	*name = "";
	*meaning = "unknown si_code";
}

int crash_code_from_process(int code)
{
	return code == SI_USER || code == SI_TKILL || code == SI_QUEUE;
}
