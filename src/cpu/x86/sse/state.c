/* The SSE and MMX state instructions: fxsave/fxrstor (the image itself
 * is x87/control.c's), ldmxcsr/stmxcsr, and emms. */
#include "cpu/x86/sse/sse.h"

/* The 0F AE group: fxsave, fxrstor, ldmxcsr, stmxcsr */
int sse_group_ae(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned op = insn->reg & 7;
	if (insn->mod == 3 || op > 3 || insn->mandatory == 0xf3 || insn->mandatory == 0xf2)
		return -1;
	if ((insn->prefixes & X86_PFX_LOCK) || (cpu->cr0 & X86_CR0_EM))
		sse_ud(cpu);
	if (op >= 2 && !(cpu->cr4 & X86_CR4_OSFXSR))
		sse_ud(cpu);
	if (cpu->cr0 & X86_CR0_TS)
		x86_raise_exception(cpu, X86_EXC_NM, 0);
	bool rex_w = insn->rex & X86_REX_W;
	unsigned nxmm = cpu->mode == X86_MODE_LONG64 ? 16 : 8;
	switch (op) {
	case 0: { /* fxsave */
		uint64_t ea = sse_ea(cpu, insn, 16);
		uint8_t img[512];
		/* keep the bytes the processor does not write (464-511 are the
		 * software's; 416-463 reserved) as they are in memory */
		x86_read_mem(cpu, insn->seg, ea, img, sizeof(img));
		x86_fpu_fxsave(&cpu->fpu, img, rex_w, nxmm);
		x86_write_mem(cpu, insn->seg, ea, img, sizeof(img));
		return 0;
	}
	case 1: { /* fxrstor */
		uint64_t ea = sse_ea(cpu, insn, 16);
		uint8_t img[512];
		x86_read_mem(cpu, insn->seg, ea, img, sizeof(img));
		struct x86_fpu_state f = cpu->fpu;
		if (x86_fpu_fxrstor(&f, img, rex_w, nxmm) < 0)
			x86_raise_exception(cpu, X86_EXC_GP, 0);
		cpu->fpu = f;
		return 0;
	}
	case 2: { /* ldmxcsr */
		uint32_t v = (uint32_t)x86_read_mem_u(cpu, insn->seg, sse_ea(cpu, insn, 0), 4);
		if (v & ~MXCSR_SUPPORTED)
			x86_raise_exception(cpu, X86_EXC_GP, 0);
		cpu->fpu.mxcsr = v;
		return 0;
	}
	default: /* stmxcsr */
		x86_write_mem_u(cpu, insn->seg, sse_ea(cpu, insn, 0), 4, cpu->fpu.mxcsr);
		return 0;
	}
}

/* emms (0F 77) */
int sse_emms(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned pfx = insn->mandatory, op = insn->opcode;
	switch (op) {
	case 0x77: /* emms */
		if (pfx != 0)
			return -1;
		need_mmx(cpu, insn);
		cpu->fpu.ftw = 0xffff;
		return 0;
	}
	return -1;
}
