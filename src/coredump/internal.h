/* internal.h: private interfaces between the files of the coredump module
 * (not installed). */
#ifndef LL_COREDUMP_INTERNAL_H
#define LL_COREDUMP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "lifeline/store.h"

/* names.c ---------------------------------------------------------------- */

/* Boot id (32 hex digits, no dashes) or, failing that, the sanitized host. */
void ll_cd_boot_tag(const char *hostname, char *out, size_t size);

/* The base id "core.<comm>.<uid>.<boot>.<pid>.<time>". */
void ll_cd_make_id(const struct ll_crash_args *a, char *out, size_t size);

/* Fields of a base id, parsed back from a store file name (for the rate
 * limit and gc without reading every record). Returns 0 or -EINVAL. */
int ll_cd_parse_id(const char *name, char *comm, size_t commsz, uid_t *uid, int64_t *time);

/* A file name the store lists (id.json, id.zst): not hidden, valid chars. */
bool ll_cd_name_ok(const char *name);

/* buildid.c -------------------------------------------------------------- */

/* The GNU build-id of the ELF file open on fd, in lowercase hex (malloc'ed),
 * or NULL. Bounded pread()s only: safe on a hostile, huge or shrinking file. */
char *ll_cd_build_id_fd(int fd);

/* procinfo.c ------------------------------------------------------------- */

/* What was read from /proc about the crashing process. */
struct ll_cd_proc {
	int dirfd;             /* /proc/PID, verified, or -1 */
	bool via_pidfd;
	bool dumpable;         /* the core may be readable by the uid */
	char why[160];         /* why /proc could not be read, or "" */
};

/* Open /proc/PID for a: through the pidfd (its fdinfo Pid must be a->pid,
 * and it must still be alive after the open) or, without one, /proc/PID
 * with its start time no later than a->time. Then decide dumpable from %d,
 * the uid/gid sets and AT_SECURE. */
void ll_cd_proc_open(const struct ll_crash_args *a, struct ll_cd_proc *p);

/* Add pidfd, dumpable, proc_error (what ll_cd_proc_open() found) to meta. */
void ll_cd_proc_identity(const struct ll_cd_proc *p, json_object *meta);

/* A mapped file found through map_files/ (ll_cd_proc_gather()). */
struct ll_cd_mapfile {
	uint64_t start, end;   /* the mapping */
	struct stat st;        /* the file (when stat_ok) */
	bool stat_ok;
	const char *skipped;   /* why it is not read (a static string), or NULL */
	int slot;              /* its read descriptor in ll_cd_proc_files.fds, or -1 */
};

/* What the privileged side opened for the capture stage to parse. */
struct ll_cd_proc_files {
	bool have_proc;
	int cmdline, cgroup, limits, stat, maps; /* /proc/PID files, or -1 */
	char exe[4096], cwd[4096];
	ssize_t exe_len, cwd_len;                /* readlink() results, or -1 */
	struct ll_cd_mapfile *mf;                /* sorted by start */
	size_t nmf;
	int *fds;                                /* one per distinct regular file */
	dev_t *fd_dev;
	ino_t *fd_ino;
	size_t nfds;
};

/* Privileged: open the /proc/PID files and (with_maps) every map_files/
 * entry the capture stage will read; FUSE and network filesystems are
 * checked with fstatfs() on an O_PATH descriptor and never opened. */
void ll_cd_proc_gather(const struct ll_cd_proc *p, struct ll_cd_proc_files *f, bool with_maps);

void ll_cd_proc_files_close(struct ll_cd_proc_files *f);

/* Unprivileged: add exe, cmdline(_truncated), cwd, cgroup, rlimits,
 * process_start_time and, with_maps, maps(_truncated) with the mapped files'
 * inode, size, times and build-id to meta (keys set to null when
 * unreadable), parsed from what ll_cd_proc_gather() opened. Every read is
 * bounded; each mapped file's build-id is read under a 2 s deadline
 * (installs a SIGALRM handler). A maps error goes to proc_error unless
 * proc_error_set. */
void ll_cd_proc_describe(const struct ll_cd_proc_files *f, json_object *meta, bool with_maps,
			 bool proc_error_set);

void ll_cd_proc_close(struct ll_cd_proc *p);

/* helper.c / capture.c ----------------------------------------------------- */

/* The record's "core" object for res. */
json_object *ll_cd_core_object(const struct ll_coredump_result *res, const char *file,
			       const char *truncated_reason, const char *not_stored);

/* The unprivileged capture stage: create the core and record files (root's,
 * with share's ACL), fork a sandboxed child that parses files into meta,
 * streams in_fd into the core file (unless not_stored says why not) and
 * writes the record; then rename both into place (or, should the child
 * fail, keep what it wrote as a truncated core and write a record saying
 * why). res->id names the claimed entry; res is filled; core_name gets the
 * core's file name; why is a buffer for reasons (not_stored may point into
 * it). Returns 0 or -errno (the record could not be written). */
int ll_cd_capture(int storefd, const struct ll_coredump_config *cfg, const struct ll_crash_args *a,
		  int in_fd, const struct ll_cd_proc_files *files, json_object *meta, bool with_maps,
		  const char *not_stored, uid_t share, struct ll_coredump_result *res, char *core_name,
		  size_t cnsz, char *why, size_t whysz);

/* The checks ll_cd_proc_open() makes of an open /proc/PID (status, auxv):
 * may a's uid read the core, and (*dumping) is the process dumping one. For
 * fuzz/fuzz_procinfo.c, which hands a directory of its own making. */
bool ll_cd_proc_dumpable_at(const struct ll_crash_args *a, int dirfd, bool *dumping);

/* stream.c --------------------------------------------------------------- */

/* Limits while streaming. */
struct ll_cd_limits {
	uint64_t max_raw;      /* stop reading after this many raw bytes */
	uint64_t keep_free;    /* stop when the filesystem's free space would drop below */
	int level;
	int idle_timeout_ms;   /* give up after this long without data (0: never) */
};

struct ll_cd_stream_result {
	uint64_t raw;          /* raw bytes stored (decompress to this) */
	uint64_t read;         /* raw bytes read from in_fd */
	uint64_t written;      /* compressed bytes in the file */
	bool truncated;
	char reason[96];
	char format[64];       /* "ELF core", "not an ELF core", ... */
	uint64_t expected;     /* an ELF core's full size from its headers, or 0 */
};

/* Compress in_fd into out_fd (a fresh file) with fixed buffers. Ends with a
 * valid zstd frame whenever possible, ENOSPC and limits included (then
 * truncated is set). Returns 0 (also when truncated) or -errno for a failure
 * that left nothing usable. */
int ll_cd_stream(int in_fd, int out_fd, const struct ll_cd_limits *lim,
		 struct ll_cd_stream_result *res);

/* Decompress in_fd to out_fd; *truncated when the stream ends mid-frame. */
int ll_cd_unstream(int in_fd, int out_fd, uint64_t *written, bool *truncated);

/* store.c ---------------------------------------------------------------- */

/* Write a JSON object to <storefd>/<name> through a temp file + rename.
 * noreplace: fail with -EEXIST when name exists. Owner root, mode 0600;
 * when share_uid != (uid_t)-1, an ACL lets share_uid read it. */
int ll_cd_write_json(int storefd, const char *name, json_object *o, bool noreplace,
		     uid_t share_uid);

/* A fresh hidden temporary file ".tmp.<name>.<random>" (O_EXCL|O_NOFOLLOW,
 * 0600); tmp receives its name. Returns the fd or -errno. */
int ll_cd_temp_file(int storefd, const char *name, char *tmp, size_t size);

/* Let share_uid read fd (a POSIX ACL u:share_uid:r; the owner stays root, the
 * mode becomes 0640 with a mask of r); no-op when share_uid is (uid_t)-1.
 * -EOPNOTSUPP on a filesystem without ACLs. */
int ll_cd_share(int fd, uid_t share_uid);

/* Can files of the store carry a POSIX ACL? (probes with a temp file) */
bool ll_cd_acl_supported(int storefd);

/* Is file the core file of entry id ("<id>.zst" or "<id>.core-N.zst")? Root's
 * tools act on a record's "file" only then. */
bool ll_cd_core_name_ok(const char *id, const char *file);

/* Rename within the store; noreplace: -EEXIST rather than replacing (with
 * a link()+unlink() fallback where RENAME_NOREPLACE is not supported). */
int ll_cd_rename(int storefd, const char *from, const char *to, bool noreplace);

/* Read and parse <store>/<name> (O_NOFOLLOW, regular files only). */
int ll_cd_load_record(int storefd, const char *name, json_object **out);

/* Bytes used by the store's cores, records and maps files (st_blocks, from
 * names and sizes: scan.c) and the free bytes of its filesystem (for root). */
int ll_cd_store_usage(int storefd, uint64_t *used, uint64_t *avail);

/* record.c --------------------------------------------------------------- */

/* Parse a record (or its maps file) from len bytes: one JSON object, nesting
 * bounded, nothing after it. -EINVAL for anything else. */
int ll_cd_record_parse(const char *buf, size_t len, json_object **out);

/* Read and parse the record open on fd (a regular file of at most max
 * bytes, else -EINVAL / -EFBIG without reading it). */
int ll_cd_record_read_fd(int fd, size_t max, json_object **out);

/* The same for <store>/<name>, opened with O_NOFOLLOW. */
int ll_cd_record_load(int storefd, const char *name, size_t max, json_object **out);

/* Largest <id>.json the store's readers parse (the writer stays under
 * 1 MiB; larger ones are records of an older version with inline maps). */
#define LL_CD_RECORD_MAX (2u << 20)

/* Write the record of id: its "maps" array (if any) goes to <id>.maps and
 * the record gets "maps_file" and "maps_count" instead (meta is given back
 * as it was); fields a process can make huge are dropped, with a note, to
 * keep <id>.json under 1 MiB. Same modes and ACL as ll_cd_write_json(). */
int ll_cd_record_write(int storefd, const char *id, json_object *meta, bool noreplace,
		       uid_t share_uid);

/* The record's two file names, <id>.json and <id>.maps (buffers of size). */
int ll_cd_record_names(const char *id, char *name, char *maps_name, size_t size);

/* The split ll_cd_record_write() does, for a writer that has descriptors
 * only (the capture sandbox): meta's "maps" move into the returned side
 * object ({"id", "maps"}; NULL when meta has none), meta gets "maps_file"
 * (maps_name) and "maps_count", and bulky fields go to keep it under 1 MiB.
 * ll_cd_record_unsplit() puts the maps back and frees the side object. */
json_object *ll_cd_record_split(json_object *meta, const char *id, const char *maps_name);
void ll_cd_record_unsplit(json_object *meta, json_object *side);

/* scan.c ----------------------------------------------------------------- */

#define LL_CD_NAME_MAX 256

enum ll_cd_kind { LL_CD_RECORD, LL_CD_MAPS, LL_CD_CORE };

/* A file of the store, known from its name and an fstatat(). */
struct ll_cd_file {
	const char *name;      /* the file's name */
	size_t idlen;          /* its entry's id is name[0, idlen) */
	enum ll_cd_kind kind;
	bool named;            /* the id parsed: uid and time are the crash's */
	uid_t uid;             /* (uid_t)-1 when !named */
	int64_t time;
	uint64_t bytes;        /* st_blocks * 512 */
	uint64_t size;         /* st_size */
	uid_t owner;           /* st_uid */
};

/* Classify a store name (without stat: bytes, size, owner are 0). -EINVAL
 * for a name that is not a record, maps file or core. */
int ll_cd_classify(const char *name, struct ll_cd_file *f);

/* Call fn for every regular file of the store that is a record, maps file
 * or core; stops at the first non-zero return of fn and returns it. */
int ll_cd_scan(int storefd, int (*fn)(const struct ll_cd_file *f, void *ctx), void *ctx);

#endif
