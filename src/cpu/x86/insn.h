/* One decoded x86 instruction.  The decoder (decode.c) is pure: bytes in,
 * struct x86_insn out, no CPU state.  Executors work only from this struct
 * and never look at the instruction bytes again, so a block of decoded
 * instructions can be cached and a translator can later replace the
 * interpreter. */
#ifndef MINIVMM_X86_INSN_H
#define MINIVMM_X86_INSN_H

#include <stddef.h>
#include <stdint.h>

/* The code segment's default sizes: what decoding depends on */
enum x86_cpu_mode {
	X86_MODE_REAL,		/* real mode and virtual-8086: 16-bit */
	X86_MODE_PROT16,	/* protected or compatibility mode, CS.D = 0 */
	X86_MODE_PROT32,	/* protected or compatibility mode, CS.D = 1 */
	X86_MODE_LONG64,	/* 64-bit mode: CS.L = 1 with EFER.LMA */
};

enum x86_opmap {
	X86_MAP_1B,		/* one-byte opcodes */
	X86_MAP_0F,
	X86_MAP_0F38,
	X86_MAP_0F3A,
};

/* insn->prefixes bits */
#define X86_PFX_LOCK (1u << 0)
#define X86_PFX_REP (1u << 1)	/* F3: rep/repe, or a mandatory prefix */
#define X86_PFX_REPNE (1u << 2)	/* F2 */
#define X86_PFX_OPSIZE (1u << 3)	/* 66 */
#define X86_PFX_ADDRSIZE (1u << 4)	/* 67 */

/* insn->rex: 0 when absent, else 0x40 | WRXB */
#define X86_REX_B 0x01
#define X86_REX_X 0x02
#define X86_REX_R 0x04
#define X86_REX_W 0x08

#define X86_NO_REG 0xff

struct x86_insn {
	uint8_t map;		/* enum x86_opmap */
	uint8_t opcode;
	uint8_t len;		/* 1..15 bytes */
	uint8_t prefixes;	/* X86_PFX_* */
	/* The SSE mandatory prefix: 0xF3 or 0xF2 (whichever came last) if
	 * present, else 0x66 if present, else 0.  The same bytes still count
	 * as rep/operand-size prefixes for instructions that use them so. */
	uint8_t mandatory;
	uint8_t rex;
	uint8_t opsize;		/* operand size in bytes: 2, 4 or 8 (1 for byte forms: see byte_op) */
	uint8_t addrsize;	/* 2, 4 or 8 */
	uint8_t byte_op;	/* the opcode works on 8-bit operands */

	uint8_t has_modrm;
	uint8_t modrm;
	uint8_t mod;		/* ModRM.mod: 3 = register operand */
	uint8_t reg;		/* ModRM.reg with REX.R: 0..15 (group opcodes: 0..7 sub-op) */
	uint8_t rm;		/* ModRM.rm with REX.B, for mod == 3 */

	/* The memory operand (mod != 3, or moffs forms of A0-A3) */
	uint8_t has_mem;
	uint8_t seg;		/* effective segment (enum x86_seg), override applied */
	uint8_t seg_override;	/* enum x86_seg, or X86_NR_SEGS when none */
	uint8_t base;		/* GPR number, or X86_NO_REG */
	uint8_t index;		/* GPR number, or X86_NO_REG */
	uint8_t scale;		/* 1, 2, 4, 8 */
	uint8_t rip_rel;	/* disp is relative to the next instruction's RIP */
	int64_t disp;

	uint8_t imm_size;	/* bytes of the first immediate as encoded (0 if none) */
	uint64_t imm;		/* sign-extended from imm_size bytes to 64 bits (Iz in a
				 * 64-bit operation, rel8/32, Ib of 83/6B); take
				 * (uint8_t)imm for unsigned imm8 (port, int, pshufd);
				 * Iw of ret/enter and moffs are zero-extended */
	uint64_t imm2;		/* second immediate: ENTER's Ib, far pointer selector */
};

/* Decode one instruction from bytes[0..avail).  Returns the length (> 0),
 * X86_DECODE_SHORT when avail bytes are not enough to finish decoding,
 * or X86_DECODE_INVALID (#UD: undefined opcode, instruction longer than
 * 15 bytes, LOCK on an instruction that does not take it is left to
 * the executor). */
#define X86_DECODE_SHORT (-1)
#define X86_DECODE_INVALID (-2)
int x86_decode(const uint8_t *bytes, size_t avail, enum x86_cpu_mode mode, struct x86_insn *out);

#endif
