/* host.c: the plugin host: load a version beside the serving one, check it,
 * publish it under RCU, retire the old one.
 *
 * Readers (ll_plugin_enter/leave) are urcu-bp read-side critical sections:
 * urcu-bp registers a thread by itself on its first read lock, so a library
 * can offer it without asking every caller thread to register, and with
 * sys_membarrier the read lock is a thread-local counter update. Writers
 * (open, reload, the watcher thread, close) are serialised by p->lock:
 * snapshot -> dlopen -> descriptor, name, ABI checks -> init -> restore of
 * the serving version's saved state -> rcu_assign_pointer -> grace period
 * -> old fini -> dlclose -> check its snapshot is unmapped. An explicit
 * reload waits for the grace period (synchronize_rcu); the watcher hands the
 * old version to call_rcu so that it is ready for the next change at once
 * (a grace period lasts as long as the slowest reader takes to leave, up to
 * a scheduler time slice when readers are preempted inside a call). A
 * version that stays mapped keeps its memfd open for good (a reused
 * /proc/self/fd/N would otherwise make dlopen return it again). The status
 * and the still-mapped list have their own small lock, so that an on_event
 * callback may call ll_plugin_status() and a deferred retire may run beside
 * a load.
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

#include "plugin/plugin_private.h"

#define DEFAULT_MAX_SIZE ((size_t)256 << 20)
#define DEFAULT_SETTLE_MS 1000
#define DEFAULT_INIT_TIMEOUT_MS 5000

static pthread_mutex_t status_lock = PTHREAD_MUTEX_INITIALIZER;

/* LL_PLUGIN_INLINE_CALLS (plugin.h) reads the table through these two. */
_Static_assert(offsetof(struct ll_plugin, cur) == 0, "struct ll_plugin must start with cur");
_Static_assert(offsetof(struct ll_pversion, table) == 0, "struct ll_pversion must start with table");

/* Copy a string, cut to size. */
static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void emit(struct ll_plugin *p, enum ll_plugin_event_kind kind, unsigned version, int err,
		 const char *msg)
{
	struct ll_plugin_event ev = {
		.kind = kind, .version = version, .err = err, .message = msg, .path = p->path,
	};

	if (p->opts.on_event)
		p->opts.on_event(&ev, p->opts.userdata);
}

static int reject(struct ll_plugin *p, int err, const char *why)
{
	char msg[768];
	unsigned serving = p->cur ? p->cur->number : 0;

	if (serving)
		snprintf(msg, sizeof(msg), "%s: new version rejected: %s; version %u keeps serving", p->path, why,
			 serving);
	else
		snprintf(msg, sizeof(msg), "%s: not loaded: %s", p->path, why);
	pthread_mutex_lock(&status_lock);
	p->st.loads_failed++;
	p->st.last_error = err;
	copy_str(p->st.last_error_msg, sizeof(p->st.last_error_msg), msg);
	clock_gettime(CLOCK_REALTIME, &p->st.last_error_at);
	pthread_mutex_unlock(&status_lock);
	emit(p, LL_PLUGIN_EV_REJECTED, 0, err, msg);
	return err;
}

/* dlclose a version that is no longer reachable by any reader and check
 * that its snapshot left the address space. */
static void unload(struct ll_plugin *p, struct ll_pversion *v, bool run_fini)
{
	char msg[1024], why[512], which[32];
	int m;

	if (run_fini && v->desc && v->desc->fini)
		v->desc->fini();
	dlclose(v->handle);
	m = ll_snapshot_mapped(&v->snap);
	if (m == 0) {
		if (v->number) {
			snprintf(msg, sizeof(msg), "%s: version %u unloaded and unmapped", p->path, v->number);
			emit(p, LL_PLUGIN_EV_UNLOADED, v->number, 0, msg);
		}
		ll_snapshot_release(&v->snap);
		free(v);
		return;
	}
	if (v->number)
		snprintf(which, sizeof(which), "version %u", v->number);
	else
		snprintf(which, sizeof(which), "a rejected version");
	if (m > 0) {
		ll_snapshot_explain_nodelete(&v->snap, why, sizeof(why));
		snprintf(msg, sizeof(msg), "%s: %s is still mapped after dlclose: %s; its snapshot stays open",
			 p->path, which, why);
	} else {
		snprintf(msg, sizeof(msg), "%s: %s: cannot check that it was unmapped (%s); its snapshot stays open",
			 p->path, which, strerror(-m));
	}
	pthread_mutex_lock(&status_lock);
	v->next = p->stuck;
	p->stuck = v;
	p->st.still_mapped++;
	pthread_mutex_unlock(&status_lock);
	emit(p, LL_PLUGIN_EV_STILL_MAPPED, v->number, m > 0 ? -EBUSY : m, msg);
}

static int failf(char *why, size_t size, int err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int failf(char *why, size_t size, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return err;
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
static int load_version(struct ll_plugin *p, struct ll_pversion *v, char *why, size_t size)
{
	const struct ll_plugin_descriptor *d;
	const struct ll_pversion *old = p->cur;
	char fdpath[64];
	bool inited = false;
	int r;

	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", v->snap.fd);
	dlerror();
	v->handle = dlopen(fdpath, RTLD_NOW | RTLD_LOCAL);
	if (!v->handle) {
		const char *e = dlerror();

		failf(why, size, -ELIBBAD, "dlopen failed: %s", e ? e : "unknown error");
		ll_snapshot_release(&v->snap);
		free(v);
		return -ELIBBAD;
	}
	d = find_descriptor(v->handle);
	if (!d) {
		r = failf(why, size, -ENOEXEC,
			  "no plugin descriptor: the file does not export " LL_PLUGIN_SYMBOL
			  " (define one with LL_PLUGIN(...))");
		goto fail;
	}
	if (d->magic != LL_PLUGIN_MAGIC) {
		r = failf(why, size, -ENOEXEC, "the descriptor has a bad magic number 0x%08x", d->magic);
		goto fail;
	}
	if (d->size < sizeof(struct ll_plugin_descriptor)) {
		r = failf(why, size, -EPROTO, "the descriptor is %u bytes, this host needs %zu: rebuild the plugin "
			  "against this lifeline", d->size, sizeof(struct ll_plugin_descriptor));
		goto fail;
	}
	if (p->opts.name && (!d->name || strcmp(d->name, p->opts.name))) {
		r = failf(why, size, -EPROTO, "plugin name is '%s', the host wants '%s'", d->name ? d->name : "",
			  p->opts.name);
		goto fail;
	}
	if (d->abi != p->opts.abi) {
		r = failf(why, size, -EPROTO, "ABI version %u, the host wants %u: rebuild the plugin against the "
			  "host's table definition", d->abi, p->opts.abi);
		goto fail;
	}
	if (!d->table) {
		r = failf(why, size, -EPROTO, "the descriptor has no function table");
		goto fail;
	}
	v->desc = d;
	v->table = d->table;
	if (d->init) {
		r = d->init();
		if (r != 0) {
			r = failf(why, size, r < 0 ? r : -ECANCELED, "its init hook failed (%d%s%s)", r,
				  r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
			goto fail;
		}
		inited = true;
	}
	if (old && old->desc->save && d->restore) {
		void *data = NULL;
		size_t len = 0;

		r = old->desc->save(&data, &len);
		if (r != 0) {
			free(data);
			r = failf(why, size, r < 0 ? r : -ECANCELED,
				  "the serving version's save hook failed (%d): its state would be lost", r);
			goto fail;
		}
		r = d->restore(data, len);
		free(data);
		if (r != 0) {
			r = failf(why, size, r < 0 ? r : -ECANCELED,
				  "its restore hook refused the serving version's state (%d)", r);
			goto fail;
		}
	}
	return 0;
fail:
	v->desc = inited ? d : NULL;
	unload(p, v, inited);
	return r;
}

static void retire_cb(struct rcu_head *head)
{
	struct ll_pversion *v = caa_container_of(head, struct ll_pversion, rcu);

	unload(v->owner, v, true);
}

int ll_plugin_load_locked(struct ll_plugin *p, bool skip_same, bool defer)
{
	struct ll_pversion *v, *old = p->cur;
	char why[640], msg[768];
	int r;

	v = calloc(1, sizeof(*v));
	if (!v)
		return reject(p, -ENOMEM, "out of memory");
	r = ll_snapshot_take(p->path, p->opts.max_size, &v->snap, why, sizeof(why));
	if (r < 0) {
		free(v);
		if (r == -EAGAIN && p->watching)
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 "; it is retried at the next change of the file");
		return reject(p, r, why);
	}
	if (skip_same && old && ll_snapshot_same(&v->snap, &old->snap) == 1) {
		ll_snapshot_release(&v->snap);
		free(v);
		return 0;
	}
	if (!(p->opts.flags & LL_PLUGIN_NO_PROBE)) {
		r = ll_probe_load(&v->snap, p->opts.init_timeout_ms, why, sizeof(why));
		if (r < 0) {
			ll_snapshot_release(&v->snap);
			free(v);
			return reject(p, r, why);
		}
	}
	r = load_version(p, v, why, sizeof(why));
	if (r < 0)
		return reject(p, r, why);
	v->number = ++p->next_number;
	clock_gettime(CLOCK_REALTIME, &v->loaded_at);
	rcu_assign_pointer(p->cur, v);
	pthread_mutex_lock(&status_lock);
	p->st.version = v->number;
	copy_str(p->st.name, sizeof(p->st.name), v->desc->name ? v->desc->name : "");
	p->st.abi = v->desc->abi;
	p->st.loaded_at = v->loaded_at;
	p->st.loads_ok++;
	pthread_mutex_unlock(&status_lock);
	snprintf(msg, sizeof(msg), "%s: version %u loaded (%s, ABI %u, %zu bytes)%s", p->path, v->number,
		 p->st.name, v->desc->abi, v->snap.size, old && old->desc->save && v->desc->restore ?
		 ", state carried over" : "");
	emit(p, LL_PLUGIN_EV_LOADED, v->number, 0, msg);
	if (old && defer) {
		old->owner = p;
		call_rcu(&old->rcu, retire_cb);
	} else if (old) {
		synchronize_rcu();
		unload(p, old, true);
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
	p->inotify_fd = p->stop_fd = -1;
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
	p->dir = strndup(p->path, slash == p->path ? 1 : (size_t)(slash - p->path));
	p->base = strdup(slash + 1);
	if (!p->dir || !p->base) {
		r = -ENOMEM;
		goto fail;
	}
	if (!*p->base) {
		r = -EISDIR;
		goto fail;
	}
	if (p->opts.flags & LL_PLUGIN_WATCH) {
		r = ll_watch_prepare(p);
		if (r < 0) {
			snprintf(p->st.last_error_msg, sizeof(p->st.last_error_msg),
				 "%s: cannot watch its directory %s: %s", p->path, p->dir, strerror(-r));
			goto fail;
		}
	}
	pthread_mutex_lock(&p->lock);
	r = ll_plugin_load_locked(p, false, false);
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
	rcu_barrier(); /* every deferred retire has run */
	pthread_mutex_lock(&p->lock);
	old = p->cur;
	rcu_assign_pointer(p->cur, NULL);
	if (old) {
		synchronize_rcu();
		unload(p, old, true);
	}
	pthread_mutex_unlock(&p->lock);
	/* Versions that stayed mapped keep their memfd open on purpose: if
	 * its number were reused, dlopen("/proc/self/fd/N") would return them. */
	while (p->stuck) {
		struct ll_pversion *v = p->stuck;

		p->stuck = v->next;
		free(v);
	}
	pthread_mutex_destroy(&p->lock);
	free((char *)p->opts.name);
	free(p->path);
	free(p->dir);
	free(p->base);
	free(p);
}

/* The two hot functions: no frame pointer (they call nothing on the fast
 * path and are leaves for a backtrace's purpose). */
#if defined(__clang__)
#define LL_HOT __attribute__((hot))
#else
#define LL_HOT __attribute__((hot, optimize("omit-frame-pointer")))
#endif

LL_HOT const void *ll_plugin_enter(struct ll_plugin *p)
{
	rcu_read_lock();
	return rcu_dereference(p->cur)->table;
}

LL_HOT void ll_plugin_leave(struct ll_plugin *p)
{
	(void)p;
	rcu_read_unlock();
}

int ll_plugin_reload(struct ll_plugin *p)
{
	int r;

	pthread_mutex_lock(&p->lock);
	r = ll_plugin_load_locked(p, false, false);
	pthread_mutex_unlock(&p->lock);
	return r;
}

int ll_plugin_status(struct ll_plugin *p, struct ll_plugin_status *st)
{
	pthread_mutex_lock(&status_lock);
	*st = p->st;
	pthread_mutex_unlock(&status_lock);
	return 0;
}
