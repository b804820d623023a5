/* lifeline/spawn.h: descriptor-safe process spawning.
 *
 * system(), popen() and posix_spawn() pass every descriptor that lacks
 * close-on-exec to the child: a listening socket, a lock file, the write end
 * of a pipe. The child then keeps the port bound and the pipe open after the
 * parent closes them. ll_spawn() gives the child exactly the descriptors it is
 * asked to (0, 1 and 2 by default, plus a dup2-style map); no other one
 * survives the exec (close_range(2), with CLOSE_RANGE_CLOEXEC where the
 * kernel has it so that the closing happens in execve after the parent is
 * released; without close_range, a walk of /proc/self/fd; last, a bounded
 * loop up to RLIMIT_NOFILE).
 *
 * The child is started with clone(CLONE_VM | CLONE_VFORK) on a small private
 * stack, as glibc's posix_spawn does, so the cost of a spawn does not grow
 * with the parent's memory size. Between clone and exec the child runs only
 * async-signal-safe code. All signals are blocked in the calling thread
 * around the clone so that no handler of the parent runs in the child; the
 * child resets the dispositions before it unblocks.
 *
 * ll_system() and ll_popen()/ll_pclose() are drop-ins for system(),
 * popen() and pclose() built on ll_spawn(); liblifeline-safe-spawn.so is an
 * LD_PRELOAD shim that puts them under unmodified binaries.
 *
 * Unless a comment says otherwise, functions return 0 (or a count) on success
 * and a negative errno value on failure. All functions are thread-safe. */
#ifndef LIFELINE_SPAWN_H
#define LIFELINE_SPAWN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One entry of the child's descriptor map: the child gets the parent's
 *  descriptor `parent_fd` as `child_fd` (like dup2(parent_fd, child_fd) in
 *  the child, without close-on-exec). Entries may overlap freely (a
 *  parent_fd that is also another entry's child_fd, swaps such as 1<->2):
 *  every entry sees the parent's descriptor table as it was before the
 *  spawn. */
struct ll_spawn_fd {
	int parent_fd;
	int child_fd;
};

/** One resource limit to set in the child (setrlimit(resource, ...)). */
struct ll_spawn_rlimit {
	int resource;              /**< RLIMIT_* */
	unsigned long long soft;   /**< RLIM_INFINITY allowed */
	unsigned long long hard;
};

/** Flags of struct ll_spawn_opts. */
enum {
	/** Do not keep the parent's 0, 1 and 2: the child gets only the fds
	 *  of the map. */
	LL_SPAWN_NO_STDIO = 1u << 0,
	/** Search PATH (of the parent's environment) for argv[0] when it has
	 *  no '/', as execvp does. */
	LL_SPAWN_SEARCH_PATH = 1u << 1,
	/** Start a new session (setsid). */
	LL_SPAWN_SETSID = 1u << 2,
	/** Put the child in process group opts->pgid (0: a new group led by the
	 *  child), as setpgid(0, pgid). */
	LL_SPAWN_SETPGID = 1u << 3,
	/** Keep the signals the parent ignores ignored in the child (exec
	 *  semantics, what system() does). By default every signal is reset to
	 *  SIG_DFL. Signals of opts->sigdefault are reset either way. */
	LL_SPAWN_KEEP_IGNORED = 1u << 4,
	/** Give the child opts->sigmask as its signal mask. By default the
	 *  child starts with an empty mask. */
	LL_SPAWN_SETSIGMASK = 1u << 5,
};

/** How the child closes the descriptors it must not inherit. AUTO is the
 *  right choice; the others exist so the fallbacks can be tested. */
enum ll_spawn_close {
	LL_SPAWN_CLOSE_AUTO = 0,   /**< close_range, then PROCFS, then LOOP */
	LL_SPAWN_CLOSE_PROCFS,     /**< getdents64 over /proc/self/fd */
	LL_SPAWN_CLOSE_LOOP,       /**< close() every fd below RLIMIT_NOFILE */
};

/** Options of ll_spawn(). A zeroed struct (or NULL) means: keep 0, 1, 2,
 *  close everything else, the parent's environment and cwd, every signal
 *  at SIG_DFL and unblocked. */
struct ll_spawn_opts {
	unsigned flags;                    /**< LL_SPAWN_* */
	const char *path;                  /**< program to execute; NULL: argv[0] */
	const struct ll_spawn_fd *fds;     /**< descriptor map (may be NULL) */
	size_t nfds;
	char *const *envp;                 /**< environment; NULL: the parent's */
	const char *cwd;                   /**< working directory; NULL: the parent's */
	pid_t pgid;                        /**< with LL_SPAWN_SETPGID */
	sigset_t sigmask;                  /**< with LL_SPAWN_SETSIGMASK */
	const sigset_t *sigdefault;        /**< also reset these to SIG_DFL (may be NULL) */
	const struct ll_spawn_rlimit *rlimits; /**< limits to set (may be NULL) */
	size_t nrlimits;
	enum ll_spawn_close close_method;  /**< LL_SPAWN_CLOSE_AUTO normally */
	/** A buffer the child fills with its own pid in decimal, NUL-terminated,
	 *  just before execve (may be NULL; at least 12 bytes, else -EINVAL).
	 *  Point it into an entry of envp ("LISTEN_PID=" followed by the
	 *  buffer) to give the child a variable holding its own pid, which the
	 *  parent cannot know before the clone: systemd's LISTEN_PID rule. The
	 *  write happens in the parent's memory (CLONE_VM) while the parent
	 *  waits, so the buffer is not usable by another thread meanwhile. */
	char *pid_slot;
	size_t pid_slot_size;
};

/** Start opts->path, or argv[0] when it is NULL (a path, or a name searched
 *  in PATH with LL_SPAWN_SEARCH_PATH), with arguments argv (NULL-terminated,
 *  argv[0] included) in a child
 *  that holds only the descriptors opts asks for.
 *
 *  On success *pid is the child's pid and, if pidfd is not NULL, *pidfd a
 *  close-on-exec pidfd of it (-1 if the kernel has none). The child must be
 *  reaped (ll_spawn_wait() or waitpid()).
 *
 *  Errors: a failure of the exec itself or of a step before it in the child
 *  (chdir, dup2, setsid, setrlimit) is returned as that errno, e.g. -ENOENT
 *  (no such program, or no such cwd), -EACCES (not executable), -EBADF (a
 *  map entry's parent_fd is not open); the child has then already been
 *  reaped and its pidfd closed: a failed call leaves no process, zombie or
 *  descriptor behind. -EINVAL for a bad argument (NULL argv or pid, empty
 *  argv, a negative fd in the map, two map entries for one child_fd);
 *  -ENOENT/-EACCES from the PATH search; -EAGAIN/-ENOMEM when no process
 *  could be created. The caller's errno is left unchanged.
 *
 *  Between clone and execve the child makes raw system calls only (no
 *  library call, so no lazy PLT binding, no lock, no errno write in the
 *  shared memory); the caller's thread is suspended meanwhile and other
 *  threads run on. Not a cancellation point. */
int ll_spawn(char *const argv[], const struct ll_spawn_opts *opts, pid_t *pid, int *pidfd);

/** Wait for the child pid (started by ll_spawn()) to end, at most
 *  timeout_ms milliseconds (-1: no limit), and reap it. pidfd may be -1; when
 *  it is valid, the wait polls it. On success *status (may be NULL) receives
 *  the status as waitpid() gives it. -ETIMEDOUT when the child is still
 *  running (it is not reaped, not killed). Does not close pidfd: the caller
 *  that asked ll_spawn() for it closes it, after the wait. -EINVAL for a
 *  pid <= 0; -ECHILD when pid is not a child of this process (or was reaped
 *  already); poll's errno. A cancellation point (waitpid, poll). */
int ll_spawn_wait(pid_t pid, int pidfd, int timeout_ms, int *status);

/** A drop-in for system(3): runs `/bin/sh -c cmd` in a child that holds only
 *  the caller's 0, 1 and 2, and waits for it. While it waits, SIGINT and
 *  SIGQUIT are ignored and SIGCHLD is blocked in the caller; the child gets
 *  the caller's original dispositions and mask, as POSIX says.
 *
 *  Unlike the rest of the library it returns what system() returns: the
 *  status as waitpid() gives it (127 << 8 when the shell could not be
 *  executed), or -1 with errno set when no child could be started. A NULL
 *  cmd returns non-zero when /bin/sh is available, 0 otherwise.
 *
 *  Thread-safe: concurrent calls share one ignore period (SIGINT/SIGQUIT are
 *  restored when the last one returns). A cancellation point, as system() is:
 *  a thread cancelled while it waits kills its child with SIGKILL, reaps it
 *  and ends its part of the ignore period. In the child of a fork() made by
 *  another thread during a call, SIGINT and SIGQUIT are back to the
 *  program's dispositions. */
int ll_system(const char *cmd);

/** A drop-in for popen(3): mode is "r" or "w", optionally followed by "e"
 *  (the caller's end of the pipe is close-on-exec). The child holds only
 *  its end of the pipe as stdin ("w") or stdout ("r") and the caller's other
 *  standard descriptors: no other popen stream, no socket. Returns the
 *  stream, or NULL with errno set: EINVAL for a bad mode or a NULL cmd,
 *  EMFILE/ENFILE (pipe), ENOMEM, or ll_spawn()'s error (e.g. ENOENT when
 *  /bin/sh is missing; glibc's popen would return a stream whose child
 *  exits 127 instead). Nothing is left open or running on failure.
 *  Thread-safe; safe to call in the child of a fork() made while another
 *  thread was inside ll_popen()/ll_pclose(). */
FILE *ll_popen(const char *cmd, const char *mode);

/** A drop-in for pclose(3): closes a stream of ll_popen() and waits for its
 *  child. Returns the child's status as waitpid() gives it, or -1 with errno
 *  set (ECHILD when stream did not come from ll_popen(), or when the child
 *  was already reaped by someone else, e.g. a SIGCHLD handler's waitpid(-1)).
 *  The stream is closed in every case where it was ours. */
int ll_pclose(FILE *stream);

/** Non-zero when stream was returned by ll_popen() and not yet closed. */
bool ll_popen_owns(FILE *stream);

#ifdef __cplusplus
}
#endif

#endif
