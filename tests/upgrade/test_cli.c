/* test_cli.c: `lifeline upgrade PID` as a user runs it: on the example
 * server, an upgrade to v2 (exit 0; JSON: ready, the new pid, the
 * descriptor names, the old process drained and exited), to a v3 that
 * exits at start (exit 1: rolled back, exit status 1, the server serves
 * on), the text output, a process that is no lifeline service (exit 1,
 * says so), and usage errors (exit 2). */
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "server.h"

/* Run lifeline upgrade ARGS...; returns the exit code, *out the stdout. */
static int upgrade(char **out, char **err, const char *a1, const char *a2, const char *a3, const char *a4)
{
	char *argv[] = { (char *)tu_lifeline(), "upgrade", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL };
	int st = tu_run(argv, NULL, out, err);

	assert_true(st >= 0 && WIFEXITED(st));
	return WEXITSTATUS(st);
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	return json_object_get_string(v);
}

static void test_cli(void **state)
{
	struct srv s;
	char pid[16], newpid[16], v2[4096], v3[4096], *out = NULL, *err = NULL;
	json_object *o;
	pid_t next;

	(void)state;
	snprintf(v2, sizeof(v2), "%s", srv_example("upgrade-server-v2"));
	snprintf(v3, sizeof(v3), "%s", srv_example("upgrade-server-v3-exit"));
	assert_int_equal(srv_start(&s, "upgrade-server", NULL), 0);
	snprintf(pid, sizeof(pid), "%d", (int)s.pid);

	assert_int_equal(upgrade(&out, &err, "--json", "--exe", v2, pid), 0);
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_string_equal(jstr(o, "phase"), "ready");
	assert_string_equal(jstr(o, "reason"), "none");
	assert_string_equal(jstr(o, "exe"), v2);
	assert_string_equal(jstr(o, "old_exited"), "true");
	assert_string_equal(json_object_to_json_string_ext(json_object_object_get(o, "fds"), JSON_C_TO_STRING_PLAIN),
			    "[\"http\"]");
	snprintf(newpid, sizeof(newpid), "%s", jstr(o, "new_pid"));
	json_object_put(o);
	free(out);
	free(err);
	assert_int_equal(srv_next_serving(&s, 5000, &next, NULL), 0);
	assert_int_equal(next, atoi(newpid));

	assert_int_equal(upgrade(&out, &err, "--json", "--exe", v3, newpid), 1);
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_string_equal(jstr(o, "phase"), "rolled-back");
	assert_string_equal(jstr(o, "reason"), "exited");
	assert_string_equal(jstr(o, "exit_status"), "1");
	json_object_put(o);
	free(out);
	free(err);
	assert_int_equal(kill(next, 0), 0);

	/* text; the default binary is the one the server runs (v2) */
	assert_int_equal(upgrade(&out, &err, newpid, NULL, NULL, NULL), 0);
	print_message("%s", out);
	assert_non_null(strstr(out, ": ready"));
	assert_non_null(strstr(out, "descriptors  1 handed over: http"));
	assert_non_null(strstr(out, "upgrade-server-v2"));
	free(out);
	free(err);
	assert_int_equal(srv_next_serving(&s, 5000, &next, NULL), 0);

	/* not a lifeline service: this test */
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	assert_int_equal(upgrade(&out, &err, pid, NULL, NULL, NULL), 1);
	assert_non_null(strstr(err, "no upgrade control socket"));
	free(out);
	free(err);
	/* usage errors */
	assert_int_equal(upgrade(&out, &err, NULL, NULL, NULL, NULL), 2);
	free(out);
	free(err);
	assert_int_equal(upgrade(&out, &err, "0", NULL, NULL, NULL), 2);
	free(out);
	free(err);
	assert_int_equal(upgrade(&out, &err, "--exe", "relative", pid, NULL), 2);
	assert_non_null(strstr(err, "absolute"));
	free(out);
	free(err);
	assert_int_equal(upgrade(&out, &err, "--timeout", "0", pid, NULL), 2);
	free(out);
	free(err);
	assert_int_equal(upgrade(&out, &err, "--bogus", pid, NULL, NULL), 2);
	free(out);
	free(err);
	srv_stop(next);
	srv_reap();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
