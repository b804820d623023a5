/* core.c: ll_core_analyze() and the small helpers the stages share.
 *
 * The driver opens the core (core_file.c), builds the address map at crash
 * time (core_regions.c), unwinds every thread through libdwfl with modules
 * matched by build-id (core_unwind.c), explains the signal and names the
 * causes (core_cause.c) and disassembles around the crashing PC
 * (core_symbolize.c). Each stage records what it could not do in the
 * analysis instead of failing it: only an unreadable file is an error. */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/demangle.h"
#include "common/escape.h"
#include "core_internal.h"

char *core_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *core_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

int core_strv_push(struct core_strv *sv, char *s)
{
	char **v;

	if (!s)
		return -ENOMEM;
	v = realloc(sv->v, (sv->n + 1) * sizeof(*v));
	if (!v) {
		free(s);
		return -ENOMEM;
	}
	sv->v = v;
	sv->v[sv->n++] = s;
	return 0;
}

int core_strv_pushf(struct core_strv *sv, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return core_strv_push(sv, s);
}

void core_strv_free(struct core_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

void core_set_error(const struct ll_core_options *opts, const char *fmt, ...)
{
	va_list ap;

	if (!opts || !opts->errbuf || opts->errbuf_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(opts->errbuf, opts->errbuf_size, fmt, ap);
	va_end(ap);
}

char *core_hex(const unsigned char *b, size_t n)
{
	char *s = malloc(2 * n + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", b[i]);
	s[2 * n] = '\0';
	return s;
}

/* The executable's path: the NT_FILE mapping holding AT_PHDR, else the
 * metadata's exe, else AT_EXECFN from the core's memory. */
static void find_exe(struct core_ctx *c)
{
	uint64_t phdr = core_auxv(c, AT_PHDR), execfn = core_auxv(c, AT_EXECFN);
	json_object *v;

	for (size_t i = 0; phdr && i < c->nfiles; i++)
		if (phdr >= c->files[i].start && phdr < c->files[i].end) {
			c->a->exe = core_strdup(c->files[i].path);
			return;
		}
	if (c->opts->metadata && json_object_object_get_ex(c->opts->metadata, "exe", &v) &&
	    json_object_is_type(v, json_type_string)) {
		c->a->exe = ll_unescape(json_object_get_string(v), (size_t)json_object_get_string_len(v), NULL);
		return;
	}
	if (execfn)
		c->a->exe = core_read_string(c, execfn, 4096);
}

/* The metadata's full command line (NT_PRPSINFO keeps 80 bytes of it). */
static void metadata_cmdline(struct core_ctx *c)
{
	json_object *v;
	size_t n, len = 0;
	char *s;

	if (!c->opts->metadata || !json_object_object_get_ex(c->opts->metadata, "cmdline", &v) ||
	    !json_object_is_type(v, json_type_array) || (n = json_object_array_length(v)) == 0)
		return;
	for (size_t i = 0; i < n; i++)
		len += strlen(json_object_get_string(json_object_array_get_idx(v, i)) ?: "") + 1;
	s = calloc(1, len + 1);
	if (!s)
		return;
	for (size_t i = 0; i < n; i++) {
		json_object *arg = json_object_array_get_idx(v, i);
		/* the record's text is escaped (common/escape.h): its bytes, no longer */
		char *raw = ll_unescape(json_object_get_string(arg) ?: "", (size_t)json_object_get_string_len(arg),
					NULL);

		if (i)
			strcat(s, " ");
		strcat(s, raw ? raw : "?");
		free(raw);
	}
	free(c->a->psargs);
	c->a->psargs = s;
}

/* C++ names as people read them (unless no_demangle), before anything
 * quotes them (causes, the top frame); the mangled name is kept. */
static void demangle_frames(struct core_ctx *c)
{
	struct ll_core_analysis *a = c->a;

	if (c->opts->no_demangle)
		return;
	for (size_t i = 0; i < a->nthreads; i++)
		for (size_t j = 0; j < a->threads[i].nframes; j++) {
			struct core_frame *f = &a->threads[i].frames[j];
			char *dm = ll_demangle(f->function);

			if (dm) {
				f->linkage_name = f->function;
				f->function = dm;
			}
		}
}

static void make_top_frame(struct ll_core_analysis *a)
{
	const struct core_frame *f;

	if (a->nthreads == 0 || a->threads[0].nframes == 0)
		return;
	f = &a->threads[0].frames[0];
	if (f->function && f->file)
		a->top_frame = core_printf("%s (%s:%d)", f->function, f->file, f->line);
	else if (f->function)
		a->top_frame = core_printf("%s", f->function);
	else if (f->module)
		a->top_frame = core_printf("%s+0x%llx", f->module, (unsigned long long)f->module_offset);
	else
		a->top_frame = core_printf("0x%llx", (unsigned long long)f->pc);
}

/* When the crashing pc holds no readable code (a jump to 0 or into a
 * mapping that is gone), show the call that led there instead. */
static int disassemble_caller(struct core_ctx *c)
{
	struct ll_core_analysis *a = c->a;
	const struct core_thread *t = a->nthreads ? &a->threads[0] : NULL;
	uint64_t pc0;
	char *why;
	int r;

	if (a->ninsns > 0 || !t || t->nframes < 2)
		return 0;
	pc0 = t->frames[0].pc;
	for (size_t i = 1; i < t->nframes; i++) {
		if (t->frames[i].pc == pc0)
			continue; /* an inline frame of the same pc */
		why = a->disasm_note;
		a->disasm_note = NULL;
		r = core_disassemble(c, t->frames[i].pc, !t->frames[i].activation);
		if (r < 0 || a->ninsns == 0) {
			free(a->disasm_note);
			a->disasm_note = why;
			return r;
		}
		free(a->disasm_note);
		a->disasm_note = core_printf("%s; shown instead: the call in frame #%zu", why ? why : "", i);
		free(why);
		return a->disasm_note ? 0 : -ENOMEM;
	}
	return 0;
}

int ll_core_analyze(const char *core_path, const struct ll_core_options *opts,
		    struct ll_core_analysis **out)
{
	static const struct ll_core_options no_opts;
	struct core_ctx c = { .fd = -1 };
	uint64_t pc, sp;
	int r;

	if (!core_path || !out)
		return -EINVAL;
	*out = NULL;
	c.opts = opts ? opts : &no_opts;
	c.a = calloc(1, sizeof(*c.a));
	if (!c.a)
		return -ENOMEM;
	c.a->core_path = core_strdup(c.opts->core_name ? c.opts->core_name : core_path);
	r = c.a->core_path ? core_file_open(&c, core_path) : -ENOMEM;
	if (r < 0)
		goto out;
	if (c.a->pid == 0 && c.nprs > 0)
		c.a->pid = c.prs[0].tid;
	if (!c.a->have_siginfo && c.nprs > 0)
		c.a->signo = c.prs[0].cursig;
	find_exe(&c);
	metadata_cmdline(&c);
	r = core_regions_build(&c);
	if (r < 0)
		goto out;
	core_regs_fill(&c);
	r = core_find_tainted(&c);
	if (r < 0)
		goto out;
	r = core_unwind(&c);
	if (r < 0)
		goto out;
	demangle_frames(&c);
	r = core_explain(&c);
	if (r < 0)
		goto out;
	if (c.nprs > 0 && core_regs_pc_sp(&c, &c.prs[0], &pc, &sp)) {
		r = core_disassemble(&c, pc, false);
		if (r == 0)
			r = disassemble_caller(&c);
	} else
		c.a->disasm_note = core_printf("no registers for the crashing thread (architecture %s)",
					       c.a->arch ? c.a->arch : "unknown");
	if (r < 0)
		goto out;
	make_top_frame(c.a);
	*out = c.a;
	c.a = NULL;
out:
	core_symbolize_end(&c);
	if (c.dwfl)
		dwfl_end(c.dwfl);
	core_modules_end(&c);
	core_safe_copies_free(&c); /* the memfds and images libdwfl used */
	free(c.sniffed);
	core_file_close(&c);
	ll_core_analysis_free(c.a);
	return r;
}

const char *ll_core_analysis_top_frame(const struct ll_core_analysis *a)
{
	return a ? a->top_frame : NULL;
}

int ll_core_analysis_signal(const struct ll_core_analysis *a)
{
	return a ? a->signo : 0;
}

const char *ll_core_analysis_cause(const struct ll_core_analysis *a)
{
	return a && a->ncauses ? a->causes[0].kind : NULL;
}

void core_frame_free(struct core_frame *f)
{
	free(f->module);
	free(f->function);
	free(f->linkage_name);
	free(f->file);
	free(f->note);
}

void ll_core_analysis_free(struct ll_core_analysis *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nthreads; i++) {
		for (size_t j = 0; j < a->threads[i].nframes; j++)
			core_frame_free(&a->threads[i].frames[j]);
		free(a->threads[i].frames);
		free(a->threads[i].unwind_error);
	}
	free(a->threads);
	for (size_t i = 0; i < a->nmodules; i++) {
		free(a->modules[i].name);
		free(a->modules[i].build_id);
		free(a->modules[i].file);
		free(a->modules[i].disk_build_id);
	}
	free(a->modules);
	for (size_t i = 0; i < a->ncauses; i++) {
		free(a->causes[i].kind);
		free(a->causes[i].title);
		free(a->causes[i].detail);
		free(a->causes[i].fix);
	}
	free(a->causes);
	for (size_t i = 0; i < a->nregions; i++) {
		free(a->regions[i].path);
		free(a->regions[i].file_build_id);
	}
	free(a->regions);
	free(a->insns);
	free(a->disasm_note);
	core_strv_free(&a->notes);
	free(a->core_path);
	free(a->truncated_detail);
	free(a->comm);
	free(a->psargs);
	free(a->exe);
	free(a->signal_text);
	free(a->code_text);
	free(a->fault_kind);
	free(a->fault_text);
	free(a->abort_msg);
	free(a->top_frame);
	free(a);
}
