/* fuzz_helper.c: libFuzzer target for what the core_pattern helper reads
 * from the core the kernel pipes in and from the files the crashing process
 * maps, all of it bytes the crashing user chooses: the build-id reader
 * (buildid.c: ELF header, program headers, PT_NOTE segments, both classes
 * and byte orders) and the stream (stream.c: zstd compression under a size
 * limit, the ELF core check of the first 64 KiB that decides "truncated").
 *
 * The input is the file/core. Its first byte, when the input is longer than
 * 64 bytes, also picks the size limit (so truncation runs too). Oracles:
 * the stored frame decompresses (ll_cd_unstream) to exactly the first
 * res.raw bytes of the input, and is marked truncated iff it is shorter
 * than the input. The input is also fed to ll_cd_unstream as a (damaged)
 * stored core, as `cores dump` would read it. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "coredump/internal.h"
#include "fuzz_util.h"

static int devnull = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ll_cd_limits lim = { .max_raw = UINT64_MAX, .level = 1 };
	struct ll_cd_stream_result res;
	int in = fz_memfd(data, size), out = -1, back = -1;
	uint64_t written = 0;
	bool truncated = false;
	char *bid;

	if (devnull < 0)
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (in < 0)
		return 0;
	bid = ll_cd_build_id_fd(in);
	if (bid && strspn(bid, "0123456789abcdef") != strlen(bid))
		abort();
	free(bid);

	if (size > 64 && data[0] < 64)
		lim.max_raw = (uint64_t)data[0] * 977;
	out = memfd_create("fuzz-zst", MFD_CLOEXEC);
	back = memfd_create("fuzz-raw", MFD_CLOEXEC);
	if (out < 0 || back < 0 || lseek(in, 0, SEEK_SET) != 0)
		goto done;
	if (ll_cd_stream(in, out, &lim, &res) < 0)
		goto done;
	if (res.read > size || res.raw > res.read || (res.raw < size && !res.truncated))
		abort();
	lseek(out, 0, SEEK_SET);
	if (ll_cd_unstream(out, back, &written, &truncated) < 0 || truncated || written != res.raw)
		abort();
	if (written) {
		char *copy = malloc(written);

		if (!copy || pread(back, copy, written, 0) != (ssize_t)written ||
		    memcmp(copy, data, written))
			abort();
		free(copy);
	}
	/* The input as a stored core file. */
	if (size <= 8192 && lseek(in, 0, SEEK_SET) == 0)
		(void)ll_cd_unstream(in, devnull, &written, &truncated);
done:
	if (back >= 0)
		close(back);
	if (out >= 0)
		close(out);
	close(in);
	return 0;
}
