/* core_cause.c: the causes named, plainly, with the fix.
 *
 * glibc's last abort message is read from the core through libc's
 * __abort_msg (a pointer to struct { unsigned size; char msg[]; }) and sorted
 * into assertion, double free, heap corruption, stack smashing, fortify. The
 * "modified in place" diagnosis (the `cp new.so loaded.so` crash) compares
 * the metadata's stat of each mapped file at crash time with the mapping and
 * with the process: it is claimed only on evidence no clock can fake (the
 * same inode shorter than the mapping, or another build-id than the one in
 * the process's memory); a modification time after the process start alone
 * is only "possibly" (a hint): the start is the fork's, known to the clock
 * tick, file times have their own granularity, and a file written between
 * fork and exec (`cp new prog && exec prog`) looks the same. Without
 * metadata, a SIGBUS past the end of a mapped file is still a fact, and the
 * files as they are now compared with the core's NT_FILE mappings are a
 * hint, said to be one. Causes the crash itself proves come first. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <elf.h>

#include "lifeline/inspect/maps.h"
#include "core_internal.h"


/* The first frame of the crashing thread outside the module of the top
 * frame (the program's own call into libc that ended in abort()), as
 * " FUNC (FILE:LINE)" text, or "". */
static const char *caller_outside(const struct ll_core_analysis *a)
{
	static __thread char buf[512];
	const struct core_thread *t = a->nthreads ? &a->threads[0] : NULL;

	buf[0] = '\0';
	if (!t || t->nframes == 0 || !t->frames[0].module)
		return buf;
	for (size_t i = 1; i < t->nframes; i++) {
		const struct core_frame *f = &t->frames[i];

		if (!f->module || strcmp(f->module, t->frames[0].module) == 0 || !f->function)
			continue;
		if (f->file)
			snprintf(buf, sizeof(buf), " %s (%s:%d)", f->function, f->file, f->line);
		else
			snprintf(buf, sizeof(buf), " %s", f->function);
		break;
	}
	return buf;
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
		return core_add_cause(a, false, "killed", core_printf("%s sent by process %d",
								 core_signal_name(a->signo), a->sender_pid),
				 core_printf("the program did not abort by itself: process %d (uid %d) "
					     "sent it %s with kill()", a->sender_pid, a->sender_uid,
					     core_signal_name(a->signo)),
				 core_printf("find out why process %d sent it (a watchdog, a supervisor "
					     "timeout, an operator)", a->sender_pid), false);
	if (a->signo != SIGABRT)
		return core_add_cause(a, false, "raised",
				      core_printf("%s raised by the program itself", core_signal_name(a->signo)),
				      core_printf("no fault: the program sent itself %s (raise(), kill(), "
						  "pthread_kill())%s%s", core_signal_name(a->signo),
						  *caller_outside(a) ? "; called from" : "", caller_outside(a)),
				      core_printf("see why the caller raises it (a crash handler re-raising "
						  "a signal, a deliberate abort path)"), false);
	if (!m)
		return core_add_cause(a, false, "abort", core_printf("the program called abort()"),
				 core_printf("no message was recorded by glibc: the program (or a library) "
					     "decided to stop%s%s", *caller_outside(a) ? "; called from" : "",
					     caller_outside(a)),
				 core_printf("read the frames below abort() in the backtrace"), false);
	if ((as = strstr(m, "Assertion `")) != NULL)
		return core_add_cause(a, false, "assertion", core_printf("assertion failed: %s", m),
				 core_printf("glibc's message: \"%s\". The condition the code asserts was "
					     "false: the bug is in whatever broke that invariant, "
					     "usually a caller", m),
				 core_printf("fix the code that made the condition false (compiling with "
					     "-DNDEBUG would only hide it)"), false);
	if (strstr(m, "double free"))
		return core_add_cause(a, false, "double-free", core_printf("double free: %s", m),
				 core_printf("glibc's allocator stopped the program: \"%s\". A block was "
					     "freed twice; the second free() is called from%s", m,
					     *caller_outside(a) ? caller_outside(a) : " the frames below"),
				 core_printf("find the first free() of that pointer: run under ASan "
					     "(-fsanitize=address) or valgrind, which show both; set "
					     "pointers to NULL after freeing them"), false);
	if (strstr(m, "stack smashing"))
		return core_add_cause(a, false, "stack-smashing", core_printf("stack buffer overflow: %s", m),
				 core_printf("the stack protector found the canary of the function "
					     "returning here overwritten: a local array was written past "
					     "its end"),
				 core_printf("find the out-of-bounds write in that function: run under "
					     "ASan"), false);
	if (strstr(m, "buffer overflow detected"))
		return core_add_cause(a, false, "buffer-overflow", core_printf("buffer overflow: %s", m),
				 core_printf("_FORTIFY_SOURCE checked a copy into a buffer too small "
					     "for it: \"%s\"", m),
				 core_printf("fix the size passed to the copying function in the frame "
					     "below the __*_chk function"), false);
	if (strstr(m, "malloc") || strstr(m, "free(") || strstr(m, "realloc") || strstr(m, "corrupted") ||
	    strstr(m, "munmap_chunk") || strstr(m, "tcache"))
		return core_add_cause(a, false, "heap-corruption", core_printf("heap corruption: %s", m),
				 core_printf("glibc's allocator found its own data damaged: \"%s\". "
					     "Something wrote out of bounds of a heap block or after "
					     "freeing it, earlier; the call that noticed it%s%s is only "
					     "where it showed", m, *caller_outside(a) ? ", in" : "",
					     caller_outside(a)),
				 core_printf("run under ASan (-fsanitize=address) or valgrind to catch "
					     "the bad write where it happens"), false);
	return core_add_cause(a, false, "abort", core_printf("abort: %s", m),
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

/* Whether a file's mtime is after the process start, beyond what the two
 * clocks' resolution explains. The start time comes from /proc/PID/stat in
 * clock ticks (USER_HZ: 10 ms, rounded down), and a file system stamps mtime
 * from a coarse clock (one jiffy, at most 10 ms) or, when the mtime has no
 * fraction at all, in whole seconds: a binary written just before it was
 * started must not be taken for one modified in place while mapped. */
static bool modified_after_start(double mtime, double start)
{
	/* whole seconds: a filesystem with 1 s timestamps (mtime is the
	 * record's number: check the range before converting it) */
	bool whole = mtime > -9e18 && mtime < 9e18 && mtime == (double)(int64_t)mtime;
	double tick = 0.010, granularity = whole ? 1.0 : 0.010;

	return mtime > start + tick + granularity;
}

/* The metadata shows the very inode the process mapped (not a file
 * replaced by a rename) as it was at the crash. */
static bool metadata_same_file(const struct core_region *g)
{
	return g->have_stat && g->path && g->path[0] == '/' && !g->deleted &&
	       (g->inode == 0 || g->file_inode == g->inode);
}

/* At the crash, the mapped inode was shorter than this mapping of it: it
 * was truncated (and rewritten) while mapped. A fact, whatever the clocks. */
static bool metadata_shorter(const struct core_region *g)
{
	return metadata_same_file(g) && page_up(g->file_size) < g->offset + (g->end - g->start);
}

/* The build-id in the process's memory for the module mapped at g, when it
 * is that file's; NULL when unknown. */
static const char *loaded_build_id(const struct ll_core_analysis *a, const struct core_region *g)
{
	const struct core_module *m = core_module_at(a, g->start);

	return m && m->build_id && m->name && strcmp(m->name, g->path) == 0 ? m->build_id : NULL;
}

static bool metadata_start(const struct core_ctx *c, double *start)
{
	json_object *v;

	if (!c->opts->metadata ||
	    !json_object_object_get_ex(c->opts->metadata, "process_start_time", &v) ||
	    !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		return false;
	*start = json_object_get_double(v);
	return true;
}

static const char *FIX_INPLACE =
	"deploy with `lifeline install` or install(1), or write the new file beside it and "
	"mv(1) it into place: a new inode leaves the mapped one intact, while cp truncates "
	"and rewrites the same inode under the running process";

/* The `cp new.so loaded.so` crash, from the metadata's stat at crash time:
 * certain when the inode was shorter than its mapping or held another build
 * than the process loaded; "possibly" when only its mtime is after the
 * start. */
static int check_modified_metadata(struct core_ctx *c, double start_time, bool have_start)
{
	struct ll_core_analysis *a = c->a;
	struct core_strv seen = { 0 };
	int r = 0;

	for (size_t i = 0; i < a->nregions && r == 0; i++) {
		const struct core_region *g = &a->regions[i];
		uint64_t need = g->offset + (g->end - g->start);
		const char *loaded;
		bool newer, shorter, rebuilt, certain, in;
		char *facts, *size_text, *detail;

		if (!metadata_same_file(g))
			continue;
		loaded = loaded_build_id(a, g);
		newer = have_start && modified_after_start(g->file_mtime, start_time);
		rebuilt = loaded && g->file_build_id && strcmp(loaded, g->file_build_id) != 0;
		if (!(metadata_shorter(g) || rebuilt || newer) || path_done(&seen, g->path))
			continue;
		in = false; /* the crash in any mapping of that file; the farthest one */
		for (size_t k = 0; k < a->nregions; k++)
			if (a->regions[k].path && strcmp(a->regions[k].path, g->path) == 0) {
				const struct core_region *o = &a->regions[k];

				in |= frame_in_region(a, o);
				if (o->offset + (o->end - o->start) > need)
					need = o->offset + (o->end - o->start);
			}
		shorter = page_up(g->file_size) < need;
		certain = shorter || rebuilt;
		if (certain) {
			facts = rebuilt ? core_printf("held another build (build-id %s) than the one in the "
						      "process's memory (%s)", g->file_build_id, loaded)
					: core_strdup("");
			size_text = shorter ? core_printf("was %llu bytes, shorter than the mapping, which "
							  "covers the file up to offset %llu",
							  (unsigned long long)g->file_size,
							  (unsigned long long)need)
					    : core_strdup("");
			detail = core_printf(
				"%s (inode %llu) was mapped by the process; at the crash the same inode "
				"%s%s%s. Its pages changed under the running code%s",
				g->path, (unsigned long long)g->file_inode, facts ? facts : "",
				rebuilt && shorter ? " and " : "", size_text ? size_text : "",
				in ? "; the crash is in that mapping" : "; the crash may be a consequence");
			free(size_text);
		} else {
			facts = NULL;
			detail = core_printf(
				"%s (inode %llu) was mapped by the process, and its modification time says "
				"it was modified after the process started (%.3f s later). That alone "
				"proves nothing: the start time is the fork's, to the clock tick, file times "
				"have their own granularity, and a file written between the fork and the "
				"exec (`cp new prog && exec prog`) looks the same. Its size still covers the "
				"mapping, and %s",
				g->path, (unsigned long long)g->file_inode, g->file_mtime - start_time,
				loaded && g->file_build_id ? "its build-id at the crash is the one the process "
							     "loaded: most likely the same code was "
							     "written again, or before the exec"
							   : "there is no build-id to compare its contents by");
		}
		free(facts);
		r = core_add_cause(a, in && certain, "modified-in-place",
			      core_printf("%s was %smodified in place (cp over a loaded library) after the "
					  "process mapped it", base_name(g->path), certain ? "" : "possibly "),
			      detail, core_printf("%s", FIX_INPLACE), !certain);
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

		r = core_add_cause(a, true, "modified-in-place",
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
		r = core_add_cause(a, frame_in_region(a, &g), "modified-in-place",
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
		r = core_add_cause(a, false, "modified-in-place",
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
	int r = 0;

	for (size_t i = 0; i < a->nregions && r == 0; i++)
		if (metadata_shorter(&a->regions[i]) && !path_known(&c->tainted, a->regions[i].path))
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
			return core_add_cause(a, false, "divide-error",
					 core_printf("integer %s%s", a->si_code == FPE_INTDIV ?
						     "division by zero" : "overflow in division", core_where(a)),
					 core_printf("the divisor was 0 (or INT_MIN / -1 overflowed)"),
					 core_printf("check the divisor before dividing"), false);
		return 0;
	case SIGILL:
		return core_add_cause(a, false, "illegal-instruction",
				 core_printf("illegal instruction%s", core_where(a)),
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
		meaning = core_code_meaning(a->signo, a->si_code, &cname);
		a->code_text = cname ? core_printf("%s: %s", cname, meaning)
				     : core_printf("si_code %d", a->si_code);
	}
	have_start = metadata_start(c, &start);
	if (!a->have_siginfo && (a->signo == SIGSEGV || a->signo == SIGBUS))
		a->fault_text = core_printf("the core has no NT_SIGINFO note (made by qemu-user, gdb's "
					    "gcore or an old kernel): the fault address and si_code are "
					    "unknown; see the marked instruction and its registers");
	if (a->signo == SIGABRT)
		read_abort_msg(c);
	if (a->have_fault_addr && (a->signo == SIGSEGV || a->signo == SIGBUS))
		r = core_classify_fault(c);
	else if (a->signo == SIGABRT || (a->have_siginfo && a->si_code <= 0))
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

		r = core_add_cause(a, true, "modified-in-place",
			      core_printf("%s was modified in place (cp over a loaded library) after the "
					  "process mapped it", base_name(g->path)),
			      core_printf("the crash is a SIGBUS reading %s past the end of the file: the "
					  "file was truncated while the process had it mapped", g->path),
			      core_printf("%s", FIX_INPLACE), false);
	}
	return r;
}
