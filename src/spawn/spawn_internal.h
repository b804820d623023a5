/* spawn_internal.h: helpers shared by the files of the spawn module (not
 * installed). */
#ifndef LL_SPAWN_INTERNAL_H
#define LL_SPAWN_INTERNAL_H

#include <sys/types.h>

/* Find name in the PATH of envp as execvp would (a name with '/' is taken
 * as is). *out is malloc'ed. -ENOENT when nothing matches, -EACCES when a
 * match exists but is not executable. */
int ll_spawn_resolve(const char *name, char *const *envp, char **out);

/* Wait until pid has ended (without reaping it), at most timeout_ms
 * milliseconds. Polls pidfd when it is valid, else waitid(WNOWAIT) with
 * short sleeps. 0 when ended, -ETIMEDOUT, or -errno. */
int ll_spawn_wait_ready(pid_t pid, int pidfd, int timeout_ms);

#endif
