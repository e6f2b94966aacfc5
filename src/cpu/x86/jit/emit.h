/* The translator's x86-64 encoder: instructions by opcode bytes, a
 * register or memory r/m operand, and the prefixes and REX they need.
 * Code is written through the code buffer's writable view; addresses in
 * the code (jump targets, RIP-relative operands) are those of the
 * executable view, rw + rx_delta.
 *
 * A hand-written encoder rather than a library's: the translator
 * re-emits guest instructions by their opcode bytes, which is what a
 * guest decoder gives us, while encoder libraries (Zydis) take mnemonics
 * and search encodings per call. */
#ifndef MINIVMM_X86_JIT_EMIT_H
#define MINIVMM_X86_JIT_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum host_reg {
	HR_RAX, HR_RCX, HR_RDX, HR_RBX, HR_RSP, HR_RBP, HR_RSI, HR_RDI,
	HR_R8, HR_R9, HR_R10, HR_R11, HR_R12, HR_R13, HR_R14, HR_R15,
	HR_NONE = -1,
};

struct emit {
	uint8_t *p;		/* next byte, writable view */
	uint8_t *end;		/* room ends here (the caller keeps a margin) */
	intptr_t rx_delta;	/* executable address - writable address */
	bool full;		/* wrote past end: the result must be thrown away */
};

/* A memory operand: [base + index * scale + disp], or RIP-relative to an
 * executable address when base is HR_NONE and rip is set */
struct hmem {
	int8_t base, index;
	uint8_t scale;
	bool rip;
	int32_t disp;
	uint64_t target;	/* rip: the executable address addressed */
};

/* The r/m operand of an instruction */
struct hrm {
	bool mem;
	int8_t reg;
	struct hmem m;
};

static inline struct hrm hrm_reg(int reg)
{
	return (struct hrm){ .mem = false, .reg = (int8_t)reg };
}

static inline struct hrm hrm_mem(int base, int index, unsigned scale, int32_t disp)
{
	return (struct hrm){ .mem = true, .m = { .base = (int8_t)base, .index = (int8_t)index,
						 .scale = (uint8_t)scale, .disp = disp } };
}

static inline struct hrm hrm_rip(uint64_t target)
{
	return (struct hrm){ .mem = true, .m = { .base = HR_NONE, .index = HR_NONE, .scale = 1,
						 .rip = true, .target = target } };
}

static inline uint64_t emit_rx(const struct emit *e)
{
	return (uint64_t)(uintptr_t)e->p + (uint64_t)e->rx_delta;
}

/* e_insn flags */
#define E_LOCK 0x01		/* F0 */
#define E_REP 0x02		/* F3 (or a mandatory F3) */
#define E_REPNE 0x04		/* F2 */
#define E_OPSIZE 0x08		/* a mandatory 66, whatever the size */
#define E_BYTEREGS 0x10		/* register operands are byte registers: 4-7 need REX */
#define E_NOSIZE 0x20		/* size says nothing about 66/REX.W (SSE, movzx...) */
#define E_REXW 0x40		/* REX.W whatever the size */

/* [prefixes] [REX] opcode ModRM [SIB] [disp] [imm]: size 1/2/4/8 gives 66
 * and REX.W unless E_NOSIZE; reg is a register number or a /digit; imm
 * of immsize bytes (0, 1, 2, 4, 8) */
void e_insn(struct emit *e, unsigned flags, unsigned size, const uint8_t *op, unsigned oplen,
	    unsigned reg, const struct hrm *rm, unsigned immsize, uint64_t imm);

void e_byte(struct emit *e, uint8_t b);
void e_u32(struct emit *e, uint32_t v);
void e_u64(struct emit *e, uint64_t v);

/* Common forms */
void e_mov_rr(struct emit *e, unsigned size, int dst, int src);
void e_load(struct emit *e, unsigned size, int dst, struct hrm m);	/* mov reg, [m] (size 1/2 zero-extend) */
void e_store(struct emit *e, unsigned size, struct hrm m, int src);	/* mov [m], reg */
void e_store_imm(struct emit *e, unsigned size, struct hrm m, int32_t imm);
void e_mov_ri(struct emit *e, int dst, uint64_t imm);			/* shortest exact form */
void e_lea(struct emit *e, unsigned size, int dst, struct hrm m);
/* op = 0 add, 1 or, 4 and, 5 sub, 6 xor, 7 cmp: r/m op= imm (imm8 form when it fits) */
void e_alu_i(struct emit *e, unsigned op, unsigned size, struct hrm rm, int32_t imm);
/* op as above: reg op= r/m (opcode 03/0B/...) */
void e_alu_rm(struct emit *e, unsigned op, unsigned size, int reg, struct hrm rm);
/* 0 rol 1 ror 4 shl 5 shr 7 sar by imm8 */
void e_shift_i(struct emit *e, unsigned op, unsigned size, int reg, unsigned count);
void e_movzx(struct emit *e, unsigned dst_size, unsigned src_size, int dst, struct hrm src);
void e_movsx(struct emit *e, unsigned dst_size, unsigned src_size, int dst, struct hrm src);
void e_push(struct emit *e, int reg);
void e_pop(struct emit *e, int reg);
void e_ret(struct emit *e);
void e_lahf(struct emit *e);
void e_sahf(struct emit *e);
void e_setcc(struct emit *e, unsigned cc, int reg);	/* byte register */

/* Branches to executable addresses; the jmp/jcc/call forms return the
 * writable address of their rel32 field (for e_patch_rel32) */
uint8_t *e_jmp(struct emit *e, uint64_t target);
uint8_t *e_jcc(struct emit *e, unsigned cc, uint64_t target);
uint8_t *e_call(struct emit *e, uint64_t target);
void e_jmp_rm(struct emit *e, struct hrm rm);	/* jmp [m] or jmp reg */
void e_call_rm(struct emit *e, struct hrm rm);
/* A short forward jcc/jmp whose target is set later by e_bind8 */
uint8_t *e_jcc8(struct emit *e, unsigned cc);
uint8_t *e_jmp8(struct emit *e);
void e_bind8(struct emit *e, uint8_t *site);

/* Point the rel32 field at rw address site to executable address target */
void e_patch_rel32(uint8_t *site, intptr_t rx_delta, uint64_t target);

#endif
