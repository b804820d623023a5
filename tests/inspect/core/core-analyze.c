/* core-analyze.c: a small driver of ll_core_analyze() for the tests and for
 * looking at an analysis by hand:
 *   core-analyze [--json] [--dwfl] [--exe FILE] [--metadata FILE.json] CORE */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "lifeline/inspect/core.h"

int main(int argc, char **argv)
{
	struct ll_core_options o = { 0 };
	struct ll_core_analysis *a = NULL;
	json_object *meta = NULL;
	char err[512] = "";
	int json = 0, i, r;

	for (i = 1; i < argc - 1; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--dwfl") == 0)
			o.dwfl_symbols = true;
		else if (strcmp(argv[i], "--exe") == 0 && i + 2 < argc)
			o.exe_hint = argv[++i];
		else if (strcmp(argv[i], "--metadata") == 0 && i + 2 < argc)
			meta = json_object_from_file(argv[++i]);
		else
			break;
	}
	if (i != argc - 1) {
		fprintf(stderr, "usage: core-analyze [--json] [--dwfl] [--exe FILE] [--metadata FILE] CORE\n");
		return 2;
	}
	o.metadata = meta;
	o.errbuf = err;
	o.errbuf_size = sizeof(err);
	r = ll_core_analyze(argv[i], &o, &a);
	if (r < 0) {
		fprintf(stderr, "core-analyze: %s (%s)\n", err, strerror(-r));
		json_object_put(meta);
		return 1;
	}
	if (json) {
		json_object *j = ll_core_analysis_json(a);

		puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(j);
	} else {
		ll_core_analysis_print(a, stdout, false);
	}
	ll_core_analysis_free(a);
	json_object_put(meta);
	return 0;
}
