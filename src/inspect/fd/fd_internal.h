/* fd_internal.h: pieces shared by the files of the fd reader (not
 * installed). */
#ifndef LL_INSPECT_FD_INTERNAL_H
#define LL_INSPECT_FD_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "lifeline/inspect/fds.h"

/* The sockets of one network namespace, by inode. */
struct ll_socktab;

/* Read /proc/PID/net/{tcp,tcp6,udp,udp6,unix} relative to an open /proc/PID
 * directory. Missing tables (no IPv6) are skipped. */
int ll_socktab_load(int procdir, struct ll_socktab **out);

/* The socket with inode ino, or NULL. */
const struct ll_fd_socket *ll_socktab_find(const struct ll_socktab *t, uint64_t ino);

void ll_socktab_free(struct ll_socktab *t);

/* Sockets tables per network namespace, so that a scan of many processes
 * parses each namespace's tables once. */
struct ll_socktab_cache;

/* The table of procdir's network namespace, loaded on first use; owned by
 * the cache. */
int ll_socktab_cache_get(struct ll_socktab_cache **cache, int procdir,
			 const struct ll_socktab **out);

void ll_socktab_cache_free(struct ll_socktab_cache *cache);

/* Read the descriptors of the process whose /proc/PID directory is open as
 * procdir, using (and filling) a socket cache. */
int ll_fds_read_at(int procdir, pid_t pid, unsigned flags, struct ll_socktab_cache **cache,
		   struct ll_fds **out);

/* ppid, start time (clock ticks) and comm from /proc/PID/stat. */
int ll_proc_stat_at(int procdir, pid_t *ppid, unsigned long long *start, char comm[32]);

/* Open /proc/PID as a directory (0: self). */
int ll_open_procdir(pid_t pid);

#endif
