/* SSE floating-point compares: cmpps/pd/ss/sd with their eight
 * predicates, and (u)comiss/sd into EFLAGS, on the host's SSE unit. */
#include "cpu/x86/sse/sse.h"

static host_op2_fn *const host_cmp[4][8] = {
	{ host_cmpps0, host_cmpps1, host_cmpps2, host_cmpps3, host_cmpps4, host_cmpps5, host_cmpps6, host_cmpps7 },
	{ host_cmppd0, host_cmppd1, host_cmppd2, host_cmppd3, host_cmppd4, host_cmppd5, host_cmppd6, host_cmppd7 },
	{ host_cmpss0, host_cmpss1, host_cmpss2, host_cmpss3, host_cmpss4, host_cmpss5, host_cmpss6, host_cmpss7 },
	{ host_cmpsd0, host_cmpsd1, host_cmpsd2, host_cmpsd3, host_cmpsd4, host_cmpsd5, host_cmpsd6, host_cmpsd7 },
};

/* cmpps/pd/ss/sd (C2) */
int sse_cmp(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned k = insn->mandatory == 0 ? 0 : insn->mandatory == 0x66 ? 1 :
		     insn->mandatory == 0xf3 ? 2 : 3;
	static const uint8_t size[4] = { 16, 16, 4, 8 };
	need_sse(cpu, insn);
	union xmm_reg s, d = *xreg(cpu, insn->reg);
	xmm_src(cpu, insn, &s, size[k], k < 2 ? 16 : 0);
	uint32_t fl = host_cmp[k][insn->imm & 7](&d, &s, cpu->fpu.mxcsr);
	sse_fp_flags(cpu, fl);
	*xreg(cpu, insn->reg) = d;
	return 0;
}

int sse_comi(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	if (insn->mandatory != 0 && insn->mandatory != 0x66)
		return -1;
	need_sse(cpu, insn);
	bool dbl = insn->mandatory == 0x66, ordered = insn->opcode == 0x2f;
	union xmm_reg s, d = *xreg(cpu, insn->reg);
	xmm_src(cpu, insn, &s, dbl ? 8 : 4, 0);
	uint64_t fl;
	uint32_t m = cpu->fpu.mxcsr, exc;
	if (dbl)
		exc = ordered ? host_comisd(&d, &s, m, &fl) : host_ucomisd(&d, &s, m, &fl);
	else
		exc = ordered ? host_comiss(&d, &s, m, &fl) : host_ucomiss(&d, &s, m, &fl);
	sse_fp_flags(cpu, exc);
	x86_set_arith_flags(cpu, fl);
	return 0;
}
