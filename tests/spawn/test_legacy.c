/* test_legacy.c: the leak in an unmodified binary, shown and fixed.
 *
 * legacy_system (a plain program with a listening socket and 10,000
 * descriptors) runs fdreport through glibc's system(). Mode "leak": without
 * the shim, `lifeline fds --inherited --json CHILD` must list the parent's
 * listening socket among the child's descriptors and the parent must fail to
 * bind its port again. Mode "preload": with LD_PRELOAD of
 * liblifeline-safe-spawn.so, the child holds only 0, 1, 2, --inherited
 * lists no socket and the parent binds its port again while the child
 * lives. Under ASan the shim cannot be preloaded into a program (the ASan
 * runtime must come first): that mode is skipped. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lifeline/spawn.h"
#include "testutil.h"
#include "leakcheck.h"

static int preload;
static char line[1 << 17];

/* Descriptors of `lifeline fds --inherited --json pid` holding a TCP
 * socket on port; *total receives the number of shared descriptors. */
static int inherited_sockets_on(pid_t pid, int port, int *total)
{
	char pidstr[16];
	char *argv[] = { (char *)tu_lifeline(), "fds", "--inherited", "--json", pidstr, NULL };
	char *out = NULL, *err = NULL;
	json_object *root, *procs, *proc, *fds;
	int st, found = 0;

	snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
	st = tu_run(argv, NULL, &out, &err);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fprintf(stderr, "lifeline fds failed: %s\n", err ? err : "");
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	root = json_tokener_parse(out);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "processes", &procs));
	assert_int_equal(json_object_array_length(procs), 1);
	proc = json_object_array_get_idx(procs, 0);
	assert_true(json_object_object_get_ex(proc, "fds", &fds));
	*total = (int)json_object_array_length(fds);
	for (size_t i = 0; i < json_object_array_length(fds); i++) {
		json_object *fd = json_object_array_get_idx(fds, i), *sock, *v;

		assert_true(json_object_object_get_ex(fd, "parent_fd", &v));
		assert_true(json_object_get_int(v) >= 0);
		if (!json_object_object_get_ex(fd, "socket", &sock))
			continue;
		if (json_object_object_get_ex(sock, "local_port", &v) && json_object_get_int(v) == port &&
		    json_object_object_get_ex(sock, "state", &v) &&
		    !strcmp(json_object_get_string(v), "LISTEN"))
			found++;
	}
	json_object_put(root);
	free(out);
	free(err);
	return found;
}

static void test_legacy(void **state)
{
	char cmd[8192], v[64], prog[4096];
	char *argv[] = { prog, cmd, NULL };
	char *envp[512];
	char preload_var[4200];
	struct ll_spawn_fd map[2];
	struct ll_spawn_opts o = { 0 };
	int in[2], out[2], port, shared, st, n = 0;
	pid_t legacy, child;
	extern char **environ;

	(void)state;
	/* tu_build_path() returns a static buffer: copy each result */
	snprintf(prog, sizeof(prog), "%s", tu_build_path("tests/spawn/legacy_system"));
	snprintf(cmd, sizeof(cmd), "exec '%s' wait", tu_build_path("tests/spawn/fdreport"));
	for (char **e = environ; *e && n < 500; e++)
		if (strncmp(*e, "LD_PRELOAD=", 11))
			envp[n++] = *e;
	if (preload) {
		snprintf(preload_var, sizeof(preload_var), "LD_PRELOAD=%s",
			 tu_build_path("src/preload/spawn/liblifeline-safe-spawn.so"));
		envp[n++] = preload_var;
	}
	envp[n] = NULL;
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	map[0] = (struct ll_spawn_fd){ in[0], 0 };
	map[1] = (struct ll_spawn_fd){ out[1], 1 };
	o.fds = map;
	o.nfds = 2;
	o.envp = envp;
	assert_int_equal(ll_spawn(argv, &o, &legacy, NULL), 0);
	close(in[0]);
	close(out[1]);

	assert_true(lc_read_line(out[0], line, sizeof(line), 20000) > 0);
	assert_int_equal(lc_field(line, "port", v, sizeof(v)), 0);
	port = atoi(v);
	assert_true(lc_read_line(out[0], line, sizeof(line), 20000) > 0);
	assert_int_equal(lc_field(line, "pid", v, sizeof(v)), 0);
	child = atoi(v);
	assert_int_equal(lc_field(line, "ppid", v, sizeof(v)), 0);
	assert_int_equal(atoi(v), legacy);

	int listening = inherited_sockets_on(child, port, &shared);

	if (preload) {
		assert_int_equal(lc_field(line, "fds", v, sizeof(v)), 0);
		assert_string_equal(v, "0,1,2");
		assert_int_equal(listening, 0);
		assert_true(shared <= 3); /* at most 0, 1, 2 */
	} else {
		/* the leak, as `lifeline fds --inherited` shows it */
		assert_int_equal(listening, 1);
		assert_true(shared >= 10000);
	}
	assert_int_equal(write(in[1], "rebind\n", 7), 7);
	assert_true(lc_read_line(out[0], line, sizeof(line), 20000) > 0);
	assert_string_equal(line, preload ? "rebind=ok" : "rebind=EADDRINUSE");
	assert_int_equal(kill(child, SIGTERM), 0);
	assert_true(lc_read_line(out[0], line, sizeof(line), 20000) > 0);
	snprintf(v, sizeof(v), "status=%#x", (unsigned)SIGTERM);
	assert_string_equal(line, v);
	assert_int_equal(ll_spawn_wait(legacy, -1, 20000, &st), 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(in[1]);
	close(out[0]);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_legacy),
	};

	preload = argc > 1 && !strcmp(argv[1], "preload");
	if (preload && tu_sanitized()) {
		printf("skipped: LD_PRELOAD of the ASan-built shim into a program cannot work "
		       "(the ASan runtime must be the first library loaded); run the plain build\n");
		return TU_SKIP;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
