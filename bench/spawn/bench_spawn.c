/* bench_spawn.c: the cost of one spawn of /bin/true from a big parent.
 *
 * The parent touches --mem-mib MiB of heap and holds --fds inheritable
 * descriptors (the field-notes set-up: 2 GiB, 10,000), then times per spawn
 * (spawn + wait): fork+execve, posix_spawn, system(), ll_spawn, ll_system.
 * The methods are timed round-robin (the machine is shared; a load change
 * then hits all alike). For each method it also counts the descriptors a
 * child inherits, by
 * running a shell that counts /proc/$$/fd. Prints medians, then the ratios
 * the goals are stated in. Not a test: timing belongs here.
 *
 * `bench_spawn --hold N` instead holds N descriptors (a tenth of them TCP
 * and UDP sockets on 127.0.0.1), prints "ready PID", and waits to be killed
 * (at most 10 minutes): the target of the `lifeline fds` vs lsof comparison in run.sh. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lifeline/spawn.h"

extern char **environ;

static char *true_argv[] = { "/bin/true", NULL };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	rl.rlim_cur = rl.rlim_max;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

static int open_many(int n)
{
	int base = open("/dev/null", O_RDONLY);

	if (base < 0)
		return -1;
	for (int i = 1; i < n; i++)
		if (dup(base) < 0)
			return -1;
	return 0;
}

static int reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

static int run_fork_exec(char **argv)
{
	pid_t pid = fork();

	if (pid == 0) {
		execve(argv[0], argv, environ);
		_exit(127);
	}
	return pid < 0 ? -1 : reap(pid);
}

static int run_posix_spawn(char **argv)
{
	pid_t pid;

	if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return -1;
	return reap(pid);
}

static int run_ll_spawn(char **argv)
{
	pid_t pid;
	int st;

	if (ll_spawn(argv, NULL, &pid, NULL) < 0)
		return -1;
	return ll_spawn_wait(pid, -1, -1, &st) < 0 ? -1 : st;
}

/* The command string for system()/ll_system() from argv (simple words). */
static const char *as_cmd(char **argv)
{
	static char buf[4096];
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; argv[i]; i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, i ? " '%s'" : "%s", argv[i]);
	return buf;
}

static int run_system(char **argv)
{
	return system(as_cmd(argv));
}

static int run_ll_system(char **argv)
{
	return ll_system(as_cmd(argv));
}

struct method {
	const char *name;
	int (*run)(char **argv);
	int iters;
	double median_ms;
	double min_ms;
	int inherited;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Round-robin over the methods, so that a change in the machine's load
 * (it is shared) hits every method alike; fork+exec, 100x slower, runs on
 * every 20th round only. Medians per method. */
static void time_methods(struct method *m, size_t n, int rounds)
{
	double *t[8];
	int cnt[8] = { 0 };

	for (size_t k = 0; k < n; k++) {
		t[k] = calloc((size_t)rounds, sizeof(double));
		if (!t[k])
			exit(1);
	}
	for (int i = 0; i < rounds; i++)
		for (size_t k = 0; k < n; k++) {
			double t0;

			if (cnt[k] >= m[k].iters || (m[k].iters < rounds && i % (rounds / m[k].iters)))
				continue;
			t0 = now();
			if (m[k].run(true_argv) != 0) {
				fprintf(stderr, "bench: %s of /bin/true failed\n", m[k].name);
				exit(1);
			}
			t[k][cnt[k]++] = now() - t0;
		}
	for (size_t k = 0; k < n; k++) {
		qsort(t[k], (size_t)cnt[k], sizeof(double), cmp_double);
		m[k].median_ms = t[k][cnt[k] / 2] * 1e3;
		m[k].min_ms = t[k][0] * 1e3;
		m[k].iters = cnt[k];
		free(t[k]);
	}
}

/* How many descriptors a child started this way holds: the shell counts its
 * own /proc/$$/fd and writes the number to a file. */
static int count_inherited(struct method *m, const char *dir)
{
	char out[512], script[1024], buf[32] = "";
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	FILE *f;

	snprintf(out, sizeof(out), "%s/count-%s", dir, m->name);
	snprintf(script, sizeof(script), "n=0; for f in /proc/$$/fd/*; do n=$((n+1)); done; echo $n > %s", out);
	if (m->run(argv) != 0)
		return -1;
	f = fopen(out, "re");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	unlink(out);
	/* beyond 0, 1, 2 and the directory the shell's glob had open */
	return atoi(buf) - 4 > 0 ? atoi(buf) - 4 : 0;
}

static int hold(int n)
{
	int socks = n / 10, made = 0;

	if (raise_nofile() < 0 || open_many(n - socks) < 0) {
		perror("bench_spawn --hold");
		return 1;
	}
	for (int i = 0; i < socks; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int tcp = i % 2 == 0;
		int s = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);

		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || (tcp && listen(s, 4) < 0)) {
			perror("bench_spawn --hold: socket");
			return 1;
		}
		made++;
	}
	printf("ready %d fds=%d sockets=%d\n", (int)getpid(), n, made);
	fflush(stdout);
	alarm(600); /* never outlive a forgotten run */
	for (;;)
		pause();
	return 0;
}

int main(int argc, char **argv)
{
	struct method methods[] = {
		{ "fork+exec", run_fork_exec, 10, 0, 0, 0 },
		{ "posix_spawn", run_posix_spawn, 200, 0, 0, 0 },
		{ "system", run_system, 200, 0, 0, 0 },
		{ "ll_spawn", run_ll_spawn, 200, 0, 0, 0 },
		{ "ll_system", run_ll_system, 200, 0, 0, 0 },
	};
	long mem_mib = 2048, nfds = 10000;
	char dir[] = "/tmp/lifeline-bench-XXXXXX";
	double fe, ps, sy, ls, lsy;
	char *heap;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--hold") && i + 1 < argc)
			return hold(atoi(argv[i + 1]));
		if (!strcmp(argv[i], "--mem-mib") && i + 1 < argc)
			mem_mib = atol(argv[++i]);
		else if (!strcmp(argv[i], "--fds") && i + 1 < argc)
			nfds = atol(argv[++i]);
		else {
			fprintf(stderr, "usage: bench_spawn [--mem-mib N] [--fds N] | --hold N\n");
			return 2;
		}
	}
	if (raise_nofile() < 0 || open_many((int)nfds) < 0 || !mkdtemp(dir)) {
		perror("bench_spawn: set-up");
		return 1;
	}
	heap = malloc((size_t)mem_mib << 20);
	if (!heap) {
		perror("bench_spawn: malloc");
		return 1;
	}
	memset(heap, 0x5a, (size_t)mem_mib << 20);
	printf("parent: %ld MiB touched heap, %ld extra descriptors; per spawn+wait of /bin/true (median)\n",
	       mem_mib, nfds);
	printf("%-12s %10s %8s %6s  %s\n", "method", "median ms", "min ms", "runs",
	       "descriptors the child inherits (beyond 0,1,2)");
	time_methods(methods, sizeof(methods) / sizeof(methods[0]), 200);
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		struct method *m = &methods[i];

		m->inherited = count_inherited(m, dir);
		printf("%-12s %10.3f %8.3f %6d  %d\n", m->name, m->median_ms, m->min_ms, m->iters,
		       m->inherited);
		fflush(stdout);
	}
	rmdir(dir);
	fe = methods[0].median_ms;
	ps = methods[1].median_ms;
	sy = methods[2].median_ms;
	ls = methods[3].median_ms;
	lsy = methods[4].median_ms;
	printf("\nratios of medians (of minimums: ll_spawn/posix_spawn %.2fx, ll_system/system %.2fx)\n",
	       methods[3].min_ms / methods[1].min_ms, methods[4].min_ms / methods[2].min_ms);
	printf("ll_spawn vs fork+exec: %.1fx faster (goal >= 30x): %s\n", fe / ls, fe / ls >= 30 ? "met" : "NOT met");
	printf("ll_spawn / posix_spawn: %.2fx the time (goal <= 1.2x): %s\n", ls / ps, ls / ps <= 1.2 ? "met" : "NOT met");
	printf("ll_system / system(): %.2fx the time (goal <= 1.2x): %s\n", lsy / sy, lsy / sy <= 1.2 ? "met" : "NOT met");
	free(heap);
	return 0;
}
