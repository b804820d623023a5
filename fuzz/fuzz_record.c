/* fuzz_record.c: libFuzzer target for the store's record reader: what root's
 * `lifeline cores list` and `cores info` do with an entry found in the
 * store: the record <id>.json, its memory-map side file <id>.maps and the
 * stored core <id>.zst. The helper writes them, but from what the crashing
 * process chose (its comm, cmdline, maps, paths, the core's bytes), and a
 * store can be copied from another machine.
 *
 * Input: the record's JSON text, then optionally a NUL byte and the side
 * file's JSON, then optionally a NUL byte and the stored core (zstd; used
 * when at most 8 KiB, since a small frame can expand to gigabytes); an
 * empty part means no such file. The record bytes go through
 * ll_cd_record_parse(); the three files become one entry of a scratch store,
 * read through the library (ll_store_list, ll_store_foreach,
 * ll_store_entry_maps, match, resolve, decompress) and through the CLI
 * (`cores list`, `list --json`, then, with the core file removed so that no
 * analysis runs, `cores info` and `info --json`), whose output goes to
 * /dev/null. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "coredump/internal.h"
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

static int each(struct ll_store_entry *e, void *ctx)
{
	uint64_t written;
	bool truncated;

	(void)ctx;
	(void)ll_store_entry_maps(storefd, e);
	if (e->core_file)
		(void)ll_store_decompress(storefd, e, devnull, &written, &truncated);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *part[3] = { data, NULL, NULL }, *end = data + size;
	size_t len[3] = { size, 0, 0 };
	struct ll_store_list l;
	json_object *rec = NULL;

	if (storefd < 0) {
		snprintf(store, sizeof(store), "%s/store", fz_scratch(NULL));
		if (mkdir(store, 0755) < 0 || (storefd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			abort();
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	}
	for (int i = 0; i < 2; i++) {
		const uint8_t *nul = memchr(part[i], '\0', len[i]);

		if (!nul)
			break;
		len[i] = (size_t)(nul - part[i]);
		part[i + 1] = nul + 1;
		len[i + 1] = (size_t)(end - part[i + 1]);
	}
	if (ll_cd_record_parse((const char *)part[0], len[0], &rec) == 0)
		json_object_put(rec);

	put(ID ".json", part[0], len[0]);
	unlinkat(storefd, ID ".maps", 0);
	unlinkat(storefd, ID ".zst", 0);
	if (len[1])
		put(ID ".maps", part[1], len[1]);
	if (len[2] && len[2] <= 8192)
		put(ID ".zst", part[2], len[2]);

	if (ll_store_list(storefd, &l) >= 0) {
		struct ll_store_filter f = { .exe = "fuzz", .pid = 4242 };

		for (size_t i = 0; i < l.n; i++) {
			(void)ll_store_match(&l.v[i], &f);
			(void)ll_store_entry_maps(storefd, &l.v[i]);
		}
		(void)ll_store_resolve(&l, "core.fuzz", NULL);
		(void)ll_store_resolve(&l, NULL, &f);
		ll_store_list_free(&l);
	}
	(void)ll_store_foreach(storefd, each, NULL, NULL);
	cli("list", NULL);
	cli("list", "--json");
	unlinkat(storefd, ID ".zst", 0);
	cli("info", NULL);
	cli("info", "--json");
	return 0;
}
