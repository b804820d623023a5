/* fuzz_fds.c: libFuzzer target for the descriptor reader behind `lifeline
 * fds` and the port lookup: /proc/PID/stat (ppid, comm), fd/N links,
 * fdinfo/N (pos, flags, mnt_id, ino) and the socket tables net/tcp, tcp6,
 * udp, udp6 and unix (whose paths any local user chooses).
 *
 * The input is a sectioned file (fuzz_util.h) written out as a fake /proc/PID
 * directory; seeds come from a real process:
 *   cd /proc/PID; for f in stat FDS FDINFOS net/tcp net/tcp6 net/udp net/udp6 net/unix
 *   do echo "==> $f <=="; if [ -L $f ]; then readlink $f; else cat $f; fi; echo; done
 * (FDS, FDINFOS: the entries of fd/ and fdinfo/, e.g. from ls), and
 * ll_fds_read_at() reads it as it reads /proc/PID. */
#include <stdlib.h>
#include <string.h>

#include "inspect/fd/fd_internal.h"
#include "fuzz_util.h"

static const char *const allowed[] = {
	"stat", "@fd/", "fdinfo/", "net/tcp", "net/tcp6", "net/udp", "net/udp6", "net/unix", NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_section v[FZ_MAX_SECTIONS];
	struct ll_socktab_cache *cache = NULL;
	struct ll_fds *fds = NULL;
	char names[4096];
	int dirfd;
	size_t n;

	fz_scratch(&dirfd);
	n = fz_split(data, size, v, names, sizeof(names));
	fz_fill_dir(dirfd, v, n, allowed);
	if (ll_fds_read_at(dirfd, 4242, 0, &cache, &fds) == 0) {
		for (size_t i = 0; i < fds->n; i++) {
			const struct ll_fd *f = &fds->v[i];

			(void)ll_fd_type_name(f->type);
			if (f->has_socket && (!memchr(f->sock.local, '\0', sizeof(f->sock.local)) ||
					      !memchr(f->sock.state, '\0', sizeof(f->sock.state))))
				abort();
			if (f->has_socket)
				(void)ll_sock_proto_name(f->sock.proto);
			if (i && fds->v[i - 1].fd >= f->fd)
				abort(); /* sorted, each descriptor once */
		}
		ll_fds_free(fds);
	}
	ll_socktab_cache_free(cache);
	return 0;
}
