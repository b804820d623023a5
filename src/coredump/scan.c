/* scan.c: the store seen from its file names and sizes alone.
 *
 * Every file of an entry starts with its id ("core.<comm>.<uid>.<boot>.
 * <pid>.<time>[.N]", see names.c), which the helper made from the kernel's
 * arguments: the id says whose crash it is and when, and the suffix what
 * the file is (".json" the record, ".maps" its memory map, ".zst" or
 * ".core-N.zst" the core). gc, the store's usage and the order of `cores
 * list` are decided from this, so that none of them parses a record: one
 * readdir() and one fstatat() a file, whatever the records contain. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/common.h"
#include "coredump/internal.h"

static bool has_suffix(const char *s, size_t len, const char *suf, size_t *stem)
{
	size_t l = strlen(suf);

	if (len <= l || memcmp(s + len - l, suf, l))
		return false;
	*stem = len - l;
	return true;
}

/* Length of the id in a core's name without ".zst": strips ".core-N". */
static size_t core_id_len(const char *name, size_t len)
{
	size_t i = len;

	while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
		i--;
	if (i < len && i > 6 && !memcmp(name + i - 6, ".core-", 6))
		return i - 6;
	return len;
}

int ll_cd_classify(const char *name, struct ll_cd_file *f)
{
	size_t len = strlen(name), stem;
	char comm[64];

	memset(f, 0, sizeof(*f));
	if (!ll_cd_name_ok(name) || len >= LL_CD_NAME_MAX)
		return -EINVAL;
	if (has_suffix(name, len, ".json", &stem))
		f->kind = LL_CD_RECORD;
	else if (has_suffix(name, len, ".maps", &stem))
		f->kind = LL_CD_MAPS;
	else if (has_suffix(name, len, ".zst", &stem))
		f->kind = LL_CD_CORE, stem = core_id_len(name, stem);
	else
		return -EINVAL;
	f->name = name;
	f->idlen = stem;
	f->uid = (uid_t)-1;
	f->named = ll_cd_parse_id(name, comm, sizeof(comm), &f->uid, &f->time) == 0;
	if (!f->named)
		f->uid = (uid_t)-1, f->time = 0;
	return 0;
}

int ll_cd_scan(int storefd, int (*fn)(const struct ll_cd_file *f, void *ctx), void *ctx)
{
	struct dirent *de;
	DIR *d = ll_opendir_at(storefd, NULL, 0);
	int r = 0;

	if (!d)
		return -errno;
	while (r == 0 && (de = readdir(d))) {
		struct ll_cd_file f;
		struct stat st;

		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		if (ll_cd_classify(de->d_name, &f) < 0)
			continue;
		if (fstatat(storefd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		f.bytes = (uint64_t)st.st_blocks * 512;
		f.size = (uint64_t)st.st_size;
		f.owner = st.st_uid;
		r = fn(&f, ctx);
	}
	closedir(d);
	return r;
}

static int add_usage(const struct ll_cd_file *f, void *ctx)
{
	*(uint64_t *)ctx += f->bytes;
	return 0;
}

int ll_cd_store_usage(int storefd, uint64_t *used, uint64_t *avail)
{
	struct statvfs sv;

	*used = 0;
	if (fstatvfs(storefd, &sv) < 0)
		return -errno;
	*avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	/* Cores, records and maps: a crash storm's records count too. */
	return ll_cd_scan(storefd, add_usage, used);
}
