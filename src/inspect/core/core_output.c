/* core_output.c: the analysis rendered for a person and as JSON.
 *
 * The human form reads top-down like `coredumpctl info` followed by gdb's
 * `bt`: a summary line, the signal and the fault address explained, the
 * causes in a box (with the fix), the crashing thread's backtrace, its
 * registers, the disassembly with the faulting instruction marked, the
 * other threads, the modules with their build-ids, and remarks. The JSON
 * form (json-c) carries the same data with stable keys. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Untrusted text (everything from the core or the files it names: paths,
 * comm, the command line, glibc's abort message, function and file names,
 * and the causes and notes that quote them) is printed through E(): control
 * bytes and bidi overrides become visible escapes (core_escape()), so a
 * hostile core cannot move the cursor, recolour or reorder the terminal.
 * The escaped copies live in the pool until the print ends. */
static const char *E(struct core_strv *pool, const char *s)
{
	char *e;

	if (!s)
		return "";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			goto escape;
	return s; /* printable ASCII: nothing to do */
escape:
	e = core_escape(s);
	if (!e || core_strv_push(pool, e) < 0)
		return "?";
	return e;
}

static void print_frame(FILE *f, const struct style *st, size_t i, const struct core_frame *fr,
			unsigned elfclass, struct core_strv *pool)
{
	int w = elfclass == ELFCLASS32 ? 8 : 16;

	fprintf(f, "  #%-3zu 0x%0*llx ", i, w, (unsigned long long)fr->pc);
	if (fr->function) {
		fprintf(f, "in %s%s%s", st->bold, E(pool, fr->function), st->reset);
		if (fr->have_function_offset)
			fprintf(f, "+0x%llx", (unsigned long long)fr->function_offset);
	} else {
		fprintf(f, "in ??");
	}
	if (fr->file)
		fprintf(f, " (%s:%d)", E(pool, fr->file), fr->line);
	if (fr->inlined)
		fprintf(f, " [inlined]");
	if (fr->module)
		fprintf(f, " %s[%s+0x%llx]%s", st->dim, E(pool, fr->module),
			(unsigned long long)fr->module_offset, st->reset);
	if (fr->note)
		fprintf(f, " %s(%s)%s", st->yellow, E(pool, fr->note), st->reset);
	fputc('\n', f);
}

static void print_thread(FILE *f, const struct style *st, const struct ll_core_analysis *a,
			 const struct core_thread *t, struct core_strv *pool)
{
	fprintf(f, "%s%s %d%s%s%s:\n", st->bold, t->crashed ? "Crashing thread" : "Thread", t->tid,
		t->crashed && a->signal_text ? " (" : "",
		t->crashed && a->signal_text ? core_signal_name(a->signo) : "",
		t->crashed && a->signal_text ? ")" : "");
	fputs(st->reset, f);
	for (size_t i = 0; i < t->nframes; i++) {
		size_t j = i + 1;

		print_frame(f, st, i, &t->frames[i], a->elfclass, pool);
		/* a recursion: the same return address again and again */
		while (j < t->nframes && t->frames[j].pc == t->frames[i].pc && !t->frames[j].inlined &&
		       !t->frames[i].inlined)
			j++;
		if (j - i > 2) {
			fprintf(f, "  %s... #%zu to #%zu: the same frame as #%zu, %zu more times%s\n", st->dim,
				i + 1, j - 1, i, j - i - 1, st->reset);
			i = j - 1;
		}
	}
	if (t->nframes == 0)
		fprintf(f, "  (no frames)\n");
	if (t->unwind_error)
		fprintf(f, "  %s(%s)%s\n", st->dim, E(pool, t->unwind_error), st->reset);
}

static bool same_stack(const struct core_thread *x, const struct core_thread *y)
{
	if (x->nframes != y->nframes || x->nframes == 0)
		return false;
	for (size_t i = 0; i < x->nframes; i++)
		if (x->frames[i].pc != y->frames[i].pc)
			return false;
	return true;
}

/* The other threads; those with the same stack (a pool of idle workers)
 * are printed once, with their ids. */
static void print_other_threads(FILE *f, const struct style *st, const struct ll_core_analysis *a,
				struct core_strv *pool)
{
	bool *done = a->nthreads ? calloc(a->nthreads, sizeof(*done)) : NULL;

	for (size_t i = 1; i < a->nthreads; i++) {
		size_t same = 0;

		if (done && done[i])
			continue;
		for (size_t k = i + 1; done && k < a->nthreads; k++)
			if (!done[k] && same_stack(&a->threads[i], &a->threads[k]))
				same++;
		print_thread(f, st, a, &a->threads[i], pool);
		if (same) {
			fprintf(f, "  %s(the same stack in %zu more thread%s:", st->dim, same, same > 1 ? "s" : "");
			for (size_t k = i + 1; k < a->nthreads; k++)
				if (!done[k] && same_stack(&a->threads[i], &a->threads[k])) {
					fprintf(f, " %d", a->threads[k].tid);
					done[k] = true;
				}
			fprintf(f, ")%s\n", st->reset);
		}
		fputc('\n', f);
	}
	if (a->threads_omitted)
		fprintf(f, "... %zu more threads (not analysed: at most %u are)\n\n", a->threads_omitted,
			CORE_MAX_THREADS);
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

int ll_core_analysis_print(const struct ll_core_analysis *a, FILE *f, bool color)
{
	static const struct style plain = { "", "", "", "", "" };
	static const struct style ansi = { "\033[1m", "\033[1;31m", "\033[33m", "\033[2m", "\033[0m" };
	const struct style *st = color ? &ansi : &plain;
	struct core_strv pool = { 0 };
	struct core_strv *P = &pool;
	int w;

	if (!a || !f)
		return -EINVAL;
	w = a->elfclass == ELFCLASS32 ? 8 : 16;
	fprintf(f, "%sCore%s %s: PID %d (%s), %s%s%s\n", st->bold, st->reset, E(P, a->core_path), a->pid,
		a->comm ? E(P, a->comm) : "?", a->arch ? a->arch : "?",
		a->signal_text ? ", killed by " : "", a->signal_text ? core_signal_name(a->signo) : "");
	if (a->truncated)
		fprintf(f, "%sWARNING:%s %s\n", st->red, st->reset, E(P, a->truncated_detail));
	if (a->exe)
		fprintf(f, "  Executable: %s\n", E(P, a->exe));
	if (a->psargs && *a->psargs)
		fprintf(f, "  Command line: %s\n", E(P, a->psargs));
	if (a->signal_text)
		fprintf(f, "  Signal: %s%s%s\n", E(P, a->signal_text), a->code_text ? ", " : "",
			a->code_text ? E(P, a->code_text) : "");
	if (a->have_fault_addr)
		fprintf(f, "  Fault address: 0x%llx\n", (unsigned long long)a->fault_addr);
	if (a->have_siginfo && a->si_code <= 0 && a->sender_pid && a->sender_pid != a->pid)
		fprintf(f, "  Sent by: pid %d, uid %d\n", a->sender_pid, a->sender_uid);
	if (a->fault_text)
		print_wrapped(f, "  ", E(P, a->fault_text), 100);
	if (a->abort_msg)
		fprintf(f, "  Abort message: %s\n", E(P, a->abort_msg));
	if (a->top_frame)
		fprintf(f, "  Top frame: %s\n", E(P, a->top_frame));
	fputc('\n', f);

	for (size_t i = 0; i < a->ncauses; i++) {
		const struct core_cause *c = &a->causes[i];

		fprintf(f, "+-- %s%s --\n", c->hint ? "Hint" : "Cause", i ? " (also)" : "");
		fprintf(f, "| %s%s%s\n", c->hint ? st->yellow : st->red, E(P, c->title), st->reset);
		print_wrapped(f, "|   ", E(P, c->detail), 96);
		fprintf(f, "| %sFix:%s\n", st->bold, st->reset);
		print_wrapped(f, "|   ", E(P, c->fix), 96);
		fprintf(f, "+--\n");
	}
	if (a->ncauses == 0)
		fprintf(f, "(no cause could be named: read the backtrace and the disassembly)\n");
	fputc('\n', f);

	if (a->nthreads > 0) {
		print_thread(f, st, a, &a->threads[0], P);
		fputc('\n', f);
	}
	if (a->nregs > 0) {
		fprintf(f, "%sRegisters:%s\n", st->bold, st->reset);
		for (size_t i = 0; i < a->nregs; i++) {
			fprintf(f, "  %-8s 0x%0*llx", a->regs[i].name, w, (unsigned long long)a->regs[i].value);
			if (i % 4 == 3 || i + 1 == a->nregs)
				fputc('\n', f);
		}
		fputc('\n', f);
	}
	fprintf(f, "%sDisassembly:%s\n", st->bold, st->reset);
	for (size_t i = 0; i < a->ninsns; i++) {
		const struct core_insn *in = &a->insns[i];

		fprintf(f, "%s%s 0x%0*llx  %-30s %s%s\n", in->current ? st->red : "", in->current ? "=>" : "  ",
			w, (unsigned long long)in->addr, E(P, in->bytes), E(P, in->text),
			in->current ? st->reset : "");
	}
	if (a->disasm_note)
		fprintf(f, "  (%s)\n", E(P, a->disasm_note));
	fputc('\n', f);

	print_other_threads(f, st, a, P);
	fprintf(f, "%sModules:%s\n", st->bold, st->reset);
	for (size_t i = 0; i < a->nmodules; i++) {
		const struct core_module *m = &a->modules[i];

		fprintf(f, "  0x%0*llx-0x%0*llx %s  build-id %s%s  [%s%s%s]\n", w, (unsigned long long)m->start,
			w, (unsigned long long)m->end, E(P, m->name),
			m->build_id ? m->build_id : m->disk_build_id ? m->disk_build_id : "-",
			!m->build_id && m->disk_build_id ? " (the file's, not in the core)" : "",
			m->status == CORE_MOD_REPLACED || m->status == CORE_MOD_MISSING ||
			m->status == CORE_MOD_MODIFIED ? st->yellow : "",
			mod_status(m->status), st->reset);
	}
	if (a->notes.n) {
		fprintf(f, "\n%sNotes:%s\n", st->bold, st->reset);
		for (size_t i = 0; i < a->notes.n; i++)
			fprintf(f, "  - %s\n", E(P, a->notes.v[i]));
	}
	core_strv_free(&pool);
	return ferror(f) ? -EIO : 0;
}

/* A JSON string: the bytes as they are when they are UTF-8 (json-c escapes
 * control bytes as \u00XX), else with the bytes that are not replaced by
 * U+FFFD, so a hostile core cannot make the JSON invalid. */
static json_object *jstr(const char *s)
{
	json_object *o;
	char *v;

	if (!s)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p >= 0x80)
			goto check;
	return json_object_new_string(s);
check:
	v = core_valid_utf8(s);
	o = json_object_new_string(v ? v : "?");
	free(v);
	return o;
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
