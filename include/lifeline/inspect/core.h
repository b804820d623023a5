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

#ifdef __cplusplus
extern "C" {
#endif

struct ll_core_analysis;

/** Options for ll_core_analyze(). Zero-initialise, then set what you need. */
struct ll_core_options {
	/** Path of the executable, or NULL: used for the module whose build-id
	 *  it has (or, when the core holds no build-id nor file notes, as the
	 *  executable, marked unverified). */
	const char *exe_hint;
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
	/** Name frames with libdwfl's DWARF reading only, not the shared
	 *  symbolizer of lifeline/inspect/symbolize.h (a cross-check). */
	bool dwfl_symbols;
	/** What to call the core in the output (text "Core NAME:", JSON "core")
	 *  instead of core_path, e.g. a store id when core_path is a
	 *  /proc/self/fd/N of a decompressed copy; NULL: core_path. */
	const char *core_name;
	/** Print C++ names as they are in the files (mangled). By default
	 *  function names are demangled as c++filt does, and the JSON keeps the
	 *  mangled one as a frame's "linkage_name". */
	bool no_demangle;
};

/** Analyse the uncompressed ELF core at core_path (a path such as
 *  /proc/self/fd/N is fine). *out is freed with ll_core_analysis_free().
 *  -ENOEXEC when the file is not an ELF core, -EINVAL for a truncated one
 *  that cannot be read at all or a file that is not regular (a partly
 *  truncated core is analysed as far as it goes and says so), -errno of
 *  open(2), -ENOMEM.
 *
 *  The core may come from a hostile process. Files it names are never run
 *  and only opened when lstat(2) shows a regular file (never a FIFO or a
 *  device), without following a final symlink; each is copied (at most
 *  1 GiB, 2 GiB in all) into a sealed memfd before anything parses it, so
 *  a file truncated meanwhile cannot SIGBUS the caller. Debug files come
 *  from debug_dir (or /usr/lib/debug) by build-id only: no .gnu_debuglink
 *  to other paths, no debuginfod ($DEBUGINFOD_URLS is ignored). The work is
 *  bounded: 256 threads analysed, 16384 NT_FILE entries, 262144 segments,
 *  64 MiB of notes, 4096 modules; what was left out is said in the notes. */
int ll_core_analyze(const char *core_path, const struct ll_core_options *opts,
		    struct ll_core_analysis **out);

/** Print the analysis for a person (colour when color is true): the same
 *  as ll_core_analysis_print_json() of ll_core_analysis_json(a). */
int ll_core_analysis_print(const struct ll_core_analysis *a, FILE *f, bool color);

/** Print an analysis from its JSON form (ll_core_analysis_json(), possibly
 *  made by another process, which need not be trusted): every string is
 *  untrusted and printed escaped, once, in lifeline's one notation (control
 *  bytes, DEL and bytes that are not UTF-8 as \xHH, a backslash as \\, C1
 *  controls, bidi controls and other invisible format characters as
 *  \u{HHHH}), so a hostile core cannot drive the terminal; colour sequences
 *  (when color is true) only surround escaped text. -EINVAL when analysis
 *  is not a JSON object, -EIO when writing failed. */
int ll_core_analysis_print_json(json_object *analysis, FILE *f, bool color);

/** The analysis as a JSON object (a new reference; the caller puts it).
 *  Keys: core, core_size, truncated, truncated_detail, arch, bits (32 or
 *  64), pid, comm, cmdline, exe; signal {number, name, description, code,
 *  code_text, address, sender_pid, sender_uid}; fault_kind ("null-deref", "null-call",
 *  "stack-overflow", "not-mapped", "guard", "write-read-only",
 *  "exec-non-exec", "beyond-eof", "general-protection", "mapped"), fault
 *  (text), abort_message, top_frame; causes [{kind, title, detail, fix,
 *  hint}] (first: the most certain); threads [{tid, crashed, frames [{pc,
 *  activation, inlined, module, module_offset, function, function_offset,
 *  file, line, column, note}], unwind_error}] (the crashing thread first;
 *  at most 256), threads_omitted (threads of the core not analysed);
 *  registers {name: hex}; disassembly [{address, bytes, text, current}],
 *  disassembly_note; modules [{name, start, end, build_id (from the core),
 *  file (used for symbols), disk_build_id, status ("ok", "unverified",
 *  "debug-file-only", "replaced", "modified-in-place", "missing",
 *  "in-core")}]; notes [text]. Addresses are hex strings; unknown is null.
 *  A frame's function is demangled (C++) unless no_demangle; its
 *  "linkage_name" is then the mangled name (only when the two differ).
 *  Strings are the core's bytes: valid UTF-8 as it is (json-c writes
 *  control bytes as \u00XX), a backslash as \\ and each byte that is not
 *  UTF-8 as \xHH, so the JSON is always valid and a backslash always starts
 *  an escape. A consumer that shows them on a terminal escapes them. */
json_object *ll_core_analysis_json(const struct ll_core_analysis *a);

/** The crashing thread's innermost frame as "function (file:line)" or
 *  "module+0xOFF" when unsymbolized, for list views: the core's bytes as
 *  they are (untrusted: escape before showing). Points into a. */
const char *ll_core_analysis_top_frame(const struct ll_core_analysis *a);

/** The signal that ended the process (0 when the core has none). */
int ll_core_analysis_signal(const struct ll_core_analysis *a);

/** The first cause named by the analysis as a short kind ("null-deref",
 *  "null-call", "stack-overflow", "abort", "assertion", "double-free",
 *  "heap-corruption", "stack-smashing", "buffer-overflow", "killed", "raised",
 *  "modified-in-place", "write-read-only", "bad-jump", "bad-pointer",
 *  "overflow", "divide-error", "illegal-instruction"), or NULL when no
 *  cause could be named. */
const char *ll_core_analysis_cause(const struct ll_core_analysis *a);

/** Free an analysis. NULL is allowed. */
void ll_core_analysis_free(struct ll_core_analysis *a);

#ifdef __cplusplus
}
#endif

#endif
