/* Exchanges: xchg (86 87 90-97), cmpxchg, xadd, cmpxchg8b/16b. */
#include "cpu/x86/ops/ops.h"

static int cmpxchg8b_16b(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned sub = in->reg & 7;
	if (sub != 1 || in->mod == 3)
		ud(cpu);
	uint64_t ea = x86_ea(cpu, in);
	if (in->rex & X86_REX_W) { /* cmpxchg16b */
		if (ea & 15)
			gp0(cpu);
		uint64_t lin = x86_seg_linear(cpu, in->seg, ea, 16, true);
		uint64_t v[2];
		x86_read_lin(cpu, lin, v, 16, x86_user(cpu));
		bool eq = v[0] == cpu->gpr[X86_RAX] && v[1] == cpu->gpr[X86_RDX];
		if (eq) {
			uint64_t nv[2] = { cpu->gpr[X86_RBX], cpu->gpr[X86_RCX] };
			x86_write_lin(cpu, lin, nv, 16, x86_user(cpu));
		} else {
			x86_write_lin(cpu, lin, v, 16, x86_user(cpu));
			cpu->gpr[X86_RAX] = v[0];
			cpu->gpr[X86_RDX] = v[1];
		}
		set_flags_bits(cpu, eq ? X86_RFLAGS_ZF : 0, X86_RFLAGS_ZF);
	} else { /* cmpxchg8b */
		uint64_t lin = x86_seg_linear(cpu, in->seg, ea, 8, true);
		uint64_t v = x86_read_lin_u(cpu, lin, 8, x86_user(cpu));
		uint64_t cmp = (cpu->gpr[X86_RAX] & 0xffffffffull) | (cpu->gpr[X86_RDX] << 32);
		bool eq = v == cmp;
		if (eq) {
			x86_write_lin_u(cpu, lin, 8, (cpu->gpr[X86_RBX] & 0xffffffffull) |
						     (cpu->gpr[X86_RCX] << 32), x86_user(cpu));
		} else {
			x86_write_lin_u(cpu, lin, 8, v, x86_user(cpu));
			cpu->gpr[X86_RAX] = (uint32_t)v;
			cpu->gpr[X86_RDX] = v >> 32;
		}
		set_flags_bits(cpu, eq ? X86_RFLAGS_ZF : 0, X86_RFLAGS_ZF);
	}
	return 0;
}

int x86_exec_xchg(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const unsigned size = osize(in);
	struct operand o;
	uint64_t a, b, r;
	if (in->map == X86_MAP_1B) {
		if (in->opcode >= 0x90) {
			unsigned reg = opcode_reg(in);
			if (reg == 0) /* nop, pause */
				return 0;
			a = x86_reg_read(cpu, in, reg, in->opsize);
			x86_reg_write(cpu, in, reg, in->opsize, x86_reg_read(cpu, in, X86_RAX, in->opsize));
			x86_reg_write(cpu, in, X86_RAX, in->opsize, a);
			return 0;
		}
		rm_resolve(cpu, in, size, true, &o);	/* 86, 87 */
		a = op_read(cpu, in, &o, size);
		b = x86_reg_read(cpu, in, in->reg, size);
		op_write(cpu, in, &o, size, b);
		x86_reg_write(cpu, in, in->reg, size, a);
		return 0;
	}
	switch (in->opcode) {
	case 0xb0:
	case 0xb1: { /* cmpxchg */
		rm_resolve(cpu, in, size, true, &o);
		a = op_read(cpu, in, &o, size);
		uint64_t acc = x86_reg_read(cpu, in, X86_RAX, size);
		x86_alu(cpu, 7, size, acc, a);
		if (acc == a) {
			op_write(cpu, in, &o, size, x86_reg_read(cpu, in, in->reg, size));
		} else {
			/* memory is written back even when unequal (the locked
			 * cycle); a register destination is left alone */
			if (o.mem)
				op_write(cpu, in, &o, size, a);
			x86_reg_write(cpu, in, X86_RAX, size, a);
		}
		return 0;
	}
	case 0xc0:
	case 0xc1: /* xadd */
		rm_resolve(cpu, in, size, true, &o);
		a = op_read(cpu, in, &o, size);
		b = x86_reg_read(cpu, in, in->reg, size);
		r = x86_alu(cpu, 0, size, a, b);
		x86_reg_write(cpu, in, in->reg, size, a);
		op_write(cpu, in, &o, size, r);
		return 0;
	default: /* C7 /1 */
		return cmpxchg8b_16b(cpu, in);
	}
}
