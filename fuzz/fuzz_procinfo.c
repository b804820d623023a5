/* fuzz_procinfo.c: libFuzzer target for what the core_pattern helper reads
 * from /proc/PID of the crashing process, text that process shapes: status
 * (uid/gid sets, CoreDumping) and auxv (AT_SECURE), read by root for the
 * access decision; stat (its comm may hold spaces and parentheses; the start
 * time is field 22), cmdline, cgroup, limits and maps, opened by root and
 * parsed by the capture stage; the exe and cwd links.
 *
 * The input is a sectioned file (fuzz_util.h) written out as a fake /proc/PID
 * directory; seeds come from real /proc files (fuzz/make-seeds.sh):
 *   cd /proc/self && tail -n +1 status stat auxv cmdline cgroup limits maps
 * ll_cd_proc_gather() opens it as it opens /proc/PID, ll_cd_proc_describe()
 * builds the record's process part, ll_cd_proc_dumpable_at() makes the
 * access decision. Mapped files are not reached: the fake directory has no
 * map_files/ (their build-ids are fuzz_helper's). */
#include <stdlib.h>

#include "coredump/internal.h"
#include "fuzz_util.h"

static const char *const allowed[] = {
	"status", "stat", "auxv", "cmdline", "cgroup", "limits", "maps",
	"@exe", "@cwd", NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_section v[FZ_MAX_SECTIONS];
	char names[4096];
	struct ll_crash_args a = { .pid = 4242, .uid = 0, .gid = 0, .signal = 11, .time = 1700000000,
				   .comm = "fuzz", .pidfd = -1, .dump_mode = -1 };
	struct ll_cd_proc p = { .dirfd = -1 };
	struct ll_cd_proc_files files;
	json_object *meta;
	bool dumping;
	int dirfd;
	size_t n;

	fz_scratch(&dirfd);
	n = fz_split(data, size, v, names, sizeof(names));
	fz_fill_dir(dirfd, v, n, allowed);
	p.dirfd = dirfd;
	meta = json_object_new_object();
	ll_cd_proc_identity(&p, meta);
	ll_cd_proc_gather(&p, &files, true);
	ll_cd_proc_describe(&files, meta, true, false);
	ll_cd_proc_files_close(&files);
	/* the record must serialize (valid UTF-8 everywhere) */
	if (!json_object_to_json_string_ext(meta, JSON_C_TO_STRING_PLAIN))
		abort();
	json_object_put(meta);
	(void)ll_cd_proc_dumpable_at(&a, dirfd, &dumping);
	a.dump_mode = 1;
	(void)ll_cd_proc_dumpable_at(&a, dirfd, &dumping);
	return 0;
}
