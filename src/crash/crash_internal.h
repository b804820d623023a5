/* crash_internal.h: private interfaces between the crash reporter's parts.
 *
 * Everything declared here except crash_sig_from_name() and the altstack
 * helpers is async-signal-safe: it uses only syscalls (open, read, pread,
 * write, readlink, clock_gettime), fixed buffers and no locks, because it runs
 * inside the fatal-signal handler. */
#ifndef LL_CRASH_INTERNAL_H
#define LL_CRASH_INTERNAL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <ucontext.h>

/* glibc does not define the SIGSYS si_code (the kernel's siginfo.h does). */
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

/* ---- writer.c: buffered, formatting write(2) ---- */
struct cw {
	int fd;
	size_t len;
	char buf[2048];
};
void cw_init(struct cw *w, int fd);
/* All writes of one report share this much waiting time (ms) in total. */
#define CRASH_WRITE_BUDGET_MS 5000
/* Start the budget (once per report). */
void cw_start_budget(void);
void cw_mem(struct cw *w, const char *s, size_t n);
void cw_str(struct cw *w, const char *s);
void cw_char(struct cw *w, char c);
/* "0x" followed by the hex digits of v, zero-padded to at least width. */
void cw_hex(struct cw *w, uint64_t v, int width);
void cw_udec(struct cw *w, uint64_t v);
void cw_dec(struct cw *w, int64_t v);
/* Left-aligned in a field of width characters. */
void cw_pad(struct cw *w, const char *s, int width);
void cw_flush(struct cw *w);
/* Format v in decimal into buf (at least 21 bytes); returns buf. */
char *crash_fmt_udec(char *buf, uint64_t v);
/* Format v as lowercase hex without prefix into buf (>= 17 bytes). */
char *crash_fmt_hex(char *buf, uint64_t v);

/* ---- signals.c: names and si_code meanings ---- */
/* "SIGSEGV", or NULL for a signal we have no name for. */
const char *crash_signame(int sig);
/* si_code name ("SEGV_MAPERR") and its meaning ("address not mapped to
 * object"); never NULL (a generic "code N" text is not produced here: the
 * name is "" then). */
void crash_code_text(int sig, int code, const char **name, const char **meaning);
/* True when si_code says a process sent the signal (kill, tgkill, raise,
 * abort, sigqueue): si_pid/si_uid are then valid. */
int crash_code_from_process(int code);
/* Parse "SIGSEGV", "SEGV", "segv" or "11". -1 if unknown. Not signal-safe. */
int crash_sig_from_name(const char *s, size_t len);

/* ---- maps.c: a snapshot of /proc/self/maps in static storage ---- */
enum { CM_R = 1, CM_W = 2, CM_X = 4, CM_S = 8 };
struct crash_map {
	uint64_t start, end, off;
	unsigned perms;
	const char *path;   /* "" for anonymous; the tail of line (may end in " (deleted)") */
	const char *line;   /* the whole maps line, NUL-terminated */
	int deleted;
};
/* Read /proc/self/maps (again). Returns the number of entries, or -errno. */
int crash_maps_snapshot(void);
size_t crash_maps_count(void);
const struct crash_map *crash_maps_at(size_t i);
/* The entry containing addr, or NULL. */
const struct crash_map *crash_maps_find(uint64_t addr);
/* The first entry starting above addr, or NULL. */
const struct crash_map *crash_maps_above(uint64_t addr);

/* ---- elfsym.c: module-relative address and symbol, without malloc ---- */
struct crash_sym {
	uint64_t vaddr;      /* ELF virtual address of pc in the module */
	int have_vaddr;
	char name[256];      /* "" when no symbol covers the address */
	uint64_t sym_off;    /* pc - symbol start */
};
/* Resolve pc, which lies in mapping m, to the module's ELF vaddr and the
 * symbol (from .symtab, else .dynsym) covering it. */
void crash_elf_lookup(const struct crash_map *m, uint64_t pc, struct crash_sym *out);
/* Forget the cached last answer (the maps may have changed). */
void crash_elf_reset(void);

/* ---- unwind.c: backtrace from the signal context ---- */
/* pcs[0] is the interrupted PC; pcs[1..] are callers, as return address - 1.
 * Returns the number of frames; *how says which unwinder gave the callers
 * ("CFI (libgcc _Unwind_Backtrace)" or "frame pointers"). */
size_t crash_unwind(const ucontext_t *uc, uint64_t *pcs, size_t max, const char **how);
/* Call the unwinder once outside any signal so that everything it needs is
 * loaded and resolved before a crash. */
void crash_unwind_warm(void);
uint64_t crash_uc_pc(const ucontext_t *uc);
uint64_t crash_uc_sp(const ucontext_t *uc);
uint64_t crash_uc_fp(const ucontext_t *uc);

/* ---- fault.c, regs.c: sections of the report ---- */
/* redact: the report goes to a descriptor of a process that is not
 * dumpable (report.c): no raw addresses, only mappings and module offsets. */
void crash_write_signal(struct cw *w, int sig, const siginfo_t *si, int redact);
void crash_write_address(struct cw *w, int sig, const siginfo_t *si, const ucontext_t *uc, int redact);
void crash_write_registers(struct cw *w, const ucontext_t *uc);
/* "rwxp" of CM_* bits; a mapping's path without " (deleted)". */
void crash_write_perms(struct cw *w, unsigned perms);
void crash_write_path(struct cw *w, const struct crash_map *m);

/* ---- report.c: the report ---- */
void crash_report_write(int fd, int sig, const siginfo_t *si, const ucontext_t *uc,
			unsigned flags, const char *dir);

/* ---- altstack.c ---- */
/* Default/configured alternate stack size (install sets it). */
extern size_t crash_altstack_size;

#endif
