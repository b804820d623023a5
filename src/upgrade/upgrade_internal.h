/* upgrade_internal.h: the state shared by the files of the upgrade module
 * (not installed). One upgrade per process: a single global under one lock. */
#ifndef LL_UPGRADE_INTERNAL_H
#define LL_UPGRADE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "common/common.h"
#include "lifeline/spawn.h"
#include "lifeline/upgrade.h"

/* Nothing of this file is exported from liblifeline.so. */
#pragma GCC visibility push(hidden)

/* Environment variables of the hand-over (systemd's, then ours). */
#define UP_ENV_READY "LIFELINE_UPGRADE_READY"
#define UP_ENV_STATE "LIFELINE_UPGRADE_STATE"

/* The readiness byte the new process writes. */
#define UP_READY_BYTE 'R'

struct up_entry {
	char name[LL_UPGRADE_NAME_MAX + 1];
	int fd;
};

/* One spawn, run by a thread of its own (start.c). */
struct up_job {
	pthread_t thread;
	bool joined;
	char exe[4096];
	char **argv;        /* copies: one block each */
	char **envp;
	char *pid_slot;     /* inside envp: LISTEN_PID's value */
	struct ll_spawn_fd map[LL_UPGRADE_MAX_FDS + 2];
	size_t nmap;
	int child_end;      /* the new process's end of the readiness socket */
	int state_fd;
	int done_fd;        /* eventfd, written when the spawn is done */
	/* results */
	int r;
	pid_t pid;
	int pidfd;
};

/* Free a job (its thread joined or never started) and what it holds. */
void up_job_free(struct up_job *j);

struct up_global {
	pthread_mutex_t lock;
	struct up_entry fds[LL_UPGRADE_MAX_FDS];
	size_t nfds;
	void *state;
	size_t state_len;

	int ep;             /* ll_upgrade_fd(): epoll set, -1 until asked */
	/* the running upgrade */
	int ready_rd;       /* readiness pipe, read end */
	int pidfd;
	int timer;          /* timerfd of the deadline */
	int spawn_done;     /* the job's eventfd */
	struct up_job *job; /* the spawn not yet collected */
	uint64_t t0_us;
	ll_upgrade_cb cb;
	void *cb_arg;
	char crash_dir[4096];
	struct ll_upgrade_status st;
	/* control socket */
	int ctl_listen;
	int ctl_conn;       /* the client waiting for the running upgrade's outcome */
	int ctl_pending[4]; /* accepted, request not read yet (fd + 1: 0 is free) */
	struct ll_upgrade_opts ctl_opts;
	char *ctl_exe;      /* the exe of the request being served */
};

extern struct up_global up_g;

/* Monotonic clock, microseconds. */
uint64_t up_now_us(void);

/* Add fd to the epoll set (when it exists). Called with the lock held. */
void up_ep_add(int fd);

/* Validate a descriptor name (systemd's FDNAME rules). */
bool up_name_valid(const char *name);

/* Send one datagram to $NOTIFY_SOCKET with the descriptors fds (may be
 * NULL). 0 when NOTIFY_SOCKET is not set; -errno. */
int up_notify(const char *msg, const int *fds, size_t nfds);

/* End the running upgrade (lock held): set phase/reason, close its
 * descriptors, answer the control client. The callback is called by the
 * caller after unlocking, with the copy left in *out. */
void up_finish(enum ll_upgrade_phase phase, enum ll_upgrade_reason reason, int error,
	       struct ll_upgrade_status *out, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Control socket (control.c): accept and serve requests (lock not held);
 * send the outcome to the waiting client (lock held). */
void up_control_accept(void);
void up_control_reply(const struct ll_upgrade_status *st);

#pragma GCC visibility pop

#endif
