/* report.c: the crash report, written from the signal handler.
 *
 * Async-signal-safe throughout: the map snapshot and ELF reads use static or
 * stack buffers and syscalls, numbers are formatted by writer.c, and the
 * destination file (when a directory is configured) is created with
 * open(O_CREAT|O_EXCL|O_NOFOLLOW). Sections, in order: what happened (signal,
 * si_code, sender, fault address and the mapping it is in: fault.c), who
 * (process, thread), registers (regs.c), backtrace, memory map, and a
 * closing hint.
 *
 * A process that is not dumpable when it crashes (PR_GET_DUMPABLE != 1: a
 * setuid program, or one that changed credentials) must not hand its
 * registers, addresses (its ASLR layout) or memory map to whoever holds the
 * descriptor it writes to, which it typically inherited from the invoking
 * user (stderr). Such a report is redacted: no registers, no memory map, no
 * absolute address anywhere (frames keep MODULE+0xOFFSET (function+0xOFF),
 * which is what symbolize needs), and a Note line says so. The full report
 * goes to a file in the directory the program configured
 * (ll_crash_opts.dir, never from the environment of a setuid program: see
 * env.c), or to fd when the program marked it LL_CRASH_FULL_FD. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "crash/crash_internal.h"
#include "lifeline/crash.h"

#define FRAMES_MAX 64

static const char *errno_name(int e)
{
	switch (e) {
	case ENOENT: return "ENOENT (no such directory)";
	case EACCES: return "EACCES (permission denied)";
	case EPERM: return "EPERM (operation not permitted)";
	case EEXIST: return "EEXIST (file exists)";
	case ENOSPC: return "ENOSPC (no space left on device)";
	case EROFS: return "EROFS (read-only file system)";
	case ENOTDIR: return "ENOTDIR (not a directory)";
	case ELOOP: return "ELOOP (symbolic link refused)";
	case EMFILE: return "EMFILE (too many open files)";
	case ENAMETOOLONG: return "ENAMETOOLONG (name too long)";
	default: return "";
	}
}

static pid_t gettid_raw(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* Read a small file into buf (NUL-terminated); returns the length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	ssize_t n, len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((size_t)len < size - 1) {
		n = read(fd, buf + len, size - 1 - (size_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return len;
}

static void fmt_time(struct cw *w, int compact)
{
	struct timespec ts;
	int64_t secs, days, rem, z, era, doe, yoe, y, doy, mp, d, m;
	int64_t parts[6];

	clock_gettime(CLOCK_REALTIME, &ts);
	secs = ts.tv_sec;
	days = secs / 86400;
	rem = secs % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	/* Civil date from days since 1970-01-01 (H. Hinnant's algorithm). */
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	parts[0] = y;
	parts[1] = m;
	parts[2] = d;
	parts[3] = rem / 3600;
	parts[4] = rem / 60 % 60;
	parts[5] = rem % 60;
	for (int i = 0; i < 6; i++) {
		if (!compact && (i == 1 || i == 2))
			cw_char(w, '-');
		if (i == 3)
			cw_char(w, 'T');
		if (!compact && (i == 4 || i == 5))
			cw_char(w, ':');
		if (i > 0 && parts[i] < 10)
			cw_char(w, '0');
		cw_dec(w, parts[i]);
	}
	cw_char(w, 'Z');
}

/* The executable's base name, restricted to [A-Za-z0-9._-], at most 64. */
static void exe_name(char *out, size_t size)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	const char *base;
	size_t i = 0;

	if (n <= 0) {
		strcpy(out, "unknown");
		return;
	}
	buf[n] = '\0';
	base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	for (; i < size - 1 && i < 64 && base[i]; i++) {
		char c = base[i];

		out[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '-' || c == '_') ? c : '_';
	}
	out[i] = '\0';
	if (i == 0 || out[0] == '.')
		out[0] = '_';
	if (i == 0)
		out[1] = '\0';
}

/* Create DIR/crash-<exe>-<pid>-<time>.txt; path receives its name. */
static int open_report_file(const char *dir, char *path, size_t size)
{
	struct cw w;
	char exe[72];
	size_t dlen = strlen(dir);
	int fd;

	exe_name(exe, sizeof(exe));
	if (dlen + 160 >= size)
		return -ENAMETOOLONG;
	memcpy(path, dir, dlen);
	/* Format the name through a writer with no fd, into its buffer. */
	cw_init(&w, -1);
	cw_str(&w, "/crash-");
	cw_str(&w, exe);
	cw_char(&w, '-');
	cw_udec(&w, (uint64_t)getpid());
	cw_char(&w, '-');
	fmt_time(&w, 1);
	cw_str(&w, ".txt");
	memcpy(path + dlen, w.buf, w.len);
	path[dlen + w.len] = '\0';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

static void write_process(struct cw *w)
{
	char buf[4096];
	ssize_t n;
	pid_t pid = getpid(), tid = gettid_raw();

	cw_str(w, "Process:    ");
	cw_dec(w, pid);
	n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n > 0) {
		cw_char(w, ' ');
		cw_mem(w, buf, (size_t)n);
	}
	cw_char(w, '\n');
	n = read_small("/proc/self/cmdline", buf, 1024);
	if (n > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\0' || buf[i] == '\n')
				buf[i] = ' ';
		while (n > 0 && buf[n - 1] == ' ')
			n--;
		cw_str(w, "Command:    ");
		cw_mem(w, buf, (size_t)n);
		cw_char(w, '\n');
	}
	cw_str(w, "Thread:     ");
	cw_dec(w, tid);
	{
		char path[64], num[21];

		strcpy(path, "/proc/self/task/");
		strcat(path, crash_fmt_udec(num, (uint64_t)tid));
		strcat(path, "/comm");
		n = read_small(path, buf, 64);
		if (n > 0) {
			if (buf[n - 1] == '\n')
				buf[--n] = '\0';
			cw_str(w, " \"");
			cw_str(w, buf);
			cw_char(w, '"');
		}
	}
	if (tid == pid)
		cw_str(w, " (main thread)");
	cw_char(w, '\n');
	cw_str(w, "Time:       ");
	fmt_time(w, 0);
	cw_char(w, '\n');
}

/* "  #3  0x00007f1234567890 /usr/lib/libfoo.so+0x1a2b3 (foo_bar+0x1c)";
 * redacted: "  #3  /usr/lib/libfoo.so+0x1a2b3 (foo_bar+0x1c)". */
static void write_frame(struct cw *w, size_t i, uint64_t pc, int redact)
{
	const struct crash_map *m = crash_maps_find(pc);
	char num[21];

	cw_str(w, "  #");
	cw_pad(w, crash_fmt_udec(num, i), 2);
	cw_char(w, ' ');
	if (!redact) {
		cw_hex(w, pc, 16);
		cw_char(w, ' ');
	}
	if (!m) {
		cw_str(w, "[unmapped] (?\?)\n");
		return;
	}
	if (m->path[0] == '/') {
		struct crash_sym s;

		crash_elf_lookup(m, pc, &s);
		crash_write_path(w, m);
		cw_char(w, '+');
		cw_hex(w, s.have_vaddr ? s.vaddr : pc - m->start + m->off, 0);
		cw_str(w, " (");
		if (s.name[0]) {
			cw_str(w, s.name);
			cw_char(w, '+');
			cw_hex(w, s.sym_off, 0);
		} else {
			cw_str(w, "?\?");
		}
		cw_str(w, ")\n");
		return;
	}
	cw_str(w, m->path[0] ? m->path : "[anonymous]");
	cw_char(w, '+');
	cw_hex(w, pc - m->start, 0);
	cw_str(w, " (?\?)\n");
}

static void write_backtrace(struct cw *w, const ucontext_t *uc, int redact)
{
	uint64_t pcs[FRAMES_MAX];
	const char *how = "";
	size_t n = crash_unwind(uc, pcs, FRAMES_MAX, &how);

	cw_str(w, "\nBacktrace (most recent call first; unwound with ");
	cw_str(w, how);
	cw_str(w, "):\n");
	for (size_t i = 0; i < n; i++)
		write_frame(w, i, pcs[i], redact);
	if (n == FRAMES_MAX)
		cw_str(w, "  ... (more frames not shown)\n");
}

static void write_maps(struct cw *w)
{
	size_t n = crash_maps_count();

	cw_str(w, "\nMemory map (/proc/self/maps):\n");
	for (size_t i = 0; i < n; i++) {
		cw_str(w, crash_maps_at(i)->line);
		cw_char(w, '\n');
	}
}

/* 1 when the kernel would dump this process's core for its own uid: not a
 * setuid/setgid program, no credential change (see prctl(2)). The raw
 * system call: the handler goes through no wrapper that is not on the
 * async-signal-safe list. */
static int is_dumpable(void)
{
	return syscall(SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0) == 1;
}

void crash_report_write(int fd, int sig, const siginfo_t *si, const ucontext_t *uc,
			unsigned flags, const char *dir)
{
	char path[4096];
	int out = fd, file = -1, nmaps, redact;
	struct cw w;

	cw_start_budget();
	crash_elf_reset();
	nmaps = crash_maps_snapshot();
	if (dir) {
		file = open_report_file(dir, path, sizeof(path));
		if (file >= 0)
			out = file;
	}
	redact = file < 0 && !(flags & LL_CRASH_FULL_FD) && !is_dumpable();
	cw_init(&w, out);
	if (dir && file < 0) {
		cw_str(&w, "lifeline: could not create a crash report file in ");
		cw_str(&w, dir);
		cw_str(&w, ": errno ");
		cw_dec(&w, -file);
		cw_char(&w, ' ');
		cw_str(&w, errno_name(-file));
		cw_str(&w, "; the report follows here\n");
	}
	cw_str(&w, "==== lifeline crash report ====\n");
	crash_write_signal(&w, sig, si, redact);
	crash_write_address(&w, sig, si, uc, redact);
	write_process(&w);
	if (redact)
		cw_str(&w, "Note:       this process is not dumpable (setuid, or it changed credentials): registers, "
			  "stack bytes, raw addresses and the memory map are left out of a report on an inherited "
			  "descriptor; the program can have a full one written to its own directory "
			  "(ll_crash_opts.dir)\n");
	if (nmaps <= 0) {
		cw_str(&w, "Note:       /proc/self/maps could not be read (errno ");
		cw_dec(&w, -nmaps);
		cw_str(&w, "): no module names or offsets below\n");
	}
	if (!(flags & LL_CRASH_NO_REGISTERS) && !redact)
		crash_write_registers(&w, uc);
	cw_flush(&w);
	write_backtrace(&w, uc, redact);
	cw_flush(&w);
	if (!(flags & LL_CRASH_NO_MAPS) && !redact)
		write_maps(&w);
	cw_str(&w, "==== end of lifeline crash report ====\n");
	cw_str(&w, "To add source file:line and inlined functions to the frames and demangle C++ names: lifeline symbolize < report\n");
	cw_flush(&w);
	if (file >= 0) {
		const char *name = crash_signame(sig);

		close(file);
		cw_init(&w, fd);
		cw_str(&w, "lifeline: ");
		cw_str(&w, name ? name : "fatal signal");
		cw_str(&w, ": crash report written to ");
		cw_str(&w, path);
		cw_char(&w, '\n');
		cw_flush(&w);
	}
}
