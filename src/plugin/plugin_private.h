/* plugin_private.h: the plugin host's internal structures, shared by host.c
 * (load, publish, retire), snapshot.c (memfd copies) and watch.c (inotify).
 * Not installed. */
#ifndef LL_PLUGIN_PRIVATE_H
#define LL_PLUGIN_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "lifeline/plugin.h"

/* Everything declared here stays inside liblifeline. */
#pragma GCC visibility push(hidden)

/* A private, sealed copy of the plugin file. */
struct ll_snapshot {
	int fd;          /* the memfd (sealed), or -1 */
	size_t size;
	dev_t dev;       /* the memfd's device and inode, to find its mappings */
	ino_t ino;
	struct stat src; /* the file it was copied from, as it was then */
};

/* One loaded version. Immutable once published. */
struct ll_pversion {
	const void *table;                        /* hot: read by enter() */
	void *handle;                             /* dlopen handle */
	const struct ll_plugin_descriptor *desc;
	struct ll_snapshot snap;                  /* kept open while mapped */
	unsigned number;
	struct timespec loaded_at;
	struct ll_pversion *next;                 /* in p->retiring or p->closed */
	bool pinned;                              /* a hook thread may still run its code: never dlclose */
	bool mapped;                              /* retire.c: seen in /proc/self/maps */
	bool reported;                            /* retire.c: STILL_MAPPED sent (counted in st.still_mapped) */
};

/* The hint given with every state-trap rejection. */
#define LL_PLUGIN_FRESH_HINT                                                                         \
	"to start the new version without the old state call ll_plugin_reload_flags(p, "            \
	"LL_PLUGIN_RELOAD_FRESH), or create PATH.fresh next to a watched plugin"

/* Flags of ll_plugin_load_locked(). */
enum {
	LL_LOAD_SKIP_SAME = 1u << 0, /* skip when the bytes equal the serving version's */
	LL_LOAD_DEFER = 1u << 1,     /* queue the old version for a later batched retire */
	LL_LOAD_FRESH = 1u << 2,     /* do not carry the serving version's state over */
};

/* One inotify watch of the watcher (watch.c). */
struct ll_watch_entry {
	int wd;
	char *dir;      /* the directory watched */
	char *name;     /* the entry in it that matters */
	int kind;       /* the plugin file (a change reloads), a symlink hop or a directory (a change re-arms) */
	bool first;     /* in the directory of the path as given (where PATH.fresh appears) */
};

struct ll_plugin {
	struct ll_pversion *cur;   /* RCU-protected: the serving version */
	pthread_mutex_t lock;      /* serialises loads, retires and the watch set */
	char *path;
	const char *load_from;     /* when set, load this file instead (the guard's last good copy) */
	struct ll_plugin_opts opts;
	struct ll_plugin_status st; /* under ll_plugin_status_lock */
	unsigned next_number;
	bool transient;            /* the last load failed for want of a resource: retry it */
	/* retire.c */
	struct ll_pversion *retiring; /* published over, waiting for a grace period */
	unsigned nretiring;
	struct ll_pversion *closed;   /* dlclose'd, still mapped or not checked yet */
	int maps_fd;                  /* /proc/self/maps, opened once */
	/* guard.c: the crash-loop guard (opt-in) */
	int guard_dirfd;
	char guard_bad[17];           /* content hash of a file that crashed a previous run's load */
	char guard_good[17];          /* content hash of the last version that loaded */
	char *guard_copy;             /* GUARD_DIR/last-good.so */
	/* watch.c */
	bool watching;
	pthread_t watch_thread;
	int inotify_fd;
	int stop_fd;                  /* eventfd: tells the watcher to stop */
	struct ll_watch_entry *watches;
	size_t nwatches;
	struct stat loaded_from;      /* the file the serving version came from */
};

/* snapshot.c */
/* Copy the file into a sealed memfd. -EAGAIN when the file changed during
 * the copy (size or times), -EFBIG over max. why gets the reason. */
int ll_snapshot_take(const char *path, size_t max, struct ll_snapshot *out, char *why, size_t why_size);
void ll_snapshot_release(struct ll_snapshot *s);
/* 1 when both snapshots hold the same bytes, 0 if not, -errno. */
int ll_snapshot_same(const struct ll_snapshot *a, const struct ll_snapshot *b);
/* Why a shared object may refuse to unmap (nodelete flag, unique symbols),
 * appended to buf. */
void ll_snapshot_explain_nodelete(const struct ll_snapshot *s, char *buf, size_t size);

/* host.c */
/* Load the file and, if it passes, publish it (LL_LOAD_* flags). Returns
 * the new version number, 0 when skipped (same bytes), or -errno (old
 * version kept; p->transient tells a failure for want of a resource). */
int ll_plugin_load_locked(struct ll_plugin *p, unsigned flags);
/* Send an event to the on_event callback. */
void ll_plugin_emit(struct ll_plugin *p, enum ll_plugin_event_kind kind, unsigned version, int err,
		    const char *msg);
/* Adjust the status counters (under the status lock). */
void ll_plugin_count_stuck(struct ll_plugin *p, int delta);
void ll_plugin_count_retiring(struct ll_plugin *p, unsigned n);
/* Set the watcher's part of the status. */
void ll_plugin_set_watch_status(struct ll_plugin *p, bool live, bool rearmed);

/* retire.c (under p->lock) */
/* Open /proc/self/maps once, for every later unmapped check. */
int ll_retire_open_maps(struct ll_plugin *p);
/* Queue a version that no longer serves for the next flush. */
void ll_retire_queue(struct ll_plugin *p, struct ll_pversion *v);
/* A version dlclose'd by the caller (a rejected one): check it unmapped. */
void ll_retire_closed(struct ll_plugin *p, struct ll_pversion *v);
/* One grace period for the whole queue, fini + dlclose each, one maps pass
 * for them and for earlier ones still mapped. */
void ll_retire_flush(struct ll_plugin *p);
/* Flush, then forget what stays mapped (its memfd stays open) and close
 * the maps descriptor. */
void ll_retire_close(struct ll_plugin *p);

/* hooks.c: run v's init, then (carry_state) old's save and v's restore in a
 * thread, under the init deadline. 0, -errno with why, or -ETIMEDOUT (v,
 * and old when stuck in its save, pinned). *inited: fini must run. */
int ll_hooks_run(struct ll_plugin *p, struct ll_pversion *v, struct ll_pversion *old, bool carry_state,
		 bool *inited, char *why, size_t size);

/* guard.c: the crash-loop guard (opts.guard_dir). */
/* Open (create) the guard directory and learn what a previous run was
 * loading when it died. 0 or -errno. */
int ll_guard_open(struct ll_plugin *p, char *why, size_t size);
/* Before the in-process load of snap: 0, or -EDEADLK when this very file
 * crashed a previous run's load (why says so). Records it as loading. */
int ll_guard_begin(struct ll_plugin *p, const struct ll_snapshot *snap, char *why, size_t size);
/* After the load: ok records snap as the last good version. */
void ll_guard_end(struct ll_plugin *p, const struct ll_snapshot *snap, bool ok);
/* The path of the last good copy, when a previous run crashed while
 * loading the current file; NULL otherwise. */
const char *ll_guard_fallback(struct ll_plugin *p);
void ll_guard_close(struct ll_plugin *p);

/* dyncheck.c: the dynamic tables ld.so will trust (DT_*, relocations,
 * symbols, strings, hash tables) lie inside the loaded segments; called by
 * ll_plugin_check_elf() once the headers are known to be whole. 0 or
 * -ENOEXEC with the reason in why. */
int ll_plugin_check_dynamic(const void *buf, size_t len, char *why, size_t why_size);

/* probe.c: load the snapshot with the system's dynamic loader in a child
 * process (relocations done, no constructor run). 0 when the child exited
 * (or no verdict could be had), -ELIBBAD when it died of a signal (named in
 * why), -ETIMEDOUT past timeout_ms, or the errno of starting it. */
int ll_probe_load(const struct ll_snapshot *s, unsigned timeout_ms, char *why, size_t why_size);

/* mappers.c: /proc/PID/comm without its newline ("?" if unreadable). */
int ll_proc_comm(pid_t pid, char comm[32]);

/* watch.c: prepare (inotify watches along the path) before the first
 * load, so that no change is missed; start the thread after it; stop undoes
 * both. */
int ll_watch_prepare(struct ll_plugin *p);
int ll_watch_start(struct ll_plugin *p);
void ll_watch_stop(struct ll_plugin *p);

#pragma GCC visibility pop

#endif
