/* SSE floating-point arithmetic: add, sub, mul, div, min, max, sqrt on
 * the host's SSE unit, the rcp/rsqrt approximations, the bitwise logic
 * ops, the horizontal and alternating add/sub of SSE3, and SSE4.1's
 * round and dot products.
 *
 * rcpps/rsqrtps: the architecture allows any result within 1.5 * 2^-12
 * relative error, and Intel and AMD use different tables.  We return the
 * exact reciprocal (square root reciprocal) rounded to nearest with 12
 * significant bits, which is within 2^-12 of the true value; denormal
 * inputs count as zero and results too small for a normal float are
 * flushed to zero, as on hardware.  The differential tester compares
 * these two instructions with that tolerance. */
#include <math.h>

#include "cpu/x86/sse/sse.h"

/* ---- rcp / rsqrt ---- */

/* Round a positive normal double to 12 significant bits, as a float;
 * out-of-range results become 0 or infinity as the hardware's do */
static float approx12(double v)
{
	int e;
	double m = frexp(v, &e);	/* v = m * 2^e, 0.5 <= m < 1 */
	m = nearbyint(m * 4096.0) / 4096.0;
	double r = ldexp(m, e);
	if (r < 0x1p-126)
		return 0.0f;
	if (r >= 0x1p128)
		return INFINITY;
	return (float)r;
}

static uint32_t rcp_approx(uint32_t x)
{
	uint32_t sign = x & 0x80000000u, mag = x & 0x7fffffffu;
	if (mag > 0x7f800000u)
		return x | 0x00400000u;	/* NaN: quieted */
	if (mag == 0x7f800000u)
		return sign;
	if (mag < 0x00800000u)	/* zero or denormal: infinity */
		return sign | 0x7f800000u;
	float f;
	memcpy(&f, &mag, 4);
	float r = approx12(1.0 / (double)f);
	uint32_t u;
	memcpy(&u, &r, 4);
	return sign | u;
}

static uint32_t rsqrt_approx(uint32_t x)
{
	uint32_t sign = x & 0x80000000u, mag = x & 0x7fffffffu;
	if (mag > 0x7f800000u)
		return x | 0x00400000u;
	if (mag < 0x00800000u)	/* +-0 and denormals: +-infinity */
		return sign | 0x7f800000u;
	if (sign)
		return 0xffc00000u;	/* negative: the default NaN */
	if (mag == 0x7f800000u)
		return 0;
	float f;
	memcpy(&f, &mag, 4);
	float r = approx12(1.0 / sqrt((double)f));
	uint32_t u;
	memcpy(&u, &r, 4);
	return u;
}

/* Floating-point arithmetic 51, 58-5F, with the host function per prefix
 * (ps, pd, ss, sd) */
static int fp_arith(struct x86_cpu *cpu, const struct x86_insn *insn, host_op2_fn *const fns[4],
			bool can_underflow)
{
	unsigned k = insn->mandatory == 0 ? 0 : insn->mandatory == 0x66 ? 1 :
		     insn->mandatory == 0xf3 ? 2 : 3;
	if (!fns[k])
		return -1;
	need_sse(cpu, insn);
	static const uint8_t size[4] = { 16, 16, 4, 8 };
	union xmm_reg s, d = *xreg(cpu, insn->reg);
	xmm_src(cpu, insn, &s, size[k], k < 2 ? 16 : 0);
	uint32_t fl = fns[k](&d, &s, cpu->fpu.mxcsr);
	static const uint8_t n32[4] = { 4, 0, 1, 0 }, n64[4] = { 0, 2, 0, 1 };
	if (can_underflow)
		fl = tiny_results(cpu, fl, &d, n32[k], n64[k]);
	sse_fp_flags(cpu, fl);
	*xreg(cpu, insn->reg) = d;
	return 0;
}

/* rcpps/rcpss (53), rsqrtps/rsqrtss (52): no exceptions, no MXCSR */
static int approx(struct x86_cpu *cpu, const struct x86_insn *insn, bool rsqrt)
{
	if (insn->mandatory != 0 && insn->mandatory != 0xf3)
		return -1;
	need_sse(cpu, insn);
	bool scalar = insn->mandatory == 0xf3;
	union xmm_reg s, d = *xreg(cpu, insn->reg);
	xmm_src(cpu, insn, &s, scalar ? 4 : 16, scalar ? 0 : 16);
	for (unsigned i = 0; i < (scalar ? 1u : 4u); i++)
		d.d[i] = rsqrt ? rsqrt_approx(s.d[i]) : rcp_approx(s.d[i]);
	*xreg(cpu, insn->reg) = d;
	return 0;
}

/* 0F 51-53, 58-5F */
int sse_fp_arith(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	static host_op2_fn *const add[4] = { host_addps, host_addpd, host_addss, host_addsd };
	static host_op2_fn *const mul[4] = { host_mulps, host_mulpd, host_mulss, host_mulsd };
	static host_op2_fn *const sub[4] = { host_subps, host_subpd, host_subss, host_subsd };
	static host_op2_fn *const min[4] = { host_minps, host_minpd, host_minss, host_minsd };
	static host_op2_fn *const dv[4] = { host_divps, host_divpd, host_divss, host_divsd };
	static host_op2_fn *const max[4] = { host_maxps, host_maxpd, host_maxss, host_maxsd };
	static host_op2_fn *const sqrt_[4] = { host_sqrtps, host_sqrtpd, host_sqrtss, host_sqrtsd };
	switch (insn->opcode) {
	case 0x51: return fp_arith(cpu, insn, sqrt_, false);
	case 0x52: return approx(cpu, insn, true);
	case 0x53: return approx(cpu, insn, false);
	case 0x58: return fp_arith(cpu, insn, add, true);
	case 0x59: return fp_arith(cpu, insn, mul, true);
	case 0x5c: return fp_arith(cpu, insn, sub, true);
	case 0x5d: return fp_arith(cpu, insn, min, false);
	case 0x5e: return fp_arith(cpu, insn, dv, true);
	case 0x5f: return fp_arith(cpu, insn, max, false);
	}
	return -1;
}

/* andps/andnps/orps/xorps and the pd forms (0F 54-57) */
int sse_fp_logic(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned pfx = insn->mandatory, op = insn->opcode;
	union xmm_reg s, d = *xreg(cpu, insn->reg);
	switch (op) {
	case 0x54:
	case 0x55:
	case 0x56:
	case 0x57:
		if (pfx != 0 && pfx != 0x66)
			return -1;
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, 16, 16);
		for (unsigned i = 0; i < 2; i++)
			d.q[i] = op == 0x54 ? d.q[i] & s.q[i] : op == 0x55 ? ~d.q[i] & s.q[i] :
				 op == 0x56 ? d.q[i] | s.q[i] : d.q[i] ^ s.q[i];
		*xreg(cpu, insn->reg) = d;
		return 0;
	}
	return -1;
}

/* haddps/pd, hsubps/pd, addsubps/pd (0F 7C, 7D, D0) */
int sse_fp_horizontal(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned pfx = insn->mandatory, op = insn->opcode;
	union xmm_reg s, d = *xreg(cpu, insn->reg);
	uint32_t fl;
	switch (op) {
	case 0x7c:
	case 0x7d:
	case 0xd0: {
		host_op2_fn *f = NULL;
		if (op == 0x7c)
			f = pfx == 0x66 ? host_haddpd : pfx == 0xf2 ? host_haddps : NULL;
		else if (op == 0x7d)
			f = pfx == 0x66 ? host_hsubpd : pfx == 0xf2 ? host_hsubps : NULL;
		else
			f = pfx == 0x66 ? host_addsubpd : pfx == 0xf2 ? host_addsubps : NULL;
		if (!f)
			return -1;
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, 16, 16);
		fl = f(&d, &s, cpu->fpu.mxcsr);
		fl = tiny_results(cpu, fl, &d, pfx == 0xf2 ? 4 : 0, pfx == 0x66 ? 2 : 0);
		sse_fp_flags(cpu, fl);
		*xreg(cpu, insn->reg) = d;
		return 0;
	}
	}
	return -1;
}

/* roundps/pd/ss/sd (66 0F3A 08-0B) */
int sse_round(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned op = insn->opcode, imm = insn->imm & 0xff;
	union xmm_reg s, d = *xreg(cpu, insn->reg);
	switch (op) {
	case 0x08 ... 0x0b: { /* roundps/pd/ss/sd */
		static host_op2_fn *const f[2][4] = {
			{ host_roundps, host_roundpd, host_roundss, host_roundsd },
			{ host_roundps_px, host_roundpd_px, host_roundss_px, host_roundsd_px },
		};
		static const uint8_t size[4] = { 16, 16, 4, 8 };
		unsigned k = op - 0x08;
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, size[k], k < 2 ? 16 : 0);
		uint32_t m = cpu->fpu.mxcsr;
		if (!(imm & 4))
			m = (m & ~MXCSR_RC) | ((imm & 3u) << 13);
		uint32_t fl = f[(imm >> 3) & 1][k](&d, &s, m);
		sse_fp_flags(cpu, fl);
		*xreg(cpu, insn->reg) = d;
		return 0;
	}
	}
	return -1;
}

/* dpps/dppd: products and sums one host operation at a time, in the
 * order the SDM gives, so rounding and flags come out as on hardware */
static uint32_t dot_product(union xmm_reg *d, const union xmm_reg *s, unsigned imm, bool dbl,
			    uint32_t mxcsr)
{
	uint32_t fl = 0;
	union xmm_reg p[4], z = { .q = { 0, 0 } };
	unsigned n = dbl ? 2 : 4;
	for (unsigned i = 0; i < n; i++) {
		p[i] = z;
		if (imm & (0x10u << i)) {
			union xmm_reg a = z, b = z;
			if (dbl) {
				a.q[0] = d->q[i];
				b.q[0] = s->q[i];
				fl |= host_mulsd(&a, &b, mxcsr);
			} else {
				a.d[0] = d->d[i];
				b.d[0] = s->d[i];
				fl |= host_mulss(&a, &b, mxcsr);
			}
			p[i] = a;
		}
	}
	/* an unmasked exception of the multiplies ends the instruction
	 * before the additions */
	if (fl & ~(mxcsr >> 7) & MXCSR_FLAGS)
		return fl;
	union xmm_reg sum;
	uint32_t afl = 0;
	if (dbl) {
		sum = p[0];
		afl |= host_addsd(&sum, &p[1], mxcsr);
	} else {
		union xmm_reg s2 = p[2];
		sum = p[0];
		afl |= host_addss(&sum, &p[1], mxcsr);
		afl |= host_addss(&s2, &p[3], mxcsr);
		afl |= host_addss(&sum, &s2, mxcsr);
	}
	fl |= afl;
	union xmm_reg r = z;
	for (unsigned i = 0; i < n; i++) {
		if (imm & (1u << i)) {
			if (dbl)
				r.q[i] = sum.q[0];
			else
				r.d[i] = sum.d[0];
		}
	}
	*d = r;
	return fl;
}

/* dpps / dppd (66 0F3A 40, 41) */
int sse_dot_product(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned op = insn->opcode, imm = insn->imm & 0xff;
	union xmm_reg s, d = *xreg(cpu, insn->reg);
	switch (op) {
	case 0x40:
	case 0x41: { /* dpps / dppd */
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, 16, 16);
		uint32_t fl = dot_product(&d, &s, op == 0x41 ? (imm & 0x33) : imm, op == 0x41,
					  cpu->fpu.mxcsr);
		sse_fp_flags(cpu, fl);
		*xreg(cpu, insn->reg) = d;
		return 0;
	}
	}
	return -1;
}
