/* analysis-host.c: loads the plugin named by argv[1], prints "ready", waits
 * for a line on stdin (the test overwrites the plugin in place meanwhile,
 * with cp), then calls it; with argv[2] "null" it crashes in its own code
 * instead, a NULL dereference (used by tests/inspect/core). */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

__attribute__((noipa)) static long host_step(const long *state)
{
	return *state + 1;
}

int main(int argc, char **argv)
{
	char line[64];
	void *h;
	long (*run)(long);

	if (argc < 2)
		return 2;
	h = dlopen(argv[1], RTLD_NOW);
	if (!h) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	run = (long (*)(long))dlsym(h, "plugin_run");
	if (!run)
		return 1;
	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	if (argc > 2 && strcmp(argv[2], "null") == 0)
		printf("%ld\n", host_step(NULL));
	printf("%ld\n", run(7));
	return 0;
}
