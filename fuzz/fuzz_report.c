/* fuzz_report.c: libFuzzer target for the crash-report reader behind
 * `lifeline symbolize < report` (src/cli/symbolize/symbolize_report.c): a
 * report or backtrace pasted from anywhere, scanned line by line for module
 * locations (`PATH+0xOFF`, `(PATH+0xOFF)`, `PATH(+0xOFF)`,
 * `PATH(func+0xOFF)`), each found module symbolized and its frames printed,
 * in text and in JSON.
 *
 * The first byte picks the format (odd: --json), the rest is the report.
 * One symbolizer cache lives across inputs (as across the lines of one
 * report), so a module the report names (the seeds name libc and the dynamic
 * loader) is indexed once. The output goes to /dev/null. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/symbolize/symbolize_cli.h"
#include "fuzz_util.h"

static struct ll_symcache *cache;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct ll_sym_opts opts = { 0 };

	(void)argc;
	(void)argv;
	fz_quiet_stdout();
	if (ll_symcache_new(&opts, &cache) < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct symctx ctx = { .cmd = "symbolize", .fmt = FMT_TEXT, .cache = cache };
	FILE *f;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		ctx.fmt = FMT_JSON;
		ctx.jarr = json_object_new_array();
	}
	f = fmemopen((void *)(data + 1), size - 1, "r");
	if (!f) {
		json_object_put(ctx.jarr);
		return 0;
	}
	sym_report_each_line(&ctx, f);
	fclose(f);
	if (ctx.jarr) {
		fputs(json_object_to_json_string_ext(ctx.jarr, JSON_C_TO_STRING_PRETTY), stdout);
		json_object_put(ctx.jarr);
	}
	fflush(stdout);
	return 0;
}
