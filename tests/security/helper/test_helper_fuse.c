/* test_helper_fuse.c: a crash mapping a file of a hostile FUSE daemon: the
 * helper never reads it, nor asks the daemon anything (issue 15 §6).
 *
 * The test is the daemon: it speaks the raw FUSE protocol on /dev/fuse
 * (linux/fuse.h, no libfuse), mounted allow_other in the initial mount
 * namespace, so that root's system calls reach it (the case where fstatfs()
 * would be sent to the daemon). It answers what a process needs to open and
 * map its one file, counts every request, and never answers STATFS (a
 * helper asking would hang there). A process maps the file; the helper is
 * run for it as the kernel would: it must finish, the record must say the
 * mapping's file was skipped as FUSE, and the daemon must have seen no READ,
 * STATFS or GETATTR of the file from the helper. The mount is lazily
 * unmounted at exit, even on failure. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "testutil.h"

struct counts {
	volatile int init, statfs, read, getattr_file, total;
};

static struct counts *cnt;
static char mnt[512];
static pid_t daemon_pid = -1;

static void reply(int fd, uint64_t unique, int error, const void *payload, size_t len)
{
	char buf[sizeof(struct fuse_out_header) + 4096];
	struct fuse_out_header h = { .len = (uint32_t)(sizeof(h) + len), .error = error, .unique = unique };

	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), payload, len);
	if (write(fd, buf, sizeof(h) + len) < 0 && errno != ENOENT)
		_exit(3);
}

static void attr_of(uint64_t node, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = node;
	a->mode = node == 1 ? S_IFDIR | 0755 : S_IFREG | 0644;
	a->nlink = node == 1 ? 2 : 1;
	a->size = node == 1 ? 0 : 8192;
	a->blocks = 16;
	a->blksize = 4096;
}

static void serve(int fd)
{
	static char buf[FUSE_MIN_READ_BUFFER + (1 << 20)];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		struct fuse_in_header *in = (struct fuse_in_header *)buf;
		void *arg = buf + sizeof(*in);

		if (n < 0 && (errno == EINTR || errno == ENOENT))
			continue;
		if (n <= 0)
			_exit(0);
		cnt->total++;
		switch (in->opcode) {
		case FUSE_INIT: {
			struct fuse_init_out o = { .major = FUSE_KERNEL_VERSION,
						   .minor = FUSE_KERNEL_MINOR_VERSION,
						   .max_readahead = 0, .max_write = 4096 };

			cnt->init++;
			reply(fd, in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_LOOKUP: {
			struct fuse_entry_out o = { 0 };

			if (in->nodeid != 1 || strcmp((char *)arg, "f")) {
				reply(fd, in->unique, -ENOENT, NULL, 0);
				break;
			}
			o.nodeid = 2;
			o.entry_valid = 3600;
			o.attr_valid = 3600;
			attr_of(2, &o.attr);
			reply(fd, in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_GETATTR: {
			struct fuse_attr_out o = { .attr_valid = 3600 };

			if (in->nodeid == 2)
				cnt->getattr_file++;
			attr_of(in->nodeid, &o.attr);
			reply(fd, in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_OPEN: case FUSE_OPENDIR: {
			struct fuse_open_out o = { .fh = 1, .open_flags = FOPEN_KEEP_CACHE };

			reply(fd, in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_READ: {
			static char zero[4096];
			const struct fuse_read_in *r = arg;

			cnt->read++;
			reply(fd, in->unique, 0, zero, r->size < sizeof(zero) ? r->size : sizeof(zero));
			break;
		}
		case FUSE_STATFS:
			cnt->statfs++; /* hostile: never answered */
			break;
		case FUSE_FORGET: case FUSE_BATCH_FORGET: case FUSE_INTERRUPT:
			break;
		case FUSE_DESTROY:
			_exit(0);
		case FUSE_FLUSH: case FUSE_RELEASE: case FUSE_RELEASEDIR:
			reply(fd, in->unique, 0, NULL, 0);
			break;
		default:
			reply(fd, in->unique, -ENOSYS, NULL, 0);
			break;
		}
	}
}

static void unmount_at_exit(void)
{
	if (mnt[0])
		umount2(mnt, MNT_DETACH);
	if (daemon_pid > 0)
		kill(daemon_pid, SIGKILL);
}

/* The crashing process: maps the FUSE file, then waits. */
static void map_fuse_file(void *arg)
{
	char path[600];
	int fd;

	(void)arg;
	snprintf(path, sizeof(path), "%s/f", mnt);
	fd = open(path, O_RDONLY);
	if (fd < 0 || mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED) {
		fprintf(stderr, "mapper: %s: %s\n", path, strerror(errno));
		_exit(1); /* no "ready": th_start_child fails */
	}
}

static void test_fuse_mapping_not_read(void **state)
{
	const char *store = th_path("fuse-store"), *in = th_path("fuse-in"), *cfg = th_path("fuse.conf");
	char opts[256], want[600];
	struct counts before;
	json_object *list, *rec, *maps;
	bool seen = false;
	pid_t mapper;
	int fd, r;

	(void)state;
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "no /dev/fuse (%s): skipped\n", strerror(errno));
		skip();
	}
	snprintf(mnt, sizeof(mnt), "%s", th_path("fuse-mnt"));
	assert_int_equal(mkdir(mnt, 0755), 0);
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fd);
	/* Mount first, then start the daemon: a read of /dev/fuse before the
	 * mount is attached fails (EPERM) and would end the daemon. */
	if (mount("llt-fuse", mnt, "fuse", MS_NOSUID | MS_NODEV, opts) < 0) {
		int e = errno;

		mnt[0] = '\0';
		fprintf(stderr, "cannot mount FUSE (%s): skipped\n", strerror(e));
		skip();
	}
	daemon_pid = fork();
	assert_true(daemon_pid >= 0);
	if (daemon_pid == 0)
		serve(fd);
	close(fd);
	mapper = th_start_child(map_fuse_file, NULL);
	assert_true(mapper > 0);
	before = *cnt;
	assert_true(before.init == 1);
	/* The helper: TimeoutSec bounds it should it ever ask the daemon. */
	th_write_text(cfg, "[Coredump]\nTimeoutSec=60\n");
	assert_int_equal(th_make_input(in, 65536, false), 0);
	th_fd3 = (int)syscall(SYS_pidfd_open, mapper, 0);
	assert_true(th_fd3 >= 0);
	r = th_helper(store, cfg, mapper, 0, time(NULL), "fusemap", in, "3", "1");
	close(th_fd3);
	th_fd3 = -1;
	fprintf(stderr, "daemon requests during the helper: %d (statfs %d, read %d, getattr of the file %d)\n",
		cnt->total - before.total, cnt->statfs - before.statfs, cnt->read - before.read,
		cnt->getattr_file - before.getattr_file);
	assert_int_equal(r, 0);
	assert_int_equal(cnt->statfs, before.statfs);
	assert_int_equal(cnt->read, before.read);
	assert_int_equal(cnt->getattr_file, before.getattr_file);
	list = th_list(store);
	assert_non_null(list);
	rec = th_record(store, th_str(json_object_array_get_idx(list, 0), "id"));
	assert_non_null(rec);
	assert_true(th_bool(rec, "core.stored"));
	maps = json_object_object_get(rec, "maps");
	snprintf(want, sizeof(want), "%s/f", mnt);
	for (size_t i = 0; maps && i < json_object_array_length(maps); i++) {
		json_object *m = json_object_array_get_idx(maps, i);

		if (th_str(m, "path") && !strcmp(th_str(m, "path"), want)) {
			seen = true;
			assert_non_null(th_str(m, "file_skipped"));
			assert_non_null(strstr(th_str(m, "file_skipped"), "FUSE"));
			assert_null(json_object_object_get(m, "file"));
		}
	}
	assert_true(seen);
	json_object_put(rec);
	json_object_put(list);
	th_stop(mapper);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuse_mapping_not_read),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "needs root (mounts FUSE, runs the helper as the kernel does): skipped\n");
		return TU_SKIP;
	}
	cnt = mmap(NULL, sizeof(*cnt), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (cnt == MAP_FAILED || tu_mkdtemp(th_root, sizeof(th_root)) < 0)
		return 1;
	chmod(th_root, 0755);
	atexit(unmount_at_exit);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
