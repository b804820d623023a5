/* cores_analyze.h: the analysis of a stored core for `lifeline cores`, run
 * without root's rights when the core is another user's (cores_analyze.c). */
#ifndef LL_CLI_CORES_ANALYZE_H
#define LL_CLI_CORES_ANALYZE_H

#include <stdbool.h>
#include <json-c/json.h>

#include "lifeline/store.h"

/* What an analysis gave. */
struct cores_analysis {
	json_object *json;     /* ll_core_analysis_json(), or NULL */
	char *top;             /* the innermost frame, or NULL */
	char err[256];         /* why there is none */
	int uid;               /* the uid the analysis ran as */
};

/* Analyse e's core: in a child as the crash's uid when we are root and the
 * crash is not root's, else in-process. Returns 0, or -1 with o->err set.
 * Free o with cores_analysis_free() in both cases. */
int cores_analyze(int storefd, const struct ll_store_entry *e, struct cores_analysis *o);

void cores_analysis_free(struct cores_analysis *o);

/* Whether the analyses of this run demangle C++ names (the default; false
 * for --no-demangle). */
void cores_analyze_demangle(bool on);

/* `lifeline cores __analyze [--no-demangle] [--exe PATH]`: the child's
 * side (core on fd 3, record on fd 4); prints one JSON object. */
int cores_analyze_child(int argc, char **argv);

#endif
