/* env.c: ll_crash_opts_from_env(), the LIFELINE_CRASH_* variables.
 *
 * Used by the LD_PRELOAD library (whose only configuration is the
 * environment) and by programs that want the same knobs. Each variable is
 * checked on its own: a bad one is described in err and skipped, the good
 * ones still apply.
 *
 * Every variable is read with secure_getenv(): in a setuid, setgid or
 * file-capability program (AT_SECURE) the environment belongs to the
 * invoking user, who must not choose where a privileged crash report goes
 * (LIFELINE_CRASH_FD=3, LIFELINE_CRASH_DIR=/tmp/x): there none of them
 * applies. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crash/crash_internal.h"
#include "lifeline/crash.h"

static void set_err(char *err, size_t errlen, int *r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void set_err(char *err, size_t errlen, int *r, const char *fmt, ...)
{
	va_list ap;

	if (*r == 0 && err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	*r = -EINVAL;
}

static int parse_bool(const char *s, int *out)
{
	if (!strcmp(s, "1") || !strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcasecmp(s, "on"))
		*out = 1;
	else if (!strcmp(s, "0") || !strcasecmp(s, "no") || !strcasecmp(s, "false") || !strcasecmp(s, "off"))
		*out = 0;
	else
		return -EINVAL;
	return 0;
}

static int parse_signals(const char *s, struct ll_crash_opts *opts)
{
	int sigs[LL_CRASH_MAX_SIGNALS];
	size_t n = 0;

	while (*s) {
		size_t len = strcspn(s, ", ");
		int sig;

		if (len) {
			sig = crash_sig_from_name(s, len);
			if (sig < 0 || sig == SIGKILL || sig == SIGSTOP || n >= LL_CRASH_MAX_SIGNALS)
				return -EINVAL;
			sigs[n++] = sig;
		}
		s += len;
		s += strspn(s, ", ");
	}
	if (n == 0)
		return -EINVAL;
	memcpy(opts->signals, sigs, n * sizeof(int));
	opts->nsignals = n;
	return 0;
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -EINVAL;
	if (*end == 'k' || *end == 'K')
		v *= 1024, end++;
	else if (*end == 'm' || *end == 'M')
		v *= 1024 * 1024, end++;
	if (*end || v < 64 * 1024 || v > 64ull * 1024 * 1024)
		return -EINVAL;
	*out = (size_t)v;
	return 0;
}

int ll_crash_opts_from_env(struct ll_crash_opts *opts, char *err, size_t errlen)
{
	const char *v;
	int r = 0, b;

	if (err && errlen)
		err[0] = '\0';
	v = secure_getenv("LIFELINE_CRASH_DIR");
	if (v && *v) {
		if (strlen(v) > 3800)
			set_err(err, errlen, &r, "LIFELINE_CRASH_DIR is longer than 3800 bytes; ignored");
		else
			opts->dir = v;
	}
	v = secure_getenv("LIFELINE_CRASH_FD");
	if (v && *v) {
		char *end;
		long fd;

		errno = 0;
		fd = strtol(v, &end, 10);
		if (errno || *end || fd < 0 || fd > INT_MAX)
			set_err(err, errlen, &r, "LIFELINE_CRASH_FD='%s' is not a descriptor number; ignored", v);
		else {
			opts->fd = (int)fd;
			/* An inherited descriptor is not one the program vouched for. */
			opts->flags &= ~(unsigned)LL_CRASH_FULL_FD;
		}
	}
	v = secure_getenv("LIFELINE_CRASH_SIGNALS");
	if (v && *v && parse_signals(v, opts) < 0)
		set_err(err, errlen, &r,
			"LIFELINE_CRASH_SIGNALS='%s' is not a comma-separated list of at most %d signal "
			"names or numbers (e.g. SEGV,BUS,ABRT; not KILL or STOP, which cannot be caught); ignored", v, LL_CRASH_MAX_SIGNALS);
	v = secure_getenv("LIFELINE_CRASH_MAPS");
	if (v && *v) {
		if (parse_bool(v, &b) < 0)
			set_err(err, errlen, &r, "LIFELINE_CRASH_MAPS='%s' is not 0 or 1; ignored", v);
		else if (b)
			opts->flags &= ~(unsigned)LL_CRASH_NO_MAPS;
		else
			opts->flags |= LL_CRASH_NO_MAPS;
	}
	v = secure_getenv("LIFELINE_CRASH_REGISTERS");
	if (v && *v) {
		if (parse_bool(v, &b) < 0)
			set_err(err, errlen, &r, "LIFELINE_CRASH_REGISTERS='%s' is not 0 or 1; ignored", v);
		else if (b)
			opts->flags &= ~(unsigned)LL_CRASH_NO_REGISTERS;
		else
			opts->flags |= LL_CRASH_NO_REGISTERS;
	}
	v = secure_getenv("LIFELINE_CRASH_ALTSTACK");
	if (v && *v && parse_size(v, &opts->altstack_size) < 0)
		set_err(err, errlen, &r,
			"LIFELINE_CRASH_ALTSTACK='%s' is not a size between 64k and 64m; ignored", v);
	v = secure_getenv("LIFELINE_CRASH_WATCHDOG");
	if (v && *v) {
		char *end;
		unsigned long secs;

		errno = 0;
		secs = strtoul(v, &end, 10);
		if (errno || *end || v[0] == '-' || secs > 3600)
			set_err(err, errlen, &r,
				"LIFELINE_CRASH_WATCHDOG='%s' is not a number of seconds from 0 to 3600; ignored", v);
		else
			opts->watchdog_s = (unsigned)secs;
	}
	return r;
}
