/* crash.c: the crash part of `lifeline demo`.
 *
 * Runs the bundled examples/crash/crashme, an ordinary program that knows
 * nothing of lifeline, with LD_PRELOAD=liblifeline-crash.so: it loads a
 * plugin (libcrashplugin.so) whose plugin_run() stores through a NULL
 * pointer inside an inlined helper. Shows the report the preloaded reporter
 * wrote to stderr, that the exit status is still the signal (and whether
 * the kernel dumped core), then pipes the report through `lifeline
 * symbolize`, which adds file:line and the inlined frame. Returns 0 when the
 * program died of SIGSEGV and the report names plugin_run. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ll_config.h"
#include "cli/output.h"
#include "demo.h"

extern char **environ;

#define REPORT_MAX (1024 * 1024)

/* Read all of fd from offset 0 into a malloc'ed string. */
static char *slurp(int fd)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	while (len < REPORT_MAX) {
		ssize_t n;

		if (cap - len < 4096) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		n = pread(fd, buf + len, cap - len - 1, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

static int find_preload(char *buf, size_t size)
{
	if (demo_asset("src/preload/crash/liblifeline-crash.so", buf, size) == 0)
		return 0;
	snprintf(buf, size, "%s/liblifeline-crash.so", LL_LIBDIR);
	return access(buf, R_OK) == 0 ? 0 : -ENOENT;
}

/* Run crashme plugin under the preload library; stderr goes to errfd. */
static int run_crashme(const char *exe, const char *preload, int errfd, int *status)
{
	char pre[4200];
	char *envp[512];
	char *argv[] = { (char *)exe, "plugin", NULL };
	size_t n = 0;
	pid_t pid;

	for (char **e = environ; *e && n < 500; e++)
		if (strncmp(*e, "LD_PRELOAD=", 11) && strncmp(*e, "LIFELINE_CRASH_", 15))
			envp[n++] = *e;
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", preload);
	envp[n++] = pre;
	envp[n++] = "LIFELINE_CRASH_MAPS=0";   /* keep the demo short */
	envp[n] = NULL;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(errfd, 2);
		execve(exe, argv, envp);
		_exit(127);
	}
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int demo_crash(void)
{
	char exe[4096], preload[4096], errpath[] = "/tmp/lifeline-demo-crash-XXXXXX";
	struct rlimit rl;
	int status = 0, errfd = -1, r, ret = 1;
	char *report = NULL;

	if (demo_asset("examples/crash/crashme", exe, sizeof(exe)) < 0) {
		out_error("demo crash", "examples/crash/crashme not found beside lifeline-demo; build or install "
					"lifeline with its demo");
		return 1;
	}
	if (find_preload(preload, sizeof(preload)) < 0) {
		out_error("demo crash", "liblifeline-crash.so not found in the build tree or %s; build or install "
					"lifeline", LL_LIBDIR);
		return 1;
	}
	errfd = mkstemp(errpath);
	if (errfd < 0) {
		out_error("demo crash", "temporary file %s: %s", errpath, strerror(errno));
		return 1;
	}
	unlink(errpath);

	printf("A program that was not built with lifeline crashes inside a plugin it loaded\n"
	       "(a NULL store in an inlined helper of libcrashplugin.so). It runs as\n"
	       "  %sLD_PRELOAD=%s %s plugin%s\n"
	       "(LIFELINE_CRASH_MAPS=0 leaves the memory map out of this report).\n\n",
	       OUT_BOLD, preload, exe, OUT_RESET);
	r = run_crashme(exe, preload, errfd, &status);
	if (r < 0) {
		out_error("demo crash", "running %s: %s", exe, strerror(-r));
		goto out;
	}
	report = slurp(errfd);
	printf("%sThe report, written by the async-signal-safe handler:%s\n%s\n", OUT_BOLD, OUT_RESET,
	       report ? report : "");
	getrlimit(RLIMIT_CORE, &rl);
	if (WIFSIGNALED(status))
		printf("%sExit status:%s killed by signal %d (%s)%s, as without the reporter: it re-raised.\n",
		       OUT_BOLD, OUT_RESET, WTERMSIG(status), strsignal(WTERMSIG(status)),
		       WCOREDUMP(status) ? ", core dumped"
		       : rl.rlim_cur == 0 ? ", no core because `ulimit -c` is 0 here"
					  : ", no core (see /proc/sys/kernel/core_pattern)");
	else
		printf("%sExit status:%s %d (expected death by SIGSEGV)\n", OUT_BOLD, OUT_RESET,
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	printf("\n%sThe same report through `lifeline symbolize` (file:line, inlined frames):%s\n", OUT_BOLD,
	       OUT_RESET);
	{
		char *argv[] = { (char *)demo_cli, "symbolize", NULL };

		r = demo_run(argv, errfd);
	}
	if (r < 0 || !WIFEXITED(r) || WEXITSTATUS(r) != 0)
		printf("%s(lifeline symbolize did not succeed on this report%s)%s\n", OUT_YELLOW,
		       r < 0 ? ": could not run it" : "", OUT_RESET);

	ret = WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV && report &&
	      strstr(report, "==== lifeline crash report ====") && strstr(report, "(plugin_run+0x") ? 0 : 1;
out:
	free(report);
	close(errfd);
	return ret;
}
