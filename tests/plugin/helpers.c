/* helpers.c: see helpers.h. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#if defined(__SANITIZE_ADDRESS__)
/* ASan keeps freed memory in quarantine (256 MiB by default) to catch uses
 * after free: over 1,000 reloads (plugin-host) or a rename storm (plugin-faults) that alone would swamp the RSS check. A
 * 16 MiB quarantine keeps that check meaningful and still catches recent
 * uses after free (ASAN_OPTIONS from the environment still win). */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=16";
}
#endif

const char *ph_plugin(const char *name)
{
	static char buf[8][4096];
	static int i;
	char rel[256];

	snprintf(rel, sizeof(rel), "examples/plugin/%s", name);
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s", tu_build_path(rel));
	return buf[i];
}

void ph_copy_file(const char *from, const char *to)
{
	char *argv[] = { "cp", (char *)from, (char *)to, NULL };

	assert_int_equal(tu_run(argv, NULL, NULL, NULL), 0);
}

void ph_replace_file(const char *from, const char *to)
{
	char tmp[4300];

	snprintf(tmp, sizeof(tmp), "%s.tmp", to);
	ph_copy_file(from, tmp);
	assert_int_equal(rename(tmp, to), 0);
}

char *ph_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *bytes;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	bytes = malloc(*len ? *len : 1);
	assert_non_null(bytes);
	assert_int_equal(fread(bytes, 1, *len, f), *len);
	fclose(f);
	return bytes;
}

long ph_vm_rss_kib(void)
{
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = atol(line + 6);
	if (f)
		fclose(f);
	return kib;
}

/* Count /proc/self/fd entries, those whose link starts with prefix when
 * prefix is not NULL. */
static int count_fd_links(const char *prefix)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char target[256];
		ssize_t len;

		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		if (!prefix) {
			n++;
			continue;
		}
		len = readlinkat(dirfd(d), e->d_name, target, sizeof(target) - 1);
		if (len > 0) {
			target[len] = '\0';
			n += strncmp(target, prefix, strlen(prefix)) == 0;
		}
	}
	closedir(d);
	return n;
}

int ph_count_fds(void)
{
	return count_fd_links(NULL);
}

int ph_count_memfds(void)
{
	return count_fd_links("/memfd:");
}

int ph_count_snapshot_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "/memfd:ll-plugin:"))
			n++;
	if (f)
		fclose(f);
	return n;
}

atomic_int ph_ev_loaded, ph_ev_rejected, ph_ev_unloaded, ph_ev_still, ph_ev_rearmed, ph_ev_lost;
char ph_ev_last[1024], ph_ev_last_loaded[1024];
pthread_mutex_t ph_ev_lock = PTHREAD_MUTEX_INITIALIZER;

void ph_on_event(const struct ll_plugin_event *ev, void *ud)
{
	(void)ud;
	switch (ev->kind) {
	case LL_PLUGIN_EV_LOADED: atomic_fetch_add(&ph_ev_loaded, 1); break;
	case LL_PLUGIN_EV_REJECTED: atomic_fetch_add(&ph_ev_rejected, 1); break;
	case LL_PLUGIN_EV_UNLOADED: atomic_fetch_add(&ph_ev_unloaded, 1); break;
	case LL_PLUGIN_EV_STILL_MAPPED: atomic_fetch_add(&ph_ev_still, 1); break;
	case LL_PLUGIN_EV_WATCH_REARMED: atomic_fetch_add(&ph_ev_rearmed, 1); break;
	case LL_PLUGIN_EV_WATCH_LOST: atomic_fetch_add(&ph_ev_lost, 1); break;
	}
	pthread_mutex_lock(&ph_ev_lock);
	snprintf(ph_ev_last, sizeof(ph_ev_last), "%s", ev->message);
	if (ev->kind == LL_PLUGIN_EV_LOADED)
		snprintf(ph_ev_last_loaded, sizeof(ph_ev_last_loaded), "%s", ev->message);
	pthread_mutex_unlock(&ph_ev_lock);
}

void ph_events_reset(void)
{
	atomic_store(&ph_ev_loaded, 0);
	atomic_store(&ph_ev_rejected, 0);
	atomic_store(&ph_ev_unloaded, 0);
	atomic_store(&ph_ev_still, 0);
	atomic_store(&ph_ev_rearmed, 0);
	atomic_store(&ph_ev_lost, 0);
	ph_ev_last[0] = '\0';
}

bool ph_ev_last_has(const char *needle)
{
	bool r;

	pthread_mutex_lock(&ph_ev_lock);
	r = strstr(ph_ev_last, needle) != NULL;
	pthread_mutex_unlock(&ph_ev_lock);
	return r;
}

struct ll_plugin *ph_open(const char *path, unsigned flags, const struct ll_plugin_opts *opts_extra)
{
	struct ll_plugin_opts o = { 0 };
	struct ll_plugin *p = NULL;
	char err[512];
	int r;

	if (opts_extra)
		o = *opts_extra;
	o.name = GREETER_NAME;
	o.abi = GREETER_ABI;
	o.flags |= flags;
	o.on_event = ph_on_event;
	r = ll_plugin_open(path, &o, &p, err, sizeof(err));
	if (r < 0)
		fail_msg("ll_plugin_open(%s): %s", path, err);
	return p;
}

int ph_serving(struct ll_plugin *p)
{
	const struct greeter_api *api = ll_plugin_enter(p);
	int n = api->number();
	long a = api->answer(42);

	ll_plugin_leave(p);
	return a == 42 + GREETER_STEP * n ? n : -1;
}

int ph_wait_serving(struct ll_plugin *p, int want)
{
	for (int t = 0; t < 20000; t += 10) {
		if (ph_serving(p) == want)
			return 0;
		usleep(10000);
	}
	return -1;
}

static void *call_loop(void *arg)
{
	struct ph_callers *c = arg;
	long x = 0;

	while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
		const struct greeter_api *api = ll_plugin_enter(c->p);
		int n = api->number();
		long a = api->answer(x);
		const char *v = api->version();

		if (n < 1 || n > 30 || a != x + GREETER_STEP * n || atoi(v + 1) != n)
			atomic_fetch_add(&c->bad, 1);
		else
			atomic_fetch_or_explicit(&c->seen, 1u << n, memory_order_relaxed);
		ll_plugin_leave(c->p);
		atomic_fetch_add_explicit(&c->calls, 1, memory_order_relaxed);
		x++;
	}
	return NULL;
}

void ph_callers_start(struct ph_callers *c, struct ll_plugin *p, int n)
{
	memset(c, 0, sizeof(*c));
	c->p = p;
	c->n = n;
	for (int i = 0; i < n; i++)
		assert_int_equal(pthread_create(&c->th[i], NULL, call_loop, c), 0);
}

bool ph_callers_saw(struct ph_callers *c, int n)
{
	for (int t = 0; t < 20000 && !(atomic_load(&c->seen) & (1u << n)); t += 5)
		usleep(5000);
	return atomic_load(&c->seen) & (1u << n);
}

void ph_callers_stop(struct ph_callers *c)
{
	atomic_store(&c->stop, true);
	for (int i = 0; i < c->n; i++)
		pthread_join(c->th[i], NULL);
}

int ph_setup_greeter_dir(char *dir, size_t dir_size, char *cur, size_t cur_size)
{
	if (tu_mkdtemp(dir, dir_size) < 0)
		return -1;
	snprintf(cur, cur_size, "%s/greeter.so", dir);
	ph_copy_file(ph_plugin("greeter-v1.so"), cur);
	ph_events_reset();
	return 0;
}
