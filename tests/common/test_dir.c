/* test_dir.c: ll_opendir_at() (src/common/fileio.c), the one way modules
 * list a directory they hold open. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/common.h"

static char dir[64];

static int count(DIR *d)
{
	struct dirent *de;
	int n = 0;

	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	return n;
}

static void test_listing(void **state)
{
	int fd;
	DIR *d;

	(void)state;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	/* on the fd itself, twice: each listing starts at the first entry and
	 * leaves the caller's fd open */
	for (int i = 0; i < 2; i++) {
		d = ll_opendir_at(fd, NULL, 0);
		assert_non_null(d);
		assert_true(fcntl(dirfd(d), F_GETFD) & FD_CLOEXEC);
		assert_int_equal(count(d), 3);
		closedir(d);
		assert_true(fcntl(fd, F_GETFD) >= 0);
	}
	/* a subdirectory by name, and O_NOFOLLOW refusing a symlink to it */
	d = ll_opendir_at(fd, "sub", O_NOFOLLOW);
	assert_non_null(d);
	assert_int_equal(count(d), 0);
	closedir(d);
	assert_null(ll_opendir_at(fd, "link", O_NOFOLLOW));
	assert_true(errno == ENOTDIR || errno == ELOOP); /* O_DIRECTORY|O_NOFOLLOW: ENOTDIR */
	assert_null(ll_opendir_at(fd, "file", 0));
	assert_int_equal(errno, ENOTDIR);
	assert_null(ll_opendir_at(-1, NULL, 0));
	assert_int_equal(errno, EBADF);
	close(fd);
}

static int setup(void **state)
{
	char p[128];
	int fd;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ll-test-dir-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(p, sizeof(p), "%s/sub", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/link", dir);
	if (symlink("sub", p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/file", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
