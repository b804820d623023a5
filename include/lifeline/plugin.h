/* lifeline/plugin.h: hot-reloadable plugins, atomic file installs and stale
 * mapping detection.
 *
 * A plugin is a shared object exporting one descriptor (LL_PLUGIN(...)): its
 * name, the ABI version of its function table, a pointer to that table (a
 * struct of function pointers the HOST defines), and optional hooks. The host
 * opens it with ll_plugin_open(): the file is copied into a sealed memfd (a
 * private snapshot: a later `cp` over the file cannot touch the loaded code),
 * checked to be a complete ELF whose dynamic tables ld.so can trust (every
 * DT_* table, relocation, symbol, string and hash entry inside the loaded
 * segments, the section headers agreeing with them: a file caught half
 * rewritten in place is a mix of two versions), test-loaded by the system's
 * dynamic loader in a short-lived child process (relocations done, no code
 * of the plugin run: a loader crash there is a rejection naming the signal,
 * not the host's death), dlopen'ed through /proc/self/fd/N, and its
 * descriptor checked. Calls go through
 *
 *     const struct my_api *api = ll_plugin_enter(p);
 *     api->do_something(...);
 *     ll_plugin_leave(p);
 *
 * which is a liburcu (urcu-bp flavour) read-side critical section: no lock,
 * no atomic read-modify-write. urcu-bp registers each calling thread by
 * itself on its first ll_plugin_enter(), so caller threads need no set-up.
 *
 * A reload (ll_plugin_reload(), or automatic with LL_PLUGIN_WATCH through
 * inotify along the file's path) loads the new version beside the old one,
 * runs its init and hands it the old version's saved state (in a thread,
 * under a deadline: init_timeout_ms), publishes it atomically, waits for a
 * grace period (every call that started on the old table has left), runs
 * the old version's fini, dlclose()s it and checks that its snapshot is no
 * longer mapped. ll_plugin_reload() waits for all of that; the watcher
 * queues old versions (at most LL_PLUGIN_MAX_RETIRING) and retires them in
 * a batch, one grace period for all, when idle or when the queue is full,
 * so that a burst of changes is coalesced into loads of the newest file
 * (ll_plugin_close() retires what is pending). Any failure (wrong ABI or
 * name, no descriptor, undefined symbol, incomplete, mixed or garbage file,
 * init, save or restore error or timeout) leaves the old version serving;
 * the reason goes to the on_event callback and to ll_plugin_status(). A
 * failure for want of a resource (EMFILE, ENFILE, ENOMEM, EAGAIN) is retried
 * by the watcher with backoff until the newest file loads.
 *
 * Descriptors: a plugin holds its serving version's memfd, one per version
 * waiting to be retired (at most LL_PLUGIN_MAX_RETIRING), /proc/self/maps
 * (opened once: retiring never needs a new descriptor), with
 * LL_PLUGIN_WATCH an inotify descriptor and an eventfd, with guard_dir the
 * guard directory; a load briefly adds the source file, the new memfd and a
 * pidfd (waiting for the test load's child).
 * Each version that stays mapped after dlclose keeps its memfd until it is
 * found unmapped.
 *
 * What cannot be survived in-process: a crash inside a plugin's
 * constructors or init hook (it runs in the host), and a crash inside a
 * published function. A hook that never returns is survived (abandoned
 * past init_timeout_ms). For crashes, install the crash reporter
 * (lifeline/crash.h) to get a report, run the host under a supervisor that
 * restarts it, and set guard_dir so that the restarted host does not load
 * the same file again but starts on the last version that loaded.
 *
 * Plugins are dlopen'ed RTLD_NOW | RTLD_LOCAL: an undefined symbol fails the
 * load instead of a later call, and versions do not see each other's
 * symbols. A plugin that needs the host's symbols needs a host linked with
 * -rdynamic. Not handled: fork() of a host while a reload is running (do not
 * fork then).
 *
 * Rules for callers:
 *  - Never call ll_plugin_reload() or ll_plugin_close() between
 *    ll_plugin_enter() and ll_plugin_leave() (it would wait for itself).
 *  - Do not keep the table or anything it returned after ll_plugin_leave().
 *  - enter/leave nest; each enter needs exactly one leave on the same thread.
 *
 * All functions return 0 (or a count) on success and a negative errno value
 * on failure, unless their comment says otherwise. */
#ifndef LIFELINE_PLUGIN_H
#define LIFELINE_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* The plugin side                                                        */
/* ---------------------------------------------------------------------- */

#define LL_PLUGIN_MAGIC 0x4c4c504cu /* "LLPL" */

/** What a plugin exports, under the symbol name "ll_plugin_descriptor". */
struct ll_plugin_descriptor {
	uint32_t magic;      /**< LL_PLUGIN_MAGIC */
	uint32_t size;       /**< sizeof(struct ll_plugin_descriptor) at build time */
	const char *name;    /**< plugin name; the host may require a given one */
	uint32_t abi;        /**< ABI version of the table; must equal the host's */
	const void *table;   /**< the host-defined function table; required */
	/** Called once after loading, before restore and before any call.
	 *  Non-zero (e.g. -errno) rejects this version. Optional. */
	int (*init)(void);
	/** Called once after the last call into this version returned (after
	 *  the grace period), before dlclose. Optional. */
	void (*fini)(void);
	/** Called on the serving version when a new one is being loaded: store a
	 *  malloc'ed blob in *data and its size in *len. The host passes it to
	 *  the new version's restore and then free()s it. Optional. Calls keep
	 *  being served while save runs: a plugin whose state changes on every
	 *  call must take its own snapshot consistently. */
	int (*save)(void **data, size_t *len);
	/** Called on the new version (after init) with the blob the old version
	 *  saved. Non-zero rejects the new version. Optional. */
	int (*restore)(const void *data, size_t len);
};

/** Define the descriptor of this plugin. Use designated initialisers:
 *
 *      static const struct my_api api = { .hello = hello };
 *      LL_PLUGIN(.name = "greeter", .abi = MY_API_ABI, .table = &api,
 *                .init = my_init, .save = my_save, .restore = my_restore);
 *
 * In C++ (20), give the fields in declaration order; g++ -Wextra warns
 * about the hooks left out (-Wmissing-field-initializers). */
#define LL_PLUGIN(...)                                                        \
	extern __attribute__((visibility("default")))                         \
	const struct ll_plugin_descriptor ll_plugin_descriptor;               \
	__attribute__((used))                                                 \
	const struct ll_plugin_descriptor ll_plugin_descriptor = {            \
		.magic = LL_PLUGIN_MAGIC,                                     \
		.size = sizeof(struct ll_plugin_descriptor),                  \
		__VA_ARGS__ }

/** The symbol name of the descriptor. */
#define LL_PLUGIN_SYMBOL "ll_plugin_descriptor"

/* ---------------------------------------------------------------------- */
/* The host side                                                          */
/* ---------------------------------------------------------------------- */

/** An opened plugin (opaque). */
struct ll_plugin;

/** What happened, as told to ll_plugin_opts.on_event. */
enum ll_plugin_event_kind {
	LL_PLUGIN_EV_LOADED,       /**< a version was loaded and now serves */
	LL_PLUGIN_EV_REJECTED,     /**< a version was refused; the old one serves */
	LL_PLUGIN_EV_UNLOADED,     /**< an old version was finalised and unmapped */
	LL_PLUGIN_EV_STILL_MAPPED, /**< an old version stayed mapped after dlclose
	                                (or its unmapping could not be checked yet) */
	LL_PLUGIN_EV_WATCH_REARMED, /**< the watcher followed the path to a new
	                                 directory or symlink target (or its directory came back) */
	LL_PLUGIN_EV_WATCH_LOST,    /**< the watcher cannot watch the file's directory
	                                 (gone, or inotify refused): no automatic reload
	                                 until it comes back */
};

/** One event. Pointers are valid only during the callback. */
struct ll_plugin_event {
	enum ll_plugin_event_kind kind;
	unsigned version;    /**< version number concerned (0 for a rejected one) */
	int err;             /**< -errno for REJECTED and STILL_MAPPED, else 0 */
	const char *message; /**< what happened and what to do, one line */
	const char *path;    /**< the plugin file */
};

/** Flags of ll_plugin_opts. */
enum {
	/** Reload automatically when the file is replaced or rewritten (inotify
	 *  on its directory: close-after-write after the settle time, moved-to,
	 *  create). The watcher follows the path, not the inode first seen: a
	 *  directory swapped by a deploy (mv dir dir.old; mkdir dir), a
	 *  re-pointed symlink on the path (current -> release-N), a rewritten
	 *  symlink target in another directory are all seen; the status says
	 *  whether the watch is live (watch_live) and WATCH_REARMED / WATCH_LOST
	 *  events say when it followed the path anew or lost the directory.
	 *  Creating PATH.fresh (e.g. `touch PATH.fresh`) asks for a reload
	 *  without the old state (LL_PLUGIN_RELOAD_FRESH); the marker is
	 *  removed. A background thread is started; its name is
	 *  "ll-plugin-watch". */
	LL_PLUGIN_WATCH = 1u << 0,
	/** On a watched change, skip the reload when the new file's bytes are
	 *  identical to the serving version's. */
	LL_PLUGIN_SKIP_SAME = 1u << 1,
	/** Do not test-load each new snapshot in a child process before
	 *  loading it in the host (see ll_plugin_open()). The probe costs about
	 *  1 ms a load; without it a corrupt file that passes the ELF checks can
	 *  crash the host inside dlopen. */
	LL_PLUGIN_NO_PROBE = 1u << 2,
};

/** Options of ll_plugin_open(). Zero-initialise, then set what you need. */
struct ll_plugin_opts {
	const char *name;    /**< required descriptor name; NULL accepts any */
	uint32_t abi;        /**< required ABI version (exact match) */
	unsigned flags;      /**< LL_PLUGIN_* flags */
	unsigned debounce_ms; /**< quiet time after a watched close-after-write before
	                           reloading (restarted by every further event);
	                           0 = 1 ms. A rename into place reloads at once. */
	size_t max_size;     /**< largest accepted file; 0 = 256 MiB */
	/** A watched file must stay unchanged (size and mtime) for this long
	 *  after its last close-after-write before it is loaded, so that a
	 *  writer that closes between chunks (rsync --inplace, a resumed copy)
	 *  is not caught half-way (a mix of two builds of the same layout can
	 *  pass every check); 0 = 1000 ms. A rename into place is not
	 *  delayed. */
	unsigned settle_ms;
	/** Deadline of the test load in a child and of the init, save and
	 *  restore hooks together; 0 = 5000 ms. Past it the version is
	 *  abandoned: never published, never unloaded (its hook thread,
	 *  "ll-plugin-init", is left running its code), reported in the
	 *  status (init_stuck); loading goes on. */
	unsigned init_timeout_ms;
	/** Largest state blob a save hook may hand over; a larger one rejects
	 *  the new version (see LL_PLUGIN_RELOAD_FRESH). 0 = 64 MiB. */
	size_t max_state;
	/** Crash-loop guard (opt-in): a directory (created 0700 if missing)
	 *  where the host records which file it is loading and keeps a copy of
	 *  the last version that loaded. When a run dies while loading a file
	 *  (a crash in its constructors or init: that cannot be survived
	 *  in-process), the next ll_plugin_open() of the same plugin refuses
	 *  that same file and starts on the last good copy instead, saying why
	 *  (REJECTED event, status guard_fallback); a later, different file
	 *  loads normally. One directory per plugin. NULL: off. */
	const char *guard_dir;
	/** Called for every event, from the thread that did the work (the
	 *  caller of open/reload/close or the watcher thread). It must not call
	 *  ll_plugin_reload() or ll_plugin_close(); it may call
	 *  ll_plugin_status(). Optional. */
	void (*on_event)(const struct ll_plugin_event *ev, void *userdata);
	void *userdata;
};

/** Snapshot of a plugin's state, from ll_plugin_status(). */
struct ll_plugin_status {
	unsigned version;           /**< serving version: 1 for the first load, +1 per reload */
	char name[64];              /**< descriptor name of the serving version */
	uint32_t abi;               /**< its ABI version */
	struct timespec loaded_at;  /**< CLOCK_REALTIME when it was published */
	unsigned loads_ok;          /**< successful loads, the first one included */
	unsigned loads_failed;      /**< rejected versions */
	unsigned still_mapped;      /**< old versions now held after dlclose: still mapped
	                                 (each keeps its memfd open, so that a reused
	                                 /proc/self/fd/N cannot alias it), or not yet
	                                 checked; checked again at every retire */
	/* History: the last rejection, kept after a later version loaded. */
	int last_error;             /**< -errno of the last rejection; 0 if none */
	char last_error_msg[512];   /**< its reason; "" if none */
	struct timespec last_error_at; /**< CLOCK_REALTIME of the last rejection */
	/* Current health. */
	int health;                 /**< 0 when the latest load attempt succeeded (what
	                                 serves is the newest file tried); else that
	                                 attempt's -errno, while the old version serves */
	char health_msg[512];       /**< "" when healthy; else why the newest file is refused */
	bool watch_live;            /**< LL_PLUGIN_WATCH: the file's directory is watched now */
	unsigned watch_rearms;      /**< times the watcher followed the path anew */
	unsigned retiring;          /**< versions waiting for their grace period (at most
	                                 LL_PLUGIN_MAX_RETIRING) */
	unsigned init_stuck;        /**< versions abandoned in a hook past init_timeout_ms */
	char init_stuck_msg[512];   /**< the last one: which and where it hangs; "" if none */
	bool guard_fallback;        /**< the crash-loop guard started the last good copy */
};

/** Most versions waiting for a grace period at once. Past it the watcher
 *  retires them (one grace period for all) before loading the newest file,
 *  so that a burst of changes is coalesced instead of queued. */
#define LL_PLUGIN_MAX_RETIRING 4

/** Load the plugin at path and return a handle in *out. A relative path is
 *  made absolute against the current directory now; symlinks on it are
 *  followed at every (re)load. On failure nothing is left behind:
 *  -ENOENT/-EACCES (the file), -ENOEXEC (not an ELF shared object of this
 *  machine, or no descriptor), -EAGAIN (the file is being written: an ELF
 *  cut short, or its size or times changed while it was copied; retry),
 *  -EPROTO (wrong name or ABI),
 *  -ELIBBAD (dlopen failed, e.g. an undefined symbol), -EFBIG (over
 *  max_size), or init's error. If errmsg is not NULL it receives the reason
 *  (errmsg_size bytes at most). opts may be NULL only if any name and ABI 0
 *  are acceptable. */
int ll_plugin_open(const char *path, const struct ll_plugin_opts *opts, struct ll_plugin **out,
		   char *errmsg, size_t errmsg_size);

/** Stop watching, wait for calls in progress, run fini and dlclose every
 *  version. The caller guarantees no thread calls ll_plugin_enter() on p any
 *  more. NULL is allowed. */
void ll_plugin_close(struct ll_plugin *p);

/** Begin a call: returns the serving version's table (never NULL). The table
 *  and everything it points to stay valid until ll_plugin_leave(). Cost:
 *  an urcu-bp read lock and one pointer load. */
const void *ll_plugin_enter(struct ll_plugin *p);

/** End the call begun by the matching ll_plugin_enter() of this thread. */
void ll_plugin_leave(struct ll_plugin *p);

/* Optional inline calls. A host that defines LL_PLUGIN_INLINE_CALLS before
 * including this header gets ll_plugin_enter()/ll_plugin_leave() inlined:
 * liburcu-bp's read side is compiled into the caller (this defines
 * _LGPL_SOURCE for liburcu and needs its headers: `pkg-config --cflags
 * lifeline`), which saves the two function calls (about 1.5 ns a call
 * here). Contract (part of the ABI): a struct ll_plugin starts with the
 * RCU-protected pointer to the serving version, whose first member is the
 * table. Do not use it in ASan/UBSan builds: liburcu 0.13's urcu-bp
 * registry trips UBSan's alignment check (harmless on x86). */
#ifdef LL_PLUGIN_INLINE_CALLS
#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE
#endif
#include <urcu-bp.h>

static inline const void *ll_plugin_enter_inline_(struct ll_plugin *p)
{
	const void *const *serving;

	urcu_bp_read_lock();
	serving = rcu_dereference(*(const void *const *const *)p);
	return *serving;
}

static inline void ll_plugin_leave_inline_(struct ll_plugin *p)
{
	(void)p;
	urcu_bp_read_unlock();
}

#define ll_plugin_enter(p) ll_plugin_enter_inline_(p)
#define ll_plugin_leave(p) ll_plugin_leave_inline_(p)
#endif

/** Load the file again now (explicit reload). Returns the new version number
 *  (> 0), or a negative errno with the old version still serving (the reason
 *  is in ll_plugin_status() and was sent to on_event). Blocks for a grace
 *  period; must not be called from inside enter/leave. */
int ll_plugin_reload(struct ll_plugin *p);

/** Flags of ll_plugin_reload_flags(). */
enum {
	/** Start the new version without the serving version's state: its
	 *  save and the new restore hooks are not called. The way out when
	 *  the serving version's save fails or its state is refused. */
	LL_PLUGIN_RELOAD_FRESH = 1u << 0,
};

/** ll_plugin_reload() with LL_PLUGIN_RELOAD_* flags. */
int ll_plugin_reload_flags(struct ll_plugin *p, unsigned flags);

/** Copy the current status into *st. */
int ll_plugin_status(struct ll_plugin *p, struct ll_plugin_status *st);

/** Check that buf (len bytes) is a complete ELF shared object of this
 *  machine: header, program headers, section headers and every PT_LOAD
 *  segment lie within len. 0, or -ENOEXEC (not an ELF, another machine, not
 *  ET_DYN) or -EAGAIN (an ELF cut short: still being written). why receives
 *  the reason when not NULL. */
int ll_plugin_check_elf(const void *buf, size_t len, char *why, size_t why_size);

/* ---------------------------------------------------------------------- */
/* Deploying files: atomic install, who maps a file, stale mappings        */
/* ---------------------------------------------------------------------- */

/** A process mapping a given file. */
struct ll_mapper {
	pid_t pid;
	char comm[32];       /**< /proc/PID/comm */
	bool exec;           /**< at least one executable mapping of the file */
	uint64_t bytes;      /**< total bytes mapped */
};

/** List the processes (all of /proc) that map the file with device dev and
 *  inode ino. *out (malloc'ed, free()) receives *n entries sorted by pid.
 *  Processes that vanish or cannot be read are skipped. */
int ll_file_mappers(dev_t dev, ino_t ino, struct ll_mapper **out, size_t *n);

/** Options of ll_install(). */
struct ll_install_opts {
	bool backup;          /**< keep the replaced file as DST~ (a hard link) */
	bool keep_temp_on_error; /**< debugging: do not unlink the temp file */
};

/** What ll_install() did, or where it failed. */
struct ll_install_result {
	const char *step;     /**< on failure: the step that failed ("open source", ...) */
	bool refused;         /**< on failure: a check refused (step says why), no call failed */
	bool replaced;        /**< DST existed and was replaced */
	mode_t mode;          /**< mode given to the new file */
	uid_t uid;            /**< owner given to the new file */
	gid_t gid;
	bool owner_kept;      /**< false if fchown was refused (not root) */
	uint64_t bytes;       /**< bytes copied */
	dev_t old_dev;        /**< device and inode of the replaced DST (if replaced) */
	ino_t old_ino;
	char backup[4096];    /**< the backup path, "" without --backup */
};

/** Replace dst by a copy of src atomically: a temp file is created with
 *  O_EXCL in dst's directory, filled, fsync'ed, given dst's mode and owner
 *  (src's mode if dst does not exist), renamed over dst, and the directory is
 *  fsync'ed. A process mapping the old dst keeps its (now unlinked) inode
 *  intact. Errors: -ENOENT (src or dst's directory missing: see res->step),
 *  -EISDIR, -ELOOP (dst is a symlink: refused), -EXDEV/-EBUSY (dst is a
 *  mount point), or the failing call's errno. res may not be NULL. */
int ll_install(const char *src, const char *dst, const struct ll_install_opts *opts,
	       struct ll_install_result *res);

/** Why a mapping is stale. */
enum ll_stale_kind {
	LL_STALE_DELETED,    /**< the mapped file was removed or replaced */
	LL_STALE_TRUNCATED,  /**< the file is now shorter than the mapping */
};

/** One stale file of a process (its mappings of one file, together). */
struct ll_stale_item {
	enum ll_stale_kind kind;
	char *path;          /**< path as the kernel shows it, without " (deleted)" */
	unsigned dev_major, dev_minor;
	uint64_t inode;
	bool exec;           /**< some mapping is executable (code) */
	unsigned nmaps;      /**< how many mappings of this file */
	uint64_t mapped_bytes; /**< total size of those mappings */
	uint64_t file_size;  /**< the file's current size (-1 if unknown) */
	uint64_t past_eof;   /**< for TRUNCATED: mapped bytes beyond the end of file */
};

/** Stale mappings of one process. */
struct ll_stale_proc {
	pid_t pid;
	char comm[32];
	size_t n;
	struct ll_stale_item *v;
};

/** Scan one process (pid 0 = self) for mappings of deleted files (memfd,
 *  SysV shm and other anonymous-file mappings excluded) and of files shorter
 *  than their mapping. *out is freed with ll_stale_free(); (*out)->n may be
 *  0. -ESRCH no such process, -EACCES not allowed. */
int ll_stale_scan(pid_t pid, struct ll_stale_proc **out);

/** Free what ll_stale_scan() returned. NULL is allowed. */
void ll_stale_free(struct ll_stale_proc *sp);

/** A one-line explanation of the risk of a stale item ("old code still
 *  running ..."), static storage. */
const char *ll_stale_risk(const struct ll_stale_item *it);

#ifdef __cplusplus
}
#endif

#endif
