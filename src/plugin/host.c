/* host.c: the plugin host: load a version beside the serving one, check it,
 * publish it under RCU, hand the old one to retire.c.
 *
 * Readers (ll_plugin_enter/leave) are urcu-bp read-side critical sections:
 * urcu-bp registers a thread by itself on its first read lock, so a library
 * can offer it without asking every caller thread to register, and with
 * sys_membarrier the read lock is a thread-local counter update. Writers
 * (open, reload, the watcher thread, close) are serialised by p->lock:
 * snapshot -> ELF and dynamic-table checks -> test load in a child
 * (probe.c) -> [crash-loop guard: record what is loading] -> dlopen ->
 * descriptor, name, ABI checks -> init, save, restore under a deadline
 * (hooks.c) -> rcu_assign_pointer -> the old version is queued for retire
 * (retire.c: one grace period for a batch, fini, dlclose, unmapped check).
 * An explicit reload flushes the queue before it returns; the watcher
 * flushes it when idle or when LL_PLUGIN_MAX_RETIRING versions wait. A load
 * that failed for want of a resource (descriptors, memory, threads) sets
 * p->transient, and the watcher retries it with backoff. The status has its
 * own small lock, so that an on_event callback may call ll_plugin_status().
 *
 * The read side is inlined from liburcu's headers (_LGPL_SOURCE) except in
 * sanitized builds: liburcu 0.13's urcu-bp places its 128-byte-aligned
 * reader structs at a 16-byte offset in its registry, which UBSan flags on
 * every read lock (harmless on x86: each field is naturally aligned); there
 * the library's own, uninstrumented, out-of-line read lock is called. */
#include "ll_config.h"
#if !LL_SANITIZED
#define _LGPL_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <urcu-bp.h>

#include "common/common.h"
#include "plugin/plugin_private.h"

#define DEFAULT_MAX_SIZE ((size_t)256 << 20)
#define DEFAULT_SETTLE_MS 1000
#define DEFAULT_INIT_TIMEOUT_MS 5000
#define DEFAULT_MAX_STATE ((size_t)64 << 20)

static pthread_mutex_t status_lock = PTHREAD_MUTEX_INITIALIZER;

/* The inline calls (plugin.h) read the table through this one. */
_Static_assert(offsetof(struct ll_plugin, table) == 0, "struct ll_plugin must start with table");

/* Copy a string, cut to size. */
static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void ll_plugin_emit(struct ll_plugin *p, enum ll_plugin_event_kind kind, unsigned version, int err,
		    const char *msg)
{
	struct ll_plugin_event ev = {
		.kind = kind, .version = version, .err = err, .message = msg, .path = p->path,
	};

	if (p->opts.on_event)
		p->opts.on_event(&ev, p->opts.userdata);
}

void ll_plugin_count_stuck(struct ll_plugin *p, int delta)
{
	pthread_mutex_lock(&status_lock);
	p->st.still_mapped = (unsigned)((int)p->st.still_mapped + delta);
	pthread_mutex_unlock(&status_lock);
}

void ll_plugin_count_retiring(struct ll_plugin *p, unsigned n)
{
	pthread_mutex_lock(&status_lock);
	p->st.retiring = n;
	pthread_mutex_unlock(&status_lock);
}

void ll_plugin_set_watch_status(struct ll_plugin *p, bool live, bool rearmed)
{
	pthread_mutex_lock(&status_lock);
	p->st.watch_live = live;
	if (rearmed)
		p->st.watch_rearms++;
	pthread_mutex_unlock(&status_lock);
}

static int reject(struct ll_plugin *p, int err, const char *why)
{
	char msg[768];
	unsigned serving = p->cur ? p->cur->number : 0;

	if (serving)
		snprintf(msg, sizeof(msg), "%s: new version rejected: %s%s; version %u keeps serving", p->path, why,
			 p->transient && p->watching ? " (for want of a resource: retried with backoff)" : "",
			 serving);
	else
		snprintf(msg, sizeof(msg), "%s: not loaded: %s", p->path, why);
	pthread_mutex_lock(&status_lock);
	p->st.loads_failed++;
	p->st.last_error = err;
	copy_str(p->st.last_error_msg, sizeof(p->st.last_error_msg), msg);
	clock_gettime(CLOCK_REALTIME, &p->st.last_error_at);
	p->st.health = err;
	copy_str(p->st.health_msg, sizeof(p->st.health_msg), msg);
	if (err == -ETIMEDOUT && strstr(why, "is left running"))
		p->st.init_stuck++, copy_str(p->st.init_stuck_msg, sizeof(p->st.init_stuck_msg), msg);
	pthread_mutex_unlock(&status_lock);
	ll_plugin_emit(p, LL_PLUGIN_EV_REJECTED, 0, err, msg);
	return err;
}

/* dlclose a version that failed its checks (never published) and see that
 * it leaves the address space; one whose hook thread still runs is kept. */
static void unload_rejected(struct ll_plugin *p, struct ll_pversion *v, bool run_fini)
{
	if (!v->pinned) {
		if (run_fini && v->desc && v->desc->fini)
			v->desc->fini();
		dlclose(v->handle);
	}
	ll_retire_closed(p, v);
}

/* A failure for want of a resource: the same file may load in a moment. */
static bool resource_error(int err)
{
	return err == -EMFILE || err == -ENFILE || err == -ENOMEM || err == -ENOBUFS || err == -EAGAIN;
}

/* The descriptor, if the object itself (not a dependency) defines it. */
static const struct ll_plugin_descriptor *find_descriptor(void *handle)
{
	struct link_map *own = NULL, *where = NULL;
	Dl_info info;
	void *sym;

	sym = dlsym(handle, LL_PLUGIN_SYMBOL);
	if (!sym)
		return NULL;
	if (dlinfo(handle, RTLD_DI_LINKMAP, &own) != 0 ||
	    !dladdr1(sym, &info, (void **)&where, RTLD_DL_LINKMAP) || where != own)
		return NULL;
	return sym;
}

/* dlopen the snapshot and run every check and hook up to restore. On
 * failure the version is unloaded (or parked when it stays mapped). */
static int load_version(struct ll_plugin *p, struct ll_pversion *v, bool carry_state, char *why, size_t size)
{
	const struct ll_plugin_descriptor *d;
	struct ll_pversion *old = p->cur;
	char fdpath[64];
	bool inited = false;
	int r;

	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", v->snap.fd);
	dlerror();
	v->handle = dlopen(fdpath, RTLD_NOW | RTLD_LOCAL);
	if (!v->handle) {
		const char *e = dlerror();

		ll_fail_why(-ELIBBAD, why, size, "dlopen failed: %s", e ? e : "unknown error");
		if (e && (strstr(e, strerror(EMFILE)) || strstr(e, strerror(ENFILE)) || strstr(e, strerror(ENOMEM))))
			p->transient = true;
		ll_snapshot_release(&v->snap);
		free(v);
		return -ELIBBAD;
	}
	d = find_descriptor(v->handle);
	if (!d) {
		r = ll_fail_why(-ENOEXEC, why, size,
			  "no plugin descriptor: the file does not export " LL_PLUGIN_SYMBOL
			  " (define one with LL_PLUGIN(...))");
		goto fail;
	}
	if (d->magic != LL_PLUGIN_MAGIC) {
		r = ll_fail_why(-ENOEXEC, why, size, "the descriptor has a bad magic number 0x%08x", d->magic);
		goto fail;
	}
	if (d->size < sizeof(struct ll_plugin_descriptor)) {
		r = ll_fail_why(-EPROTO, why, size, "the descriptor is %u bytes, this host needs %zu: rebuild the plugin "
			  "against this lifeline", d->size, sizeof(struct ll_plugin_descriptor));
		goto fail;
	}
	if (p->opts.name && (!d->name || strcmp(d->name, p->opts.name))) {
		r = ll_fail_why(-EPROTO, why, size, "plugin name is '%s', the host wants '%s'", d->name ? d->name : "",
			  p->opts.name);
		goto fail;
	}
	if (d->abi != p->opts.abi) {
		r = ll_fail_why(-EPROTO, why, size, "ABI version %u, the host wants %u: rebuild the plugin against the "
			  "host's table definition", d->abi, p->opts.abi);
		goto fail;
	}
	if (!d->table) {
		r = ll_fail_why(-EPROTO, why, size, "the descriptor has no function table");
		goto fail;
	}
	v->desc = d;
	v->table = d->table;
	r = ll_hooks_run(p, v, old, carry_state, &inited, why, size);
	if (r < 0)
		goto fail;
	return 0;
fail:
	v->desc = inited ? d : NULL;
	unload_rejected(p, v, inited);
	return r;
}

int ll_plugin_load_locked(struct ll_plugin *p, unsigned flags)
{
	struct ll_pversion *v, *old = p->cur;
	bool carry = !(flags & LL_LOAD_FRESH) && old && old->desc->save;
	char why[640], msg[768];
	int r;

	p->transient = false;
	v = calloc(1, sizeof(*v));
	if (!v) {
		p->transient = true;
		return reject(p, -ENOMEM, "out of memory");
	}
	r = ll_snapshot_take(p->load_from ? p->load_from : p->path, p->opts.max_size, &v->snap, why, sizeof(why));
	if (r < 0) {
		free(v);
		/* The file's own -EAGAIN (being written) is retried at its next change. */
		p->transient = resource_error(r) && r != -EAGAIN;
		if (r == -EAGAIN && p->watching)
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 "; it is retried at the next change of the file");
		return reject(p, r, why);
	}
	if ((flags & LL_LOAD_SKIP_SAME) && old && ll_snapshot_same(&v->snap, &old->snap) == 1) {
		ll_snapshot_release(&v->snap);
		free(v);
		return 0;
	}
	if (!(p->opts.flags & LL_PLUGIN_NO_PROBE)) {
		r = ll_probe_load(&v->snap, p->opts.init_timeout_ms, why, sizeof(why));
		if (r < 0) {
			p->transient = resource_error(r);
			ll_snapshot_release(&v->snap);
			free(v);
			return reject(p, r, why);
		}
	}
	if (p->guard_dirfd >= 0) {
		r = ll_guard_begin(p, &v->snap, why, sizeof(why));
		if (r < 0) {
			ll_snapshot_release(&v->snap);
			free(v);
			return reject(p, r, why);
		}
	}
	r = load_version(p, v, carry, why, sizeof(why));
	if (p->guard_dirfd >= 0)
		ll_guard_end(p, r < 0 ? NULL : &v->snap, r == 0);
	if (r < 0)
		return reject(p, r, why);
	v->number = ++p->next_number;
	clock_gettime(CLOCK_REALTIME, &v->loaded_at);
	p->cur = v;
	rcu_assign_pointer(p->table, (void *)v->table); /* const to the readers */
	p->loaded_from = v->snap.src;
	pthread_mutex_lock(&status_lock);
	p->st.version = v->number;
	copy_str(p->st.name, sizeof(p->st.name), v->desc->name ? v->desc->name : "");
	p->st.abi = v->desc->abi;
	p->st.loaded_at = v->loaded_at;
	p->st.loads_ok++;
	p->st.health = 0;
	p->st.health_msg[0] = '\0';
	pthread_mutex_unlock(&status_lock);
	snprintf(msg, sizeof(msg), "%s: version %u loaded (%s, ABI %u, %zu bytes)%s", p->path, v->number,
		 p->st.name, v->desc->abi, v->snap.size,
		 carry && v->desc->restore ? ", state carried over"
		 : old && (flags & LL_LOAD_FRESH) ? ", started without the old version's state (fresh)" : "");
	ll_plugin_emit(p, LL_PLUGIN_EV_LOADED, v->number, 0, msg);
	if (old) {
		ll_retire_queue(p, old);
		if (!(flags & LL_LOAD_DEFER) || p->nretiring >= LL_PLUGIN_MAX_RETIRING)
			ll_retire_flush(p);
	}
	return (int)v->number;
}

int ll_plugin_open(const char *path, const struct ll_plugin_opts *opts, struct ll_plugin **out,
		   char *errmsg, size_t errmsg_size)
{
	struct ll_plugin *p;
	const char *slash;
	int r;

	*out = NULL;
	if (errmsg && errmsg_size)
		errmsg[0] = '\0';
	if (!path || !*path)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->inotify_fd = p->stop_fd = p->maps_fd = p->guard_dirfd = -1;
	pthread_mutex_init(&p->lock, NULL);
	if (opts)
		p->opts = *opts;
	p->opts.name = NULL; /* our own copy, below: close() frees it */
	if (opts && opts->name) {
		p->opts.name = strdup(opts->name);
		if (!p->opts.name) {
			r = -ENOMEM;
			goto fail;
		}
	}
	if (!p->opts.max_size)
		p->opts.max_size = DEFAULT_MAX_SIZE;
	if (!p->opts.debounce_ms)
		p->opts.debounce_ms = 1;
	if (!p->opts.settle_ms)
		p->opts.settle_ms = DEFAULT_SETTLE_MS;
	if (!p->opts.init_timeout_ms)
		p->opts.init_timeout_ms = DEFAULT_INIT_TIMEOUT_MS;
	if (!p->opts.max_state)
		p->opts.max_state = DEFAULT_MAX_STATE;
	/* A relative path is made absolute now (a later chdir must not move
	 * it); symlinks are left alone, so that each reload follows them. */
	if (path[0] != '/') {
		char cwd[4096];

		if (!getcwd(cwd, sizeof(cwd))) {
			r = -errno;
			goto fail;
		}
		if (asprintf(&p->path, "%s/%s", cwd, path) < 0)
			p->path = NULL;
	} else {
		p->path = strdup(path);
	}
	if (!p->path) {
		r = -ENOMEM;
		goto fail;
	}
	slash = strrchr(p->path, '/');
	if (!slash[1]) {
		r = -EISDIR;
		goto fail;
	}
	r = ll_retire_open_maps(p);
	if (r < 0) {
		snprintf(p->st.last_error_msg, sizeof(p->st.last_error_msg), "%s: cannot open /proc/self/maps: %s",
			 p->path, strerror(-r));
		goto fail;
	}
	if (p->opts.guard_dir) {
		r = ll_guard_open(p, p->st.last_error_msg, sizeof(p->st.last_error_msg));
		if (r < 0)
			goto fail;
	}
	if (p->opts.flags & LL_PLUGIN_WATCH) {
		r = ll_watch_prepare(p);
		if (r < 0) {
			snprintf(p->st.last_error_msg, sizeof(p->st.last_error_msg),
				 "%s: cannot watch its directory: %s", p->path, strerror(-r));
			goto fail;
		}
	}
	pthread_mutex_lock(&p->lock);
	r = ll_plugin_load_locked(p, 0);
	if (r == -EDEADLK && ll_guard_fallback(p)) {
		/* This file crashed the previous run: start on the last good copy. */
		p->load_from = ll_guard_fallback(p);
		r = ll_plugin_load_locked(p, 0);
		p->load_from = NULL;
		if (r > 0) {
			pthread_mutex_lock(&status_lock);
			p->st.guard_fallback = true;
			p->st.health = -EDEADLK;
			copy_str(p->st.health_msg, sizeof(p->st.health_msg), p->st.last_error_msg);
			pthread_mutex_unlock(&status_lock);
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (r < 0)
		goto fail;
	if (p->opts.flags & LL_PLUGIN_WATCH) {
		r = ll_watch_start(p);
		if (r < 0) {
			snprintf(p->st.last_error_msg, sizeof(p->st.last_error_msg),
				 "%s: cannot start the watcher thread: %s", p->path, strerror(-r));
			goto fail;
		}
	}
	*out = p;
	return 0;
fail:
	if (errmsg && errmsg_size)
		copy_str(errmsg, errmsg_size, p->st.last_error_msg[0] ? p->st.last_error_msg : strerror(-r));
	ll_plugin_close(p);
	return r;
}

void ll_plugin_close(struct ll_plugin *p)
{
	struct ll_pversion *old;

	if (!p)
		return;
	ll_watch_stop(p);
	pthread_mutex_lock(&p->lock);
	old = p->cur;
	p->cur = NULL;
	rcu_assign_pointer(p->table, NULL);
	if (old)
		ll_retire_queue(p, old);
	ll_retire_close(p); /* one grace period for what is pending and the last version */
	pthread_mutex_unlock(&p->lock);
	ll_guard_close(p);
	pthread_mutex_destroy(&p->lock);
	free((char *)p->opts.name);
	free(p->path);
	free(p);
}

/* The two hot functions: no frame pointer (they call nothing on the fast
 * path and are leaves for a backtrace's purpose). */
#if defined(__clang__)
#define LL_HOT __attribute__((hot))
#else
#define LL_HOT __attribute__((hot, optimize("omit-frame-pointer")))
#endif

LL_HOT const void *(ll_plugin_enter)(struct ll_plugin *p)
{
	rcu_read_lock();
	return rcu_dereference(p->table);
}

LL_HOT void (ll_plugin_leave)(struct ll_plugin *p)
{
	(void)p;
	rcu_read_unlock();
}

int ll_plugin_reload_flags(struct ll_plugin *p, unsigned flags)
{
	int r;

	pthread_mutex_lock(&p->lock);
	r = ll_plugin_load_locked(p, flags & LL_PLUGIN_RELOAD_FRESH ? LL_LOAD_FRESH : 0);
	ll_retire_flush(p); /* what the watcher left pending too */
	pthread_mutex_unlock(&p->lock);
	return r;
}

int ll_plugin_reload(struct ll_plugin *p)
{
	return ll_plugin_reload_flags(p, 0);
}

int ll_plugin_status(struct ll_plugin *p, struct ll_plugin_status *st)
{
	pthread_mutex_lock(&status_lock);
	*st = p->st;
	pthread_mutex_unlock(&status_lock);
	return 0;
}
