/* core_unwind.c: modules, threads and frames of a core through libdwfl.
 *
 * dwfl_core_file_report() finds the modules from the core (link_map, NT_FILE,
 * the build-id notes in the dumped first pages). Our find_elf callback
 * matches every module by build-id: the file named in the core is used only
 * when its build-id equals the one the core recorded, then the exe the
 * caller gave (by build-id too), then <debug dir>/.build-id/xx/yyyy[.debug].
 * A file whose build-id differs is never used: the module is reported as
 * replaced since the crash and its frames stay unsymbolized. Threads come
 * from dwfl_getthreads() (the dumping thread first) and frames from
 * dwfl_thread_getframes() (CFI unwinding); return addresses are looked up at
 * pc - 1 so a call at the end of a function is attributed to it. */
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

#define MAX_THREADS 4096u

/* libdwfl's callbacks get no user pointer; one analysis runs per thread. */
static __thread struct core_ctx *cur_ctx;

static int open_regular(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The GNU build-id of the ELF file open at fd (length, 0 none, -1 not ELF). */
static ssize_t fd_build_id(int fd, unsigned char *out, size_t max)
{
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	const void *p;
	ssize_t n = -1;

	if (e && elf_kind(e) == ELF_K_ELF) {
		n = dwelf_elf_gnu_build_id(e, &p);
		if (n > 0 && (size_t)n <= max)
			memcpy(out, p, (size_t)n);
		else if (n > 0)
			n = -1;
	}
	if (e)
		elf_end(e);
	return n;
}

static ssize_t path_build_id(const char *path, unsigned char *out, size_t max)
{
	int fd = open_regular(path);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = fd_build_id(fd, out, max);
	close(fd);
	return n;
}

/* Open path when its build-id is bid (any file when blen is 0). */
static int open_matching(const char *path, const unsigned char *bid, int blen, char **file_name)
{
	unsigned char fb[64];
	ssize_t fl;
	int fd = open_regular(path);

	if (fd < 0)
		return -1;
	fl = fd_build_id(fd, fb, sizeof(fb));
	if (fl < 0 || (blen > 0 && (fl != blen || memcmp(fb, bid, (size_t)blen) != 0))) {
		close(fd);
		return -1;
	}
	*file_name = strdup(path);
	if (!*file_name) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The NT_FILE path of the mapping holding addr (modules named by their
 * soname only get their real path this way), or NULL. */
static const char *nt_file_path(const struct core_ctx *c, uint64_t addr)
{
	for (size_t i = 0; i < c->nfiles; i++)
		if (addr >= c->files[i].start && addr < c->files[i].end)
			return c->files[i].path;
	return NULL;
}

static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	struct core_ctx *c = cur_ctx;
	const unsigned char *bid = NULL;
	GElf_Addr vaddr;
	int blen, fd;

	(void)userdata;
	*elfp = NULL;
	if (!c)
		return -1;
	if ((!modname || modname[0] != '/') && nt_file_path(c, base))
		modname = nt_file_path(c, base);
	blen = dwfl_module_build_id(mod, &bid, &vaddr);
	if (blen < 0)
		blen = 0;
	if (modname && modname[0] == '/') {
		fd = open_matching(modname, bid, blen, file_name);
		if (fd >= 0)
			return fd;
	}
	if (blen > 0 && c->opts->exe_hint && c->exe_hint_build_id_len == (size_t)blen &&
	    memcmp(c->exe_hint_build_id, bid, (size_t)blen) == 0) {
		fd = open_matching(c->opts->exe_hint, bid, blen, file_name);
		if (fd >= 0)
			return fd;
	}
	if (blen > 1) {
		char *hex = core_hex(bid, (size_t)blen), *p;

		if (!hex)
			return -1;
		for (int debug = 0; debug < 2; debug++) {
			p = core_printf("%s/.build-id/%.2s/%s%s", c->debug_dir, hex, hex + 2,
					debug ? ".debug" : "");
			fd = p ? open_matching(p, bid, blen, file_name) : -1;
			free(p);
			if (fd >= 0) {
				free(hex);
				return fd;
			}
		}
		free(hex);
	}
	return -1;
}

static int module_cb(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start, void *arg)
{
	struct core_ctx *c = arg;
	struct ll_core_analysis *a = c->a;
	struct core_module *m, *v;
	const unsigned char *bid;
	GElf_Addr vaddr, low, high;
	int blen;

	(void)userdata;
	(void)start;
	v = realloc(a->modules, (a->nmodules + 1) * sizeof(*v));
	if (!v)
		return DWARF_CB_ABORT;
	a->modules = v;
	m = &v[a->nmodules++];
	memset(m, 0, sizeof(*m));
	dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
	m->mod = mod;
	if ((!name || name[0] != '/') && nt_file_path(c, low))
		name = nt_file_path(c, low);
	m->name = core_strdup(name ? name : "?");
	m->start = low;
	m->end = high;
	blen = dwfl_module_build_id(mod, &bid, &vaddr);
	if (blen > 0)
		m->build_id = core_hex(bid, (size_t)blen);
	return DWARF_CB_OK;
}

static int cmp_module(const void *x, const void *y)
{
	const struct core_module *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

/* Load each module's ELF through find_elf and record what was used. */
static void check_module(struct core_ctx *c, struct core_module *m)
{
	GElf_Addr bias;
	Elf *e = dwfl_module_getelf(m->mod, &bias);
	const char *mainfile = NULL;
	unsigned char db[64];
	ssize_t dl;

	dwfl_module_info(m->mod, NULL, NULL, NULL, NULL, NULL, &mainfile, NULL);
	if (e && !mainfile && m->name[0] == '/' && m->build_id) {
		/* libdwfl opened the file named in the core itself (it checks the
		 * build-id too); confirm and name it */
		dl = path_build_id(m->name, db, sizeof(db));
		if (dl > 0) {
			char *h = core_hex(db, (size_t)dl);

			if (h && strcmp(h, m->build_id) == 0)
				mainfile = m->name;
			free(h);
		}
	}
	if (!e)
		m->status = CORE_MOD_MISSING;
	else if (!mainfile)
		m->status = CORE_MOD_IN_CORE;
	else if (!m->build_id)
		m->status = CORE_MOD_UNVERIFIED;
	else if (strncmp(mainfile, c->debug_dir, strlen(c->debug_dir)) == 0)
		m->status = CORE_MOD_DEBUG_ONLY;
	else
		m->status = CORE_MOD_OK;
	if (mainfile)
		m->file = core_strdup(mainfile);
	for (size_t i = 0; i < c->tainted.n; i++)
		if (strcmp(c->tainted.v[i], m->name) == 0) {
			m->status = CORE_MOD_MODIFIED;
			for (struct core_module *o = c->a->modules; o < m; o++)
				if (strcmp(o->name, m->name) == 0)
					return; /* said once */
			core_strv_pushf(&c->a->notes,
					"module %s was modified in place while mapped: the core's copy of its "
					"headers and the file now hold other code than the process loaded; "
					"frames in it are not symbolized", m->name);
			return;
		}
	if (!m->build_id || m->name[0] != '/' || (mainfile && strcmp(mainfile, m->name) == 0))
		return;
	/* the file the core names was not used: say why */
	dl = path_build_id(m->name, db, sizeof(db));
	if (dl <= 0)
		return;
	m->disk_build_id = core_hex(db, (size_t)dl);
	if (!m->disk_build_id || strcmp(m->disk_build_id, m->build_id) == 0) {
		free(m->disk_build_id);
		m->disk_build_id = NULL;
		return;
	}
	if (m->status == CORE_MOD_MISSING) {
		m->status = CORE_MOD_REPLACED;
		core_strv_pushf(&c->a->notes,
				"module %s was replaced since the crash (build-id differs: %s in the core, "
				"%s on disk now); frames in it are not symbolized", m->name, m->build_id,
				m->disk_build_id);
	} else {
		core_strv_pushf(&c->a->notes,
				"module %s was replaced since the crash (build-id differs: %s in the core, "
				"%s on disk now); symbolized from %s, found by build-id", m->name,
				m->build_id, m->disk_build_id, mainfile ? mainfile : "?");
	}
}

/* Modules whose headers are not in the core (a truncated core, or a
 * coredump_filter without ELF headers) are not found by libdwfl: report the
 * executable file mappings named by NT_FILE at their load address. Their
 * build-id cannot be checked against the core: they are marked unverified. */
static void report_headerless(struct core_ctx *c)
{
	struct ll_core_analysis *a = c->a;
	struct core_strv done = { 0 };
	bool began = false;

	for (size_t i = 0; i < c->nfiles; i++) {
		const struct core_nt_file *f = &c->files[i];
		bool exec = false, tainted = false, seen = false;
		Dwfl_Module *m;

		if (f->file_offset != 0 || f->path[0] != '/' || dwfl_addrmodule(c->dwfl, f->start))
			continue;
		for (size_t k = 0; k < c->nfiles && !exec; k++) {
			const struct core_region *g = core_region_find(a, c->files[k].start);

			exec = strcmp(c->files[k].path, f->path) == 0 && g && (g->perms & LL_PERM_EXEC);
		}
		for (size_t k = 0; k < c->tainted.n; k++)
			tainted |= strcmp(c->tainted.v[k], f->path) == 0;
		for (size_t k = 0; k < done.n; k++)
			seen |= strcmp(done.v[k], f->path) == 0;
		if (!exec || tainted || seen)
			continue;
		if (!began) {
			dwfl_report_begin_add(c->dwfl);
			began = true;
		}
		core_strv_pushf(&done, "%s", f->path);
		m = dwfl_report_elf(c->dwfl, f->path, f->path, -1, f->start, false);
		if (m)
			core_strv_pushf(&a->notes, "module %s: its headers are not in the core; the file on "
					"disk was used without a build-id check", f->path);
	}
	if (began)
		dwfl_report_end(c->dwfl, NULL, NULL);
	core_strv_free(&done);
}

struct core_module *core_module_at(const struct ll_core_analysis *a, uint64_t addr)
{
	for (size_t i = 0; i < a->nmodules; i++)
		if (addr >= a->modules[i].start && addr < a->modules[i].end)
			return &a->modules[i];
	return NULL;
}

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
		r = core_symbolize_frames(m->mod, lookup, pc, activation, t);
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

	if (c->a->nthreads >= MAX_THREADS) {
		core_strv_pushf(&c->a->notes, "only the first %u threads are unwound", MAX_THREADS);
		return DWARF_CB_ABORT;
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

int core_unwind(struct core_ctx *c)
{
	struct ll_core_analysis *a = c->a;
	const char *dd = c->opts->debug_dir ? c->opts->debug_dir : "/usr/lib/debug";
	int n, r = 0;

	c->debug_dir = core_strdup(dd);
	c->debuginfo_path = core_printf(":.debug:%s", dd);
	if (!c->debug_dir || !c->debuginfo_path)
		return -ENOMEM;
	c->callbacks.find_elf = find_elf;
	c->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
	c->callbacks.debuginfo_path = &c->debuginfo_path;
	if (c->opts->exe_hint) {
		ssize_t l = path_build_id(c->opts->exe_hint, c->exe_hint_build_id,
					  sizeof(c->exe_hint_build_id));
		c->exe_hint_build_id_len = l > 0 ? (size_t)l : 0;
	}
	c->dwfl = dwfl_begin(&c->callbacks);
	if (!c->dwfl)
		return -ENOMEM;
	cur_ctx = c;
	dwfl_report_begin(c->dwfl);
	n = dwfl_core_file_report(c->dwfl, c->elf, NULL);
	dwfl_report_end(c->dwfl, NULL, NULL);
	if (n < 0)
		core_strv_pushf(&a->notes, "no module could be found in the core: %s", dwfl_errmsg(-1));
	report_headerless(c);
	dwfl_getmodules(c->dwfl, module_cb, c, 0);
	if (a->nmodules > 1)
		qsort(a->modules, a->nmodules, sizeof(*a->modules), cmp_module);
	for (size_t i = 0; i < a->nmodules; i++)
		check_module(c, &a->modules[i]);
	if (dwfl_core_file_attach(c->dwfl, c->elf) < 0) {
		char *why = core_strdup(dwfl_errmsg(-1));

		r = threads_from_notes(c, why ? why : "libdwfl cannot read the threads");
		free(why);
	} else if (dwfl_getthreads(c->dwfl, thread_cb, c) != 0 && a->nthreads == 0) {
		core_strv_pushf(&a->notes, "threads cannot be read: %s", dwfl_errmsg(-1));
		r = threads_from_notes(c, "libdwfl cannot read the threads");
	}
	cur_ctx = NULL;
	/* debug_dir and debuginfo_path are used while the Dwfl lives: freed by
	 * core_file_close() after dwfl_end() */
	return r;
}
