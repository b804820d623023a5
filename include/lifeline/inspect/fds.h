/* lifeline/inspect/fds.h: a process's open descriptors, read from
 * /proc/PID/fd and /proc/PID/fdinfo, with sockets resolved to their
 * protocol, endpoints and state, descriptors shared with the parent process
 * found by kcmp(KCMP_FILE), and the holders of a port.
 *
 * Reading is done relative to an open /proc/PID directory (readlinkat,
 * openat with O_NOFOLLOW): no per-descriptor path building or process
 * spawning. Socket tables (/proc/PID/net/{tcp,tcp6,udp,udp6,unix}) are read
 * once per network namespace and looked up by inode in a hash table.
 *
 * All functions return 0 (or a count) on success and a negative errno value
 * on failure: -ESRCH no such process, -EACCES not allowed to look,
 * -ENOMEM. */
#ifndef LIFELINE_INSPECT_FDS_H
#define LIFELINE_INSPECT_FDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What a descriptor refers to. */
enum ll_fd_type {
	LL_FD_UNKNOWN = 0,
	LL_FD_FILE,       /**< regular file */
	LL_FD_DIR,        /**< directory */
	LL_FD_CHR,        /**< character device */
	LL_FD_BLK,        /**< block device */
	LL_FD_FIFO,       /**< named pipe (a FIFO in the file system) */
	LL_FD_PIPE,       /**< anonymous pipe */
	LL_FD_SOCKET,     /**< socket (see struct ll_fd_socket) */
	LL_FD_EVENTFD,
	LL_FD_EPOLL,
	LL_FD_SIGNALFD,
	LL_FD_TIMERFD,
	LL_FD_INOTIFY,
	LL_FD_FANOTIFY,
	LL_FD_MEMFD,      /**< memfd_create(2) file */
	LL_FD_PIDFD,
	LL_FD_ANON,       /**< another anonymous inode (io_uring, bpf, ...) */
};

/** Name of a type: "file", "dir", "chr", "blk", "fifo", "pipe", "socket",
 *  "eventfd", "epoll", "signalfd", "timerfd", "inotify", "fanotify",
 *  "memfd", "pidfd", "anon", "unknown". Never NULL. */
const char *ll_fd_type_name(enum ll_fd_type t);

/** Socket protocol, as far as the socket tables tell. */
enum ll_sock_proto {
	LL_SOCK_UNKNOWN = 0, /**< not in the tcp/udp/unix tables (netlink, raw, ...) */
	LL_SOCK_TCP,
	LL_SOCK_TCP6,
	LL_SOCK_UDP,
	LL_SOCK_UDP6,
	LL_SOCK_UNIX,
};

/** Name of a protocol: "tcp", "tcp6", "udp", "udp6", "unix", "?". */
const char *ll_sock_proto_name(enum ll_sock_proto p);

/** What /proc/net tells about one socket. */
struct ll_fd_socket {
	enum ll_sock_proto proto;
	char local[64];       /**< "127.0.0.1:8080", "[::1]:8080", a unix path or "" */
	char remote[64];      /**< "10.0.0.2:51234", "*:*" when not connected, "" for unix */
	uint16_t local_port;  /**< 0 for unix */
	uint16_t remote_port;
	char state[16];       /**< "LISTEN", "ESTABLISHED", "UNCONN", "CONNECTED", ... */
	int unix_type;        /**< SOCK_STREAM, SOCK_DGRAM, ... for unix sockets */
};

/** One open descriptor. */
struct ll_fd {
	int fd;
	enum ll_fd_type type;
	char *target;          /**< readlink of /proc/PID/fd/N ("socket:[123]", a path...) */
	unsigned flags;        /**< open flags from fdinfo (O_ACCMODE, O_APPEND, ...), O_CLOEXEC cleared */
	bool cloexec;          /**< close-on-exec is set */
	uint64_t pos;          /**< file offset */
	uint64_t ino;          /**< inode number (0 when unknown) */
	int mnt_id;            /**< mount id from fdinfo (-1 when unknown) */
	bool has_socket;       /**< sock is filled (type is LL_FD_SOCKET and it was found) */
	struct ll_fd_socket sock;
	int parent_fd;         /**< with ll_fds_mark_inherited(): the parent's descriptor
	                            sharing this open file description, or -1 */
};

/** A process's descriptors, sorted by number. */
struct ll_fds {
	pid_t pid;
	pid_t ppid;            /**< parent pid at the time of reading */
	char comm[32];         /**< process name (/proc/PID/comm) */
	size_t n;
	struct ll_fd *v;
	size_t unreadable;     /**< descriptors that closed while being read */
};

/** Flags of ll_fds_read(). */
enum {
	LL_FDS_NO_SOCKETS = 1u << 0, /**< do not resolve sockets (faster) */
	LL_FDS_NO_FDINFO = 1u << 1,  /**< do not read fdinfo (no flags, pos, cloexec) */
};

/** Read the descriptors of pid (0: self). *out is freed with ll_fds_free().
 *  Descriptors that close while they are read are skipped and counted in
 *  unreadable. */
int ll_fds_read(pid_t pid, unsigned flags, struct ll_fds **out);

/** Free what ll_fds_read() returned (NULL is fine). */
void ll_fds_free(struct ll_fds *fds);

/** Find the descriptors of fds that share an open file description with a
 *  descriptor of process ppid (0: fds->ppid): sets parent_fd of each entry
 *  (-1 when not shared). Candidates are matched by inode and confirmed with
 *  kcmp(KCMP_FILE); a sort by kcmp's ordering keeps it O(n log n) even when
 *  thousands of descriptors share one inode. Returns the number of shared
 *  descriptors. -EPERM/-ENOSYS when kcmp is not available. */
int ll_fds_mark_inherited(struct ll_fds *fds, pid_t ppid);

/** One process holding a socket on a port (ll_fds_port_holders()). */
struct ll_port_holder {
	pid_t pid;
	pid_t ppid;
	char comm[32];
	int fd;
	uint64_t ino;              /**< socket inode: holders with the same one share a socket */
	struct ll_fd_socket sock;
	unsigned long long start_time; /**< process start, clock ticks after boot */
	bool opener;               /**< this process did not get the socket from its
	                                parent (kcmp), and is the oldest such holder */
	pid_t inherited_from;      /**< the parent it shares the socket with, or 0 */
};

/** Every process holding a TCP or UDP socket whose local port is port (one
 *  scan of /proc/[pid]/fd), sorted by socket inode, then start time.
 *  *out is free()d by the caller; *n its length. Processes that cannot be
 *  read (gone, not permitted) are skipped. */
int ll_fds_port_holders(uint16_t port, struct ll_port_holder **out, size_t *n);

#ifdef __cplusplus
}
#endif

#endif
