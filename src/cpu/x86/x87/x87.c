/* The x87 FPU of the software CPU: which D8-DF encodings exist, the
 * #NM/#MF checks and the last-instruction pointers every instruction
 * shares, and the routing of each encoding to its group (x87.h lists
 * them; the header says how the host's x87 unit does the arithmetic). */
#include "cpu/x86/x87/x87.h"

const struct x87_reg x87_indefinite = { .mantissa = 0xc000000000000000ull, .sign_exp = 0xffff };

/* The D8-DF encodings that exist (with the undocumented aliases real
 * processors accept); the rest are #UD before any FPU check */
static bool x87_valid(unsigned opc, unsigned modrm, bool mem)
{
	unsigned reg = (modrm >> 3) & 7;
	if (mem)
		return !((opc == 0xd9 && reg == 1) || (opc == 0xdb && (reg == 4 || reg == 6)) ||
			 (opc == 0xdd && reg == 5));
	switch (opc) {
	case 0xd9:
		return !((modrm >= 0xd1 && modrm <= 0xd7) || modrm == 0xe2 || modrm == 0xe3 ||
			 modrm == 0xe6 || modrm == 0xe7 || modrm == 0xef);
	case 0xda:
		return modrm < 0xe0 || modrm == 0xe9;
	case 0xdb:
		return modrm < 0xe5 || (modrm >= 0xe8 && modrm < 0xf8);
	case 0xdd:
		return modrm < 0xf0;
	case 0xde:
		return !(modrm == 0xd8 || (modrm >= 0xda && modrm <= 0xdf));
	case 0xdf:
		return modrm <= 0xe0 || (modrm >= 0xe8 && modrm < 0xf8);
	}
	return true;
}

static bool is_control(unsigned opc, unsigned modrm, bool mem)
{
	unsigned reg = (modrm >> 3) & 7;
	if (mem)
		return (opc == 0xd9 && reg >= 4) || (opc == 0xdd && (reg == 4 || reg == 6 || reg == 7));
	return (opc == 0xdb && (modrm == 0xe2 || modrm == 0xe3)) || (opc == 0xdf && modrm == 0xe0);
}

static bool is_nonwaiting(unsigned opc, unsigned modrm, bool mem)
{
	unsigned reg = (modrm >> 3) & 7;
	if (mem)
		return (opc == 0xd9 && (reg == 6 || reg == 7)) || (opc == 0xdd && (reg == 6 || reg == 7));
	return (opc == 0xdb && (modrm == 0xe2 || modrm == 0xe3)) || (opc == 0xdf && modrm == 0xe0);
}

static int x87_mem(struct x87_ctx *c, unsigned opc, unsigned reg)
{
	switch (opc) {
	case 0xd8:
	case 0xdc:
	case 0xda:
	case 0xde:
		return x87_arith_mem(c, opc, reg);
	case 0xd9:
		switch (reg) {
		case 0: x87_load_mem(c, 0); return 0;
		case 2: x87_store_mem(c, 0, false); return 0;
		case 3: x87_store_mem(c, 0, true); return 0;
		case 4 ... 7: return x87_control_mem(c, opc, reg);
		}
		return -1;
	case 0xdb:
		switch (reg) {
		case 0: x87_load_mem(c, 4); return 0;
		case 1: x87_store_mem(c, 7, true); return 0;
		case 2: x87_store_mem(c, 4, false); return 0;
		case 3: x87_store_mem(c, 4, true); return 0;
		case 5: x87_load_mem(c, 2); return 0;
		case 7: x87_store_mem(c, 2, true); return 0;
		}
		return -1;
	case 0xdd:
		switch (reg) {
		case 0: x87_load_mem(c, 1); return 0;
		case 1: x87_store_mem(c, 8, true); return 0;
		case 2: x87_store_mem(c, 1, false); return 0;
		case 3: x87_store_mem(c, 1, true); return 0;
		case 4:
		case 6:
		case 7:
			return x87_control_mem(c, opc, reg);
		}
		return -1;
	case 0xdf:
		switch (reg) {
		case 0: x87_load_mem(c, 3); return 0;
		case 1: x87_store_mem(c, 6, true); return 0;
		case 2: x87_store_mem(c, 3, false); return 0;
		case 3: x87_store_mem(c, 3, true); return 0;
		case 4: x87_load_mem(c, 9); return 0;
		case 5: x87_load_mem(c, 5); return 0;
		case 6: x87_store_mem(c, 9, true); return 0;
		case 7: x87_store_mem(c, 5, true); return 0;
		}
		return -1;
	}
	return -1;
}

static int x87_reg_op(struct x87_ctx *c, unsigned opc, unsigned modrm)
{
	unsigned reg = (modrm >> 3) & 7, i = modrm & 7;
	switch (opc) {
	case 0xd8:
	case 0xdc:
	case 0xde:
		return x87_arith_reg(c, opc, modrm);
	case 0xd9:
		switch (reg) {
		case 0: x87_fld_reg(c, i); return 0;
		case 1: x87_fxch(c, i); return 0;
		case 2:
			if (i == 0)
				return 0;	/* fnop */
			return -1;
		case 3: x87_fstp1(c, i); return 0;
		default:
			return x87_st0_function(c, modrm & 0x3f);
		}
	case 0xda:
		switch (reg) {
		case 0: return x87_fcmov(c, 2, i);	/* fcmovb */
		case 1: return x87_fcmov(c, 4, i);	/* fcmove */
		case 2: return x87_fcmov(c, 6, i);	/* fcmovbe */
		case 3: return x87_fcmov(c, 10, i);	/* fcmovu */
		case 5:
			if (i == 1) { /* fucompp */
				x87_compare(c, 1, true, false, 2);
				return 0;
			}
			return -1;
		}
		return -1;
	case 0xdb:
		switch (reg) {
		case 0: return x87_fcmov(c, 3, i);	/* fcmovnb */
		case 1: return x87_fcmov(c, 5, i);	/* fcmovne */
		case 2: return x87_fcmov(c, 7, i);	/* fcmovnbe */
		case 3: return x87_fcmov(c, 11, i);	/* fcmovnu */
		case 4: return x87_control_reg(c, opc, modrm);
		case 5: x87_compare(c, i, true, true, 0); return 0;	/* fucomi */
		case 6: x87_compare(c, i, false, true, 0); return 0;	/* fcomi */
		}
		return -1;
	case 0xdd:
		switch (reg) {
		case 0: x87_ffree(c, i, false); return 0;
		case 1: /* fxch4 alias */
			return x87_reg_op(c, 0xd9, 0xc8 | i);
		case 2: x87_fst_reg(c, i, false); return 0;
		case 3: x87_fst_reg(c, i, true); return 0;
		case 4: x87_compare(c, i, true, false, 0); return 0;	/* fucom */
		case 5: x87_compare(c, i, true, false, 1); return 0;	/* fucomp */
		}
		return -1;
	case 0xdf:
		switch (reg) {
		case 0: x87_ffree(c, i, true); return 0;	/* ffreep */
		case 1:
			return x87_reg_op(c, 0xd9, 0xc8 | i);
		case 2:
		case 3: x87_fst_reg(c, i, true); return 0;
		case 4: return x87_control_reg(c, opc, modrm);
		case 5: x87_compare(c, i, true, true, 1); return 0;	/* fucomip */
		case 6: x87_compare(c, i, false, true, 1); return 0;	/* fcomip */
		}
		return -1;
	}
	return -1;
}

int x86_exec_x87(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	if (insn->map != X86_MAP_1B)
		return -1;
	if (insn->prefixes & X86_PFX_LOCK)
		x86_raise_exception(cpu, X86_EXC_UD, 0);
	if (insn->opcode == 0x9b) { /* fwait */
		if ((cpu->cr0 & (X86_CR0_TS | X86_CR0_MP)) == (X86_CR0_TS | X86_CR0_MP))
			x86_raise_exception(cpu, X86_EXC_NM, 0);
		if ((cpu->fpu.fsw & X87_FSW_ES) && (cpu->cr0 & X86_CR0_NE))
			x86_raise_exception(cpu, X86_EXC_MF, 0);
		return 0;
	}
	if (insn->opcode < 0xd8 || insn->opcode > 0xdf)
		return -1;
	unsigned opc = insn->opcode, modrm = insn->modrm;
	bool mem = insn->mod != 3;
	if (!x87_valid(opc, modrm, mem))
		return -1;
	if (cpu->cr0 & (X86_CR0_EM | X86_CR0_TS))
		x86_raise_exception(cpu, X86_EXC_NM, 0);
	if (!is_nonwaiting(opc, modrm, mem))
		x87_check_pending(cpu);

	struct x87_ctx c = { .cpu = cpu, .insn = insn, .f = &cpu->fpu };
	if (mem)
		c.ea = x86_insn_ea(cpu, insn);
	/* what fnstenv/fxsave report as the last instruction and operand;
	 * control instructions leave them (fninit/fnsave clear them,
	 * fldenv/frstor load them) */
	struct x86_fpu_state *f = &cpu->fpu;
	int ret = mem ? x87_mem(&c, opc, (modrm >> 3) & 7) : x87_reg_op(&c, opc, modrm);
	if (ret < 0)
		return ret;
	if (!is_control(opc, modrm, mem)) {
		/* FCS/FDS are deprecated and stored as 0 in 64-bit mode */
		bool long64 = cpu->mode == X86_MODE_LONG64;
		f->fip = cpu->rip;
		f->fcs = long64 ? 0 : cpu->seg[X86_CS].selector;
		f->fop = (uint16_t)(((opc & 7) << 8) | modrm);
		if (mem) {
			f->fdp = c.ea;
			f->fds = long64 ? 0 : cpu->seg[insn->seg].selector;
		}
	}
	return 0;
}