/* core_fault.c: the signal and the fault address explained.
 *
 * Signal and si_code get their names and meanings; the fault address is
 * placed in the address map at crash time (core_regions.c): NULL and the
 * pages above it, the guard gap below a stack or a thread's PROT_NONE guard
 * page (stack overflow), a read-only or non-executable mapping, a file
 * mapping past the end of its file (SIGBUS), or nothing at all. Each finding
 * that is a cause by itself is added to a->causes. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>

#include "lifeline/inspect/maps.h"
#include "core_internal.h"

#define NULL_PAGE_LIMIT 65536u          /* vm.mmap_min_addr: nothing maps below it */
#define STACK_GUARD_GAP (1u << 20)      /* the kernel's default stack_guard_gap */
#define NEAR_SP (64u << 10)

int core_add_cause(struct ll_core_analysis *a, bool first, const char *kind, char *title,
		   char *detail, char *fix, bool hint)
{
	struct core_cause *v, c = { core_strdup(kind), title, detail, fix, hint };

	if (!c.kind || !c.title || !c.detail || !c.fix)
		goto fail;
	v = realloc(a->causes, (a->ncauses + 1) * sizeof(*v));
	if (!v)
		goto fail;
	a->causes = v;
	if (first) {
		memmove(&v[1], &v[0], a->ncauses * sizeof(*v));
		v[0] = c;
	} else {
		v[a->ncauses] = c;
	}
	a->ncauses++;
	return 0;
fail:
	free(c.kind);
	free(c.title);
	free(c.detail);
	free(c.fix);
	return -ENOMEM;
}

const char *core_signal_name(int signo)
{
	static __thread char buf[16];
	const char *n = signo > 0 ? sigabbrev_np(signo) : NULL;

	if (!n)
		return "signal 0";
	snprintf(buf, sizeof(buf), "SIG%s", n);
	return buf;
}

const char *core_code_meaning(int signo, int code, const char **name)
{
	static const char *const segv[][2] = {
		{ "SEGV_MAPERR", "address not mapped to object" },
		{ "SEGV_ACCERR", "invalid permissions for mapped object" },
		{ "SEGV_BNDERR", "failed address bound checks" },
		{ "SEGV_PKUERR", "access denied by memory protection keys" },
		{ "SEGV_ACCADI", "ADI not enabled for mapped object" },
		{ "SEGV_ADIDERR", "disrupting MCD error" },
		{ "SEGV_ADIPERR", "precise MCD exception" },
		{ "SEGV_MTEAERR", "asynchronous MTE tag check fault" },
		{ "SEGV_MTESERR", "synchronous MTE tag check fault" },
		{ "SEGV_CPERR", "control protection fault (shadow stack)" },
	};
	static const char *const bus[][2] = {
		{ "BUS_ADRALN", "invalid address alignment" },
		{ "BUS_ADRERR", "nonexistent physical address (a file page past the end of the file)" },
		{ "BUS_OBJERR", "object-specific hardware error" },
		{ "BUS_MCEERR_AR", "hardware memory error consumed on a machine check" },
		{ "BUS_MCEERR_AO", "hardware memory error detected, action optional" },
	};
	static const char *const ill[][2] = {
		{ "ILL_ILLOPC", "illegal opcode" }, { "ILL_ILLOPN", "illegal operand" },
		{ "ILL_ILLADR", "illegal addressing mode" }, { "ILL_ILLTRP", "illegal trap" },
		{ "ILL_PRVOPC", "privileged opcode" }, { "ILL_PRVREG", "privileged register" },
		{ "ILL_COPROC", "coprocessor error" }, { "ILL_BADSTK", "internal stack error" },
	};
	static const char *const fpe[][2] = {
		{ "FPE_INTDIV", "integer divide by zero" }, { "FPE_INTOVF", "integer overflow" },
		{ "FPE_FLTDIV", "floating-point divide by zero" },
		{ "FPE_FLTOVF", "floating-point overflow" }, { "FPE_FLTUND", "floating-point underflow" },
		{ "FPE_FLTRES", "floating-point inexact result" },
		{ "FPE_FLTINV", "floating-point invalid operation" },
		{ "FPE_FLTSUB", "subscript out of range" },
	};
	static const char *const trap[][2] = {
		{ "TRAP_BRKPT", "process breakpoint" }, { "TRAP_TRACE", "process trace trap" },
		{ "TRAP_BRANCH", "process taken branch trap" }, { "TRAP_HWBKPT", "hardware breakpoint" },
	};

	switch (code) {
	case SI_USER: *name = "SI_USER"; return "sent by kill()";
	case SI_KERNEL: *name = "SI_KERNEL"; return "sent by the kernel";
	case SI_QUEUE: *name = "SI_QUEUE"; return "sent by sigqueue()";
	case SI_TIMER: *name = "SI_TIMER"; return "a POSIX timer expired";
	case SI_MESGQ: *name = "SI_MESGQ"; return "a message queue state changed";
	case SI_ASYNCIO: *name = "SI_ASYNCIO"; return "asynchronous I/O completed";
	case SI_TKILL:
		*name = "SI_TKILL";
		return "sent by tkill()/tgkill() (raise(), abort(), pthread_kill())";
	default: break;
	}
#define PICK(tab) \
	if (code >= 1 && (size_t)code <= sizeof(tab) / sizeof(tab[0])) { \
		*name = tab[code - 1][0]; \
		return tab[code - 1][1]; \
	}
	switch (signo) {
	case SIGSEGV: PICK(segv) break;
	case SIGBUS: PICK(bus) break;
	case SIGILL: PICK(ill) break;
	case SIGFPE: PICK(fpe) break;
	case SIGTRAP: PICK(trap) break;
	default: break;
	}
#undef PICK
	*name = NULL;
	return NULL;
}

char *core_region_name(const struct core_region *r)
{
	char perms[5] = {
		r->perms & LL_PERM_READ ? 'r' : '-', r->perms & LL_PERM_WRITE ? 'w' : '-',
		r->perms & LL_PERM_EXEC ? 'x' : '-', r->perms & LL_PERM_SHARED ? 's' : 'p', '\0',
	};

	return core_printf("%s %s 0x%llx-0x%llx", r->path ? r->path : "[anonymous]", perms,
			   (unsigned long long)r->start, (unsigned long long)r->end);
}

static bool crashing_pc_sp(const struct core_ctx *c, uint64_t *pc, uint64_t *sp)
{
	return c->nprs > 0 && core_regs_pc_sp(c, &c->prs[0], pc, sp);
}

/* Is r a stack: named so, or holding a thread's stack pointer? */
static bool is_stack(const struct core_ctx *c, const struct core_region *r)
{
	if (!r)
		return false;
	if (r->path && strncmp(r->path, "[stack", 6) == 0)
		return true;
	for (size_t i = 0; i < c->nprs; i++) {
		uint64_t pc, sp;

		if (core_regs_pc_sp(c, &c->prs[i], &pc, &sp) && sp >= r->start && sp < r->end)
			return true;
	}
	return false;
}

const char *core_where(const struct ll_core_analysis *a)
{
	static __thread char buf[512];
	const struct core_frame *f =
		a->nthreads && a->threads[0].nframes ? &a->threads[0].frames[0] : NULL;

	if (!f)
		buf[0] = '\0';
	else if (f->function && f->file)
		snprintf(buf, sizeof(buf), " in %s (%s:%d)", f->function, f->file, f->line);
	else if (f->function)
		snprintf(buf, sizeof(buf), " in %s", f->function);
	else if (f->module)
		snprintf(buf, sizeof(buf), " in %s+0x%llx", f->module, (unsigned long long)f->module_offset);
	else
		buf[0] = '\0';
	return buf;
}

/* How often the innermost function repeats in the crashing thread. */
static size_t recursion_count(const struct ll_core_analysis *a, const char **fn)
{
	size_t best = 0;

	*fn = NULL;
	if (!a->nthreads)
		return 0;
	for (size_t i = 0; i < a->threads[0].nframes && i < 8; i++) {
		const char *f = a->threads[0].frames[i].function;
		size_t n = 0;

		if (!f)
			continue;
		for (size_t j = 0; j < a->threads[0].nframes; j++)
			if (a->threads[0].frames[j].function && strcmp(a->threads[0].frames[j].function, f) == 0)
				n++;
		if (n > best) {
			best = n;
			*fn = f;
		}
	}
	return best;
}

static int stack_overflow(struct core_ctx *c, const char *evidence)
{
	struct ll_core_analysis *a = c->a;
	const char *fn;
	size_t n = recursion_count(a, &fn);
	char *detail;

	if (n >= 4)
		detail = core_printf("%s. %s appears in %zu of the %zu frames unwound: unbounded or too "
				     "deep recursion.", evidence, fn, n, a->threads[0].nframes);
	else
		detail = core_printf("%s. No function repeats in the frames unwound: large local "
				     "variables (arrays, alloca, VLAs) or a deep call chain used it up.",
				     evidence);
	return core_add_cause(a, false, "stack-overflow",
			      core_printf("stack overflow%s", core_where(a)), detail,
			 core_printf("fix the recursion (a missing base case, or make it iterative) or move "
				     "big locals to the heap; if the depth is legitimate, increase the stack "
				     "size: `ulimit -s` / RLIMIT_STACK for the main thread, "
				     "pthread_attr_setstacksize() for threads"), false);
}

/* SIGSEGV/SIGBUS: where the fault address lies. */
int core_classify_fault(struct core_ctx *c)
{
	struct ll_core_analysis *a = c->a;
	uint64_t addr = a->fault_addr, pc = 0, sp = 0;
	bool regs = crashing_pc_sp(c, &pc, &sp);
	const struct core_region *r = core_region_find(a, addr), *above;
	char *rn = NULL;
	int ret = 0;

	if (a->signo == SIGSEGV && a->si_code == SI_KERNEL) {
		a->fault_kind = core_strdup("general-protection");
		a->fault_text = core_printf("general protection fault: the kernel gives no address; "
					    "typically a non-canonical pointer (a corrupted or "
					    "uninitialised pointer) or a privileged instruction");
		return core_add_cause(a, false, "bad-pointer",
				      core_printf("invalid memory access%s", core_where(a)),
				 core_printf("the CPU refused the access without a page fault: on x86_64 "
					     "this is almost always a non-canonical address, i.e. a "
					     "pointer holding garbage (use after free, uninitialised "
					     "memory, an overflow into a pointer)"),
				 core_printf("look at the registers used by the marked instruction; run "
					     "under ASan or valgrind to find where the pointer went bad"),
				 false);
	}
	if (!r) {
		above = core_region_above(a, addr);
		if (addr < NULL_PAGE_LIMIT) {
			bool call = regs && addr == pc;

			a->fault_kind = core_strdup(call ? "null-call" : "null-deref");
			a->fault_text = addr == 0
				? core_printf("address 0x0 is NULL: %s", call ? "the program jumped to address 0"
									    : "a NULL pointer dereference")
				: core_printf("address 0x%llx is %llu bytes past NULL, not mapped: a NULL "
					      "pointer dereference (a field or element reached through a "
					      "NULL pointer)", (unsigned long long)addr,
					      (unsigned long long)addr);
			if (call)
				return core_add_cause(a, false, "null-call",
						 core_printf("call through a NULL function pointer"),
						 core_printf("the program jumped to 0x%llx: a function pointer "
							     "(callback, vtable, plugin entry point) was NULL; the "
							     "caller is the next frame", (unsigned long long)addr),
						 core_printf("check the function pointer before calling it, "
							     "and where it should have been set"), false);
			return core_add_cause(a, false, "null-deref",
					 core_printf("NULL pointer dereference%s", core_where(a)),
					 core_printf("the program accessed address 0x%llx, %s: a pointer that "
						     "was NULL was used", (unsigned long long)addr,
						     addr == 0 ? "NULL itself"
							       : "a small offset from NULL (a structure field "
								 "or array element)"),
					 core_printf("check the pointer where it is set or before it is used; "
						     "the faulting instruction is marked in the disassembly "
						     "and the registers show which one was NULL"), false);
		}
		if (above && is_stack(c, above) && above->start - addr <= STACK_GUARD_GAP + NEAR_SP &&
		    (!regs || sp < above->start + NEAR_SP)) {
			rn = core_region_name(above);
			a->fault_kind = core_strdup("stack-overflow");
			a->fault_text = core_printf("address 0x%llx is not mapped: %llu bytes below the stack "
						    "%s, in its guard gap; the stack pointer is 0x%llx: "
						    "stack overflow", (unsigned long long)addr,
						    (unsigned long long)(above->start - addr), rn ? rn : "?",
						    (unsigned long long)sp);
			ret = stack_overflow(c, a->fault_text);
			goto out;
		}
		if (regs && (addr > sp ? addr - sp : sp - addr) < NEAR_SP) {
			a->fault_kind = core_strdup("stack-overflow");
			a->fault_text = core_printf("address 0x%llx is not mapped and is next to the stack "
						    "pointer 0x%llx: stack overflow",
						    (unsigned long long)addr, (unsigned long long)sp);
			ret = stack_overflow(c, a->fault_text);
			goto out;
		}
		a->fault_kind = core_strdup("not-mapped");
		rn = above ? core_region_name(above) : NULL;
		a->fault_text = rn ? core_printf("address 0x%llx is not mapped (next mapping above: %s): "
						 "a wild or dangling pointer", (unsigned long long)addr, rn)
				   : core_printf("address 0x%llx is not mapped (above every mapping): a "
						 "wild or dangling pointer", (unsigned long long)addr);
		ret = core_add_cause(a, false, "bad-pointer",
				     core_printf("access to unmapped memory%s", core_where(a)),
				core_printf("the program accessed 0x%llx, where nothing is mapped: the "
					    "pointer holds garbage, or points into memory already "
					    "unmapped (use after free of a large block, a closed mapping)",
					    (unsigned long long)addr),
				core_printf("run under ASan (-fsanitize=address) or valgrind to find where "
					    "the pointer went bad"), false);
		goto out;
	}
	rn = core_region_name(r);
	if (r->perms == 0 || (r->perms & (LL_PERM_READ | LL_PERM_WRITE | LL_PERM_EXEC)) == 0) {
		const struct core_region *up = core_region_find(a, r->end);

		if (is_stack(c, up) || (regs && sp >= r->start && sp < r->end + NEAR_SP)) {
			a->fault_kind = core_strdup("stack-overflow");
			a->fault_text = core_printf("address 0x%llx is in the guard page %s just below a "
						    "thread's stack; the stack pointer is 0x%llx: stack "
						    "overflow", (unsigned long long)addr, rn,
						    (unsigned long long)sp);
			ret = stack_overflow(c, a->fault_text);
			goto out;
		}
		a->fault_kind = core_strdup("guard");
		a->fault_text = core_printf("address 0x%llx is in %s, a PROT_NONE mapping (a guard page "
					    "or reserved memory): the access ran off the memory next to it",
					    (unsigned long long)addr, rn);
		ret = core_add_cause(a, false, "overflow", core_printf("access to a guard page%s", core_where(a)),
				core_printf("%s", a->fault_text),
				core_printf("an index or length is out of bounds: run under ASan"), false);
		goto out;
	}
	if (a->signo == SIGBUS && r->path && r->path[0] == '/') {
		uint64_t foff = r->offset + (addr - r->start);

		a->fault_kind = core_strdup("beyond-eof");
		a->fault_text = core_printf("address 0x%llx is in the mapping of %s at file offset 0x%llx; "
					    "SIGBUS there means that page is past the end of the file: the "
					    "file shrank while it was mapped", (unsigned long long)addr,
					    r->path, (unsigned long long)foff);
		goto out; /* the cause is named by check_modified() */
	}
	if (regs && addr == pc && !(r->perms & LL_PERM_EXEC)) {
		a->fault_kind = core_strdup("exec-non-exec");
		a->fault_text = core_printf("the program jumped to 0x%llx, in %s, which is not executable",
					    (unsigned long long)addr, rn);
		ret = core_add_cause(a, false, "bad-jump", core_printf("execution of non-executable memory"),
				core_printf("the program jumped to 0x%llx in %s: a corrupted function "
					    "pointer or a smashed return address (a stack buffer overflow)",
					    (unsigned long long)addr, rn),
				core_printf("the previous frame made the jump; build with "
					    "-fstack-protector-strong and run under ASan"), false);
		goto out;
	}
	if (a->signo == SIGSEGV && a->si_code == SEGV_ACCERR && !(r->perms & LL_PERM_WRITE) &&
	    (r->perms & LL_PERM_READ)) {
		a->fault_kind = core_strdup("write-read-only");
		a->fault_text = core_printf("write to read-only mapping %s at 0x%llx", rn,
					    (unsigned long long)addr);
		ret = core_add_cause(a, false, "write-read-only",
				core_printf("write to read-only memory%s", core_where(a)),
				core_printf("the program wrote to 0x%llx in %s: a string literal, const "
					    "data or relocated read-only data was modified",
					    (unsigned long long)addr, rn),
				core_printf("copy the data to writable memory (strdup, a char array) "
					    "before changing it"), false);
		goto out;
	}
	a->fault_kind = core_strdup("mapped");
	a->fault_text = core_printf("address 0x%llx is in %s", (unsigned long long)addr, rn);
out:
	free(rn);
	return ret;
}

