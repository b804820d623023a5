/* resolve-target.c: prints the runtime addresses of its own function and
 * data and of those of each library named on its command line (dlopen'ed,
 * so at a random base; "+PATH" loads PATH once more with dlmopen), then
 * "ready", and waits for end of file on stdin.
 * Built both PIE and non-PIE by the tests. */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>

int resolve_target_data = 7;

__attribute__((noinline)) int resolve_target_func(int x)
{
	return x * resolve_target_data + 3;
}

int main(int argc, char **argv)
{
	char buf[64];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	printf("exe_func=%p\nexe_data=%p\n", (void *)resolve_target_func,
	       (void *)&resolve_target_data);
	for (int i = 1; i < argc; i++) {
		static const char *const syms[] = { "resolve_lib_a", "resolve_lib_b",
						    "resolve_lib_data", "resolve_lib_bss" };
		/* "+PATH": a second copy in a new link namespace (dlmopen) */
		void *h = argv[i][0] == '+' ? dlmopen(LM_ID_NEWLM, argv[i] + 1, RTLD_NOW)
					    : dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);

		if (!h) {
			fprintf(stderr, "resolve-target: %s\n", dlerror());
			return 1;
		}
		for (int s = 0; s < 4; s++)
			printf("L%d %s=%p\n", i, syms[s], dlsym(h, syms[s]));
	}
	printf("work=%d\nready\n", resolve_target_func(argc));
	fflush(stdout);
	while (fgets(buf, sizeof(buf), stdin))
		;
	return 0;
}
