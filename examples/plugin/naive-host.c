/* naive-host.c: how most services load a plugin, for comparison.
 *
 * dlopen()s the file by its path and calls it from 2 threads without
 * pause. A `cp` over the file rewrites the very pages this process executes:
 * it typically dies (SIGSEGV, SIGBUS or SIGILL). An install or mv leaves it
 * running the old, deleted file, and dlopen of the same path would keep
 * returning the old handle. It sets RLIMIT_CORE to 0: dying is its job.
 *
 * usage: naive-host PLUGIN.so */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <unistd.h>

#include <lifeline/plugin.h>

#include "greeter.h"

static const struct greeter_api *api;
static volatile long sink;

static void *serve(void *arg)
{
	long x = (long)arg;

	for (;;) {
		sink = api->answer(x++);
		sink += (long)api->version()[1];
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const struct ll_plugin_descriptor *d;
	pthread_t th[2];
	void *h;

	if (argc != 2) {
		fprintf(stderr, "usage: naive-host PLUGIN.so\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Its death by cp is the expected outcome: no core file for it. */
	setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });
	h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	d = h ? dlsym(h, LL_PLUGIN_SYMBOL) : NULL;
	if (!d) {
		fprintf(stderr, "naive-host: %s: %s\n", argv[1], h ? "no descriptor" : dlerror());
		return 1;
	}
	api = d->table;
	printf("[naive] pid %d serving from 2 threads through dlopen(\"%s\"): %s\n", (int)getpid(), argv[1],
	       api->version());
	for (long i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, serve, (void *)i);
	for (;;)
		pause();
}
