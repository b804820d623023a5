/* core_unwind.c: threads and frames of a core through libdwfl.
 *
 * Threads come from dwfl_getthreads() (the dumping thread first) and frames
 * from dwfl_thread_getframes() (CFI unwinding, libdwfl's frame-pointer
 * fallback where a module has none). Return addresses are looked up at
 * pc - 1 so a call at the end of a function is attributed to it; frames in
 * a module whose file is not trusted (replaced, modified in place, missing)
 * keep module+offset only. A call into a missing page (a NULL or stale
 * function pointer) gets its caller back from the return address the call
 * left. The modules themselves are found by core_modules.c. libdwfl gets
 * the threads and the memory from us (dwfl_attach_state() with the parsed
 * NT_PRSTATUS registers and core_read_mem()) on x86_64, i386, aarch64 and
 * arm: its own core reader scans every program header per word read, which
 * a core with many segments turns into minutes. Other architectures use
 * dwfl_core_file_attach(). At most CORE_MAX_THREADS threads are unwound. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dwarf.h>
#include <elf.h>
#include <elfutils/libdwelf.h>

#include "lifeline/inspect/maps.h"
#include "core_internal.h"


/* set_initial_registers gets no process argument: one analysis per thread */
static __thread struct core_ctx *cur_unwind;

static int push_frame(struct core_thread *t, const struct core_frame *f)
{
	struct core_frame *v = realloc(t->frames, (t->nframes + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	t->frames = v;
	t->frames[t->nframes++] = *f;
	return 0;
}

/* One frame at pc: symbolized when its module's file is trusted. */
static int add_frame(struct core_ctx *c, struct core_thread *t, uint64_t pc, bool activation)
{
	uint64_t lookup = activation || pc == 0 ? pc : pc - 1;
	struct core_module *m = core_module_at(c->a, lookup);
	struct core_frame f = { .pc = pc, .activation = activation };
	const struct core_region *g;
	size_t before = t->nframes;
	int r;

	if (m && m->status != CORE_MOD_REPLACED && m->status != CORE_MOD_MISSING &&
	    m->status != CORE_MOD_MODIFIED) {
		r = core_symbolize_frames(c, m, lookup, pc, activation, t);
		if (r < 0)
			return r;
		if (t->nframes > before)
			return 0;
	}
	if (m) {
		const char *slash = strrchr(m->name, '/');

		f.module = core_strdup(slash ? slash + 1 : m->name);
		f.module_offset = pc - m->start;
		if (m->status == CORE_MOD_REPLACED)
			f.note = core_printf("%s was replaced since the crash: not symbolized", f.module);
		else if (m->status == CORE_MOD_MODIFIED)
			f.note = core_printf("%s was modified in place while mapped: not symbolized", f.module);
		else if (m->status == CORE_MOD_MISSING)
			f.note = core_printf("no file with build-id %s", m->build_id ? m->build_id : "(none)");
	} else if ((g = core_region_find(c->a, lookup)) != NULL && g->path && g->path[0] == '/') {
		/* a file mapping libdwfl did not report as a module (its headers in
		 * the core are unusable, e.g. the file was rewritten in place) */
		const char *slash = strrchr(g->path, '/');
		uint64_t base = g->start - g->offset;
		bool tainted = false;

		for (size_t i = 0; i < c->tainted.n; i++)
			tainted |= strcmp(c->tainted.v[i], g->path) == 0;
		f.module = core_strdup(slash + 1);
		f.module_offset = pc - base;
		f.note = tainted ? core_printf("%s was modified in place while mapped: not symbolized", f.module)
				 : core_printf("in a file mapping that is not a module libdwfl could read");
	} else {
		f.note = core_printf("not in any module");
	}
	r = push_frame(t, &f);
	if (r < 0)
		core_frame_free(&f);
	return r;
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct core_ctx *c = arg;
	struct core_thread *t = &c->a->threads[c->thread_index];
	unsigned max = c->opts->max_frames ? c->opts->max_frames : 64;
	Dwarf_Addr pc;
	bool act;

	if (!dwfl_frame_pc(state, &pc, &act)) {
		free(t->unwind_error);
		t->unwind_error = core_printf("unwinding stopped: no pc for the next frame (%s)",
					      dwfl_errmsg(-1));
		c->stopped = true;
		return DWARF_CB_ABORT;
	}
	if (c->phys_frames >= max) {
		free(t->unwind_error);
		t->unwind_error = core_printf("more than %u frames: the rest are not shown", max);
		c->stopped = true;
		return DWARF_CB_ABORT;
	}
	c->phys_frames++;
	return add_frame(c, t, pc, act) < 0 ? DWARF_CB_ABORT : DWARF_CB_OK;
}

static int add_thread(struct core_ctx *c, int tid)
{
	struct ll_core_analysis *a = c->a;
	struct core_thread *v = realloc(a->threads, (a->nthreads + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	a->threads = v;
	memset(&v[a->nthreads], 0, sizeof(*v));
	v[a->nthreads].tid = tid;
	v[a->nthreads].crashed = a->nthreads == 0;
	c->thread_index = a->nthreads++;
	c->phys_frames = 0;
	c->stopped = false;
	return 0;
}

/* Frame 0 in code with no CFI at the very address that faulted (a call into
 * a missing page, through a NULL or stale function pointer): the fallback
 * unwinder skips the caller. Its return address is where the call left it:
 * at the stack pointer on x86, in the link register on aarch64. */
static void caller_of_bad_call(struct core_ctx *c, struct core_thread *t)
{
	struct ll_core_analysis *a = c->a;
	uint64_t pc, sp, ret = 0;
	unsigned char b[8] = { 0 };
	const struct core_region *g;
	struct core_frame *v;
	size_t w = a->elfclass == ELFCLASS64 ? 8 : 4, n0;

	if (c->nprs == 0 || !core_regs_pc_sp(c, &c->prs[0], &pc, &sp) || t->nframes == 0 ||
	    !a->have_fault_addr || a->fault_addr != pc)
		return;
	g = core_region_find(a, pc);
	if (t->frames[0].function && g && (g->perms & LL_PERM_EXEC))
		return; /* a fault in readable code: CFI applies */
	if (a->machine == EM_X86_64 || a->machine == EM_386) {
		if (core_read_mem(c, sp, b, w) != w)
			return;
		for (size_t k = 0; k < w; k++)
			ret |= (uint64_t)b[k] << (8 * k);
	} else if (a->machine == EM_AARCH64 && c->prs[0].nregs > 30) {
		ret = c->prs[0].regs[30];
	} else {
		return;
	}
	g = core_region_find(a, ret);
	if (!g || !(g->perms & LL_PERM_EXEC))
		return;
	for (size_t i = 1; i < t->nframes; i++)
		if (t->frames[i].pc == ret)
			return; /* the unwinder found it */
	/* unwind it as its own frame, then move it (and its inline chain) to 1 */
	n0 = t->nframes;
	if (add_frame(c, t, ret, false) < 0 || t->nframes == n0)
		return;
	v = malloc((t->nframes - n0) * sizeof(*v));
	if (!v)
		return;
	memcpy(v, &t->frames[n0], (t->nframes - n0) * sizeof(*v));
	memmove(&t->frames[1 + (t->nframes - n0)], &t->frames[1], (n0 - 1) * sizeof(*v));
	memcpy(&t->frames[1], v, (t->nframes - n0) * sizeof(*v));
	for (size_t i = 1; i <= t->nframes - n0; i++)
		if (!t->frames[i].note)
			t->frames[i].note = core_printf("caller found from the return address at the "
							"stack pointer");
	free(v);
}

static int thread_cb(Dwfl_Thread *th, void *arg)
{
	struct core_ctx *c = arg;
	struct core_thread *t;

	if (c->a->nthreads >= CORE_MAX_THREADS) {
		/* skipped, not aborted: libdwfl leaks its per-thread state when
		 * the callback aborts the walk (elfutils 0.188) */
		c->stopped_threads = true;
		return DWARF_CB_OK;
	}
	if (add_thread(c, (int)dwfl_thread_tid(th)) < 0)
		return DWARF_CB_ABORT;
	t = &c->a->threads[c->thread_index];
	if (dwfl_thread_getframes(th, frame_cb, c) != 0 && !t->unwind_error) {
		int e = dwfl_errno();

		if (e != 0 && !c->stopped)
			t->unwind_error = core_printf("unwinding stopped: %s", dwfl_errmsg(e));
		if (t->nframes == 0 && c->thread_index < c->nprs) {
			/* at least the pc from the registers */
			uint64_t pc, sp;

			if (core_regs_pc_sp(c, &c->prs[c->thread_index], &pc, &sp))
				add_frame(c, t, pc, true);
		}
	}
	if (c->a->truncated && c->thread_index < c->nprs) {
		uint64_t pc, sp;
		unsigned char b[8];

		if (core_regs_pc_sp(c, &c->prs[c->thread_index], &pc, &sp) &&
		    core_read_mem(c, sp, b, sizeof(b)) != sizeof(b)) {
			char *more = core_printf("%s%sthis thread's stack is missing from the truncated "
						 "core: its callers are unknown",
						 t->unwind_error ? t->unwind_error : "",
						 t->unwind_error ? "; " : "");
			if (more) {
				free(t->unwind_error);
				t->unwind_error = more;
			}
		}
	}
	if (t->crashed)
		caller_of_bad_call(c, t);
	return DWARF_CB_OK;
}

/* Without libdwfl's thread support (an architecture it cannot unwind): one
 * frame per thread, from its registers. */
static int threads_from_notes(struct core_ctx *c, const char *why)
{
	for (size_t i = 0; i < c->nprs; i++) {
		uint64_t pc, sp;
		int r = add_thread(c, c->prs[i].tid);

		if (r < 0)
			return r;
		c->a->threads[i].unwind_error = core_printf("not unwound: %s", why);
		if (core_regs_pc_sp(c, &c->prs[i], &pc, &sp)) {
			r = add_frame(c, &c->a->threads[i], pc, true);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* ---- our own thread state for libdwfl ----
 * dwfl_core_file_attach() reads the core's memory by scanning every program
 * header for each word it reads: with tens of thousands of segments (a big
 * JVM, or a hostile core with millions of headers) unwinding 256 threads
 * takes minutes or more. For the architectures whose register layout we know,
 * libdwfl gets its threads from the NT_PRSTATUS notes we parsed (at most
 * CORE_MAX_THREADS) and its memory from core_read_mem() (binary search). */

/* DWARF register number -> index in the NT_PRSTATUS registers. */
static const unsigned char x86_64_dwarf[] = { 10, 12, 11, 5, 13, 14, 4, 19, 9, 8, 7, 6, 3, 2, 1, 0, 16 };
static const unsigned char i386_dwarf[] = { 6, 1, 2, 0, 15, 5, 3, 4, 12 };

static bool dwarf_regs(const struct core_ctx *c, const struct core_prstatus *p, Dwarf_Word *v,
		       unsigned *n)
{
	switch (c->a->machine) {
	case EM_X86_64:
		if (p->nregs < 27)
			return false;
		for (unsigned i = 0; i < sizeof(x86_64_dwarf); i++)
			v[i] = p->regs[x86_64_dwarf[i]];
		*n = sizeof(x86_64_dwarf);
		return true;
	case EM_386:
		if (p->nregs < 17)
			return false;
		for (unsigned i = 0; i < sizeof(i386_dwarf); i++)
			v[i] = p->regs[i386_dwarf[i]];
		*n = sizeof(i386_dwarf);
		return true;
	case EM_AARCH64: /* x0-x30, sp: DWARF 0-31 */
		if (p->nregs < 34)
			return false;
		for (unsigned i = 0; i < 32; i++)
			v[i] = p->regs[i];
		*n = 32;
		return true;
	case EM_ARM: /* r0-r15: DWARF 0-15 */
		if (p->nregs < 18)
			return false;
		for (unsigned i = 0; i < 16; i++)
			v[i] = p->regs[i];
		*n = 16;
		return true;
	default:
		return false;
	}
}

static pid_t st_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct core_ctx *c = arg;
	uintptr_t i = (uintptr_t)*thread_argp; /* threads handed out so far */

	(void)dwfl;
	if (i >= c->nprs)
		return 0;
	*thread_argp = (void *)(i + 1);
	return c->prs[i].tid > 0 ? c->prs[i].tid : (pid_t)(i + 1);
}

static bool st_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct core_ctx *c = arg;
	unsigned char b[8];
	size_t w = c->a->elfclass == ELFCLASS64 ? 8 : 4;
	uint64_t v = 0;

	(void)dwfl;
	if (core_read_mem(c, addr, b, w) != w)
		return false;
	for (size_t k = 0; k < w; k++)
		v |= (uint64_t)b[c->msb ? w - 1 - k : k] << (8 * k);
	*result = v;
	return true;
}

static bool st_set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	struct core_ctx *c = cur_unwind;
	uintptr_t i = (uintptr_t)thread_arg - 1;
	Dwarf_Word v[40];
	unsigned n;
	uint64_t pc, sp;

	if (!c || i >= c->nprs || !dwarf_regs(c, &c->prs[i], v, &n) ||
	    !core_regs_pc_sp(c, &c->prs[i], &pc, &sp))
		return false;
	if (!dwfl_thread_state_registers(thread, 0, n, v))
		return false;
	dwfl_thread_state_register_pc(thread, pc);
	return true;
}

static const Dwfl_Thread_Callbacks state_callbacks = {
	.next_thread = st_next_thread,
	.memory_read = st_memory_read,
	.set_initial_registers = st_set_initial_registers,
};

/* Our thread state when the architecture allows, else libdwfl's own. */
static bool attach_state(struct core_ctx *c)
{
	Dwarf_Word v[40];
	unsigned n;

	if (c->nprs > 0 && dwarf_regs(c, &c->prs[0], v, &n)) {
		cur_unwind = c;
		if (dwfl_attach_state(c->dwfl, c->elf, c->a->pid > 0 ? c->a->pid : c->prs[0].tid,
				      &state_callbacks, c))
			return true;
	}
	return dwfl_core_file_attach(c->dwfl, c->elf) >= 0;
}

int core_unwind(struct core_ctx *c)
{
	struct ll_core_analysis *a = c->a;
	int r = core_modules_report(c);

	if (r < 0)
		return r;
	if (!attach_state(c)) {
		char *why = core_strdup(dwfl_errmsg(-1));

		r = threads_from_notes(c, why ? why : "libdwfl cannot read the threads");
		free(why);
	} else if (dwfl_getthreads(c->dwfl, thread_cb, c) != 0 && a->nthreads == 0) {
		core_strv_pushf(&a->notes, "threads cannot be read: %s", dwfl_errmsg(-1));
		r = threads_from_notes(c, "libdwfl cannot read the threads");
	}
	cur_unwind = NULL;
	/* a core with more threads than CORE_MAX_THREADS: say how many were left */
	if (c->nprs_total > a->nthreads && (c->stopped_threads || c->nprs_total > CORE_MAX_THREADS))
		a->threads_omitted = c->nprs_total - a->nthreads;
	return r;
}
