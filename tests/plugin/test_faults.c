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
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include <lifeline/crash.h>

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
static bool corrupt_verneed(char *b, size_t len)
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
	return done;
}

static void test_probe_catches_loader_crash(void **state)
{
	struct ll_plugin_status st;
	struct ph_callers c;
	struct ll_plugin *p;
	char why[512];
	size_t len;
	char *bad = ph_slurp(ph_plugin("greeter-v3.so"), &len);
	Dl_info info;
	int fd;

	(void)state;
	if (!corrupt_verneed(bad, len)) {
		/* A sanitized build's plugins link the sanitizer's unversioned
		 * malloc: no version tables. Any library with them will do (the
		 * child rejects it before the host ever maps it): cmocka's. */
		assert_true(dladdr((void *)_cmocka_run_group_tests, &info) && info.dli_fname);
		print_message("greeter-v3.so has no version tables: corrupting %s instead\n", info.dli_fname);
		free(bad);
		bad = ph_slurp(info.dli_fname, &len);
		assert_true(corrupt_verneed(bad, len));
	}
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
	static volatile uintptr_t nowhere = 16; /* not NULL: UBSan would report it first */

	(void)ud;
	if (ev->kind == LL_PLUGIN_EV_LOADED && ev->version == 2)
		*(volatile int *)nowhere = 1;
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

/* ---- 2, 3: a rename storm, with and without descriptors to spare ---- */

struct storm {
	int renames;
	int peak_fds, peak_memfds, peak_maps;
	unsigned peak_retiring;
	double seconds;
};

/* Alternate the file between v1 and v3 every ~1 ms (hard link + rename),
 * then v2; sample /proc/self every 50 renames. */
static void rename_storm(struct ll_plugin *p, int renames, struct storm *out)
{
	char a[4300], b[4300], last[4300], tmp[4400];
	struct timespec t0, t1;

	snprintf(a, sizeof(a), "%s/a.so", dir);
	snprintf(b, sizeof(b), "%s/b.so", dir);
	snprintf(last, sizeof(last), "%s/last.so", dir);
	snprintf(tmp, sizeof(tmp), "%s.new", cur);
	ph_copy_file(ph_plugin("greeter-v1.so"), a);
	ph_copy_file(ph_plugin("greeter-v3.so"), b);
	ph_copy_file(ph_plugin("greeter-v2.so"), last);
	memset(out, 0, sizeof(*out));
	out->renames = renames;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < renames; i++) {
		assert_int_equal(link(i + 1 == renames ? last : i % 2 ? a : b, tmp), 0);
		assert_int_equal(rename(tmp, cur), 0);
		usleep(1000);
		if (i % 50 == 0) {
			struct ll_plugin_status st;
			int fds = ph_count_fds(), memfds = ph_count_memfds(), maps = ph_count_snapshot_maps();

			ll_plugin_status(p, &st);
			if (fds > out->peak_fds)
				out->peak_fds = fds;
			if (memfds > out->peak_memfds)
				out->peak_memfds = memfds;
			if (maps > out->peak_maps)
				out->peak_maps = maps;
			if (st.retiring > out->peak_retiring)
				out->peak_retiring = st.retiring;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	out->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

static void test_rename_storm_bounded(void **state)
{
	struct ll_plugin_status st;
	struct ph_callers c;
	struct ll_plugin *p;
	struct storm s;
	int fds0, memfds0, maps1;

	(void)state;
	fds0 = ph_count_fds();
	memfds0 = ph_count_memfds();
	p = ph_open(cur, LL_PLUGIN_WATCH, NULL);
	maps1 = ph_count_snapshot_maps(); /* one version's mappings */
	ph_callers_start(&c, p, 4);
	rename_storm(p, 6000, &s);
	assert_int_equal(ph_wait_serving(p, 2), 0);
	assert_true(ph_callers_saw(&c, 2));
	ph_callers_stop(&c);
	ll_plugin_status(p, &st);
	print_message("storm: %d renames in %.1f s: %u versions loaded, peak %d descriptors (%d before open), "
		      "%d memfds, %d snapshot mappings (%d per version), %u waiting to retire; %lu calls, %lu bad\n",
		      s.renames, s.seconds, st.loads_ok, s.peak_fds, fds0, s.peak_memfds, s.peak_maps, maps1,
		      s.peak_retiring, atomic_load(&c.calls), atomic_load(&c.bad));
	assert_int_equal(atomic_load(&c.bad), 0);
	assert_true(st.loads_ok < (unsigned)s.renames); /* coalesced */
	assert_true(s.peak_retiring <= LL_PLUGIN_MAX_RETIRING);
	/* the serving version, those waiting, one being loaded; plus the
	 * watcher's inotify and eventfd, the maps descriptor, a source file */
	assert_true(s.peak_memfds - memfds0 <= LL_PLUGIN_MAX_RETIRING + 2);
	assert_true(s.peak_fds - fds0 <= LL_PLUGIN_MAX_RETIRING + 6);
	assert_true(s.peak_maps <= (LL_PLUGIN_MAX_RETIRING + 2) * maps1);
	assert_int_equal(st.still_mapped, 0);
	ll_plugin_close(p);
	assert_int_equal(ph_count_fds(), fds0);
	assert_int_equal(ph_count_snapshot_maps(), 0);
}

/* The same storm with the descriptor limit reached on purpose while the
 * newest file is installed: loads fail with EMFILE and are retried; once
 * descriptors are free again the newest file serves, and after close the
 * process has its descriptors back. */
static struct rlimit saved_nofile;
static int hogs[256], nhogs;

/* Give the descriptors and the limit back, even when the test failed. */
static int teardown_nofile(void **state)
{
	while (nhogs)
		close(hogs[--nhogs]);
	setrlimit(RLIMIT_NOFILE, &saved_nofile);
	return teardown(state);
}

static void test_storm_out_of_descriptors(void **state)
{
	struct rlimit low;
	struct ll_plugin_status st;
	struct ph_callers c;
	struct ll_plugin *p;
	struct storm s;
	int fds0;
	char tmp[4400];

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved_nofile), 0);
	fds0 = ph_count_fds();
	low = saved_nofile;
	low.rlim_cur = (rlim_t)fds0 + 64;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	p = ph_open(cur, LL_PLUGIN_WATCH, NULL);
	ph_callers_start(&c, p, 4);
	rename_storm(p, 1000, &s);
	assert_int_equal(ph_wait_serving(p, 2), 0);
	for (int t = 0; t < 2000; t++) { /* the storm's versions retired */
		ll_plugin_status(p, &st);
		if (!st.retiring)
			break;
		usleep(5000);
	}
	usleep(100000);
	/* Take every descriptor left, then install v3 (a rename needs none). */
	snprintf(tmp, sizeof(tmp), "%s.new", cur);
	ph_copy_file(ph_plugin("greeter-v3.so"), tmp);
	while (nhogs < 256) {
		int fd = dup(0);

		if (fd < 0)
			break;
		hogs[nhogs++] = fd;
	}
	assert_true(nhogs < 256);
	assert_int_equal(rename(tmp, cur), 0);
	usleep(300000);
	ll_plugin_status(p, &st);
	print_message("out of descriptors: health %d (%s); version %u serving\n", st.health, st.health_msg, st.version);
	assert_int_equal(ph_serving(p), 2);
	assert_true(st.health == -EMFILE || st.health == -ELIBBAD);
	assert_non_null(strstr(st.health_msg, "retried with backoff"));
	while (nhogs)
		close(hogs[--nhogs]);
	assert_int_equal(ph_wait_serving(p, 3), 0);
	assert_true(ph_callers_saw(&c, 3));
	ph_callers_stop(&c);
	ll_plugin_status(p, &st);
	assert_int_equal(st.health, 0);
	assert_int_equal(st.still_mapped, 0);
	assert_int_equal(atomic_load(&c.bad), 0);
	ll_plugin_close(p);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved_nofile), 0);
	assert_int_equal(ph_count_fds(), fds0);
}

/* ---- 4: a watcher that follows the path ---- */

static void run_cmd(const char *cmd)
{
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };

	assert_int_equal(tu_run(argv, NULL, NULL, NULL), 0);
}

static void test_directory_swap(void **state)
{
	char rel[4300], file[4400], cmd[20000];
	struct ll_plugin_status st;
	struct ph_callers c;
	struct ll_plugin *p;

	(void)state;
	snprintf(rel, sizeof(rel), "%s/release", dir);
	snprintf(file, sizeof(file), "%s/greeter.so", rel);
	assert_int_equal(mkdir(rel, 0755), 0);
	ph_copy_file(ph_plugin("greeter-v1.so"), file);
	p = ph_open(file, LL_PLUGIN_WATCH, NULL);
	ph_callers_start(&c, p, 4);
	/* A deploy swaps the release directory, then installs into the new one. */
	snprintf(cmd, sizeof(cmd), "mv '%s' '%s.old' && mkdir '%s'", rel, rel, rel);
	run_cmd(cmd);
	ph_copy_file(ph_plugin("greeter-v2.so"), file);
	assert_int_equal(ph_wait_serving(p, 2), 0);
	ll_plugin_status(p, &st);
	assert_true(st.watch_live);
	assert_true(st.watch_rearms >= 1);
	assert_true(atomic_load(&ph_ev_rearmed) >= 1);
	/* The old directory goes away: the watch stays on the new one. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s.old'", rel);
	run_cmd(cmd);
	ph_replace_file(ph_plugin("greeter-v3.so"), file);
	assert_int_equal(ph_wait_serving(p, 3), 0);
	/* The directory itself goes away: not live, said so; it comes back. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rel);
	run_cmd(cmd);
	for (int t = 0; t < 2000; t++) {
		ll_plugin_status(p, &st);
		if (!st.watch_live)
			break;
		usleep(5000);
	}
	assert_false(st.watch_live);
	assert_true(atomic_load(&ph_ev_lost) >= 1);
	assert_int_equal(ph_serving(p), 3);
	assert_int_equal(mkdir(rel, 0755), 0);
	ph_replace_file(ph_plugin("greeter-v1.so"), file);
	assert_int_equal(ph_wait_serving(p, 1), 0);
	ll_plugin_status(p, &st);
	assert_true(st.watch_live);
	assert_true(ph_callers_saw(&c, 1) && ph_callers_saw(&c, 3));
	ph_callers_stop(&c);
	assert_int_equal(atomic_load(&c.bad), 0);
	print_message("directory swap: %u re-arms, %d lost events, %lu calls\n", st.watch_rearms,
		      atomic_load(&ph_ev_lost), atomic_load(&c.calls));
	ll_plugin_close(p);
}

static void test_symlink_target(void **state)
{
	char other[4300], real[4400], real3[4400], link_path[4400], cmd[20000];
	struct ph_callers c;
	struct ll_plugin *p;

	(void)state;
	snprintf(other, sizeof(other), "%s/elsewhere", dir);
	snprintf(real, sizeof(real), "%s/real.so", other);
	snprintf(real3, sizeof(real3), "%s/real3.so", other);
	snprintf(link_path, sizeof(link_path), "%s/link.so", dir);
	assert_int_equal(mkdir(other, 0755), 0);
	ph_copy_file(ph_plugin("greeter-v1.so"), real);
	assert_int_equal(symlink(real, link_path), 0);
	p = ph_open(link_path, LL_PLUGIN_WATCH, NULL);
	ph_callers_start(&c, p, 4);
	/* cp over the symlink's target, in another directory. */
	ph_copy_file(ph_plugin("greeter-v2.so"), real);
	assert_int_equal(ph_wait_serving(p, 2), 0);
	/* The symlink re-pointed (ln -sfn: a new link renamed over it). */
	ph_copy_file(ph_plugin("greeter-v3.so"), real3);
	snprintf(cmd, sizeof(cmd), "ln -s '%s' '%s.tmp' && mv -T '%s.tmp' '%s'", real3, link_path, link_path,
		 link_path);
	run_cmd(cmd);
	assert_int_equal(ph_wait_serving(p, 3), 0);
	/* and its new target rewritten */
	ph_copy_file(ph_plugin("greeter-v1.so"), real3);
	assert_int_equal(ph_wait_serving(p, 1), 0);
	assert_true(ph_callers_saw(&c, 1) && ph_callers_saw(&c, 2) && ph_callers_saw(&c, 3));
	ph_callers_stop(&c);
	assert_int_equal(atomic_load(&c.bad), 0);
	ll_plugin_close(p);
}

/* ---- 5: an init that never returns ---- */

static void test_init_deadline(void **state)
{
	struct ll_plugin_opts o = { .init_timeout_ms = 300 };
	struct ll_plugin_status st;
	struct ph_callers c;
	struct ll_plugin *p;

	(void)state;
	p = ph_open(cur, LL_PLUGIN_WATCH, &o);
	ph_callers_start(&c, p, 4);
	ph_replace_file(ph_plugin("greeter-inithang.so"), cur);
	for (int t = 0; t < 4000; t++) {
		ll_plugin_status(p, &st);
		if (st.init_stuck)
			break;
		usleep(5000);
	}
	print_message("endless init: %s\n", st.init_stuck_msg);
	assert_int_equal(st.init_stuck, 1);
	assert_non_null(strstr(st.init_stuck_msg, "init hook did not return within 300 ms"));
	assert_non_null(strstr(st.init_stuck_msg, "bytes, file modified"));
	assert_int_equal(st.health, -ETIMEDOUT);
	assert_int_equal(ph_serving(p), 1);
	/* A later good version loads, through the watcher and explicitly. */
	ph_replace_file(ph_plugin("greeter-v2.so"), cur);
	assert_int_equal(ph_wait_serving(p, 2), 0);
	ph_replace_file(ph_plugin("greeter-v3.so"), cur);
	assert_true(ll_plugin_reload(p) > 0);
	assert_int_equal(ph_serving(p), 3);
	ph_callers_stop(&c);
	assert_int_equal(atomic_load(&c.bad), 0);
	ll_plugin_status(p, &st);
	assert_int_equal(st.health, 0);
	assert_int_equal(st.init_stuck, 1);
	ll_plugin_close(p); /* returns: the stuck thread is left alone */
}

/* ---- 6, 8: the state trap and its way out; health vs history ---- */

static void test_state_trap(void **state)
{
	struct ll_plugin_status st;
	struct ph_callers c;
	struct ll_plugin *p;
	char marker[4300];

	(void)state;
	ph_copy_file(ph_plugin("greeter-savefail.so"), cur);
	p = ph_open(cur, LL_PLUGIN_WATCH, NULL);
	ph_callers_start(&c, p, 4);
	ph_replace_file(ph_plugin("greeter-v2.so"), cur);
	assert_int_equal(ll_plugin_reload(p), -EIO);
	ll_plugin_status(p, &st);
	assert_non_null(strstr(st.health_msg, "save hook failed"));
	assert_non_null(strstr(st.health_msg, "LL_PLUGIN_RELOAD_FRESH"));
	assert_int_equal(ph_serving(p), 13);
	/* The way out, explicit. */
	assert_int_equal(ll_plugin_reload_flags(p, LL_PLUGIN_RELOAD_FRESH), 2);
	assert_int_equal(ph_serving(p), 2);
	ll_plugin_status(p, &st);
	assert_int_equal(st.health, 0);                /* healthy now */
	assert_string_equal(st.health_msg, "");
	assert_int_equal(st.last_error, -EIO);         /* the history stays */
	pthread_mutex_lock(&ph_ev_lock);
	assert_non_null(strstr(ph_ev_last_loaded, "without the old version's state"));
	pthread_mutex_unlock(&ph_ev_lock);
	/* The way out for an operator: PATH.fresh next to a watched plugin. */
	ph_replace_file(ph_plugin("greeter-savefail.so"), cur);
	assert_int_equal(ph_wait_serving(p, 13), 0);
	ph_replace_file(ph_plugin("greeter-v3.so"), cur);
	for (int t = 0; t < 2000 && !st.health; t++) {
		usleep(5000);
		ll_plugin_status(p, &st);
	}
	assert_int_equal(st.health, -EIO);
	snprintf(marker, sizeof(marker), "%s.fresh", cur);
	run_cmd(strcat(strcpy((char[4400]){ 0 }, "touch "), marker));
	assert_int_equal(ph_wait_serving(p, 3), 0);
	for (int t = 0; t < 2000 && access(marker, F_OK) == 0; t++)
		usleep(5000);
	assert_int_not_equal(access(marker, F_OK), 0); /* consumed */
	ph_callers_stop(&c);
	assert_int_equal(atomic_load(&c.bad), 0);
	ll_plugin_close(p);
}

static void test_state_bounded(void **state)
{
	struct ll_plugin_opts o = { .max_state = 4 }; /* the greeter saves 8 bytes */
	struct ll_plugin_status st;
	struct ll_plugin *p;

	(void)state;
	p = ph_open(cur, 0, &o);
	ph_replace_file(ph_plugin("greeter-v2.so"), cur);
	assert_int_equal(ll_plugin_reload(p), -E2BIG);
	ll_plugin_status(p, &st);
	assert_non_null(strstr(st.health_msg, "saved state is 8 bytes, over the 4-byte limit"));
	assert_int_equal(ll_plugin_reload_flags(p, LL_PLUGIN_RELOAD_FRESH), 2);
	assert_int_equal(ph_serving(p), 2);
	ll_plugin_close(p);
}

/* ---- 7: the crash-loop guard ---- */

/* One run of a host with the guard: open, 4 callers for a moment, exit
 * with the version number that served (or 100 + why it failed). */
static int guarded_run(const char *guard, bool *fallback)
{
	int pfd[2], status;
	pid_t pid;
	char fb = 0;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ll_plugin_opts o = { .name = GREETER_NAME, .abi = GREETER_ABI, .guard_dir = guard };
		struct ll_plugin_status st;
		struct ph_callers c;
		struct ll_plugin *p = NULL;
		int n;

		signal(SIGSEGV, SIG_DFL);
		if (ll_plugin_open(cur, &o, &p, NULL, 0) < 0)
			_exit(101);
		ph_callers_start(&c, p, 4);
		usleep(100000);
		ph_callers_stop(&c);
		ll_plugin_status(p, &st);
		fb = st.guard_fallback ? 1 : 0;
		if (write(pfd[1], &fb, 1) != 1)
			_exit(103);
		n = atomic_load(&c.bad) ? 102 : ph_serving(p);
		ll_plugin_close(p);
		_exit(n);
	}
	close(pfd[1]);
	if (read(pfd[0], &fb, 1) != 1)
		fb = 0;
	close(pfd[0]);
	*fallback = fb;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		return -WTERMSIG(status);
	return WEXITSTATUS(status);
}

static void test_crash_loop_guard(void **state)
{
	char guard[4300];
	bool fb;

	(void)state;
	snprintf(guard, sizeof(guard), "%s/guard", dir);
	assert_int_equal(guarded_run(guard, &fb), 1); /* v1 serves and is kept as the last good */
	assert_false(fb);
	ph_replace_file(ph_plugin("greeter-initcrash.so"), cur);
	assert_int_equal(guarded_run(guard, &fb), -SIGSEGV); /* dies in init */
	/* Restarted by its supervisor: starts on the last good version. */
	assert_int_equal(guarded_run(guard, &fb), 1);
	assert_true(fb);
	assert_int_equal(guarded_run(guard, &fb), 1); /* and again: no crash loop */
	/* A new file loads normally. */
	ph_replace_file(ph_plugin("greeter-v2.so"), cur);
	assert_int_equal(guarded_run(guard, &fb), 2);
	assert_false(fb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_torn_write_two_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_write_settles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_mixes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_catches_loader_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watcher_crash_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_storm_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_storm_out_of_descriptors, setup, teardown_nofile),
		cmocka_unit_test_setup_teardown(test_directory_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_trap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_loop_guard, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
