/* fault.c: the "what happened" lines of the crash report: the signal, what
 * its si_code means, who sent it, and the fault address explained: which
 * mapping holds it (module, permissions, module offset and function), none,
 * or the guard area below a stack ("STACK OVERFLOW"). Async-signal-safe, as
 * all of the report. With redact (a process that is not dumpable writing to
 * a descriptor, see report.c) no absolute address is printed: the mapping,
 * its module offset and function say where, without the ASLR layout. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "crash/crash_internal.h"

/* Below a grows-down [stack] the kernel keeps a gap (stack_guard_gap, 256
 * pages by default); a fault there, or just under the SP, is an overflow. */
#define STACK_GAP (1024 * 1024 + 64 * 1024)
#define SP_SLACK (64 * 1024)

void crash_write_perms(struct cw *w, unsigned p)
{
	cw_char(w, p & CM_R ? 'r' : '-');
	cw_char(w, p & CM_W ? 'w' : '-');
	cw_char(w, p & CM_X ? 'x' : '-');
	cw_char(w, p & CM_S ? 's' : 'p');
}

/* Path of a mapping without " (deleted)". */
void crash_write_path(struct cw *w, const struct crash_map *m)
{
	size_t len = strlen(m->path);

	if (m->deleted)
		len -= strlen(" (deleted)");
	cw_mem(w, m->path, len);
}

static int is_stack_overflow(uint64_t addr, uint64_t sp, const struct crash_map *in)
{
	const struct crash_map *above;

	if (in && (in->perms & (CM_R | CM_W | CM_X)))
		return 0;
	above = crash_maps_above(addr);
	/* Below the main thread's [stack], inside the guard gap. */
	if (!in && above && !strcmp(above->path, "[stack]") && above->start - addr <= STACK_GAP)
		return 1;
	/* A PROT_NONE guard right under an anonymous rw mapping: a thread
	 * stack allocated by pthread_create. */
	if (in && above && above->start == in->end && (above->perms & (CM_R | CM_W)) == (CM_R | CM_W) &&
	    above->path[0] == '\0' && in->path[0] == '\0')
		return 1;
	/* At or just under the stack pointer. */
	return addr <= sp + 256 && addr + SP_SLACK >= sp;
}

static int has_fault_address(int sig, int code)
{
	if (code <= 0 || code == SI_KERNEL)
		return 0;
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP;
}

void crash_write_address(struct cw *w, int sig, const siginfo_t *si, const ucontext_t *uc, int redact)
{
	uint64_t addr = (uint64_t)(uintptr_t)si->si_addr;
	const struct crash_map *m;

	if (sig == SIGSEGV && si->si_code == SI_KERNEL) {
		cw_str(w, "Address:    not reported (a general-protection fault: often a non-canonical "
			  "pointer such as 0x4141414141414141; see the registers)\n");
		return;
	}
	if (!has_fault_address(sig, si->si_code))
		return;
	cw_str(w, "Address:    ");
	if (redact)
		cw_str(w, "(hidden)");
	else
		cw_hex(w, addr, 16);
	m = crash_maps_find(addr);
	if (is_stack_overflow(addr, crash_uc_sp(uc), m)) {
		cw_str(w, ": STACK OVERFLOW (in the guard area below a stack");
		if (!redact) {
			cw_str(w, "; sp ");
			cw_hex(w, crash_uc_sp(uc), 16);
		}
		cw_str(w, ")\n");
		return;
	}
	if (!m) {
		cw_str(w, ": not in any mapping");
		if (addr == crash_uc_pc(uc))
			cw_str(w, "; it is the PC itself: a call or jump through a bad function pointer");
		else if (addr < 65536)
			cw_str(w, " (NULL pointer dereference)");
		cw_char(w, '\n');
		return;
	}
	cw_str(w, ": in ");
	if (m->path[0])
		crash_write_path(w, m);
	else
		cw_str(w, "an anonymous mapping");
	cw_str(w, " [");
	if (!redact) {
		cw_hex(w, m->start, 0);
		cw_char(w, '-');
		cw_hex(w, m->end, 0);
		cw_char(w, ' ');
	}
	crash_write_perms(w, m->perms);
	cw_str(w, "]");
	if (m->path[0] == '/') {
		struct crash_sym s;

		crash_elf_lookup(m, addr, &s);
		if (s.have_vaddr) {
			cw_str(w, " at +");
			cw_hex(w, s.vaddr, 0);
			if (s.name[0]) {
				cw_str(w, " (");
				cw_str(w, s.name);
				cw_char(w, '+');
				cw_hex(w, s.sym_off, 0);
				cw_char(w, ')');
			}
		}
	}
	if (sig == SIGSEGV && si->si_code == SEGV_ACCERR) {
		if (m->perms & CM_X)
			cw_str(w, ": a write into code");
		else if (!(m->perms & CM_W) && (m->perms & CM_R))
			cw_str(w, ": a write into read-only memory?");
		else if (!(m->perms & (CM_R | CM_W | CM_X)))
			cw_str(w, ": a PROT_NONE (guard) mapping");
	}
	cw_char(w, '\n');
}

void crash_write_signal(struct cw *w, int sig, const siginfo_t *si, int redact)
{
	const char *name = crash_signame(sig), *cname, *meaning;

	crash_code_text(sig, si->si_code, &cname, &meaning);
	cw_str(w, "Signal:     ");
	cw_str(w, name ? name : "signal");
	cw_str(w, " (");
	cw_dec(w, sig);
	cw_str(w, "), si_code ");
	cw_dec(w, si->si_code);
	if (cname[0]) {
		cw_char(w, ' ');
		cw_str(w, cname);
	}
	cw_str(w, ": ");
	cw_str(w, meaning);
	cw_char(w, '\n');
	if (crash_code_from_process(si->si_code)) {
		cw_str(w, "Sender:     pid ");
		cw_dec(w, si->si_pid);
		cw_str(w, ", uid ");
		cw_udec(w, si->si_uid);
		if (si->si_pid == getpid())
			cw_str(w, " (this process: abort(), raise() or pthread_kill())");
		cw_char(w, '\n');
	}
	if (sig == SIGSYS && si->si_code == SYS_SECCOMP) {
		cw_str(w, "Syscall:    ");
		cw_dec(w, si->si_syscall);
		if (!redact) {
			cw_str(w, " (called at ");
			cw_hex(w, (uint64_t)(uintptr_t)si->si_call_addr, 16);
			cw_char(w, ')');
		}
		cw_char(w, '\n');
	}
}
