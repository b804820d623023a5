/* watch.c: automatic reload through inotify, following the path.
 *
 * What is watched is the path, not the inode first seen. The watch set is
 * built by walking the path: for each hop (the path itself, then each
 * symlink's target, at most 8) its directory is watched for the entry's
 * name, and that directory's parent for the directory's name. So are seen:
 * a rename over the file (install, mv: IN_MOVED_TO), a rewrite in place
 * (cp: IN_CLOSE_WRITE), a hard link (IN_CREATE), a re-pointed symlink, a
 * directory swapped by a deploy (mv dir dir.old; mkdir dir), the directory
 * itself moved or deleted (IN_MOVE_SELF, IN_DELETE_SELF, IN_IGNORED). A
 * change of a hop or a directory re-arms the whole set (LL_PLUGIN_EV_WATCH_
 * REARMED); when the file's directory is gone, the nearest existing
 * ancestor is watched for it to come back, the status says the watch is not
 * live and LL_PLUGIN_EV_WATCH_LOST is sent.
 *
 * A rename puts a complete file in place: it is loaded at once. A
 * close-after-write waits until the file has been left unchanged for the
 * settle time (restarted by every further event, and checked against the
 * file's mtime), so that a writer that closes between chunks is not caught
 * half-way; a bare IN_CREATE waits 200 ms for the close that usually
 * follows (a hard link has none). Many changes in a burst give one load of
 * the newest file. A load that failed for want of a resource is retried
 * with backoff (10 ms doubling to 1 s). Old versions are retired in batches
 * when the watcher is idle (or by the load when LL_PLUGIN_MAX_RETIRING
 * wait). PATH.fresh appearing next to the plugin path asks for a reload
 * without the old state (the way out of a state trap); the marker is
 * removed. One thread per watched plugin; asynchronous signals blocked,
 * synchronous fatal ones not (a crash here reaches the crash reporter);
 * stopped through an eventfd. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "plugin/plugin_private.h"

#define CREATE_QUIET_MS 200
#define RETIRE_IDLE_MS 10
#define BACKOFF_MIN_MS 10
#define BACKOFF_MAX_MS 1000
#define MAX_HOPS 8

#define SELF_EVENTS (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)
#define NAME_EVENTS (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE)
#define FILE_MASK (IN_CLOSE_WRITE | NAME_EVENTS | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
#define DIR_MASK (NAME_EVENTS | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

enum kind { W_FILE, W_LINK, W_DIR };

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void drop_watches(struct ll_plugin *p)
{
	for (size_t i = 0; i < p->nwatches; i++) {
		inotify_rm_watch(p->inotify_fd, p->watches[i].wd); /* EINVAL for a shared wd: fine */
		free(p->watches[i].dir);
		free(p->watches[i].name);
	}
	free(p->watches);
	p->watches = NULL;
	p->nwatches = 0;
}

/* Watch dir for name (kind). 0, or -errno (ENOENT: dir is missing). */
static int add_watch(struct ll_plugin *p, const char *dir, const char *name, enum kind kind, bool first)
{
	struct ll_watch_entry *w;
	int wd = inotify_add_watch(p->inotify_fd, dir, (kind == W_DIR ? DIR_MASK : FILE_MASK) | IN_MASK_ADD);

	if (wd < 0)
		return -errno;
	w = realloc(p->watches, (p->nwatches + 1) * sizeof(*w));
	if (!w)
		return -ENOMEM;
	p->watches = w;
	w = &w[p->nwatches];
	w->wd = wd;
	w->dir = strdup(dir);
	w->name = strdup(name);
	w->kind = kind;
	w->first = first;
	if (!w->dir || !w->name) {
		free(w->dir);
		free(w->name);
		return -ENOMEM;
	}
	p->nwatches++;
	return 0;
}

/* Split path into its directory and last name (static-free copies). */
static int split(const char *path, char **dir, char **name)
{
	const char *slash = strrchr(path, '/');

	*dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
	*name = strdup(slash + 1);
	if (!*dir || !*name) {
		free(*dir);
		free(*name);
		return -ENOMEM;
	}
	return 0;
}

/* Watch the parent of dir for dir's name; when the parent is missing too,
 * the nearest existing ancestor for the next name down. */
static int watch_dir_name(struct ll_plugin *p, const char *dir)
{
	char *up = strdup(dir), *parent, *name;
	int r = -ENOENT;

	if (!up)
		return -ENOMEM;
	while (strcmp(up, "/") != 0 && r == -ENOENT) {
		r = split(up, &parent, &name);
		if (r < 0)
			break;
		r = add_watch(p, parent, name, W_DIR, false);
		free(name);
		free(up);
		up = parent;
	}
	free(up);
	return r;
}

/* Build the watch set along the path. *live: the file's directory is
 * watched; where receives what is watched (for the events). */
static int arm(struct ll_plugin *p, bool *live, char *where, size_t size)
{
	char *cur = strdup(p->path), *dir = NULL, *name = NULL;
	int r = 0;

	*live = false;
	where[0] = '\0';
	drop_watches(p);
	if (!cur)
		return -ENOMEM;
	for (int hop = 0; hop < MAX_HOPS; hop++) {
		struct stat st;
		enum kind kind;
		char target[PATH_MAX];
		ssize_t n;

		r = split(cur, &dir, &name);
		if (r < 0)
			break;
		if (strcmp(dir, "/") != 0) {
			r = watch_dir_name(p, dir);
			if (r < 0 && r != -ENOENT)
				break;
		}
		kind = lstat(cur, &st) == 0 && S_ISLNK(st.st_mode) ? W_LINK : W_FILE;
		r = add_watch(p, dir, name, kind, hop == 0);
		if (r < 0) {
			snprintf(where, size, "%s is missing (%s): its parent is watched for it to come back", dir,
				 strerror(-r));
			r = r == -ENOENT || r == -ENOTDIR ? 0 : r;
			break;
		}
		if (kind == W_FILE) {
			*live = true;
			snprintf(where, size, "%s in %s", name, dir);
			break;
		}
		n = readlink(cur, target, sizeof(target) - 1);
		if (n <= 0) {
			*live = true;
			break;
		}
		target[n] = '\0';
		free(cur);
		if (target[0] == '/')
			cur = strdup(target);
		else if (asprintf(&cur, "%s/%s", strcmp(dir, "/") ? dir : "", target) < 0)
			cur = NULL;
		free(dir);
		free(name);
		dir = name = NULL;
		if (!cur)
			return -ENOMEM;
	}
	free(dir);
	free(name);
	free(cur);
	return r;
}

/* Re-arm and tell the host what happened. */
static void rearm(struct ll_plugin *p, bool was_live)
{
	char where[4200], msg[4400];
	bool live = false;
	int r = arm(p, &live, where, sizeof(where));

	if (r < 0)
		snprintf(where, sizeof(where), "inotify: %s", strerror(-r));
	ll_plugin_set_watch_status(p, live, true);
	if (live) {
		snprintf(msg, sizeof(msg), "%s: the watcher followed the path anew: now watching %s", p->path, where);
		ll_plugin_emit(p, LL_PLUGIN_EV_WATCH_REARMED, 0, 0, msg);
	} else if (was_live || r < 0) {
		snprintf(msg, sizeof(msg), "%s: automatic reload is off until the file's directory is back: %s; "
			 "ll_plugin_reload() still works", p->path, where);
		ll_plugin_emit(p, LL_PLUGIN_EV_WATCH_LOST, 0, r < 0 ? r : -ENOENT, msg);
	}
}

/* Is what the path names now another file than the serving version's? */
static bool file_changed(struct ll_plugin *p)
{
	struct stat st;

	if (stat(p->path, &st) < 0)
		return false;
	return st.st_dev != p->loaded_from.st_dev || st.st_ino != p->loaded_from.st_ino ||
	       st.st_size != p->loaded_from.st_size || st.st_mtim.tv_sec != p->loaded_from.st_mtim.tv_sec ||
	       st.st_mtim.tv_nsec != p->loaded_from.st_mtim.tv_nsec;
}

/* Milliseconds the file must still be left alone (mtime younger than the
 * settle time), 0 when settled. */
static int64_t unsettled_ms(struct ll_plugin *p)
{
	struct timespec wall;
	struct stat st;
	int64_t age;

	if (stat(p->path, &st) < 0)
		return 0;
	clock_gettime(CLOCK_REALTIME, &wall);
	age = ((int64_t)wall.tv_sec - st.st_mtim.tv_sec) * 1000 + (wall.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
	return age >= 0 && age < (int64_t)p->opts.settle_ms ? (int64_t)p->opts.settle_ms - age : 0;
}

struct wstate {
	int64_t due;       /* when to load, -1: nothing to load */
	bool settle;       /* check the mtime first (close-after-write) */
	bool fresh;        /* a PATH.fresh marker asked for it */
	bool rearm;
	int64_t retire_due;
	unsigned backoff;
};

static void at_most(struct wstate *w, int64_t when)
{
	if (w->due < 0 || when < w->due)
		w->due = when;
}

static void on_event(struct ll_plugin *p, struct wstate *w, const struct inotify_event *ev, const char *fresh_name)
{
	int64_t now = now_ms();

	if (ev->mask & IN_Q_OVERFLOW) {
		w->rearm = true;
		w->settle = true;
		at_most(w, now + p->opts.settle_ms);
		return;
	}
	for (size_t i = 0; i < p->nwatches; i++) {
		const struct ll_watch_entry *e = &p->watches[i];

		if (e->wd != ev->wd)
			continue;
		if (ev->mask & SELF_EVENTS) {
			w->rearm = true;
			continue;
		}
		if (!ev->len)
			continue;
		if (e->first && !strcmp(ev->name, fresh_name) && (ev->mask & (IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO))) {
			w->fresh = true;
			at_most(w, now);
			continue;
		}
		if (strcmp(ev->name, e->name) != 0)
			continue;
		if (e->kind != W_FILE) {
			if (ev->mask & NAME_EVENTS)
				w->rearm = true;
			continue;
		}
		if (ev->mask & IN_MOVED_TO) {
			at_most(w, now); /* renamed into place: complete */
		} else if (ev->mask & IN_CLOSE_WRITE) {
			/* restart the quiet period, unless a rename made it due now */
			if (w->due < 0 || w->due > now)
				w->due = now + (p->opts.settle_ms > p->opts.debounce_ms ? p->opts.settle_ms
											 : p->opts.debounce_ms);
			w->settle = true;
		} else if (ev->mask & IN_CREATE) {
			at_most(w, now + CREATE_QUIET_MS);
		}
	}
}

static void do_load(struct ll_plugin *p, struct wstate *w)
{
	unsigned flags = LL_LOAD_DEFER | (p->opts.flags & LL_PLUGIN_SKIP_SAME ? LL_LOAD_SKIP_SAME : 0);
	int r;

	if (w->settle) {
		int64_t wait = unsettled_ms(p);

		if (wait > 0) {
			w->due = now_ms() + wait;
			return;
		}
	}
	if (w->fresh)
		flags = (flags & ~LL_LOAD_SKIP_SAME) | LL_LOAD_FRESH;
	w->due = -1;
	w->settle = false;
	pthread_mutex_lock(&p->lock);
	r = ll_plugin_load_locked(p, flags);
	if (r < 0 && p->transient) {
		w->backoff = w->backoff ? (w->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff * 2)
					: BACKOFF_MIN_MS;
		w->due = now_ms() + w->backoff;
	} else {
		w->backoff = 0;
	}
	if (p->nretiring || p->closed)
		w->retire_due = now_ms() + RETIRE_IDLE_MS;
	pthread_mutex_unlock(&p->lock);
	if (w->fresh && w->due < 0) {
		char marker[PATH_MAX];

		snprintf(marker, sizeof(marker), "%s.fresh", p->path);
		unlink(marker);
		w->fresh = false;
	}
}

static void *watch_main(void *arg)
{
	struct ll_plugin *p = arg;
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	char fresh_name[NAME_MAX + 8];
	struct wstate w = { .due = -1, .retire_due = -1 };
	const char *base = strrchr(p->path, '/') + 1;

	snprintf(fresh_name, sizeof(fresh_name), "%s.fresh", base);
	for (;;) {
		struct pollfd pf[2] = {
			{ .fd = p->inotify_fd, .events = POLLIN },
			{ .fd = p->stop_fd, .events = POLLIN },
		};
		int64_t now = now_ms(), next = w.due;
		int timeout, n;

		if (w.retire_due >= 0 && (next < 0 || w.retire_due < next))
			next = w.retire_due;
		timeout = next < 0 ? -1 : next <= now ? 0 : (int)(next - now);
		n = poll(pf, 2, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || pf[1].revents)
			break;
		if (pf[0].revents & POLLIN) {
			for (;;) {
				ssize_t len = read(p->inotify_fd, buf, sizeof(buf));

				if (len <= 0)
					break;
				for (char *c = buf; c < buf + len;) {
					const struct inotify_event *ev = (const struct inotify_event *)c;

					c += sizeof(*ev) + ev->len;
					on_event(p, &w, ev, fresh_name);
				}
			}
		}
		if (w.rearm) {
			bool was_live;
			struct ll_plugin_status st;

			w.rearm = false;
			ll_plugin_status(p, &st);
			was_live = st.watch_live;
			rearm(p, was_live);
			pthread_mutex_lock(&p->lock);
			if (file_changed(p))
				at_most(&w, now_ms() + CREATE_QUIET_MS);
			pthread_mutex_unlock(&p->lock);
		}
		now = now_ms();
		if (w.due >= 0 && w.due <= now) {
			do_load(p, &w);
			continue;
		}
		if (w.retire_due >= 0 && w.retire_due <= now && (w.due < 0 || w.due > now + RETIRE_IDLE_MS)) {
			w.retire_due = -1;
			pthread_mutex_lock(&p->lock);
			ll_retire_flush(p);
			pthread_mutex_unlock(&p->lock);
		}
	}
	return NULL;
}

int ll_watch_prepare(struct ll_plugin *p)
{
	char where[4200];
	bool live;
	int r;

	p->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (p->inotify_fd < 0)
		return -errno;
	r = arm(p, &live, where, sizeof(where));
	if (r == 0 && !live)
		r = -ENOENT; /* at open, the file's directory must exist */
	if (r < 0)
		goto fail;
	ll_plugin_set_watch_status(p, true, false);
	p->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (p->stop_fd < 0) {
		r = -errno;
		goto fail;
	}
	return 0;
fail:
	drop_watches(p);
	close(p->inotify_fd);
	p->inotify_fd = -1;
	return r;
}

int ll_watch_start(struct ll_plugin *p)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS };
	sigset_t all, old;
	int r;

	/* Asynchronous signals are the host's business, not this thread's;
	 * the synchronous fatal ones stay unblocked, so that a crash in the
	 * watcher (in a plugin's init, say) reaches the crash reporter. */
	sigfillset(&all);
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigdelset(&all, fatal[i]);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&p->watch_thread, NULL, watch_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		return r;
	pthread_setname_np(p->watch_thread, "ll-plugin-watch");
	p->watching = true;
	return 0;
}

void ll_watch_stop(struct ll_plugin *p)
{
	uint64_t one = 1;

	if (p->watching) {
		if (write(p->stop_fd, &one, sizeof(one)) < 0) {
			/* an eventfd write of 1 cannot fail short of a bug; join anyway */
		}
		pthread_join(p->watch_thread, NULL);
		p->watching = false;
		ll_plugin_set_watch_status(p, false, false);
	}
	if (p->stop_fd >= 0)
		close(p->stop_fd);
	if (p->inotify_fd >= 0) {
		drop_watches(p);
		close(p->inotify_fd);
	}
	p->inotify_fd = p->stop_fd = -1;
}
