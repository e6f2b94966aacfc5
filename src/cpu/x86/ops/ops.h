/* The integer instructions, one file per group (alu.c, shift.c, muldiv.c,
 * mov.c, stack.c, branch.c, bitops.c, xchg.c, misc.c), each holding the
 * group's interpreter executors next to what the translator emits for it.
 * exec.c routes an opcode to its group.  This header has what the group
 * files share: operand access for the executors and the groups' entry
 * points. */
#ifndef MINIVMM_X86_OPS_H
#define MINIVMM_X86_OPS_H

#include "cpu/x86/internal.h"

static inline unsigned osize(const struct x86_insn *in)
{
	return in->byte_op ? 1 : in->opsize;
}

static inline __attribute__((noreturn)) void ud(struct x86_cpu *cpu)
{
	x86_raise_exception(cpu, X86_EXC_UD, 0);
}

static inline __attribute__((noreturn)) void gp0(struct x86_cpu *cpu)
{
	x86_raise_exception(cpu, X86_EXC_GP, 0);
}

/* The register of a one-byte-opcode form with the register in the
 * opcode (50+r, B8+r, ...) */
static inline unsigned opcode_reg(const struct x86_insn *in)
{
	return (in->opcode & 7) | (in->rex & X86_REX_B ? 8 : 0);
}

/* A ModRM r/m operand resolved once, for read-modify-write */
struct operand {
	bool mem;
	uint64_t lin;
	unsigned reg;
};

static inline void rm_resolve(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size,
			      bool write, struct operand *o)
{
	o->mem = in->mod != 3;
	o->lin = 0;
	o->reg = 0;
	if (o->mem)
		o->lin = x86_seg_linear(cpu, in->seg, x86_ea(cpu, in), size, write);
	else
		o->reg = in->rm;
}

static inline uint64_t op_read(struct x86_cpu *cpu, const struct x86_insn *in,
			       const struct operand *o, unsigned size)
{
	if (o->mem)
		return x86_read_lin_u(cpu, o->lin, size, x86_user(cpu));
	return x86_reg_read(cpu, in, o->reg, size);
}

static inline void op_write(struct x86_cpu *cpu, const struct x86_insn *in,
			    const struct operand *o, unsigned size, uint64_t v)
{
	if (o->mem)
		x86_write_lin_u(cpu, o->lin, size, v, x86_user(cpu));
	else
		x86_reg_write(cpu, in, o->reg, size, v);
}

static inline uint64_t rm_read(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size)
{
	if (in->mod == 3)
		return x86_reg_read(cpu, in, in->rm, size);
	return x86_mem_read(cpu, in->seg, x86_ea(cpu, in), size);
}

static inline void rm_write(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size,
			    uint64_t v)
{
	if (in->mod == 3)
		x86_reg_write(cpu, in, in->rm, size, v);
	else
		x86_mem_write(cpu, in->seg, x86_ea(cpu, in), size, v);
}

/* Set and clear arithmetic flags, keeping the others */
static inline void set_flags_bits(struct x86_cpu *cpu, uint64_t set, uint64_t clear)
{
	uint64_t f = x86_compute_arith_flags(cpu);
	x86_set_arith_flags(cpu, (f & ~clear) | set);
}

/* ---- the groups ----
 * x86_exec_<group>: the interpreter for every opcode the group has;
 * x86_select_<group>: a specialised executor for the instruction, or NULL
 * (exec.c's x86_select_exec falls back to the group's executor). */

int x86_exec_alu(struct x86_cpu *cpu, const struct x86_insn *in);	/* 00-3F, 40-4F, 80-85, A8/A9, F5, F6/F7 /0-3, F8/F9, FE/FF /0-1 */
x86_exec_fn x86_select_alu(const struct x86_insn *in);
int x86_exec_bcd(struct x86_cpu *cpu, const struct x86_insn *in);	/* 27 2F 37 3F D4 D5 */
int x86_exec_shift(struct x86_cpu *cpu, const struct x86_insn *in);	/* C0 C1 D0-D3, 0F A4 A5 AC AD */
int x86_exec_muldiv(struct x86_cpu *cpu, const struct x86_insn *in);	/* F6/F7 /4-7, 69, 6B, 0F AF */
int x86_exec_mov(struct x86_cpu *cpu, const struct x86_insn *in);	/* 63 88-8E 98 99 9E 9F A0-A3 B0-BF C4 C5 C6 C7 D7, 0F 40-4F 90-9F B2 B4-B7 BE BF C8-CF, 0F38 F0/F1 */
x86_exec_fn x86_select_mov(const struct x86_insn *in);
int x86_exec_stack(struct x86_cpu *cpu, const struct x86_insn *in);	/* 06 07 0E 16 17 1E 1F 50-61 68 6A 8F 9C 9D C8 C9 FF/6, 0F A0 A1 A8 A9 */
x86_exec_fn x86_select_stack(const struct x86_insn *in);
int x86_exec_branch(struct x86_cpu *cpu, const struct x86_insn *in);	/* 70-7F 9A C2 C3 CA-CF E0-E3 E8-EB F1 FF/2-5, 0F 80-8F */
x86_exec_fn x86_select_branch(const struct x86_insn *in);
int x86_exec_bitops(struct x86_cpu *cpu, const struct x86_insn *in);	/* 0F A3 AB B3 BA BB BC BD B8 */
int x86_exec_xchg(struct x86_cpu *cpu, const struct x86_insn *in);	/* 86 87 90-97, 0F B0 B1 C0 C1 C7 */
int x86_exec_misc(struct x86_cpu *cpu, const struct x86_insn *in);	/* 62 E4-E7 EC-EF F4 FA-FD, 0F 0D 18-1F */

/* Shared between groups */
uint64_t x86_alu(struct x86_cpu *cpu, unsigned op, unsigned size, uint64_t a, uint64_t b);
void x86_near_branch(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t target);

#endif
