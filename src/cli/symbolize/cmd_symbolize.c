/* cmd_symbolize.c: `lifeline symbolize`: addresses (or crash report frames)
 * to function, file:line and inline frames, with optional disassembly.
 *
 *   --exe FILE ADDR...   ELF addresses of FILE (like addr2line -e FILE)
 *   --pid PID ADDR...    runtime addresses of a live process (its maps give
 *                        module, build-id and ELF address: ll_maps_resolve)
 *   (no --exe/--pid)     a crash report or backtrace on stdin or --report
 * Without ADDR arguments, addresses are read from stdin, one per line, in
 * batches of whatever is available (symbolize_batch.c answers a batch in
 * address order). Each item is answered or gets one message naming it; the
 * exit status is 1 when any item failed. Modules are opened once through an
 * ll_symcache. Printing is symbolize_output.c's, reports
 * symbolize_report.c's. Input is read in bounded memory: a line longer
 * than MAX_LINE is one bad item (addresses) or passed through unparsed
 * (reports), however long; names from the input are escaped in messages
 * (cli/text.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "symbolize_cli.h"
#include "cli/text.h"
#include "common/escape.h"

#define MAX_DEBUG_DIRS 16
#define MAX_LINE (64u << 10)
#define BATCH_BYTES (4u << 20)  /* input read and answered as one batch */
#define CACHE_MIN_BATCH 1000    /* --exe addresses that make the index worth keeping */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lifeline symbolize --exe FILE [OPTIONS] [ADDR...]\n"
		"       lifeline symbolize --pid PID [OPTIONS] [ADDR...]\n"
		"       lifeline symbolize [OPTIONS] [--report FILE] < crash-report\n\n"
		"Turn addresses into module+offset, function+offset, file:line and the chain\n"
		"of inlined frames (innermost first), from ELF symbols and DWARF (separate\n"
		"debug files found by build-id and .gnu_debuglink). Without ADDR arguments,\n"
		"addresses are read from stdin, one per line (hex, 0x optional).\n\n"
		"Without --exe or --pid, stdin (or --report FILE) is a crash report or\n"
		"backtrace: every line holding PATH+0xOFF, (PATH+0xOFF), PATH(+0xOFF) or\n"
		"PATH(func+0xOFF) is echoed with its frames added; other lines pass through.\n\n"
		"  -e, --exe FILE        addresses are ELF addresses of FILE (as addr2line -e)\n"
		"  -p, --pid PID         addresses are runtime addresses in process PID\n"
		"  -r, --report FILE     symbolize a crash report file ('-' for stdin)\n"
		"  -d, --disasm N        show N instructions around each address (capstone;\n"
		"                        the architecture comes from the ELF header)\n"
		"  -f, --addr2line       print exactly what 'addr2line -f -i -C' prints\n"
		"                        ('addr2line -f -i' with --no-demangle)\n"
		"  -a, --addresses       with --addr2line, print each address first (addr2line -a)\n"
		"  -n, --no-inline       only the innermost frame\n"
		"      --no-demangle     print C++ names as they are in the file (mangled);\n"
		"                        by default they are demangled as c++filt does\n"
		"  -D, --debug-dir DIR   extra debug root (like /usr/lib/debug), repeatable;\n"
		"                        $LIFELINE_DEBUG_DIRS adds more (colon-separated)\n"
		"  -j, --json            print JSON (an array of items)\n"
		"      --no-cache        neither read nor write the index cache\n"
		"  -h, --help            show this help\n\n"
		"A module's index is kept in the index cache after an --exe batch of 1000\n"
		"or more addresses and read back next time (same build-id and files):\n"
		"$LIFELINE_CACHE_DIR, else $XDG_CACHE_HOME/lifeline/symbolize or\n"
		"~/.cache/lifeline/symbolize.\n\n"
		"Exit status: 0 every item answered, 1 some item failed (bad address, no\n"
		"symbols, unreadable module; the others were still answered), 2 usage error.\n");
}

static void answer(struct sbuf *out, struct symctx *ctx, struct sym_item *it, struct ll_sym_result *res,
		   char *msg, size_t msize)
{
	if (it->sym && ll_symbolize(it->sym, it->elf_addr, res) == 0) {
		it->res = res;
	} else if (it->sym) {
		struct ll_sym_info info;
		char ein[128], emod[300];

		ll_esc(it->input, ein, sizeof(ein));
		ll_esc(it->module, emod, sizeof(emod));
		ll_symbolizer_info(it->sym, &info);
		if (info.nsymbols == 0 && !info.has_dwarf)
			snprintf(msg, msize, "%s: %s+0x%" PRIx64 ": no symbols; install debug info (or add --debug-dir)",
				 ein, emod, it->elf_addr);
		else
			snprintf(msg, msize, "%s: %s+0x%" PRIx64 ": no symbol or line information covers it",
				 ein, emod, it->elf_addr);
		it->res = res; /* empty: prints ?? */
		it->error = msg;
	}
	if (it->error) {
		ctx->failed++;
		out_error(ctx->cmd, "%s", it->error);
	}
	sym_print_item(out, ctx, it, NULL);
}

/* Hex address, 0x optional (what addr2line takes); strict, no overflow. */
int sym_parse_addr(const char *text, uint64_t *v)
{
	const char *p = text;
	uint64_t x = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	if (!*p || strlen(p) > 16)
		return -EINVAL;
	for (; *p; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
			d = (unsigned)((*p | 0x20) - 'a' + 10);
		else
			return -EINVAL;
		x = x << 4 | d;
	}
	*v = x;
	return 0;
}

/* One address of --exe; parsed is sym_parse_addr()'s result for text, addr its value. */
static void item_exe(struct sbuf *out, struct symctx *ctx, const char *text, int parsed, uint64_t addr,
		     struct ll_sym_result *res)
{
	struct sym_item it = { .input = text, .module = ctx->exe, .elf_addr = addr };
	char msg[600], ein[256];

	if (parsed < 0) {
		snprintf(msg, sizeof(msg), "'%s': not an address (give hex, e.g. 0x1139)",
			 ll_esc(text, ein, sizeof(ein)));
		it.module = NULL;
		it.error = msg;
	} else {
		it.sym = ctx->exe_sym;
		it.build_id = ctx->exe_info.build_id;
		it.build_id_len = ctx->exe_info.build_id_len;
	}
	answer(out, ctx, &it, res, msg, sizeof(msg));
}

/* One address of --pid (see item_exe). */
static void item_pid(struct sbuf *out, struct symctx *ctx, const char *text, int parsed, uint64_t addr,
		     struct ll_sym_result *res)
{
	struct sym_item it = { .input = text, .runtime = addr };
	struct ll_addr_info info;
	char msg[600], ein[256], epath[300];
	int r, fd = -1;

	if (parsed < 0) {
		snprintf(msg, sizeof(msg), "'%s': not an address (give hex, e.g. 0x7f12345678)",
			 ll_esc(text, ein, sizeof(ein)));
		it.error = msg;
		goto out;
	}
	it.has_runtime = true;
	r = ll_maps_resolve(ctx->maps, it.runtime, &info);
	if (r == -ENOENT) {
		snprintf(msg, sizeof(msg), "%s: outside every mapping of process %d", text, (int)ctx->pid);
		it.error = msg;
		goto out;
	}
	if (r < 0) {
		const struct ll_map *m = ll_maps_find(ctx->maps, it.runtime);

		snprintf(msg, sizeof(msg), "%s: in %s, which is not an ELF module (%s)", text,
			 m && m->path ? ll_esc(m->path, epath, sizeof(epath)) : "an anonymous mapping",
			 m ? ll_map_kind_name(m->kind) : "no mapping");
		it.error = msg;
		goto out;
	}
	it.module = info.path;
	it.elf_addr = info.elf_addr;
	it.build_id = info.build_id;
	it.build_id_len = info.build_id_len;
	if (info.map && info.map->deleted) { /* the file is gone: read the mapping's own */
		char mf[96];

		snprintf(mf, sizeof(mf), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)ctx->pid,
			 info.map->start, info.map->end);
		fd = open(mf, O_RDONLY | O_CLOEXEC);
	}
	r = ll_symcache_get(ctx->cache, info.path, fd, info.build_id, info.build_id_len, &it.sym);
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "%s: %s: %s", text, ll_esc(info.path, epath, sizeof(epath)),
			 r == -ESTALE ? "the file on disk is not the build the process runs (build-id differs): it was replaced"
			 : r == -ENOENT ? "module file not found"
			 : r == -ENOEXEC ? "not an ELF file, or truncated or corrupt"
			 : strerror(-r));
		it.error = msg;
	}
out:
	answer(out, ctx, &it, res, msg, sizeof(msg));
}

/* A crash report, line by line: each line is echoed (with frames) at once.
 * Memory is bounded: a line longer than MAX_LINE is passed through in
 * pieces, unparsed (no frame is that long), however long it is. */
void sym_report_each_line(struct symctx *ctx, FILE *f)
{
	struct stat st;
	bool flush = fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode);
	char *line = malloc(MAX_LINE + 1);
	size_t len = 0;
	bool cut = false; /* inside a line longer than MAX_LINE */
	int ch = 0;

	if (!line) {
		out_error(ctx->cmd, "out of memory reading the report");
		ctx->failed++;
		return;
	}
	while (ch != EOF) {
		ch = getc_unlocked(f);
		if (ch != EOF && ch != '\n') {
			line[len++] = (char)ch;
			if (len < MAX_LINE)
				continue;
		}
		if (ch == EOF && len == 0 && !cut)
			break;
		line[len] = '\0';
		if (cut || len == MAX_LINE)
			sym_report_passthrough(ctx, line, len, !cut, ch == '\n' || ch == EOF);
		else
			sym_report_line(ctx, line, len);
		cut = len == MAX_LINE && ch != '\n' && ch != EOF;
		len = 0;
		if (flush && ctx->fmt != FMT_JSON && (ch == '\n' || ch == EOF))
			fflush(stdout);
	}
	if (ferror(f)) {
		out_error(ctx->cmd, "reading the report: %s", strerror(errno));
		ctx->failed++;
	}
	free(line);
}

/* --report FILE: a regular file or a pipe (`--report <(cmd)`, a FIFO);
 * opened without blocking, so a FIFO nobody writes to does not hang us.
 * Returns the stream, or NULL after printing why. */
static FILE *open_report(struct symctx *ctx, const char *path)
{
	char epath[300];
	struct stat st;
	int fd, fl;
	FILE *f;

	ll_esc(path, epath, sizeof(epath));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		out_error(ctx->cmd, "--report %s: %s", epath,
			  errno == ENOENT ? "no such file; check the path"
			  : errno == EACCES ? "permission denied; run as the file's owner or root"
			  : errno == ELOOP ? "a symbolic link loop"
			  : strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
		out_error(ctx->cmd, "--report %s: %s", epath,
			  S_ISDIR(st.st_mode) ? "is a directory; give the crash report file"
					      : "not a regular file or a pipe; give the crash report file "
						"('-' reads stdin)");
		close(fd);
		return NULL;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	f = fdopen(fd, "r");
	if (!f) {
		out_error(ctx->cmd, "--report %s: %s", epath, strerror(errno));
		close(fd);
	}
	return f;
}

void sym_one_item(struct sbuf *out, struct symctx *ctx, const char *text, int parsed, uint64_t addr,
		  struct ll_sym_result *res)
{
	if (ctx->exe)
		item_exe(out, ctx, text, parsed, addr, res);
	else
		item_pid(out, ctx, text, parsed, addr, res);
}

/* Split buf[0..len) into trimmed, non-empty lines and answer them. */
static void address_lines(struct symctx *ctx, char *buf, size_t len, struct ll_sym_result *res)
{
	const char **texts = NULL;
	size_t n = 0, cap = 0;
	char *p = buf, *end = buf + len;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *e = nl ? nl : end, *s = p;

		p = nl ? nl + 1 : end;
		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (e == s)
			continue;
		if ((size_t)(e - s) > MAX_LINE)
			e = s + MAX_LINE;
		*e = '\0';
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			const char **t = realloc(texts, ncap * sizeof(*t));

			if (!t) {
				out_error(ctx->cmd, "out of memory reading addresses");
				ctx->failed++;
				break;
			}
			texts = t;
			cap = ncap;
		}
		texts[n++] = s;
	}
	sym_run_batch(ctx, texts, n, res);
	free(texts);
}

/* Addresses on fd, one per line. Whatever is available is read (up to
 * BATCH_BYTES) and answered as one batch; a short read (a terminal, a pipe
 * whose writer waits for answers) ends a batch, so line-by-line use works. */
static void each_address_line(struct symctx *ctx, int fd, struct ll_sym_result *res)
{
	struct stat st;
	bool flush = fstat(fd, &st) == 0 && !S_ISREG(st.st_mode);
	size_t cap = BATCH_BYTES + 1, len = 0;
	char *buf = malloc(cap);
	bool eof = false, skip = false; /* skip: the rest of an over-long line */

	if (!buf) {
		out_error(ctx->cmd, "out of memory reading addresses");
		ctx->failed++;
		return;
	}
	while (!eof && !ctx->out_broken) {
		size_t want = cap - 1 - len, upto;
		ssize_t r = read(fd, buf + len, want);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			out_error(ctx->cmd, "reading addresses from stdin: %s", strerror(errno));
			ctx->failed++;
			break;
		}
		if (r == 0)
			eof = true;
		if (skip) { /* drop what is left of a line already answered */
			char *nl = memchr(buf + len, '\n', (size_t)r);

			if (!nl)
				continue;
			memmove(buf + len, nl + 1, (size_t)(buf + len + r - nl - 1));
			r = buf + len + r - nl - 1;
			skip = false;
		}
		len += (size_t)r;
		if (!eof && (size_t)r == want && len < cap - 1)
			continue;
		/* Answer the complete lines; keep a partial last line. */
		upto = len;
		if (!eof) {
			char *nl = memrchr(buf, '\n', len);

			if (nl)
				upto = (size_t)(nl - buf) + 1;
			else if (len < cap - 1)
				continue; /* a partial line: wait for its end */
			else
				skip = true; /* a line longer than the buffer: answer its start once */
		}
		address_lines(ctx, buf, upto, res);
		memmove(buf, buf + upto, len - upto);
		len -= upto;
		if (flush && ctx->fmt != FMT_JSON)
			fflush(stdout);
	}
	free(buf);
}

static int open_exe(struct symctx *ctx)
{
	int r = ll_symcache_get(ctx->cache, ctx->exe, -1, NULL, 0, &ctx->exe_sym);
	char epath[300];

	ll_esc(ctx->exe, epath, sizeof(epath));
	if (r < 0) {
		out_error(ctx->cmd, "%s: %s", epath,
			  r == -ENOENT ? "no such file"
			  : r == -ENOEXEC ? "not an ELF file, or truncated or corrupt"
			  : r == -EACCES ? "permission denied"
			  : r == -EISDIR ? "is a directory"
			  : r == -EINVAL ? "not a regular file (give the ELF file itself)"
			  : r == -ELOOP ? "a symbolic link loop"
			  : r == -ENAMETOOLONG ? "path too long"
			  : strerror(-r));
		return r;
	}
	ll_symbolizer_info(ctx->exe_sym, &ctx->exe_info);
	if (ctx->exe_info.nsymbols == 0 && !ctx->exe_info.has_dwarf)
		out_error(ctx->cmd, "%s: no symbols; install debug info (or add --debug-dir); showing module offsets only",
			  epath);
	return 0;
}

static int open_pid(struct symctx *ctx)
{
	int r = ll_maps_read(ctx->pid, 0, &ctx->maps);

	if (r == 0 && ctx->maps->n == 0) {
		out_error(ctx->cmd, "process %d has no memory mappings (a kernel thread, or a zombie or exiting "
				    "process): it has no addresses to symbolize", (int)ctx->pid);
		return -ESRCH;
	}
	if (r < 0)
		out_error(ctx->cmd, "process %d: %s", (int)ctx->pid,
			  r == -ESRCH || r == -ENOENT ? "no such process"
			  : r == -EACCES || r == -EPERM ? "permission denied (run as root or as its owner)"
			  : strerror(-r));
	return r;
}

int cmd_symbolize(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "exe", required_argument, NULL, 'e' },
		{ "pid", required_argument, NULL, 'p' },
		{ "report", required_argument, NULL, 'r' },
		{ "disasm", required_argument, NULL, 'd' },
		{ "addr2line", no_argument, NULL, 'f' },
		{ "no-inline", no_argument, NULL, 'n' },
		{ "no-demangle", no_argument, NULL, 'M' },
		{ "addresses", no_argument, NULL, 'a' },
		{ "debug-dir", required_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "no-cache", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct symctx ctx = { .cmd = "symbolize", .fmt = FMT_TEXT, .demangle = true };
	const char *dirs[MAX_DEBUG_DIRS + 1] = { NULL };
	struct ll_sym_opts opts = { .debug_dirs = dirs, .flags = LL_SYM_CACHE };
	struct ll_sym_result *res = NULL;
	const char *report = NULL, *pid_arg = NULL;
	size_t ndirs = 0;
	int c, rc = LL_EXIT_FAIL;
	uint64_t v;
	char ebuf[256];
	struct stat dst;

	unsigned closed = cli_std_fds(); /* a module opened as fd 0 would be read as input */

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":e:p:r:d:fanD:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'e': ctx.exe = optarg; break;
		case 'p': pid_arg = optarg; break;
		case 'r': report = optarg; break;
		case 'd':
			if (ll_parse_u64(optarg, 0, &v) < 0 || v == 0 || v > 2000) {
				out_error(ctx.cmd, "--disasm '%s': give a count of instructions, 1 to 2000",
					  ll_esc(optarg, ebuf, sizeof(ebuf)));
				return LL_EXIT_USAGE;
			}
			ctx.disasm = (unsigned)v;
			break;
		case 'f': ctx.fmt = FMT_ADDR2LINE; break;
		case 'n': ctx.no_inline = true; break;
		case 'M': ctx.demangle = false; break;
		case 'a': ctx.print_addr = true; break;
		case 'D':
			if (ndirs == MAX_DEBUG_DIRS) {
				out_error(ctx.cmd, "at most %d --debug-dir options", MAX_DEBUG_DIRS);
				return LL_EXIT_USAGE;
			}
			if (stat(optarg, &dst) < 0 || !S_ISDIR(dst.st_mode)) {
				bool missing = access(optarg, F_OK) < 0;

				out_error(ctx.cmd, "--debug-dir %s: %s; give a directory of debug files (like "
					  "/usr/lib/debug)", ll_esc(optarg, ebuf, sizeof(ebuf)),
					  missing ? "no such directory" : "not a directory");
				return LL_EXIT_USAGE;
			}
			dirs[ndirs++] = optarg;
			break;
		case 'j': ctx.fmt = FMT_JSON; break;
		case 'C': opts.flags &= ~(unsigned)LL_SYM_CACHE; break;
		case 'h': usage(stdout); return LL_EXIT_OK;
		default: return cli_opt_error(ctx.cmd, c, argv, longopts);
		}
	}
	if ((ctx.exe && !*ctx.exe) || (report && !*report)) {
		out_error(ctx.cmd, "%s: the path is empty; give a file", ctx.exe && !*ctx.exe ? "--exe" : "--report");
		return LL_EXIT_USAGE;
	}
	if ((closed & 1) && optind == argc && (!report || !strcmp(report, "-"))) {
		out_error(ctx.cmd, "stdin is closed: give the addresses as arguments, pipe them in, or give "
				   "--report FILE");
		return LL_EXIT_USAGE;
	}
	if (ctx.exe && pid_arg) {
		out_error(ctx.cmd, "give --exe or --pid, not both");
		return LL_EXIT_USAGE;
	}
	if (report && (ctx.exe || pid_arg || optind < argc)) {
		out_error(ctx.cmd, "--report takes no --exe, --pid or addresses: the report names its modules");
		return LL_EXIT_USAGE;
	}
	if (!ctx.exe && !pid_arg && optind < argc) {
		out_error(ctx.cmd, "addresses need --exe FILE (ELF addresses) or --pid PID (runtime addresses)");
		return LL_EXIT_USAGE;
	}
	if (pid_arg && ll_parse_pid(pid_arg, &ctx.pid) < 0) {
		out_error(ctx.cmd, "--pid '%s': not a process id; give a positive decimal number (see 'ps -e')",
			  ll_esc(pid_arg, ebuf, sizeof(ebuf)));
		return LL_EXIT_USAGE;
	}
	sym_heap_setup();
	if (ll_symcache_new(&opts, &ctx.cache) < 0 || !(res = malloc(sizeof(*res))) ||
	    (ctx.fmt == FMT_JSON && !(ctx.jarr = json_object_new_array()))) {
		out_error(ctx.cmd, "out of memory");
		goto out;
	}
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	if (ctx.exe || pid_arg) {
		if ((ctx.exe ? open_exe(&ctx) : open_pid(&ctx)) < 0)
			goto out;
		if (ctx.exe && ctx.exe_info.nsymbols == 0 && !ctx.exe_info.has_dwarf)
			ctx.failed++;
		if (optind < argc)
			sym_run_batch(&ctx, (const char **)argv + optind, (size_t)(argc - optind), res);
		else
			each_address_line(&ctx, STDIN_FILENO, res);
	} else if (report && strcmp(report, "-")) {
		FILE *f = open_report(&ctx, report);

		if (!f)
			goto out;
		sym_report_each_line(&ctx, f);
		fclose(f);
	} else {
		sym_report_each_line(&ctx, stdin);
	}
	/* A big batch paid for the index: keep it for next time. */
	if (ctx.exe_sym && ctx.nanswered >= CACHE_MIN_BATCH && (opts.flags & LL_SYM_CACHE))
		(void)ll_symbolizer_save_cache(ctx.exe_sym, ll_symcache_opts(ctx.cache));
	if (ctx.fmt == FMT_JSON) {
		out_json(ctx.jarr);
		ctx.jarr = NULL;
	}
	rc = ctx.failed ? LL_EXIT_FAIL : LL_EXIT_OK;
out:
	if (fflush(stdout) != 0 && rc == LL_EXIT_OK) {
		out_error(ctx.cmd, "writing the output: %s", strerror(errno));
		rc = LL_EXIT_FAIL;
	}
	if (ctx.jarr)
		json_object_put(ctx.jarr);
	ll_maps_free(ctx.maps);
	ll_symcache_free(ctx.cache);
	free(res);
	return rc;
}
