/* reason.c: the one way a function fills its caller's "why" buffer.
 *
 * Functions that can refuse an input for many reasons take (why, why_size)
 * and return -errno; ll_fail_why() writes the sentence (when the caller
 * gave a buffer) and hands back the error, so a check reads as one line:
 * return ll_fail_why(-ENOEXEC, why, why_size, "not an ELF file"). */
#include <stdarg.h>
#include <stdio.h>

#include "common/common.h"

int ll_fail_why(int err, char *why, size_t why_size, const char *fmt, ...)
{
	va_list ap;

	if (why && why_size) {
		va_start(ap, fmt);
		vsnprintf(why, why_size, fmt, ap);
		va_end(ap);
	}
	return err;
}
