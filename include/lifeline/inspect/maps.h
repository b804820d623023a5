/* lifeline/inspect/maps.h: /proc/PID/maps and smaps, and runtime address ->
 * module resolution.
 *
 * A process's map is read once into a struct ll_maps (an array sorted by
 * address); lookups are binary searches. All functions return 0 on success
 * and a negative errno value on failure (-ESRCH no such process, -EACCES
 * permission denied, -EINVAL malformed input). */
#ifndef LIFELINE_INSPECT_MAPS_H
#define LIFELINE_INSPECT_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Permission bits of a mapping (the "rwxp" column). */
enum {
	LL_PERM_READ = 1u << 0,
	LL_PERM_WRITE = 1u << 1,
	LL_PERM_EXEC = 1u << 2,
	LL_PERM_SHARED = 1u << 3, /**< 's'; otherwise private ('p') */
};

/** What a mapping holds, as `lifeline maps` classifies it. */
enum ll_map_kind {
	LL_MAP_TEXT,     /**< executable file mapping (code) */
	LL_MAP_RODATA,   /**< read-only file mapping (rodata, ELF headers, relro) */
	LL_MAP_DATA,     /**< writable file mapping (.data) */
	LL_MAP_BSS,      /**< anonymous writable mapping right after a module's data */
	LL_MAP_HEAP,     /**< [heap] */
	LL_MAP_STACK,    /**< [stack] or a thread stack ([stack:TID]) */
	LL_MAP_ANON,     /**< other anonymous memory */
	LL_MAP_FILE,     /**< a file mapping that is not part of a loaded ELF module */
	LL_MAP_VDSO,     /**< [vdso], [vvar], [vsyscall] */
	LL_MAP_OTHER,    /**< any other [pseudo] mapping */
	LL_MAP_GUARD,    /**< no access ("---p"): a stack guard page, a hole between a
	                      module's segments, reserved address space */
};

/** One line of /proc/PID/maps, with the smaps figures when asked for. */
struct ll_map {
	uint64_t start;          /**< first address */
	uint64_t end;            /**< one past the last address */
	uint64_t offset;         /**< file offset of start */
	unsigned perms;          /**< LL_PERM_* bits */
	unsigned dev_major;
	unsigned dev_minor;
	uint64_t inode;          /**< 0 for anonymous mappings */
	char *path;              /**< file path or "[heap]"-style name; NULL if anonymous.
	                              A trailing " (deleted)" is removed and sets deleted.
	                              As the kernel prints it: a newline in a file name
	                              shows as "\012"; other bytes are raw. */
	bool deleted;            /**< the file was unlinked since it was mapped */
	enum ll_map_kind kind;   /**< classification (see ll_map_kind) */
	/* From smaps (LL_MAPS_SMAPS), in bytes; 0 otherwise. */
	uint64_t rss;
	uint64_t pss;
	uint64_t shared_clean, shared_dirty, private_clean, private_dirty;
	uint64_t swap;
	uint64_t anonymous;
	/* Added after the first draft (layout stays additive). */
	bool module;             /**< part of a loaded ELF module: one of its file
	                              mappings (any kind, holes included) or its .bss */
	pid_t stack_tid;         /**< LL_MAP_STACK: the thread whose stack this is
	                              (found from /proc/PID/task/TID/syscall's stack
	                              pointer when the thread sleeps in a system call;
	                              the pid for [stack]); 0 when unknown */
	/* More smaps figures, in bytes (0 without LL_MAPS_SMAPS). */
	uint64_t size_smaps;     /**< "Size" (equals end - start) */
	uint64_t kernel_page_size, mmu_page_size;
	uint64_t pss_dirty, pss_anon, pss_file, pss_shmem;
	uint64_t referenced, lazy_free, anon_huge_pages, shmem_pmd_mapped, file_pmd_mapped;
	uint64_t shared_hugetlb, private_hugetlb, swap_pss, locked, ksm;
	int thp_eligible;        /**< "THPeligible" (0/1), -1 when absent */
	int protection_key;      /**< "ProtectionKey", -1 when absent */
	char *vm_flags;          /**< "VmFlags" two-letter codes ("rd mr mw me ac"),
	                              NULL when absent */
};

/** A whole map, sorted by start address. */
struct ll_maps {
	pid_t pid;               /**< the process read, or 0 when parsed from text */
	size_t n;                /**< number of entries in v */
	struct ll_map *v;
	struct ll_maps_private *priv; /**< private: the /proc/PID directory and the
	                                   per-module ELF cache used by ll_maps_resolve() */
};

/** Flags for ll_maps_read() and ll_maps_parse(). */
enum {
	LL_MAPS_SMAPS = 1u << 0, /**< read smaps (slower) and fill rss/pss/... */
	LL_MAPS_NO_THREADS = 1u << 1, /**< ll_maps_read*(): do not look for thread
	                                   stacks in /proc/PID/task (their mappings
	                                   then stay LL_MAP_ANON) */
};

/** Read /proc/PID/maps (or smaps with LL_MAPS_SMAPS). pid 0 means self.
 *  Classifies every mapping and finds the stacks of threads blocked in a
 *  system call (reading task/TID/syscall needs ptrace-attach rights over the
 *  process; without them, or for a thread that is running, its stack stays
 *  LL_MAP_ANON; LL_MAPS_NO_THREADS skips this, for bulk scans of many
 *  processes). Keeps /proc/PID open (one descriptor) for ll_maps_resolve().
 *  -ESRCH no such process, -EACCES not allowed to read it.
 *  *out is freed with ll_maps_free(). */
int ll_maps_read(pid_t pid, unsigned flags, struct ll_maps **out);

/** Like ll_maps_read() but relative to an open /proc/PID directory fd (so that
 *  a caller holding a pidfd-verified directory reads the right process). */
int ll_maps_read_at(int proc_pid_dirfd, unsigned flags, struct ll_maps **out);

/** Parse the text of a maps (or, with LL_MAPS_SMAPS, smaps) file. Bad lines
 *  give -EINVAL, as do entries out of address order or overlapping; text
 *  need not be NUL-terminated. Mappings are classified from the text alone
 *  (a file mapping belongs to an ELF module when some mapping of the same
 *  file is executable); thread stacks are not known (LL_MAP_ANON). pid is 0;
 *  ll_maps_resolve() then opens modules by path. */
int ll_maps_parse(const char *text, size_t len, unsigned flags, struct ll_maps **out);

/** Free a map read or parsed by the functions above. NULL is allowed. */
void ll_maps_free(struct ll_maps *maps);

/** The mapping containing addr, or NULL. */
const struct ll_map *ll_maps_find(const struct ll_maps *maps, uint64_t addr);

/** Short name of a kind ("text", "heap", ...). */
const char *ll_map_kind_name(enum ll_map_kind kind);

/** Where a runtime address lies in its module. */
struct ll_addr_info {
	const struct ll_map *map;  /**< the mapping holding the address */
	const char *path;          /**< module path (points into map) */
	uint64_t file_offset;      /**< offset of the address in the file */
	uint64_t elf_addr;         /**< the address as the ELF file sees it
	                                (what addr2line -e takes) */
	uint64_t load_bias;        /**< runtime address - elf_addr */
	uint8_t build_id[64];      /**< GNU build-id of the module, if any */
	size_t build_id_len;       /**< 0 when the module has none or it could not be read */
	/* Added after the first draft (layout stays additive). */
	bool in_file;              /**< false for an address in a module's .bss,
	                                which the file does not hold (file_offset
	                                is then 0) */
	uint16_t elf_type;         /**< ET_EXEC, ET_DYN, ... of the module */
	uint16_t elf_machine;      /**< EM_X86_64, EM_AARCH64, ... of the module */
};

/** Resolve a runtime address of the process whose map this is: finds the
 *  mapping, reads the module's ELF program headers (from /proc/PID/map_files
 *  or the path) and computes file offset, ELF address and load bias. Right
 *  for PIE and non-PIE executables and for libraries whose segments have
 *  p_offset != p_vaddr. -ENOENT when addr is outside every mapping, -ENOEXEC
 *  when the mapping is not an ELF module (anonymous, heap, a data file, a
 *  no-access hole; [vdso] is handled, read from /proc/PID/mem). When
 *  map_files cannot be opened (not root, or a parsed map) the path is used
 *  only if it still names the mapped device and inode: -ESTALE when the file
 *  was replaced since. The module facts are cached in maps (thread-safe). */
int ll_maps_resolve(const struct ll_maps *maps, uint64_t addr, struct ll_addr_info *out);

/** Per-module and per-kind totals of a map (what `lifeline maps` prints
 *  after the mappings). */
struct ll_maps_total {
	const char *name;        /**< module or file path, or "[heap]", "[stack]",
	                              "[anon]", "[vdso]", "[guard]", "[other]"
	                              (points into the map or is static) */
	enum ll_map_kind kind;   /**< LL_MAP_TEXT for a module, LL_MAP_FILE for another
	                              file, else the kind totalled */
	bool deleted;            /**< the file was deleted */
	size_t nmaps;            /**< number of mappings counted */
	uint64_t size, rss, pss, swap; /**< bytes */
};

/** Totals of a map: one row per module (its file mappings and its .bss), per
 *  other mapped file, then one per kind among heap, stack, anon, vdso, guard,
 *  other (rows with no mappings are left out), in that order. *out is an
 *  array of *n rows freed with free(); names point into maps. */
int ll_maps_summarize(const struct ll_maps *maps, struct ll_maps_total **out, size_t *n);

/** The mapping of the module's file that an address in map belongs to: map
 *  itself for a module mapping, the module's last file mapping for its
 *  .bss; NULL when map is not part of a module. */
const struct ll_map *ll_maps_module_map(const struct ll_maps *maps, const struct ll_map *map);

#ifdef __cplusplus
}
#endif

#endif
