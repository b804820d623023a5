/* symbolize_cli.h: private interface between the files of
 * `lifeline symbolize` (src/cli/symbolize/). */
#ifndef LL_CLI_SYMBOLIZE_H
#define LL_CLI_SYMBOLIZE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "lifeline/inspect/maps.h"
#include "lifeline/inspect/symbolize.h"

enum sym_format { FMT_TEXT, FMT_ADDR2LINE, FMT_JSON };

/* A growing output buffer (answers of a batch are formatted into memory
 * and written in input order); cheaper than stdio for millions of small
 * writes. On allocation failure it stops growing and sets failed. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};
bool sb_reserve(struct sbuf *b, size_t more);
void sb_write(struct sbuf *b, const char *s, size_t n);
void sb_puts(struct sbuf *b, const char *s);
void sb_putc(struct sbuf *b, char c);
void sb_uint(struct sbuf *b, unsigned v);
void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_free(struct sbuf *b);

struct symctx {
	const char *cmd;             /* "symbolize", for messages */
	enum sym_format fmt;
	unsigned disasm;             /* instructions to show, 0 for none */
	bool no_inline;              /* only the innermost frame */
	bool demangle;               /* C++ names demangled (not --no-demangle) */
	bool print_addr;             /* --addr2line: the address first, as addr2line -a */
	struct ll_symcache *cache;
	json_object *jarr;           /* FMT_JSON: the items */
	int failed;                  /* items that failed */
	bool out_broken;             /* stdout failed (full, closed): stop reading input */
	size_t nanswered;            /* addresses asked about */
	/* --exe */
	const char *exe;
	struct ll_symbolizer *exe_sym;
	struct ll_sym_info exe_info;
	/* --pid */
	pid_t pid;
	struct ll_maps *maps;
};

/* One answered (or failed) item, as the printers take it. */
struct sym_item {
	const char *input;           /* the text asked about */
	bool has_runtime;            /* runtime address known (--pid) */
	uint64_t runtime;
	const char *module;          /* module path, or NULL */
	const uint8_t *build_id;
	size_t build_id_len;
	uint64_t elf_addr;
	struct ll_symbolizer *sym;   /* NULL when the module could not be opened */
	const struct ll_sym_result *res; /* NULL when not symbolized */
	const char *error;           /* message for a failed item, or NULL */
};

/* symbolize_output.c: the sbuf functions above, and: print one item to out in ctx->fmt (JSON items are
 * appended to ctx->jarr instead). report_indent: in crash-report mode,
 * frames are printed under the echoed line with this indent and no header
 * line. */
void sym_print_item(struct sbuf *out, struct symctx *ctx, const struct sym_item *it, const char *report_indent);

/* cmd_symbolize.c: answer one address (parsed: sym_parse_addr()'s result
 * for text, addr its value) of --exe or --pid into out. */
void sym_one_item(struct sbuf *out, struct symctx *ctx, const char *text, int parsed, uint64_t addr,
		  struct ll_sym_result *res);
/* Parse a hex address (0x optional): 0 or -EINVAL. */
int sym_parse_addr(const char *text, uint64_t *v);

/* cmd_symbolize.c: symbolize the crash report read from f, line by line
 * (what `lifeline symbolize < report` does; also fuzz/fuzz_report.c's entry). */
void sym_report_each_line(struct symctx *ctx, FILE *f);

/* symbolize_batch.c: answer n address lines (sorted lookups, input-order output). */
/* Tune this process's heap for a large cold batch (few page faults). */
void sym_heap_setup(void);
void sym_run_batch(struct symctx *ctx, const char **texts, size_t n, struct ll_sym_result *res);

/* symbolize_report.c: find a `PATH+0xOFF`, `(PATH+0xOFF)`, `PATH(+0xOFF)` or
 * `PATH(func+0xOFF)` location in a line. On success path is copied into
 * buf, *func/func_len name the symbol of the last form (else func NULL) and
 * *off holds OFF. Returns 0, or -ENOENT when the line holds none. */
int sym_report_parse(const char *line, char *buf, size_t size, const char **func, size_t *func_len,
		     uint64_t *off);

/* Symbolize one report line of len bytes (echoed, with frames added). */
void sym_report_line(struct symctx *ctx, const char *line, size_t len);

/* Echo len bytes of a report line that is not symbolized: first is false for
 * the later pieces of a line too long to parse, last true for its end (a
 * newline follows). --json keeps the first piece only ("truncated"). */
void sym_report_passthrough(struct symctx *ctx, const char *line, size_t len, bool first, bool last);

#endif
