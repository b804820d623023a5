/* lifeline/inspect/symbolize.h: ELF/DWARF symbolizer and disassembler.
 *
 * A struct ll_symbolizer holds one ELF module (executable, shared library or
 * an ELF copied off another machine) with its separate debug file when one is
 * found (by build-id under <debug root>/.build-id/xx/yyyy.debug, or by
 * .gnu_debuglink beside the module, in its .debug/ directory or under
 * <debug root>/<module dir>/). Debug roots: those passed in the options, then
 * each directory of $LIFELINE_DEBUG_DIRS (colon-separated), then
 * /usr/lib/debug.
 *
 * The module is indexed once: a sorted function-symbol table (.symtab, else
 * .dynsym), and per DWARF compile unit (loaded lazily, the first time an
 * address falls in it) the line table and the flattened nesting of
 * subprograms and inlined subroutines. Each address is then answered with
 * binary searches. Addresses are ELF virtual addresses, what
 * `addr2line -e FILE` takes; turn runtime addresses of a live process into
 * them with ll_maps_resolve() (lifeline/inspect/maps.h).
 *
 * A struct ll_symcache keeps one symbolizer per module (path + build-id) so
 * that a batch of addresses in the same module loads it once. Across runs,
 * a module's finished index can be kept on disk (ll_symbolizer_save_cache())
 * and read back (LL_SYM_CACHE) with no DWARF work at all.
 *
 * Functions return 0 on success and a negative errno value on failure:
 * -ENOENT no such file, -ENOEXEC not an ELF file (or truncated/corrupt),
 * -EISDIR a directory, -EINVAL not a regular file (FIFO, device...),
 * -ENODATA no symbol and no line information for the address, -ESTALE the
 * file's build-id differs from the one asked for, -EOPNOTSUPP the
 * architecture has no disassembler, -ENOMEM. None of them is thread-safe on
 * the same object; distinct objects may be used from distinct threads. */
#ifndef LIFELINE_INSPECT_SYMBOLIZE_H
#define LIFELINE_INSPECT_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Most frames (one real function plus the functions inlined into it) one
 *  address yields; deeper chains are cut and flagged truncated. */
#define LL_SYM_MAX_FRAMES 64

/** Options for ll_symbolizer_open(). A NULL options pointer means defaults. */
struct ll_sym_opts {
	/** NULL-terminated list of extra debug roots searched first (each laid
	 *  out like /usr/lib/debug), or NULL. */
	const char *const *debug_dirs;
	/** LL_SYM_* flags. */
	unsigned flags;
	/** With LL_SYM_CACHE: the index cache directory, or NULL for
	 *  $LIFELINE_CACHE_DIR, else $XDG_CACHE_HOME/lifeline/symbolize or
	 *  ~/.cache/lifeline/symbolize. */
	const char *cache_dir;
};

/** Flags for struct ll_sym_opts. */
enum {
	/** Do not look for separate debug files at all. */
	LL_SYM_NO_DEBUG_SEARCH = 1u << 0,
	/** Search only opts->debug_dirs: not $LIFELINE_DEBUG_DIRS nor
	 *  /usr/lib/debug (nor the module's own directory). */
	LL_SYM_ONLY_GIVEN_DIRS = 1u << 1,
	/** Read the module's whole index from the index cache when a current
	 *  one is there (same build-id, same module and debug file sizes and
	 *  times): no DWARF work at all. ll_symbolizer_save_cache() writes it. */
	LL_SYM_CACHE = 1u << 2,
};

/** What ll_symbolizer_info() reports about an opened module. */
struct ll_sym_info {
	const char *path;          /**< the module as opened */
	const char *debug_path;    /**< separate debug file used, or NULL */
	const char *debug_how;     /**< "build-id", "debuglink", "embedded" or NULL */
	uint8_t build_id[64];      /**< GNU build-id of the module */
	size_t build_id_len;       /**< 0 when it has none */
	unsigned machine;          /**< ELF e_machine (EM_X86_64, EM_MIPS, ...) */
	const char *arch;          /**< short name: "x86_64", "aarch64", "mips32el", ... */
	bool is64;                 /**< ELFCLASS64 */
	bool big_endian;           /**< ELFDATA2MSB */
	uint64_t entry;            /**< e_entry */
	size_t nsymbols;           /**< function symbols indexed */
	bool has_symtab;           /**< a full .symtab was found (else only .dynsym) */
	bool has_dwarf;            /**< DWARF line/inline information is available */
	size_t ncus;               /**< DWARF compile units (0 without DWARF) */
	bool from_cache;           /**< the index was read from the index cache */
};

/** One frame of an address: innermost (the inlined code the address is in)
 *  first, the real (out-of-line) function last. */
struct ll_sym_frame {
	const char *function;  /**< function name, NULL when unknown */
	const char *file;      /**< source file (full path when DWARF has one), NULL if unknown */
	unsigned line;         /**< 0 when unknown */
	unsigned column;       /**< 0 when unknown */
	unsigned discriminator;/**< DWARF line discriminator (frame 0 only), 0 if none */
	bool inlined;          /**< this function was inlined into the next frame */
};

/** Everything known about one address. Strings point into the symbolizer and
 *  stay valid until it is freed. */
struct ll_sym_result {
	uint64_t addr;          /**< the ELF address asked about */
	const char *symbol;     /**< ELF symbol containing (or nearest below) addr, or NULL */
	uint64_t symbol_addr;   /**< its value (Thumb bit cleared) */
	uint64_t symbol_size;
	uint64_t symbol_offset; /**< addr - symbol_addr */
	const char *nearest;    /**< nearest function symbol at or below addr even when
	                             its size does not reach addr (the one addr2line
	                             names in padding), or NULL */
	uint64_t nearest_offset;/**< addr - its value */
	const char *nearest_file;/**< source file the symbol table gives it (STT_FILE), or NULL */
	size_t nframes;         /**< 0 when there is no DWARF for addr */
	bool truncated;         /**< the inline chain was deeper than LL_SYM_MAX_FRAMES */
	struct ll_sym_frame frames[LL_SYM_MAX_FRAMES];
};

/** One disassembled instruction. */
struct ll_insn {
	uint64_t addr;
	uint16_t size;
	uint8_t bytes[24];
	char mnemonic[32];
	char op_str[160];
	bool marked;            /**< the instruction that holds the address asked about */
};

struct ll_symbolizer;
struct ll_symcache;

/** Open an ELF file by path and index its symbols (the DWARF of each compile
 *  unit is indexed on first use). *out is freed with ll_symbolizer_free(). */
int ll_symbolizer_open(const char *path, const struct ll_sym_opts *opts,
		       struct ll_symbolizer **out);

/** Like ll_symbolizer_open() on an open descriptor (a memfd, a
 *  /proc/PID/map_files entry). The descriptor is duplicated; the caller keeps
 *  its own. name is used in messages and for the .gnu_debuglink search (may
 *  be NULL). */
int ll_symbolizer_open_fd(int fd, const char *name, const struct ll_sym_opts *opts,
			  struct ll_symbolizer **out);

/** Release a symbolizer and everything its results point to. NULL is allowed. */
void ll_symbolizer_free(struct ll_symbolizer *s);

/** Describe the opened module (path, debug file, build-id, architecture...). */
void ll_symbolizer_info(const struct ll_symbolizer *s, struct ll_sym_info *out);

/** Symbolize one ELF address: the function symbol with +offset, and with
 *  DWARF the file:line of the address and its chain of inlined frames,
 *  innermost first (the frames `addr2line -f -i` prints). Returns 0 when
 *  anything was found, -ENODATA when nothing was (out->symbol NULL and
 *  out->nframes 0). */
int ll_symbolize(struct ll_symbolizer *s, uint64_t addr, struct ll_sym_result *out);

/** Find a function symbol by name (exact match; the first at the lowest
 *  address when several share it). Used for `func+0xOFF` style locations.
 *  Returns 0 and its address, or -ENOENT. */
int ll_symbolizer_find_symbol(const struct ll_symbolizer *s, const char *name, uint64_t *addr);

/** Disassemble around an ELF address with capstone, the architecture taken
 *  from the ELF header: up to `before` instructions before the one holding
 *  addr, that one (marked), and up to `after` after it. On x86 decoding starts
 *  at the containing function's start so instruction boundaries are right.
 *  *out is malloc'ed (free()), *n its length. -EOPNOTSUPP for an architecture
 *  capstone cannot decode, -ENODATA when the file has no code bytes at addr
 *  (e.g. a debug-only file, or addr outside every section). */
int ll_disasm(struct ll_symbolizer *s, uint64_t addr, unsigned before, unsigned after,
	      struct ll_insn **out, size_t *n);

/** Write the module's whole index (every compile unit is loaded first) to
 *  the index cache directory (see struct ll_sym_opts.cache_dir; it is
 *  created, mode 0700, when missing), as <build-id>.idx, by rename of a
 *  temporary file. The directory must be ours and not group/world-writable
 *  (-EPERM otherwise); a module without build-id is not cached (-ENOENT).
 *  A no-op for a symbolizer read from the cache. */
int ll_symbolizer_save_cache(struct ll_symbolizer *s, const struct ll_sym_opts *opts);

/** Create an empty per-module cache; opts (copied, including the debug_dirs
 *  list and cache_dir) apply to every module it opens. NULL opts means defaults. */
int ll_symcache_new(const struct ll_sym_opts *opts, struct ll_symcache **out);

/** Free a cache and every symbolizer in it. NULL is allowed. */
void ll_symcache_free(struct ll_symcache *c);

/** The symbolizer of the module at path, opened on first use and kept. When
 *  build_id_len > 0 the file's build-id must match (-ESTALE otherwise: the
 *  file was replaced since the address was taken). A failure is remembered
 *  too, so a bad module is tried only once. fd, when >= 0, is opened instead
 *  of path (e.g. /proc/PID/map_files/... for a deleted module). *out belongs
 *  to the cache. */
int ll_symcache_get(struct ll_symcache *c, const char *path, int fd,
		    const uint8_t *build_id, size_t build_id_len, struct ll_symbolizer **out);

/** The options a cache opens modules with (a copy made by ll_symcache_new()). */
const struct ll_sym_opts *ll_symcache_opts(const struct ll_symcache *c);

/** Architecture name for an ELF e_machine/class/data triple ("x86_64",
 *  "aarch64", "mips32el", ...), or "unknown". */
const char *ll_elf_arch_name(unsigned machine, bool is64, bool big_endian);

#ifdef __cplusplus
}
#endif

#endif
