/* regs.c: the register dump of the crash report, from the signal's
 * ucontext (x86_64; aarch64, checked under qemu-user by tests/crash/crash-aarch64.sh).
 * Async-signal-safe. */
#include <string.h>

#include "common/common.h"
#include "crash/crash_internal.h"

void crash_write_registers(struct cw *w, const ucontext_t *uc)
{
#if defined(__x86_64__)
	static const struct {
		const char *name;
		int idx;
	} regs[] = {
		{ "rax", REG_RAX }, { "rbx", REG_RBX }, { "rcx", REG_RCX }, { "rdx", REG_RDX },
		{ "rsi", REG_RSI }, { "rdi", REG_RDI }, { "rbp", REG_RBP }, { "rsp", REG_RSP },
		{ "r8", REG_R8 },   { "r9", REG_R9 },   { "r10", REG_R10 }, { "r11", REG_R11 },
		{ "r12", REG_R12 }, { "r13", REG_R13 }, { "r14", REG_R14 }, { "r15", REG_R15 },
		{ "rip", REG_RIP }, { "eflags", REG_EFL }, { "err", REG_ERR }, { "trapno", REG_TRAPNO },
	};

	cw_str(w, "\nRegisters:\n");
	for (size_t i = 0; i < LL_ARRAY_SIZE(regs); i++) {
		cw_str(w, "  ");
		cw_pad(w, regs[i].name, 7);
		cw_hex(w, (uint64_t)uc->uc_mcontext.gregs[regs[i].idx], 16);
		if (i % 4 == 3)
			cw_char(w, '\n');
	}
#elif defined(__aarch64__)
	char name[8], num[21];

	cw_str(w, "\nRegisters:\n");
	for (int i = 0; i < 31; i++) {
		strcpy(name, "x");
		strcat(name, crash_fmt_udec(num, (uint64_t)i));
		cw_str(w, "  ");
		cw_pad(w, name, 7);
		cw_hex(w, uc->uc_mcontext.regs[i], 16);
		if (i % 4 == 3)
			cw_char(w, '\n');
	}
	cw_str(w, "\n  sp     ");
	cw_hex(w, uc->uc_mcontext.sp, 16);
	cw_str(w, "  pc     ");
	cw_hex(w, uc->uc_mcontext.pc, 16);
	cw_str(w, "  pstate ");
	cw_hex(w, uc->uc_mcontext.pstate, 16);
	cw_char(w, '\n');
#else
	(void)uc;
	cw_str(w, "\nRegisters: (not supported on this architecture)\n");
#endif
}
