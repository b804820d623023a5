/* crash.c: the crashing programs whose cores, records and reports seed the
 * fuzz corpora (fuzz/make-seeds.sh). argv[1] picks the crash. Small on
 * purpose: the seeds stay a few hundred KB at most. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int *volatile nowhere;

__attribute__((noinline)) static void deref(int depth)
{
	if (depth > 0)
		deref(depth - 1);
	*nowhere = depth; /* SIGSEGV at address 0 */
}

static void *worker(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "segv";
	char *heap = malloc(64);

	snprintf(heap, 64, "heap string for %s", how);
	if (!strcmp(how, "threads")) {
		pthread_t t;

		pthread_create(&t, NULL, worker, NULL);
		usleep(10000);
		deref(3);
	} else if (!strcmp(how, "abort")) {
		abort();
	} else if (!strcmp(how, "fpe")) {
		volatile int zero = 0;

		return 1 / zero;
	} else if (!strcmp(how, "ill")) {
		__builtin_trap();
	} else {
		deref(2);
	}
	return 0;
}
