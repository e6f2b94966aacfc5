/* SSE conversions: integers to and from floats (cvtsi2ss & co, the MMX
 * forms cvtpi2ps & co), and between float formats and packed integers
 * (cvtps2pd & co, cvtdq2ps & co, cvtpd2dq & co), on the host's SSE unit. */
#include "cpu/x86/sse/sse.h"

int sse_cvt_int(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	/* 2A: int -> float; 2C/2D: float -> int (2C truncates) */
	unsigned pfx = insn->mandatory;
	if (insn->opcode == 0x2a) {
		if (pfx == 0xf3 || pfx == 0xf2) {
			need_sse(cpu, insn);
			unsigned sz = gpr_size(insn);
			uint64_t v = insn->mod == 3 ? x86_get_reg(cpu, insn, insn->rm, sz) :
				     x86_read_mem_u(cpu, insn->seg, sse_ea(cpu, insn, 0), sz);
			union xmm_reg d = *xreg(cpu, insn->reg);
			uint32_t fl;
			if (pfx == 0xf3)
				fl = sz == 8 ? host_cvtsi2ss64(&d, (int64_t)v, cpu->fpu.mxcsr) :
					       host_cvtsi2ss32(&d, (int32_t)v, cpu->fpu.mxcsr);
			else
				fl = sz == 8 ? host_cvtsi2sd64(&d, (int64_t)v, cpu->fpu.mxcsr) :
					       host_cvtsi2sd32(&d, (int32_t)v, cpu->fpu.mxcsr);
			sse_fp_flags(cpu, fl);
			*xreg(cpu, insn->reg) = d;
			return 0;
		}
		/* cvtpi2ps / cvtpi2pd xmm, mm/m64 */
		need_sse(cpu, insn);
		union xmm_reg s = { .q = { 0, 0 } }, d = *xreg(cpu, insn->reg), t;
		if (insn->mod == 3) {
			need_mmx(cpu, insn);
			s.q[0] = mm_get(cpu, insn->rm);
		} else {
			read_m(cpu, insn, &s, 8, 0);
		}
		if (pfx == 0) {
			t = d;
			uint32_t fl = host_cvtdq2ps(&t, &s, cpu->fpu.mxcsr);
			sse_fp_flags(cpu, fl);
			d.q[0] = t.q[0];
		} else if (pfx == 0x66) {
			host_cvtdq2pd(&d, &s, cpu->fpu.mxcsr);	/* exact */
		} else {
			return -1;
		}
		*xreg(cpu, insn->reg) = d;
		return 0;
	}
	bool trunc = insn->opcode == 0x2c;
	if (pfx == 0xf3 || pfx == 0xf2) {
		need_sse(cpu, insn);
		union xmm_reg s;
		xmm_src(cpu, insn, &s, pfx == 0xf3 ? 4 : 8, 0);
		unsigned sz = gpr_size(insn);
		uint32_t fl, m = cpu->fpu.mxcsr;
		int64_t v64 = 0;
		int32_t v32 = 0;
		if (pfx == 0xf3)
			fl = sz == 8 ? (trunc ? host_cvttss2si64(&v64, &s, m) : host_cvtss2si64(&v64, &s, m)) :
				       (trunc ? host_cvttss2si32(&v32, &s, m) : host_cvtss2si32(&v32, &s, m));
		else
			fl = sz == 8 ? (trunc ? host_cvttsd2si64(&v64, &s, m) : host_cvtsd2si64(&v64, &s, m)) :
				       (trunc ? host_cvttsd2si32(&v32, &s, m) : host_cvtsd2si32(&v32, &s, m));
		sse_fp_flags(cpu, fl);
		x86_set_reg(cpu, insn, insn->reg, sz, sz == 8 ? (uint64_t)v64 : (uint32_t)v32);
		return 0;
	}
	/* cvt(t)ps2pi mm, xmm/m64 ; cvt(t)pd2pi mm, xmm/m128 */
	if (pfx != 0 && pfx != 0x66)
		return -1;
	need_sse(cpu, insn);
	/* the destination is an MMX register: a pending x87 exception (#MF)
	 * comes before the source's alignment and faults */
	x87_check_pending(cpu);
	union xmm_reg s;
	xmm_src(cpu, insn, &s, pfx == 0 ? 8 : 16, pfx == 0 ? 0 : 16);
	need_mmx(cpu, insn);
	union xmm_reg t = { .q = { 0, 0 } };
	uint32_t fl;
	if (pfx == 0) {
		s.q[1] = 0;
		fl = trunc ? host_cvttps2dq(&t, &s, cpu->fpu.mxcsr) : host_cvtps2dq(&t, &s, cpu->fpu.mxcsr);
	} else {
		fl = trunc ? host_cvttpd2dq(&t, &s, cpu->fpu.mxcsr) : host_cvtpd2dq(&t, &s, cpu->fpu.mxcsr);
	}
	sse_fp_flags(cpu, fl);
	mm_set(cpu, insn->reg & 7, t.q[0]);
	return 0;
}

/* 0F 5A, 5B, E6 */
int sse_fp_convert(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned pfx = insn->mandatory, op = insn->opcode;
	union xmm_reg s, d = *xreg(cpu, insn->reg);
	uint32_t fl;
	switch (op) {
	case 0x5a: {
		static host_op2_fn *const f[4] = { host_cvtps2pd, host_cvtpd2ps, host_cvtss2sd, host_cvtsd2ss };
		static const uint8_t size[4] = { 8, 16, 4, 8 }, align[4] = { 0, 16, 0, 0 };
		unsigned k = pfx == 0 ? 0 : pfx == 0x66 ? 1 : pfx == 0xf3 ? 2 : 3;
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, size[k], align[k]);
		fl = f[k](&d, &s, cpu->fpu.mxcsr);
		if (k == 1 || k == 3)	/* narrowing: cvtpd2ps, cvtsd2ss */
			fl = tiny_results(cpu, fl, &d, k == 1 ? 2 : 1, 0);
		sse_fp_flags(cpu, fl);
		*xreg(cpu, insn->reg) = d;
		return 0;
	}
	case 0x5b: {
		host_op2_fn *f = pfx == 0 ? host_cvtdq2ps : pfx == 0x66 ? host_cvtps2dq :
				 pfx == 0xf3 ? host_cvttps2dq : NULL;
		if (!f)
			return -1;
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, 16, 16);
		fl = f(&d, &s, cpu->fpu.mxcsr);
		sse_fp_flags(cpu, fl);
		*xreg(cpu, insn->reg) = d;
		return 0;
	}
	case 0xe6: {
		host_op2_fn *f = pfx == 0x66 ? host_cvttpd2dq : pfx == 0xf3 ? host_cvtdq2pd :
				 pfx == 0xf2 ? host_cvtpd2dq : NULL;
		if (!f)
			return -1;
		need_sse(cpu, insn);
		if (pfx == 0xf3)
			xmm_src(cpu, insn, &s, 8, 0);
		else
			xmm_src(cpu, insn, &s, 16, 16);
		fl = f(&d, &s, cpu->fpu.mxcsr);
		sse_fp_flags(cpu, fl);
		*xreg(cpu, insn->reg) = d;
		return 0;
	}
	}
	return -1;
}
