/* Differential tester: the software x86-64 CPU against the host CPU.
 *
 * Each case is one instruction, a short sequence, or (one case in ten) a
 * long sequence of up to 64 instructions with forward conditional
 * branches among them, with random and edge-case operands.  It runs natively in a forked child -- code and
 * data at fixed low addresses, state loaded by a small asm trampoline
 * (fxrstor64, popfq, every GPR), the result read back from the signal
 * frame of the int3 that ends the snippet (or of the fault it took) -- and
 * on the software CPU from the same state, at the same addresses, in
 * 64-bit mode at CPL3 -- twice: translated to host code (the default
 * engine) and interpreted (-accel tcg,jit=off).  Every GPR, RIP, RFLAGS (minus the flags the SDM
 * leaves undefined for that instruction), x87 state (minus undefined
 * condition codes), MXCSR, the XMM registers, the data buffer and the
 * exception vector are compared.  On the software side the data buffer's
 * two pages sit in swapped physical frames, so that an access or a rep
 * string run that crosses the page boundary in linear space must follow
 * the page tables (natively the frames are whatever the kernel gave).
 *
 *   test_difftest           fixed seed, a few thousand cases (make test)
 *   test_difftest N [seed]  N cases (make difftest N=...)
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <asm/prctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>
#include <cpuid.h>

#include "test.h"
#include "core/vm.h"
#include "cpu/x86/cpu.h"
#include "cpu/x86/fpu_internal.h"
#include "cpu/x86/simd_features.h"
#include "tcg_vm.h"

#define DT_CODE 0x00a00000ull		/* snippet; same address natively and in the guest */
#define DT_DATA 0x00a10000ull		/* data buffer */
#define DT_DATA_SIZE 8192
#define DT_GEN_AREA 4096		/* memory operands land in [0, 4096) */
#define DT_STACK_TOP (DT_DATA + 6144)	/* RSP for stack forms */
#define DT_PT_BASE 0x00e00000ull
#define DT_CODE_MAX 1024
#define DT_LONG_SEQ 64		/* instructions of a long sequence, at most */
#define DT_BATCH 128

/* ---- PRNG ---- */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rn(struct rng *r, unsigned n)
{
	return (unsigned)(rnd(r) % n);
}

static bool chance(struct rng *r, unsigned percent)
{
	return rn(r, 100) < percent;
}

/* ---- machine state ---- */

struct dt_state {
	uint64_t gpr[16];
	uint64_t rip;
	uint64_t rflags;
	uint8_t fx[512] __attribute__((aligned(16)));
	uint8_t data[DT_DATA_SIZE];
};

enum { DT_OK, DT_FAULT, DT_CRASH };

struct dt_result {
	int status;
	int vector;
	struct dt_state st;
};

/* Form flags */
#define F_STACK 0x0001		/* uses RSP implicitly */
#define F_STRING 0x0002		/* string op: RSI/RDI/RCX */
#define F_SHIFT 0x0004		/* undefined flags depend on the count */
#define F_BTREG 0x0008		/* bit offset register must stay small */
#define F_BSF 0x0010		/* destination undefined when the source is 0 */
#define F_RET 0x0020		/* stack top = next instruction */
#define F_RBP 0x0040		/* RBP must point into the stack */
#define F_POPF 0x0080		/* popped flags must be sane */
#define F_RDI 0x0100		/* maskmov: RDI = data */
#define F_XLAT 0x0200		/* RBX = data */
#define F_BRANCH 0x0400		/* rel8 over a 2-byte filler */
#define F_CALL 0x0800
#define F_LOCKABLE 0x1000		/* lock prefix allowed on the memory form */
#define F_REP 0x2000		/* rep/repe/repne may be used */
#define F_APPROX 0x4000		/* rcpps/rsqrtps: compare with tolerance */
#define F_FXRSTOR 0x8000	/* memory holds an fxsave image */
#define F_MXCSR 0x10000		/* memory holds an MXCSR value */
#define F_LOOP 0x20000		/* RCX small */
#define F_SHLD 0x80000		/* shld/shrd: 32/64-bit only */
#define F_W 0x100000		/* REX.W random (GPR-sized SSE operand) */
#define F_W1 0x200000		/* REX.W required */
#define F_X87 0x400000
#define F_MMX 0x800000		/* touches MMX: x87 tags become valid */
#define F_ENV 0x1000000		/* fldenv/frstor: memory holds an environment */
#define F_FORCELOCK 0x2000000	/* always a lock prefix: #UD expected */

/* operand kinds */
enum { K_NONE, K_RM, K_MEM, K_REG, K_OPREG, K_FIXED };
/* register classes of ModRM.reg / ModRM.rm */
enum { C_GPR, C_XMM, C_MMX, C_NONE };
/* CPUID features a form needs */
enum { FT_BASE, FT_SSE3, FT_SSSE3, FT_SSE41, FT_POPCNT, FT_LZCNT, FT_MOVBE, FT_BMI1, FT_CX16 };

struct form {
	const char *fam;
	uint8_t map;		/* 0: 1-byte, 1: 0F, 2: 0F38, 3: 0F3A */
	uint8_t op;
	int8_t digit;		/* ModRM.reg for group opcodes, or -1; for K_FIXED the whole modrm */
	uint8_t kind;
	uint8_t sizes;		/* operand sizes: 1, 2, 4, 8 as bits */
	uint8_t imm;		/* 1, 2, 4 (Iz), 8 (Iv), 3 (Iw + Ib) */
	uint8_t pfx;		/* mandatory prefix */
	uint8_t regc, rmc;
	uint16_t msize;		/* memory bytes (0: by operand size) */
	uint8_t align;
	uint8_t feature;
	uint32_t flags;
	uint32_t undef;		/* undefined RFLAGS bits */
	uint16_t ccundef;	/* undefined x87 condition codes */
};

#define S8 1
#define S16 2
#define S32 4
#define S64 8
#define SV (S16 | S32 | S64)
#define SD (S32 | S64)

#define FL_CF 0x001
#define FL_PF 0x004
#define FL_AF 0x010
#define FL_ZF 0x040
#define FL_SF 0x080
#define FL_OF 0x800
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* integer forms */
#define GI(fam, map, op, dg, kind, sz, imm, undef, fl) \
	{ fam, map, op, dg, kind, sz, imm, 0, C_GPR, C_GPR, 0, 0, FT_BASE, fl, undef, 0 }
/* SIMD forms: reg class, rm class, memory size, alignment */
#define SI(fam, map, op, pfx, dg, kind, regc, rmc, msz, al, imm, ft, fl) \
	{ fam, map, op, dg, kind, S32, imm, pfx, regc, rmc, msz, al, ft, fl, 0, 0 }
/* x87 forms: K_MEM with digit, or K_FIXED with modrm base (+i when kind K_REG) */
#define FX(fam, op, dg, kind, msz, cc) \
	{ fam, 0, op, dg, kind, S32, 0, 0, C_NONE, C_NONE, msz, 0, FT_BASE, F_X87, 0, cc }

#define C0 X87_FSW_C0
#define C1 X87_FSW_C1
#define C2 X87_FSW_C2
#define C3 X87_FSW_C3
#define CC_ARITH (C0 | C2 | C3)
#define CC_ALL (C0 | C1 | C2 | C3)

static const struct form forms[] = {
	/* ALU */
#define ALU(name, k, undef)                                                          \
	GI(name, 0, 8 * k + 0, -1, K_RM, S8, 0, undef, F_LOCKABLE),                      \
	GI(name, 0, 8 * k + 1, -1, K_RM, SV, 0, undef, F_LOCKABLE),                      \
	GI(name, 0, 8 * k + 2, -1, K_RM, S8, 0, undef, 0),                           \
	GI(name, 0, 8 * k + 3, -1, K_RM, SV, 0, undef, 0),                           \
	GI(name, 0, 8 * k + 4, -1, K_NONE, S8, 1, undef, 0),                         \
	GI(name, 0, 8 * k + 5, -1, K_NONE, SV, 4, undef, 0),                         \
	GI(name, 0, 0x80, k, K_RM, S8, 1, undef, F_LOCKABLE),                            \
	GI(name, 0, 0x81, k, K_RM, SV, 4, undef, F_LOCKABLE),                            \
	GI(name, 0, 0x83, k, K_RM, SV, 1, undef, F_LOCKABLE)
	ALU("add", 0, 0), ALU("or", 1, FL_AF), ALU("adc", 2, 0), ALU("sbb", 3, 0),
	ALU("and", 4, FL_AF), ALU("sub", 5, 0), ALU("xor", 6, FL_AF), ALU("cmp", 7, 0),
	GI("test", 0, 0x84, -1, K_RM, S8, 0, FL_AF, 0),
	GI("test", 0, 0x85, -1, K_RM, SV, 0, FL_AF, 0),
	GI("test", 0, 0xa8, -1, K_NONE, S8, 1, FL_AF, 0),
	GI("test", 0, 0xa9, -1, K_NONE, SV, 4, FL_AF, 0),
	GI("test", 0, 0xf6, 0, K_RM, S8, 1, FL_AF, 0),
	GI("test", 0, 0xf7, 0, K_RM, SV, 4, FL_AF, 0),
	GI("incdec", 0, 0xfe, 0, K_RM, S8, 0, 0, F_LOCKABLE),
	GI("incdec", 0, 0xfe, 1, K_RM, S8, 0, 0, F_LOCKABLE),
	GI("incdec", 0, 0xff, 0, K_RM, SV, 0, 0, F_LOCKABLE),
	GI("incdec", 0, 0xff, 1, K_RM, SV, 0, 0, F_LOCKABLE),
	GI("notneg", 0, 0xf6, 2, K_RM, S8, 0, 0, F_LOCKABLE),
	GI("notneg", 0, 0xf7, 2, K_RM, SV, 0, 0, F_LOCKABLE),
	GI("notneg", 0, 0xf6, 3, K_RM, S8, 0, 0, F_LOCKABLE),
	GI("notneg", 0, 0xf7, 3, K_RM, SV, 0, 0, F_LOCKABLE),
	GI("mul", 0, 0xf6, 4, K_RM, S8, 0, FL_SF | FL_ZF | FL_AF | FL_PF, 0),
	GI("mul", 0, 0xf7, 4, K_RM, SV, 0, FL_SF | FL_ZF | FL_AF | FL_PF, 0),
	GI("mul", 0, 0xf6, 5, K_RM, S8, 0, FL_SF | FL_ZF | FL_AF | FL_PF, 0),
	GI("mul", 0, 0xf7, 5, K_RM, SV, 0, FL_SF | FL_ZF | FL_AF | FL_PF, 0),
	GI("mul", 1, 0xaf, -1, K_RM, SV, 0, FL_SF | FL_ZF | FL_AF | FL_PF, 0),
	GI("mul", 0, 0x69, -1, K_RM, SV, 4, FL_SF | FL_ZF | FL_AF | FL_PF, 0),
	GI("mul", 0, 0x6b, -1, K_RM, SV, 1, FL_SF | FL_ZF | FL_AF | FL_PF, 0),
	GI("div", 0, 0xf6, 6, K_RM, S8, 0, FL_ARITH, 0),
	GI("div", 0, 0xf7, 6, K_RM, SV, 0, FL_ARITH, 0),
	GI("div", 0, 0xf6, 7, K_RM, S8, 0, FL_ARITH, 0),
	GI("div", 0, 0xf7, 7, K_RM, SV, 0, FL_ARITH, 0),
#define SHIFT(d)                                                        \
	GI("shift", 0, 0xc0, d, K_RM, S8, 1, 0, F_SHIFT),               \
	GI("shift", 0, 0xc1, d, K_RM, SV, 1, 0, F_SHIFT),               \
	GI("shift", 0, 0xd0, d, K_RM, S8, 0, 0, F_SHIFT),               \
	GI("shift", 0, 0xd1, d, K_RM, SV, 0, 0, F_SHIFT),               \
	GI("shift", 0, 0xd2, d, K_RM, S8, 0, 0, F_SHIFT),               \
	GI("shift", 0, 0xd3, d, K_RM, SV, 0, 0, F_SHIFT)
	SHIFT(0), SHIFT(1), SHIFT(2), SHIFT(3), SHIFT(4), SHIFT(5), SHIFT(7),
	GI("shld", 1, 0xa4, -1, K_RM, SD, 1, 0, F_SHIFT | F_SHLD),
	GI("shld", 1, 0xa5, -1, K_RM, SD, 0, 0, F_SHIFT | F_SHLD),
	GI("shld", 1, 0xac, -1, K_RM, SD, 1, 0, F_SHIFT | F_SHLD),
	GI("shld", 1, 0xad, -1, K_RM, SD, 0, 0, F_SHIFT | F_SHLD),
	GI("bt", 1, 0xa3, -1, K_RM, SV, 0, FL_OF | FL_SF | FL_AF | FL_PF, F_BTREG),
	GI("bt", 1, 0xab, -1, K_RM, SV, 0, FL_OF | FL_SF | FL_AF | FL_PF, F_BTREG | F_LOCKABLE),
	GI("bt", 1, 0xb3, -1, K_RM, SV, 0, FL_OF | FL_SF | FL_AF | FL_PF, F_BTREG | F_LOCKABLE),
	GI("bt", 1, 0xbb, -1, K_RM, SV, 0, FL_OF | FL_SF | FL_AF | FL_PF, F_BTREG | F_LOCKABLE),
	GI("bt", 1, 0xba, 4, K_RM, SV, 1, FL_OF | FL_SF | FL_AF | FL_PF, 0),
	GI("bt", 1, 0xba, 5, K_RM, SV, 1, FL_OF | FL_SF | FL_AF | FL_PF, F_LOCKABLE),
	GI("bt", 1, 0xba, 6, K_RM, SV, 1, FL_OF | FL_SF | FL_AF | FL_PF, F_LOCKABLE),
	GI("bt", 1, 0xba, 7, K_RM, SV, 1, FL_OF | FL_SF | FL_AF | FL_PF, F_LOCKABLE),
	GI("bsf", 1, 0xbc, -1, K_RM, SV, 0, FL_CF | FL_OF | FL_SF | FL_AF | FL_PF, F_BSF),
	GI("bsf", 1, 0xbd, -1, K_RM, SV, 0, FL_CF | FL_OF | FL_SF | FL_AF | FL_PF, F_BSF),
	{ "popcnt", 1, 0xb8, -1, K_RM, SV, 0, 0xf3, C_GPR, C_GPR, 0, 0, FT_POPCNT, 0, 0, 0 },
	{ "lzcnt", 1, 0xbd, -1, K_RM, SV, 0, 0xf3, C_GPR, C_GPR, 0, 0, FT_LZCNT, 0, FL_OF | FL_SF | FL_AF | FL_PF, 0 },
	{ "tzcnt", 1, 0xbc, -1, K_RM, SV, 0, 0xf3, C_GPR, C_GPR, 0, 0, FT_BMI1, 0, FL_OF | FL_SF | FL_AF | FL_PF, 0 },
	GI("cmov", 1, 0x40, -1, K_RM, SV, 0, 0, 0), GI("cmov", 1, 0x41, -1, K_RM, SV, 0, 0, 0),
	GI("cmov", 1, 0x42, -1, K_RM, SV, 0, 0, 0), GI("cmov", 1, 0x43, -1, K_RM, SV, 0, 0, 0),
	GI("cmov", 1, 0x44, -1, K_RM, SV, 0, 0, 0), GI("cmov", 1, 0x45, -1, K_RM, SV, 0, 0, 0),
	GI("cmov", 1, 0x46, -1, K_RM, SV, 0, 0, 0), GI("cmov", 1, 0x47, -1, K_RM, SV, 0, 0, 0),
	GI("cmov", 1, 0x48, -1, K_RM, SV, 0, 0, 0), GI("cmov", 1, 0x49, -1, K_RM, SV, 0, 0, 0),
	GI("cmov", 1, 0x4a, -1, K_RM, SV, 0, 0, 0), GI("cmov", 1, 0x4b, -1, K_RM, SV, 0, 0, 0),
	GI("cmov", 1, 0x4c, -1, K_RM, SV, 0, 0, 0), GI("cmov", 1, 0x4d, -1, K_RM, SV, 0, 0, 0),
	GI("cmov", 1, 0x4e, -1, K_RM, SV, 0, 0, 0), GI("cmov", 1, 0x4f, -1, K_RM, SV, 0, 0, 0),
	GI("setcc", 1, 0x90, 0, K_RM, S8, 0, 0, 0), GI("setcc", 1, 0x91, 0, K_RM, S8, 0, 0, 0),
	GI("setcc", 1, 0x92, 0, K_RM, S8, 0, 0, 0), GI("setcc", 1, 0x93, 0, K_RM, S8, 0, 0, 0),
	GI("setcc", 1, 0x94, 0, K_RM, S8, 0, 0, 0), GI("setcc", 1, 0x95, 0, K_RM, S8, 0, 0, 0),
	GI("setcc", 1, 0x96, 0, K_RM, S8, 0, 0, 0), GI("setcc", 1, 0x97, 0, K_RM, S8, 0, 0, 0),
	GI("setcc", 1, 0x98, 0, K_RM, S8, 0, 0, 0), GI("setcc", 1, 0x99, 0, K_RM, S8, 0, 0, 0),
	GI("setcc", 1, 0x9a, 0, K_RM, S8, 0, 0, 0), GI("setcc", 1, 0x9b, 0, K_RM, S8, 0, 0, 0),
	GI("setcc", 1, 0x9c, 0, K_RM, S8, 0, 0, 0), GI("setcc", 1, 0x9d, 0, K_RM, S8, 0, 0, 0),
	GI("setcc", 1, 0x9e, 0, K_RM, S8, 0, 0, 0), GI("setcc", 1, 0x9f, 0, K_RM, S8, 0, 0, 0),
	GI("xchg", 0, 0x86, -1, K_RM, S8, 0, 0, F_LOCKABLE),
	GI("xchg", 0, 0x87, -1, K_RM, SV, 0, 0, F_LOCKABLE),
	GI("xchg", 0, 0x90, -1, K_OPREG, SV, 0, 0, 0),
	GI("cmpxchg", 1, 0xb0, -1, K_RM, S8, 0, 0, F_LOCKABLE),
	GI("cmpxchg", 1, 0xb1, -1, K_RM, SV, 0, 0, F_LOCKABLE),
	GI("xadd", 1, 0xc0, -1, K_RM, S8, 0, 0, F_LOCKABLE),
	GI("xadd", 1, 0xc1, -1, K_RM, SV, 0, 0, F_LOCKABLE),
	{ "cmpxchg8b", 1, 0xc7, 1, K_MEM, S32, 0, 0, C_NONE, C_GPR, 8, 0, FT_BASE, F_LOCKABLE, 0, 0 },
	{ "cmpxchg8b", 1, 0xc7, 1, K_MEM, S64, 0, 0, C_NONE, C_GPR, 16, 16, FT_CX16, F_LOCKABLE | F_W1, 0, 0 },
	GI("bswap", 1, 0xc8, -1, K_OPREG, SD, 0, 0, 0),
	{ "movbe", 2, 0xf0, -1, K_MEM, SV, 0, 0, C_GPR, C_GPR, 0, 0, FT_MOVBE, 0, 0, 0 },
	{ "movbe", 2, 0xf1, -1, K_MEM, SV, 0, 0, C_GPR, C_GPR, 0, 0, FT_MOVBE, 0, 0, 0 },
	GI("lea", 0, 0x8d, -1, K_MEM, SV, 0, 0, 0),
	GI("mov", 0, 0x88, -1, K_RM, S8, 0, 0, 0), GI("mov", 0, 0x89, -1, K_RM, SV, 0, 0, 0),
	GI("mov", 0, 0x8a, -1, K_RM, S8, 0, 0, 0), GI("mov", 0, 0x8b, -1, K_RM, SV, 0, 0, 0),
	GI("mov", 0, 0xb0, -1, K_OPREG, S8, 1, 0, 0), GI("mov", 0, 0xb8, -1, K_OPREG, SV, 8, 0, 0),
	GI("mov", 0, 0xc6, 0, K_RM, S8, 1, 0, 0), GI("mov", 0, 0xc7, 0, K_RM, SV, 4, 0, 0),
	GI("movx", 1, 0xb6, -1, K_RM, SV, 0, 0, 0), GI("movx", 1, 0xb7, -1, K_RM, SD, 0, 0, 0),
	GI("movx", 1, 0xbe, -1, K_RM, SV, 0, 0, 0), GI("movx", 1, 0xbf, -1, K_RM, SD, 0, 0, 0),
	GI("movx", 0, 0x63, -1, K_RM, S64, 0, 0, 0),
	GI("cwd", 0, 0x98, -1, K_NONE, SV, 0, 0, 0), GI("cwd", 0, 0x99, -1, K_NONE, SV, 0, 0, 0),
	GI("flagops", 0, 0x9f, -1, K_NONE, S32, 0, 0, 0), GI("flagops", 0, 0x9e, -1, K_NONE, S32, 0, 0, 0),
	GI("flagops", 0, 0xf5, -1, K_NONE, S32, 0, 0, 0), GI("flagops", 0, 0xf8, -1, K_NONE, S32, 0, 0, 0),
	GI("flagops", 0, 0xf9, -1, K_NONE, S32, 0, 0, 0), GI("flagops", 0, 0xfc, -1, K_NONE, S32, 0, 0, 0),
	GI("flagops", 0, 0xfd, -1, K_NONE, S32, 0, 0, 0),
	GI("push", 0, 0x50, -1, K_OPREG, S16 | S64, 0, 0, F_STACK),
	GI("push", 0, 0x58, -1, K_OPREG, S16 | S64, 0, 0, F_STACK),
	GI("push", 0, 0xff, 6, K_RM, S16 | S64, 0, 0, F_STACK),
	GI("push", 0, 0x8f, 0, K_RM, S16 | S64, 0, 0, F_STACK),
	GI("push", 0, 0x6a, -1, K_NONE, S64, 1, 0, F_STACK),
	GI("push", 0, 0x68, -1, K_NONE, S64, 4, 0, F_STACK),
	GI("push", 0, 0x9c, -1, K_NONE, S64, 0, 0, F_STACK),
	GI("push", 0, 0x9d, -1, K_NONE, S64, 0, 0, F_STACK | F_POPF),
	GI("push", 0, 0xc9, -1, K_NONE, S64, 0, 0, F_STACK | F_RBP),
	GI("push", 0, 0xc8, -1, K_NONE, S64, 3, 0, F_STACK | F_RBP),
	GI("string", 0, 0xa4, -1, K_NONE, S8, 0, 0, F_STRING | F_REP),
	GI("string", 0, 0xa5, -1, K_NONE, SV, 0, 0, F_STRING | F_REP),
	GI("string", 0, 0xa6, -1, K_NONE, S8, 0, 0, F_STRING | F_REP),
	GI("string", 0, 0xa7, -1, K_NONE, SV, 0, 0, F_STRING | F_REP),
	GI("string", 0, 0xaa, -1, K_NONE, S8, 0, 0, F_STRING | F_REP),
	GI("string", 0, 0xab, -1, K_NONE, SV, 0, 0, F_STRING | F_REP),
	GI("string", 0, 0xac, -1, K_NONE, S8, 0, 0, F_STRING | F_REP),
	GI("string", 0, 0xad, -1, K_NONE, SV, 0, 0, F_STRING | F_REP),
	GI("string", 0, 0xae, -1, K_NONE, S8, 0, 0, F_STRING | F_REP),
	GI("string", 0, 0xaf, -1, K_NONE, SV, 0, 0, F_STRING | F_REP),
	GI("xlat", 0, 0xd7, -1, K_NONE, S32, 0, 0, F_XLAT),
	GI("branch", 0, 0x70, -1, K_NONE, S32, 1, 0, F_BRANCH), GI("branch", 0, 0x71, -1, K_NONE, S32, 1, 0, F_BRANCH),
	GI("branch", 0, 0x72, -1, K_NONE, S32, 1, 0, F_BRANCH), GI("branch", 0, 0x73, -1, K_NONE, S32, 1, 0, F_BRANCH),
	GI("branch", 0, 0x74, -1, K_NONE, S32, 1, 0, F_BRANCH), GI("branch", 0, 0x75, -1, K_NONE, S32, 1, 0, F_BRANCH),
	GI("branch", 0, 0x76, -1, K_NONE, S32, 1, 0, F_BRANCH), GI("branch", 0, 0x77, -1, K_NONE, S32, 1, 0, F_BRANCH),
	GI("branch", 0, 0x78, -1, K_NONE, S32, 1, 0, F_BRANCH), GI("branch", 0, 0x79, -1, K_NONE, S32, 1, 0, F_BRANCH),
	GI("branch", 0, 0x7a, -1, K_NONE, S32, 1, 0, F_BRANCH), GI("branch", 0, 0x7b, -1, K_NONE, S32, 1, 0, F_BRANCH),
	GI("branch", 0, 0x7c, -1, K_NONE, S32, 1, 0, F_BRANCH), GI("branch", 0, 0x7d, -1, K_NONE, S32, 1, 0, F_BRANCH),
	GI("branch", 0, 0x7e, -1, K_NONE, S32, 1, 0, F_BRANCH), GI("branch", 0, 0x7f, -1, K_NONE, S32, 1, 0, F_BRANCH),
	GI("branch", 0, 0xeb, -1, K_NONE, S32, 1, 0, F_BRANCH),
	GI("branch", 0, 0xe3, -1, K_NONE, S32, 1, 0, F_BRANCH | F_LOOP),
	GI("branch", 0, 0xe2, -1, K_NONE, S32, 1, 0, F_BRANCH | F_LOOP),
	GI("branch", 0, 0xe1, -1, K_NONE, S32, 1, 0, F_BRANCH | F_LOOP),
	GI("branch", 0, 0xe0, -1, K_NONE, S32, 1, 0, F_BRANCH | F_LOOP),
	GI("call", 0, 0xe8, -1, K_NONE, S64, 4, 0, F_STACK | F_CALL),
	GI("call", 0, 0xc3, -1, K_NONE, S64, 0, 0, F_STACK | F_RET),
	GI("call", 0, 0xc2, -1, K_NONE, S64, 2, 0, F_STACK | F_RET),
	GI("nop", 1, 0x1f, 0, K_RM, SV, 0, 0, 0),
	/* #UD on both sides */
	GI("invalid", 1, 0x0b, -1, K_NONE, S32, 0, 0, 0),
	GI("invalid", 0, 0x01, -1, K_REG, SV, 0, 0, F_FORCELOCK),
	SI("invalid", 1, 0x58, 0, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, F_FORCELOCK),
	SI("invalid", 1, 0xfc, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, F_FORCELOCK),
	SI("invalid", 1, 0xd6, 0, -1, K_RM, C_XMM, C_XMM, 8, 0, 0, FT_BASE, 0),
	SI("invalid", 1, 0x6c, 0, -1, K_RM, C_MMX, C_MMX, 8, 0, 0, FT_BASE, F_MMX),
	FX("invalid", 0xd9, 0xd1, K_FIXED, 0, 0),

	/* x87 */
	FX("x87arith", 0xd8, 0, K_MEM, 4, CC_ARITH), FX("x87arith", 0xd8, 1, K_MEM, 4, CC_ARITH),
	FX("x87arith", 0xd8, 2, K_MEM, 4, 0), FX("x87arith", 0xd8, 3, K_MEM, 4, 0),
	FX("x87arith", 0xd8, 4, K_MEM, 4, CC_ARITH), FX("x87arith", 0xd8, 5, K_MEM, 4, CC_ARITH),
	FX("x87arith", 0xd8, 6, K_MEM, 4, CC_ARITH), FX("x87arith", 0xd8, 7, K_MEM, 4, CC_ARITH),
	FX("x87arith", 0xdc, 0, K_MEM, 8, CC_ARITH), FX("x87arith", 0xdc, 1, K_MEM, 8, CC_ARITH),
	FX("x87arith", 0xdc, 2, K_MEM, 8, 0), FX("x87arith", 0xdc, 3, K_MEM, 8, 0),
	FX("x87arith", 0xdc, 4, K_MEM, 8, CC_ARITH), FX("x87arith", 0xdc, 5, K_MEM, 8, CC_ARITH),
	FX("x87arith", 0xdc, 6, K_MEM, 8, CC_ARITH), FX("x87arith", 0xdc, 7, K_MEM, 8, CC_ARITH),
	FX("x87arith", 0xda, 0, K_MEM, 4, CC_ARITH), FX("x87arith", 0xda, 2, K_MEM, 4, 0),
	FX("x87arith", 0xda, 5, K_MEM, 4, CC_ARITH), FX("x87arith", 0xda, 6, K_MEM, 4, CC_ARITH),
	FX("x87arith", 0xde, 1, K_MEM, 2, CC_ARITH), FX("x87arith", 0xde, 3, K_MEM, 2, 0),
	FX("x87arith", 0xde, 4, K_MEM, 2, CC_ARITH), FX("x87arith", 0xde, 7, K_MEM, 2, CC_ARITH),
	FX("x87ldst", 0xd9, 0, K_MEM, 4, CC_ARITH), FX("x87ldst", 0xd9, 2, K_MEM, 4, CC_ARITH),
	FX("x87ldst", 0xd9, 3, K_MEM, 4, CC_ARITH), FX("x87ldst", 0xdd, 0, K_MEM, 8, CC_ARITH),
	FX("x87ldst", 0xdd, 2, K_MEM, 8, CC_ARITH), FX("x87ldst", 0xdd, 3, K_MEM, 8, CC_ARITH),
	FX("x87ldst", 0xdb, 5, K_MEM, 10, CC_ARITH), FX("x87ldst", 0xdb, 7, K_MEM, 10, CC_ARITH),
	FX("x87int", 0xdf, 0, K_MEM, 2, CC_ARITH), FX("x87int", 0xdf, 1, K_MEM, 2, CC_ARITH),
	FX("x87int", 0xdf, 2, K_MEM, 2, CC_ARITH), FX("x87int", 0xdf, 3, K_MEM, 2, CC_ARITH),
	FX("x87int", 0xdb, 0, K_MEM, 4, CC_ARITH), FX("x87int", 0xdb, 1, K_MEM, 4, CC_ARITH),
	FX("x87int", 0xdb, 2, K_MEM, 4, CC_ARITH), FX("x87int", 0xdb, 3, K_MEM, 4, CC_ARITH),
	FX("x87int", 0xdf, 5, K_MEM, 8, CC_ARITH), FX("x87int", 0xdd, 1, K_MEM, 8, CC_ARITH),
	FX("x87int", 0xdf, 7, K_MEM, 8, CC_ARITH), FX("x87int", 0xdf, 6, K_MEM, 10, CC_ARITH),
	FX("x87ctl", 0xd9, 5, K_MEM, 2, CC_ALL), FX("x87ctl", 0xd9, 7, K_MEM, 2, CC_ALL),
	FX("x87ctl", 0xdd, 7, K_MEM, 2, CC_ALL),
	{ "x87env", 0, 0xd9, 6, K_MEM, S32, 0, 0, C_NONE, C_NONE, 28, 0, FT_BASE, F_X87, 0, 0 },
	{ "x87env", 0, 0xd9, 4, K_MEM, S32, 0, 0, C_NONE, C_NONE, 28, 0, FT_BASE, F_X87 | F_ENV, 0, 0 },
	{ "x87env", 0, 0xdd, 6, K_MEM, S32, 0, 0, C_NONE, C_NONE, 108, 0, FT_BASE, F_X87, 0, 0 },
	{ "x87env", 0, 0xdd, 4, K_MEM, S32, 0, 0, C_NONE, C_NONE, 108, 0, FT_BASE, F_X87 | F_ENV, 0, 0 },
	/* register forms: K_REG = modrm base + i */
	FX("x87arith", 0xd8, 0xc0, K_REG, 0, CC_ARITH), FX("x87arith", 0xd8, 0xc8, K_REG, 0, CC_ARITH),
	FX("x87arith", 0xd8, 0xd0, K_REG, 0, 0), FX("x87arith", 0xd8, 0xd8, K_REG, 0, 0),
	FX("x87arith", 0xd8, 0xe0, K_REG, 0, CC_ARITH), FX("x87arith", 0xd8, 0xe8, K_REG, 0, CC_ARITH),
	FX("x87arith", 0xd8, 0xf0, K_REG, 0, CC_ARITH), FX("x87arith", 0xd8, 0xf8, K_REG, 0, CC_ARITH),
	FX("x87arith", 0xdc, 0xc0, K_REG, 0, CC_ARITH), FX("x87arith", 0xdc, 0xc8, K_REG, 0, CC_ARITH),
	FX("x87arith", 0xdc, 0xe0, K_REG, 0, CC_ARITH), FX("x87arith", 0xdc, 0xe8, K_REG, 0, CC_ARITH),
	FX("x87arith", 0xdc, 0xf0, K_REG, 0, CC_ARITH), FX("x87arith", 0xdc, 0xf8, K_REG, 0, CC_ARITH),
	FX("x87arith", 0xde, 0xc0, K_REG, 0, CC_ARITH), FX("x87arith", 0xde, 0xc8, K_REG, 0, CC_ARITH),
	FX("x87arith", 0xde, 0xe0, K_REG, 0, CC_ARITH), FX("x87arith", 0xde, 0xe8, K_REG, 0, CC_ARITH),
	FX("x87arith", 0xde, 0xf0, K_REG, 0, CC_ARITH), FX("x87arith", 0xde, 0xf8, K_REG, 0, CC_ARITH),
	FX("x87arith", 0xde, 0xd9, K_FIXED, 0, 0),
	FX("x87stack", 0xd9, 0xc0, K_REG, 0, CC_ARITH), FX("x87stack", 0xd9, 0xc8, K_REG, 0, CC_ARITH),
	FX("x87stack", 0xdd, 0xc0, K_REG, 0, CC_ALL), FX("x87stack", 0xdd, 0xd0, K_REG, 0, CC_ARITH),
	FX("x87stack", 0xdd, 0xd8, K_REG, 0, CC_ARITH), FX("x87stack", 0xd9, 0xf6, K_FIXED, 0, CC_ARITH),
	FX("x87stack", 0xd9, 0xf7, K_FIXED, 0, CC_ARITH), FX("x87stack", 0xd9, 0xd0, K_FIXED, 0, CC_ALL),
	FX("x87cmp", 0xdd, 0xe0, K_REG, 0, 0), FX("x87cmp", 0xdd, 0xe8, K_REG, 0, 0),
	FX("x87cmp", 0xda, 0xe9, K_FIXED, 0, 0),
	FX("x87cmp", 0xdb, 0xe8, K_REG, 0, CC_ALL), FX("x87cmp", 0xdb, 0xf0, K_REG, 0, CC_ALL),
	FX("x87cmp", 0xdf, 0xe8, K_REG, 0, CC_ALL), FX("x87cmp", 0xdf, 0xf0, K_REG, 0, CC_ALL),
	FX("x87cmp", 0xd9, 0xe4, K_FIXED, 0, 0), FX("x87cmp", 0xd9, 0xe5, K_FIXED, 0, 0),
	FX("x87cmov", 0xda, 0xc0, K_REG, 0, CC_ARITH), FX("x87cmov", 0xda, 0xc8, K_REG, 0, CC_ARITH),
	FX("x87cmov", 0xda, 0xd0, K_REG, 0, CC_ARITH), FX("x87cmov", 0xda, 0xd8, K_REG, 0, CC_ARITH),
	FX("x87cmov", 0xdb, 0xc0, K_REG, 0, CC_ARITH), FX("x87cmov", 0xdb, 0xc8, K_REG, 0, CC_ARITH),
	FX("x87cmov", 0xdb, 0xd0, K_REG, 0, CC_ARITH), FX("x87cmov", 0xdb, 0xd8, K_REG, 0, CC_ARITH),
	FX("x87unary", 0xd9, 0xe0, K_FIXED, 0, CC_ARITH), FX("x87unary", 0xd9, 0xe1, K_FIXED, 0, CC_ARITH),
	FX("x87const", 0xd9, 0xe8, K_FIXED, 0, CC_ARITH), FX("x87const", 0xd9, 0xe9, K_FIXED, 0, CC_ARITH),
	FX("x87const", 0xd9, 0xea, K_FIXED, 0, CC_ARITH), FX("x87const", 0xd9, 0xeb, K_FIXED, 0, CC_ARITH),
	FX("x87const", 0xd9, 0xec, K_FIXED, 0, CC_ARITH), FX("x87const", 0xd9, 0xed, K_FIXED, 0, CC_ARITH),
	FX("x87const", 0xd9, 0xee, K_FIXED, 0, CC_ARITH),
	FX("x87trans", 0xd9, 0xf0, K_FIXED, 0, CC_ARITH), FX("x87trans", 0xd9, 0xf1, K_FIXED, 0, CC_ARITH),
	FX("x87trans", 0xd9, 0xf2, K_FIXED, 0, C0 | C3), FX("x87trans", 0xd9, 0xf3, K_FIXED, 0, CC_ARITH),
	FX("x87unary", 0xd9, 0xf4, K_FIXED, 0, CC_ARITH), FX("x87unary", 0xd9, 0xf5, K_FIXED, 0, 0),
	FX("x87unary", 0xd9, 0xf8, K_FIXED, 0, 0), FX("x87trans", 0xd9, 0xf9, K_FIXED, 0, CC_ARITH),
	FX("x87unary", 0xd9, 0xfa, K_FIXED, 0, CC_ARITH), FX("x87trans", 0xd9, 0xfb, K_FIXED, 0, C0 | C3),
	FX("x87unary", 0xd9, 0xfc, K_FIXED, 0, CC_ARITH), FX("x87unary", 0xd9, 0xfd, K_FIXED, 0, CC_ARITH),
	FX("x87trans", 0xd9, 0xfe, K_FIXED, 0, C0 | C3), FX("x87trans", 0xd9, 0xff, K_FIXED, 0, C0 | C3),
	/* 16-bit environments, and the aliases processors accept */
	{ "x87env", 0, 0xd9, 6, K_MEM, S32, 0, 0x66, C_NONE, C_NONE, 14, 0, FT_BASE, F_X87, 0, 0 },
	{ "x87env", 0, 0xd9, 4, K_MEM, S32, 0, 0x66, C_NONE, C_NONE, 14, 0, FT_BASE, F_X87 | F_ENV, 0, 0 },
	{ "x87env", 0, 0xdd, 6, K_MEM, S32, 0, 0x66, C_NONE, C_NONE, 94, 0, FT_BASE, F_X87, 0, 0 },
	{ "x87env", 0, 0xdd, 4, K_MEM, S32, 0, 0x66, C_NONE, C_NONE, 94, 0, FT_BASE, F_X87 | F_ENV, 0, 0 },
	FX("x87alias", 0xdf, 0xc0, K_REG, 0, CC_ALL), FX("x87alias", 0xdd, 0xc8, K_REG, 0, CC_ARITH),
	FX("x87alias", 0xdf, 0xc8, K_REG, 0, CC_ARITH), FX("x87alias", 0xd9, 0xd8, K_REG, 0, CC_ARITH),
	FX("x87alias", 0xdf, 0xd0, K_REG, 0, CC_ARITH), FX("x87alias", 0xdf, 0xd8, K_REG, 0, CC_ARITH),
	FX("x87alias", 0xdc, 0xd0, K_REG, 0, 0), FX("x87alias", 0xdc, 0xd8, K_REG, 0, 0),
	FX("x87alias", 0xde, 0xd0, K_REG, 0, 0),
	FX("x87ctl", 0xdb, 0xe2, K_FIXED, 0, CC_ALL), FX("x87ctl", 0xdb, 0xe3, K_FIXED, 0, 0),
	FX("x87ctl", 0xdf, 0xe0, K_FIXED, 0, CC_ALL), FX("x87ctl", 0x9b, -1, K_NONE, 0, 0),

	/* SSE: moves */
	SI("ssemov", 1, 0x10, 0, -1, K_RM, C_XMM, C_XMM, 16, 0, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x10, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 0, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x10, 0xf3, -1, K_RM, C_XMM, C_XMM, 4, 0, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x10, 0xf2, -1, K_RM, C_XMM, C_XMM, 8, 0, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x11, 0, -1, K_RM, C_XMM, C_XMM, 16, 0, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x11, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 0, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x11, 0xf3, -1, K_RM, C_XMM, C_XMM, 4, 0, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x11, 0xf2, -1, K_RM, C_XMM, C_XMM, 8, 0, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x12, 0, -1, K_RM, C_XMM, C_XMM, 8, 0, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x12, 0x66, -1, K_MEM, C_XMM, C_XMM, 8, 0, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x12, 0xf3, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_SSE3, 0),
	SI("ssemov", 1, 0x12, 0xf2, -1, K_RM, C_XMM, C_XMM, 8, 0, 0, FT_SSE3, 0),
	SI("ssemov", 1, 0x13, 0, -1, K_MEM, C_XMM, C_XMM, 8, 0, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x13, 0x66, -1, K_MEM, C_XMM, C_XMM, 8, 0, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x16, 0, -1, K_RM, C_XMM, C_XMM, 8, 0, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x16, 0x66, -1, K_MEM, C_XMM, C_XMM, 8, 0, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x16, 0xf3, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_SSE3, 0),
	SI("ssemov", 1, 0x17, 0, -1, K_MEM, C_XMM, C_XMM, 8, 0, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x17, 0x66, -1, K_MEM, C_XMM, C_XMM, 8, 0, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x28, 0, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x28, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x29, 0, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x29, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x2b, 0, -1, K_MEM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x2b, 0x66, -1, K_MEM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x50, 0, -1, K_REG, C_GPR, C_XMM, 0, 0, 0, FT_BASE, F_W),
	SI("ssemov", 1, 0x50, 0x66, -1, K_REG, C_GPR, C_XMM, 0, 0, 0, FT_BASE, F_W),
	SI("ssemov", 1, 0x6e, 0x66, -1, K_RM, C_XMM, C_GPR, 4, 0, 0, FT_BASE, F_W),
	SI("ssemov", 1, 0x7e, 0x66, -1, K_RM, C_XMM, C_GPR, 4, 0, 0, FT_BASE, F_W),
	SI("ssemov", 1, 0x7e, 0xf3, -1, K_RM, C_XMM, C_XMM, 8, 0, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x6f, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x6f, 0xf3, -1, K_RM, C_XMM, C_XMM, 16, 0, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x7f, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("ssemov", 1, 0x7f, 0xf3, -1, K_RM, C_XMM, C_XMM, 16, 0, 0, FT_BASE, 0),
	SI("ssemov", 1, 0xd6, 0x66, -1, K_RM, C_XMM, C_XMM, 8, 0, 0, FT_BASE, 0),
	SI("ssemov", 1, 0xe7, 0x66, -1, K_MEM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("ssemov", 1, 0xc3, 0, -1, K_MEM, C_GPR, C_GPR, 4, 0, 0, FT_BASE, F_W),
	SI("ssemov", 1, 0xf0, 0xf2, -1, K_MEM, C_XMM, C_XMM, 16, 0, 0, FT_SSE3, 0),
	SI("ssemov", 1, 0xf7, 0x66, -1, K_REG, C_XMM, C_XMM, 0, 0, 0, FT_BASE, F_RDI),
	SI("ssemov", 2, 0x2a, 0x66, -1, K_MEM, C_XMM, C_XMM, 16, 16, 0, FT_SSE41, 0),
	SI("fxsave", 1, 0xae, 0, 0, K_MEM, C_NONE, C_NONE, 512, 16, 0, FT_BASE, F_W),
	SI("fxsave", 1, 0xae, 0, 1, K_MEM, C_NONE, C_NONE, 512, 16, 0, FT_BASE, F_W | F_FXRSTOR),
	SI("fxsave", 1, 0xae, 0, 2, K_MEM, C_NONE, C_NONE, 4, 0, 0, FT_BASE, F_MXCSR),
	SI("fxsave", 1, 0xae, 0, 3, K_MEM, C_NONE, C_NONE, 4, 0, 0, FT_BASE, 0),
	/* SSE floating point: arithmetic in all four types */
#define FP4(name, op)                                                                       \
	SI(name, 1, op, 0, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),                 \
	SI(name, 1, op, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),              \
	SI(name, 1, op, 0xf3, -1, K_RM, C_XMM, C_XMM, 4, 0, 0, FT_BASE, 0),                \
	SI(name, 1, op, 0xf2, -1, K_RM, C_XMM, C_XMM, 8, 0, 0, FT_BASE, 0)
	FP4("ssearith", 0x58), FP4("ssearith", 0x59), FP4("ssearith", 0x5c), FP4("ssearith", 0x5e),
	FP4("sseminmax", 0x5d), FP4("sseminmax", 0x5f), FP4("ssesqrt", 0x51),
	SI("ssecmp", 1, 0xc2, 0, -1, K_RM, C_XMM, C_XMM, 16, 16, 1, FT_BASE, 0),
	SI("ssecmp", 1, 0xc2, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 1, FT_BASE, 0),
	SI("ssecmp", 1, 0xc2, 0xf3, -1, K_RM, C_XMM, C_XMM, 4, 0, 1, FT_BASE, 0),
	SI("ssecmp", 1, 0xc2, 0xf2, -1, K_RM, C_XMM, C_XMM, 8, 0, 1, FT_BASE, 0),
	SI("ssecmp", 1, 0x2e, 0, -1, K_RM, C_XMM, C_XMM, 4, 0, 0, FT_BASE, 0),
	SI("ssecmp", 1, 0x2e, 0x66, -1, K_RM, C_XMM, C_XMM, 8, 0, 0, FT_BASE, 0),
	SI("ssecmp", 1, 0x2f, 0, -1, K_RM, C_XMM, C_XMM, 4, 0, 0, FT_BASE, 0),
	SI("ssecmp", 1, 0x2f, 0x66, -1, K_RM, C_XMM, C_XMM, 8, 0, 0, FT_BASE, 0),
	SI("sseapprox", 1, 0x52, 0, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, F_APPROX),
	SI("sseapprox", 1, 0x52, 0xf3, -1, K_RM, C_XMM, C_XMM, 4, 0, 0, FT_BASE, F_APPROX),
	SI("sseapprox", 1, 0x53, 0, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, F_APPROX),
	SI("sseapprox", 1, 0x53, 0xf3, -1, K_RM, C_XMM, C_XMM, 4, 0, 0, FT_BASE, F_APPROX),
	SI("sselogic", 1, 0x54, 0, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("sselogic", 1, 0x55, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("sselogic", 1, 0x56, 0, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("sselogic", 1, 0x57, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("sseshuf", 1, 0x14, 0, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("sseshuf", 1, 0x15, 0, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("sseshuf", 1, 0x14, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("sseshuf", 1, 0x15, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("sseshuf", 1, 0xc6, 0, -1, K_RM, C_XMM, C_XMM, 16, 16, 1, FT_BASE, 0),
	SI("sseshuf", 1, 0xc6, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 1, FT_BASE, 0),
	/* conversions */
	SI("ssecvt", 1, 0x5a, 0, -1, K_RM, C_XMM, C_XMM, 8, 0, 0, FT_BASE, 0),
	SI("ssecvt", 1, 0x5a, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("ssecvt", 1, 0x5a, 0xf3, -1, K_RM, C_XMM, C_XMM, 4, 0, 0, FT_BASE, 0),
	SI("ssecvt", 1, 0x5a, 0xf2, -1, K_RM, C_XMM, C_XMM, 8, 0, 0, FT_BASE, 0),
	SI("ssecvt", 1, 0x5b, 0, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("ssecvt", 1, 0x5b, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("ssecvt", 1, 0x5b, 0xf3, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("ssecvt", 1, 0xe6, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("ssecvt", 1, 0xe6, 0xf3, -1, K_RM, C_XMM, C_XMM, 8, 0, 0, FT_BASE, 0),
	SI("ssecvt", 1, 0xe6, 0xf2, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0),
	SI("ssecvt", 1, 0x2a, 0xf3, -1, K_RM, C_XMM, C_GPR, 4, 0, 0, FT_BASE, F_W),
	SI("ssecvt", 1, 0x2a, 0xf2, -1, K_RM, C_XMM, C_GPR, 4, 0, 0, FT_BASE, F_W),
	SI("ssecvt", 1, 0x2c, 0xf3, -1, K_RM, C_GPR, C_XMM, 4, 0, 0, FT_BASE, F_W),
	SI("ssecvt", 1, 0x2c, 0xf2, -1, K_RM, C_GPR, C_XMM, 8, 0, 0, FT_BASE, F_W),
	SI("ssecvt", 1, 0x2d, 0xf3, -1, K_RM, C_GPR, C_XMM, 4, 0, 0, FT_BASE, F_W),
	SI("ssecvt", 1, 0x2d, 0xf2, -1, K_RM, C_GPR, C_XMM, 8, 0, 0, FT_BASE, F_W),
	SI("ssecvt", 1, 0x2a, 0, -1, K_RM, C_XMM, C_MMX, 8, 0, 0, FT_BASE, F_MMX),
	SI("ssecvt", 1, 0x2a, 0x66, -1, K_RM, C_XMM, C_MMX, 8, 0, 0, FT_BASE, F_MMX),
	SI("ssecvt", 1, 0x2c, 0, -1, K_RM, C_MMX, C_XMM, 8, 0, 0, FT_BASE, F_MMX),
	SI("ssecvt", 1, 0x2d, 0x66, -1, K_RM, C_MMX, C_XMM, 16, 16, 0, FT_BASE, F_MMX),
	SI("ssecvt", 1, 0x2c, 0x66, -1, K_RM, C_MMX, C_XMM, 16, 16, 0, FT_BASE, F_MMX),
	SI("ssecvt", 1, 0x2d, 0, -1, K_RM, C_MMX, C_XMM, 8, 0, 0, FT_BASE, F_MMX),
	/* SSE3 fp */
	SI("sse3", 1, 0x7c, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_SSE3, 0),
	SI("sse3", 1, 0x7c, 0xf2, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_SSE3, 0),
	SI("sse3", 1, 0x7d, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_SSE3, 0),
	SI("sse3", 1, 0x7d, 0xf2, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_SSE3, 0),
	SI("sse3", 1, 0xd0, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_SSE3, 0),
	SI("sse3", 1, 0xd0, 0xf2, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_SSE3, 0),
	/* integer SIMD, 66 (xmm) */
#define PI(op) SI("pint", 1, op, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_BASE, 0)
	PI(0x60), PI(0x61), PI(0x62), PI(0x63), PI(0x64), PI(0x65), PI(0x66), PI(0x67),
	PI(0x68), PI(0x69), PI(0x6a), PI(0x6b), PI(0x6c), PI(0x6d), PI(0x74), PI(0x75), PI(0x76),
	PI(0xd1), PI(0xd2), PI(0xd3), PI(0xd4), PI(0xd5), PI(0xd8), PI(0xd9), PI(0xda), PI(0xdb),
	PI(0xdc), PI(0xdd), PI(0xde), PI(0xdf), PI(0xe0), PI(0xe1), PI(0xe2), PI(0xe3), PI(0xe4),
	PI(0xe5), PI(0xe8), PI(0xe9), PI(0xea), PI(0xeb), PI(0xec), PI(0xed), PI(0xee), PI(0xef),
	PI(0xf1), PI(0xf2), PI(0xf3), PI(0xf4), PI(0xf5), PI(0xf6), PI(0xf8), PI(0xf9), PI(0xfa),
	PI(0xfb), PI(0xfc), PI(0xfd), PI(0xfe),
	/* the same on MMX registers */
#define MI(op) SI("mmx", 1, op, 0, -1, K_RM, C_MMX, C_MMX, 8, 0, 0, FT_BASE, F_MMX)
	MI(0x60), MI(0x61), MI(0x62), MI(0x63), MI(0x64), MI(0x65), MI(0x66), MI(0x67),
	MI(0x68), MI(0x69), MI(0x6a), MI(0x6b), MI(0x74), MI(0x75), MI(0x76),
	MI(0xd1), MI(0xd2), MI(0xd3), MI(0xd4), MI(0xd5), MI(0xd8), MI(0xd9), MI(0xda), MI(0xdb),
	MI(0xdc), MI(0xdd), MI(0xde), MI(0xdf), MI(0xe0), MI(0xe1), MI(0xe2), MI(0xe3), MI(0xe4),
	MI(0xe5), MI(0xe8), MI(0xe9), MI(0xea), MI(0xeb), MI(0xec), MI(0xed), MI(0xee), MI(0xef),
	MI(0xf1), MI(0xf2), MI(0xf3), MI(0xf4), MI(0xf5), MI(0xf6), MI(0xf8), MI(0xf9), MI(0xfa),
	MI(0xfb), MI(0xfc), MI(0xfd), MI(0xfe), MI(0x6f), MI(0x7f),
	SI("mmx", 1, 0x6e, 0, -1, K_RM, C_MMX, C_GPR, 4, 0, 0, FT_BASE, F_MMX | F_W),
	SI("mmx", 1, 0x7e, 0, -1, K_RM, C_MMX, C_GPR, 4, 0, 0, FT_BASE, F_MMX | F_W),
	SI("mmx", 1, 0x70, 0, -1, K_RM, C_MMX, C_MMX, 8, 0, 1, FT_BASE, F_MMX),
	SI("mmx", 1, 0xc4, 0, -1, K_RM, C_MMX, C_GPR, 2, 0, 1, FT_BASE, F_MMX),
	SI("mmx", 1, 0xc5, 0, -1, K_REG, C_GPR, C_MMX, 0, 0, 1, FT_BASE, F_MMX),
	SI("mmx", 1, 0xd7, 0, -1, K_REG, C_GPR, C_MMX, 0, 0, 0, FT_BASE, F_MMX),
	SI("mmx", 1, 0xe7, 0, -1, K_MEM, C_MMX, C_MMX, 8, 0, 0, FT_BASE, F_MMX),
	SI("mmx", 1, 0xf7, 0, -1, K_REG, C_MMX, C_MMX, 0, 0, 0, FT_BASE, F_MMX | F_RDI),
	SI("mmx", 1, 0xd6, 0xf3, -1, K_REG, C_XMM, C_MMX, 0, 0, 0, FT_BASE, F_MMX),
	SI("mmx", 1, 0xd6, 0xf2, -1, K_REG, C_MMX, C_XMM, 0, 0, 0, FT_BASE, F_MMX),
	SI("mmx", 1, 0x77, 0, -1, K_NONE, C_NONE, C_NONE, 0, 0, 0, FT_BASE, F_MMX),
	SI("mmx", 1, 0x71, 0, 2, K_REG, C_NONE, C_MMX, 0, 0, 1, FT_BASE, F_MMX),
	SI("mmx", 1, 0x72, 0, 4, K_REG, C_NONE, C_MMX, 0, 0, 1, FT_BASE, F_MMX),
	SI("mmx", 1, 0x73, 0, 6, K_REG, C_NONE, C_MMX, 0, 0, 1, FT_BASE, F_MMX),
	/* xmm integer with immediates and GPRs */
	SI("pshuf", 1, 0x70, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 1, FT_BASE, 0),
	SI("pshuf", 1, 0x70, 0xf3, -1, K_RM, C_XMM, C_XMM, 16, 16, 1, FT_BASE, 0),
	SI("pshuf", 1, 0x70, 0xf2, -1, K_RM, C_XMM, C_XMM, 16, 16, 1, FT_BASE, 0),
	SI("pshift", 1, 0x71, 0x66, 2, K_REG, C_NONE, C_XMM, 0, 0, 1, FT_BASE, 0),
	SI("pshift", 1, 0x71, 0x66, 4, K_REG, C_NONE, C_XMM, 0, 0, 1, FT_BASE, 0),
	SI("pshift", 1, 0x71, 0x66, 6, K_REG, C_NONE, C_XMM, 0, 0, 1, FT_BASE, 0),
	SI("pshift", 1, 0x72, 0x66, 2, K_REG, C_NONE, C_XMM, 0, 0, 1, FT_BASE, 0),
	SI("pshift", 1, 0x72, 0x66, 4, K_REG, C_NONE, C_XMM, 0, 0, 1, FT_BASE, 0),
	SI("pshift", 1, 0x72, 0x66, 6, K_REG, C_NONE, C_XMM, 0, 0, 1, FT_BASE, 0),
	SI("pshift", 1, 0x73, 0x66, 2, K_REG, C_NONE, C_XMM, 0, 0, 1, FT_BASE, 0),
	SI("pshift", 1, 0x73, 0x66, 3, K_REG, C_NONE, C_XMM, 0, 0, 1, FT_BASE, 0),
	SI("pshift", 1, 0x73, 0x66, 6, K_REG, C_NONE, C_XMM, 0, 0, 1, FT_BASE, 0),
	SI("pshift", 1, 0x73, 0x66, 7, K_REG, C_NONE, C_XMM, 0, 0, 1, FT_BASE, 0),
	SI("pextr", 1, 0xc4, 0x66, -1, K_RM, C_XMM, C_GPR, 2, 0, 1, FT_BASE, 0),
	SI("pextr", 1, 0xc5, 0x66, -1, K_REG, C_GPR, C_XMM, 0, 0, 1, FT_BASE, 0),
	SI("pextr", 1, 0xd7, 0x66, -1, K_REG, C_GPR, C_XMM, 0, 0, 0, FT_BASE, 0),
	/* SSSE3 */
#define S3(op)                                                                        \
	SI("ssse3", 2, op, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 0, FT_SSSE3, 0),     \
	SI("ssse3", 2, op, 0, -1, K_RM, C_MMX, C_MMX, 8, 0, 0, FT_SSSE3, F_MMX)
	S3(0x00), S3(0x01), S3(0x02), S3(0x03), S3(0x04), S3(0x05), S3(0x06), S3(0x07),
	S3(0x08), S3(0x09), S3(0x0a), S3(0x0b), S3(0x1c), S3(0x1d), S3(0x1e),
	SI("ssse3", 3, 0x0f, 0x66, -1, K_RM, C_XMM, C_XMM, 16, 16, 1, FT_SSSE3, 0),
	SI("ssse3", 3, 0x0f, 0, -1, K_RM, C_MMX, C_MMX, 8, 0, 1, FT_SSSE3, F_MMX),
	/* SSE4.1 */
#define S41(op, msz, al) SI("sse41", 2, op, 0x66, -1, K_RM, C_XMM, C_XMM, msz, al, 0, FT_SSE41, 0)
	S41(0x10, 16, 16), S41(0x14, 16, 16), S41(0x15, 16, 16), S41(0x17, 16, 16),
	S41(0x20, 8, 0), S41(0x21, 4, 0), S41(0x22, 2, 0), S41(0x23, 8, 0), S41(0x24, 4, 0), S41(0x25, 8, 0),
	S41(0x30, 8, 0), S41(0x31, 4, 0), S41(0x32, 2, 0), S41(0x33, 8, 0), S41(0x34, 4, 0), S41(0x35, 8, 0),
	S41(0x28, 16, 16), S41(0x29, 16, 16), S41(0x2b, 16, 16), S41(0x38, 16, 16), S41(0x39, 16, 16),
	S41(0x3a, 16, 16), S41(0x3b, 16, 16), S41(0x3c, 16, 16), S41(0x3d, 16, 16), S41(0x3e, 16, 16),
	S41(0x3f, 16, 16), S41(0x40, 16, 16), S41(0x41, 16, 16),
#define S41I(op, msz, al) SI("sse41", 3, op, 0x66, -1, K_RM, C_XMM, C_XMM, msz, al, 1, FT_SSE41, 0)
	S41I(0x08, 16, 16), S41I(0x09, 16, 16), S41I(0x0a, 4, 0), S41I(0x0b, 8, 0),
	S41I(0x0c, 16, 16), S41I(0x0d, 16, 16), S41I(0x0e, 16, 16), S41I(0x21, 4, 0),
	S41I(0x40, 16, 16), S41I(0x41, 16, 16), S41I(0x42, 16, 16),
	SI("sse41", 3, 0x14, 0x66, -1, K_RM, C_XMM, C_GPR, 1, 0, 1, FT_SSE41, 0),
	SI("sse41", 3, 0x15, 0x66, -1, K_RM, C_XMM, C_GPR, 2, 0, 1, FT_SSE41, 0),
	SI("sse41", 3, 0x16, 0x66, -1, K_RM, C_XMM, C_GPR, 4, 0, 1, FT_SSE41, F_W),
	SI("sse41", 3, 0x17, 0x66, -1, K_RM, C_XMM, C_GPR, 4, 0, 1, FT_SSE41, 0),
	SI("sse41", 3, 0x20, 0x66, -1, K_RM, C_XMM, C_GPR, 1, 0, 1, FT_SSE41, 0),
	SI("sse41", 3, 0x22, 0x66, -1, K_RM, C_XMM, C_GPR, 4, 0, 1, FT_SSE41, F_W),
};

#define NFORMS (sizeof(forms) / sizeof(forms[0]))

/* ---- one case ---- */

struct dt_case {
	const struct form *f;
	uint8_t code[DT_CODE_MAX];
	unsigned len;
	unsigned opsize;	/* GPR operand size used */
	int dst_gpr;		/* for F_BSF: the destination register, or -1 */
	uint64_t shift_count;	/* F_SHIFT: masked count */
	int mem_off;		/* data offset of the memory operand, or -1 */
	uint64_t gs_base;	/* for a gs: prefix (0 otherwise) */
	struct form seqform;	/* what a sequence is compared as */
	struct dt_state in;
};

/* ---- value generators ---- */

static uint64_t gen_gpr(struct rng *r)
{
	static const uint64_t edge[] = {
		0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull, 0x7fffffffffffffffull,
		0x8000000000000000ull, ~0ull, ~0ull - 1, 0x8000000080000000ull, 31, 32, 63, 64,
	};
	switch (rn(r, 4)) {
	case 0:
		return edge[rn(r, sizeof(edge) / sizeof(edge[0]))];
	case 1:
		return rnd(r) & 0xff;
	case 2:
		return (uint64_t)(int64_t)(int32_t)rnd(r);
	default:
		return rnd(r);
	}
}

static uint32_t gen_f32(struct rng *r)
{
	static const uint32_t edge[] = {
		0, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000,
		0xffc00000, 0x7f800001, 0x7fa00000, 0x00000001, 0x807fffff, 0x00800000, 0x7f7fffff,
		0x4f000000, 0xcf000000, 0x5f000000, 0xdf000000, 0x3f000000, 0x40490fdb, 0x4b000000,
	};
	switch (rn(r, 4)) {
	case 0:
		return edge[rn(r, sizeof(edge) / sizeof(edge[0]))];
	case 1: { /* moderate magnitudes */
		uint32_t e = 100 + rn(r, 56);
		return ((uint32_t)rn(r, 2) << 31) | (e << 23) | (uint32_t)(rnd(r) & 0x7fffff);
	}
	case 2: /* small integers */
		{
			float f = (float)((int)rn(r, 2001) - 1000) / (float)(1 + rn(r, 4));
			uint32_t u;
			memcpy(&u, &f, 4);
			return u;
		}
	default:
		return (uint32_t)rnd(r);
	}
}

static uint64_t gen_f64(struct rng *r)
{
	static const uint64_t edge[] = {
		0, 0x8000000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull,
		0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull,
		0xfff8000000000000ull, 0x7ff0000000000001ull, 0x7ff4000000000000ull, 1,
		0x800fffffffffffffull, 0x0010000000000000ull, 0x7fefffffffffffffull,
		0x41e0000000000000ull, 0xc1e0000000000000ull, 0x43e0000000000000ull,
		0xc3e0000000000000ull, 0x3fe0000000000000ull, 0x400921fb54442d18ull,
		0x41dfffffffc00000ull, 0x36a0000000000000ull, 0x47efffffe0000000ull,
	};
	switch (rn(r, 4)) {
	case 0:
		return edge[rn(r, sizeof(edge) / sizeof(edge[0]))];
	case 1: {
		uint64_t e = 900 + rn(r, 250);
		return ((uint64_t)rn(r, 2) << 63) | (e << 52) | (rnd(r) & 0xfffffffffffffull);
	}
	case 2: {
		double d = (double)((int)rn(r, 20001) - 10000) / (double)(1 + rn(r, 8));
		uint64_t u;
		memcpy(&u, &d, 8);
		return u;
	}
	default:
		return rnd(r);
	}
}

static void gen_xmm(struct rng *r, uint8_t *p)
{
	uint64_t q[2];
	switch (rn(r, 4)) {
	case 0:
		for (int i = 0; i < 4; i++) {
			uint32_t v = gen_f32(r);
			memcpy(p + 4 * i, &v, 4);
		}
		return;
	case 1:
		for (int i = 0; i < 2; i++)
			q[i] = gen_f64(r);
		break;
	case 2:
		for (int i = 0; i < 2; i++)
			q[i] = gen_gpr(r);
		break;
	default:
		q[0] = rnd(r);
		q[1] = rnd(r);
		break;
	}
	memcpy(p, q, 16);
}

/* an 80-bit value: fxsave register slot layout */
static void gen_f80(struct rng *r, uint8_t *p)
{
	uint64_t m;
	uint16_t se;
	unsigned sign = rn(r, 2) << 15;
	switch (rn(r, 8)) {
	case 0: m = 0; se = (uint16_t)sign; break;
	case 1: m = 1ull << 63; se = (uint16_t)(sign | 0x3fff); break;
	case 2: m = 1ull << 63; se = (uint16_t)(sign | 0x7fff); break;	/* inf */
	case 3: m = 0xc000000000000000ull | (rnd(r) & 0xffff); se = (uint16_t)(sign | 0x7fff); break;	/* qnan */
	case 4: m = 0x8000000000000000ull | (1 + (rnd(r) & 0xffff)); se = (uint16_t)(sign | 0x7fff); break;	/* snan */
	case 5: m = rnd(r) >> 1; se = (uint16_t)sign; break;	/* denormal */
	case 6: { /* integers and simple fractions */
		long double v = (long double)((int)rn(r, 20001) - 10000) / (long double)(1 + rn(r, 8));
		memcpy(p, &v, 10);
		return;
	}
	default: m = rnd(r) | (1ull << 63); se = (uint16_t)(sign | (0x3fff - 80 + rn(r, 160))); break;
	}
	if (rn(r, 50) == 0)
		m &= ~(1ull << 63);	/* an unnormal / pseudo value now and then */
	memcpy(p, &m, 8);
	memcpy(p + 8, &se, 2);
}

static void gen_fx(struct rng *r, uint8_t *fx)
{
	memset(fx, 0, 512);
	uint16_t fcw = 0x37f, fsw;
	if (chance(r, 30))
		fcw = (uint16_t)(0x7f | (rn(r, 4) << 10) | (rn(r, 4) << 8));
	if (chance(r, 5))
		fcw = (uint16_t)(0x40 | (rnd(r) & 0xf3f));
	unsigned top = rn(r, 8);
	fsw = (uint16_t)((top << 11) | ((rnd(r) & 0x4700)));
	if (chance(r, 5)) {
		fsw |= (uint16_t)(rnd(r) & 0x3f);
		if (fsw & ~fcw & 0x3f)
			fsw |= 0x8080;
	}
	uint8_t tags = 0;
	for (int i = 0; i < 8; i++)
		if (!chance(r, 20))
			tags |= (uint8_t)(1u << i);
	if (chance(r, 5))
		tags = 0xff;
	if (chance(r, 5))
		tags = 0;
	memcpy(fx, &fcw, 2);
	memcpy(fx + 2, &fsw, 2);
	fx[4] = tags;
	uint32_t mxcsr = 0x1f80;
	if (chance(r, 30))
		mxcsr |= (uint32_t)(rn(r, 4) << 13);
	if (chance(r, 15))
		mxcsr |= 0x8000;
	if (chance(r, 15))
		mxcsr |= 0x40;
	if (chance(r, 10))
		mxcsr |= (uint32_t)(rnd(r) & 0x3f);
	if (chance(r, 5))
		mxcsr &= ~(uint32_t)(rnd(r) & 0x1f80);
	memcpy(fx + 24, &mxcsr, 4);
	for (int i = 0; i < 8; i++)
		gen_f80(r, fx + 32 + 16 * i);
	for (int i = 0; i < 16; i++)
		gen_xmm(r, fx + 160 + 16 * i);
}

/* ---- encoding ---- */

struct enc {
	uint8_t *b;
	unsigned n;
	int disp_at;		/* RIP-relative displacement to patch, or -1 */
	uint64_t target;
};

static void put(struct enc *e, uint8_t v)
{
	e->b[e->n++] = v;
}

static void put_le(struct enc *e, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		put(e, (uint8_t)(v >> (8 * i)));
}

/* Register choice for an operand that must not disturb the setup */
static unsigned pick_reg(struct rng *r, uint32_t avoid)
{
	for (;;) {
		unsigned g = rn(r, 16);
		if (!(avoid & (1u << g)))
			return g;
	}
}

/* Build the case: encoding plus register and memory state */
/* Random registers, flags, x87/SSE state and data */
static void gen_state(struct rng *r, struct dt_case *c)
{
	struct dt_state *in = &c->in;
	memset(c, 0, sizeof(*c));
	c->dst_gpr = -1;
	c->mem_off = -1;
	for (int i = 0; i < 16; i++)
		in->gpr[i] = gen_gpr(r);
	in->rflags = 0x202 | (rnd(r) & 0x8d5) | (chance(r, 10) ? 0x400 : 0);
	for (unsigned i = 0; i < DT_DATA_SIZE; i += 8) {
		uint64_t v = chance(r, 50) ? rnd(r) : chance(r, 50) ? gen_f64(r) :
			     ((uint64_t)gen_f32(r) << 32) | gen_f32(r);
		if (chance(r, 10))
			v = gen_gpr(r);
		memcpy(in->data + i, &v, 8);
	}
	gen_fx(r, in->fx);
	in->gpr[X86_RSP] = DT_STACK_TOP - 8 * rn(r, 16);
}

/* RSI, RDI, RCX and DF for a string instruction: short runs anywhere in
 * the middle of the buffer, or long runs that cross its page boundary,
 * often with the destination overlapping the source by a few bytes either
 * way (less than one element, one, a little more), in both directions.
 * Sources that take a segment sometimes go through gs: with a base that
 * is not page (or element) aligned.  Returns whether to use gs:. */
static bool gen_string_regs(struct rng *r, const struct form *f, unsigned osz, bool rep,
			    struct dt_case *c)
{
	struct dt_state *in = &c->in;
	const unsigned esize = (f->op & 1) ? osz : 1;
	uint64_t si, di;
	if (!rep || chance(r, 30)) {
		si = 1024 + rn(r, 2048);
		di = 1024 + rn(r, 2048);
		in->gpr[X86_RCX] = rn(r, 10);
	} else {
		uint64_t n = chance(r, 50) ? rn(r, 40) : rn(r, 400);
		uint64_t bytes = n * esize;
		uint64_t lo = bytes + 32, hi = DT_DATA_SIZE - lo - esize;	/* either way */
		bool df = chance(r, 40);
		if (chance(r, 50))	/* a run that crosses the page boundary */
			si = df ? 4096 + rn(r, (unsigned)bytes + 16) : 4095 - rn(r, (unsigned)bytes + 16);
		else
			si = lo + rn(r, (unsigned)(hi - lo + 1));
		si = si < lo ? lo : si > hi ? hi : si;
		if (chance(r, 30)) {
			/* ahead by at most one element: what element-wise
			 * copying (not byte-wise) decides */
			di = si + 1 + rn(r, esize);
		} else if (chance(r, 50)) {
			int span = 2 * (int)esize + 1;
			di = si + (uint64_t)(int64_t)((int)rn(r, (unsigned)(2 * span + 1)) - span);
		} else {
			di = lo + rn(r, (unsigned)(hi - lo + 1));
		}
		in->gpr[X86_RCX] = n;
		in->rflags = (in->rflags & ~0x400ull) | (df ? 0x400 : 0);
	}
	in->gpr[X86_RSI] = DT_DATA + si;
	in->gpr[X86_RDI] = DT_DATA + di;
	/* movs, cmps, lods read through a segment that may be overridden */
	bool seg_src = f->op == 0xa4 || f->op == 0xa5 || f->op == 0xa6 || f->op == 0xa7 ||
		       f->op == 0xac || f->op == 0xad;
	if (!seg_src || !chance(r, 30))
		return false;
	/* the offset stays above what the run takes away from it, so that a
	 * 32-bit address size never wraps it */
	c->gs_base = DT_DATA + si - (in->gpr[X86_RCX] * esize + 64) - rn(r, 0x3000);
	in->gpr[X86_RSI] = DT_DATA + si - c->gs_base;
	return true;
}

/* Append one instruction of form f to the case.  In a sequence (seq)
 * memory operands are RIP-relative, so that earlier instructions cannot
 * move them, and forms needing register setup are not used. */
static void gen_insn(struct rng *r, const struct form *f, struct dt_case *c, bool seq)
{
	struct dt_state *in = &c->in;
	c->f = f;

	/* registers with a fixed role in this case */
	uint32_t pinned = 1u << X86_RSP;
	if (f->flags & F_STRING)
		pinned |= (1u << X86_RSI) | (1u << X86_RDI) | (1u << X86_RCX);
	if (f->flags & F_LOOP) {
		in->gpr[X86_RCX] = rn(r, 3);
		pinned |= 1u << X86_RCX;
	}
	if (f->flags & F_RDI) {
		in->gpr[X86_RDI] = DT_DATA + rn(r, 4000);
		pinned |= 1u << X86_RDI;
	}
	if (f->flags & F_XLAT) {
		in->gpr[X86_RBX] = DT_DATA + rn(r, 3000);
		pinned |= 1u << X86_RBX;
	}
	if (f->flags & F_RBP) {
		in->gpr[X86_RBP] = DT_STACK_TOP + 8 * rn(r, 8);
		pinned |= 1u << X86_RBP;
	}
	if (f->flags & F_POPF) {
		uint64_t fl = 0x202 | (rnd(r) & 0xcd5);
		memcpy(in->data + (in->gpr[X86_RSP] - DT_DATA), &fl, 8);
	}

	struct enc e = { .b = c->code, .n = c->len, .disp_at = -1 };
	unsigned osz = 4;
	if (f->kind != K_FIXED || !(f->flags & F_X87)) {
		uint8_t allowed[4];
		unsigned na = 0;
		for (unsigned s = 0; s < 4; s++)
			if (f->sizes & (1u << s))
				allowed[na++] = (uint8_t)(1u << s);
		osz = na ? allowed[rn(r, na)] : 4;
	}
	c->opsize = osz;
	bool gpr_form = f->regc == C_GPR && f->rmc == C_GPR;
	bool rex_w = (f->flags & F_W1) || (gpr_form && osz == 8 && !(f->flags & F_STACK)) ||
		     ((f->flags & F_W) && chance(r, 50));
	if ((f->flags & F_STACK) && osz == 8 && f->op == 0xc8)
		rex_w = false;
	bool mem = f->kind == K_MEM || (f->kind == K_RM && chance(r, 50));
	bool addr32 = mem && chance(r, 10);
	bool rep = (f->flags & F_REP) && chance(r, 60);
	bool gs = false;
	if (f->flags & F_STRING)
		gs = gen_string_regs(r, f, osz, rep, c);

	/* prefixes */
	if (gs)
		put(&e, 0x65);
	else if (chance(r, 5) && f->map == 0 && !(f->flags & F_BRANCH))
		put(&e, (uint8_t[]){ 0x2e, 0x3e, 0x26, 0x36 }[rn(r, 4)]);
	if (osz == 2 && !(f->flags & F_X87) && f->pfx == 0 && (gpr_form || f->kind == K_NONE || f->kind == K_OPREG))
		put(&e, 0x66);
	if ((f->flags & F_STRING) && chance(r, 15)) {
		/* (the offsets are below 4 GiB, so the same places) */
		put(&e, 0x67);
		addr32 = false;
		in->gpr[X86_RSI] &= 0xffffffff;
		in->gpr[X86_RDI] &= 0xffffffff;
	}
	if (addr32)
		put(&e, 0x67);
	if (rep)
		put(&e, ((f->op == 0xa6 || f->op == 0xa7 || f->op == 0xae || f->op == 0xaf) && chance(r, 50)) ? 0xf2 : 0xf3);
	if (f->pfx)
		put(&e, f->pfx);
	bool lock = ((f->flags & F_LOCKABLE) && mem && chance(r, 30)) || (f->flags & F_FORCELOCK);
	if (lock)
		put(&e, 0xf0);

	/* operands */
	unsigned regf = 0, rmf = 0;
	unsigned rex = rex_w ? 0x48 : 0;
	if (f->flags & F_X87)
		rex = 0;
	int base = -1, index = -1;
	unsigned scale = 0, mode = 0;
	int32_t disp = 0;
	uint64_t target = 0;
	if (f->kind == K_RM || f->kind == K_MEM || f->kind == K_REG) {
		if (f->digit >= 0)
			regf = (unsigned)f->digit;
		else if (f->regc == C_MMX)
			regf = rn(r, 8);
		else
			regf = rn(r, 16);
		if (f->regc == C_MMX && chance(r, 10))
			regf |= 8;	/* REX.R is ignored for MMX */
		if (f->regc == C_GPR && osz == 1 && !rex && regf >= 8)
			rex = 0x40;
		if (!mem) {
			rmf = f->rmc == C_MMX ? rn(r, 8) : rn(r, 16);
			if ((f->flags & F_STACK) && rmf == X86_RSP)
				rmf = X86_RBX;
		}
		if (f->flags & F_BSF)
			c->dst_gpr = (int)regf;
		if ((f->flags & F_BTREG) && mem) {
			in->gpr[regf] = (uint64_t)(int64_t)((int)rn(r, 4000) - 1000);
			pinned |= 1u << regf;
		}
	}
	if (mem) {
		unsigned msz = f->msize ? f->msize : osz;
		unsigned lo = 0, hi = DT_GEN_AREA - msz;
		if (f->flags & F_BTREG) {
			lo = 256;
			hi = DT_GEN_AREA - 1024;
		}
		unsigned off = lo + rn(r, hi - lo + 1);
		unsigned al = f->align ? f->align : msz >= 2 && msz <= 16 && !(msz & (msz - 1)) ? msz : 1;
		if (!chance(r, f->align ? 8 : 30))
			off &= ~(al - 1);
		target = DT_DATA + off;
		c->mem_off = (int)off;
		if (f->flags & F_FXRSTOR) {
			uint8_t img[512];
			gen_fx(r, img);
			if (chance(r, 5))
				img[27] = 0xff;	/* reserved MXCSR bits: #GP */
			memcpy(in->data + off, img, 512);
		}
		if (f->flags & F_MXCSR) {
			uint32_t v = 0x1f80 | (uint32_t)(rn(r, 4) << 13) | (chance(r, 20) ? 0x8040u : 0);
			if (chance(r, 10))
				v |= 1u << (18 + rn(r, 14));	/* 16-17: the host may take MM */
			memcpy(in->data + off, &v, 4);
		}
		if (f->flags & F_ENV) {
			/* a plausible environment: control word masking, tags random */
			uint32_t cw = 0x37f | (rn(r, 4) << 10);
			memcpy(in->data + off, &cw, 4);
		}
		mode = seq ? 0 : rn(r, 4);
		uint32_t avoid = pinned;
		if (f->flags & F_STACK)
			avoid |= 1u << X86_RSP;
		else
			avoid &= ~(1u << X86_RSP);
		if (f->flags & F_BTREG)
			avoid |= 1u << regf;	/* the bit offset keeps its small value */
		if (mode == 1 || mode == 2) {
			base = (int)pick_reg(r, avoid);
			avoid |= 1u << base;
			pinned |= 1u << base;
		}
		if (mode == 2) {
			index = (int)pick_reg(r, avoid | (1u << X86_RSP));
			pinned |= 1u << index;
			scale = rn(r, 4);
		}
		if (mode != 0) {
			unsigned dk = rn(r, 3);
			disp = dk == 0 ? 0 : dk == 1 ? (int8_t)rnd(r) : (int32_t)(rn(r, 0x20000) - 0x10000);
			if (mode == 3)
				disp = (int32_t)target;
		}
		uint64_t garbage = addr32 ? (rnd(r) << 32) : 0;
		if (mode == 2) {
			int64_t iv = (int64_t)rn(r, 64) - 32;
			in->gpr[index] = (uint64_t)iv | garbage;
			in->gpr[base] = (target - ((uint64_t)iv << scale) - (uint64_t)(int64_t)disp) | garbage;
			if (addr32)
				in->gpr[base] = ((uint32_t)in->gpr[base]) | garbage;
		} else if (mode == 1) {
			in->gpr[base] = (target - (uint64_t)(int64_t)disp) | garbage;
			if (addr32)
				in->gpr[base] = ((uint32_t)in->gpr[base]) | garbage;
		}
		if (base >= 8)
			rex |= 0x41;
		if (index >= 8)
			rex |= 0x42;
	} else if (f->kind == K_RM || f->kind == K_REG) {
		if (rmf >= 8)
			rex |= 0x41;
		if (f->regc == C_GPR && osz == 1 && rmf >= 4 && chance(r, 50))
			rex |= 0x40;
	}
	if (regf >= 8 && f->digit < 0)
		rex |= 0x44;
	unsigned opreg = 0;
	if (f->kind == K_OPREG) {
		opreg = rn(r, 16);
		if (f->op == 0x90 && opreg == 0)
			opreg = 1;
		if (opreg >= 8)
			rex |= 0x41;
		if (osz == 1 && !rex && chance(r, 30))
			rex = 0x40;
	}
	if (rex)
		put(&e, (uint8_t)(rex | 0x40));

	/* opcode */
	if (f->flags & F_X87) {
		put(&e, f->op);
	} else {
		if (f->map >= 1)
			put(&e, 0x0f);
		if (f->map == 2)
			put(&e, 0x38);
		if (f->map == 3)
			put(&e, 0x3a);
		put(&e, (uint8_t)(f->op + (f->kind == K_OPREG ? (opreg & 7) : 0)));
	}
	if ((f->flags & F_X87) && f->kind == K_FIXED) {
		put(&e, (uint8_t)f->digit);
	} else if ((f->flags & F_X87) && f->kind == K_REG) {
		put(&e, (uint8_t)(f->digit + rn(r, 8)));
	} else if (f->kind == K_RM || f->kind == K_MEM || f->kind == K_REG) {
		unsigned reg3 = regf & 7;
		if (!mem) {
			put(&e, (uint8_t)(0xc0 | (reg3 << 3) | (rmf & 7)));
		} else if (mode == 0) { /* rip-relative */
			put(&e, (uint8_t)((reg3 << 3) | 5));
			e.disp_at = (int)e.n;
			put_le(&e, 0, 4);
		} else if (mode == 3) { /* absolute disp32 */
			put(&e, (uint8_t)((reg3 << 3) | 4));
			put(&e, 0x25);
			put_le(&e, (uint32_t)disp, 4);
		} else {
			unsigned dsz = disp == 0 ? 0 : (disp >= -128 && disp <= 127) ? 1 : 4;
			if (dsz == 0 && (base & 7) == 5)
				dsz = 1;
			unsigned modbits = dsz == 0 ? 0 : dsz == 1 ? 0x40 : 0x80;
			if (mode == 1 && (base & 7) != 4) {
				put(&e, (uint8_t)(modbits | (reg3 << 3) | (base & 7)));
			} else {
				unsigned idx = mode == 2 ? (unsigned)(index & 7) : 4;
				put(&e, (uint8_t)(modbits | (reg3 << 3) | 4));
				put(&e, (uint8_t)((scale << 6) | (idx << 3) | (base & 7)));
			}
			put_le(&e, (uint32_t)disp, dsz);
		}
	}
	/* immediate */
	unsigned isz = f->imm;
	if (isz == 4 && osz == 2)
		isz = 2;
	if (isz == 8 && osz != 8)
		isz = osz;
	uint64_t imm = gen_gpr(r);
	if (f->flags & F_SHIFT)
		imm = chance(r, 60) ? rn(r, 8) : rn(r, 256);
	if (f->flags & F_BRANCH)
		imm = chance(r, 50) ? 2 : 0;
	if (f->flags & F_CALL)
		imm = 0;
	if (f->map == 1 && f->op == 0xc2)
		imm = rn(r, 8);
	if (f->map == 3 && f->op >= 0x08 && f->op <= 0x0b)
		imm = rn(r, 16);
	if (isz == 3) {
		put_le(&e, rn(r, 64) * 8, 2);
		put(&e, (uint8_t)(chance(r, 70) ? 0 : 1));
	} else {
		put_le(&e, imm, isz);
	}
	if (f->flags & F_BRANCH)
		put(&e, 0xff), put(&e, 0xc0);	/* inc eax: skipped or not */
	if (e.disp_at >= 0) {
		int32_t d = (int32_t)(target - (DT_CODE + e.n));
		memcpy(e.b + e.disp_at, &d, 4);
	}
	if (f->flags & F_RET) {
		uint64_t ret = DT_CODE + e.n;
		memcpy(in->data + (in->gpr[X86_RSP] - DT_DATA), &ret, 8);
	}
	c->len = e.n;

	/* the shift count, for the undefined-flags rules */
	if (f->flags & F_SHIFT) {
		uint64_t cnt = f->op == 0xd0 || f->op == 0xd1 ? 1 :
			       (f->op == 0xd2 || f->op == 0xd3 || f->op == 0xa5 || f->op == 0xad) ?
				       in->gpr[X86_RCX] : imm;
		c->shift_count = cnt & (osz == 8 ? 63 : 31);
	}
}

static void gen_case(struct rng *r, const struct form *f, struct dt_case *c)
{
	gen_state(r, c);
	gen_insn(r, f, c, false);
}

#define F_NOSEQ (F_STACK | F_STRING | F_SHIFT | F_BTREG | F_BSF | F_RET | F_RBP | F_POPF | \
		 F_RDI | F_XLAT | F_BRANCH | F_CALL | F_LOOP | F_FXRSTOR | F_MXCSR | F_ENV | F_SHLD)

/* Can the form go in a sequence?  Not when it needs register setup, or
 * leaves flags undefined that a later instruction could read, or stores
 * state with undefined bits (fnstsw, fnstenv, fxsave). */
static bool seq_ok(const struct form *f)
{
	return !(f->flags & F_NOSEQ) && f->undef == 0 && strcmp(f->fam, "x87ctl") &&
	       strcmp(f->fam, "x87env") && strcmp(f->fam, "fxsave") && strcmp(f->fam, "div") &&
	       !(f->flags & F_APPROX);
}

/* Instructions in a row, 2-4 of them, or a long run of 16..DT_LONG_SEQ
 * with forward conditional jumps over some of them (the flags they test
 * are defined: no form with undefined flags goes in a sequence); compared
 * with the union of their undefined bits */
static void gen_seq(struct rng *r, const struct form **usable, unsigned n, struct dt_case *c,
		    bool long_run)
{
	gen_state(r, c);
	struct form *sf = &c->seqform;
	memset(sf, 0, sizeof(*sf));
	sf->fam = long_run ? "longseq" : "sequence";
	unsigned k = long_run ? 16 + rn(r, DT_LONG_SEQ - 15) : 2 + rn(r, 3);
	int jcc_at = -1;	/* the rel8 of an open forward jump */
	unsigned jcc_left = 0;
	for (unsigned i = 0; i < k && c->len < DT_CODE_MAX - 48; i++) {
		if (long_run && jcc_at < 0 && chance(r, 15)) {
			c->code[c->len++] = (uint8_t)(0x70 + rn(r, 16));
			jcc_at = (int)c->len;
			c->code[c->len++] = 0;
			jcc_left = 1 + rn(r, 4);
		}
		const struct form *f;
		do
			f = usable[rn(r, n)];
		while (!seq_ok(f));
		gen_insn(r, f, c, true);
		sf->ccundef |= f->ccundef;
		sf->flags |= f->flags & (F_APPROX | F_X87 | F_MMX);
		if (jcc_at >= 0 && --jcc_left == 0) {
			c->code[jcc_at] = (uint8_t)(c->len - (unsigned)jcc_at - 1);
			jcc_at = -1;
		}
	}
	if (jcc_at >= 0)
		c->code[jcc_at] = (uint8_t)(c->len - (unsigned)jcc_at - 1);
	c->f = sf;
	c->dst_gpr = -1;
	c->mem_off = -1;
}

/* ---- native side ---- */

/* Loaded by the trampoline */
struct dt_state dt_native_in;
uint64_t dt_native_target;

__asm__(".text\n"
	".globl dt_native_enter\n"
	".type dt_native_enter, @function\n"
	"dt_native_enter:\n"
	"	fxrstor64 dt_native_in+144(%rip)\n"
	"	pushq dt_native_in+136(%rip)\n"
	"	popfq\n"
	"	movq dt_native_in+0(%rip), %rax\n"
	"	movq dt_native_in+8(%rip), %rcx\n"
	"	movq dt_native_in+16(%rip), %rdx\n"
	"	movq dt_native_in+24(%rip), %rbx\n"
	"	movq dt_native_in+32(%rip), %rsp\n"
	"	movq dt_native_in+40(%rip), %rbp\n"
	"	movq dt_native_in+48(%rip), %rsi\n"
	"	movq dt_native_in+56(%rip), %rdi\n"
	"	movq dt_native_in+64(%rip), %r8\n"
	"	movq dt_native_in+72(%rip), %r9\n"
	"	movq dt_native_in+80(%rip), %r10\n"
	"	movq dt_native_in+88(%rip), %r11\n"
	"	movq dt_native_in+96(%rip), %r12\n"
	"	movq dt_native_in+104(%rip), %r13\n"
	"	movq dt_native_in+112(%rip), %r14\n"
	"	movq dt_native_in+120(%rip), %r15\n"
	"	jmp *dt_native_target(%rip)\n"
	".size dt_native_enter, .-dt_native_enter\n");
void dt_native_enter(void);

_Static_assert(__builtin_offsetof(struct dt_state, rflags) == 136, "trampoline offsets");
_Static_assert(__builtin_offsetof(struct dt_state, fx) == 144, "trampoline offsets");

#define DT_EXIT_NOMAP 2	/* the child could not map the fixed addresses */

struct dt_shared {
	volatile int cur;
	struct dt_result res[DT_BATCH];
};

static struct dt_shared *dt_sh;
static sigjmp_buf dt_jmp;

static void dt_on_signal(int sig, siginfo_t *si, void *ctx)
{
	(void)si;
	ucontext_t *uc = ctx;
	greg_t *g = uc->uc_mcontext.gregs;
	struct dt_result *r = &dt_sh->res[dt_sh->cur];
	uint64_t rip = (uint64_t)g[REG_RIP];
	if (rip < DT_CODE || rip > DT_CODE + DT_CODE_MAX + 1) {
		/* not the snippet: the tester itself broke */
		r->status = DT_CRASH;
		r->vector = sig;
		_exit(3);
	}
	static const int map[16] = { REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI,
				     REG_RDI, REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13,
				     REG_R14, REG_R15 };
	for (int i = 0; i < 16; i++)
		r->st.gpr[i] = (uint64_t)g[map[i]];
	r->st.rip = rip;
	r->st.rflags = (uint64_t)g[REG_EFL];
	r->vector = (int)g[REG_TRAPNO];
	r->status = r->vector == 3 ? DT_OK : DT_FAULT;
	if (r->vector == 3)
		r->st.rip--;	/* int3 reports the address after it */
	memcpy(r->st.fx, uc->uc_mcontext.fpregs, 512);
	memcpy(r->st.data, (void *)DT_DATA, DT_DATA_SIZE);
	siglongjmp(dt_jmp, 1);
}

static void dt_child(const struct dt_case *cases, int n)
{
	static uint8_t altstack[65536];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	sigaltstack(&ss, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = dt_on_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGTRAP, &sa, NULL);
	void *code = mmap((void *)DT_CODE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	void *data = mmap((void *)DT_DATA, DT_DATA_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (code != (void *)DT_CODE || data != (void *)DT_DATA)
		_exit(DT_EXIT_NOMAP);
	alarm(20);
	for (volatile int i = 0; i < n; i++) {
		dt_sh->cur = i;
		dt_sh->res[i].status = DT_CRASH;
		memset(code, 0xcc, 4096);
		memcpy(code, cases[i].code, cases[i].len);
		memcpy(data, cases[i].in.data, DT_DATA_SIZE);
		dt_native_in = cases[i].in;
		dt_native_target = DT_CODE;
		if (syscall(SYS_arch_prctl, ARCH_SET_GS, cases[i].gs_base) != 0)
			_exit(DT_EXIT_NOMAP);
		if (sigsetjmp(dt_jmp, 1) == 0)
			dt_native_enter();
	}
	_exit(0);
}

/* Run cases natively in a child process; a case that kills the child is
 * marked DT_CRASH and the rest go on in a new child. */
static void dt_run_native(const struct dt_case *cases, int n, struct dt_result *out)
{
	int start = 0;
	while (start < n) {
		dt_sh->cur = 0;
		pid_t pid = fork();
		if (pid == 0)
			dt_child(cases + start, n - start);
		int status = 0;
		waitpid(pid, &status, 0);
		int done = n - start;
		if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
			done = dt_sh->cur + 1;
			dt_sh->res[dt_sh->cur].status = DT_CRASH;
			dt_sh->res[dt_sh->cur].vector = WIFSIGNALED(status) ? -WTERMSIG(status) : -100 - WEXITSTATUS(status);
		}
		memcpy(out + start, dt_sh->res, sizeof(struct dt_result) * (size_t)done);
		start += done;
	}
}

/* ---- software CPU side ---- */

struct dt_soft {
	struct vm vm;
	struct x86_cpu *cpu;
	bool ready;
};

/* Page tables for the software side, after x86_cpu_setup_flat64's at
 * DT_PT_BASE: the first GiB in 2 MiB pages but for the 2 MiB around the
 * snippet, in 4 KiB pages that map the data buffer's two pages to each
 * other's frame */
#define DT_PD (DT_PT_BASE + 0x2000)
#define DT_PT (DT_PT_BASE + 0x3000)

static int dt_soft_init(struct dt_soft *s, bool interpret)
{
	int ret = tcg_vm_init_mode(&s->vm, 16 << 20, &s->cpu, interpret);
	if (ret < 0)
		return ret;
	uint64_t *pd = guest_mem_ptr(&s->vm.mem, DT_PD, 0x2000), *pt = pd + 512;
	const uint64_t region = DT_DATA & ~0x1fffffull;
	for (uint64_t i = 0; i < 512; i++) {
		pd[i] = (i << 21) | 0xe7;	/* P, W, U, A, D, PS */
		pt[i] = (region + (i << 12)) | 0x67;
	}
	pd[region >> 21] = DT_PT | 0x27;
	unsigned p0 = (unsigned)((DT_DATA - region) >> 12);
	uint64_t t = pt[p0];
	pt[p0] = pt[p0 + 1];
	pt[p0 + 1] = t;
	s->ready = true;
	return 0;
}

static void dt_run_soft(struct dt_soft *s, const struct dt_case *c, struct dt_result *out)
{
	struct x86_cpu *cpu = s->cpu;
	x86_cpu_setup_flat64(cpu, 3, DT_PT_BASE);
	uint64_t pdpt0 = DT_PD | 0x27;
	guest_mem_write(&s->vm.mem, DT_PT_BASE + 0x1000, &pdpt0, 8);
	cpu->seg[X86_GS].base = c->gs_base;
	cpu->cr0 |= X86_CR0_NE | X86_CR0_MP | X86_CR0_ET;
	cpu->cr0 &= ~(X86_CR0_EM | X86_CR0_TS | X86_CR0_AM);
	cpu->cr4 |= X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	uint8_t code[DT_CODE_MAX + 1];
	memset(code, 0xcc, sizeof(code));
	memcpy(code, c->code, c->len);
	x86_write_lin(cpu, DT_CODE, code, sizeof(code), false);
	x86_write_lin(cpu, DT_DATA, c->in.data, DT_DATA_SIZE, false);
	memcpy(cpu->gpr, c->in.gpr, sizeof(cpu->gpr));
	cpu->rip = DT_CODE;
	x86_cpu_set_rflags(cpu, c->in.rflags);
	x86_fpu_fxrstor(&cpu->fpu, c->in.fx, true, 16);
	cpu->stop_rip = DT_CODE + c->len;
	cpu->exit_on_exception = true;
	cpu->exc_vector = -1;
	enum x86_exit ex = x86_cpu_run(cpu, 4 * DT_LONG_SEQ);
	memset(out, 0, sizeof(*out));
	if (ex == X86_EXIT_STOP) {
		out->status = DT_OK;
		out->vector = 3;
	} else if (ex == X86_EXIT_EXCEPTION) {
		out->status = DT_FAULT;
		out->vector = cpu->exc_vector;
	} else {
		out->status = DT_CRASH;
		out->vector = -1000 - (int)ex;
	}
	memcpy(out->st.gpr, cpu->gpr, sizeof(cpu->gpr));
	out->st.rip = cpu->rip;
	out->st.rflags = x86_cpu_get_rflags(cpu);
	x86_fpu_fxsave(&cpu->fpu, out->st.fx, true, 16);
	x86_read_lin(cpu, DT_DATA, out->st.data, DT_DATA_SIZE, false);	/* (mapped: cannot fault) */
}

/* ---- comparison ---- */

static uint64_t undefined_flags(const struct dt_case *c)
{
	const struct form *f = c->f;
	uint64_t u = f->undef;
	if (f->flags & F_SHIFT) {
		uint64_t n = c->shift_count;
		unsigned bits = c->opsize * 8;
		bool rotate = (f->map == 0) && f->digit >= 0 && f->digit <= 3;
		if (n == 0)
			return u;
		if (n != 1)
			u |= FL_OF;
		if (!rotate)
			u |= FL_AF;
		if (!rotate && n >= bits)
			u |= FL_CF | FL_OF;
		if (f->flags & F_SHLD)
			u |= FL_AF;
	}
	return u;
}

static bool rel_close(uint32_t a, uint32_t b)
{
	if (a == b)
		return true;
	float fa, fb;
	memcpy(&fa, &a, 4);
	memcpy(&fb, &b, 4);
	if (fa != fa || fb != fb)
		return false;
	double d = (double)fa - (double)fb;
	if (d < 0)
		d = -d;
	double m = fa < 0 ? -(double)fa : fa;
	if (m == 0 || fb == 0 || __builtin_isinf(fa) || __builtin_isinf(fb))
		return false;
	return d / m <= 3.0 / 4096.0;	/* both within 1.5*2^-12 of the truth */
}

struct dt_stats {
	const char *fam;
	unsigned run, failed, faults;
};

static void print_state(const char *what, const struct dt_result *r)
{
	printf("    %s: status %d vector %d rip %llx rflags %llx\n", what, r->status, r->vector,
	       (unsigned long long)r->st.rip, (unsigned long long)r->st.rflags);
	for (int i = 0; i < 16; i++)
		printf("      r%-2d %016llx%s", i, (unsigned long long)r->st.gpr[i], i % 4 == 3 ? "\n" : "");
	uint16_t fcw, fsw;
	uint32_t mx;
	memcpy(&fcw, r->st.fx, 2);
	memcpy(&fsw, r->st.fx + 2, 2);
	memcpy(&mx, r->st.fx + 24, 4);
	printf("      fcw %04x fsw %04x ftw %02x mxcsr %08x\n", fcw, fsw, r->st.fx[4], mx);
}

static void print_fx_diff(const uint8_t *a, const uint8_t *b)
{
	for (int i = 0; i < 8; i++)
		if (memcmp(a + 32 + 16 * i, b + 32 + 16 * i, 10)) {
			uint64_t ma, mb;
			uint16_t ea, eb;
			memcpy(&ma, a + 32 + 16 * i, 8);
			memcpy(&ea, a + 40 + 16 * i, 2);
			memcpy(&mb, b + 32 + 16 * i, 8);
			memcpy(&eb, b + 40 + 16 * i, 2);
			printf("      st%d native %04x:%016llx soft %04x:%016llx\n", i, ea,
			       (unsigned long long)ma, eb, (unsigned long long)mb);
		}
	for (int i = 0; i < 16; i++)
		if (memcmp(a + 160 + 16 * i, b + 160 + 16 * i, 16)) {
			uint64_t qa[2], qb[2];
			memcpy(qa, a + 160 + 16 * i, 16);
			memcpy(qb, b + 160 + 16 * i, 16);
			printf("      xmm%d native %016llx%016llx soft %016llx%016llx\n", i,
			       (unsigned long long)qa[1], (unsigned long long)qa[0],
			       (unsigned long long)qb[1], (unsigned long long)qb[0]);
		}
}

/* Known vendor difference: fld m32/m64 of a denormal with the denormal
 * exception unmasked.  Intel's SDM (and the software CPU, which reports
 * GenuineIntel) leaves TOP and the registers unchanged; AMD processors
 * load the value.  Skipped on AMD hosts. */
static bool amd_fld_denormal(const struct dt_case *c, const struct dt_result *n)
{
	static int amd = -1;
	if (amd < 0) {
		unsigned a, b, cc, d;
		__cpuid(0, a, b, cc, d);
		amd = b == 0x68747541u;	/* "Auth"enticAMD */
	}
	const struct form *f = c->f;
	if (!amd || !(f->flags & F_X87) || f->kind != K_MEM || f->digit != 0 ||
	    (f->op != 0xd9 && f->op != 0xdd) || c->mem_off < 0 || n->status != DT_OK)
		return false;
	uint16_t fcw;
	memcpy(&fcw, c->in.fx, 2);
	uint64_t v = 0;
	memcpy(&v, c->in.data + c->mem_off, f->op == 0xd9 ? 4 : 8);
	bool denormal = f->op == 0xd9 ? !(v & 0x7f800000u) && (v & 0x7fffffu) :
			!(v & 0x7ff0000000000000ull) && (v & 0xfffffffffffffull);
	return denormal && !(fcw & 0x02);
}

/* Compare; returns a description of the first difference or NULL */
static const char *dt_compare(const struct dt_case *c, const struct dt_result *n, struct dt_result *s)
{
	const struct form *f = c->f;
	static char why[128];
	if (n->status == DT_CRASH)
		return NULL;	/* counted separately */
	if (n->status != s->status || n->vector != s->vector) {
		snprintf(why, sizeof(why), "outcome: native %s %d, soft %s %d",
			 n->status == DT_OK ? "ok" : "fault", n->vector,
			 s->status == DT_OK ? "ok" : s->status == DT_FAULT ? "fault" : "stuck", s->vector);
		return why;
	}
	if (n->st.rip != s->st.rip)
		return "rip";
	if (amd_fld_denormal(c, n))
		return NULL;
	/* fxsave: MXCSR_MASK is the host's (AMD adds MM, bit 17) */
	if (f->map == 1 && f->op == 0xae && f->digit == 0 && c->mem_off >= 0 && n->status == DT_OK)
		memcpy(s->st.data + c->mem_off + 28, n->st.data + c->mem_off + 28, 4);
	if ((f->flags & F_BSF) && c->dst_gpr >= 0 && (n->st.rflags & FL_ZF))
		s->st.gpr[c->dst_gpr] = n->st.gpr[c->dst_gpr];
	for (int i = 0; i < 16; i++)
		if (n->st.gpr[i] != s->st.gpr[i]) {
			snprintf(why, sizeof(why), "gpr %d", i);
			return why;
		}
	uint64_t mask = 0xcd5 & ~undefined_flags(c);
	if ((n->st.rflags ^ s->st.rflags) & mask)
		return "rflags";
	const uint8_t *a = n->st.fx, *b = s->st.fx;
	if (memcmp(a, b, 2))
		return "fcw";
	uint16_t swa, swb;
	memcpy(&swa, a + 2, 2);
	memcpy(&swb, b + 2, 2);
	if ((swa ^ swb) & ~f->ccundef)
		return "fsw";
	if (a[4] != b[4])
		return "ftw";
	uint32_t mxa, mxb, mxmask = ~0u;
	memcpy(&mxa, a + 24, 4);
	memcpy(&mxb, b + 24, 4);
	/* #XM with overflow/underflow unmasked: hardware decides underflow
	 * and inexact from the result rounded with an unbounded exponent,
	 * which the software CPU approximates (see sse_fp_flags); the
	 * outcome must agree, those two flags may not */
	uint32_t in_mx;
	memcpy(&in_mx, c->in.fx + 24, 4);
	if (n->status == DT_FAULT && n->vector == 19 && (~in_mx & 0x1800))
		mxmask &= ~0x30u;
	if ((mxa ^ mxb) & mxmask)
		return "mxcsr";
	for (int i = 0; i < 8; i++) {
		/* with MMX in use the x87 exponent fields are all ones; the
		 * contents of empty registers are compared too */
		if (memcmp(a + 32 + 16 * i, b + 32 + 16 * i, 10))
			return "st";
	}
	for (int i = 0; i < 16; i++) {
		const uint8_t *xa = a + 160 + 16 * i, *xb = b + 160 + 16 * i;
		if (!memcmp(xa, xb, 16))
			continue;
		if (f->flags & F_APPROX) {
			bool ok = true;
			for (int k = 0; k < 4; k++) {
				uint32_t ua, ub;
				memcpy(&ua, xa + 4 * k, 4);
				memcpy(&ub, xb + 4 * k, 4);
				ok &= rel_close(ua, ub);
			}
			if (ok)
				continue;
		}
		return "xmm";
	}
	if (memcmp(n->st.data, s->st.data, DT_DATA_SIZE))
		return "data";
	return NULL;
}

static void dt_report(const struct dt_case *c, const struct dt_result *n,
		      const struct dt_result *s, const char *why)
{
	printf("  MISMATCH %s (%s):", c->f->fam, why);
	for (unsigned i = 0; i < c->len; i++)
		printf(" %02x", c->code[i]);
	printf("\n");
	struct dt_result in = { .status = 0, .vector = 0, .st = c->in };
	in.st.rip = DT_CODE;
	print_state("input ", &in);
	for (int i = 0; i < 16; i++) {
		uint64_t q[2];
		memcpy(q, c->in.fx + 160 + 16 * i, 16);
		printf("      xmm%-2d %016llx%016llx%s", i, (unsigned long long)q[1],
		       (unsigned long long)q[0], i % 2 ? "\n" : "");
	}
	print_state("native", n);
	print_state("soft  ", s);
	print_fx_diff(n->st.fx, s->st.fx);
	for (unsigned i = 0; i < DT_DATA_SIZE; i++)
		if (n->st.data[i] != s->st.data[i]) {
			printf("      data +%u: native %02x soft %02x (input %02x)\n", i, n->st.data[i],
			       s->st.data[i], c->in.data[i]);
			break;
		}
}

static bool host_has(unsigned feature)
{
	unsigned a, b, c, d;
	__cpuid(1, a, b, c, d);
	switch (feature) {
	case FT_SSE3: return c & 1;
	case FT_SSSE3: return c & (1u << 9);
	case FT_SSE41: return c & (1u << 19);
	case FT_POPCNT: return c & (1u << 23);
	case FT_MOVBE: return c & (1u << 22);
	case FT_CX16: return c & (1u << 13);
	case FT_LZCNT:
		__cpuid(0x80000001, a, b, c, d);
		return c & (1u << 5);
	case FT_BMI1:
		__cpuid_count(7, 0, a, b, c, d);
		return b & (1u << 3);
	}
	return true;
}

static bool soft_has(struct x86_cpu *cpu, unsigned feature)
{
	uint32_t r[4];
	x86_cpuid(cpu, 1, 0, r);
	uint32_t c = r[2];
	switch (feature) {
	case FT_SSE3: return c & 1;
	case FT_SSSE3: return c & (1u << 9);
	case FT_SSE41: return c & (1u << 19);
	case FT_POPCNT: return c & (1u << 23);
	case FT_MOVBE: return c & (1u << 22);
	case FT_CX16: return c & (1u << 13);
	case FT_LZCNT:
		x86_cpuid(cpu, 0x80000001, 0, r);
		return r[2] & (1u << 5);
	case FT_BMI1:
		x86_cpuid(cpu, 7, 0, r);
		return r[1] & (1u << 3);
	}
	return true;
}

/* Run n cases from seed; returns the number of mismatches, or -1 when
 * the native side cannot run at all */
static int difftest_run(unsigned long n, uint64_t seed, bool verbose_stats)
{
	/* the engines: translated (the default) and interpreted */
	static struct dt_soft soft[2];
	static const char *const engine[2] = { "translated", "interpreted" };
	for (int e = 0; e < 2; e++) {
		if (!soft[e].ready && dt_soft_init(&soft[e], e == 1) < 0) {
			printf("  cannot create the software CPU (%s)\n", engine[e]);
			return 1;
		}
	}
	if (!dt_sh) {
		dt_sh = mmap(NULL, sizeof(*dt_sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (dt_sh == MAP_FAILED) {
			dt_sh = NULL;
			return 1;
		}
	}
	const struct form *usable[NFORMS], *strings[NFORMS];
	unsigned nusable = 0, nstring = 0;
	for (unsigned i = 0; i < NFORMS; i++)
		if (host_has(forms[i].feature) && soft_has(soft[0].cpu, forms[i].feature))
			usable[nusable++] = &forms[i];
	/* string instructions get extra cases: their runs have many ways to
	 * go wrong (pages, overlaps, directions, segment bases) */
	for (unsigned i = 0; i < nusable; i++)
		if (usable[i]->flags & F_STRING)
			strings[nstring++] = usable[i];

	struct dt_stats stats[64];
	unsigned nstats = 0, mismatches = 0, crashes = 0, nomap = 0, printed = 0;
	unsigned engine_mismatches[2] = { 0, 0 };
	struct rng r = { seed };
	static struct dt_case cases[DT_BATCH];
	static struct dt_result nat[DT_BATCH], sw;
	for (unsigned long done = 0; done < n;) {
		int batch = (int)(n - done < DT_BATCH ? n - done : DT_BATCH);
		for (int i = 0; i < batch; i++) {
			unsigned kind = rn(&r, 100);
			if (kind < 10)
				gen_seq(&r, usable, nusable, &cases[i], true);
			else if (kind < 25)
				gen_seq(&r, usable, nusable, &cases[i], false);
			else if (kind < 30 && nstring)
				gen_case(&r, strings[rn(&r, nstring)], &cases[i]);
			else
				gen_case(&r, usable[rn(&r, nusable)], &cases[i]);
		}
		dt_run_native(cases, batch, nat);
		for (int i = 0; i < batch; i++) {
			const struct dt_case *c = &cases[i];
			unsigned k;
			for (k = 0; k < nstats; k++)
				if (!strcmp(stats[k].fam, c->f->fam))
					break;
			if (k == nstats && nstats < 64)
				stats[nstats++] = (struct dt_stats){ c->f->fam, 0, 0, 0 };
			if (nat[i].status == DT_CRASH) {
				crashes++;
				nomap += nat[i].vector == -100 - DT_EXIT_NOMAP;
				continue;
			}
			bool failed = false;
			for (int e = 0; e < 2; e++) {
				dt_run_soft(&soft[e], c, &sw);
				const char *why = dt_compare(c, &nat[i], &sw);
				if (!why)
					continue;
				failed = true;
				engine_mismatches[e]++;
				if (printed++ < 20) {
					printf("  [%s]", engine[e]);
					dt_report(c, &nat[i], &sw, why);
				}
			}
			mismatches += failed;
			if (k < nstats) {
				stats[k].run++;
				stats[k].faults += nat[i].status == DT_FAULT;
				stats[k].failed += failed;
			}
		}
		done += (unsigned long)batch;
	}
	if (verbose_stats || mismatches) {
		printf("  %-10s %8s %8s %8s\n", "family", "cases", "faults", "failed");
		for (unsigned k = 0; k < nstats; k++)
			printf("  %-10s %8u %8u %8u\n", stats[k].fam, stats[k].run, stats[k].faults,
			       stats[k].failed);
		printf("  %lu cases, %u mismatches (translated %u, interpreted %u), "
		       "%u native crashes (skipped)\n", n, mismatches, engine_mismatches[0],
		       engine_mismatches[1], crashes);
	}
	if (nomap == n)
		return -1;
	return (int)(mismatches + (crashes > n / 100 ? 1 : 0));
}

static unsigned long dt_n = 3000;
static uint64_t dt_seed = 0x6d696e69766d6d;

TEST(difftest_fixed_seed)
{
	int ret = difftest_run(dt_n, dt_seed, true);
	if (ret < 0)
		SKIP("cannot map the snippet at its fixed address in a child process");
	CHECK_EQ(ret, 0);
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = { T(difftest_fixed_seed) };
	if (argc > 1)
		dt_n = strtoul(argv[1], NULL, 0);
	if (argc > 2)
		dt_seed = strtoull(argv[2], NULL, 0);
	return test_run_all(argv[0], cases, 1);
}
