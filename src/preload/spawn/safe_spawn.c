/* safe_spawn.c: liblifeline-safe-spawn.so, an LD_PRELOAD shim that gives
 * unmodified binaries descriptor-safe system(), popen() and pclose().
 *
 * Usage: LD_PRELOAD=/path/liblifeline-safe-spawn.so ./server
 * The dynamic linker binds the program's calls to these definitions before
 * glibc's; each forwards to the spawn module (ll_system, ll_popen,
 * ll_pclose), whose children hold only 0, 1, 2 and the popen pipe. pclose()
 * of a stream the shim did not create (one made by glibc's popen through a
 * dlsym'd pointer) goes to glibc's pclose, found with dlsym(RTLD_NEXT). */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "lifeline/spawn.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

SHIM_EXPORT int system(const char *cmd)
{
	return ll_system(cmd);
}

SHIM_EXPORT FILE *popen(const char *cmd, const char *mode)
{
	return ll_popen(cmd, mode);
}

SHIM_EXPORT int pclose(FILE *stream)
{
	int (*real_pclose)(FILE *);

	if (ll_popen_owns(stream))
		return ll_pclose(stream);
	real_pclose = (int (*)(FILE *))dlsym(RTLD_NEXT, "pclose");
	if (!real_pclose) {
		errno = ECHILD;
		return -1;
	}
	return real_pclose(stream);
}
