/* fuzz_core.c: libFuzzer target for the core analysis behind `lifeline
 * cores info` and `list --top`: a core file (the crashing user's bytes:
 * program headers, notes, registers, memory) together with its store record
 * (JSON the helper wrote from what the process showed in /proc: its maps,
 * exe, cmdline, start time), through ll_core_analyze(), the text printer and
 * the JSON form.
 *
 * Input: the record, a NUL byte, then the core; an input not starting with
 * '{' is a core alone (no record). A seed is made with
 *   { cat core.x.json; printf '\0'; cat core.x.core; } > seed
 * Debug files are looked up in an empty directory (the fuzzer's inputs
 * decide what is read, not the machine's /usr/lib/debug); files the core or
 * the record name are opened as the analysis always does (regular files
 * only, copied into memfds). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lifeline/inspect/core.h"
#include "fuzz_util.h"

static FILE *sink;
static char core_path[4200], debug_dir[4200];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ll_core_options opts = { .max_frames = 16 };
	struct ll_core_analysis *a = NULL;
	const uint8_t *core = data, *nul;
	json_object *meta = NULL, *v;
	char err[512];
	FILE *f;

	if (!sink) {
		const char *dir = fz_scratch(NULL);

		sink = fopen("/dev/null", "we");
		snprintf(core_path, sizeof(core_path), "%s/core", dir);
		snprintf(debug_dir, sizeof(debug_dir), "%s/debug", dir);
		mkdir(debug_dir, 0700);
	}
	if (size && data[0] == '{' && (nul = memchr(data, '\0', size))) {
		char *text = strndup((const char *)data, (size_t)(nul - data));

		meta = text ? json_tokener_parse(text) : NULL;
		free(text);
		core = nul + 1;
	}
	f = fopen(core_path, "we");
	if (!f)
		abort();
	fwrite(core, 1, size - (size_t)(core - data), f);
	fclose(f);

	opts.metadata = meta && json_object_is_type(meta, json_type_object) ? meta : NULL;
	if (opts.metadata && json_object_object_get_ex(opts.metadata, "exe", &v) &&
	    json_object_is_type(v, json_type_string) && json_object_get_string(v)[0] == '/')
		opts.exe_hint = json_object_get_string(v);
	opts.errbuf = err;
	opts.errbuf_size = sizeof(err);
	opts.debug_dir = debug_dir;
	if (ll_core_analyze(core_path, &opts, &a) == 0) {
		json_object *j = ll_core_analysis_json(a);

		if (j)
			fputs(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN), sink);
		json_object_put(j);
		ll_core_analysis_print(a, sink, true);
		(void)ll_core_analysis_top_frame(a);
		(void)ll_core_analysis_signal(a);
		(void)ll_core_analysis_cause(a);
		ll_core_analysis_free(a);
	}
	json_object_put(meta);
	return 0;
}
