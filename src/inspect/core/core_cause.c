/* core_cause.c: the signal explained and the causes named.
 *
 * The signal and si_code are turned into words; the fault address is placed
 * in the address map at crash time (core_regions.c): NULL and the page
 * range above it, the guard gap below a stack (stack overflow), a PROT_NONE
 * guard page, a read-only or non-executable mapping, a file mapping past the
 * end of its file (SIGBUS), or nothing at all. glibc's last abort message is
 * read from the core through libc's __abort_msg (a pointer to
 * struct { unsigned size; char msg[]; }). The "modified in place" diagnosis
 * compares the metadata's stat of each mapped file at crash time with the
 * process start time and the mapping; without metadata, the files as they
 * are now are compared with the core's NT_FILE mappings, and said to be a
 * hint only. Causes are ordered: what the crash itself proves first. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <elf.h>

#include "lifeline/inspect/maps.h"
#include "core_internal.h"

#define NULL_PAGE_LIMIT 65536u          /* vm.mmap_min_addr: nothing maps below it */
#define STACK_GUARD_GAP (1u << 20)      /* the kernel's default stack_guard_gap */
#define NEAR_SP (64u << 10)

static int add_cause(struct ll_core_analysis *a, bool first, const char *kind, char *title,
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

static const char *code_meaning(int signo, int code, const char **name)
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
	case SI_TKILL: *name = "SI_TKILL"; return "sent by tkill()/tgkill() (raise(), abort(), pthread_kill())";
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

static char *region_name(const struct core_region *r)
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

static const char *where(const struct ll_core_analysis *a)
{
	static __thread char buf[512];
	const struct core_frame *f = a->nthreads && a->threads[0].nframes ? &a->threads[0].frames[0] : NULL;

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
	return add_cause(a, false, "stack-overflow", core_printf("stack overflow%s", where(a)), detail,
			 core_printf("fix the recursion (a missing base case, or make it iterative) or move "
				     "big locals to the heap; if the depth is legitimate, increase the stack "
				     "size: `ulimit -s` / RLIMIT_STACK for the main thread, "
				     "pthread_attr_setstacksize() for threads"), false);
}

/* SIGSEGV/SIGBUS: where the fault address lies. */
static int classify_fault(struct core_ctx *c)
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
		return add_cause(a, false, "bad-pointer", core_printf("invalid memory access%s", where(a)),
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
				return add_cause(a, false, "null-call",
						 core_printf("call through a NULL function pointer"),
						 core_printf("the program jumped to 0x%llx: a function pointer "
							     "(callback, vtable, plugin entry point) was NULL; the "
							     "caller is the next frame", (unsigned long long)addr),
						 core_printf("check the function pointer before calling it, "
							     "and where it should have been set"), false);
			return add_cause(a, false, "null-deref",
					 core_printf("NULL pointer dereference%s", where(a)),
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
			rn = region_name(above);
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
		rn = above ? region_name(above) : NULL;
		a->fault_text = rn ? core_printf("address 0x%llx is not mapped (next mapping above: %s): "
						 "a wild or dangling pointer", (unsigned long long)addr, rn)
				   : core_printf("address 0x%llx is not mapped (above every mapping): a "
						 "wild or dangling pointer", (unsigned long long)addr);
		ret = add_cause(a, false, "bad-pointer", core_printf("access to unmapped memory%s", where(a)),
				core_printf("the program accessed 0x%llx, where nothing is mapped: the "
					    "pointer holds garbage, or points into memory already "
					    "unmapped (use after free of a large block, a closed mapping)",
					    (unsigned long long)addr),
				core_printf("run under ASan (-fsanitize=address) or valgrind to find where "
					    "the pointer went bad"), false);
		goto out;
	}
	rn = region_name(r);
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
		ret = add_cause(a, false, "overflow", core_printf("access to a guard page%s", where(a)),
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
		ret = add_cause(a, false, "bad-jump", core_printf("execution of non-executable memory"),
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
		ret = add_cause(a, false, "write-read-only",
				core_printf("write to read-only memory%s", where(a)),
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

/* glibc's last abort message: *__abort_msg -> { unsigned size; char msg[]; }. */
static void read_abort_msg(struct core_ctx *c)
{
	struct ll_core_analysis *a = c->a;
	size_t w = a->elfclass == ELFCLASS64 ? 8 : 4;

	for (int pass = 0; pass < 2 && !a->abort_msg; pass++)
		for (size_t i = 0; i < a->nmodules && !a->abort_msg; i++) {
			struct core_module *m = &a->modules[i];
			bool libc = strstr(m->name, "/libc.so") || strstr(m->name, "/libc-");
			unsigned char p[8] = { 0 };
			uint64_t sym, ptr = 0;
			char *s;

			if ((pass == 0) != libc || m->status == CORE_MOD_REPLACED ||
			    m->status == CORE_MOD_MISSING || m->status == CORE_MOD_IN_CORE)
				continue;
			sym = core_symbol_address(m->mod, "__abort_msg");
			if (!sym || core_read_mem(c, sym, p, w) != w)
				continue;
			for (size_t k = 0; k < w; k++) /* little-endian targets */
				ptr |= (uint64_t)p[k] << (8 * k);
			if (!ptr)
				continue;
			s = core_read_string(c, ptr + 4, 4096);
			if (s) {
				size_t l = strlen(s);

				while (l > 0 && (s[l - 1] == '\n' || s[l - 1] == ' '))
					s[--l] = '\0';
			}
			a->abort_msg = s;
		}
}

static int abort_cause(struct core_ctx *c)
{
	struct ll_core_analysis *a = c->a;
	const char *m = a->abort_msg;
	const char *as;

	if (a->si_code == SI_USER && a->sender_pid != 0 && a->sender_pid != a->pid)
		return add_cause(a, false, "killed", core_printf("%s sent by process %d",
								 core_signal_name(a->signo), a->sender_pid),
				 core_printf("the program did not abort by itself: process %d (uid %d) "
					     "sent it %s with kill()", a->sender_pid, a->sender_uid,
					     core_signal_name(a->signo)),
				 core_printf("find out why process %d sent it (a watchdog, a supervisor "
					     "timeout, an operator)", a->sender_pid), false);
	if (!m)
		return add_cause(a, false, "abort", core_printf("the program called abort()%s", where(a)),
				 core_printf("no message was recorded by glibc: the program (or a library) "
					     "decided to stop; the backtrace shows who called abort()"),
				 core_printf("read the frames below abort() in the backtrace"), false);
	if ((as = strstr(m, "Assertion `")) != NULL)
		return add_cause(a, false, "assertion", core_printf("assertion failed: %s", m),
				 core_printf("glibc's message: \"%s\". The condition the code asserts was "
					     "false: the bug is in whatever broke that invariant, "
					     "usually a caller", m),
				 core_printf("fix the code that made the condition false (compiling with "
					     "-DNDEBUG would only hide it)"), false);
	if (strstr(m, "double free"))
		return add_cause(a, false, "double-free", core_printf("double free: %s", m),
				 core_printf("glibc's allocator stopped the program: \"%s\". A block was "
					     "freed twice; the backtrace shows the second free()", m),
				 core_printf("find the first free() of that pointer: run under ASan "
					     "(-fsanitize=address) or valgrind, which show both; set "
					     "pointers to NULL after freeing them"), false);
	if (strstr(m, "stack smashing"))
		return add_cause(a, false, "stack-smashing", core_printf("stack buffer overflow: %s", m),
				 core_printf("the stack protector found the canary of the function "
					     "returning here overwritten: a local array was written past "
					     "its end"),
				 core_printf("find the out-of-bounds write in that function: run under "
					     "ASan"), false);
	if (strstr(m, "buffer overflow detected"))
		return add_cause(a, false, "buffer-overflow", core_printf("buffer overflow: %s", m),
				 core_printf("_FORTIFY_SOURCE checked a copy into a buffer too small "
					     "for it: \"%s\"", m),
				 core_printf("fix the size passed to the copying function in the frame "
					     "below the __*_chk function"), false);
	if (strstr(m, "malloc") || strstr(m, "free(") || strstr(m, "realloc") || strstr(m, "corrupted") ||
	    strstr(m, "munmap_chunk") || strstr(m, "tcache"))
		return add_cause(a, false, "heap-corruption", core_printf("heap corruption: %s", m),
				 core_printf("glibc's allocator found its own data damaged: \"%s\". "
					     "Something wrote out of bounds of a heap block or after "
					     "freeing it, earlier; this frame is only where it was noticed", m),
				 core_printf("run under ASan (-fsanitize=address) or valgrind to catch "
					     "the bad write where it happens"), false);
	return add_cause(a, false, "abort", core_printf("abort: %s", m),
			 core_printf("the program stopped itself with the message \"%s\"", m),
			 core_printf("read the message and the frames below abort()"), false);
}

static bool frame_in_region(const struct ll_core_analysis *a, const struct core_region *r)
{
	for (size_t i = 0; i < a->nthreads && i < 1; i++)
		for (size_t j = 0; j < a->threads[i].nframes; j++) {
			uint64_t pc = a->threads[i].frames[j].pc;

			if (pc >= r->start && pc < r->end)
				return true;
		}
	return a->have_fault_addr && a->fault_addr >= r->start && a->fault_addr < r->end;
}

static bool path_known(const struct core_strv *sv, const char *path)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], path) == 0)
			return true;
	return false;
}

static bool path_done(struct core_strv *seen, const char *path)
{
	for (size_t i = 0; i < seen->n; i++)
		if (strcmp(seen->v[i], path) == 0)
			return true;
	core_strv_pushf(seen, "%s", path);
	return false;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static uint64_t page_up(uint64_t v)
{
	return (v + 4095) & ~(uint64_t)4095;
}

static bool metadata_modified(const struct core_region *g, double start, bool have_start)
{
	uint64_t need = g->offset + (g->end - g->start);

	if (!g->have_stat || !g->path || g->path[0] != '/' || g->deleted)
		return false;
	if (g->inode != 0 && g->file_inode != g->inode)
		return false;
	return (have_start && g->file_mtime > start) || page_up(g->file_size) < need;
}

static bool metadata_start(const struct core_ctx *c, double *start)
{
	json_object *v;

	if (!c->opts->metadata || !json_object_object_get_ex(c->opts->metadata, "process_start_time", &v) ||
	    !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		return false;
	*start = json_object_get_double(v);
	return true;
}

static const char *FIX_INPLACE =
	"deploy with `lifeline install` or install(1), or write the new file beside it and "
	"mv(1) it into place: a new inode leaves the mapped one intact, while cp truncates "
	"and rewrites the same inode under the running process";

/* The `cp new.so loaded.so` crash, from the metadata's stat at crash time. */
static int check_modified_metadata(struct core_ctx *c, double start_time, bool have_start)
{
	struct ll_core_analysis *a = c->a;
	struct core_strv seen = { 0 };
	int r = 0;

	for (size_t i = 0; i < a->nregions && r == 0; i++) {
		const struct core_region *g = &a->regions[i];
		uint64_t need = g->offset + (g->end - g->start);
		bool same, newer, shorter, in;
		char *detail, *size_text;

		if (!g->have_stat || !g->path || g->path[0] != '/' || g->deleted)
			continue;
		same = g->inode == 0 || g->file_inode == g->inode;
		newer = have_start && g->file_mtime > start_time;
		shorter = page_up(g->file_size) < need;
		if (!metadata_modified(g, start_time, have_start) || !same || path_done(&seen, g->path))
			continue;
		in = frame_in_region(a, g);
		size_text = shorter ? core_printf("was %llu bytes, shorter than the mapping, which "
						  "covers the file up to offset %llu",
						  (unsigned long long)g->file_size, (unsigned long long)need)
				    : core_strdup("");
		detail = core_printf(
			"%s (inode %llu) was mapped by the process; at the crash the same inode %s%s%s. "
			"Its pages changed under the running code%s",
			g->path, (unsigned long long)g->file_inode,
			newer ? "had been modified after the process started" : "",
			newer && shorter ? " and " : "",
			size_text ? size_text : "",
			in ? "; the crash is in that mapping" : "; the crash may be a consequence");
		free(size_text);
		r = add_cause(a, in, "modified-in-place",
			      core_printf("%s was modified in place (cp over a loaded library) after the "
					  "process mapped it", base_name(g->path)),
			      detail, core_printf("%s", FIX_INPLACE), false);
	}
	core_strv_free(&seen);
	return r;
}

/* Without metadata: the SIGBUS past EOF is a fact; today's files are hints. */
static int check_modified_now(struct core_ctx *c)
{
	struct ll_core_analysis *a = c->a;
	struct core_strv seen = { 0 };
	int r = 0;

	if (a->fault_kind && strcmp(a->fault_kind, "beyond-eof") == 0) {
		const struct core_region *g = core_region_find(a, a->fault_addr);

		r = add_cause(a, true, "modified-in-place",
			      core_printf("%s was modified in place (cp over a loaded library) after the "
					  "process mapped it", base_name(g->path)),
			      core_printf("the crash is a SIGBUS reading %s past the end of the file: the "
					  "file was truncated while the process had it mapped, which is "
					  "what `cp new.so %s` does to a loaded library", g->path,
					  base_name(g->path)),
			      core_printf("%s", FIX_INPLACE), false);
		path_done(&seen, g->path);
	}
	for (size_t i = 0; i < c->nfiles && r == 0; i++) {
		const struct core_nt_file *f = &c->files[i];
		uint64_t need = f->file_offset + (f->end - f->start);
		struct core_region g = { .start = f->start, .end = f->end };
		struct stat st;

		if (f->path[0] != '/' || stat(f->path, &st) != 0 || !S_ISREG(st.st_mode) ||
		    page_up((uint64_t)st.st_size) >= need || path_done(&seen, f->path))
			continue;
		r = add_cause(a, frame_in_region(a, &g), "modified-in-place",
			      core_printf("%s may have been modified in place (cp over a loaded library)",
					  base_name(f->path)),
			      core_printf("hint only: %s is now %llu bytes, shorter than the mapping at the "
					  "crash, which covered the file up to offset %llu; it was "
					  "truncated or rewritten after being mapped, perhaps after the "
					  "crash. The store's metadata (file state at crash time) would "
					  "tell for sure", f->path, (unsigned long long)st.st_size,
					  (unsigned long long)need),
			      core_printf("%s", FIX_INPLACE), true);
	}
	for (size_t i = 0; i < a->nmodules && r == 0; i++) {
		const struct core_module *m = &a->modules[i];
		struct core_region g = { .start = m->start, .end = m->end };

		if (!m->disk_build_id || !m->build_id || strcmp(m->disk_build_id, m->build_id) == 0 ||
		    path_done(&seen, m->name))
			continue;
		r = add_cause(a, false, "modified-in-place",
			      core_printf("%s changed since the process loaded it", base_name(m->name)),
			      core_printf("hint only: the build-id of %s on disk now differs from the one "
					  "in the crashed process. If it was rewritten in place (cp) "
					  "while the process ran, that can be the cause%s; if it was "
					  "replaced with mv/install or after the crash, it is not",
					  m->name, frame_in_region(a, &g) ? " (the crash is in it)" : ""),
			      core_printf("%s", FIX_INPLACE), true);
	}
	core_strv_free(&seen);
	return r;
}

int core_find_tainted(struct core_ctx *c)
{
	struct ll_core_analysis *a = c->a;
	double start = 0;
	bool have_start = metadata_start(c, &start);
	int r = 0;

	for (size_t i = 0; i < a->nregions && r == 0; i++)
		if (metadata_modified(&a->regions[i], start, have_start) &&
		    !path_known(&c->tainted, a->regions[i].path))
			r = core_strv_pushf(&c->tainted, "%s", a->regions[i].path);
	if (r == 0 && a->have_fault_addr && a->signo == SIGBUS && a->si_code == BUS_ADRERR) {
		const struct core_region *g = core_region_find(a, a->fault_addr);

		if (g && g->path && g->path[0] == '/' && !path_known(&c->tainted, g->path))
			r = core_strv_pushf(&c->tainted, "%s", g->path);
	}
	for (size_t i = 0; i < c->nfiles && r == 0; i++) {
		const struct core_nt_file *f = &c->files[i];
		struct stat st;

		if (f->path[0] == '/' && stat(f->path, &st) == 0 && S_ISREG(st.st_mode) &&
		    page_up((uint64_t)st.st_size) < f->file_offset + (f->end - f->start) &&
		    !path_known(&c->tainted, f->path))
			r = core_strv_pushf(&c->tainted, "%s", f->path);
	}
	return r;
}

static int signal_cause(struct core_ctx *c)
{
	struct ll_core_analysis *a = c->a;

	switch (a->signo) {
	case SIGFPE:
		if (a->si_code == FPE_INTDIV || a->si_code == FPE_INTOVF)
			return add_cause(a, false, "divide-error",
					 core_printf("integer %s%s", a->si_code == FPE_INTDIV ?
						     "division by zero" : "overflow in division", where(a)),
					 core_printf("the divisor was 0 (or INT_MIN / -1 overflowed)"),
					 core_printf("check the divisor before dividing"), false);
		return 0;
	case SIGILL:
		return add_cause(a, false, "illegal-instruction",
				 core_printf("illegal instruction%s", where(a)),
				 core_printf("the CPU could not execute the instruction at the pc: "
					     "__builtin_trap()/ud2 (the compiler's \"cannot happen\"), code "
					     "built for a newer CPU (-march), or code bytes that changed "
					     "under the process"),
				 core_printf("see the marked instruction: ud2 is a deliberate trap; "
					     "otherwise check -march and whether the module was modified"),
				 false);
	default:
		return 0;
	}
}

int core_explain(struct core_ctx *c)
{
	struct ll_core_analysis *a = c->a;
	json_object *v;
	const char *cname = NULL, *meaning;
	double start = 0;
	bool have_start = false;
	int r = 0;

	if (a->signo > 0) {
		const char *d = sigdescr_np(a->signo);

		a->signal_text = core_printf("%s (%s)", core_signal_name(a->signo), d ? d : "?");
	}
	if (a->have_siginfo) {
		meaning = code_meaning(a->signo, a->si_code, &cname);
		a->code_text = cname ? core_printf("%s: %s", cname, meaning)
				     : core_printf("si_code %d", a->si_code);
	}
	if (c->opts->metadata && json_object_object_get_ex(c->opts->metadata, "process_start_time", &v) &&
	    (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))) {
		start = json_object_get_double(v);
		have_start = true;
	}
	if (a->signo == SIGABRT)
		read_abort_msg(c);
	if (a->have_fault_addr && (a->signo == SIGSEGV || a->signo == SIGBUS))
		r = classify_fault(c);
	else if (a->signo == SIGABRT || (a->signo == SIGSEGV && a->si_code <= 0))
		r = abort_cause(c);
	if (r == 0)
		r = signal_cause(c);
	if (r == 0 && c->opts->metadata && json_object_object_get_ex(c->opts->metadata, "maps", &v) &&
	    json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0)
		r = check_modified_metadata(c, start, have_start);
	else if (r == 0)
		r = check_modified_now(c);
	if (r == 0 && c->opts->metadata && a->fault_kind && strcmp(a->fault_kind, "beyond-eof") == 0 &&
	    (a->ncauses == 0 || strcmp(a->causes[0].kind, "modified-in-place") != 0)) {
		const struct core_region *g = core_region_find(a, a->fault_addr);

		r = add_cause(a, true, "modified-in-place",
			      core_printf("%s was modified in place (cp over a loaded library) after the "
					  "process mapped it", base_name(g->path)),
			      core_printf("the crash is a SIGBUS reading %s past the end of the file: the "
					  "file was truncated while the process had it mapped", g->path),
			      core_printf("%s", FIX_INPLACE), false);
	}
	return r;
}
