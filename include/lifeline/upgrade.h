/* lifeline/upgrade.h: zero-downtime upgrade of a whole service binary.
 *
 * A restart drops every connection and refuses new ones until the new
 * process has bound its ports. With this module the running service (the
 * "old" process) starts the new binary itself and hands it its listening
 * sockets (and any other descriptor) by name; both processes share the
 * kernel's listen queues, so no connect is refused at any instant:
 *
 *   old: ll_upgrade_register("http", listen_fd);      at start-up
 *        ll_upgrade_set_state(blob, len);              optional
 *        ll_upgrade_start(&opts, why, sizeof(why));    on SIGUSR2, SIGHUP...
 *        ... keeps serving; ll_upgrade_fd() in its poll/epoll set ...
 *        ll_upgrade_dispatch(&st);                     when that fd is readable
 *        st.phase == LL_UPGRADE_READY:  ll_upgrade_release_all() (stop
 *                   accepting), drain the open connections, exit.
 *        st.phase == LL_UPGRADE_ROLLED_BACK: nothing changed; st says why.
 *   new: fd = ll_upgrade_inherited("http");            -ENOENT: bind itself
 *        ll_upgrade_state(&blob, &len);                optional
 *        ll_upgrade_ready();                           once it serves
 *
 * The new process is started with ll_spawn(): it holds 0, 1, 2, the
 * registered descriptors as 3, 4, ... in systemd's socket-activation
 * convention (LISTEN_FDS, LISTEN_FDNAMES, and LISTEN_PID = the new process's
 * own pid, written by the child just before execve), so a service written
 * for socket activation (sd_listen_fds_with_names) needs no change; then the
 * write end of the readiness pipe ($LIFELINE_UPGRADE_READY) and, with a
 * state blob, a sealed memfd ($LIFELINE_UPGRADE_STATE). Nothing else.
 *
 * Rollback: if the binary is missing, not executable or an incomplete ELF
 * (being written: the same complete-ELF check as plugins), if the exec
 * fails, if the new process exits or is killed before it is ready, or if it
 * misses the readiness deadline (it is then killed with SIGKILL and reaped),
 * the old process has changed nothing: it keeps its descriptors and keeps
 * serving, and the reason goes to the callback and to ll_upgrade_status().
 * The new process must not accept connections before ll_upgrade_ready():
 * a connection it accepted and then lost by dying is lost for the client.
 *
 * Under systemd (NOTIFY_SOCKET set), ll_upgrade_start() also pushes every
 * registered descriptor into the service's fd store (FDSTORE=1, FDNAME=;
 * the unit needs FileDescriptorStoreMax=) and the old process sends
 * MAINPID=<new> when the new one is ready, before it exits; ll_upgrade_ready()
 * sends READY=1. A `systemctl restart` or a crash of the new process then
 * finds the sockets in the store, handed back through LISTEN_FDS as well.
 * Without NOTIFY_SOCKET nothing of this happens and nothing is needed.
 *
 * Remote control: ll_upgrade_control_open() makes the service answer
 * `lifeline upgrade PID` (ll_upgrade_request()) on an abstract Unix socket
 * named "lifeline-upgrade-<pid>", for root and the service's own uid.
 *
 * Errors: functions return 0 (or a descriptor or count) on success and a
 * negative errno value on failure; the functions that take why/why_size
 * also write there one sentence saying what failed, where, and what to do.
 * Thread-safe (one internal lock); ll_upgrade_dispatch() and
 * ll_upgrade_wait() are meant for one thread, the service's event loop. */
#ifndef LIFELINE_UPGRADE_H
#define LIFELINE_UPGRADE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** At most this many named descriptors are handed over. */
#define LL_UPGRADE_MAX_FDS 64
/** Longest descriptor name (systemd's FDNAME limit). */
#define LL_UPGRADE_NAME_MAX 255
/** Largest state blob, in bytes. */
#define LL_UPGRADE_STATE_MAX (64u << 20)
/** Default readiness deadline, in milliseconds. */
#define LL_UPGRADE_READY_TIMEOUT_MS 10000

/** Where an upgrade stands. */
enum ll_upgrade_phase {
	LL_UPGRADE_IDLE = 0,     /**< none was started */
	LL_UPGRADE_RUNNING,      /**< the new process runs, not ready yet */
	LL_UPGRADE_READY,        /**< the new process serves: stop accepting, drain, exit */
	LL_UPGRADE_ROLLED_BACK,  /**< it failed; this process serves on unchanged */
};

/** Why an upgrade was rolled back (LL_UPGRADE_REASON_NONE otherwise). */
enum ll_upgrade_reason {
	LL_UPGRADE_REASON_NONE = 0,
	LL_UPGRADE_REASON_REFUSED,   /**< binary missing, not executable, incomplete ELF; error says which */
	LL_UPGRADE_REASON_SPAWN,     /**< the exec (or a step before it) failed */
	LL_UPGRADE_REASON_EXITED,    /**< the new process exited before it was ready */
	LL_UPGRADE_REASON_SIGNALED,  /**< the new process was killed (crashed) before it was ready */
	LL_UPGRADE_REASON_TIMEOUT,   /**< not ready within the deadline: killed */
	LL_UPGRADE_REASON_PROTOCOL,  /**< closed the readiness pipe without signalling: killed */
	LL_UPGRADE_REASON_ERROR,     /**< a local failure (memory, descriptors); error says which */
};

/** What happened to the last upgrade. */
struct ll_upgrade_status {
	enum ll_upgrade_phase phase;
	enum ll_upgrade_reason reason;
	int error;                /**< -errno of the failure, or 0 */
	pid_t old_pid;            /**< the process that started it */
	pid_t new_pid;            /**< the new process (0 when none was started) */
	int wait_status;          /**< EXITED, SIGNALED: the status as waitpid() gives it */
	unsigned nfds;            /**< descriptors handed over */
	uint64_t state_size;      /**< bytes of the state blob handed over */
	uint64_t ready_us;        /**< from ll_upgrade_start() to READY (or to the rollback) */
	char exe[4096];           /**< the binary started */
	char fdnames[4096];       /**< the names handed over, ':'-separated (LISTEN_FDNAMES) */
	char crash_report[4096];  /**< SIGNALED: the new process's crash report, when one was written */
	char why[512];            /**< one sentence: what happened */
};

/** Called once per upgrade when it ends (READY or ROLLED_BACK), from the
 *  thread that calls ll_upgrade_start(), ll_upgrade_dispatch() or
 *  ll_upgrade_wait(), without the module's lock held. */
typedef void (*ll_upgrade_cb)(const struct ll_upgrade_status *st, void *arg);

/** Options of ll_upgrade_start(). A zeroed struct (or NULL) means: the
 *  binary /proc/self/exe names now on disk, this process's arguments and
 *  environment, a 10 s readiness deadline, no callback. */
struct ll_upgrade_opts {
	const char *exe;           /**< binary to start; NULL: /proc/self/exe's path */
	char *const *argv;         /**< its arguments, argv[0] included; NULL: this process's */
	char *const *envp;         /**< its environment; NULL: this process's (LISTEN_* etc. are set over it) */
	int ready_timeout_ms;      /**< readiness deadline; 0: LL_UPGRADE_READY_TIMEOUT_MS */
	ll_upgrade_cb callback;    /**< may be NULL */
	void *callback_arg;
	const char *crash_dir;     /**< where the crash reporter writes; NULL: $LIFELINE_CRASH_DIR */
};

/* ------------------------------------------------------------ old process */

/** Register descriptor fd under name, to be handed to the new process.
 *  The descriptor stays the caller's (it is not duplicated): keep it open
 *  until the upgrade is done. Names follow systemd's FDNAME rules: 1 to
 *  LL_UPGRADE_NAME_MAX printable ASCII characters, no ':' and no space.
 *  -EINVAL bad name or fd < 0, -EBADF fd is not open, -EEXIST the name or
 *  the descriptor is registered already, -E2BIG more than
 *  LL_UPGRADE_MAX_FDS. */
int ll_upgrade_register(const char *name, int fd);

/** Forget the descriptor registered under name (it is not closed).
 *  -ENOENT when no such name is registered. */
int ll_upgrade_unregister(const char *name);

/** Set (or, with len 0, clear) the state blob handed to the new process in
 *  a sealed memfd. The bytes are copied. -EFBIG over LL_UPGRADE_STATE_MAX,
 *  -EINVAL for a NULL buf with len > 0, -ENOMEM. */
int ll_upgrade_set_state(const void *buf, size_t len);

/** Start an upgrade: check the binary (exists, executable, a complete ELF
 *  or a #! script), then ll_spawn() it with exactly the registered
 *  descriptors, the readiness pipe and the state memfd. Returns 0 once the
 *  new process runs (phase RUNNING): the outcome comes later through
 *  ll_upgrade_dispatch()/ll_upgrade_wait() and the callback. Refused with
 *  -EBUSY while an upgrade runs or after one succeeded (this process hands
 *  over and drains), with no change to that upgrade. Any other failure is
 *  a rollback: phase ROLLED_BACK with the reason in why, the status and
 *  the callback, and the -errno returned (-ENOENT, -EACCES, -EAGAIN for an
 *  incomplete ELF, -ENOEXEC, -EBADF for a registered descriptor closed
 *  since, spawn errors). */
int ll_upgrade_start(const struct ll_upgrade_opts *opts, char *why, size_t why_size);

/** A descriptor (an epoll set, close-on-exec, owned by the module) that is
 *  readable when ll_upgrade_dispatch() has something to do: the running
 *  upgrade's readiness pipe, pidfd and deadline, and the control socket.
 *  Put it in the service's poll/epoll set (level-triggered). -errno when
 *  it cannot be created. */
int ll_upgrade_fd(void);

/** Handle whatever is pending, without blocking: readiness, death or
 *  deadline of the new process, control requests. Fills st (may be NULL)
 *  and returns the phase (>= 0), or -errno. */
int ll_upgrade_dispatch(struct ll_upgrade_status *st);

/** ll_upgrade_dispatch() until the running upgrade ends, at most
 *  timeout_ms (-1: until the readiness deadline ends it anyway). Returns
 *  the phase, or -errno; LL_UPGRADE_RUNNING when timeout_ms ran out. */
int ll_upgrade_wait(int timeout_ms, struct ll_upgrade_status *st);

/** Copy the status of the last upgrade into st. Returns its phase. */
int ll_upgrade_status(struct ll_upgrade_status *st);

/** Close every registered descriptor and empty the registry: this process
 *  stops accepting (the new process holds the same sockets, whose queues
 *  keep filling). Call it when the phase is READY. Returns how many were
 *  closed. */
int ll_upgrade_release_all(void);

/** Answer `lifeline upgrade PID` requests (ll_upgrade_request()) from now
 *  on: listen on the abstract Unix socket "lifeline-upgrade-<pid>". A
 *  request from a uid other than root or this process's effective uid is
 *  refused. defaults (copied; may be NULL) are the options of the upgrades
 *  it starts, except for the binary, which a request may name. Requests are
 *  served by ll_upgrade_dispatch() (the socket is in ll_upgrade_fd()). The
 *  socket is not handed to the new process, which opens its own.
 *  -EADDRINUSE when it is open already; socket errors. */
int ll_upgrade_control_open(const struct ll_upgrade_opts *defaults);

/* ------------------------------------------------------------ new process */

/** The descriptor handed over under name: from an old lifeline process, or
 *  from systemd socket activation (LISTEN_PID must be this process; without
 *  LISTEN_FDNAMES the names are systemd's "unknown"). -ENOENT when there is
 *  none (a first start: bind it yourself). The first call takes the
 *  LISTEN_* and LIFELINE_UPGRADE_* variables out of the environment (so
 *  that children do not see them) and marks the descriptors close-on-exec;
 *  the descriptor is the caller's from then on (the same number on every
 *  call). -EINVAL for a bad name. */
int ll_upgrade_inherited(const char *name);

/** The state blob the old process handed over: *buf is malloc'ed (free
 *  it), *len its size; both NULL/0 and 0 returned when there is none. The
 *  memfd must carry the seals of ll_upgrade_start() (-EPERM otherwise) and
 *  is closed. -EFBIG over LL_UPGRADE_STATE_MAX. */
int ll_upgrade_state(void **buf, size_t *len);

/** Tell the old process that this one serves: it will stop accepting and
 *  drain. Closes the readiness pipe and an unread state memfd; under
 *  systemd also sends READY=1. Returns 1 when an old process was told, 0
 *  when there was none (a first start), -errno (-EPIPE: the old process is
 *  gone or gave up on us: its deadline passed). */
int ll_upgrade_ready(void);

/* ------------------------------------------------------------ `lifeline upgrade` */

/** Ask process pid to upgrade (to exe, or NULL for its default) through its
 *  control socket, and wait at most timeout_ms for the outcome, which fills
 *  st. Returns the phase (READY or ROLLED_BACK), or -errno: -ECONNREFUSED
 *  /-ENOENT when pid has no control socket (it never called
 *  ll_upgrade_control_open()), -EBUSY when pid refused (an upgrade runs),
 *  -EPERM when it refused our uid, -ETIMEDOUT. why receives the sentence. */
int ll_upgrade_request(pid_t pid, const char *exe, int timeout_ms, struct ll_upgrade_status *st, char *why,
		       size_t why_size);

/** A short name of a phase ("idle", "running", "ready", "rolled-back"). */
const char *ll_upgrade_phase_name(enum ll_upgrade_phase phase);

/** A short name of a reason ("none", "refused", "spawn", "exited",
 *  "signaled", "timeout", "protocol", "error"). */
const char *ll_upgrade_reason_name(enum ll_upgrade_reason reason);

#ifdef __cplusplus
}
#endif

#endif
