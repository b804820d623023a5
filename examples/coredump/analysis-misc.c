/* analysis-misc.c: one crash per mode, for tests/inspect/core:
 *   rodata          write to a string literal (read-only mapping)
 *   exec            jump into writable, non-executable data
 *   nullcall        call through a NULL function pointer
 *   thread-overflow unbounded recursion in a thread with a 64 KiB stack
 *   divzero         integer division by zero */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static unsigned char blob[64] = { 0xc3 };

__attribute__((noipa)) static void shout(char *s)
{
	s[0] = (char)(s[0] - 32);
}

__attribute__((noipa)) static void run_blob(void)
{
	((void (*)(void))(void *)blob)();
}

__attribute__((noipa)) static int dispatch(int (*volatile *handler)(int), int v)
{
	return (*handler)(v) + 1;
}

__attribute__((noipa)) static unsigned long spiral(unsigned long n)
{
	volatile char pad[512];

	memset((char *)pad, (int)n, sizeof(pad));
	return spiral(n + 1) + pad[n % sizeof(pad)];
}

static void *overflow_thread(void *arg)
{
	(void)arg;
	return (void *)spiral(0);
}

__attribute__((noipa)) static int ratio(int a, int b)
{
	return a / b;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (strcmp(mode, "rodata") == 0) {
		shout((char *)"hello");
	} else if (strcmp(mode, "exec") == 0) {
		run_blob();
	} else if (strcmp(mode, "nullcall") == 0) {
		int (*volatile handler)(int) = NULL;

		printf("%d\n", dispatch(&handler, 1));
	} else if (strcmp(mode, "thread-overflow") == 0) {
		pthread_attr_t at;
		pthread_t t;

		pthread_attr_init(&at);
		pthread_attr_setstacksize(&at, 64 * 1024);
		pthread_create(&t, &at, overflow_thread, NULL);
		pthread_join(t, NULL);
	} else if (strcmp(mode, "divzero") == 0) {
		printf("%d\n", ratio(argc, argc - 2));
	}
	return 0;
}
