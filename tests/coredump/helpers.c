/* helpers.c: see helpers.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "testutil.h"

char th_root[256];

const char *th_path(const char *rel)
{
	static char buf[8][512];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", th_root, rel);
	return buf[k];
}

void th_write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

const char *th_core_limit;
int th_fd3 = -1;

int th_helper(const char *store, const char *config, pid_t pid, uid_t uid, int64_t time,
	      const char *comm, const char *input, const char *pidfd_arg, const char *mode_arg)
{
	char spid[32], suid[32], stime[32];
	const char *argv[24];
	int n = 0, status;
	pid_t child;

	snprintf(spid, sizeof(spid), "%d", (int)pid);
	snprintf(suid, sizeof(suid), "%u", (unsigned)uid);
	snprintf(stime, sizeof(stime), "%" PRId64, time);
	argv[n++] = tu_lifeline();
	argv[n++] = "coredump";
	argv[n++] = "--store";
	argv[n++] = store;
	if (config) {
		argv[n++] = "--config";
		argv[n++] = config;
	}
	argv[n++] = spid;
	argv[n++] = suid;
	argv[n++] = suid;
	argv[n++] = "11";
	argv[n++] = stime;
	argv[n++] = th_core_limit ? th_core_limit : "18446744073709551615";
	argv[n++] = "testhost";
	argv[n++] = comm;
	if (pidfd_arg)
		argv[n++] = pidfd_arg;
	if (mode_arg)
		argv[n++] = mode_arg;
	argv[n] = NULL;
	child = fork();
	if (child < 0)
		return -1;
	if (child == 0) {
		int fd = open(input ? input : "/dev/null", O_RDONLY);

		if (fd < 0 || dup2(fd, 0) < 0)
			_exit(126);
		if (th_fd3 >= 0 && th_fd3 != 3 && dup2(th_fd3, 3) < 0)
			_exit(126);
		if (th_fd3 == 3)
			fcntl(3, F_SETFD, 0); /* pidfds are close-on-exec */
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

json_object *th_cores_json(const char *store, int *status, const char *sub, const char *id)
{
	char *out = NULL, *err = NULL;
	const char *argv[10];
	json_object *j;
	int n = 0, st;

	argv[n++] = tu_lifeline();
	argv[n++] = "cores";
	argv[n++] = sub;
	if (id)
		argv[n++] = id;
	argv[n++] = "--store";
	argv[n++] = store;
	argv[n++] = "--json";
	argv[n] = NULL;
	st = tu_run((char *const *)argv, NULL, &out, &err);
	*status = st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (err && *err)
		fprintf(stderr, "(cores %s stderr: %s)\n", sub, err);
	j = out ? json_tokener_parse(out) : NULL;
	free(out);
	free(err);
	return j;
}

json_object *th_list(const char *store)
{
	int st;
	json_object *j = th_cores_json(store, &st, "list", NULL);

	if (st != 0 || !j || !json_object_is_type(j, json_type_array)) {
		json_object_put(j);
		return NULL;
	}
	return j;
}

json_object *th_record(const char *store, const char *id)
{
	char path[1024];
	json_object *rec, *side, *v;

	snprintf(path, sizeof(path), "%s/%s.json", store, id);
	rec = json_object_from_file(path);
	/* The maps live in <id>.maps, named by the record (never inline). */
	if (!rec || !json_object_object_get_ex(rec, "maps_file", &v) || !v)
		return rec;
	if (json_object_object_get_ex(rec, "maps", &v) && v) {
		fprintf(stderr, "record %s holds its maps inline and names a maps file\n", id);
		json_object_put(rec);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s.maps", store, id);
	side = json_object_from_file(path);
	if (!side || !json_object_object_get_ex(side, "maps", &v)) {
		fprintf(stderr, "record %s: maps file %s missing or damaged\n", id, path);
		json_object_put(side);
		json_object_put(rec);
		return NULL;
	}
	json_object_object_add(rec, "maps", json_object_get(v));
	json_object_put(side);
	return rec;
}

int th_make_input(const char *path, size_t n, bool random_only)
{
	FILE *f = fopen(path, "we");
	unsigned char buf[65536];
	size_t done = 0;
	uint64_t x = 0x9e3779b97f4a7c15ull;

	if (!f)
		return -errno;
	while (done < n) {
		size_t k = sizeof(buf);

		if (random_only) {
			if (getrandom(buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
				return -EIO;
		} else {
			switch ((done / sizeof(buf)) % 4) {
			case 0: /* zero run */
				memset(buf, 0, sizeof(buf));
				break;
			case 1: /* text records */
				for (size_t i = 0; i < sizeof(buf);) {
					int l = snprintf((char *)buf + i, sizeof(buf) - i,
							 "user=%zu name=customer-%zu status=active\n",
							 (done + i) % 997, (done + i) % 7919);
					if (l <= 0)
						break;
					i += (size_t)l;
				}
				break;
			case 2: /* pointers */
				for (size_t i = 0; i + 8 <= sizeof(buf); i += 8) {
					uint64_t p = 0x7f0000000000ull + ((done + i) * 24 % (1 << 24));

					memcpy(buf + i, &p, 8);
				}
				break;
			default: /* pseudo-random */
				for (size_t i = 0; i + 8 <= sizeof(buf); i += 8) {
					x ^= x << 13;
					x ^= x >> 7;
					x ^= x << 17;
					memcpy(buf + i, &x, 8);
				}
			}
		}
		if (k > n - done)
			k = n - done;
		if (fwrite(buf, 1, k, f) != k) {
			fclose(f);
			return -EIO;
		}
		done += k;
	}
	return fclose(f) == 0 ? 0 : -errno;
}

int th_cmp_prefix(const char *a, const char *b, int64_t n)
{
	FILE *fa = fopen(a, "re"), *fb = fopen(b, "re");
	int r = 0;
	int64_t i = 0;

	if (!fa || !fb) {
		r = -1;
		goto out;
	}
	for (;; i++) {
		int ca = fgetc(fa), cb;

		if (n >= 0 && i == n) {
			r = ca == EOF ? 0 : 1;
			break;
		}
		cb = fgetc(fb);
		if (ca != cb) {
			r = 1;
			break;
		}
		if (ca == EOF)
			break;
	}
out:
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return r;
}

void th_boot_tag(char *out, size_t size)
{
	char buf[64] = "";
	size_t n = 0;
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	for (char *p = buf; *p && n + 1 < size; p++)
		if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
			out[n++] = *p;
	out[n] = '\0';
}

static json_object *walk(json_object *o, const char *path)
{
	char key[128];

	while (o && *path) {
		size_t l = strcspn(path, ".");

		snprintf(key, sizeof(key), "%.*s", (int)l, path);
		if (!json_object_object_get_ex(o, key, &o))
			return NULL;
		path += l;
		if (*path == '.')
			path++;
	}
	return o;
}

int64_t th_int(json_object *o, const char *path)
{
	json_object *v = walk(o, path);

	return v ? json_object_get_int64(v) : -1;
}

const char *th_str(json_object *o, const char *path)
{
	json_object *v = walk(o, path);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

bool th_bool(json_object *o, const char *path)
{
	json_object *v = walk(o, path);

	return v && json_object_get_boolean(v);
}

pid_t th_sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

void th_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
