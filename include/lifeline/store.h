/* lifeline/store.h: the core store and the core_pattern helper.
 *
 * The kernel pipes a crashing process's core into `lifeline coredump`, which
 * calls ll_coredump_receive(): the core is streamed through zstd into
 * <store>/<id>.zst (bounded memory, files created with openat + O_EXCL +
 * O_NOFOLLOW under a temporary name, then renamed), and a metadata record
 * <store>/<id>.json (docs/coredump-metadata.md) is written beside it, read
 * from /proc through the %F pidfd. Limits come from a coredump.conf (see
 * docs/coredump.conf.example). The browsing side (`lifeline cores`) lists,
 * resolves, decompresses, removes and vacuums entries of the store. A
 * crash's memory map is kept beside its record in <store>/<id>.maps, so
 * that records stay small for every reader but the core analysis.
 *
 * All functions return 0 (or a count) on success and a negative errno value
 * on failure. */
#ifndef LIFELINE_STORE_H
#define LIFELINE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Default store directory and configuration file. */
#define LL_STORE_DEFAULT_DIR "/var/lib/lifeline/cores"
#define LL_COREDUMP_DEFAULT_CONFIG "/etc/lifeline/coredump.conf"
#define LL_COREDUMP_DEFAULT_SYSCTL_D "/etc/sysctl.d/50-lifeline-coredump.conf"

/** Limits and settings, as in the [Coredump] section of coredump.conf. */
struct ll_coredump_config {
	bool storage;                /**< Storage=external (true) or none (false) */
	int compression_level;       /**< zstd level (CompressionLevel=, 1..19) */
	uint64_t process_size_max;   /**< ProcessSizeMax=: bytes read from the kernel at most */
	uint64_t external_size_max;  /**< ExternalSizeMax=: largest (uncompressed) core stored;
	                                  past it the stored core is truncated and marked */
	uint64_t max_use;            /**< MaxUse=: total size of the store's cores and records */
	uint64_t keep_free;          /**< KeepFree=: space left free on the filesystem */
	unsigned rate_limit_burst;   /**< RateLimitBurst=: crashes of one executable (comm) of one uid ... */
	unsigned rate_limit_user_burst; /**< RateLimitUserBurst=: crashes of one uid, whatever the executable ... */
	unsigned rate_limit_interval;/**< RateLimitIntervalSec=: ... per this many seconds */
	unsigned idle_timeout;       /**< IdleTimeoutSec=: stop reading a core that sends nothing for this long */
	unsigned timeout;            /**< TimeoutSec=: `lifeline coredump` kills itself after this long (0: never) */
	uint64_t max_age;            /**< MaxAgeSec=: `cores gc` removes older entries (0: never) */
};

/** Fill c with the defaults (level 1, 32 GiB, 4 GiB MaxUse, 1 GiB KeepFree,
 *  10 crashes of one executable and 30 of one uid per 60 s, a 60 s idle
 *  timeout, a 30 min total time limit, no age limit). */
void ll_coredump_config_init(struct ll_coredump_config *c);

/** Load path (inih) over the values in c. -ENOENT when the file does not
 *  exist (c is left as it was). Other errors: -EINVAL with a message
 *  "line N: ..." in err. */
int ll_coredump_config_load(struct ll_coredump_config *c, const char *path,
			    char *err, size_t errlen);

/** What the kernel passes: %P %u %g %s %t %c %h %e %F %d. */
struct ll_crash_args {
	pid_t pid;             /**< %P, pid in the initial namespace */
	uid_t uid;             /**< %u */
	gid_t gid;             /**< %g */
	int signal;            /**< %s */
	int64_t time;          /**< %t */
	uint64_t core_limit;   /**< %c (RLIMIT_CORE soft limit) */
	const char *hostname;  /**< %h */
	const char *comm;      /**< %e, untrusted text */
	int pidfd;             /**< %F (a pidfd of the process), or -1 */
	int dump_mode;         /**< %d (0, 1 or 2), or -1 when not given */
};

/** Outcome of one received crash. */
struct ll_coredump_result {
	char id[256];          /**< store id ("" when no record could be written) */
	bool stored;           /**< a (possibly truncated) core file was kept */
	bool truncated;
	uint64_t size;         /**< raw bytes read from stdin */
	uint64_t compressed_size;
	uint64_t raw_stored;   /**< raw bytes the stored core decompresses to */
	uint64_t expected_size;/**< an ELF core's full size from its headers, or 0 */
	char format[64];       /**< "ELF core", "not an ELF core", ... ("" if not read) */
	char reason[128];      /**< why not stored / why truncated, or "" */
};

/** Open (and with create, make: mode 0755, owner root) the store directory.
 *  Refuses a symlink, a store not owned by root (when running as root) or
 *  writable by group or others, and (as root) a store whose parent directory
 *  is not root's or is writable by others without the sticky bit: -EPERM.
 *  *dirfd is an O_DIRECTORY fd. */
int ll_store_open(const char *path, bool create, int *dirfd);

/** Receive one crash: read /proc through args->pidfd (or /proc/PID with a
 *  start-time check), apply the rate limit and the store limits, stream
 *  in_fd (the core) into the store, write the metadata record. in_fd is
 *  read only as far as the core is stored (never drained) and closed at the
 *  end, after the final record: the kernel, which waits for the helper to
 *  close it, then stops dumping. A metadata record is written for every
 *  crash. */
int ll_coredump_receive(int storefd, const struct ll_coredump_config *cfg,
			const struct ll_crash_args *args, int in_fd,
			struct ll_coredump_result *res);

/** Append one line to <store>/coredump.log (O_APPEND, O_NOFOLLOW), or to
 *  syslog when storefd < 0 or the log cannot be opened. */
void ll_store_log(int storefd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** One entry of the store (a metadata record and maybe its core). */
struct ll_store_entry {
	char *id;
	json_object *meta;     /**< the parsed record (owned by the entry) */
	int64_t time;          /**< crash time */
	pid_t pid;
	uid_t uid;
	int signal;
	const char *exe;       /**< points into meta; may be "" */
	const char *comm;      /**< points into meta; may be "" */
	const char *core_file; /**< name of the core in the store, or NULL */
	uint64_t size;         /**< raw core size read */
	uint64_t disk_size;    /**< bytes of the core file on disk (0 if none) */
	bool truncated;
};

/** A list of entries, sorted oldest first. */
struct ll_store_list {
	size_t n;
	struct ll_store_entry *v;
	size_t unreadable;     /**< records skipped (permission, bad JSON) */
};

/** Read every record of the store (all of them held at once; see
 *  ll_store_foreach() to go through a large store in bounded memory). */
int ll_store_list(int storefd, struct ll_store_list *out);

/** Call fn for each entry of the store, oldest first, one record read at a
 *  time: the order comes from the file names (the crash time is part of the
 *  id), the entry's record is parsed just before fn and freed after it (fn
 *  keeps it by setting e->meta to NULL and taking the reference; e->id is
 *  borrowed). Records larger than the readers' bound (an older version's
 *  with inline maps) are passed as their names tell them, with
 *  meta.record_error. Stops at fn's first non-zero return and returns it.
 *  *unreadable (may be NULL) counts records that could not be read
 *  (permission, damaged). */
int ll_store_foreach(int storefd, int (*fn)(struct ll_store_entry *e, void *ctx), void *ctx,
		     size_t *unreadable);

/** Add the memory map of e's crash (the "maps" array of
 *  docs/coredump-metadata.md, kept in the side file <id>.maps that listing
 *  and gc never read) to e->meta, for the core analysis. 0 (also when the
 *  record already holds its maps), -ENOENT when the crash has no maps file,
 *  -EINVAL when the side file is damaged or not this entry's. */
int ll_store_entry_maps(int storefd, struct ll_store_entry *e);

/** Free a list (its contents; the struct itself is the caller's). */
void ll_store_list_free(struct ll_store_list *l);

/** Filters for ll_store_select(); zero means "any". */
struct ll_store_filter {
	const char *exe;       /**< matches exe path, its base name, or comm */
	pid_t pid;
	int64_t since, until;  /**< time range (inclusive); 0: open */
};

/** True when e passes f. */
bool ll_store_match(const struct ll_store_entry *e, const struct ll_store_filter *f);

/** Resolve ID: an exact id, a unique prefix of one, or (id NULL or "") the
 *  latest entry passing f. Returns the index in l, -ENOENT (nothing
 *  matches), -EEXIST (the prefix is ambiguous). */
int ll_store_resolve(const struct ll_store_list *l, const char *id,
		     const struct ll_store_filter *f);

/** Decompress the core of e into out_fd. *written gets the raw bytes
 *  written; *truncated is set when the stored stream ends early (a core
 *  truncated at crash time, or damaged). -ENOENT when no core is stored. */
int ll_store_decompress(int storefd, const struct ll_store_entry *e, int out_fd,
			uint64_t *written, bool *truncated);

/** Remove an entry (core and record). */
int ll_store_remove(int storefd, const char *id);

/** What ll_store_gc() did. */
struct ll_store_gc_stats {
	unsigned cores_removed;     /**< cores deleted (their records kept, marked) */
	unsigned records_removed;   /**< records deleted (MaxAgeSec; MaxUse with no core left) */
	unsigned temp_removed;      /**< stale temporary files of dead helpers */
	uint64_t bytes_freed;
};

/** Who asks ll_store_vacuum() for room, and how much. */
struct ll_store_vacuum_opts {
	uid_t crash_uid;       /**< the crashing uid, whose cores go first when it holds more than
	                            its share; (uid_t)-1: none (an administrator's `cores gc`) */
	uint64_t reserve;      /**< bytes wanted on top of the limits */
	bool keep_free;        /**< also free space below KeepFree: from the biggest users (no
	                            crash_uid) or from crash_uid's own cores only (a helper) */
};

/** Apply MaxAgeSec, MaxUse and (o->keep_free) KeepFree now, deciding from
 *  the file names and sizes alone (no record is parsed to choose). Fair
 *  share: with N users holding files, each may keep MaxUse/N; over MaxUse,
 *  the crashing user's oldest cores (but its newest) go first while it
 *  holds more than its share, then the oldest cores of whoever holds the
 *  most bytes. A removed
 *  core's record stays, saying why; a user with no core left loses its
 *  oldest records instead. Records older than MaxAgeSec go entirely. */
int ll_store_vacuum(int storefd, const struct ll_coredump_config *cfg,
		    const struct ll_store_vacuum_opts *o, struct ll_store_gc_stats *stats);

/** ll_store_vacuum() for an administrator: no crashing uid, KeepFree
 *  applied, reserve extra bytes wanted. */
int ll_store_gc(int storefd, const struct ll_coredump_config *cfg, uint64_t reserve,
		struct ll_store_gc_stats *stats);

/** Where --install writes, and what it remembers. */
struct ll_coredump_install_opts {
	const char *helper;    /**< absolute path of the lifeline binary */
	const char *store;     /**< store directory (NULL: the default) */
	const char *config;    /**< config path to pass (NULL: the default) */
	const char *sysctl_d;  /**< drop-in path (NULL: the default; "" none) */
	unsigned pipe_limit;   /**< core_pipe_limit (0: 16) */
};

/** Build the core_pattern line for opts into buf. -ENAMETOOLONG when it
 *  would exceed the kernel's 127 bytes. */
int ll_coredump_pattern(const struct ll_coredump_install_opts *opts, char *buf, size_t size);

/** Set core_pattern and core_pipe_limit, write the sysctl.d drop-in, and
 *  save the previous values in <store>/.saved-sysctl.json (kept from an
 *  earlier install: installing twice does not lose the original). */
int ll_coredump_install(const struct ll_coredump_install_opts *opts);

/** Put back the values saved by ll_coredump_install() and remove the
 *  drop-in. -ENOENT when nothing was saved in the store. */
int ll_coredump_uninstall(const struct ll_coredump_install_opts *opts);

/** Make a store-safe name component: only [A-Za-z0-9._-] (others become
 *  '_'), no leading '.', at most max-1 bytes, never empty ("_"). */
void ll_store_sanitize(const char *in, char *out, size_t max);

#ifdef __cplusplus
}
#endif

#endif
