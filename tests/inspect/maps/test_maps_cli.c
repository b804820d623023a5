/* test_maps_cli.c: `lifeline maps` on bad input: a garbage pid, a pid that
 * does not exist, a process the user may not read, a kernel thread, usage
 * errors; with several pids the good ones are still answered and the exit
 * status is 1. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static int run(char **argv, char **out, char **err)
{
	int st = tu_run(argv, NULL, out, err);

	assert_true(st >= 0);
	if (!WIFEXITED(st))
		fail_msg("%s %s ... died with status %#x; stderr: %s", argv[0], argv[1], st, *err);
	return WEXITSTATUS(st);
}

/* A pid no process has right now. */
static pid_t free_pid(void)
{
	for (pid_t p = 32000; p > 1000; p--)
		if (kill(p, 0) < 0 && errno == ESRCH)
			return p;
	fail_msg("no free pid found");
	return 0;
}

static void test_garbage_pid(void **state)
{
	char *out = NULL, *err = NULL;
	char *argv[] = { (char *)tu_lifeline(), "maps", "12ab", NULL };

	(void)state;
	assert_int_equal(run(argv, &out, &err), 1);
	assert_non_null(strstr(err, "'12ab' is not a process id"));
	assert_string_equal(out, "");
	free(out);
	free(err);
}

static void test_no_such_pid(void **state)
{
	char pid[16], want[64], *out = NULL, *err = NULL;
	char *argv[] = { (char *)tu_lifeline(), "maps", pid, NULL };

	(void)state;
	snprintf(pid, sizeof(pid), "%d", (int)free_pid());
	snprintf(want, sizeof(want), "pid %s: no such process", pid);
	assert_int_equal(run(argv, &out, &err), 1);
	assert_non_null(strstr(err, want));
	free(out);
	free(err);
}

static void test_permission_denied(void **state)
{
	char *out = NULL, *err = NULL;
	char *argv[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
			 (char *)tu_lifeline(), "maps", "1", NULL };

	(void)state;
	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0)
		skip();
	assert_int_equal(run(argv, &out, &err), 1);
	if (!strstr(err, "pid 1: permission denied"))
		fail_msg("stderr: %s", err);
	assert_non_null(strstr(err, "run as root"));
	free(out);
	free(err);
}

static void test_several_pids(void **state)
{
	char self[16], gone[16], *out = NULL, *err = NULL;
	char *argv[] = { (char *)tu_lifeline(), "maps", "--json", gone, "abc", self, NULL };
	json_object *root, *first, *pid;

	(void)state;
	snprintf(self, sizeof(self), "%d", (int)getpid());
	snprintf(gone, sizeof(gone), "%d", (int)free_pid());
	assert_int_equal(run(argv, &out, &err), 1);
	assert_non_null(strstr(err, "no such process"));
	assert_non_null(strstr(err, "'abc' is not a process id"));
	root = json_tokener_parse(out);
	assert_non_null(root);
	assert_true(json_object_is_type(root, json_type_array));
	assert_int_equal(json_object_array_length(root), 1);
	first = json_object_array_get_idx(root, 0);
	assert_true(json_object_object_get_ex(first, "pid", &pid));
	assert_int_equal(json_object_get_int(pid), getpid());
	json_object_put(root);
	free(out);
	free(err);
}

static void test_kernel_thread(void **state)
{
	char *out = NULL, *err = NULL;
	char *argv[] = { (char *)tu_lifeline(), "maps", "2", NULL };
	FILE *f = fopen("/proc/2/comm", "r");
	char buf[64] = "";
	bool kthreadd;

	(void)state;
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	kthreadd = !strncmp(buf, "kthreadd", 8);
	if (!kthreadd)
		skip(); /* pid 2 is not kthreadd in this pid namespace */
	assert_int_equal(run(argv, &out, &err), 0);
	assert_non_null(strstr(out, "has no mappings"));
	free(out);
	free(err);
}

static void test_usage(void **state)
{
	char *out = NULL, *err = NULL;
	char *none[] = { (char *)tu_lifeline(), "maps", NULL };
	char *bad_opt[] = { (char *)tu_lifeline(), "maps", "--frobnicate", "1", NULL };
	char *help[] = { (char *)tu_lifeline(), "maps", "--help", NULL };

	(void)state;
	assert_int_equal(run(none, &out, &err), 2);
	assert_non_null(strstr(err, "give one or more PIDs"));
	free(out);
	free(err);
	assert_int_equal(run(bad_opt, &out, &err), 2);
	assert_non_null(strstr(err, "--frobnicate"));
	free(out);
	free(err);
	assert_int_equal(run(help, &out, &err), 0);
	assert_non_null(strstr(out, "usage: lifeline maps"));
	free(out);
	free(err);
}

/* A mapped file whose name holds a terminal escape sequence is shown
 * escaped, never raw. */
static void test_control_bytes(void **state)
{
	char dir[256], path[300], pid[16], *out = NULL, *err = NULL;
	char *argv[] = { (char *)tu_lifeline(), "maps", "--no-smaps", pid, NULL };
	void *p;
	int fd;

	(void)state;
	assert_int_equal(tu_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/evil\033[31mred", dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	close(fd);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	assert_int_equal(run(argv, &out, &err), 0);
	assert_non_null(strstr(out, "/evil\\x1b[31mred"));
	assert_null(strchr(out, '\033'));
	munmap(p, 4096);
	unlink(path);
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_garbage_pid),    cmocka_unit_test(test_no_such_pid),
		cmocka_unit_test(test_permission_denied), cmocka_unit_test(test_several_pids),
		cmocka_unit_test(test_kernel_thread),  cmocka_unit_test(test_usage),
		cmocka_unit_test(test_control_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
