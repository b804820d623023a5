/* test_host.c: the plugin host (ll_plugin_*) against the example greeter
 * plugins built in examples/plugin.
 *
 * - 1,000 reloads while 2 threads call without pause: every answer is the
 *   old or the new version's, whole; none fails; RSS, descriptors and
 *   snapshot mappings stay flat.
 * - cp over the watched file while calls run: no crash, the new version
 *   answers once the copy is complete; a reload in the middle of a write is
 *   refused and the old version kept.
 * - truncated, garbage, wrong-ABI, undefined-symbol, failing-init and
 *   descriptor-less files: rejected with the reason, old version kept.
 * - state carried from the old version to the new.
 * - a version pinned by -z nodelete is reported as still mapped, and later
 *   versions still load new code. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

static char dir[4096], cur[4200];

static int setup(void **state)
{
	(void)state;
	return ph_setup_greeter_dir(dir, sizeof(dir), cur, sizeof(cur));
}

static int teardown(void **state)
{
	(void)state;
	tu_rm_rf(dir);
	return 0;
}

static void test_open_call_status(void **state)
{
	struct ll_plugin *p;
	struct ll_plugin_status st;

	(void)state;
	p = ph_open(cur, 0, NULL);
	assert_int_equal(ph_serving(p), 1);
	assert_int_equal(ll_plugin_status(p, &st), 0);
	assert_int_equal(st.version, 1);
	assert_string_equal(st.name, "greeter");
	assert_int_equal(st.abi, GREETER_ABI);
	assert_int_equal(st.loads_ok, 1);
	assert_int_equal(st.last_error, 0);
	assert_true(st.loaded_at.tv_sec > 0);
	/* The host maps its private snapshot, never the operator's file. */
	assert_int_equal(ph_count_snapshot_maps() > 0, 1);
	ll_plugin_close(p);
	assert_int_equal(ph_count_snapshot_maps(), 0);
}

/* A relative path keeps naming the same file after the host's chdir. */
static void test_relative_path(void **state)
{
	struct ll_plugin_opts o = { .name = GREETER_NAME, .abi = GREETER_ABI };
	struct ll_plugin_status st;
	struct ll_plugin *p = NULL;
	char err[512], old[4096];

	(void)state;
	assert_non_null(getcwd(old, sizeof(old)));
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(ll_plugin_open("greeter.so", &o, &p, err, sizeof(err)), 0);
	assert_int_equal(chdir("/"), 0);
	ph_replace_file(ph_plugin("greeter-v2.so"), cur);
	assert_int_equal(ll_plugin_reload(p), 2);
	assert_int_equal(ph_serving(p), 2);
	ll_plugin_status(p, &st);
	assert_int_equal(st.last_error, 0);
	ll_plugin_close(p);
	assert_int_equal(chdir(old), 0);
}

static void test_open_errors(void **state)
{
	struct ll_plugin_opts o = { .name = "other", .abi = GREETER_ABI };
	struct ll_plugin *p = NULL;
	char err[512], missing[4300];

	(void)state;
	snprintf(missing, sizeof(missing), "%s/missing.so", dir);
	assert_int_equal(ll_plugin_open(missing, &o, &p, err, sizeof(err)), -ENOENT);
	assert_null(p);
	assert_non_null(strstr(err, "missing.so"));
	assert_int_equal(ll_plugin_open(cur, &o, &p, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "the host wants 'other'"));
	assert_null(p);
}

static void test_1000_reloads_under_calls(void **state)
{
	const int reloads = 1000, warmup = 100;
	char a[4300], b[4300];
	struct ll_plugin_status st;
	struct ph_callers c;
	struct ll_plugin *p;
	long rss_warm = 0, rss_end;
	int fds_warm = 0, fds_end, maps_before = ph_count_snapshot_maps();

	(void)state;
	snprintf(a, sizeof(a), "%s/a.so", dir);
	snprintf(b, sizeof(b), "%s/b.so", dir);
	ph_copy_file(ph_plugin("greeter-v1.so"), a);
	ph_copy_file(ph_plugin("greeter-v3.so"), b);
	p = ph_open(cur, 0, NULL);
	ph_callers_start(&c, p, 2);
	for (int i = 0; i < reloads; i++) {
		char tmp[4400];
		int want = i % 2 ? 1 : 3, r;

		/* Alternate the file between versions 1 and 3 (hard link + rename). */
		snprintf(tmp, sizeof(tmp), "%s.new", cur);
		assert_int_equal(link(i % 2 ? a : b, tmp), 0);
		assert_int_equal(rename(tmp, cur), 0);
		r = ll_plugin_reload(p);
		if (r < 0) {
			ll_plugin_status(p, &st);
			fail_msg("reload %d failed: %s", i, st.last_error_msg);
		}
		assert_int_equal(r, i + 2);
		assert_int_equal(ph_serving(p), want);
		if (i + 1 == warmup) {
			rss_warm = ph_vm_rss_kib();
			fds_warm = ph_count_fds();
		}
	}
	assert_true(ph_callers_saw(&c, 1) && ph_callers_saw(&c, 3));
	ph_callers_stop(&c);
	rss_end = ph_vm_rss_kib();
	fds_end = ph_count_fds();
	ll_plugin_status(p, &st);
	print_message("1000 reloads: %lu calls, %lu bad; VmRSS %ld KiB after %d reloads, %ld KiB at the end; "
		      "%d -> %d descriptors\n", atomic_load(&c.calls), atomic_load(&c.bad), rss_warm, warmup,
		      rss_end, fds_warm, fds_end);
	assert_int_equal(atomic_load(&c.bad), 0);
	assert_true(atomic_load(&c.calls) > (unsigned long)reloads);
	assert_int_equal(atomic_load(&c.seen), (1u << 1) | (1u << 3));
	assert_int_equal(st.version, reloads + 1);
	assert_int_equal(st.loads_ok, reloads + 1);
	assert_int_equal(st.loads_failed, 0);
	assert_int_equal(st.still_mapped, 0);
	assert_int_equal(atomic_load(&ph_ev_unloaded), reloads);
	/* Flat: no snapshot left mapped, no descriptor leaked, RSS bounded
	 * (generously: allocator and, under ASan, quarantine noise). */
	assert_true(fds_end <= fds_warm);
	assert_true(rss_end - rss_warm < (tu_sanitized() ? 48 * 1024 : 16 * 1024));
	ll_plugin_close(p);
	assert_int_equal(ph_count_snapshot_maps(), maps_before);
}

static void test_cp_over_while_calling(void **state)
{
	struct ll_plugin_status st;
	struct ph_callers c;
	struct ll_plugin *p;
	char *bytes = NULL;
	size_t len;
	int fd;
	FILE *f;

	(void)state;
	p = ph_open(cur, LL_PLUGIN_WATCH, NULL);
	ph_callers_start(&c, p, 2);
	/* 1. A real cp over the file: the host never mapped it. */
	ph_copy_file(ph_plugin("greeter-v2.so"), cur);
	assert_int_equal(ph_wait_serving(p, 2), 0);
	assert_true(ph_callers_saw(&c, 2));

	/* 2. A slow writer: half the file, then a reload attempt, then the rest. */
	f = fopen(ph_plugin("greeter-v3.so"), "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	rewind(f);
	bytes = malloc(len);
	assert_int_equal(fread(bytes, 1, len, f), len);
	fclose(f);
	fd = open(cur, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, len / 2), (ssize_t)(len / 2));
	assert_int_equal(ll_plugin_reload(p), -EAGAIN);
	ll_plugin_status(p, &st);
	assert_non_null(strstr(st.last_error_msg, "cut short"));
	assert_non_null(strstr(st.last_error_msg, "version 2 keeps serving"));
	assert_int_equal(ph_serving(p), 2);
	usleep(100000);
	assert_int_equal(ph_serving(p), 2);
	assert_int_equal(write(fd, bytes + len / 2, len - len / 2), (ssize_t)(len - len / 2));
	close(fd); /* IN_CLOSE_WRITE: the watcher loads the completed file */
	assert_int_equal(ph_wait_serving(p, 3), 0);
	assert_true(ph_callers_saw(&c, 3));
	ph_callers_stop(&c);
	assert_int_equal(atomic_load(&c.bad), 0);
	assert_true(atomic_load(&c.seen) & (1u << 2));
	free(bytes);
	ll_plugin_close(p);
}

/* The watcher: a write that changes nothing, a rename, a hard link. */
static void test_watch_events(void **state)
{
	struct ll_plugin_status st;
	struct ll_plugin *p;
	char staged[4300];
	int fd;

	(void)state;
	snprintf(staged, sizeof(staged), "%s/staged.so", dir);
	p = ph_open(cur, LL_PLUGIN_WATCH | LL_PLUGIN_SKIP_SAME, NULL);
	/* Opened for writing and closed unchanged: same bytes, no reload. */
	fd = open(cur, O_WRONLY);
	assert_true(fd >= 0);
	close(fd);
	usleep(300000);
	ll_plugin_status(p, &st);
	assert_int_equal(st.loads_ok, 1);
	assert_int_equal(st.loads_failed, 0);
	assert_int_equal(ph_serving(p), 1);
	/* mv of a complete file over it (IN_MOVED_TO). */
	ph_copy_file(ph_plugin("greeter-v2.so"), staged);
	assert_int_equal(rename(staged, cur), 0);
	assert_int_equal(ph_wait_serving(p, 2), 0);
	/* A hard link made under its name (IN_CREATE, no close). */
	ph_copy_file(ph_plugin("greeter-v3.so"), staged);
	assert_int_equal(unlink(cur), 0);
	assert_int_equal(link(staged, cur), 0);
	assert_int_equal(ph_wait_serving(p, 3), 0);
	ll_plugin_close(p);
	/* Every retired version was unloaded (close waits for the deferred ones). */
	assert_int_equal(atomic_load(&ph_ev_unloaded), 3);
	assert_int_equal(atomic_load(&ph_ev_rejected), 0);
}

struct bad_case {
	const char *what;
	const char *file;      /* example plugin to install, or NULL */
	int mode;              /* 0 file, 1 truncated v3, 2 garbage, 3 empty */
	int err;
	const char *reason;
};

static void test_rejects_keep_old(void **state)
{
	static const struct bad_case cases[] = {
		{ "truncated", NULL, 1, -EAGAIN, "cut short" },
		{ "garbage", NULL, 2, -ENOEXEC, "not an ELF file" },
		{ "empty", NULL, 3, -EAGAIN, "empty" },
		{ "wrong ABI", "greeter-wrongabi.so", 0, -EPROTO, "ABI version 99, the host wants 1" },
		{ "undefined symbol", "greeter-undef.so", 0, -ELIBBAD, "undefined symbol: greeter_missing_symbol" },
		{ "init error", "greeter-initfail.so", 0, -EIO, "init hook failed" },
		{ "no descriptor", "greeter-nodesc.so", 0, -ENOEXEC, "no plugin descriptor" },
	};
	struct ll_plugin_status st;
	struct ph_callers c;
	struct ll_plugin *p;
	int fds_before;

	(void)state;
	p = ph_open(cur, 0, NULL);
	ph_callers_start(&c, p, 2);
	fds_before = ph_count_fds();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *k = &cases[i];
		int before = atomic_load(&ph_ev_rejected), r;

		if (k->mode == 0) {
			ph_replace_file(ph_plugin(k->file), cur);
		} else {
			char buf[8192];
			int fd = open(cur, O_WRONLY | O_TRUNC), in;
			ssize_t n = 0;

			assert_true(fd >= 0);
			if (k->mode == 1) {
				in = open(ph_plugin("greeter-v3.so"), O_RDONLY);
				n = read(in, buf, sizeof(buf));
				close(in);
				assert_true(n > 4096);
				n = 4096;
			} else if (k->mode == 2) {
				for (size_t j = 0; j < sizeof(buf); j++)
					buf[j] = (char)(j * 7919 + 13);
				n = sizeof(buf);
			}
			assert_int_equal(write(fd, buf, (size_t)n), n);
			close(fd);
		}
		r = ll_plugin_reload(p);
		ll_plugin_status(p, &st);
		print_message("%-16s -> %d: %s\n", k->what, r, st.last_error_msg);
		assert_int_equal(r, k->err);
		assert_int_equal(st.last_error, k->err);
		assert_non_null(strstr(st.last_error_msg, k->reason));
		assert_non_null(strstr(st.last_error_msg, "version 1 keeps serving"));
		assert_int_equal(atomic_load(&ph_ev_rejected), before + 1);
		pthread_mutex_lock(&ph_ev_lock);
		assert_non_null(strstr(ph_ev_last, k->reason));
		pthread_mutex_unlock(&ph_ev_lock);
		assert_int_equal(st.version, 1);
		assert_int_equal(ph_serving(p), 1);
	}
	assert_true(ph_callers_saw(&c, 1));
	ph_callers_stop(&c);
	assert_int_equal(atomic_load(&c.bad), 0);
	assert_int_equal(atomic_load(&c.seen), 1u << 1);
	/* Rejected versions leave no descriptor (snapshot) behind. */
	assert_int_equal(ph_count_fds(), fds_before);
	/* A good version is still accepted afterwards. */
	ph_replace_file(ph_plugin("greeter-v2.so"), cur);
	assert_int_equal(ll_plugin_reload(p), 2);
	assert_int_equal(ph_serving(p), 2);
	ll_plugin_close(p);
}

static void test_state_carried(void **state)
{
	const struct greeter_api *api;
	struct ll_plugin *p;
	unsigned long before, after;

	(void)state;
	p = ph_open(cur, 0, NULL);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(ph_serving(p), 1);
	api = ll_plugin_enter(p);
	before = api->served();
	ll_plugin_leave(p);
	assert_int_equal(before, 1000);
	ph_replace_file(ph_plugin("greeter-v3.so"), cur);
	assert_int_equal(ll_plugin_reload(p), 2);
	api = ll_plugin_enter(p);
	assert_int_equal(api->number(), 3);
	after = api->served();
	ll_plugin_leave(p);
	assert_int_equal(after, 1000);
	ll_plugin_close(p);
}

static void test_still_mapped_reported(void **state)
{
	struct ll_plugin_status st;
	struct ll_plugin *p;

	(void)state;
	ph_replace_file(ph_plugin("greeter-nodelete.so"), cur);
	p = ph_open(cur, 0, NULL);
	assert_int_equal(ph_serving(p), 8);
	ph_replace_file(ph_plugin("greeter-v1.so"), cur);
	assert_int_equal(ll_plugin_reload(p), 2);
	assert_int_equal(ph_serving(p), 1);
	assert_int_equal(atomic_load(&ph_ev_still), 1);
	ll_plugin_status(p, &st);
	assert_int_equal(st.still_mapped, 1);
	pthread_mutex_lock(&ph_ev_lock);
	assert_non_null(strstr(ph_ev_last, "still mapped after dlclose"));
	assert_non_null(strstr(ph_ev_last, "nodelete"));
	pthread_mutex_unlock(&ph_ev_lock);
	/* New code still loads after it (no stale handle through a reused fd). */
	for (int i = 0; i < 5; i++) {
		ph_replace_file(ph_plugin(i % 2 ? "greeter-v1.so" : "greeter-v3.so"), cur);
		assert_true(ll_plugin_reload(p) > 0);
		assert_int_equal(ph_serving(p), i % 2 ? 1 : 3);
	}
	ll_plugin_close(p);
}

/* A C++ plugin with an STB_GNU_UNIQUE symbol: glibc never unloads it. */
static void test_unique_symbol_reported(void **state)
{
	struct ll_plugin_status st;
	struct ll_plugin *p;

	(void)state;
	if (access(ph_plugin("greeter-unique.so"), F_OK) != 0) {
		print_message("no C++ compiler in this build: greeter-unique.so not built, case skipped\n");
		skip();
	}
	ph_replace_file(ph_plugin("greeter-unique.so"), cur);
	p = ph_open(cur, 0, NULL);
	assert_int_equal(ph_serving(p), 10);
	ph_replace_file(ph_plugin("greeter-v1.so"), cur);
	assert_int_equal(ll_plugin_reload(p), 2);
	assert_int_equal(ph_serving(p), 1);
	ll_plugin_status(p, &st);
	assert_int_equal(st.still_mapped, 1);
	pthread_mutex_lock(&ph_ev_lock);
	if (!strstr(ph_ev_last, "still mapped after dlclose") || !strstr(ph_ev_last, "STB_GNU_UNIQUE"))
		fail_msg("unexpected event: %s", ph_ev_last);
	pthread_mutex_unlock(&ph_ev_lock);
	ll_plugin_close(p);
}

struct tls_caller {
	struct ll_plugin *p;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int called, leave;
};

static void *tls_call_once(void *arg)
{
	struct tls_caller *t = arg;
	const struct greeter_api *api = ll_plugin_enter(t->p);

	api->answer(1); /* registers a thread_local destructor in the plugin */
	ll_plugin_leave(t->p);
	pthread_mutex_lock(&t->lock);
	t->called = 1;
	pthread_cond_broadcast(&t->cond);
	while (!t->leave)
		pthread_cond_wait(&t->cond, &t->lock);
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

/* A thread_local destructor pending in a live thread pins the old version. */
static void test_thread_local_pins_old_version(void **state)
{
	struct tls_caller t = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	struct ll_plugin_status st;
	pthread_t th;

	(void)state;
	ph_replace_file(ph_plugin("greeter-tlsdtor.so"), cur);
	t.p = ph_open(cur, 0, NULL);
	assert_int_equal(ph_serving(t.p), 9);
	assert_int_equal(pthread_create(&th, NULL, tls_call_once, &t), 0);
	pthread_mutex_lock(&t.lock);
	while (!t.called)
		pthread_cond_wait(&t.cond, &t.lock);
	pthread_mutex_unlock(&t.lock);
	ph_replace_file(ph_plugin("greeter-v1.so"), cur);
	assert_int_equal(ll_plugin_reload(t.p), 2);
	assert_int_equal(ph_serving(t.p), 1);
	ll_plugin_status(t.p, &st);
	assert_int_equal(st.still_mapped, 1);
	pthread_mutex_lock(&ph_ev_lock);
	if (!strstr(ph_ev_last, "still mapped after dlclose") || !strstr(ph_ev_last, "thread-local storage"))
		fail_msg("unexpected event: %s", ph_ev_last);
	pthread_mutex_unlock(&ph_ev_lock);
	pthread_mutex_lock(&t.lock);
	t.leave = 1;
	pthread_cond_broadcast(&t.cond);
	pthread_mutex_unlock(&t.lock);
	pthread_join(th, NULL);
	ll_plugin_close(t.p);
}

static void test_check_elf(void **state)
{
	char why[256], *bytes;
	size_t len;
	FILE *f = fopen(ph_plugin("greeter-v1.so"), "rb");

	(void)state;
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	rewind(f);
	bytes = malloc(len);
	assert_int_equal(fread(bytes, 1, len, f), len);
	fclose(f);
	assert_int_equal(ll_plugin_check_elf(bytes, len, why, sizeof(why)), 0);
	assert_int_equal(ll_plugin_check_elf(bytes, 0, why, sizeof(why)), -EAGAIN);
	for (size_t cut = 1; cut < len; cut += 97)
		assert_int_equal(ll_plugin_check_elf(bytes, cut, why, sizeof(why)), -EAGAIN);
	assert_int_equal(ll_plugin_check_elf("#!/bin/sh\n", 10, why, sizeof(why)), -ENOEXEC);
	/* Mutated headers and lengths: an answer, never a read out of bounds
	 * (each case gets a buffer of exactly len bytes: ASan checks). */
	srand(7);
	for (int it = 0; it < 20000; it++) {
		size_t l = it % 3 ? len : (size_t)rand() % len;
		unsigned char *c = malloc(l ? l : 1);
		int r;

		memcpy(c, bytes, l);
		for (int k = rand() % 6 + 1; k > 0 && l; k--)
			c[(size_t)rand() % (k % 2 && l > 64 ? 64 : l)] = (unsigned char)rand();
		r = ll_plugin_check_elf(c, l, why, sizeof(why));
		assert_true(r == 0 || r == -EAGAIN || r == -ENOEXEC);
		assert_true(r == 0 || why[0]);
		free(c);
	}
	bytes[16] = 2; /* e_type = ET_EXEC */
	bytes[17] = 0;
	assert_int_equal(ll_plugin_check_elf(bytes, len, why, sizeof(why)), -ENOEXEC);
	assert_non_null(strstr(why, "not a shared object"));
	free(bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_elf),
		cmocka_unit_test_setup_teardown(test_open_call_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relative_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_carried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects_keep_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cp_over_while_calling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_still_mapped_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_local_pins_old_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unique_symbol_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_1000_reloads_under_calls, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
