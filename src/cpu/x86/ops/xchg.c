/* Exchanges: xchg (86 87 90-97), cmpxchg, xadd, cmpxchg8b/16b. */
#include "cpu/x86/ops/ops.h"
#include "cpu/x86/jit/jit.h"

static int cmpxchg8b_16b(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned sub = in->reg & 7;
	if (sub != 1 || in->mod == 3)
		ud(cpu);
	uint64_t ea = x86_ea(cpu, in);
	if (in->rex & X86_REX_W) { /* cmpxchg16b */
		/* the alignment of the linear address, segment base included */
		uint64_t lin = x86_seg_linear(cpu, in->seg, ea, 16, true);
		if (lin & 15)
			gp0(cpu);
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

/* ---- translation ---- */

/* cmpxchg: the accumulator through the host's RAX */
static void body_cmpxchg(struct jit *j, struct emit *e, const struct x86_insn *in, struct hrm m)
{
	const int a = jit_host_reg[X86_RAX];
	e_mov_rr(e, 8, HR_RAX, a);
	jit_same_op(e, in, JS_LOCK, jit_host_reg[in->reg], m);
	e_mov_rr(e, 8, a, HR_RAX);
	jit_flags_set(j);
}

bool x86_emit_xchg(struct jit *j, const struct x86_insn *in)
{
	if (in->map == X86_MAP_1B) {
		if (in->opcode >= 0x90) {
			unsigned reg = opcode_reg(in);
			if (reg == X86_RAX)
				return true;	/* nop, pause */
			struct x86_insn t = *in;	/* as 87 /r: xchg r/m, rax */
			t.opcode = 0x87;
			t.has_modrm = 1;
			t.mod = 3;
			t.rm = (uint8_t)reg;
			t.reg = X86_RAX;
			return jit_emit_same(j, &t, JS_READ_REG | JS_WRITE_REG | JS_READ_RM |
						    JS_WRITE_RM | JS_RM_REG);
		}
		return jit_emit_same(j, in, JS_READ_REG | JS_WRITE_REG | JS_READ_RM | JS_WRITE_RM |
					    JS_RM_REG);
	}
	switch (in->opcode) {
	case 0xb0:
	case 0xb1:
		if (jit_host_reg[in->reg] == HR_NONE || (in->byte_op && !in->rex && in->reg >= 4))
			return false;
		if (in->mod != 3)
			return jit_emit_memop(j, in, osize(in), JIT_RMW, body_cmpxchg);
		if (in->byte_op && !in->rex && in->rm >= 4 && in->rm < 8)
			return false;
		{
			/* the accumulator as the destination is the host's RAX */
			int rm = in->rm == X86_RAX ? HR_RAX : jit_host_reg[in->rm];
			body_cmpxchg(j, &j->e, in, rm == HR_NONE ? jit_gpr_slot(in->rm) : hrm_reg(rm));
		}
		return true;
	case 0xc0:
	case 0xc1:
		return jit_emit_same(j, in, JS_READ_REG | JS_WRITE_REG | JS_READ_RM | JS_WRITE_RM |
					    JS_FLAGS_OUT | JS_LOCK | JS_RM_REG);
	default:
		return false;
	}
}
