/* symbolize_output.c: how `lifeline symbolize` prints an item.
 *
 * Three formats: the default text (a header line with address, module+offset
 * and symbol+offset, then one line per frame, innermost first, then the
 * disassembly), --addr2line (exactly what `addr2line -f -i` prints: function
 * then file:line per frame, "??" for unknowns) and --json (one object per
 * item collected into an array printed at the end). C++ names are demangled
 * (src/common/demangle.c) unless --no-demangle: in JSON the mangled name is
 * kept beside it as linkage_name (symbol_linkage_name, nearest_linkage_name)
 * when the two differ; a C name is printed as it is. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/output.h"
#include "common/demangle.h"
#include "symbolize_cli.h"
#include "cli/text.h"
#include "common/escape.h"

/* name as the user reads it: demangled unless --no-demangle. */
#define DEMANGLED(ctx, name, to_free) ll_demangle_or((name), (ctx)->demangle, (to_free))

bool sb_reserve(struct sbuf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->failed)
		return false;
	if (b->len + more < b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap <= b->len + more)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void sb_write(struct sbuf *b, const char *s, size_t n)
{
	if (!sb_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

void sb_puts(struct sbuf *b, const char *s)
{
	sb_write(b, s, strlen(s));
}

void sb_putc(struct sbuf *b, char c)
{
	if (sb_reserve(b, 1))
		b->p[b->len++] = c;
}

void sb_uint(struct sbuf *b, unsigned v)
{
	char d[12];
	size_t i = sizeof(d);

	do
		d[--i] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	sb_write(b, d + i, sizeof(d) - i);
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!sb_reserve(b, 256))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		if (!sb_reserve(b, (size_t)n + 1))
			return;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void sb_free(struct sbuf *b)
{
	free(b->p);
	*b = (struct sbuf){ 0 };
}

static void hex_bytes(const uint8_t *b, size_t n, char *out, size_t size)
{
	size_t w = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && w + 4 < size; i++)
		w += (size_t)snprintf(out + w, size - w, i ? " %02x" : "%02x", b[i]);
}

static void build_id_hex(const uint8_t *b, size_t n, char *out, size_t size)
{
	size_t w = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && w + 3 < size; i++)
		w += (size_t)snprintf(out + w, size - w, "%02x", b[i]);
}

static size_t frames_shown(const struct symctx *ctx, const struct ll_sym_result *res)
{
	return ctx->no_inline && res->nframes > 1 ? 1 : res->nframes;
}

/* Disassembly of the item, or NULL; *n set. Errors are reported once. */
static struct ll_insn *item_disasm(struct symctx *ctx, const struct sym_item *it, size_t *n,
				   const char **why)
{
	struct ll_insn *v = NULL;
	int r;

	*n = 0;
	*why = NULL;
	if (!ctx->disasm || !it->sym)
		return NULL;
	r = ll_disasm(it->sym, it->elf_addr, ctx->disasm / 2, ctx->disasm - ctx->disasm / 2 - 1, &v, n);
	if (r == -EOPNOTSUPP) {
		struct ll_sym_info info;

		ll_symbolizer_info(it->sym, &info);
		*why = info.machine == 243 /* EM_RISCV */
			       ? "no disassembler: capstone 4 has no RISC-V support"
			       : "no disassembler for this architecture in capstone";
	} else if (r < 0) {
		*why = "no code bytes at this address in the file (a debug-only file, or not in any section)";
	}
	if (*why) { /* asked for and not given: the item failed */
		char ein[256];

		out_error(ctx->cmd, "%s: disassembly: %s", ll_esc(it->input, ein, sizeof(ein)), *why);
		ctx->failed++;
	}
	return v;
}

static void print_text(struct sbuf *out, struct symctx *ctx, const struct sym_item *it, const char *indent)
{
	const struct ll_sym_result *res = it->res;
	struct ll_insn *insn;
	const char *why;
	size_t n;

	if (!indent) {
		char ein[256], emod[4096 * 4 + 8];

		sb_printf(out, "%s%s%s", OUT_BOLD, ll_esc(it->input, ein, sizeof(ein)), OUT_RESET);
		if (it->module)
			sb_printf(out, " %s+0x%" PRIx64, ll_esc(it->module, emod, sizeof(emod)), it->elf_addr);
		if (res && res->symbol) {
			char *dm;
			const char *sym = DEMANGLED(ctx, res->symbol, &dm);

			sb_printf(out, " %s+0x%" PRIx64,
				  !ll_escape_needed(sym, strlen(sym), 0) ? sym : ll_esc(sym, emod, sizeof(emod)),
				  res->symbol_offset);
			free(dm);
		} else if (res)
			sb_printf(out, " ??");
		sb_putc(out, '\n');
		indent = "    ";
	}
	if (res) {
		size_t nf = frames_shown(ctx, res);

		for (size_t i = 0; i < nf; i++) {
			const struct ll_sym_frame *f = &res->frames[i];
			char *dm;
			const char *fn = f->function ? DEMANGLED(ctx, f->function, &dm) : "??";
			const char *file = f->file ? f->file : "??";
			char efn[4096], efile[4096 * 4 + 8];

			if (!f->function)
				dm = NULL;
			/* Names come from the ELF file: escape the odd ones. */
			if (ll_escape_needed(fn, strlen(fn), 0))
				fn = ll_esc(fn, efn, sizeof(efn));
			if (ll_escape_needed(file, strlen(file), 0))
				file = ll_esc(file, efile, sizeof(efile));
			sb_printf(out, "%s%s at %s", indent, fn, file);
			if (f->line)
				sb_printf(out, ":%u", f->line);
			if (f->line && f->column)
				sb_printf(out, ":%u", f->column);
			if (i == 0 && f->discriminator)
				sb_printf(out, " (discriminator %u)", f->discriminator);
			if (f->inlined)
				sb_printf(out, " %s(inlined)%s", OUT_DIM, OUT_RESET);
			sb_putc(out, '\n');
			free(dm);
		}
		if (nf == 0 && res->symbol) {
			char *dm, esym[4096];
			const char *sym = DEMANGLED(ctx, res->symbol, &dm);

			if (ll_escape_needed(sym, strlen(sym), 0))
				sym = ll_esc(sym, esym, sizeof(esym));
			sb_printf(out, "%s%s+0x%" PRIx64 " %s(no line information: install the module's debug info)%s\n",
			       indent, sym, res->symbol_offset, OUT_DIM, OUT_RESET);
			free(dm);
		}
		if (res->truncated)
			sb_printf(out, "%s... (inline chain cut at %d frames)\n", indent, LL_SYM_MAX_FRAMES);
	}
	insn = item_disasm(ctx, it, &n, &why);
	if (why)
		sb_printf(out, "%s%sdisassembly: %s%s\n", indent, OUT_YELLOW, why, OUT_RESET);
	for (size_t i = 0; i < n; i++) {
		char bytes[3 * sizeof(insn[i].bytes) + 1];

		hex_bytes(insn[i].bytes, insn[i].size < sizeof(insn[i].bytes) ? insn[i].size : sizeof(insn[i].bytes),
			  bytes, sizeof(bytes));
		sb_printf(out, "%s%s%s0x%016" PRIx64 "  %-24s %s %s%s\n", indent, insn[i].marked ? "=> " : "   ",
		       insn[i].marked ? OUT_BOLD : "", insn[i].addr, bytes, insn[i].mnemonic, insn[i].op_str,
		       insn[i].marked ? OUT_RESET : "");
	}
	free(insn);
}

/* addr2line -f -i: "function\nfile:line" per frame. */
static void print_addr2line(struct sbuf *out, struct symctx *ctx, const struct sym_item *it)
{
	const struct ll_sym_result *res = it->res;
	size_t nf = res ? frames_shown(ctx, res) : 0;

	if (ctx->print_addr) { /* addr2line -a: the address, 16 or 8 digits */
		struct ll_sym_info info = { .is64 = true };
		uint64_t a = it->has_runtime ? it->runtime : it->elf_addr;

		if (it->sym)
			ll_symbolizer_info(it->sym, &info);
		sb_printf(out, info.is64 ? "0x%016" PRIx64 "\n" : "0x%08" PRIx64 "\n", a);
	}

	if (nf == 0) { /* addr2line names the nearest symbol, with no line */
		if (res && res->nearest) {
			char *dm;

			sb_printf(out, "%s\n%s:?\n", DEMANGLED(ctx, res->nearest, &dm),
				  res->nearest_file ? res->nearest_file : "??");
			free(dm);
		} else
			sb_printf(out, "??\n??:0\n");
		return;
	}
	for (size_t i = 0; i < nf; i++) {
		const struct ll_sym_frame *f = &res->frames[i];

		const char *fn = f->function;
		char *dm = NULL;

		if (!fn && i + 1 == nf)
			fn = res->nearest; /* addr2line falls back on the nearest symbol */
		sb_puts(out, fn ? DEMANGLED(ctx, fn, &dm) : "??"); /* addr2line -C */
		free(dm);
		sb_putc(out, '\n');
		sb_puts(out, f->file ? f->file : "??");
		sb_putc(out, ':');
		if (f->line)
			sb_uint(out, f->line);
		else
			sb_putc(out, f->file ? '?' : '0');
		/* addr2line repeats the address's discriminator on every frame. */
		if (res->frames[0].discriminator)
			sb_printf(out, " (discriminator %u)", res->frames[0].discriminator);
		sb_putc(out, '\n');
	}
}

static json_object *jhex(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_object_new_string(buf);
}

/* o[key] = the name as read (demangled), and o[linkage_key] = the mangled
 * name when it differs. */
static void json_name(const struct symctx *ctx, json_object *o, const char *key, const char *linkage_key,
		      const char *name)
{
	char *dm;

	json_object_object_add(o, key, ll_json_str(DEMANGLED(ctx, name, &dm)));
	if (dm)
		json_object_object_add(o, linkage_key, ll_json_str(name));
	free(dm);
}

static void print_json(struct symctx *ctx, const struct sym_item *it)
{
	const struct ll_sym_result *res = it->res;
	json_object *o = json_object_new_object();
	struct ll_insn *insn;
	const char *why;
	size_t n;

	json_object_object_add(o, "input", ll_json_str(it->input));
	if (it->has_runtime)
		json_object_object_add(o, "address", jhex(it->runtime));
	if (it->module) {
		json_object_object_add(o, "module", ll_json_str(it->module));
		json_object_object_add(o, "elf_address", jhex(it->elf_addr));
	}
	if (it->build_id_len) {
		char hex[2 * 64 + 1];

		build_id_hex(it->build_id, it->build_id_len, hex, sizeof(hex));
		json_object_object_add(o, "build_id", json_object_new_string(hex));
	}
	if (it->sym) {
		struct ll_sym_info info;

		ll_symbolizer_info(it->sym, &info);
		json_object_object_add(o, "arch", json_object_new_string(info.arch));
		if (info.from_cache)
			json_object_object_add(o, "index_from_cache", json_object_new_boolean(true));
		if (info.debug_path) {
			json_object_object_add(o, "debug_file", ll_json_str(info.debug_path));
			json_object_object_add(o, "debug_found_by", json_object_new_string(info.debug_how));
		}
	}
	if (res && res->symbol) {
		json_name(ctx, o, "symbol", "symbol_linkage_name", res->symbol);
		json_object_object_add(o, "symbol_offset", json_object_new_uint64(res->symbol_offset));
	} else if (res && res->nearest) {
		json_name(ctx, o, "nearest", "nearest_linkage_name", res->nearest);
		json_object_object_add(o, "nearest_offset", json_object_new_uint64(res->nearest_offset));
	}
	if (res) {
		json_object *fr = json_object_new_array();
		size_t nf = frames_shown(ctx, res);

		for (size_t i = 0; i < nf; i++) {
			const struct ll_sym_frame *f = &res->frames[i];
			json_object *jf = json_object_new_object();

			json_name(ctx, jf, "function", "linkage_name", f->function);
			json_object_object_add(jf, "file", ll_json_str(f->file));
			json_object_object_add(jf, "line", json_object_new_int64(f->line));
			json_object_object_add(jf, "column", json_object_new_int64(f->column));
			if (i == 0 && f->discriminator)
				json_object_object_add(jf, "discriminator", json_object_new_int64(f->discriminator));
			json_object_object_add(jf, "inlined", json_object_new_boolean(f->inlined));
			json_object_array_add(fr, jf);
		}
		json_object_object_add(o, "frames", fr);
	}
	insn = item_disasm(ctx, it, &n, &why);
	if (why)
		json_object_object_add(o, "disassembly_error", json_object_new_string(why));
	if (ctx->disasm && !why) {
		json_object *ja = json_object_new_array();

		for (size_t i = 0; i < n; i++) {
			json_object *ji = json_object_new_object();
			char bytes[3 * sizeof(insn[i].bytes) + 1];

			hex_bytes(insn[i].bytes, insn[i].size < sizeof(insn[i].bytes) ? insn[i].size : sizeof(insn[i].bytes),
				  bytes, sizeof(bytes));
			json_object_object_add(ji, "address", jhex(insn[i].addr));
			json_object_object_add(ji, "bytes", json_object_new_string(bytes));
			json_object_object_add(ji, "mnemonic", json_object_new_string(insn[i].mnemonic));
			json_object_object_add(ji, "operands", json_object_new_string(insn[i].op_str));
			json_object_object_add(ji, "marked", json_object_new_boolean(insn[i].marked));
			json_object_array_add(ja, ji);
		}
		json_object_object_add(o, "disassembly", ja);
	}
	free(insn);
	if (it->error)
		json_object_object_add(o, "error", ll_json_str(it->error));
	json_object_array_add(ctx->jarr, o);
}

void sym_print_item(struct sbuf *out, struct symctx *ctx, const struct sym_item *it, const char *report_indent)
{
	if (ctx->fmt == FMT_JSON)
		print_json(ctx, it);
	else if (ctx->fmt == FMT_ADDR2LINE && !report_indent)
		print_addr2line(out, ctx, it);
	else
		print_text(out, ctx, it, report_indent);
}
