/* lifeline/inspect/core.h: analysis of an ELF core file without gdb.
 *
 * Threads and backtraces through elfutils libdwfl (core unwinding with CFI),
 * frames symbolized like `lifeline symbolize` (function, file:line, inline
 * chain), the signal and fault address explained against the maps, the
 * registers, the disassembly around the crashing PC, and the plain-language
 * cause (NULL dereference, stack overflow, abort with glibc's message, a
 * module overwritten in place while mapped). Modules are matched by
 * build-id: a file that changed since the crash is reported, never used to
 * symbolize silently wrong. */
#ifndef LIFELINE_INSPECT_CORE_H
#define LIFELINE_INSPECT_CORE_H

#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>

struct ll_core_analysis;

/** Options for ll_core_analyze(). Zero-initialise, then set what you need. */
struct ll_core_options {
	const char *exe_hint;      /**< path of the executable, or NULL */
	/** The store's metadata record for this core (see docs/coredump-metadata.md),
	 *  or NULL. Supplies what the core lacks: the maps with the identity of
	 *  each mapped file at crash time, the process start time, the exe. */
	json_object *metadata;
	unsigned disasm_insns;     /**< instructions to show around the PC (0: 8) */
	unsigned max_frames;       /**< per thread (0: 64) */
	/** When non-NULL, receives a one-line explanation when ll_core_analyze()
	 *  fails (what is wrong with the file and what to do). */
	char *errbuf;
	size_t errbuf_size;
	/** Directory searched for debug files by build-id instead of
	 *  /usr/lib/debug (its .build-id/xx/yyyy.debug), or NULL. */
	const char *debug_dir;
};

/** Analyse the uncompressed ELF core at core_path. *out is freed with
 *  ll_core_analysis_free(). -ENOEXEC when the file is not an ELF core,
 *  -EINVAL for a truncated one that cannot be read at all (a partly
 *  truncated core is analysed as far as it goes and says so). */
int ll_core_analyze(const char *core_path, const struct ll_core_options *opts,
		    struct ll_core_analysis **out);

/** Print the analysis for a person (colour when color is true). */
int ll_core_analysis_print(const struct ll_core_analysis *a, FILE *f, bool color);

/** The analysis as a JSON object (a new reference; the caller puts it). */
json_object *ll_core_analysis_json(const struct ll_core_analysis *a);

/** The crashing thread's innermost frame as "function (file:line)" or
 *  "module+0xOFF" when unsymbolized, for list views. Points into a. */
const char *ll_core_analysis_top_frame(const struct ll_core_analysis *a);

/** The signal that ended the process (0 when the core has none). */
int ll_core_analysis_signal(const struct ll_core_analysis *a);

/** The first cause named by the analysis as a short kind ("null-deref",
 *  "stack-overflow", "abort", "assertion", "double-free", "heap-corruption",
 *  "modified-in-place", ...), or NULL when no cause could be named. */
const char *ll_core_analysis_cause(const struct ll_core_analysis *a);

/** Free an analysis. NULL is allowed. */
void ll_core_analysis_free(struct ll_core_analysis *a);

#endif
