/* control.c: `lifeline upgrade PID`. The service listens on the abstract
 * Unix socket "lifeline-upgrade-<pid>" (SOCK_SEQPACKET: one message is one
 * request or one answer); a client (ll_upgrade_request()) sends a JSON
 * request {"exe": PATH} (exe optional), the service checks the client's
 * uid (SO_PEERCRED: root or its own effective uid), starts the upgrade and
 * keeps the connection; when the upgrade ends (ready or rolled back) the
 * status goes back as one JSON object and the connection is closed. A
 * request while an upgrade runs is answered at once with the refusal. The
 * client checks that the socket's owner (SO_PEERCRED) is the pid it asked:
 * an abstract name can be taken by anyone first. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "upgrade/upgrade_internal.h"

#define MSG_MAX (64u << 10)
#define REFUSED "refused"

static socklen_t control_addr(pid_t pid, struct sockaddr_un *sa)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "lifeline-upgrade-%d", (int)pid);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

int ll_upgrade_control_open(const struct ll_upgrade_opts *defaults)
{
	struct sockaddr_un sa;
	socklen_t len = control_addr(getpid(), &sa);
	int s, r = 0;

	pthread_mutex_lock(&up_g.lock);
	if (up_g.ctl_listen >= 0) {
		r = -EADDRINUSE;
		goto out;
	}
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0) {
		r = -errno;
		goto out;
	}
	if (bind(s, (struct sockaddr *)&sa, len) < 0 || listen(s, 8) < 0) {
		r = -errno;
		close(s);
		goto out;
	}
	up_g.ctl_listen = s;
	if (defaults)
		up_g.ctl_opts = *defaults;
	up_ep_add(s);
out:
	pthread_mutex_unlock(&up_g.lock);
	return r;
}

static json_object *status_json(const struct ll_upgrade_status *st)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "phase", json_object_new_string(ll_upgrade_phase_name(st->phase)));
	json_object_object_add(o, "reason", json_object_new_string(ll_upgrade_reason_name(st->reason)));
	json_object_object_add(o, "error", json_object_new_int(st->error));
	json_object_object_add(o, "old_pid", json_object_new_int(st->old_pid));
	json_object_object_add(o, "new_pid", json_object_new_int(st->new_pid));
	json_object_object_add(o, "wait_status", json_object_new_int(st->wait_status));
	json_object_object_add(o, "nfds", json_object_new_int((int)st->nfds));
	json_object_object_add(o, "state_size", json_object_new_int64((int64_t)st->state_size));
	json_object_object_add(o, "ready_us", json_object_new_int64((int64_t)st->ready_us));
	json_object_object_add(o, "exe", json_object_new_string(st->exe));
	json_object_object_add(o, "fdnames", json_object_new_string(st->fdnames));
	json_object_object_add(o, "crash_report", json_object_new_string(st->crash_report));
	json_object_object_add(o, "why", json_object_new_string(st->why));
	return o;
}

static void send_json(int fd, json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	send(fd, s, strlen(s), MSG_NOSIGNAL | MSG_DONTWAIT);
	json_object_put(o);
}

static void send_refusal(int fd, int err, const char *why)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "phase", json_object_new_string(REFUSED));
	json_object_object_add(o, "error", json_object_new_int(err));
	json_object_object_add(o, "why", json_object_new_string(why));
	send_json(fd, o);
}

void up_control_reply(const struct ll_upgrade_status *st)
{
	if (up_g.ctl_conn < 0)
		return;
	send_json(up_g.ctl_conn, status_json(st));
	close(up_g.ctl_conn);
	up_g.ctl_conn = -1;
}

/* Read the request of conn (readable: never waits, the service's loop
 * must not stall on a slow client); the exe it names, malloc'ed, or NULL
 * for the default. */
static int read_request(int conn, char **exe)
{
	char *buf = malloc(MSG_MAX + 1);
	json_object *req = NULL, *v;
	ssize_t n;
	int r = 0;

	*exe = NULL;
	if (!buf)
		return -ENOMEM;
	n = recv(conn, buf, MSG_MAX, MSG_DONTWAIT);
	if (n <= 0) {
		r = -EPROTO;
		goto out;
	}
	buf[n] = '\0';
	req = json_tokener_parse(buf);
	if (!req || !json_object_is_type(req, json_type_object)) {
		r = -EPROTO;
		goto out;
	}
	if (json_object_object_get_ex(req, "exe", &v) && json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) > 0 && !(*exe = strdup(json_object_get_string(v))))
		r = -ENOMEM;
out:
	json_object_put(req);
	free(buf);
	return r;
}

static void serve(int conn)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct ll_upgrade_opts o;
	char why[512], *exe = NULL;
	int r;

	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		send_refusal(conn, -EPERM, "only root and the service's own user may upgrade it");
		close(conn);
		return;
	}
	r = read_request(conn, &exe);
	if (r < 0) {
		send_refusal(conn, r, "bad request: expected one JSON object such as {\"exe\": \"/path\"}");
		close(conn);
		return;
	}
	pthread_mutex_lock(&up_g.lock);
	o = up_g.ctl_opts;
	if (up_g.ctl_conn >= 0) {
		pthread_mutex_unlock(&up_g.lock);
		send_refusal(conn, -EBUSY, "an upgrade is running already (requested by another client): wait for its outcome");
		close(conn);
		free(exe);
		return;
	}
	up_g.ctl_conn = conn;
	pthread_mutex_unlock(&up_g.lock);
	if (exe)
		o.exe = exe;
	r = ll_upgrade_start(&o, why, sizeof(why));
	free(exe);
	pthread_mutex_lock(&up_g.lock);
	if (up_g.ctl_conn == conn && r < 0) {
		/* refused (-EBUSY) before anything started: no status to send */
		send_refusal(conn, r, why);
		close(conn);
		up_g.ctl_conn = -1;
	}
	pthread_mutex_unlock(&up_g.lock);
}

static bool ready_to_read(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/* Keep conn until its request arrives; the oldest waiting one is dropped
 * when all slots are taken. Lock held. */
static void park(int conn)
{
	size_t n = sizeof(up_g.ctl_pending) / sizeof(up_g.ctl_pending[0]), i;

	for (i = 0; i < n && up_g.ctl_pending[i]; i++)
		;
	if (i == n) {
		close(up_g.ctl_pending[0] - 1);
		memmove(up_g.ctl_pending, up_g.ctl_pending + 1, (n - 1) * sizeof(int));
		i = n - 1;
	}
	up_g.ctl_pending[i] = conn + 1;
	up_ep_add(conn);
}

void up_control_accept(void)
{
	size_t n = sizeof(up_g.ctl_pending) / sizeof(up_g.ctl_pending[0]);
	int ls, conn, ready[sizeof(up_g.ctl_pending) / sizeof(up_g.ctl_pending[0]) + 8], nready = 0;

	pthread_mutex_lock(&up_g.lock);
	ls = up_g.ctl_listen;
	/* a waiting client that hung up: forget it */
	if (up_g.ctl_conn >= 0 && ready_to_read(up_g.ctl_conn)) {
		close(up_g.ctl_conn);
		up_g.ctl_conn = -1;
	}
	for (int i = 0; ls >= 0 && i < 8 && (conn = accept4(ls, NULL, NULL, SOCK_CLOEXEC)) >= 0; i++)
		park(conn);
	/* the requests that arrived */
	for (size_t i = 0; i < n; i++)
		if (up_g.ctl_pending[i] && ready_to_read(up_g.ctl_pending[i] - 1)) {
			ready[nready++] = up_g.ctl_pending[i] - 1;
			up_g.ctl_pending[i] = 0;
		}
	pthread_mutex_unlock(&up_g.lock);
	for (int i = 0; i < nready; i++)
		serve(ready[i]);
}

static int parse_reply(const char *buf, struct ll_upgrade_status *st, char *why, size_t why_size)
{
	static const char *const phases[] = { "idle", "running", "ready", "rolled-back" };
	static const char *const reasons[] = { "none", "refused", "spawn", "exited",
					       "signaled", "timeout", "protocol", "error" };
	json_object *o = json_tokener_parse(buf), *v;
	const char *phase;
	int r = -EPROTO;

	memset(st, 0, sizeof(*st));
	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "phase", &v))
		goto out;
	phase = json_object_get_string(v);
	if (json_object_object_get_ex(o, "why", &v))
		snprintf(st->why, sizeof(st->why), "%s", json_object_get_string(v));
	snprintf(why, why_size, "%s", st->why);
	if (!strcmp(phase, REFUSED)) {
		r = json_object_object_get_ex(o, "error", &v) ? json_object_get_int(v) : -EPROTO;
		r = r < 0 ? r : -EPROTO;
		goto out;
	}
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
		if (!strcmp(phase, phases[i]))
			st->phase = (enum ll_upgrade_phase)i;
	if (json_object_object_get_ex(o, "reason", &v))
		for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
			if (!strcmp(json_object_get_string(v), reasons[i]))
				st->reason = (enum ll_upgrade_reason)i;
#define INT(k, f, T) if (json_object_object_get_ex(o, k, &v)) st->f = (T)json_object_get_int64(v)
#define STR(k, f) if (json_object_object_get_ex(o, k, &v)) snprintf(st->f, sizeof(st->f), "%s", json_object_get_string(v))
	INT("error", error, int);
	INT("old_pid", old_pid, pid_t);
	INT("new_pid", new_pid, pid_t);
	INT("wait_status", wait_status, int);
	INT("nfds", nfds, unsigned);
	INT("state_size", state_size, uint64_t);
	INT("ready_us", ready_us, uint64_t);
	STR("exe", exe);
	STR("fdnames", fdnames);
	STR("crash_report", crash_report);
#undef INT
#undef STR
	r = (int)st->phase;
out:
	json_object_put(o);
	return r;
}

int ll_upgrade_request(pid_t pid, const char *exe, int timeout_ms, struct ll_upgrade_status *st, char *why,
		       size_t why_size)
{
	struct sockaddr_un sa;
	socklen_t len = control_addr(pid, &sa);
	struct pollfd p;
	json_object *req;
	char *buf = NULL;
	ssize_t n;
	int s, r;

	if (pid <= 0 || !st)
		return ll_fail_why(-EINVAL, why, why_size, "bad pid or no status to fill");
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return ll_fail_why(-errno, why, why_size, "socket: %s", strerror(errno));
	if (connect(s, (struct sockaddr *)&sa, len) < 0) {
		r = ll_fail_why(-errno, why, why_size,
			    "process %d has no upgrade control socket (@lifeline-upgrade-%d: %s): it must be a "
			    "lifeline service that called ll_upgrade_control_open()",
			    (int)pid, (int)pid, strerror(errno));
		goto out;
	}
	/* the listener must be pid itself, not another process that took its
	 * name first (abstract names are free for all) */
	{
		struct ucred cred;
		socklen_t clen = sizeof(cred);

		if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 || cred.pid != pid) {
			r = ll_fail_why(-EPERM, why, why_size,
				    "the control socket @lifeline-upgrade-%d belongs to pid %d, not to %d: refusing it",
				    (int)pid, clen == sizeof(cred) ? (int)cred.pid : -1, (int)pid);
			goto out;
		}
	}
	req = json_object_new_object();
	if (exe)
		json_object_object_add(req, "exe", json_object_new_string(exe));
	send_json(s, req);
	p = (struct pollfd){ .fd = s, .events = POLLIN };
	r = poll(&p, 1, timeout_ms);
	if (r <= 0) {
		r = ll_fail_why(r == 0 ? -ETIMEDOUT : -errno, why, why_size,
			    "process %d did not answer within %d ms", (int)pid, timeout_ms);
		goto out;
	}
	buf = malloc(MSG_MAX + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	n = recv(s, buf, MSG_MAX, 0);
	if (n <= 0) {
		r = ll_fail_why(-EPROTO, why, why_size, "process %d closed the control connection without an answer",
			    (int)pid);
		goto out;
	}
	buf[n] = '\0';
	r = parse_reply(buf, st, why, why_size);
	if (r == -EPROTO && !st->why[0])
		ll_fail_why(r, why, why_size, "process %d sent an answer that is not a status", (int)pid);
out:
	free(buf);
	close(s);
	return r;
}
