/* hooks.c: a new version's init, the serving version's save and the new
 * version's restore, run under a deadline.
 *
 * The hooks run in a short-lived thread while the loader waits for it with a
 * timeout (ll_plugin_opts.init_timeout_ms). A hook that never returns then
 * wedges nothing: the version is abandoned (never published, never
 * dlclose'd, since its thread still runs its code), the thread is left
 * behind and reported, and loading goes on. If the thread was in the
 * serving version's save hook, that version is pinned: it keeps serving,
 * and when it is retired it is neither finalised nor dlclose'd. The job is
 * shared by the two threads; whoever finishes last frees it. The state blob
 * the save hook returns is bounded (ll_plugin_opts.max_state). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plugin/plugin_private.h"

enum stage { ST_INIT, ST_SAVE, ST_RESTORE, ST_DONE };

struct job {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	const struct ll_plugin_descriptor *d, *old; /* old: NULL when no state is carried */
	size_t max_state;
	enum stage stage, failed;
	bool abandoned;
	int r;
	bool inited;
	size_t state_len;
};

static const char *const stage_name[] = { "init", "save (of the serving version)", "restore" };

static void set_stage(struct job *j, enum stage s)
{
	pthread_mutex_lock(&j->lock);
	j->stage = s;
	pthread_mutex_unlock(&j->lock);
}

static int run(struct job *j)
{
	void *data = NULL;
	size_t len = 0;
	int r;

	j->failed = ST_INIT;
	if (j->d->init) {
		r = j->d->init();
		if (r != 0)
			return r;
	}
	j->inited = true;
	if (!j->old)
		return 0;
	set_stage(j, ST_SAVE);
	j->failed = ST_SAVE;
	r = j->old->save(&data, &len);
	if (r != 0) {
		free(data);
		return r;
	}
	j->state_len = len;
	if (len > j->max_state) {
		free(data);
		return -E2BIG;
	}
	set_stage(j, ST_RESTORE);
	j->failed = ST_RESTORE;
	r = j->d->restore(data, len);
	free(data);
	return r;
}

static void *hook_main(void *arg)
{
	struct job *j = arg;
	int r = run(j);
	bool last;

	pthread_mutex_lock(&j->lock);
	j->r = r;
	if (!j->abandoned)
		j->stage = ST_DONE;
	last = j->abandoned;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	if (last) {
		pthread_cond_destroy(&j->cond);
		pthread_mutex_destroy(&j->lock);
		free(j);
	}
	return NULL;
}

int ll_hooks_run(struct ll_plugin *p, struct ll_pversion *v, struct ll_pversion *old, bool carry_state,
		 bool *inited, char *why, size_t size)
{
	const struct ll_plugin_descriptor *d = v->desc;
	struct timespec deadline;
	pthread_condattr_t ca;
	pthread_attr_t ta;
	pthread_t th;
	struct job *j;
	int r;

	*inited = false;
	if (!d->init && !(carry_state && old && old->desc->save && d->restore))
		return 0;
	j = calloc(1, sizeof(*j));
	if (!j) {
		p->transient = true;
		snprintf(why, size, "out of memory");
		return -ENOMEM;
	}
	j->d = d;
	j->old = carry_state && old && old->desc->save && d->restore ? old->desc : NULL;
	j->max_state = p->opts.max_state;
	pthread_mutex_init(&j->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	r = -pthread_create(&th, &ta, hook_main, j);
	pthread_attr_destroy(&ta);
	if (r < 0) {
		pthread_cond_destroy(&j->cond);
		pthread_mutex_destroy(&j->lock);
		free(j);
		p->transient = true;
		snprintf(why, size, "cannot start the thread that runs its hooks: %s", strerror(-r));
		return r;
	}
	pthread_setname_np(th, "ll-plugin-init");
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += p->opts.init_timeout_ms / 1000;
	deadline.tv_nsec += (long)(p->opts.init_timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&j->lock);
	while (j->stage != ST_DONE)
		if (pthread_cond_timedwait(&j->cond, &j->lock, &deadline) == ETIMEDOUT && j->stage != ST_DONE)
			break;
	if (j->stage != ST_DONE) {
		enum stage s = j->stage;

		j->abandoned = true;
		pthread_mutex_unlock(&j->lock);
		*inited = true; /* its code may still run: never dlclose it */
		v->pinned = true;
		if (s == ST_SAVE)
			old->pinned = true;
		snprintf(why, size, "its %s hook did not return within %u ms (ll_plugin_opts.init_timeout_ms): "
			 "the version is abandoned, never published; its thread \"ll-plugin-init\" is left "
			 "running", stage_name[s], p->opts.init_timeout_ms);
		return -ETIMEDOUT;
	}
	pthread_mutex_unlock(&j->lock);
	*inited = j->inited;
	r = j->r;
	if (r != 0) {
		int err = r < 0 ? r : -ECANCELED;

		if (j->failed == ST_INIT)
			snprintf(why, size, "its init hook failed (%d%s%s)", r, r < 0 ? ": " : "",
				 r < 0 ? strerror(-r) : "");
		else if (j->failed == ST_SAVE && r == -E2BIG && j->state_len > j->max_state)
			snprintf(why, size, "the serving version's saved state is %zu bytes, over the %zu-byte limit "
				 "(ll_plugin_opts.max_state); " LL_PLUGIN_FRESH_HINT, j->state_len, j->max_state);
		else if (j->failed == ST_SAVE)
			snprintf(why, size, "the serving version's save hook failed (%d): its state would be lost; "
				 LL_PLUGIN_FRESH_HINT, r);
		else
			snprintf(why, size, "its restore hook refused the serving version's state (%d); "
				 LL_PLUGIN_FRESH_HINT, r);
		r = err;
	}
	pthread_cond_destroy(&j->cond);
	pthread_mutex_destroy(&j->lock);
	free(j);
	return r;
}
