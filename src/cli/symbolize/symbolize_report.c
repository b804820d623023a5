/* symbolize_report.c: crash reports and backtraces through `lifeline
 * symbolize`.
 *
 * Every line is scanned for a module location: `PATH+0xOFF` (lifeline's
 * crash reporter: `#3  0x7f.. /usr/lib/libfoo.so+0x1a2b3 (foo+0x1c)`),
 * `(PATH+0xOFF)` (sanitizers), or glibc backtrace_symbols' `PATH(+0xOFF)` and
 * `PATH(func+0xOFF)`. PATH must be absolute; OFF is the ELF address in that
 * module (for the func form, relative to func's symbol). A line holding one
 * is echoed and followed by its frames; any other line passes through
 * unchanged. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/output.h"
#include "symbolize_cli.h"
#include "cli/text.h"
#include "common/escape.h"

#define FRAME_INDENT "        "

/* Parse hex digits at h; *end set past them. */
static int parse_hex(const char *h, const char **end, uint64_t *v)
{
	uint64_t x = 0;
	const char *p = h;

	while (isxdigit((unsigned char)*p)) {
		int d = isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);

		if (x >> 60)
			return -ERANGE;
		x = x << 4 | (uint64_t)d;
		p++;
	}
	if (p == h)
		return -EINVAL;
	*end = p;
	*v = x;
	return 0;
}

static bool token_end(char c)
{
	return c == '\0' || c == ')' || c == ',' || c == ']' || isspace((unsigned char)c);
}

static int copy_path(const char *from, const char *to, char *buf, size_t size)
{
	size_t n = (size_t)(to - from);

	if (n == 0 || n >= size)
		return -ENAMETOOLONG;
	memcpy(buf, from, n);
	buf[n] = '\0';
	return 0;
}

int sym_report_parse(const char *line, char *buf, size_t size, const char **func, size_t *func_len,
		     uint64_t *off)
{
	for (const char *p = strstr(line, "+0x"); p; p = strstr(p + 1, "+0x")) {
		const char *q = p, *end;
		uint64_t v;

		if (parse_hex(p + 3, &end, &v) < 0 || !token_end(*end))
			continue;
		while (q > line && !isspace((unsigned char)q[-1]) && q[-1] != '(')
			q--;
		if (*q == '/') { /* PATH+0xOFF or (PATH+0xOFF) */
			if (copy_path(q, p, buf, size) < 0)
				continue;
			*func = NULL;
			*func_len = 0;
			*off = v;
			return 0;
		}
		if (q > line && q[-1] == '(' && *end == ')') { /* PATH(func+0xOFF) */
			const char *pe = q - 1, *ps = pe;

			while (ps > line && !isspace((unsigned char)ps[-1]))
				ps--;
			if (*ps != '/' || copy_path(ps, pe, buf, size) < 0)
				continue;
			*func = p > q ? q : NULL;
			*func_len = (size_t)(p - q);
			*off = v;
			return 0;
		}
	}
	return -ENOENT;
}

static const char *open_error(int r)
{
	switch (r) {
	case -ENOENT: return "no such file (copy the module, same build, from the machine the report came from)";
	case -EACCES: return "permission denied (run as root or as the file's owner)";
	case -ENOEXEC: return "not an ELF file, or truncated or corrupt";
	case -EISDIR: return "is a directory, not an ELF file";
	case -EINVAL: return "not a regular file";
	default: return strerror(-r);
	}
}

/* Echo a line of the report: its bytes as they are (a filter changes
 * nothing it does not understand), but escaped on a terminal, where control
 * bytes would drive it. */
static void echo(const char *line, size_t len, bool newline)
{
	static int tty = -1;

	if (tty < 0)
		tty = isatty(STDOUT_FILENO);
	if (tty && ll_escape_needed(line, len, 0)) {
		char *e = ll_escape(line, len, 0, 0);

		fputs(e ? e : "?", stdout);
		free(e);
	} else {
		fwrite(line, 1, len, stdout);
	}
	if (newline)
		putchar('\n');
}

void sym_report_passthrough(struct symctx *ctx, const char *line, size_t len, bool first, bool last)
{
	if (ctx->fmt == FMT_JSON) {
		json_object *o;

		if (!first)
			return;
		o = json_object_new_object();
		json_object_object_add(o, "line", ll_json_str_len(line, len));
		if (!last)
			json_object_object_add(o, "truncated", json_object_new_boolean(true));
		json_object_array_add(ctx->jarr, o);
	} else {
		echo(line, len, last);
	}
}

static void print_frames(struct symctx *ctx, const struct sym_item *it)
{
	struct sbuf b = { 0 };

	sym_print_item(&b, ctx, it, FRAME_INDENT);
	if (b.len)
		fwrite(b.p, 1, b.len, stdout);
	sb_free(&b);
}

void sym_report_line(struct symctx *ctx, const char *line, size_t len)
{
	char path[4096], epath[1024], fname[512], efname[600], msg[4800];
	struct ll_sym_result *res = NULL;
	struct ll_symbolizer *s = NULL;
	struct sym_item it = { .input = line };
	const char *func;
	size_t flen;
	uint64_t off, addr;
	int r;

	if (sym_report_parse(line, path, sizeof(path), &func, &flen, &off) < 0) {
		sym_report_passthrough(ctx, line, len, true, true);
		return;
	}
	it.module = path;
	it.elf_addr = addr = off;
	r = ll_symcache_get(ctx->cache, path, -1, NULL, 0, &s);
	ll_esc(path, epath, sizeof(epath));
	if (r < 0) {
		snprintf(msg, sizeof(msg), "%s: %s", epath, open_error(r));
		goto fail;
	}
	it.sym = s;
	if (func) {
		uint64_t base;

		snprintf(fname, sizeof(fname), "%.*s", (int)flen, func);
		if (ll_symbolizer_find_symbol(s, fname, &base) < 0) {
			snprintf(msg, sizeof(msg), "%s: no symbol '%s' in it (install its debug info)", epath,
				 ll_esc(fname, efname, sizeof(efname)));
			goto fail;
		}
		it.elf_addr = addr = base + off;
	}
	res = malloc(sizeof(*res));
	if (!res) {
		snprintf(msg, sizeof(msg), "out of memory");
		goto fail;
	}
	if (ll_symbolize(s, addr, res) < 0) {
		struct ll_sym_info info;

		ll_symbolizer_info(s, &info);
		if (info.nsymbols == 0 && !info.has_dwarf)
			snprintf(msg, sizeof(msg), "%s+0x%" PRIx64 ": no symbols; install debug info", epath, addr);
		else
			snprintf(msg, sizeof(msg), "%s+0x%" PRIx64 ": no symbol or line information covers it",
				 epath, addr);
		goto fail;
	}
	it.res = res;
	if (ctx->fmt != FMT_JSON)
		echo(line, len, true);
	print_frames(ctx, &it);
	free(res);
	return;
fail:
	free(res);
	ctx->failed++;
	out_error(ctx->cmd, "%s", msg);
	it.error = msg;
	if (ctx->fmt == FMT_JSON)
		print_frames(ctx, &it);
	else
		echo(line, len, true);
}
