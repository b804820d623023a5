/* cores_cli.h: helpers shared by `lifeline cores` and the coredump demo. */
#ifndef LL_CLI_CORES_CLI_H
#define LL_CLI_CORES_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "lifeline/store.h"

/* Parse a time for --since/--until: seconds since the epoch, "YYYY-MM-DD",
 * "YYYY-MM-DD HH:MM[:SS]" (also with 'T'; local time), or a relative "-2h",
 * "30min ago" (s, min/m, h, d). Returns 0 or -EINVAL. */
int cores_parse_time(const char *s, int64_t *out);

/* Decompress e into an unnamed temporary file (O_TMPFILE under $TMPDIR or
 * /var/tmp, else a memfd). Returns the fd (not close-on-exec when keep_on_exec)
 * or -errno; *truncated as ll_store_decompress(). */
int cores_decompress_tmp(int storefd, const struct ll_store_entry *e, bool keep_on_exec,
			 uint64_t *size, bool *truncated);

#endif
