/* The interpreter's dispatch: every opcode of the one-byte and 0F maps
 * goes to the group that implements it (ops/: alu, bcd, shift, muldiv,
 * mov, stack, branch, bitops, xchg, misc; string.c, system.c, x87/,
 * sse/), and x86_select_exec picks the executor for a decoded
 * instruction once, at decode time. */
#include "cpu/x86/ops/ops.h"
#include "cpu/x86/jit/jit.h"

uint64_t x86_get_reg(const struct x86_cpu *cpu, const struct x86_insn *in, unsigned reg,
		     unsigned size)
{
	return x86_reg_read(cpu, in, reg, size);
}

void x86_set_reg(struct x86_cpu *cpu, const struct x86_insn *in, unsigned reg, unsigned size,
		 uint64_t v)
{
	x86_reg_write(cpu, in, reg, size, v);
}

static int exec_ud(struct x86_cpu *cpu, const struct x86_insn *in)
{
	(void)in;
	ud(cpu);
}

static int exec_x87(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int ret = x86_exec_x87(cpu, in);
	if (ret < 0)
		ud(cpu);
	return ret;
}

static int exec_sse(struct x86_cpu *cpu, const struct x86_insn *in)
{
	int ret = x86_exec_sse(cpu, in);
	if (ret < 0)
		ud(cpu);
	return ret;
}

/* F6/F7: test not neg (alu), mul imul div idiv (muldiv) */
static int exec_group3(struct x86_cpu *cpu, const struct x86_insn *in)
{
	return (in->reg & 7) < 4 ? x86_exec_alu(cpu, in) : x86_exec_muldiv(cpu, in);
}

/* FE/FF: inc dec (alu), call callf jmp jmpf (branch), push (stack) */
static int exec_group45(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned sub = in->reg & 7;
	if (sub < 2)
		return x86_exec_alu(cpu, in);
	if (in->opcode == 0xfe || sub == 7)
		ud(cpu);
	return sub == 6 ? x86_exec_stack(cpu, in) : x86_exec_branch(cpu, in);
}

/* 0F38 F0/F1 without F2 are movbe; the rest of the map is SSE */
static int exec_0f38(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if ((in->opcode == 0xf0 || in->opcode == 0xf1) && in->mandatory != 0xf2)
		return x86_exec_mov(cpu, in);
	return exec_sse(cpu, in);
}

#define ALU_ROW(b) [b ... b + 5] = x86_exec_alu
/* by opcode; a hole is #UD (prefixes and 0F never arrive here) */
static const x86_exec_fn exec_1b[256] = {
	ALU_ROW(0x00), ALU_ROW(0x08), ALU_ROW(0x10), ALU_ROW(0x18),
	ALU_ROW(0x20), ALU_ROW(0x28), ALU_ROW(0x30), ALU_ROW(0x38),
	[0x06] = x86_exec_stack, [0x07] = x86_exec_stack, [0x0e] = x86_exec_stack,
	[0x16] = x86_exec_stack, [0x17] = x86_exec_stack, [0x1e] = x86_exec_stack,
	[0x1f] = x86_exec_stack,
	[0x27] = x86_exec_bcd, [0x2f] = x86_exec_bcd, [0x37] = x86_exec_bcd, [0x3f] = x86_exec_bcd,
	[0x40 ... 0x4f] = x86_exec_alu,
	[0x50 ... 0x61] = x86_exec_stack,
	[0x62] = x86_exec_misc, [0x63] = x86_exec_mov,
	[0x68] = x86_exec_stack, [0x6a] = x86_exec_stack,
	[0x69] = x86_exec_muldiv, [0x6b] = x86_exec_muldiv,
	[0x6c ... 0x6f] = x86_exec_string,
	[0x70 ... 0x7f] = x86_exec_branch,
	[0x80 ... 0x85] = x86_exec_alu,
	[0x86] = x86_exec_xchg, [0x87] = x86_exec_xchg,
	[0x88 ... 0x8e] = x86_exec_mov,
	[0x8f] = x86_exec_stack,
	[0x90 ... 0x97] = x86_exec_xchg,
	[0x98] = x86_exec_mov, [0x99] = x86_exec_mov,
	[0x9a] = x86_exec_branch,
	[0x9b] = exec_x87,
	[0x9c] = x86_exec_stack, [0x9d] = x86_exec_stack,
	[0x9e] = x86_exec_mov, [0x9f] = x86_exec_mov,
	[0xa0 ... 0xa3] = x86_exec_mov,
	[0xa4 ... 0xa7] = x86_exec_string,
	[0xa8] = x86_exec_alu, [0xa9] = x86_exec_alu,
	[0xaa ... 0xaf] = x86_exec_string,
	[0xb0 ... 0xbf] = x86_exec_mov,
	[0xc0] = x86_exec_shift, [0xc1] = x86_exec_shift,
	[0xc2] = x86_exec_branch, [0xc3] = x86_exec_branch,
	[0xc4 ... 0xc7] = x86_exec_mov,
	[0xc8] = x86_exec_stack, [0xc9] = x86_exec_stack,
	[0xca ... 0xcf] = x86_exec_branch,
	[0xd0 ... 0xd3] = x86_exec_shift,
	[0xd4] = x86_exec_bcd, [0xd5] = x86_exec_bcd,
	[0xd7] = x86_exec_mov,
	[0xd8 ... 0xdf] = exec_x87,
	[0xe0 ... 0xe3] = x86_exec_branch,
	[0xe4 ... 0xe7] = x86_exec_misc,
	[0xe8 ... 0xeb] = x86_exec_branch,
	[0xec ... 0xef] = x86_exec_misc,
	[0xf1] = x86_exec_branch,
	[0xf4] = x86_exec_misc,
	[0xf5] = x86_exec_alu,
	[0xf6] = exec_group3, [0xf7] = exec_group3,
	[0xf8] = x86_exec_alu, [0xf9] = x86_exec_alu,
	[0xfa ... 0xfd] = x86_exec_misc,
	[0xfe] = exec_group45, [0xff] = exec_group45,
};

/* by opcode; a hole goes to system.c */
static const x86_exec_fn exec_0f[256] = {
	[0x0b] = exec_ud, [0xb9] = exec_ud, [0xff] = exec_ud,
	[0x0d] = x86_exec_misc, [0x18 ... 0x1f] = x86_exec_misc,
	[0x10 ... 0x17] = exec_sse, [0x28 ... 0x2f] = exec_sse, [0x50 ... 0x7f] = exec_sse,
	[0xc2 ... 0xc6] = exec_sse, [0xd0 ... 0xfe] = exec_sse,
	[0x40 ... 0x4f] = x86_exec_mov,
	[0x80 ... 0x8f] = x86_exec_branch,
	[0x90 ... 0x9f] = x86_exec_mov,
	[0xa0] = x86_exec_stack, [0xa1] = x86_exec_stack, [0xa8] = x86_exec_stack,
	[0xa9] = x86_exec_stack,
	[0xa3] = x86_exec_bitops, [0xab] = x86_exec_bitops, [0xb3] = x86_exec_bitops,
	[0xbb] = x86_exec_bitops, [0xba] = x86_exec_bitops, [0xb8] = x86_exec_bitops,
	[0xbc] = x86_exec_bitops, [0xbd] = x86_exec_bitops,
	[0xa4] = x86_exec_shift, [0xa5] = x86_exec_shift, [0xac] = x86_exec_shift,
	[0xad] = x86_exec_shift,
	[0xaf] = x86_exec_muldiv,
	[0xb0] = x86_exec_xchg, [0xb1] = x86_exec_xchg, [0xc0] = x86_exec_xchg,
	[0xc1] = x86_exec_xchg, [0xc7] = x86_exec_xchg,
	[0xb2] = x86_exec_mov, [0xb4 ... 0xb7] = x86_exec_mov, [0xbe] = x86_exec_mov,
	[0xbf] = x86_exec_mov, [0xc8 ... 0xcf] = x86_exec_mov,
};

/* The group executor of an instruction */
static x86_exec_fn group_exec(const struct x86_insn *in)
{
	switch (in->map) {
	case X86_MAP_1B: return exec_1b[in->opcode] ? exec_1b[in->opcode] : exec_ud;
	case X86_MAP_0F: return exec_0f[in->opcode] ? exec_0f[in->opcode] : x86_exec_system;
	case X86_MAP_0F38: return exec_0f38;
	default: return exec_sse;
	}
}

/* LOCK is allowed only on a memory destination of these */
static bool lock_allowed(const struct x86_insn *in)
{
	if (in->mod == 3 || !in->has_modrm)
		return false;
	if (in->map == X86_MAP_1B) {
		uint8_t op = in->opcode;
		if (op < 0x40)
			return (op & 7) < 2 && (op >> 3) != 7;
		if (op >= 0x80 && op <= 0x83)
			return (in->reg & 7) != 7;
		if (op == 0x86 || op == 0x87)
			return true;
		if (op == 0xf6 || op == 0xf7)
			return (in->reg & 7) == 2 || (in->reg & 7) == 3;
		if (op == 0xfe || op == 0xff)
			return (in->reg & 7) < 2;
		return false;
	}
	if (in->map == X86_MAP_0F) {
		switch (in->opcode) {
		case 0xab: case 0xb3: case 0xbb: case 0xb0: case 0xb1: case 0xc0: case 0xc1:
			return true;
		case 0xba: return (in->reg & 7) >= 5;
		case 0xc7: return (in->reg & 7) == 1;
		default: return false;
		}
	}
	return false;
}

int x86_exec(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (__builtin_expect(in->prefixes & X86_PFX_LOCK, 0) && !lock_allowed(in))
		ud(cpu);
	return group_exec(in)(cpu, in);
}

x86_exec_fn x86_select_exec(const struct x86_insn *in)
{
	if (in->prefixes & X86_PFX_LOCK)
		return x86_exec;	/* checks whether LOCK is allowed */
	x86_exec_fn group = group_exec(in), fast = NULL;
	if (group == x86_exec_alu)
		fast = x86_select_alu(in);
	else if (group == x86_exec_mov)
		fast = x86_select_mov(in);
	else if (group == x86_exec_stack)
		fast = x86_select_stack(in);
	else if (group == x86_exec_branch || group == exec_group45)
		fast = x86_select_branch(in);
	return fast ? fast : group;
}

x86_emit_fn *x86_select_emit(const struct x86_insn *in)
{
	if ((in->prefixes & X86_PFX_LOCK) && !lock_allowed(in))
		return NULL;	/* #UD: the executor raises it */
	x86_exec_fn group = group_exec(in);
	if (group == x86_exec_alu)
		return x86_emit_alu;
	if (group == x86_exec_shift)
		return x86_emit_shift;
	if (group == x86_exec_muldiv)
		return x86_emit_muldiv;
	if (group == x86_exec_mov)
		return x86_emit_mov;
	if (group == x86_exec_stack)
		return x86_emit_stack;
	if (group == x86_exec_branch)
		return x86_emit_branch;
	if (group == x86_exec_bitops)
		return x86_emit_bitops;
	if (group == x86_exec_xchg)
		return x86_emit_xchg;
	if (group == x86_exec_misc)
		return x86_emit_misc;
	if (group == exec_sse)
		return x86_emit_sse;
	if (group == x86_exec_string)
		return x86_emit_string;
	if (group == exec_0f38)
		return (in->opcode == 0xf0 || in->opcode == 0xf1) && in->mandatory != 0xf2 ? NULL :
		       x86_emit_sse;
	if (group == exec_group3)
		return (in->reg & 7) < 4 ? x86_emit_alu : x86_emit_muldiv;
	if (group == exec_group45) {
		unsigned sub = in->reg & 7;
		if (sub < 2)
			return x86_emit_alu;
		if (in->opcode == 0xfe || sub == 7)
			return NULL;
		return sub == 6 ? x86_emit_stack : x86_emit_branch;
	}
	return NULL;
}
