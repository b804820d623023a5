/* analysis-threads.c: three threads; one writes through a NULL pointer while
 * the other two wait (used by tests/inspect/core). */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_barrier_t started;

__attribute__((noipa)) static void *idle_worker(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&started);
	for (;;)
		pause();
	return NULL;
}

__attribute__((noipa)) static void store_result(int *volatile *slot, int v)
{
	**slot = v;
}

__attribute__((noipa)) static void *crashing_worker(void *arg)
{
	int *volatile target = arg;

	pthread_barrier_wait(&started);
	usleep(50 * 1000);
	store_result(&target, 42);
	return NULL;
}

int main(void)
{
	pthread_t a, b;

	pthread_barrier_init(&started, NULL, 3);
	pthread_create(&a, NULL, idle_worker, NULL);
	pthread_create(&b, NULL, crashing_worker, NULL);
	pthread_barrier_wait(&started);
	pthread_join(b, NULL);
	return 0;
}
