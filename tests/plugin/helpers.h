/* helpers.h: what the plugin host tests share: the example plugins, file
 * replacement, /proc/self samples (descriptors, memfds, snapshot mappings,
 * RSS), an event counter, and caller threads that call the plugin without
 * pause and check every answer. */
#ifndef LL_TEST_PLUGIN_HELPERS_H
#define LL_TEST_PLUGIN_HELPERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "testutil.h"
#include <lifeline/plugin.h>

#include "../../examples/plugin/greeter.h"

/* The built example plugin NAME ("greeter-v1.so"); 8 rotating buffers. */
const char *ph_plugin(const char *name);
/* cp FROM TO (asserts). */
void ph_copy_file(const char *from, const char *to);
/* Put a copy of FROM at TO through a rename (an atomic replace). */
void ph_replace_file(const char *from, const char *to);
/* Read a whole file (asserts); *len receives its size. */
char *ph_slurp(const char *path, size_t *len);

long ph_vm_rss_kib(void);
int ph_count_fds(void);
/* Descriptors of this process that are memfds (of any name). */
int ph_count_memfds(void);
/* Lines of /proc/self/maps that map a plugin snapshot. */
int ph_count_snapshot_maps(void);

/* A fresh directory (dir) holding a copy of greeter-v1.so at cur, events
 * reset: the setup of the host and fault tests. Returns 0 or -1. */
int ph_setup_greeter_dir(char *dir, size_t dir_size, char *cur, size_t cur_size);

/* Events seen by ph_on_event. */
extern atomic_int ph_ev_loaded, ph_ev_rejected, ph_ev_unloaded, ph_ev_still, ph_ev_rearmed, ph_ev_lost;
extern char ph_ev_last[1024], ph_ev_last_loaded[1024]; /* any event's, LOADED's */
extern pthread_mutex_t ph_ev_lock;
void ph_on_event(const struct ll_plugin_event *ev, void *ud);
void ph_events_reset(void);
/* Whether the last event's message contains needle. */
bool ph_ev_last_has(const char *needle);

/* Open path with the greeter's name and ABI, flags and ph_on_event; fails
 * the test with the reason on error. opts_extra may be NULL. */
struct ll_plugin *ph_open(const char *path, unsigned flags, const struct ll_plugin_opts *opts_extra);

/* The version number the plugin answers as, or -1 for a wrong answer. */
int ph_serving(struct ll_plugin *p);
/* Wait (bounded, 20 s) until version want serves: 0, or -1. */
int ph_wait_serving(struct ll_plugin *p, int want);

/* Caller threads calling without pause and checking every answer. */
#define PH_MAX_CALLERS 4
struct ph_callers {
	struct ll_plugin *p;
	int n;
	atomic_bool stop;
	atomic_ulong calls, bad;
	atomic_uint seen;      /* bit N: version number N answered */
	pthread_t th[PH_MAX_CALLERS];
};
void ph_callers_start(struct ph_callers *c, struct ll_plugin *p, int n);
/* Wait (bounded) until the callers themselves got an answer from version n. */
bool ph_callers_saw(struct ph_callers *c, int n);
void ph_callers_stop(struct ph_callers *c);

#endif
