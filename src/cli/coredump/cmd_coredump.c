/* cmd_coredump.c: `lifeline coredump`, the core_pattern helper, and its
 * --install / --uninstall.
 *
 * As a helper it is started by the kernel as root with the core on fd 0,
 * the %F pidfd on fd 3 and no usable stdout/stderr: it makes sure fds 1 and
 * 2 point somewhere harmless, then hands everything to
 * ll_coredump_receive(); problems go to <store>/coredump.log (or syslog).
 * Option parsing stops at the first positional argument, so a comm such as
 * "-bash" is never taken for an option. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "common/common.h"
#include "common/sandbox.h"
#include "lifeline/store.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lifeline coredump [--store DIR] [--config FILE] %%P %%u %%g %%s %%t %%c %%h %%e [%%F [%%d]]\n"
		"       lifeline coredump --install [--store DIR] [--config FILE] [--sysctl-d FILE | --no-sysctl-d]\n"
		"                                   [--pipe-limit N]\n"
		"       lifeline coredump --uninstall [--store DIR]\n\n"
		"The core_pattern helper: the kernel pipes a crashing process's core into it; it is\n"
		"stored compressed in the store (default %s) with a metadata record, within the\n"
		"limits of the configuration (default %s). Browse with 'lifeline cores'.\n\n"
		"  --install      set kernel.core_pattern to this binary (and core_pipe_limit), also in a\n"
		"                 sysctl.d drop-in (default %s); the previous values are saved in the store;\n"
		"                 create the system user lifeline-coredump the helper parses cores as\n"
		"  --uninstall    put the saved values back and remove the drop-in (the user is kept)\n"
		"  --store DIR    the store directory (passed on in core_pattern by --install)\n"
		"  --config FILE  the limits (passed on in core_pattern by --install)\n",
		LL_STORE_DEFAULT_DIR, LL_COREDUMP_DEFAULT_CONFIG, LL_COREDUMP_DEFAULT_SYSCTL_D);
}

/* fds 0-2 must exist, or files we open would become "stdout" for any stray
 * library message (or stdin: the store read as the core). */
static void sane_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) < 0) {
			int n = open("/dev/null", O_RDWR);

			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
	}
}

static int parse_args(char **v, int n, struct ll_crash_args *a)
{
	uint64_t u;

	memset(a, 0, sizeof(*a));
	a->pidfd = -1;
	a->dump_mode = -1;
	if (n < 8 || n > 10)
		return -EINVAL;
	if (ll_parse_pid(v[0], &a->pid) < 0)
		return -EINVAL;
	if (ll_parse_u64(v[1], 0, &u) < 0 || u > UINT_MAX)
		return -EINVAL;
	a->uid = (uid_t)u;
	if (ll_parse_u64(v[2], 0, &u) < 0 || u > UINT_MAX)
		return -EINVAL;
	a->gid = (gid_t)u;
	if (ll_parse_u64(v[3], 0, &u) < 0 || u > 64)
		return -EINVAL;
	a->signal = (int)u;
	if (ll_parse_u64(v[4], 0, &u) < 0 || u > INT64_MAX)
		return -EINVAL;
	a->time = (int64_t)u;
	if (ll_parse_u64(v[5], 0, &a->core_limit) < 0)
		return -EINVAL;
	a->hostname = v[6];
	a->comm = v[7];
	if (n >= 9 && *v[8]) {
		if (ll_parse_u64(v[8], 0, &u) < 0 || u > INT_MAX)
			return -EINVAL;
		a->pidfd = (int)u;
	}
	if (n >= 10 && *v[9]) {
		if (ll_parse_u64(v[9], 0, &u) < 0 || u > 2)
			return -EINVAL;
		a->dump_mode = (int)u;
	}
	return 0;
}

static int run_helper(const char *store, const char *config, char **v, int n)
{
	struct ll_coredump_config cfg;
	struct ll_crash_args a;
	struct ll_coredump_result res;
	char err[256];
	int storefd = -1, r;

	sane_fds();
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_DUMPABLE, 0);
	if (parse_args(v, n, &a) < 0) {
		/* Said in the store's log if there is one (never created for this). */
		if (ll_store_open(store, false, &storefd) < 0)
			storefd = -1;
		ll_store_log(storefd, "bad arguments from core_pattern (%d given); check "
			     "/proc/sys/kernel/core_pattern or run 'lifeline coredump --install'", n);
		out_error("coredump", "expected %%P %%u %%g %%s %%t %%c %%h %%e [%%F [%%d]]; "
			  "see 'lifeline coredump --help'");
		if (storefd >= 0)
			close(storefd);
		return LL_EXIT_USAGE;
	}
	/* %F names fd 3; if the kernel (or whoever started us) left it closed,
	 * the next file we open would take its place: forget it now. */
	if (a.pidfd >= 0 && fcntl(a.pidfd, F_GETFD) < 0)
		a.pidfd = -1;
	r = ll_store_open(store, true, &storefd);
	if (r < 0) {
		ll_store_log(-1, "store %s unusable: %s; core of pid %d lost", store, strerror(-r),
			     (int)a.pid);
		out_error("coredump", "store %s: %s (must be a root-owned directory, not writable "
			  "by group or others)", store, strerror(-r));
		return LL_EXIT_FAIL;
	}
	ll_coredump_config_init(&cfg);
	r = ll_coredump_config_load(&cfg, config, err, sizeof(err));
	if (r < 0 && r != -ENOENT)
		ll_store_log(storefd, "config %s: %s; using the defaults", config,
			     r == -EINVAL ? err : strerror(-r));
	/* The kernel waits for us: a hang (a read of the process's memory
	 * stuck on a dead FUSE daemon) would hold a core_pipe_limit slot and
	 * the crashed process for ever. SIGALRM's default action ends us even
	 * in a killable wait; the record claimed early says what was left. */
	signal(SIGALRM, SIG_DFL);
	if (cfg.timeout)
		alarm(cfg.timeout);
	r = ll_coredump_receive(storefd, &cfg, &a, STDIN_FILENO, &res);
	close(storefd);
	return r < 0 ? LL_EXIT_FAIL : LL_EXIT_OK;
}

static int self_path(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

int cmd_coredump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "install", no_argument, NULL, 'I' },
		{ "uninstall", no_argument, NULL, 'U' },
		{ "sysctl-d", required_argument, NULL, 'D' },
		{ "no-sysctl-d", no_argument, NULL, 'N' },
		{ "pipe-limit", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ll_coredump_install_opts io = { 0 };
	const char *store = NULL, *config = NULL;
	char self[PATH_MAX], pattern[256];
	int mode = 0, c, r;
	uint64_t u;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 's': store = optarg; break;
		case 'c': config = optarg; break;
		case 'I': mode = 'I'; break;
		case 'U': mode = 'U'; break;
		case 'D': io.sysctl_d = optarg; break;
		case 'N': io.sysctl_d = ""; break;
		case 'L':
			if (ll_parse_u64(optarg, 0, &u) < 0 || u == 0 || u > 1024) {
				out_error("coredump", "--pipe-limit '%s': expected 1..1024", optarg);
				return LL_EXIT_USAGE;
			}
			io.pipe_limit = (unsigned)u;
			break;
		case 'h': usage(stdout); return LL_EXIT_OK;
		default:
			out_error("coredump", "unknown option '%s'; see 'lifeline coredump --help'",
				  argv[optind - 1]);
			return LL_EXIT_USAGE;
		}
	}
	if (store && store[0] != '/') {
		out_error("coredump", "--store '%s': give an absolute path", store);
		return LL_EXIT_USAGE;
	}
	if (config && config[0] != '/') {
		out_error("coredump", "--config '%s': give an absolute path", config);
		return LL_EXIT_USAGE;
	}
	if (!mode) {
		if (isatty(STDIN_FILENO)) {
			out_error("coredump", "this is the core_pattern helper: the kernel runs it with "
				  "a core on stdin. To use it, run 'lifeline coredump --install'");
			return LL_EXIT_USAGE;
		}
		return run_helper(store ? store : LL_STORE_DEFAULT_DIR,
				  config ? config : LL_COREDUMP_DEFAULT_CONFIG, argv + optind, argc - optind);
	}
	if (optind != argc) {
		out_error("coredump", "unexpected argument '%s' with --%s", argv[optind],
			  mode == 'I' ? "install" : "uninstall");
		return LL_EXIT_USAGE;
	}
	io.store = store;
	io.config = config;
	if (mode == 'U') {
		r = ll_coredump_uninstall(&io);
		if (r == -ENOENT) {
			out_error("coredump", "no saved core_pattern in the store %s (was --install run "
				  "with this --store?)", store ? store : LL_STORE_DEFAULT_DIR);
			return LL_EXIT_FAIL;
		}
		if (r < 0) {
			out_error("coredump", "--uninstall: %s", strerror(-r));
			return LL_EXIT_FAIL;
		}
		printf("core_pattern and core_pipe_limit restored\n");
		return LL_EXIT_OK;
	}
	r = self_path(self, sizeof(self));
	if (r < 0) {
		out_error("coredump", "cannot find this binary's path (/proc/self/exe): %s", strerror(-r));
		return LL_EXIT_FAIL;
	}
	io.helper = self;
	r = ll_coredump_pattern(&io, pattern, sizeof(pattern));
	if (r == -ENAMETOOLONG) {
		out_error("coredump", "the core_pattern line would exceed the kernel's 127 bytes "
			  "(binary %s%s%s): use shorter paths", self, store ? ", store " : "", store ? store : "");
		return LL_EXIT_FAIL;
	}
	if (r < 0) {
		out_error("coredump", "the paths must not contain spaces, '%%' or '|' (binary %s)", self);
		return LL_EXIT_FAIL;
	}
	r = ll_coredump_install(&io);
	if (r < 0) {
		out_error("coredump", "--install: %s%s", strerror(-r),
			  r == -EPERM || r == -EACCES ? " (run as root; the store must be root-owned "
							"and not writable by group or others)" : "");
		return LL_EXIT_FAIL;
	}
	printf("core_pattern = %s\n", pattern);
	/* The user the helper parses cores as (kept by --uninstall). */
	{
		bool created = false;

		r = ll_sandbox_user_create(LL_SANDBOX_USER, &created);
		if (r < 0)
			fprintf(stderr, "lifeline coredump: warning: could not create the system user %s (%s%s); "
				"until it exists, the helper parses cores as nobody\n", LL_SANDBOX_USER,
				strerror(-r), r == -ENOENT ? ": no useradd" : "");
		else if (created)
			printf("created the system user %s (no login, no home): the helper parses cores as it\n",
			       LL_SANDBOX_USER);
	}
	return LL_EXIT_OK;
}
