/* What fits no other group: port I/O (in/out with an immediate or DX
 * port), hlt, cli/sti, cld/std, bound, and the hint nops of 0F 0D and
 * 0F 18-1F. */
#include "cpu/x86/ops/ops.h"
#include "cpu/x86/jit/jit.h"

static int port_io(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const uint8_t op = in->opcode;
	uint16_t port = op < 0xe8 ? (uint8_t)in->imm : (uint16_t)cpu->gpr[X86_RDX];
	unsigned s = osize(in) == 8 ? 4 : osize(in);
	x86_io_check(cpu, port, s);
	if (!(op & 2)) {	/* E4 E5 EC ED: in */
		uint32_t v = x86_io_in(cpu, port, s);
		x86_reg_write(cpu, in, X86_RAX, s, v);
		return 0;
	}
	x86_io_out(cpu, port, s, (uint32_t)cpu->gpr[X86_RAX]);
	return X86_EXEC_END_BLOCK;	/* the device may have raised an interrupt */
}

static int bound(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (in->mod == 3)
		ud(cpu);
	uint64_t ea = x86_ea(cpu, in);
	unsigned s = in->opsize;
	int64_t idx = (int64_t)x86_sext(x86_reg_read(cpu, in, in->reg, s), s);
	int64_t lo = (int64_t)x86_sext(x86_mem_read(cpu, in->seg, ea, s), s);
	int64_t hi = (int64_t)x86_sext(x86_mem_read(cpu, in->seg, (ea + s) & x86_mask(in->addrsize), s), s);
	if (idx < lo || idx > hi)
		x86_raise_exception(cpu, X86_EXC_BR, 0);
	return 0;
}

int x86_exec_misc(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const uint8_t op = in->opcode;
	if (in->map == X86_MAP_0F)	/* 0D, 18-1F: prefetch, hint nops, endbr */
		return 0;
	switch (op) {
	case 0x62:
		return bound(cpu, in);
	case 0xe4 ... 0xe7:
	case 0xec ... 0xef:
		return port_io(cpu, in);
	case 0xf4: /* hlt */
		if (cpu->cpl != 0)
			gp0(cpu);
		cpu->halted = true;
		return X86_EXEC_HLT;
	case 0xfa: /* cli */
	case 0xfb: { /* sti */
		unsigned iopl = (cpu->rflags >> 12) & 3;
		if ((cpu->cr0 & X86_CR0_PE) && cpu->cpl > iopl)
			gp0(cpu);
		if (op == 0xfa) {
			cpu->rflags &= ~X86_RFLAGS_IF;
			return 0;
		}
		if (!(cpu->rflags & X86_RFLAGS_IF))
			cpu->intr_shadow = true;
		cpu->rflags |= X86_RFLAGS_IF;
		return X86_EXEC_END_BLOCK;
	}
	case 0xfc: cpu->rflags &= ~X86_RFLAGS_DF; return 0;
	default: cpu->rflags |= X86_RFLAGS_DF; return 0;	/* FD */
	}
}

/* ---- translation ---- */

bool x86_emit_misc(struct jit *j, const struct x86_insn *in)
{
	if (in->map == X86_MAP_0F)
		return true;	/* hint nops */
	switch (in->opcode) {
	case 0xfc:
	case 0xfd: /* cld/std: DF is in cpu->rflags */
		jit_flags_clobber(j, &j->e);
		if (in->opcode == 0xfc)
			e_alu_i(&j->e, 4, 8, js_mem(JS(rflags)), (int32_t)~X86_RFLAGS_DF);
		else
			e_alu_i(&j->e, 1, 8, js_mem(JS(rflags)), (int32_t)X86_RFLAGS_DF);
		return true;
	default:
		return false;
	}
}
