/* bench_store: the core store with many bloated records (issue 15 §5).
 *
 *   bench-store LIFELINE STORE N
 *
 * 1. A process maps 9,000 separate pages and waits; `lifeline coredump` is
 *    run on it once, as the kernel would (%F pidfd on fd 3, a 64 KiB core on
 *    stdin): a genuine record, its <id>.maps side file and its core.
 * 2. That entry is cloned to N entries of 10 uids (ids, uids, pids and times
 *    rewritten through json-c; the maps file and core copied), as if N such
 *    crashes had happened.
 * 3. Timed (best of 3 for the listings) with their peak RSS (wait4):
 *    `lifeline cores list` and `--json` against `ls -l` of the store (the
 *    peer: a listing from names and stat; there is no coredumpctl here, and
 *    systemd-coredump lists from the journal, not from its directory);
 *    a victim's helper run that must clean up (MaxUse set 16 MiB below what
 *    the store holds: its gc evicts the biggest users' oldest cores, one
 *    record rewritten each) and `lifeline cores gc` with nothing to do (one
 *    full scan of the names).
 * Prints one line per run and the ratios to `ls -l`. Not a test: no bound is
 * asserted here; tests/security/store checks the memory bound. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NMAPS 9000

static const char *lifeline, *store;
static char cfg[4096];

static void die(const char *what)
{
	fprintf(stderr, "bench-store: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run argv with stdin from input (NULL: /dev/null), stdout to /dev/null,
 * pidfd (>= 0) as fd 3. Returns the exit status; *secs and *kb measured. */
static int run(char *const argv[], const char *input, int pidfd, double *secs, long *kb)
{
	struct rusage ru;
	double t0 = now();
	int status;
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int in = open(input ? input : "/dev/null", O_RDONLY), out = open("/dev/null", O_WRONLY);

		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0)
			_exit(126);
		if (pidfd >= 0 && (pidfd == 3 ? fcntl(3, F_SETFD, 0) : dup2(pidfd, 3)) < 0)
			_exit(126); /* dup2() onto itself would keep close-on-exec */
		execvp(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) != pid)
		die("wait4");
	*secs = now() - t0;
	*kb = ru.ru_maxrss;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static pid_t holder(size_t nmaps)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe(p) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		size_t pg = 4096;
		char *m = nmaps ? mmap(NULL, 2 * nmaps * pg, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : NULL;

		if (m == MAP_FAILED)
			_exit(1);
		for (size_t i = 0; i < nmaps; i++)
			mprotect(m + 2 * i * pg, pg, PROT_READ);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		die("holder");
	close(p[0]);
	return pid;
}

/* One crash of pid (uid) with core input through the real helper. */
static int crash(pid_t pid, unsigned uid, long long t, const char *comm, const char *input,
		 double *secs, long *kb)
{
	char spid[32], suid[32], st[32];
	char *argv[] = { (char *)lifeline, "coredump", "--store", (char *)store, "--config", cfg, spid, suid,
			 suid, "11", st, "18446744073709551615", "benchhost", (char *)comm, "3", "1", NULL };
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), r;

	if (pidfd < 0)
		die("pidfd_open");
	snprintf(spid, sizeof(spid), "%d", (int)pid);
	snprintf(suid, sizeof(suid), "%u", uid);
	snprintf(st, sizeof(st), "%lld", t);
	r = run(argv, input, pidfd, secs, kb);
	close(pidfd);
	return r;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		die(path);
	n = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	if (n < 0)
		die(path);
	*len = (size_t)n;
	return buf;
}

static void spill(const char *path, const char *a, size_t alen, const char *b, size_t blen,
		  const char *c, size_t clen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, a, alen) != (ssize_t)alen || write(fd, b, blen) != (ssize_t)blen ||
	    write(fd, c, clen) != (ssize_t)clen || close(fd) < 0)
		die(path);
}

static void write_config(const char *max_use)
{
	FILE *f = fopen(cfg, "we");

	if (!f)
		die(cfg);
	fprintf(f, "[Coredump]\nMaxUse=%s\nKeepFree=0\nRateLimitBurst=0\nRateLimitUserBurst=0\n", max_use);
	fclose(f);
}

static unsigned long long store_bytes(void)
{
	DIR *d = opendir(store);
	struct dirent *de;
	unsigned long long n = 0;

	if (!d)
		die(store);
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] != '.' && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			n += (unsigned long long)st.st_blocks * 512;
	}
	closedir(d);
	return n;
}

/* Clone entry id0 into n-1 more entries of 10 uids. */
static void clone_entries(const char *id0, int n, long long t0)
{
	char path[4096], boot[64] = "", comm[64];
	size_t mlen, clen;
	char *maps, *core, *at;
	json_object *rec;
	unsigned u;
	int pid;
	long long t;

	if (sscanf(id0, "core.%63[^.].%u.%63[^.].%d.%lld", comm, &u, boot, &pid, &t) != 5) {
		fprintf(stderr, "bench-store: unexpected id %s\n", id0);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s.json", store, id0);
	rec = json_object_from_file(path);
	if (!rec)
		die(path);
	snprintf(path, sizeof(path), "%s/%s.maps", store, id0);
	maps = slurp(path, &mlen);
	snprintf(path, sizeof(path), "%s/%s.zst", store, id0);
	core = slurp(path, &clen);
	at = strstr(maps, id0);
	if (!at) {
		fprintf(stderr, "bench-store: %s.maps does not name its id\n", id0);
		exit(1);
	}
	for (int i = 1; i < n; i++) {
		char id[256], name[300];
		json_object *c;
		unsigned uid = 1000 + (unsigned)(i % 10);

		snprintf(id, sizeof(id), "core.%s.%u.%s.%d.%lld", comm, uid, boot, 100000 + i, t0 + i);
		json_object_object_add(rec, "id", json_object_new_string(id));
		json_object_object_add(rec, "uid", json_object_new_int64(uid));
		json_object_object_add(rec, "pid", json_object_new_int64(100000 + i));
		json_object_object_add(rec, "time", json_object_new_int64(t0 + i));
		snprintf(name, sizeof(name), "%s.maps", id);
		json_object_object_add(rec, "maps_file", json_object_new_string(name));
		if (json_object_object_get_ex(rec, "core", &c) && c) {
			snprintf(name, sizeof(name), "%s.zst", id);
			json_object_object_add(c, "file", json_object_new_string(name));
		}
		snprintf(path, sizeof(path), "%s/%s.json", store, id);
		if (json_object_to_file_ext(path, rec, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) < 0)
			die(path);
		chmod(path, 0600);
		snprintf(path, sizeof(path), "%s/%s.maps", store, id);
		spill(path, maps, (size_t)(at - maps), id, strlen(id), at + strlen(id),
		      mlen - (size_t)(at - maps) - strlen(id));
		snprintf(path, sizeof(path), "%s/%s.zst", store, id);
		spill(path, core, clen, "", 0, "", 0);
	}
	json_object_put(rec);
	free(maps);
	free(core);
}

static void best_of(char *const argv[], int times, double *secs, long *kb)
{
	*secs = 1e9;
	*kb = 0;
	for (int i = 0; i < times; i++) {
		double s;
		long k;

		if (run(argv, NULL, -1, &s, &k) != 0) {
			fprintf(stderr, "bench-store: %s %s failed\n", argv[0], argv[1]);
			exit(1);
		}
		if (s < *secs)
			*secs = s;
		if (k > *kb)
			*kb = k;
	}
}

int main(int argc, char **argv)
{
	char in[4096], tiny[4096], id0[256] = "", max_use[64];
	unsigned long long before, after;
	double s_list, s_json, s_ls, s_help, s_gc, s;
	long k_list, k_json, k_ls, k_help, k_gc, k;
	long long t0 = (long long)time(NULL) - 100000;
	int n, fd;
	pid_t h;

	if (argc != 4 || (n = atoi(argv[3])) < 2) {
		fprintf(stderr, "usage: bench-store LIFELINE STORE N (N >= 2)\n");
		return 2;
	}
	lifeline = argv[1];
	store = argv[2];
	snprintf(cfg, sizeof(cfg), "%s.conf", store);
	snprintf(in, sizeof(in), "%s.core-in", store);
	snprintf(tiny, sizeof(tiny), "%s.tiny-in", store);
	write_config("infinity");
	{
		char buf[65536];

		fd = open("/dev/urandom", O_RDONLY);
		if (fd < 0 || read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			die("/dev/urandom");
		close(fd);
		spill(in, buf, sizeof(buf), "", 0, "", 0);
		spill(tiny, buf, 4096, "", 0, "", 0);
	}

	h = holder(NMAPS);
	if (crash(h, 0, (long long)time(NULL), "bench", in, &s, &k) != 0) {
		fprintf(stderr, "bench-store: the helper failed on the %d-mapping process\n", NMAPS);
		return 1;
	}
	kill(h, SIGKILL);
	waitpid(h, NULL, 0);
	{
		DIR *d = opendir(store);
		struct dirent *de;

		if (!d)
			die(store);
		while ((de = readdir(d)))
			if (strlen(de->d_name) > 5 && !strcmp(de->d_name + strlen(de->d_name) - 5, ".json") &&
			    de->d_name[0] != '.')
				snprintf(id0, sizeof(id0), "%.*s", (int)strlen(de->d_name) - 5, de->d_name);
		closedir(d);
	}
	if (!id0[0]) {
		fprintf(stderr, "bench-store: the helper wrote no record\n");
		return 1;
	}
	{
		char path[4096];
		struct stat sj, sm;

		snprintf(path, sizeof(path), "%s/%s.json", store, id0);
		stat(path, &sj);
		snprintf(path, sizeof(path), "%s/%s.maps", store, id0);
		if (stat(path, &sm) < 0)
			die("the maps side file");
		printf("one crash of a %d-mapping process: record %lld bytes, maps file %lld bytes "
		       "(helper %.3f s, %ld KiB)\n", NMAPS, (long long)sj.st_size, (long long)sm.st_size, s, k);
	}
	clone_entries(id0, n, t0);
	sync(); /* the clones' dirty pages would throttle the runs' own writes */
	before = store_bytes();
	printf("store: %d entries of 10 uids, %.1f MiB\n\n", n, (double)before / 1048576);

	{
		char *list[] = { (char *)lifeline, "cores", "list", "--store", (char *)store, NULL };
		char *json[] = { (char *)lifeline, "cores", "list", "--json", "--store", (char *)store, NULL };
		char *ls[] = { "ls", "-l", (char *)store, NULL };

		best_of(list, 3, &s_list, &k_list);
		best_of(json, 3, &s_json, &k_json);
		best_of(ls, 3, &s_ls, &k_ls);
	}
	/* Cleanup: a victim's crash into a store 16 MiB over MaxUse. */
	snprintf(max_use, sizeof(max_use), "%lluK", (before - (16ull << 20)) / 1024);
	write_config(max_use);
	h = holder(0);
	if (crash(h, 2000, (long long)time(NULL), "victim", tiny, &s_help, &k_help) != 0) {
		fprintf(stderr, "bench-store: the victim's helper failed\n");
		return 1;
	}
	kill(h, SIGKILL);
	waitpid(h, NULL, 0);
	after = store_bytes();
	{
		char *gc[] = { (char *)lifeline, "cores", "gc", "--store", (char *)store, "--config", cfg, NULL };

		if (run(gc, NULL, -1, &s_gc, &k_gc) != 0) {
			fprintf(stderr, "bench-store: cores gc failed\n");
			return 1;
		}
	}
	printf("%-44s %9s %10s %12s\n", "run", "wall", "peak RSS", "vs ls -l");
	printf("%-44s %8.3fs %7ld KiB %11.1fx\n", "ls -l STORE (peer: names + stat)", s_ls, k_ls, 1.0);
	printf("%-44s %8.3fs %7ld KiB %11.1fx\n", "lifeline cores list", s_list, k_list, s_list / s_ls);
	printf("%-44s %8.3fs %7ld KiB %11.1fx\n", "lifeline cores list --json", s_json, k_json, s_json / s_ls);
	printf("%-44s %8.3fs %7ld KiB %11.1fx\n", "victim's helper, cleaning up 16 MiB", s_help, k_help,
	       s_help / s_ls);
	printf("%-44s %8.3fs %7ld KiB %11.1fx\n", "lifeline cores gc (nothing to do)", s_gc, k_gc, s_gc / s_ls);
	printf("\nthe helper's cleanup freed %.1f MiB (store %.1f -> %.1f MiB, MaxUse %s)\n",
	       (double)(before - after) / 1048576, (double)before / 1048576, (double)after / 1048576, max_use);
	printf("goals (issue 15): cores list over 1,000 such records within 0.5 s and 50 MB; cleanup within 50 MB\n");
	printf("no coredumpctl peer: systemd-coredump lists from the journal, and is not installed here\n");
	unlink(cfg);
	unlink(in);
	unlink(tiny);
	return 0;
}
