/* unwind.c: the backtrace of the interrupted thread, from the handler.
 *
 * Choice: libgcc's _Unwind_Backtrace, which follows the CFI (.eh_frame) of
 * each frame, so it works with -O2 code that keeps no frame pointer. It is
 * the unwinder glibc's backtrace() uses and what most in-process crash
 * reporters rely on. It is not on POSIX's async-signal-safe list; in
 * practice it is usable from the handler because:
 *   - we call it once at install time (crash_unwind_warm), so libgcc_s is
 *     loaded (it is also a DT_NEEDED of ours: we call it directly) and every
 *     lazy binding on the path is resolved before any crash;
 *   - with glibc >= 2.35 and GCC >= 12 (Debian 12), libgcc finds the FDE of a
 *     PC through _dl_find_object, which takes no lock, instead of
 *     dl_iterate_phdr, which does (the loader lock: a crash while another
 *     thread is in dlopen would deadlock); the FDE cache of that old path
 *     (frame_hdr_cache) is then not used;
 *   - it allocates nothing on the heap.
 * Residual risk (checked in libgcc_s 12.2's _Unwind_Find_FDE): frames
 * registered with __register_frame_info (JITs) are searched first, under
 * libgcc's object_mutex; GCC 12 skips that path without locking only while
 * nothing was ever registered (a relaxed load of any_objects_registered).
 * In a process with a JIT, a crash while another thread holds object_mutex
 * hangs the report (another crashing thread gives up after 10 s; see
 * install.c). Corrupt CFI or stack can fault inside the unwinder: a second
 * fatal signal, which ends the process with the default action (a core).
 * docs/crash.md, "Async-signal-safety", has the whole account; the test
 * crash-signal-safety checks every function the handler can reach.
 * libgcc recognises the kernel's signal frame (the sigreturn trampoline), so
 * the walk from the handler crosses into the interrupted code: we drop the
 * handler's own frames up to the frame whose IP is the ucontext's PC (flagged
 * "before instruction" by libgcc), and print the PC from the ucontext first.
 * If that frame is not found (no CFI for the faulting code, a PC of 0 after a
 * call through a NULL pointer), the callers come from the frame-pointer
 * chain instead, every step checked against the map snapshot so that the
 * walk never reads unmapped memory. */
#include <stdint.h>
#include <string.h>
#include <unwind.h>

#include "crash/crash_internal.h"

#define RAW_MAX 256

struct raw {
	uint64_t ip[RAW_MAX];
	unsigned char before[RAW_MAX];
	size_t n;
};

static _Unwind_Reason_Code collect(struct _Unwind_Context *ctx, void *arg)
{
	struct raw *r = arg;
	int before = 0;
	uint64_t ip = (uint64_t)_Unwind_GetIPInfo(ctx, &before);

	if (r->n >= RAW_MAX)
		return _URC_END_OF_STACK;
	r->ip[r->n] = ip;
	r->before[r->n] = (unsigned char)(before != 0);
	r->n++;
	return _URC_NO_REASON;
}

uint64_t crash_uc_pc(const ucontext_t *uc)
{
#if defined(__x86_64__)
	return (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	return (uint64_t)uc->uc_mcontext.pc;
#else
	(void)uc;
	return 0;
#endif
}

uint64_t crash_uc_sp(const ucontext_t *uc)
{
#if defined(__x86_64__)
	return (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
	return (uint64_t)uc->uc_mcontext.sp;
#else
	(void)uc;
	return 0;
#endif
}

uint64_t crash_uc_fp(const ucontext_t *uc)
{
#if defined(__x86_64__)
	return (uint64_t)uc->uc_mcontext.gregs[REG_RBP];
#elif defined(__aarch64__)
	return (uint64_t)uc->uc_mcontext.regs[29];
#else
	(void)uc;
	return 0;
#endif
}

/* Is [addr, addr+len) inside one readable mapping of the snapshot? */
static int readable(uint64_t addr, uint64_t len)
{
	const struct crash_map *m = crash_maps_find(addr);

	return m && (m->perms & CM_R) && addr + len <= m->end && addr + len > addr;
}

static int executable(uint64_t addr)
{
	const struct crash_map *m = crash_maps_find(addr);

	return m && (m->perms & CM_X);
}

/* Frame-pointer walk: [fp] = caller's fp, [fp+8] = return address. */
static size_t fp_walk(const ucontext_t *uc, uint64_t *pcs, size_t n, size_t max)
{
	uint64_t fp = crash_uc_fp(uc), sp = crash_uc_sp(uc);

	/* PC not executable (call through a bad pointer): the return address
	 * the call pushed is at the top of the stack. */
	if (n == 1 && !executable(pcs[0]) && readable(sp, 8)) {
		uint64_t ret = *(const uint64_t *)(uintptr_t)sp;

		if (executable(ret) && n < max)
			pcs[n++] = ret - 1;
	}
	while (n < max && fp % sizeof(uint64_t) == 0 && readable(fp, 16)) {
		const uint64_t *f = (const uint64_t *)(uintptr_t)fp;
		uint64_t next = f[0], ret = f[1];

		if (!executable(ret))
			break;
		pcs[n++] = ret - 1;
		if (next <= fp)
			break;
		fp = next;
	}
	return n;
}

size_t crash_unwind(const ucontext_t *uc, uint64_t *pcs, size_t max, const char **how)
{
	struct raw raw;
	uint64_t pc = crash_uc_pc(uc);
	size_t n = 0, i;

	if (max == 0)
		return 0;
	pcs[n++] = pc;
	raw.n = 0;
	_Unwind_Backtrace(collect, &raw);
	for (i = 0; i < raw.n; i++)
		if (raw.ip[i] == pc && raw.before[i])
			break;
	if (i < raw.n) {
		*how = "CFI (libgcc _Unwind_Backtrace)";
		for (i++; i < raw.n && n < max; i++) {
			if (raw.ip[i] == 0)
				break;
			pcs[n++] = raw.before[i] ? raw.ip[i] : raw.ip[i] - 1;
		}
		/* CFI stopped at the faulting frame (no unwind info for it):
		 * try the frame pointers for its callers. */
		if (n > 1)
			return n;
	}
	*how = "frame pointers (no CFI path through the faulting frame)";
	return fp_walk(uc, pcs, n, max);
}

void crash_unwind_warm(void)
{
	struct raw raw;

	raw.n = 0;
	_Unwind_Backtrace(collect, &raw);
}
