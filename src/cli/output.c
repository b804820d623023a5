/* output.c: error messages, JSON printing, colour. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/output.h"

void out_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "lifeline %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int out_json(json_object *o)
{
	const char *s = json_object_to_json_string_ext(o,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	int r = 0;

	if (puts(s) == EOF)
		r = -EIO;
	json_object_put(o);
	return r;
}

bool out_color(void)
{
	static int cached = -1;

	if (cached < 0)
		cached = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	return cached;
}

const char *out_c(const char *ansi)
{
	return out_color() ? ansi : "";
}

const char *out_size(unsigned long long bytes, char buf[32])
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024.0 && u < 4) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, 32, "%llu B", bytes);
	else
		snprintf(buf, 32, "%.1f %s", v, units[u]);
	return buf;
}
