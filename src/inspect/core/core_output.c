/* core_output.c: the analysis rendered for a person and as JSON.
 *
 * The human form reads top-down like `coredumpctl info` followed by gdb's
 * `bt`: a summary line, the signal and the fault address explained, the
 * causes in a box (with the fix), the crashing thread's backtrace, its
 * registers, the disassembly with the faulting instruction marked, the
 * other threads, the modules with their build-ids, and remarks. The JSON
 * form (json-c) carries the same data with stable keys, and the human form
 * is printed from it (ll_core_analysis_print_json), so an analysis made in
 * another process prints the same, escaped once as it is printed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/escape.h"
#include "core_internal.h"

struct style {
	const char *bold, *red, *yellow, *dim, *reset;
};

static const char *mod_status(enum core_mod_status s)
{
	switch (s) {
	case CORE_MOD_OK: return "ok";
	case CORE_MOD_UNVERIFIED: return "unverified";
	case CORE_MOD_DEBUG_ONLY: return "debug-file-only";
	case CORE_MOD_REPLACED: return "replaced";
	case CORE_MOD_MISSING: return "missing";
	case CORE_MOD_IN_CORE: return "in-core";
	case CORE_MOD_MODIFIED: return "modified-in-place";
	}
	return "?";
}

/* The printer reads the analysis in its JSON form only, so that a caller
 * that got the JSON from an analysis run elsewhere (`cores info` runs it as
 * the crash's uid, in a child whose answer it does not trust) prints the
 * same text from the same data. Every string is untrusted (it comes from
 * the core, the files it names, or that child) and is escaped exactly once,
 * here, by E() (common/escape.h); colour sequences are added around the
 * escaped text, never inside it. The escaped copies live in the pool until
 * the print ends. */
struct printer {
	FILE *f;
	const struct style *st;
	int w; /* hex digits of an address: 8 or 16 */
	struct core_strv pool;
};

static json_object *get(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool flag(json_object *o, const char *key)
{
	return json_object_get_boolean(get(o, key));
}

static int64_t num(json_object *o, const char *key)
{
	return json_object_get_int64(get(o, key));
}

/* An address written by jhex() ("0x..."), 0 when absent. */
static unsigned long long addr(json_object *o, const char *key)
{
	const char *s = str(o, key);

	return s ? strtoull(s, NULL, 16) : 0;
}

static size_t len_of(json_object *arr)
{
	return json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
}

/* The string under key escaped for a terminal, or dflt when absent. */
static const char *E(struct printer *p, json_object *o, const char *key, const char *dflt)
{
	json_object *v = get(o, key);
	char *e;

	if (!v || !json_object_is_type(v, json_type_string))
		return dflt;
	e = ll_escape(json_object_get_string(v), (size_t)json_object_get_string_len(v), LL_ESC_FROM_JSON, 0);
	if (!e || core_strv_push(&p->pool, e) < 0)
		return "?";
	return e;
}

static void print_frame(struct printer *p, size_t i, json_object *fr)
{
	const struct style *st = p->st;
	FILE *f = p->f;

	fprintf(f, "  #%-3zu 0x%0*llx ", i, p->w, addr(fr, "pc"));
	if (str(fr, "function")) {
		fprintf(f, "in %s%s%s", st->bold, E(p, fr, "function", ""), st->reset);
		if (str(fr, "function_offset"))
			fprintf(f, "+0x%llx", addr(fr, "function_offset"));
	} else {
		fprintf(f, "in ??");
	}
	if (str(fr, "file"))
		fprintf(f, " (%s:%d)", E(p, fr, "file", ""), (int)num(fr, "line"));
	if (flag(fr, "inlined"))
		fprintf(f, " [inlined]");
	if (str(fr, "module"))
		fprintf(f, " %s[%s+0x%llx]%s", st->dim, E(p, fr, "module", ""), addr(fr, "module_offset"),
			st->reset);
	if (str(fr, "note"))
		fprintf(f, " %s(%s)%s", st->yellow, E(p, fr, "note", ""), st->reset);
	fputc('\n', f);
}

/* The pc of frame i of thread t, as its JSON text (for comparisons). */
static const char *frame_pc(json_object *t, size_t i)
{
	return str(json_object_array_get_idx(get(t, "frames"), i), "pc");
}

static bool same_frame(json_object *t, size_t i, size_t j)
{
	const char *x = frame_pc(t, i), *y = frame_pc(t, j);

	return x && y && !strcmp(x, y);
}

static void print_thread(struct printer *p, json_object *a, json_object *t)
{
	const struct style *st = p->st;
	json_object *frames = get(t, "frames");
	size_t n = len_of(frames);
	bool why = flag(t, "crashed") && str(get(a, "signal"), "description");
	FILE *f = p->f;

	fprintf(f, "%s%s %d%s%s%s:\n", st->bold, flag(t, "crashed") ? "Crashing thread" : "Thread",
		(int)num(t, "tid"), why ? " (" : "", why ? E(p, get(a, "signal"), "name", "?") : "", why ? ")" : "");
	fputs(st->reset, f);
	for (size_t i = 0; i < n; i++) {
		size_t j = i + 1;
		json_object *fi = json_object_array_get_idx(frames, i);

		print_frame(p, i, fi);
		/* a recursion: the same return address again and again */
		while (j < n && same_frame(t, i, j) && !flag(json_object_array_get_idx(frames, j), "inlined") &&
		       !flag(fi, "inlined"))
			j++;
		if (j - i > 2) {
			fprintf(f, "  %s... #%zu to #%zu: the same frame as #%zu, %zu more times%s\n", st->dim,
				i + 1, j - 1, i, j - i - 1, st->reset);
			i = j - 1;
		}
	}
	if (n == 0)
		fprintf(f, "  (no frames)\n");
	if (str(t, "unwind_error"))
		fprintf(f, "  %s(%s)%s\n", st->dim, E(p, t, "unwind_error", ""), st->reset);
}

static bool same_stack(json_object *x, json_object *y)
{
	size_t n = len_of(get(x, "frames"));

	if (n == 0 || n != len_of(get(y, "frames")))
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *a = frame_pc(x, i), *b = frame_pc(y, i);

		if (!a || !b || strcmp(a, b))
			return false;
	}
	return true;
}

/* The other threads; those with the same stack (a pool of idle workers)
 * are printed once, with their ids. */
static void print_other_threads(struct printer *p, json_object *a)
{
	const struct style *st = p->st;
	json_object *threads = get(a, "threads");
	size_t n = len_of(threads);
	bool *done = n ? calloc(n, sizeof(*done)) : NULL;
	FILE *f = p->f;

	for (size_t i = 1; i < n; i++) {
		json_object *t = json_object_array_get_idx(threads, i);
		size_t same = 0;

		if (done && done[i])
			continue;
		for (size_t k = i + 1; done && k < n; k++)
			if (!done[k] && same_stack(t, json_object_array_get_idx(threads, k)))
				same++;
		print_thread(p, a, t);
		if (same) {
			fprintf(f, "  %s(the same stack in %zu more thread%s:", st->dim, same, same > 1 ? "s" : "");
			for (size_t k = i + 1; k < n; k++)
				if (!done[k] && same_stack(t, json_object_array_get_idx(threads, k))) {
					fprintf(f, " %d", (int)num(json_object_array_get_idx(threads, k), "tid"));
					done[k] = true;
				}
			fprintf(f, ")%s\n", st->reset);
		}
		fputc('\n', f);
	}
	if (num(a, "threads_omitted") > 0)
		fprintf(f, "... %lld more threads (not analysed: at most %u are)\n\n",
			(long long)num(a, "threads_omitted"), CORE_MAX_THREADS);
	free(done);
}

static void print_wrapped(FILE *f, const char *prefix, const char *text, size_t width)
{
	const char *p = text;

	while (*p) {
		size_t len = strlen(p), cut = len;

		if (len > width) {
			cut = width;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = width;
		}
		fprintf(f, "%s%.*s\n", prefix, (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

static void print_summary(struct printer *p, json_object *a)
{
	const struct style *st = p->st;
	json_object *sig = get(a, "signal");
	bool killed = str(sig, "description") != NULL;
	FILE *f = p->f;

	fprintf(f, "%sCore%s %s: PID %d (%s), %s%s%s\n", st->bold, st->reset, E(p, a, "core", ""),
		(int)num(a, "pid"), E(p, a, "comm", "?"), E(p, a, "arch", "?"), killed ? ", killed by " : "",
		killed ? E(p, sig, "name", "?") : "");
	if (flag(a, "truncated"))
		fprintf(f, "%sWARNING:%s %s\n", st->red, st->reset, E(p, a, "truncated_detail", ""));
	if (str(a, "exe"))
		fprintf(f, "  Executable: %s\n", E(p, a, "exe", ""));
	if (str(a, "cmdline") && *str(a, "cmdline"))
		fprintf(f, "  Command line: %s\n", E(p, a, "cmdline", ""));
	if (killed)
		fprintf(f, "  Signal: %s%s%s\n", E(p, sig, "description", ""), str(sig, "code_text") ? ", " : "",
			E(p, sig, "code_text", ""));
	if (str(sig, "address"))
		fprintf(f, "  Fault address: 0x%llx\n", addr(sig, "address"));
	if (get(sig, "code") && num(sig, "code") <= 0 && num(sig, "sender_pid") &&
	    num(sig, "sender_pid") != num(a, "pid"))
		fprintf(f, "  Sent by: pid %d, uid %d\n", (int)num(sig, "sender_pid"), (int)num(sig, "sender_uid"));
	if (str(a, "fault"))
		print_wrapped(f, "  ", E(p, a, "fault", ""), 100);
	if (str(a, "abort_message"))
		fprintf(f, "  Abort message: %s\n", E(p, a, "abort_message", ""));
	if (str(a, "top_frame"))
		fprintf(f, "  Top frame: %s\n", E(p, a, "top_frame", ""));
	fputc('\n', f);
}

static void print_causes(struct printer *p, json_object *a)
{
	const struct style *st = p->st;
	json_object *causes = get(a, "causes");
	size_t n = len_of(causes);
	FILE *f = p->f;

	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(causes, i);
		bool hint = flag(c, "hint");

		fprintf(f, "+-- %s%s --\n", hint ? "Hint" : "Cause", i ? " (also)" : "");
		fprintf(f, "| %s%s%s\n", hint ? st->yellow : st->red, E(p, c, "title", ""), st->reset);
		print_wrapped(f, "|   ", E(p, c, "detail", ""), 96);
		fprintf(f, "| %sFix:%s\n", st->bold, st->reset);
		print_wrapped(f, "|   ", E(p, c, "fix", ""), 96);
		fprintf(f, "+--\n");
	}
	if (n == 0)
		fprintf(f, "(no cause could be named: read the backtrace and the disassembly)\n");
	fputc('\n', f);
}

static void print_registers(struct printer *p, json_object *a)
{
	json_object *regs = get(a, "registers");
	size_t i = 0, n = json_object_is_type(regs, json_type_object) ? (size_t)json_object_object_length(regs) : 0;
	FILE *f = p->f;

	if (n == 0)
		return;
	fprintf(f, "%sRegisters:%s\n", p->st->bold, p->st->reset);
	json_object_object_foreach(regs, name, v) {
		char *e = ll_escape(name, strlen(name), LL_ESC_FROM_JSON, 0);

		fprintf(f, "  %-8s 0x%0*llx", e ? e : "?", p->w,
			json_object_is_type(v, json_type_string) ? strtoull(json_object_get_string(v), NULL, 16) : 0);
		free(e);
		if (i % 4 == 3 || i + 1 == n)
			fputc('\n', f);
		i++;
	}
	fputc('\n', f);
}

static void print_disassembly(struct printer *p, json_object *a)
{
	const struct style *st = p->st;
	json_object *insns = get(a, "disassembly");
	FILE *f = p->f;

	fprintf(f, "%sDisassembly:%s\n", st->bold, st->reset);
	for (size_t i = 0; i < len_of(insns); i++) {
		json_object *in = json_object_array_get_idx(insns, i);
		bool cur = flag(in, "current");

		fprintf(f, "%s%s 0x%0*llx  %-30s %s%s\n", cur ? st->red : "", cur ? "=>" : "  ", p->w,
			addr(in, "address"), E(p, in, "bytes", ""), E(p, in, "text", ""), cur ? st->reset : "");
	}
	if (str(a, "disassembly_note"))
		fprintf(f, "  (%s)\n", E(p, a, "disassembly_note", ""));
	fputc('\n', f);
}

static void print_modules(struct printer *p, json_object *a)
{
	const struct style *st = p->st;
	json_object *mods = get(a, "modules"), *notes = get(a, "notes");
	FILE *f = p->f;

	fprintf(f, "%sModules:%s\n", st->bold, st->reset);
	for (size_t i = 0; i < len_of(mods); i++) {
		json_object *m = json_object_array_get_idx(mods, i);
		const char *status = str(m, "status") ? str(m, "status") : "?";
		bool warn = !strcmp(status, "replaced") || !strcmp(status, "missing") ||
			    !strcmp(status, "modified-in-place");

		fprintf(f, "  0x%0*llx-0x%0*llx %s  build-id %s%s  [%s%s%s]\n", p->w, addr(m, "start"), p->w,
			addr(m, "end"), E(p, m, "name", ""),
			str(m, "build_id") ? E(p, m, "build_id", "") : E(p, m, "disk_build_id", "-"),
			!str(m, "build_id") && str(m, "disk_build_id") ? " (the file's, not in the core)" : "",
			warn ? st->yellow : "", E(p, m, "status", "?"), st->reset);
	}
	if (len_of(notes)) {
		fprintf(f, "\n%sNotes:%s\n", st->bold, st->reset);
		for (size_t i = 0; i < len_of(notes); i++) {
			json_object *v = json_object_array_get_idx(notes, i);
			char *e = json_object_is_type(v, json_type_string)
					  ? ll_escape(json_object_get_string(v), (size_t)json_object_get_string_len(v), LL_ESC_FROM_JSON, 0)
					  : NULL;

			fprintf(f, "  - %s\n", e ? e : "?");
			free(e);
		}
	}
}

int ll_core_analysis_print_json(json_object *a, FILE *f, bool color)
{
	static const struct style plain = { "", "", "", "", "" };
	static const struct style ansi = { "\033[1m", "\033[1;31m", "\033[33m", "\033[2m", "\033[0m" };
	struct printer p = { .f = f, .st = color ? &ansi : &plain };
	json_object *threads = get(a, "threads");

	if (!json_object_is_type(a, json_type_object) || !f)
		return -EINVAL;
	p.w = num(a, "bits") == 32 ? 8 : 16;
	print_summary(&p, a);
	print_causes(&p, a);
	if (len_of(threads) > 0) {
		print_thread(&p, a, json_object_array_get_idx(threads, 0));
		fputc('\n', f);
	}
	print_registers(&p, a);
	print_disassembly(&p, a);
	print_other_threads(&p, a);
	print_modules(&p, a);
	core_strv_free(&p.pool);
	return ferror(f) ? -EIO : 0;
}

int ll_core_analysis_print(const struct ll_core_analysis *a, FILE *f, bool color)
{
	json_object *j;
	int r;

	if (!a || !f)
		return -EINVAL;
	j = ll_core_analysis_json(a);
	if (!j)
		return -ENOMEM;
	r = ll_core_analysis_print_json(j, f, color);
	json_object_put(j);
	return r;
}

/* A JSON string of untrusted bytes (common/escape.h: valid UTF-8 exactly,
 * other bytes as \xHH), so a hostile core cannot make the JSON invalid. */
static json_object *jstr(const char *s)
{
	return ll_json_str(s);
}

static json_object *jhex(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
	return json_object_new_string(buf);
}

static json_object *frame_json(const struct core_frame *fr)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "pc", jhex(fr->pc));
	json_object_object_add(o, "activation", json_object_new_boolean(fr->activation));
	json_object_object_add(o, "inlined", json_object_new_boolean(fr->inlined));
	json_object_object_add(o, "module", jstr(fr->module));
	json_object_object_add(o, "module_offset", fr->module ? jhex(fr->module_offset) : NULL);
	json_object_object_add(o, "function", jstr(fr->function));
	if (fr->linkage_name)
		json_object_object_add(o, "linkage_name", jstr(fr->linkage_name));
	json_object_object_add(o, "function_offset",
			       fr->have_function_offset ? jhex(fr->function_offset) : NULL);
	json_object_object_add(o, "file", jstr(fr->file));
	json_object_object_add(o, "line", fr->file ? json_object_new_int(fr->line) : NULL);
	json_object_object_add(o, "column",
			       fr->file && fr->column ? json_object_new_int(fr->column) : NULL);
	json_object_object_add(o, "note", jstr(fr->note));
	return o;
}

json_object *ll_core_analysis_json(const struct ll_core_analysis *a)
{
	json_object *o, *sig, *arr;

	if (!a)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "core", jstr(a->core_path));
	json_object_object_add(o, "core_size", json_object_new_int64((int64_t)a->core_size));
	json_object_object_add(o, "truncated", json_object_new_boolean(a->truncated));
	json_object_object_add(o, "truncated_detail", jstr(a->truncated_detail));
	json_object_object_add(o, "arch", jstr(a->arch));
	json_object_object_add(o, "bits", json_object_new_int(a->elfclass == ELFCLASS32 ? 32 : 64));
	json_object_object_add(o, "pid", json_object_new_int(a->pid));
	json_object_object_add(o, "comm", jstr(a->comm));
	json_object_object_add(o, "cmdline", jstr(a->psargs));
	json_object_object_add(o, "exe", jstr(a->exe));

	sig = json_object_new_object();
	json_object_object_add(sig, "number", json_object_new_int(a->signo));
	json_object_object_add(sig, "name", a->signo ? jstr(core_signal_name(a->signo)) : NULL);
	json_object_object_add(sig, "description", jstr(a->signal_text));
	json_object_object_add(sig, "code", a->have_siginfo ? json_object_new_int(a->si_code) : NULL);
	json_object_object_add(sig, "code_text", jstr(a->code_text));
	json_object_object_add(sig, "address", a->have_fault_addr ? jhex(a->fault_addr) : NULL);
	json_object_object_add(sig, "sender_pid",
			       a->have_siginfo && a->si_code <= 0 ? json_object_new_int(a->sender_pid) : NULL);
	json_object_object_add(sig, "sender_uid",
			       a->have_siginfo && a->si_code <= 0 ? json_object_new_int(a->sender_uid) : NULL);
	json_object_object_add(o, "signal", sig);
	json_object_object_add(o, "fault_kind", jstr(a->fault_kind));
	json_object_object_add(o, "fault", jstr(a->fault_text));
	json_object_object_add(o, "abort_message", jstr(a->abort_msg));
	json_object_object_add(o, "top_frame", jstr(a->top_frame));

	arr = json_object_new_array();
	for (size_t i = 0; i < a->ncauses; i++) {
		json_object *c = json_object_new_object();

		json_object_object_add(c, "kind", jstr(a->causes[i].kind));
		json_object_object_add(c, "title", jstr(a->causes[i].title));
		json_object_object_add(c, "detail", jstr(a->causes[i].detail));
		json_object_object_add(c, "fix", jstr(a->causes[i].fix));
		json_object_object_add(c, "hint", json_object_new_boolean(a->causes[i].hint));
		json_object_array_add(arr, c);
	}
	json_object_object_add(o, "causes", arr);

	arr = json_object_new_array();
	for (size_t i = 0; i < a->nthreads; i++) {
		const struct core_thread *t = &a->threads[i];
		json_object *to = json_object_new_object(), *fa = json_object_new_array();

		json_object_object_add(to, "tid", json_object_new_int(t->tid));
		json_object_object_add(to, "crashed", json_object_new_boolean(t->crashed));
		for (size_t j = 0; j < t->nframes; j++)
			json_object_array_add(fa, frame_json(&t->frames[j]));
		json_object_object_add(to, "frames", fa);
		json_object_object_add(to, "unwind_error", jstr(t->unwind_error));
		json_object_array_add(arr, to);
	}
	json_object_object_add(o, "threads", arr);
	json_object_object_add(o, "threads_omitted", json_object_new_int64((int64_t)a->threads_omitted));

	sig = json_object_new_object();
	for (size_t i = 0; i < a->nregs; i++)
		json_object_object_add(sig, a->regs[i].name, jhex(a->regs[i].value));
	json_object_object_add(o, "registers", sig);

	arr = json_object_new_array();
	for (size_t i = 0; i < a->ninsns; i++) {
		json_object *in = json_object_new_object();

		json_object_object_add(in, "address", jhex(a->insns[i].addr));
		json_object_object_add(in, "bytes", jstr(a->insns[i].bytes));
		json_object_object_add(in, "text", jstr(a->insns[i].text));
		json_object_object_add(in, "current", json_object_new_boolean(a->insns[i].current));
		json_object_array_add(arr, in);
	}
	json_object_object_add(o, "disassembly", arr);
	json_object_object_add(o, "disassembly_note", jstr(a->disasm_note));

	arr = json_object_new_array();
	for (size_t i = 0; i < a->nmodules; i++) {
		const struct core_module *m = &a->modules[i];
		json_object *mo = json_object_new_object();

		json_object_object_add(mo, "name", jstr(m->name));
		json_object_object_add(mo, "start", jhex(m->start));
		json_object_object_add(mo, "end", jhex(m->end));
		json_object_object_add(mo, "build_id", jstr(m->build_id));
		json_object_object_add(mo, "file", jstr(m->file));
		json_object_object_add(mo, "disk_build_id", jstr(m->disk_build_id));
		json_object_object_add(mo, "status", jstr(mod_status(m->status)));
		json_object_array_add(arr, mo);
	}
	json_object_object_add(o, "modules", arr);

	arr = json_object_new_array();
	for (size_t i = 0; i < a->notes.n; i++)
		json_object_array_add(arr, jstr(a->notes.v[i]));
	json_object_object_add(o, "notes", arr);
	return o;
}
