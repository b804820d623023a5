/* fuzz_record.c: libFuzzer target for the store's record reader: what root's
 * `lifeline cores list` and `cores info` do with a record (<id>.json) and a
 * stored core (<id>.zst) found in the store. The helper writes both, but from
 * what the crashing process chose (its comm, cmdline, maps, paths, the
 * core's bytes), and a store can be copied from another machine.
 *
 * Input: the record's JSON text, optionally followed by a NUL byte and the
 * stored core (zstd; used when at most 8 KiB, since a small frame can expand
 * to gigabytes). The record is written as one entry of a scratch store, then
 * read through the library (ll_store_list, match, resolve, decompress) and
 * through the CLI (`cores list`, `list --json`, then, with the core file
 * removed so that no analysis child is started, `cores info` and
 * `info --json`); the CLI's output goes to /dev/null. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "lifeline/store.h"
#include "fuzz_util.h"

#define ID "core.fuzz.1000.0123456789abcdef0123456789abcdef.4242.1700000000"

static char store[4200];
static int storefd = -1, devnull = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet_stdout();
	return 0;
}

static void put(const char *name, const uint8_t *p, size_t n)
{
	int fd = openat(storefd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		abort();
	if (n && write(fd, p, n) != (ssize_t)n)
		abort();
	close(fd);
}

static void cli(const char *sub, const char *flag)
{
	char *argv[] = { "cores", (char *)sub, "--store", store, (char *)flag, NULL };

	cmd_cores(flag ? 5 : 4, argv);
	fflush(stdout);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t reclen = nul ? (size_t)(nul - data) : size;
	struct ll_store_list l;

	if (storefd < 0) {
		snprintf(store, sizeof(store), "%s/store", fz_scratch(NULL));
		if (mkdir(store, 0755) < 0 || (storefd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			abort();
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	}
	put(ID ".json", data, reclen);
	unlinkat(storefd, ID ".zst", 0);
	if (nul && size - reclen - 1 <= 8192)
		put(ID ".zst", nul + 1, size - reclen - 1);

	if (ll_store_list(storefd, &l) >= 0) {
		struct ll_store_filter f = { .exe = "fuzz", .pid = 4242 };

		for (size_t i = 0; i < l.n; i++) {
			uint64_t written;
			bool truncated;

			(void)ll_store_match(&l.v[i], &f);
			if (l.v[i].core_file)
				(void)ll_store_decompress(storefd, &l.v[i], devnull, &written, &truncated);
		}
		(void)ll_store_resolve(&l, "core.fuzz", NULL);
		(void)ll_store_resolve(&l, NULL, &f);
		ll_store_list_free(&l);
	}
	cli("list", NULL);
	cli("list", "--json");
	unlinkat(storefd, ID ".zst", 0);
	cli("info", NULL);
	cli("info", "--json");
	return 0;
}
