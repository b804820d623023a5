/* fuzz_config.c: libFuzzer target for the coredump configuration file
 * (/etc/lifeline/coredump.conf, read by the helper the kernel starts as
 * root and by `cores gc`): inih's parser and every value parser of
 * config.c (sizes with suffixes, seconds, levels, booleans). A value that
 * loads must be in range; a failure must leave the configuration as it was
 * and say why ("line N: ..."). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lifeline/store.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ll_coredump_config c, before;
	char path[64], err[256];
	int fd = fz_memfd(data, size), r;

	if (fd < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ll_coredump_config_init(&c);
	before = c;
	r = ll_coredump_config_load(&c, path, err, sizeof(err));
	if (r < 0 && memcmp(&c, &before, sizeof(c)))
		abort(); /* a failed load changed the configuration */
	if (r == -EINVAL && !err[0])
		abort(); /* -EINVAL without a reason */
	if (r == 0 && (c.compression_level < 1 || c.compression_level > 19))
		abort();
	close(fd);
	return 0;
}
