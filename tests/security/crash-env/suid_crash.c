/* suid_crash.c: the privileged victim of the crash-env attack test, installed
 * by the test as a setuid-root copy (chmod 4755) next to its data:
 *   secret       a root-only (0600) file; its first 16 hex digits are loaded
 *                into callee-saved registers just before the crash, so a
 *                report with registers carries them
 *   reports/     a root-only directory the program itself configures
 *   liblifeline-crash.so   the LD_PRELOAD library, for the dlopen form
 * Modes (argv[1]); all of them crash with a NULL store (SIGSEGV):
 *   env      ll_crash_opts_from_env() then ll_crash_install(), as a program
 *            that honours LIFELINE_CRASH_* does
 *   dir      the same, but the program sets opts.dir = reports/ itself
 *   fullfd   the program opens reports/own.log itself and marks it
 *            LL_CRASH_FULL_FD
 *   dlopen   loads liblifeline-crash.so (its constructor runs inside the
 *            setuid process, as under a system-wide /etc/ld.so.preload)
 *   none     no reporter (for LD_PRELOAD= given by the invoker, which ld.so
 *            ignores in a setuid program when the name has a slash) */
#include <dlfcn.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lifeline/crash.h"

static char here[4096];

static const char *at(const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", here, name);
	return buf;
}

static uint64_t read_secret(void)
{
	char path[4200], hex[17] = "";
	FILE *f = fopen(at("secret", path, sizeof(path)), "re");

	if (!f || !fgets(hex, sizeof(hex), f)) {
		fprintf(stderr, "suid_crash: cannot read %s\n", path);
		exit(2);
	}
	fclose(f);
	return strtoull(hex, NULL, 16);
}

__attribute__((noinline)) static void crash(uint64_t secret)
{
#if defined(__x86_64__)
	__asm__ volatile("mov %0, %%r12\n\tmov %0, %%r13\n\tmov %0, %%r14\n\tmov %0, %%r15\n\t"
			 "movl $0, (%1)"
			 :
			 : "r"(secret), "r"((long)0)
			 : "r12", "r13", "r14", "r15", "memory");
#else
	*(volatile uint64_t *)0 = secret;
#endif
}

int main(int argc, char **argv)
{
	struct ll_crash_opts opts;
	char path[4200], err[256];
	ssize_t n = readlink("/proc/self/exe", here, sizeof(here) - 1);
	uint64_t secret;
	int r;

	if (argc != 2 || n <= 0) {
		fprintf(stderr, "usage: suid_crash env|dir|fullfd|dlopen|none\n");
		return 2;
	}
	here[n] = '\0';
	*strrchr(here, '/') = '\0';
	secret = read_secret();
	ll_crash_opts_init(&opts);
	if (!strcmp(argv[1], "dir")) {
		opts.dir = at("reports", path, sizeof(path));
	} else if (!strcmp(argv[1], "fullfd")) {
		opts.fd = open(at("reports/own.log", path, sizeof(path)),
			       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (opts.fd < 0) {
			perror(path);
			return 2;
		}
		opts.flags |= LL_CRASH_FULL_FD;
	} else if (!strcmp(argv[1], "dlopen")) {
		if (!dlopen(at("liblifeline-crash.so", path, sizeof(path)), RTLD_NOW)) {
			fprintf(stderr, "suid_crash: %s\n", dlerror());
			return 2;
		}
		crash(secret);
		return 1;
	} else if (!strcmp(argv[1], "none")) {
		crash(secret);
		return 1;
	} else if (strcmp(argv[1], "env")) {
		fprintf(stderr, "suid_crash: unknown mode %s\n", argv[1]);
		return 2;
	}
	if (ll_crash_opts_from_env(&opts, err, sizeof(err)) < 0)
		fprintf(stderr, "suid_crash: %s\n", err);
	r = ll_crash_install(&opts);
	if (r < 0) {
		fprintf(stderr, "suid_crash: ll_crash_install: %s\n", strerror(-r));
		return 2;
	}
	crash(secret);
	return 1;
}
