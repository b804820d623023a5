/* crasher: crashes on purpose, for `lifeline demo coredump` and the tests of
 * the core_pattern helper (tests/coredump).
 *
 *   crasher [--comm NAME] [segv|abort]
 *
 * segv (the default) dereferences NULL inside parse_record(), a function of
 * its own, so a backtrace has a known innermost frame; abort calls abort().
 * --comm renames the process first (prctl PR_SET_NAME), so that %e carries
 * whatever text a test wants the helper to cope with. Core dumps are
 * enabled (RLIMIT_CORE raised to its hard limit). Built -O0 -g. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

struct record {
	const char *name;
	int *value;
};

/* no_sanitize: in an UBSan build the NULL load must fault, not be reported. */
__attribute__((noinline, no_sanitize("undefined"))) int parse_record(const struct record *r)
{
	/* r->value is NULL: the read faults at address 0. */
	return r->value[0] + (int)strlen(r->name);
}

__attribute__((noinline)) int handle_request(int n)
{
	struct record r = { "request", NULL };
	volatile int sum = n;

	sum += parse_record(&r);
	return sum;
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	const char *mode = "segv";

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--comm") && i + 1 < argc)
			prctl(PR_SET_NAME, argv[++i], 0, 0, 0);
		else if (!strcmp(argv[i], "segv") || !strcmp(argv[i], "abort"))
			mode = argv[i];
		else {
			fprintf(stderr, "usage: crasher [--comm NAME] [segv|abort]\n");
			return 2;
		}
	}
	if (getrlimit(RLIMIT_CORE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_CORE, &rl);
	}
	fflush(NULL);
	if (!strcmp(mode, "abort"))
		abort();
	return handle_request(argc);
}
