/* core_internal.h: private structures of the core analysis (src/inspect/core).
 *
 * The analysis runs in stages, each in its own file:
 *   core_file.c      the ELF core itself: program headers, notes (threads,
 *                    siginfo, NT_FILE, auxv, psinfo), memory reads, truncation
 *   core_sniff.c     the modules found in the core's memory (ELF headers),
 *                    reported to libdwfl without opening any file
 *   core_modules.c   libdwfl: modules matched by build-id
 *   core_safefile.c  files named by the core: regular files only, copied
 *                    into sealed memfds before anything parses them
 *   core_unwind.c    libdwfl: threads and frames
 *   core_symbolize.c function, file:line, inline chain, disassembly (capstone);
 *                    the one file to swap for the shared symbolizer
 *   core_regions.c   the address map at crash time (core + metadata)
 *   core_fault.c     the signal explained, the fault address classified
 *   core_cause.c     the causes named (abort message, overwritten module...)
 *   core_output.c    the human and the JSON renderings
 *   core.c           ll_core_analyze() driving the stages
 * Every string here is malloc'ed and owned by the struct holding it. */
#ifndef LL_INSPECT_CORE_INTERNAL_H
#define LL_INSPECT_CORE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <gelf.h>
#include <elfutils/libdwfl.h>
#include <json-c/json.h>

#include "lifeline/inspect/core.h"

/* Bounds on what a core (written by a process that may be hostile) can make
 * the analysis do: threads unwound, NT_FILE entries and PT_LOAD segments
 * read, bytes of notes, size of a file named by the core that is read. */
#define CORE_MAX_THREADS 256u
#define CORE_MAX_NT_FILE 16384u
#define CORE_MAX_SEGMENTS 262144u /* vm.max_map_count of big JVM hosts */
#define CORE_MAX_NOTE_BYTES (64u << 20)
#define CORE_MAX_FILE_BYTES (1ull << 30)
#define CORE_MAX_COPY_BYTES (2ull << 30) /* all files of one analysis */
#define CORE_MAX_MODULES 4096u

/* A growable array of strings. */
struct core_strv {
	char **v;
	size_t n;
};

/* A PT_LOAD segment of the core: the process memory it holds. */
struct core_seg {
	uint64_t vaddr, memsz;  /* the VMA */
	uint64_t offset, filesz; /* where its dumped bytes are in the core */
	uint64_t avail;          /* bytes of filesz really present in the file */
	unsigned flags;          /* PF_R/PF_W/PF_X */
};

/* An NT_FILE entry: a file mapping at crash time. */
struct core_nt_file {
	uint64_t start, end, file_offset;
	char *path;
};

/* A thread's NT_PRSTATUS. */
struct core_prstatus {
	int tid;
	int cursig;
	uint64_t regs[40];
	unsigned nregs;
};

/* One mapping of the address space at crash time, from the core's program
 * headers, named by NT_FILE, refined by the metadata's maps when given. */
struct core_region {
	uint64_t start, end, offset;
	unsigned perms;          /* LL_PERM_* bits (maps.h) */
	char *path;              /* file path or "[stack]"-style name, or NULL */
	uint64_t inode;          /* from metadata, 0 otherwise */
	bool deleted;
	bool have_stat;          /* metadata "file": the file's stat at crash time */
	uint64_t file_inode, file_size;
	double file_mtime;
	char *file_build_id;     /* hex, the file's build-id at crash time, or NULL */
};

/* One frame of a backtrace; inline frames share the pc of their caller. */
struct core_frame {
	uint64_t pc;             /* as unwound */
	bool activation;         /* pc is where execution was (not a return address) */
	bool inlined;            /* an inlined call inside the next frame */
	char *module;            /* module name, or NULL */
	uint64_t module_offset;  /* pc - module start, if module */
	char *function;          /* or NULL; demangled unless opts->no_demangle */
	char *linkage_name;      /* the mangled name when function is demangled, or NULL */
	uint64_t function_offset;
	bool have_function_offset;
	char *file;              /* source file, or NULL */
	int line, column;
	char *note;              /* why it is not symbolized, or NULL */
};

struct core_thread {
	int tid;
	bool crashed;
	struct core_frame *frames;
	size_t nframes;
	char *unwind_error;      /* why unwinding stopped early, or NULL */
};

enum core_mod_status {
	CORE_MOD_OK,             /* file found, build-id matches */
	CORE_MOD_UNVERIFIED,     /* file used, the core does not record a build-id */
	CORE_MOD_DEBUG_ONLY,     /* only a separate debug file (by build-id) */
	CORE_MOD_REPLACED,       /* the file's build-id differs: not used */
	CORE_MOD_MISSING,        /* no file found */
	CORE_MOD_IN_CORE,        /* the image is in the core itself (vdso) */
	CORE_MOD_MODIFIED,       /* modified in place while mapped: not used */
};

struct core_module {
	char *name;
	uint64_t start, end;
	char *build_id;          /* hex, from the core's memory, or NULL */
	char *file;              /* file used for symbols, or NULL */
	char *disk_build_id;     /* build-id of the file now at name, when it differs */
	enum core_mod_status status;
	Dwfl_Module *mod;        /* valid while the Dwfl lives */
};

struct core_cause {
	char *kind;              /* "null-deref", "stack-overflow", ... */
	char *title;             /* one line */
	char *detail;            /* what happened, plainly */
	char *fix;               /* what to do */
	bool hint;               /* a guess from today's state, not a fact of the crash */
};

struct core_insn {
	uint64_t addr;
	char bytes[64];          /* hex */
	char text[160];          /* mnemonic and operands */
	bool current;            /* the crashing instruction */
};

struct core_reg {
	const char *name;        /* static string */
	uint64_t value;
};

struct ll_core_analysis {
	char *core_path;
	uint64_t core_size;
	bool truncated;
	char *truncated_detail;
	unsigned machine;        /* e_machine */
	unsigned elfclass;       /* ELFCLASS32 or ELFCLASS64 */
	const char *arch;        /* static name */
	int pid;
	char *comm, *psargs, *exe;

	/* the signal */
	int signo, si_code, si_errno;
	bool have_siginfo;
	uint64_t fault_addr;
	bool have_fault_addr;       /* the signal carries a fault address */
	int sender_pid, sender_uid;      /* sender, for SI_USER/SI_TKILL/SI_QUEUE */
	char *signal_text;       /* "SIGSEGV (segmentation fault)" */
	char *code_text;         /* "SEGV_MAPERR: address not mapped to object" */
	char *fault_kind;        /* "null-deref", "not-mapped", ... or NULL */
	char *fault_text;        /* the fault address explained */
	char *abort_msg;         /* glibc's __abort_msg, or NULL */

	struct core_thread *threads;
	size_t nthreads;
	size_t threads_omitted;  /* threads in the core beyond CORE_MAX_THREADS */
	struct core_module *modules;
	size_t nmodules;
	struct core_cause *causes;
	size_t ncauses;
	struct core_reg regs[48];
	size_t nregs;
	struct core_insn *insns;
	size_t ninsns;
	char *disasm_note;       /* why there is no disassembly, or NULL */
	struct core_region *regions;
	size_t nregions;
	struct core_strv notes;  /* remarks: replaced modules, unwinding limits */
	char *top_frame;
};

/* A file named by the core, copied into a sealed memfd (core_safefile.c). */
struct core_copy {
	char *path;
	int fd;                  /* the memfd, or -errno when it could not be had */
};

/* A module found in the core's memory (core_sniff.c). */
struct core_sniffed {
	uint64_t start, end;     /* the module's span */
	uint64_t image;          /* address of its ELF header */
	uint64_t image_size;     /* bytes of its file image from there (0: unknown) */
};

/* The state of one analysis run, freed when ll_core_analyze() returns. */
struct core_ctx {
	struct ll_core_analysis *a;
	const struct ll_core_options *opts;
	int fd;
	Elf *elf;
	Dwfl *dwfl;
	struct core_seg *segs;
	size_t nsegs;
	bool segs_sorted;          /* by address, not overlapping: binary search */
	struct core_nt_file *files;
	size_t nfiles;
	struct core_prstatus *prs;  /* the first CORE_MAX_THREADS threads */
	size_t nprs;
	size_t nprs_total;         /* NT_PRSTATUS notes in the core */
	size_t nfiles_total;       /* NT_FILE entries in the core */
	size_t nsegs_total;        /* PT_LOAD headers in the core */
	uint64_t *auxv;          /* pairs */
	size_t nauxv;
	unsigned char exe_hint_build_id[64];
	size_t exe_hint_build_id_len;
	Dwfl_Callbacks callbacks;  /* must outlive dwfl */
	char *debuginfo_path;
	char *debug_dir;
	struct core_strv tainted;  /* files modified in place while mapped */
	struct core_strv unverified; /* files reported without a build-id check */
	struct core_copy *copies;  /* files named by the core, read into memfds */
	size_t ncopies;
	uint64_t copied;           /* their bytes (CORE_MAX_COPY_BYTES in all) */
	bool copy_budget_said;
	void **images;             /* module images read from the core (elf_memory) */
	size_t nimages;
	struct core_sniffed *sniffed;
	size_t nsniffed;
	bool msb;                  /* the core is big-endian */
	struct ll_symcache *symcache; /* the shared symbolizer's modules */
	const char *sym_dirs[2];   /* its debug roots */
	size_t thread_index;       /* while unwinding */
	size_t phys_frames;
	bool stopped;              /* the frame callback ended the walk itself */
	bool stopped_threads;      /* CORE_MAX_THREADS reached */
	uint64_t note_bytes;       /* bytes of notes read (CORE_MAX_NOTE_BYTES in all) */
};

/* ---- helpers (core.c) ---- */
char *core_strdup(const char *s);
char *core_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int core_strv_push(struct core_strv *sv, char *s);  /* takes s */
int core_strv_pushf(struct core_strv *sv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void core_strv_free(struct core_strv *sv);
void core_set_error(const struct ll_core_options *opts, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *core_hex(const unsigned char *b, size_t n);
/* Free what a frame owns (its strings), not the frame. */
void core_frame_free(struct core_frame *f);

/* ---- core_file.c ---- */
/* Open and validate the core, read program headers and notes. Errors name
 * the core as c->a->core_path (its name in the output). */
int core_file_open(struct core_ctx *c, const char *path);
/* Read n bytes of process memory at addr from the core; returns the count read
 * (short at the end of dumped data), 0 when nothing is there. */
size_t core_read_mem(const struct core_ctx *c, uint64_t addr, void *buf, size_t n);
/* A NUL-terminated string at addr (at most max bytes), malloc'ed, or NULL. */
char *core_read_string(const struct core_ctx *c, uint64_t addr, size_t max);
/* The NT_FILE entry whose mapping holds addr (binary search), or NULL. */
const struct core_nt_file *core_nt_file_at(const struct core_ctx *c, uint64_t addr);
/* An auxv value, or 0. */
uint64_t core_auxv(const struct core_ctx *c, uint64_t type);
/* The pc and sp register values of a prstatus (false when unknown). */
bool core_regs_pc_sp(const struct core_ctx *c, const struct core_prstatus *p, uint64_t *pc,
		     uint64_t *sp);
/* Fill a->regs from the crashing thread's prstatus. */
void core_regs_fill(struct core_ctx *c);
void core_file_close(struct core_ctx *c);

/* ---- core_safefile.c ---- */
/* Open path for reading only when it is a regular file (lstat first, then
 * O_NONBLOCK|O_NOCTTY|O_NOFOLLOW, then fstat: same st_dev/st_ino), at most
 * CORE_MAX_FILE_BYTES. The fd, or -errno. */
int core_safe_open(const char *path, struct stat *st);
/* A new descriptor (the caller closes it) of a sealed memfd holding a copy of
 * the file at path, opened with core_safe_open(); or -errno. Copied once per
 * analysis. */
int core_safe_copy(struct core_ctx *c, const char *path);
/* The memfd of path if it was copied (owned by c), or -errno. */
int core_safe_copy_known(const struct core_ctx *c, const char *path);
/* Close the copies and free the in-core images (after dwfl_end()). */
void core_safe_copies_free(struct core_ctx *c);

/* ---- core_sniff.c ---- */
/* Report to libdwfl (between dwfl_report_begin and _end) the core's segments
 * and the modules whose ELF headers are in its memory, without opening any
 * file. Returns the number of modules. */
int core_sniff_report(struct core_ctx *c);
/* The module found at start, or NULL. */
const struct core_sniffed *core_sniffed_at(const struct core_ctx *c, uint64_t start);

/* ---- core_regions.c ---- */
/* Build a->regions from the core and the metadata. */
int core_regions_build(struct core_ctx *c);
/* The region containing addr, or NULL. */
const struct core_region *core_region_find(const struct ll_core_analysis *a, uint64_t addr);
/* The nearest region starting at or above addr, or NULL. */
const struct core_region *core_region_above(const struct ll_core_analysis *a, uint64_t addr);

/* ---- core_modules.c ---- */
/* Start libdwfl on the core, report its modules (build-id matched) and fill
 * a->modules. */
int core_modules_report(struct core_ctx *c);
/* The analysis is over: libdwfl's callbacks answer no more. */
void core_modules_end(struct core_ctx *c);
/* The module record containing addr, or NULL. */
struct core_module *core_module_at(const struct ll_core_analysis *a, uint64_t addr);

/* ---- core_unwind.c ---- */
/* Report the modules, then unwind every thread into a->threads. */
int core_unwind(struct core_ctx *c);

/* ---- core_symbolize.c ---- */
/* Symbolize pc (lookup_pc is pc - 1 for return addresses) in module m,
 * appending the frames (innermost inline first) to t: through the shared
 * symbolizer (lifeline/inspect/symbolize.h) when the module's file is
 * known, else libdwfl's own DWARF reading. */
int core_symbolize_frames(struct core_ctx *c, struct core_module *m, uint64_t lookup_pc,
			  uint64_t pc, bool activation, struct core_thread *t);
/* Free what the symbolizer kept for this run. */
void core_symbolize_end(struct core_ctx *c);
/* The runtime address of a symbol in mod, or 0. */
uint64_t core_symbol_address(Dwfl_Module *mod, const char *name);
/* Disassemble around pc into a->insns, marking the instruction at pc, or
 * with return_address the call instruction that ends there. */
int core_disassemble(struct core_ctx *c, uint64_t pc, bool return_address);

/* ---- core_fault.c ---- */
/* Add a cause (takes title, detail, fix; first: put it before the others). */
int core_add_cause(struct ll_core_analysis *a, bool first, const char *kind, char *title,
		   char *detail, char *fix, bool hint);
/* "SEGV_MAPERR"-style name (*name, NULL if unknown) and meaning of si_code. */
const char *core_code_meaning(int signo, int code, const char **name);
/* " in FUNC (FILE:LINE)" for the crashing thread's top frame, or "". */
const char *core_where(const struct ll_core_analysis *a);
/* "PATH PERMS START-END" of a region (malloc'ed). */
char *core_region_name(const struct core_region *r);
/* SIGSEGV/SIGBUS: classify the fault address, name the cause it proves. */
int core_classify_fault(struct core_ctx *c);
/* "SIGSEGV"-style name of a signal ("signal 0" when it has none; a
 * per-thread buffer). */
const char *core_signal_name(int signo);

/* ---- core_cause.c ---- */
/* Explain the signal and the fault address; read the abort message; name the
 * causes. */
int core_explain(struct core_ctx *c);
/* Fill c->tainted with the files known (metadata, SIGBUS past EOF) or
 * suspected (shorter now than their mapping) to have been modified in place
 * while mapped: their contents are not the code the process had loaded. */
int core_find_tainted(struct core_ctx *c);

#endif
