/* plugin_private.h: the plugin host's internal structures, shared by host.c
 * (load, publish, retire), snapshot.c (memfd copies) and watch.c (inotify).
 * Not installed. */
#ifndef LL_PLUGIN_PRIVATE_H
#define LL_PLUGIN_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <urcu/call-rcu.h>

#include "lifeline/plugin.h"

/* Everything declared here stays inside liblifeline. */
#pragma GCC visibility push(hidden)

/* A private, sealed copy of the plugin file. */
struct ll_snapshot {
	int fd;          /* the memfd (sealed), or -1 */
	size_t size;
	dev_t dev;       /* the memfd's device and inode, to find its mappings */
	ino_t ino;
};

/* One loaded version. Immutable once published. */
struct ll_pversion {
	const void *table;                        /* hot: read by enter() */
	void *handle;                             /* dlopen handle */
	const struct ll_plugin_descriptor *desc;
	struct ll_snapshot snap;                  /* kept open while mapped */
	unsigned number;
	struct timespec loaded_at;
	struct ll_pversion *next;                 /* in the still-mapped list */
	struct rcu_head rcu;                      /* deferred retire (watcher) */
	struct ll_plugin *owner;
};

struct ll_plugin {
	struct ll_pversion *cur;   /* RCU-protected: the serving version */
	pthread_mutex_t lock;      /* serialises loads and the status */
	char *path;
	char *dir;                 /* the file's directory and base name (watch) */
	char *base;
	struct ll_plugin_opts opts;
	struct ll_plugin_status st;
	unsigned next_number;
	struct ll_pversion *stuck; /* old versions that stayed mapped */
	/* watcher */
	bool watching;
	pthread_t watch_thread;
	int inotify_fd;
	int stop_fd;               /* eventfd: tells the watcher to stop */
};

/* snapshot.c */
/* Copy the file into a sealed memfd. -EAGAIN when the file changed during
 * the copy (size or times), -EFBIG over max. why gets the reason. */
int ll_snapshot_take(const char *path, size_t max, struct ll_snapshot *out, char *why, size_t why_size);
void ll_snapshot_release(struct ll_snapshot *s);
/* 1 when both snapshots hold the same bytes, 0 if not, -errno. */
int ll_snapshot_same(const struct ll_snapshot *a, const struct ll_snapshot *b);
/* 1 when a mapping of the snapshot is still in this process's map. */
int ll_snapshot_mapped(const struct ll_snapshot *s);
/* Why a shared object may refuse to unmap (nodelete flag, unique symbols),
 * appended to buf. */
void ll_snapshot_explain_nodelete(const struct ll_snapshot *s, char *buf, size_t size);

/* host.c */
/* Load the file and, if it passes, publish it. skip_same: skip when the
 * bytes equal the serving version's (returns 0). defer: retire the old
 * version after the grace period from liburcu's call_rcu thread instead of
 * waiting for it here (the watcher: ready for the next change at once).
 * Returns the new version number, 0 when skipped, or -errno (old version
 * kept). */
int ll_plugin_load_locked(struct ll_plugin *p, bool skip_same, bool defer);

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

/* watch.c: prepare (inotify watch on the directory) before the first load,
 * so that no change is missed; start the thread after it; stop undoes both. */
int ll_watch_prepare(struct ll_plugin *p);
int ll_watch_start(struct ll_plugin *p);
void ll_watch_stop(struct ll_plugin *p);

#pragma GCC visibility pop

#endif
