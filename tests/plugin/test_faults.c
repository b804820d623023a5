/* test_faults.c: the plugin host on an operator's worst day (issue 17).
 * Four threads call the plugin without pause and check every answer while:
 *
 * - the serving file is overwritten in place in two passes (a new
 *   version's first 8 KiB, close, 0.5 s, the rest, truncate): the mixed
 *   file is rejected, the host lives, the final file serves; every mix of
 *   two versions at every 4 KiB cut is rejected or answers right;
 * - a file that passes every static check but crashes ld.so (a corrupt
 *   version-needed chain) is rejected by the test load in a child, which
 *   names the signal;
 * - a plugin's init crashes in the watcher thread: the crash reporter
 *   writes its report (the watcher leaves SIGSEGV unblocked). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include <lifeline/crash.h>

static char dir[4096], cur[4200];

static int setup(void **state)
{
	(void)state;
	if (tu_mkdtemp(dir, sizeof(dir)) < 0)
		return -1;
	snprintf(cur, sizeof(cur), "%s/greeter.so", dir);
	ph_copy_file(ph_plugin("greeter-v1.so"), cur);
	ph_events_reset();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rm_rf(dir);
	return 0;
}

static void write_at(const char *path, const char *bytes, size_t off, size_t len, int extra_flags)
{
	int fd = open(path, O_WRONLY | extra_flags);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes + off, len, (off_t)off), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* rsync --inplace, a resumed copy: the new version written over the
 * serving file in two passes with a pause between them. */
static void test_torn_write_two_pass(void **state)
{
	struct ll_plugin_status st;
	struct ph_callers c;
	struct ll_plugin *p;
	size_t len;
	char *v1 = ph_slurp(ph_plugin("greeter-v1.so"), &len);
	struct ll_plugin_opts o = { .settle_ms = 100 }; /* the pause outlasts it: the mix is examined */

	(void)state;
	ph_copy_file(ph_plugin("greeter-v2.so"), cur); /* 28 KiB, another layout */
	p = ph_open(cur, LL_PLUGIN_WATCH, &o);
	assert_int_equal(ph_serving(p), 2);
	ph_callers_start(&c, p, 4);
	write_at(cur, v1, 0, 8192, 0);       /* dd conv=notrunc bs=8k count=1 */
	usleep(500000);
	assert_int_equal(ph_serving(p), 2);
	write_at(cur, v1, 8192, len - 8192, 0);
	assert_int_equal(truncate(cur, (off_t)len), 0);
	assert_int_equal(ph_wait_serving(p, 1), 0);
	assert_true(ph_callers_saw(&c, 1));
	ph_callers_stop(&c);
	ll_plugin_status(p, &st);
	print_message("two-pass in-place write: %lu calls, %lu bad, %u rejected (last: %s)\n",
		      atomic_load(&c.calls), atomic_load(&c.bad), st.loads_failed, st.last_error_msg);
	assert_int_equal(atomic_load(&c.bad), 0);
	assert_int_equal(atomic_load(&c.seen), (1u << 1) | (1u << 2));
	/* The mixed file was seen (settle time passed during the pause) and
	 * refused, not loaded. */
	assert_true(st.loads_failed >= 1);
	assert_non_null(strstr(st.last_error_msg, "version 1 keeps serving"));
	assert_int_equal(st.version, 2); /* greeter v2 (version 1), then the final file */
	free(v1);
	ll_plugin_close(p);
}

/* The same with two versions of the same layout (v1 -> v3: only constants
 * differ), whose mix no check can tell from a real build: with the default
 * settle time (1 s) the half-written file is never loaded at all. */
static void test_torn_write_settles(void **state)
{
	struct ll_plugin_status st;
	struct ph_callers c;
	struct ll_plugin *p;
	size_t len;
	char *v3 = ph_slurp(ph_plugin("greeter-v3.so"), &len);

	(void)state;
	p = ph_open(cur, LL_PLUGIN_WATCH, NULL);
	ph_callers_start(&c, p, 4);
	write_at(cur, v3, 0, 8192, 0);
	usleep(500000);
	write_at(cur, v3, 8192, len - 8192, 0);
	assert_int_equal(ph_wait_serving(p, 3), 0);
	assert_true(ph_callers_saw(&c, 3));
	ph_callers_stop(&c);
	ll_plugin_status(p, &st);
	assert_int_equal(atomic_load(&c.bad), 0);
	assert_int_equal(atomic_load(&c.seen), (1u << 1) | (1u << 3));
	assert_int_equal(st.loads_failed, 0);
	assert_int_equal(st.version, 2);
	free(v3);
	ll_plugin_close(p);
}

/* Every mix of two versions of different layouts, cut every 4 KiB, is
 * rejected (v1 and v3 share their layout: see test_torn_write_settles). */
static void test_torn_mixes(void **state)
{
	static const char *const versions[] = { "greeter-v1.so", "greeter-v2.so", "greeter-v3.so",
						"greeter-tlsdtor.so" };
	const size_t nv = sizeof(versions) / sizeof(versions[0]);
	struct ph_callers c;
	struct ll_plugin *p;
	int rejected = 0, loaded = 0;

	(void)state;
	p = ph_open(cur, 0, NULL);
	ph_callers_start(&c, p, 4);
	for (size_t a = 0; a < nv; a++) {
		for (size_t b = 0; b < nv; b++) {
			size_t la, lb;
			char *A, *B;

			if (a == b || (strstr(versions[a], "v1") && strstr(versions[b], "v3")) ||
			    (strstr(versions[a], "v3") && strstr(versions[b], "v1")))
				continue;
			A = ph_slurp(ph_plugin(versions[a]), &la);
			B = ph_slurp(ph_plugin(versions[b]), &lb);
			for (size_t cut = 4096; cut < la && cut < lb; cut += 4096) {
				int fd = open(cur, O_WRONLY | O_TRUNC), r;

				assert_true(fd >= 0);
				assert_int_equal(write(fd, B, lb), (ssize_t)lb);
				assert_int_equal(pwrite(fd, A, cut, 0), (ssize_t)cut);
				close(fd);
				r = ll_plugin_reload(p);
				if (r < 0) {
					rejected++;
				} else {
					loaded++;
					print_message("%s over %s cut at %zu: loaded as version %d\n", versions[a],
						      versions[b], cut, ph_serving(p));
				}
			}
			free(A);
			free(B);
		}
	}
	ph_replace_file(ph_plugin("greeter-v3.so"), cur);
	assert_true(ll_plugin_reload(p) > 0);
	assert_int_equal(ph_serving(p), 3);
	ph_callers_stop(&c);
	print_message("mixes of two versions: %d rejected, %d loaded (whole), %lu calls, %lu bad\n", rejected,
		      loaded, atomic_load(&c.calls), atomic_load(&c.bad));
	assert_int_equal(atomic_load(&c.bad), 0);
	assert_int_equal(loaded, 0);
	assert_true(rejected > 0);
	ll_plugin_close(p);
}

/* Point the first Verneed entry's aux list far away: no check in the host
 * reads version tables, ld.so follows the offset and crashes. */
static void corrupt_verneed(char *b, size_t len)
{
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)b;
	bool done = false;

	for (unsigned i = 0; i < eh->e_shnum; i++) {
		const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(b + eh->e_shoff) + i;

		if (sh->sh_type == SHT_GNU_verneed && sh->sh_offset + sizeof(ElfW(Verneed)) <= len) {
			ElfW(Verneed) *vn = (ElfW(Verneed) *)(b + sh->sh_offset);

			vn->vn_aux = 0x40000000;
			done = true;
		}
	}
	assert_true(done);
}

static void test_probe_catches_loader_crash(void **state)
{
	struct ll_plugin_status st;
	struct ph_callers c;
	struct ll_plugin *p;
	char why[512];
	size_t len;
	char *bad = ph_slurp(ph_plugin("greeter-v3.so"), &len);
	int fd;

	(void)state;
	corrupt_verneed(bad, len);
	assert_int_equal(ll_plugin_check_elf(bad, len, why, sizeof(why)), 0); /* passes the static checks */
	p = ph_open(cur, 0, NULL);
	ph_callers_start(&c, p, 4);
	fd = open(cur, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bad, len), (ssize_t)len);
	close(fd);
	assert_int_equal(ll_plugin_reload(p), -ELIBBAD);
	ll_plugin_status(p, &st);
	print_message("corrupt version chain: %s\n", st.last_error_msg);
	assert_non_null(strstr(st.last_error_msg, "died of SIGSEGV"));
	assert_non_null(strstr(st.last_error_msg, "version 1 keeps serving"));
	assert_int_equal(ph_serving(p), 1);
	ph_replace_file(ph_plugin("greeter-v2.so"), cur);
	assert_int_equal(ll_plugin_reload(p), 2);
	assert_int_equal(ph_serving(p), 2);
	ph_callers_stop(&c);
	assert_int_equal(atomic_load(&c.bad), 0);
	free(bad);
	ll_plugin_close(p);
}

/* In the child host: the watcher's own code crashes (its on_event
 * callback, called from the watcher thread). */
static void crash_on_load(const struct ll_plugin_event *ev, void *ud)
{
	static int *volatile nowhere;

	(void)ud;
	if (ev->kind == LL_PLUGIN_EV_LOADED && ev->version == 2)
		*nowhere = 1;
}

/* A host with the crash reporter installed, its watcher loading a new file:
 * in_init, a plugin whose init crashes (init runs in the hook thread the
 * watcher starts); else the watcher thread itself crashes. The report must
 * come out, naming the thread; returns the report. */
static char *crash_in_watcher(bool in_init)
{
	static char report[8192];
	size_t got = 0;
	int pfd[2], status;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ll_crash_opts co;
		struct ll_plugin_opts o = { .name = GREETER_NAME, .abi = GREETER_ABI, .flags = LL_PLUGIN_WATCH,
					    .on_event = in_init ? NULL : crash_on_load };
		struct ll_plugin *p = NULL;

		close(pfd[0]);
		signal(SIGSEGV, SIG_DFL); /* cmocka's handler would catch the crash after the report */
		ll_crash_opts_init(&co);
		co.fd = pfd[1];
		co.flags = LL_CRASH_NO_MAPS;
		if (ll_crash_install(&co) < 0 || ll_plugin_open(cur, &o, &p, NULL, 0) < 0)
			_exit(3);
		ph_replace_file(ph_plugin(in_init ? "greeter-initcrash.so" : "greeter-v2.so"), cur);
		sleep(20);
		_exit(4); /* not reached */
	}
	close(pfd[1]);
	for (;;) {
		ssize_t n = read(pfd[0], report + got, sizeof(report) - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	report[got] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	print_message("crash %s: %s, report of %zu bytes:\n%.500s\n", in_init ? "in init" : "in the watcher",
		      WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exited", got, report);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
	assert_non_null(strstr(report, "SIGSEGV"));
	return report;
}

static void test_watcher_crash_reported(void **state)
{
	(void)state;
	assert_non_null(strstr(crash_in_watcher(false), "\"ll-plugin-watch\""));
	ph_replace_file(ph_plugin("greeter-v1.so"), cur);
	assert_non_null(strstr(crash_in_watcher(true), "\"ll-plugin-init\""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_torn_write_two_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_write_settles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_mixes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_catches_loader_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watcher_crash_reported, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
