/* test_crash_env.c: ll_crash_opts_from_env() and ll_crash_install()'s
 * argument checks: every LIFELINE_CRASH_* variable, good and bad values
 * (a bad one is named in the error text, ignored, and the others apply). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "lifeline/crash.h"
#include "testutil.h"

static const char *const vars[] = {
	"LIFELINE_CRASH_DIR", "LIFELINE_CRASH_FD", "LIFELINE_CRASH_SIGNALS",
	"LIFELINE_CRASH_MAPS", "LIFELINE_CRASH_REGISTERS", "LIFELINE_CRASH_ALTSTACK",
	"LIFELINE_CRASH_WATCHDOG",
};

static int clear_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	return 0;
}

static void test_defaults(void **state)
{
	struct ll_crash_opts o;
	char err[256];

	(void)state;
	ll_crash_opts_init(&o);
	assert_int_equal(ll_crash_opts_from_env(&o, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(o.fd, 2);
	assert_null(o.dir);
	assert_int_equal(o.nsignals, 0);
	assert_int_equal(o.flags, 0);
	assert_int_equal(o.altstack_size, 0);
	assert_int_equal(o.watchdog_s, 30);
}

static void test_good_values(void **state)
{
	struct ll_crash_opts o;
	char err[256];

	(void)state;
	setenv("LIFELINE_CRASH_DIR", "/var/crash", 1);
	setenv("LIFELINE_CRASH_FD", "7", 1);
	setenv("LIFELINE_CRASH_SIGNALS", "SEGV, sigbus,6", 1);
	setenv("LIFELINE_CRASH_MAPS", "0", 1);
	setenv("LIFELINE_CRASH_REGISTERS", "no", 1);
	setenv("LIFELINE_CRASH_ALTSTACK", "128k", 1);
	setenv("LIFELINE_CRASH_WATCHDOG", "0", 1);
	ll_crash_opts_init(&o);
	/* The program's own descriptor is replaced by an inherited one: it
	 * no longer gets the full report of a process that is not dumpable. */
	o.flags |= LL_CRASH_FULL_FD;
	assert_int_equal(ll_crash_opts_from_env(&o, err, sizeof(err)), 0);
	assert_string_equal(o.dir, "/var/crash");
	assert_int_equal(o.fd, 7);
	assert_int_equal(o.nsignals, 3);
	assert_int_equal(o.signals[0], SIGSEGV);
	assert_int_equal(o.signals[1], SIGBUS);
	assert_int_equal(o.signals[2], SIGABRT);
	assert_int_equal(o.flags, LL_CRASH_NO_MAPS | LL_CRASH_NO_REGISTERS);
	assert_int_equal(o.altstack_size, 128 * 1024);
	assert_int_equal(o.watchdog_s, 0);
}

static void expect_bad(const char *var, const char *value)
{
	struct ll_crash_opts o;
	char err[256];

	clear_env(NULL);
	setenv(var, value, 1);
	setenv("LIFELINE_CRASH_FD", !strcmp(var, "LIFELINE_CRASH_FD") ? value : "9", 1);
	ll_crash_opts_init(&o);
	assert_int_equal(ll_crash_opts_from_env(&o, err, sizeof(err)), -EINVAL);
	print_message("%s=%s: %s\n", var, value, err);
	assert_non_null(strstr(err, var));
	assert_non_null(strstr(err, "ignored"));
	/* The bad setting kept its default; a good one still applied. */
	assert_int_equal(o.nsignals, 0);
	assert_int_equal(o.altstack_size, 0);
	assert_int_equal(o.flags, 0);
	assert_int_equal(o.watchdog_s, 30);
	if (strcmp(var, "LIFELINE_CRASH_FD"))
		assert_int_equal(o.fd, 9);
	else
		assert_int_equal(o.fd, 2);
}

static void test_bad_values(void **state)
{
	(void)state;
	expect_bad("LIFELINE_CRASH_SIGNALS", "SEGV,NOPE");
	expect_bad("LIFELINE_CRASH_SIGNALS", "0");
	expect_bad("LIFELINE_CRASH_SIGNALS", "SEGV,KILL");
	expect_bad("LIFELINE_CRASH_SIGNALS", "19");
	expect_bad("LIFELINE_CRASH_SIGNALS", "999");
	expect_bad("LIFELINE_CRASH_SIGNALS", ",,");
	expect_bad("LIFELINE_CRASH_SIGNALS", "1,2,3,4,5,6,7,8,10,11,12,13,14,15,16,17,18");
	expect_bad("LIFELINE_CRASH_FD", "-1");
	expect_bad("LIFELINE_CRASH_FD", "3x");
	expect_bad("LIFELINE_CRASH_MAPS", "maybe");
	expect_bad("LIFELINE_CRASH_REGISTERS", "2");
	expect_bad("LIFELINE_CRASH_ALTSTACK", "4k");
	expect_bad("LIFELINE_CRASH_ALTSTACK", "1g");
	expect_bad("LIFELINE_CRASH_ALTSTACK", "-65536");
	expect_bad("LIFELINE_CRASH_ALTSTACK", "64q");
	expect_bad("LIFELINE_CRASH_WATCHDOG", "3601");
	expect_bad("LIFELINE_CRASH_WATCHDOG", "-1");
	expect_bad("LIFELINE_CRASH_WATCHDOG", "10s");
}

static void test_install_rejects(void **state)
{
	struct ll_crash_opts o;

	(void)state;
	ll_crash_opts_init(&o);
	o.signals[0] = SIGKILL;
	o.nsignals = 1;
	assert_int_equal(ll_crash_install(&o), -EINVAL);
	ll_crash_opts_init(&o);
	o.fd = -1;
	assert_int_equal(ll_crash_install(&o), -EINVAL);
	ll_crash_opts_init(&o);
	o.dir = "";
	assert_int_equal(ll_crash_install(&o), -EINVAL);
	ll_crash_opts_init(&o);
	o.nsignals = LL_CRASH_MAX_SIGNALS + 1;
	assert_int_equal(ll_crash_install(&o), -EINVAL);
	ll_crash_opts_init(&o);
	o.watchdog_s = 3601;
	assert_int_equal(ll_crash_install(&o), -EINVAL);
	assert_int_equal(ll_crash_uninstall(), -ENOENT);
}

/* Install, see our handler in place, uninstall, see the old one back. */
static void test_install_uninstall(void **state)
{
	struct sigaction before, during, after;

	(void)state;
	assert_int_equal(sigaction(SIGSEGV, NULL, &before), 0);
	assert_int_equal(ll_crash_install(NULL), 0);
	assert_int_equal(ll_crash_install(NULL), -EALREADY);
	assert_int_equal(sigaction(SIGSEGV, NULL, &during), 0);
	assert_true(during.sa_flags & SA_SIGINFO);
	assert_true(during.sa_flags & SA_ONSTACK);
	{
		stack_t ss;

		assert_int_equal(sigaltstack(NULL, &ss), 0);
		assert_false(ss.ss_flags & SS_DISABLE);
		assert_true(ss.ss_size >= 64 * 1024);
	}
	assert_int_equal(ll_crash_uninstall(), 0);
	assert_int_equal(sigaction(SIGSEGV, NULL, &after), 0);
	assert_ptr_equal((void *)(uintptr_t)after.sa_handler, (void *)(uintptr_t)before.sa_handler);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, clear_env),
		cmocka_unit_test_setup(test_good_values, clear_env),
		cmocka_unit_test_setup(test_bad_values, clear_env),
		cmocka_unit_test(test_install_rejects),
		cmocka_unit_test(test_install_uninstall),
	};

	return cmocka_run_group_tests_name("crash-env", tests, NULL, NULL);
}
