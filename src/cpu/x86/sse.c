/* SSE, SSE2, SSE3, SSSE3, SSE4.1 and MMX for the software CPU.
 *
 * Integer SIMD is plain C over union xmm_reg, written once for both
 * widths: an MMX register is the low 8 bytes of a union xmm_reg, so
 * "width" 8 or 16 is the only difference.  Floating-point arithmetic runs
 * on the host's SSE unit under the guest's MXCSR (sse_host.h); compares,
 * moves, shuffles and the rcp/rsqrt approximations are C.
 *
 * rcpps/rsqrtps: the architecture allows any result within 1.5 * 2^-12
 * relative error, and Intel and AMD use different tables.  We return the
 * exact reciprocal (square root reciprocal) rounded to nearest with 12
 * significant bits, which is within 2^-12 of the true value; denormal
 * inputs count as zero and results too small for a normal float are
 * flushed to zero, as on hardware.  The differential tester compares
 * these two instructions with that tolerance. */
#include <math.h>
#include <string.h>

#include "cpu/x86/exec.h"
#include "cpu/x86/fpu_internal.h"
#include "cpu/x86/internal.h"
#include "cpu/x86/simd_features.h"
#include "cpu/x86/sse_host.h"

/* ---- host floating point ---- */

SSE_HOST_OP2(addps, "addps")
SSE_HOST_OP2(addpd, "addpd")
SSE_HOST_OP2(addss, "addss")
SSE_HOST_OP2(addsd, "addsd")
SSE_HOST_OP2(subps, "subps")
SSE_HOST_OP2(subpd, "subpd")
SSE_HOST_OP2(subss, "subss")
SSE_HOST_OP2(subsd, "subsd")
SSE_HOST_OP2(mulps, "mulps")
SSE_HOST_OP2(mulpd, "mulpd")
SSE_HOST_OP2(mulss, "mulss")
SSE_HOST_OP2(mulsd, "mulsd")
SSE_HOST_OP2(divps, "divps")
SSE_HOST_OP2(divpd, "divpd")
SSE_HOST_OP2(divss, "divss")
SSE_HOST_OP2(divsd, "divsd")
SSE_HOST_OP2(minps, "minps")
SSE_HOST_OP2(minpd, "minpd")
SSE_HOST_OP2(minss, "minss")
SSE_HOST_OP2(minsd, "minsd")
SSE_HOST_OP2(maxps, "maxps")
SSE_HOST_OP2(maxpd, "maxpd")
SSE_HOST_OP2(maxss, "maxss")
SSE_HOST_OP2(maxsd, "maxsd")
SSE_HOST_OP2(sqrtps, "sqrtps")
SSE_HOST_OP2(sqrtpd, "sqrtpd")
SSE_HOST_OP2(sqrtss, "sqrtss")
SSE_HOST_OP2(sqrtsd, "sqrtsd")
SSE_HOST_OP2(cvtps2pd, "cvtps2pd")
SSE_HOST_OP2(cvtpd2ps, "cvtpd2ps")
SSE_HOST_OP2(cvtss2sd, "cvtss2sd")
SSE_HOST_OP2(cvtsd2ss, "cvtsd2ss")
SSE_HOST_OP2(cvtdq2ps, "cvtdq2ps")
SSE_HOST_OP2(cvtps2dq, "cvtps2dq")
SSE_HOST_OP2(cvttps2dq, "cvttps2dq")
SSE_HOST_OP2(cvtdq2pd, "cvtdq2pd")
SSE_HOST_OP2(cvtpd2dq, "cvtpd2dq")
SSE_HOST_OP2(cvttpd2dq, "cvttpd2dq")
SSE_HOST_OP2(addsubps, "addsubps")
SSE_HOST_OP2(addsubpd, "addsubpd")
SSE_HOST_OP2(haddps, "haddps")
SSE_HOST_OP2(haddpd, "haddpd")
SSE_HOST_OP2(hsubps, "hsubps")
SSE_HOST_OP2(hsubpd, "hsubpd")
SSE_HOST_OP2(roundps, "roundps $4,")
SSE_HOST_OP2(roundpd, "roundpd $4,")
SSE_HOST_OP2(roundss, "roundss $4,")
SSE_HOST_OP2(roundsd, "roundsd $4,")
SSE_HOST_OP2(roundps_px, "roundps $12,")
SSE_HOST_OP2(roundpd_px, "roundpd $12,")
SSE_HOST_OP2(roundss_px, "roundss $12,")
SSE_HOST_OP2(roundsd_px, "roundsd $12,")

#define SSE_HOST_CMP(sfx)                          \
	SSE_HOST_OP2(cmp##sfx##0, "cmp" #sfx " $0,") \
	SSE_HOST_OP2(cmp##sfx##1, "cmp" #sfx " $1,") \
	SSE_HOST_OP2(cmp##sfx##2, "cmp" #sfx " $2,") \
	SSE_HOST_OP2(cmp##sfx##3, "cmp" #sfx " $3,") \
	SSE_HOST_OP2(cmp##sfx##4, "cmp" #sfx " $4,") \
	SSE_HOST_OP2(cmp##sfx##5, "cmp" #sfx " $5,") \
	SSE_HOST_OP2(cmp##sfx##6, "cmp" #sfx " $6,") \
	SSE_HOST_OP2(cmp##sfx##7, "cmp" #sfx " $7,")
SSE_HOST_CMP(ps)
SSE_HOST_CMP(pd)
SSE_HOST_CMP(ss)
SSE_HOST_CMP(sd)

SSE_HOST_FROM_INT(cvtsi2ss32, "cvtsi2ssl", int32_t)
SSE_HOST_FROM_INT(cvtsi2ss64, "cvtsi2ssq", int64_t)
SSE_HOST_FROM_INT(cvtsi2sd32, "cvtsi2sdl", int32_t)
SSE_HOST_FROM_INT(cvtsi2sd64, "cvtsi2sdq", int64_t)
SSE_HOST_TO_INT(cvtss2si32, "cvtss2si", int32_t)
SSE_HOST_TO_INT(cvtss2si64, "cvtss2si", int64_t)
SSE_HOST_TO_INT(cvttss2si32, "cvttss2si", int32_t)
SSE_HOST_TO_INT(cvttss2si64, "cvttss2si", int64_t)
SSE_HOST_TO_INT(cvtsd2si32, "cvtsd2si", int32_t)
SSE_HOST_TO_INT(cvtsd2si64, "cvtsd2si", int64_t)
SSE_HOST_TO_INT(cvttsd2si32, "cvttsd2si", int32_t)
SSE_HOST_TO_INT(cvttsd2si64, "cvttsd2si", int64_t)
SSE_HOST_COMI(comiss, "comiss")
SSE_HOST_COMI(ucomiss, "ucomiss")
SSE_HOST_COMI(comisd, "comisd")
SSE_HOST_COMI(ucomisd, "ucomisd")

typedef uint32_t host_op2_fn(union xmm_reg *d, const union xmm_reg *s, uint32_t mxcsr);

static host_op2_fn *const host_cmp[4][8] = {
	{ host_cmpps0, host_cmpps1, host_cmpps2, host_cmpps3, host_cmpps4, host_cmpps5, host_cmpps6, host_cmpps7 },
	{ host_cmppd0, host_cmppd1, host_cmppd2, host_cmppd3, host_cmppd4, host_cmppd5, host_cmppd6, host_cmppd7 },
	{ host_cmpss0, host_cmpss1, host_cmpss2, host_cmpss3, host_cmpss4, host_cmpss5, host_cmpss6, host_cmpss7 },
	{ host_cmpsd0, host_cmpsd1, host_cmpsd2, host_cmpsd3, host_cmpsd4, host_cmpsd5, host_cmpsd6, host_cmpsd7 },
};

/* ---- checks and operands ---- */

static __attribute__((noreturn)) void sse_ud(struct x86_cpu *cpu)
{
	x86_raise_exception(cpu, X86_EXC_UD, 0);
}

static void need_sse(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	if ((insn->prefixes & X86_PFX_LOCK) || (cpu->cr0 & X86_CR0_EM) ||
	    !(cpu->cr4 & X86_CR4_OSFXSR))
		sse_ud(cpu);
	if (cpu->cr0 & X86_CR0_TS)
		x86_raise_exception(cpu, X86_EXC_NM, 0);
}

/* An MMX instruction: the same #UD/#NM rules as x87 (no OSFXSR needed),
 * a pending x87 exception first, then the switch to MMX use of the x87
 * registers: TOP = 0 and every tag valid. */
static void need_mmx(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	if ((insn->prefixes & X86_PFX_LOCK) || (cpu->cr0 & X86_CR0_EM))
		sse_ud(cpu);
	x87_check_pending(cpu);
	cpu->fpu.top = 0;
	cpu->fpu.ftw = 0;
}

/* Store the flags a host operation raised; #XM (or #UD without
 * CR4.OSXMMEXCPT) when one of them is unmasked, before any result is
 * written. */
/* With underflow unmasked, a tiny result is an underflow even when it
 * is exact; the masked host run only flags inexact tiny results.  n32
 * and n64 say how many float/double lanes of r are results. */
static uint32_t tiny_results(const struct x86_cpu *cpu, uint32_t flags, const union xmm_reg *r,
			     unsigned n32, unsigned n64)
{
	if ((cpu->fpu.mxcsr & (1u << 11)) || (flags & 0x10))
		return flags;
	for (unsigned i = 0; i < n32; i++)
		if (!(r->d[i] & 0x7f800000u) && (r->d[i] & 0x007fffffu))
			return flags | 0x10;
	for (unsigned i = 0; i < n64; i++)
		if (!(r->q[i] & 0x7ff0000000000000ull) && (r->q[i] & 0x000fffffffffffffull))
			return flags | 0x10;
	return flags;
}

static void sse_fp_flags(struct x86_cpu *cpu, uint32_t flags)
{
	uint32_t masks = (cpu->fpu.mxcsr >> 7) & MXCSR_FLAGS;
	/* pre-computation exceptions (invalid, denormal, divide by zero)
	 * are reported alone when one of them is unmasked: the arithmetic
	 * that would give the others is not done */
	uint32_t pre = flags & 0x07;
	if (pre & ~masks)
		flags = pre;
	/* Known difference: with overflow or underflow unmasked, hardware
	 * decides inexact from the result rounded with an unbounded
	 * exponent; the masked host run reports the inexact of the
	 * denormalized (or infinite) result instead, so PE may differ
	 * when such an #XM is taken. */
	cpu->fpu.mxcsr |= flags;
	if (flags & ~masks)
		x86_raise_exception(cpu, (cpu->cr4 & X86_CR4_OSXMMEXCPT) ? X86_EXC_XM : X86_EXC_UD, 0);
}

static uint64_t sse_ea(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned align)
{
	uint64_t ea = x86_insn_ea(cpu, insn);
	if (align && (x86_lin_unchecked(cpu, insn->seg, ea) & (align - 1)))
		x86_raise_exception(cpu, X86_EXC_GP, 0);
	return ea;
}

static void read_m(struct x86_cpu *cpu, const struct x86_insn *insn, union xmm_reg *out,
		   unsigned size, unsigned align)
{
	uint64_t ea = sse_ea(cpu, insn, align);
	memset(out, 0, sizeof(*out));
	x86_read_mem(cpu, insn->seg, ea, out, size);
}

static void write_m(struct x86_cpu *cpu, const struct x86_insn *insn, const void *v,
		    unsigned size, unsigned align)
{
	uint64_t ea = sse_ea(cpu, insn, align);
	x86_write_mem(cpu, insn->seg, ea, v, size);
}

static union xmm_reg *xreg(struct x86_cpu *cpu, unsigned n)
{
	return &cpu->fpu.xmm[n & 15];
}

static uint64_t mm_get(struct x86_cpu *cpu, unsigned n)
{
	return cpu->fpu.st[n & 7].mantissa;
}

static void mm_set(struct x86_cpu *cpu, unsigned n, uint64_t v)
{
	cpu->fpu.st[n & 7].mantissa = v;
	cpu->fpu.st[n & 7].sign_exp = 0xffff;
}

/* The r/m source: an XMM register, or size bytes of memory (the rest
 * zero) with the alignment the instruction demands */
static void xmm_src(struct x86_cpu *cpu, const struct x86_insn *insn, union xmm_reg *out,
		    unsigned size, unsigned align)
{
	if (insn->mod == 3)
		*out = *xreg(cpu, insn->rm);
	else
		read_m(cpu, insn, out, size, align);
}

/* The r/m source of an instruction that has an MMX form (width 8) and an
 * XMM form (width 16, aligned memory) */
static void w_src(struct x86_cpu *cpu, const struct x86_insn *insn, union xmm_reg *out,
		  unsigned width)
{
	if (width == 16) {
		xmm_src(cpu, insn, out, 16, 16);
	} else if (insn->mod == 3) {
		memset(out, 0, sizeof(*out));
		out->q[0] = mm_get(cpu, insn->rm);
	} else {
		read_m(cpu, insn, out, 8, 0);
	}
}

static void w_dst_get(struct x86_cpu *cpu, unsigned reg, union xmm_reg *out, unsigned width)
{
	if (width == 16) {
		*out = *xreg(cpu, reg);
	} else {
		memset(out, 0, sizeof(*out));
		out->q[0] = mm_get(cpu, reg);
	}
}

static void w_dst_set(struct x86_cpu *cpu, unsigned reg, const union xmm_reg *v, unsigned width)
{
	if (width == 16)
		*xreg(cpu, reg) = *v;
	else
		mm_set(cpu, reg, v->q[0]);
}

/* ---- integer SIMD ---- */

static inline int8_t sat_s8(int v) { return (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v); }
static inline uint8_t sat_u8(int v) { return (uint8_t)(v > 255 ? 255 : v < 0 ? 0 : v); }
static inline int16_t sat_s16(int v) { return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v); }
static inline uint16_t sat_u16(int64_t v) { return (uint16_t)(v > 65535 ? 65535 : v < 0 ? 0 : v); }

#define EACH(n, stmt)                            \
	do {                                     \
		for (unsigned i = 0; i < (n); i++) \
			stmt;                    \
	} while (0)

static void shift_elems(union xmm_reg *r, const union xmm_reg *a, uint64_t count, unsigned esize,
			int kind, unsigned width)
{
	unsigned bits = esize * 8, n = width / esize;
	/* kind: 0 logical right, 1 arithmetic right, 2 left */
	if (count >= bits && kind != 1) {
		memset(r, 0, sizeof(*r));
		return;
	}
	if (count >= bits)
		count = bits - 1;
	for (unsigned i = 0; i < n; i++) {
		switch (esize) {
		case 2:
			r->w[i] = (uint16_t)(kind == 0 ? a->w[i] >> count :
					     kind == 1 ? (uint16_t)((int16_t)a->w[i] >> count) :
							 a->w[i] << count);
			break;
		case 4:
			r->d[i] = kind == 0 ? a->d[i] >> count :
				  kind == 1 ? (uint32_t)((int32_t)a->d[i] >> count) : a->d[i] << count;
			break;
		default:
			r->q[i] = kind == 0 ? a->q[i] >> count :
				  kind == 1 ? (uint64_t)((int64_t)a->q[i] >> count) : a->q[i] << count;
			break;
		}
	}
}

/* psrldq/pslldq and palignr: bytes of the 2*width-byte value hi:lo shifted
 * right by n bytes */
static void byte_shift_right(union xmm_reg *r, const union xmm_reg *hi, const union xmm_reg *lo,
			     unsigned n, unsigned width)
{
	uint8_t t[32] = { 0 };
	memcpy(t, lo->b, width);
	memcpy(t + width, hi->b, width);
	union xmm_reg out = { .q = { 0, 0 } };
	for (unsigned i = 0; i < width; i++)
		out.b[i] = i + n < 2 * width ? t[i + n] : 0;
	*r = out;
}

/* Two-operand integer ops shared by MMX and SSE: r = a OP b.  key is
 * map << 8 | opcode.  Returns false when key is not one of them. */
static bool int_binop(unsigned key, union xmm_reg *r, const union xmm_reg *a,
		      const union xmm_reg *b, unsigned width)
{
	union xmm_reg t = { .q = { 0, 0 } };
	unsigned nb = width, nw = width / 2, nd = width / 4, nq = width / 8;
	switch (key) {
	case 0x160: EACH(nb / 2, (t.b[2 * i] = a->b[i], t.b[2 * i + 1] = b->b[i])); break;
	case 0x161: EACH(nw / 2, (t.w[2 * i] = a->w[i], t.w[2 * i + 1] = b->w[i])); break;
	case 0x162: EACH(nd / 2, (t.d[2 * i] = a->d[i], t.d[2 * i + 1] = b->d[i])); break;
	case 0x168: EACH(nb / 2, (t.b[2 * i] = a->b[nb / 2 + i], t.b[2 * i + 1] = b->b[nb / 2 + i])); break;
	case 0x169: EACH(nw / 2, (t.w[2 * i] = a->w[nw / 2 + i], t.w[2 * i + 1] = b->w[nw / 2 + i])); break;
	case 0x16a: EACH(nd / 2, (t.d[2 * i] = a->d[nd / 2 + i], t.d[2 * i + 1] = b->d[nd / 2 + i])); break;
	case 0x16c: t.q[0] = a->q[0]; t.q[1] = b->q[0]; break;
	case 0x16d: t.q[0] = a->q[1]; t.q[1] = b->q[1]; break;
	case 0x163: /* packsswb */
		EACH(nw, (t.b[i] = (uint8_t)sat_s8((int16_t)a->w[i]), t.b[nw + i] = (uint8_t)sat_s8((int16_t)b->w[i])));
		break;
	case 0x167: /* packuswb */
		EACH(nw, (t.b[i] = sat_u8((int16_t)a->w[i]), t.b[nw + i] = sat_u8((int16_t)b->w[i])));
		break;
	case 0x16b: /* packssdw */
		EACH(nd, (t.w[i] = (uint16_t)sat_s16((int32_t)a->d[i]), t.w[nd + i] = (uint16_t)sat_s16((int32_t)b->d[i])));
		break;
	case 0x164: EACH(nb, t.b[i] = (int8_t)a->b[i] > (int8_t)b->b[i] ? 0xff : 0); break;
	case 0x165: EACH(nw, t.w[i] = (int16_t)a->w[i] > (int16_t)b->w[i] ? 0xffff : 0); break;
	case 0x166: EACH(nd, t.d[i] = (int32_t)a->d[i] > (int32_t)b->d[i] ? ~0u : 0); break;
	case 0x174: EACH(nb, t.b[i] = a->b[i] == b->b[i] ? 0xff : 0); break;
	case 0x175: EACH(nw, t.w[i] = a->w[i] == b->w[i] ? 0xffff : 0); break;
	case 0x176: EACH(nd, t.d[i] = a->d[i] == b->d[i] ? ~0u : 0); break;
	case 0x1d1: shift_elems(&t, a, b->q[0], 2, 0, width); break;
	case 0x1d2: shift_elems(&t, a, b->q[0], 4, 0, width); break;
	case 0x1d3: shift_elems(&t, a, b->q[0], 8, 0, width); break;
	case 0x1e1: shift_elems(&t, a, b->q[0], 2, 1, width); break;
	case 0x1e2: shift_elems(&t, a, b->q[0], 4, 1, width); break;
	case 0x1f1: shift_elems(&t, a, b->q[0], 2, 2, width); break;
	case 0x1f2: shift_elems(&t, a, b->q[0], 4, 2, width); break;
	case 0x1f3: shift_elems(&t, a, b->q[0], 8, 2, width); break;
	case 0x1d4: EACH(nq, t.q[i] = a->q[i] + b->q[i]); break;
	case 0x1fb: EACH(nq, t.q[i] = a->q[i] - b->q[i]); break;
	case 0x1d5: EACH(nw, t.w[i] = (uint16_t)((int16_t)a->w[i] * (int16_t)b->w[i])); break;
	case 0x1e5: EACH(nw, t.w[i] = (uint16_t)(((int16_t)a->w[i] * (int16_t)b->w[i]) >> 16)); break;
	case 0x1e4: EACH(nw, t.w[i] = (uint16_t)(((uint32_t)a->w[i] * b->w[i]) >> 16)); break;
	case 0x1d8: EACH(nb, t.b[i] = sat_u8(a->b[i] - b->b[i])); break;
	case 0x1d9: EACH(nw, t.w[i] = sat_u16((int)a->w[i] - b->w[i])); break;
	case 0x1dc: EACH(nb, t.b[i] = sat_u8(a->b[i] + b->b[i])); break;
	case 0x1dd: EACH(nw, t.w[i] = sat_u16((int)a->w[i] + b->w[i])); break;
	case 0x1e8: EACH(nb, t.b[i] = (uint8_t)sat_s8((int8_t)a->b[i] - (int8_t)b->b[i])); break;
	case 0x1e9: EACH(nw, t.w[i] = (uint16_t)sat_s16((int16_t)a->w[i] - (int16_t)b->w[i])); break;
	case 0x1ec: EACH(nb, t.b[i] = (uint8_t)sat_s8((int8_t)a->b[i] + (int8_t)b->b[i])); break;
	case 0x1ed: EACH(nw, t.w[i] = (uint16_t)sat_s16((int16_t)a->w[i] + (int16_t)b->w[i])); break;
	case 0x1da: EACH(nb, t.b[i] = a->b[i] < b->b[i] ? a->b[i] : b->b[i]); break;
	case 0x1de: EACH(nb, t.b[i] = a->b[i] > b->b[i] ? a->b[i] : b->b[i]); break;
	case 0x1ea: EACH(nw, t.w[i] = (int16_t)a->w[i] < (int16_t)b->w[i] ? a->w[i] : b->w[i]); break;
	case 0x1ee: EACH(nw, t.w[i] = (int16_t)a->w[i] > (int16_t)b->w[i] ? a->w[i] : b->w[i]); break;
	case 0x1db: EACH(nq, t.q[i] = a->q[i] & b->q[i]); break;
	case 0x1df: EACH(nq, t.q[i] = ~a->q[i] & b->q[i]); break;
	case 0x1eb: EACH(nq, t.q[i] = a->q[i] | b->q[i]); break;
	case 0x1ef: EACH(nq, t.q[i] = a->q[i] ^ b->q[i]); break;
	case 0x1e0: EACH(nb, t.b[i] = (uint8_t)((a->b[i] + b->b[i] + 1) >> 1)); break;
	case 0x1e3: EACH(nw, t.w[i] = (uint16_t)(((uint32_t)a->w[i] + b->w[i] + 1) >> 1)); break;
	case 0x1f4: EACH(nq, t.q[i] = (uint64_t)a->d[2 * i] * b->d[2 * i]); break;
	case 0x1f5:
		EACH(nd, t.d[i] = (uint32_t)((int32_t)(int16_t)a->w[2 * i] * (int16_t)b->w[2 * i] +
					     (int32_t)(int16_t)a->w[2 * i + 1] * (int16_t)b->w[2 * i + 1]));
		break;
	case 0x1f6: /* psadbw */
		for (unsigned g = 0; g < nq; g++) {
			unsigned s = 0;
			for (unsigned k = 0; k < 8; k++) {
				int d = a->b[8 * g + k] - b->b[8 * g + k];
				s += (unsigned)(d < 0 ? -d : d);
			}
			t.q[g] = s;
		}
		break;
	case 0x1f8: EACH(nb, t.b[i] = (uint8_t)(a->b[i] - b->b[i])); break;
	case 0x1f9: EACH(nw, t.w[i] = (uint16_t)(a->w[i] - b->w[i])); break;
	case 0x1fa: EACH(nd, t.d[i] = a->d[i] - b->d[i]); break;
	case 0x1fc: EACH(nb, t.b[i] = (uint8_t)(a->b[i] + b->b[i])); break;
	case 0x1fd: EACH(nw, t.w[i] = (uint16_t)(a->w[i] + b->w[i])); break;
	case 0x1fe: EACH(nd, t.d[i] = a->d[i] + b->d[i]); break;
	/* SSSE3 */
	case 0x200: EACH(nb, t.b[i] = (b->b[i] & 0x80) ? 0 : a->b[b->b[i] & (width - 1)]); break;
	case 0x201:
		EACH(nw / 2, (t.w[i] = (uint16_t)(a->w[2 * i] + a->w[2 * i + 1]),
			      t.w[nw / 2 + i] = (uint16_t)(b->w[2 * i] + b->w[2 * i + 1])));
		break;
	case 0x202:
		EACH(nd / 2, (t.d[i] = a->d[2 * i] + a->d[2 * i + 1],
			      t.d[nd / 2 + i] = b->d[2 * i] + b->d[2 * i + 1]));
		break;
	case 0x203:
		EACH(nw / 2, (t.w[i] = (uint16_t)sat_s16((int16_t)a->w[2 * i] + (int16_t)a->w[2 * i + 1]),
			      t.w[nw / 2 + i] = (uint16_t)sat_s16((int16_t)b->w[2 * i] + (int16_t)b->w[2 * i + 1])));
		break;
	case 0x204:
		EACH(nw, t.w[i] = (uint16_t)sat_s16(a->b[2 * i] * (int8_t)b->b[2 * i] +
						    a->b[2 * i + 1] * (int8_t)b->b[2 * i + 1]));
		break;
	case 0x205:
		EACH(nw / 2, (t.w[i] = (uint16_t)(a->w[2 * i] - a->w[2 * i + 1]),
			      t.w[nw / 2 + i] = (uint16_t)(b->w[2 * i] - b->w[2 * i + 1])));
		break;
	case 0x206:
		EACH(nd / 2, (t.d[i] = a->d[2 * i] - a->d[2 * i + 1],
			      t.d[nd / 2 + i] = b->d[2 * i] - b->d[2 * i + 1]));
		break;
	case 0x207:
		EACH(nw / 2, (t.w[i] = (uint16_t)sat_s16((int16_t)a->w[2 * i] - (int16_t)a->w[2 * i + 1]),
			      t.w[nw / 2 + i] = (uint16_t)sat_s16((int16_t)b->w[2 * i] - (int16_t)b->w[2 * i + 1])));
		break;
	case 0x208:
		EACH(nb, t.b[i] = (int8_t)b->b[i] < 0 ? (uint8_t)-a->b[i] : b->b[i] ? a->b[i] : 0);
		break;
	case 0x209:
		EACH(nw, t.w[i] = (int16_t)b->w[i] < 0 ? (uint16_t)-a->w[i] : b->w[i] ? a->w[i] : 0);
		break;
	case 0x20a:
		EACH(nd, t.d[i] = (int32_t)b->d[i] < 0 ? -a->d[i] : b->d[i] ? a->d[i] : 0);
		break;
	case 0x20b:
		EACH(nw, t.w[i] = (uint16_t)((((int32_t)(int16_t)a->w[i] * (int16_t)b->w[i] >> 14) + 1) >> 1));
		break;
	case 0x21c: EACH(nb, t.b[i] = (uint8_t)((int8_t)b->b[i] < 0 ? -b->b[i] : b->b[i])); break;
	case 0x21d: EACH(nw, t.w[i] = (uint16_t)((int16_t)b->w[i] < 0 ? -b->w[i] : b->w[i])); break;
	case 0x21e: EACH(nd, t.d[i] = (int32_t)b->d[i] < 0 ? -b->d[i] : b->d[i]); break;
	default:
		if (width != 16)
			return false;
		/* SSE4.1, XMM only */
		switch (key) {
		case 0x228: EACH(2, t.q[i] = (uint64_t)((int64_t)(int32_t)a->d[2 * i] * (int32_t)b->d[2 * i])); break;
		case 0x229: EACH(2, t.q[i] = a->q[i] == b->q[i] ? ~0ull : 0); break;
		case 0x22b:
			EACH(4, (t.w[i] = sat_u16((int32_t)a->d[i]), t.w[4 + i] = sat_u16((int32_t)b->d[i])));
			break;
		case 0x238: EACH(16, t.b[i] = (int8_t)a->b[i] < (int8_t)b->b[i] ? a->b[i] : b->b[i]); break;
		case 0x239: EACH(4, t.d[i] = (int32_t)a->d[i] < (int32_t)b->d[i] ? a->d[i] : b->d[i]); break;
		case 0x23a: EACH(8, t.w[i] = a->w[i] < b->w[i] ? a->w[i] : b->w[i]); break;
		case 0x23b: EACH(4, t.d[i] = a->d[i] < b->d[i] ? a->d[i] : b->d[i]); break;
		case 0x23c: EACH(16, t.b[i] = (int8_t)a->b[i] > (int8_t)b->b[i] ? a->b[i] : b->b[i]); break;
		case 0x23d: EACH(4, t.d[i] = (int32_t)a->d[i] > (int32_t)b->d[i] ? a->d[i] : b->d[i]); break;
		case 0x23e: EACH(8, t.w[i] = a->w[i] > b->w[i] ? a->w[i] : b->w[i]); break;
		case 0x23f: EACH(4, t.d[i] = a->d[i] > b->d[i] ? a->d[i] : b->d[i]); break;
		case 0x240: EACH(4, t.d[i] = a->d[i] * b->d[i]); break;
		case 0x241: { /* phminposuw */
			unsigned m = 0;
			for (unsigned i = 1; i < 8; i++)
				if (b->w[i] < b->w[m])
					m = i;
			t.w[0] = b->w[m];
			t.w[1] = (uint16_t)m;
			break;
		}
		default:
			return false;
		}
	}
	*r = t;
	return true;
}

/* pmovsx/pmovzx (0F38 20-25, 30-35): source bytes and element sizes */
static bool pmov_ext(unsigned op, union xmm_reg *r, const union xmm_reg *s)
{
	static const uint8_t from[6] = { 1, 1, 1, 2, 2, 4 }, to[6] = { 2, 4, 8, 4, 8, 8 };
	unsigned k = op & 0xf;
	if (k > 5)
		return false;
	bool sign = (op & 0xf0) == 0x20;
	unsigned n = 16 / to[k];
	union xmm_reg t;
	for (unsigned i = 0; i < n; i++) {
		uint64_t v;
		switch (from[k]) {
		case 1: v = sign ? (uint64_t)(int64_t)(int8_t)s->b[i] : s->b[i]; break;
		case 2: v = sign ? (uint64_t)(int64_t)(int16_t)s->w[i] : s->w[i]; break;
		default: v = sign ? (uint64_t)(int64_t)(int32_t)s->d[i] : s->d[i]; break;
		}
		switch (to[k]) {
		case 2: t.w[i] = (uint16_t)v; break;
		case 4: t.d[i] = (uint32_t)v; break;
		default: t.q[i] = v; break;
		}
	}
	*r = t;
	return true;
}

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

/* ---- 0F map ---- */

static unsigned gpr_size(const struct x86_insn *insn)
{
	return (insn->rex & X86_REX_W) ? 8 : 4;
}

/* The 0F AE group: fxsave, fxrstor, ldmxcsr, stmxcsr */
static int sse_group_ae(struct x86_cpu *cpu, const struct x86_insn *insn)
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

/* Floating-point arithmetic 51, 58-5F, with the host function per prefix
 * (ps, pd, ss, sd) */
static int sse_fp_arith(struct x86_cpu *cpu, const struct x86_insn *insn, host_op2_fn *const fns[4],
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
static int sse_approx(struct x86_cpu *cpu, const struct x86_insn *insn, bool rsqrt)
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

static int sse_cvt_int(struct x86_cpu *cpu, const struct x86_insn *insn)
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

static int sse_moves(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned pfx = insn->mandatory, op = insn->opcode;
	union xmm_reg *d = xreg(cpu, insn->reg), s;
	bool mem = insn->mod != 3;
	switch (op) {
	case 0x10: /* movups/movupd/movss/movsd load */
		need_sse(cpu, insn);
		if (pfx == 0 || pfx == 0x66) {
			xmm_src(cpu, insn, &s, 16, 0);
			*d = s;
		} else {
			unsigned sz = pfx == 0xf3 ? 4 : 8;
			xmm_src(cpu, insn, &s, sz, 0);
			if (mem)
				*d = s;	/* upper part zeroed */
			else if (sz == 4)
				d->d[0] = s.d[0];
			else
				d->q[0] = s.q[0];
		}
		return 0;
	case 0x11: /* stores */
		need_sse(cpu, insn);
		if (pfx == 0 || pfx == 0x66) {
			if (mem)
				write_m(cpu, insn, d, 16, 0);
			else
				*xreg(cpu, insn->rm) = *d;
		} else {
			unsigned sz = pfx == 0xf3 ? 4 : 8;
			if (mem)
				write_m(cpu, insn, d, sz, 0);
			else if (sz == 4)
				xreg(cpu, insn->rm)->d[0] = d->d[0];
			else
				xreg(cpu, insn->rm)->q[0] = d->q[0];
		}
		return 0;
	case 0x12:
	case 0x16: {
		bool high = op == 0x16;
		need_sse(cpu, insn);
		if (pfx == 0xf3) { /* movsldup / movshdup */
			xmm_src(cpu, insn, &s, 16, 16);
			unsigned o = high ? 1 : 0;
			union xmm_reg t = { .d = { s.d[o], s.d[o], s.d[2 + o], s.d[2 + o] } };
			*d = t;
			return 0;
		}
		if (pfx == 0xf2) {
			if (high)
				return -1;
			xmm_src(cpu, insn, &s, 8, 0);	/* movddup */
			d->q[0] = d->q[1] = s.q[0];
			return 0;
		}
		if (!mem) {
			if (pfx != 0)
				return -1;
			s = *xreg(cpu, insn->rm);
			if (high)
				d->q[1] = s.q[0];	/* movlhps */
			else
				d->q[0] = s.q[1];	/* movhlps */
			return 0;
		}
		read_m(cpu, insn, &s, 8, 0);	/* movlps/movlpd/movhps/movhpd */
		d->q[high ? 1 : 0] = s.q[0];
		return 0;
	}
	case 0x13:
	case 0x17:
		if (!mem || (pfx != 0 && pfx != 0x66))
			return -1;
		need_sse(cpu, insn);
		write_m(cpu, insn, &d->q[op == 0x17 ? 1 : 0], 8, 0);
		return 0;
	case 0x28: /* movaps/movapd */
		if (pfx != 0 && pfx != 0x66)
			return -1;
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, 16, 16);
		*d = s;
		return 0;
	case 0x29:
		if (pfx != 0 && pfx != 0x66)
			return -1;
		need_sse(cpu, insn);
		if (mem)
			write_m(cpu, insn, d, 16, 16);
		else
			*xreg(cpu, insn->rm) = *d;
		return 0;
	case 0x2b: /* movntps/movntpd */
		if (!mem || (pfx != 0 && pfx != 0x66))
			return -1;
		need_sse(cpu, insn);
		write_m(cpu, insn, d, 16, 16);
		return 0;
	}
	return -1;
}

/* cmpps/pd/ss/sd (C2) */
static int sse_cmp(struct x86_cpu *cpu, const struct x86_insn *insn)
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

static int sse_comi(struct x86_cpu *cpu, const struct x86_insn *insn)
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

/* The FP-typed ops of 14/15/50/54-57/5A/5B/C6/7C/7D/D0/E6 */
static int sse_fp_misc(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned pfx = insn->mandatory, op = insn->opcode;
	union xmm_reg s, d = *xreg(cpu, insn->reg), t;
	uint32_t fl;
	switch (op) {
	case 0x14:
	case 0x15:
		if (pfx != 0 && pfx != 0x66)
			return -1;
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, 16, 16);
		if (pfx == 0x66) {
			t.q[0] = op == 0x14 ? d.q[0] : d.q[1];
			t.q[1] = op == 0x14 ? s.q[0] : s.q[1];
		} else {
			unsigned o = op == 0x14 ? 0 : 2;
			t.d[0] = d.d[o];
			t.d[1] = s.d[o];
			t.d[2] = d.d[o + 1];
			t.d[3] = s.d[o + 1];
		}
		*xreg(cpu, insn->reg) = t;
		return 0;
	case 0x50: /* movmskps/pd r32, xmm */
		if ((pfx != 0 && pfx != 0x66) || insn->mod != 3)
			return -1;
		need_sse(cpu, insn);
		s = *xreg(cpu, insn->rm);
		if (pfx == 0x66)
			fl = (uint32_t)((s.q[0] >> 63) | ((s.q[1] >> 63) << 1));
		else
			fl = (s.d[0] >> 31) | ((s.d[1] >> 31) << 1) | ((s.d[2] >> 31) << 2) |
			     ((s.d[3] >> 31) << 3);
		x86_set_reg(cpu, insn, insn->reg, 4, fl);
		return 0;
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
	case 0xc6: { /* shufps/shufpd */
		if (pfx != 0 && pfx != 0x66)
			return -1;
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, 16, 16);
		unsigned imm = insn->imm & 0xff;
		if (pfx == 0x66) {
			t.q[0] = d.q[imm & 1];
			t.q[1] = s.q[(imm >> 1) & 1];
		} else {
			t.d[0] = d.d[imm & 3];
			t.d[1] = d.d[(imm >> 2) & 3];
			t.d[2] = s.d[(imm >> 4) & 3];
			t.d[3] = s.d[(imm >> 6) & 3];
		}
		*xreg(cpu, insn->reg) = t;
		return 0;
	}
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

/* Integer SIMD of the 0F map and MMX moves */
static int sse_int_0f(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned pfx = insn->mandatory, op = insn->opcode;
	bool mem = insn->mod != 3;
	union xmm_reg s, d, t;

	switch (op) {
	case 0x6e: /* movd/movq mm/xmm, r/m32/64 */
	case 0x7e:
		if (op == 0x7e && pfx == 0xf3) { /* movq xmm, xmm/m64 */
			need_sse(cpu, insn);
			xmm_src(cpu, insn, &s, 8, 0);
			s.q[1] = 0;
			*xreg(cpu, insn->reg) = s;
			return 0;
		}
		if (pfx != 0 && pfx != 0x66)
			return -1;
		{
			unsigned sz = gpr_size(insn);
			if (pfx == 0x66)
				need_sse(cpu, insn);
			else
				need_mmx(cpu, insn);
			if (op == 0x6e) {
				uint64_t v = mem ? x86_read_mem_u(cpu, insn->seg, sse_ea(cpu, insn, 0), sz) :
						   x86_get_reg(cpu, insn, insn->rm, sz);
				if (pfx == 0x66) {
					union xmm_reg z = { .q = { v, 0 } };
					*xreg(cpu, insn->reg) = z;
				} else {
					mm_set(cpu, insn->reg, v);
				}
			} else {
				uint64_t v = pfx == 0x66 ? xreg(cpu, insn->reg)->q[0] : mm_get(cpu, insn->reg);
				if (sz == 4)
					v = (uint32_t)v;
				if (mem)
					x86_write_mem_u(cpu, insn->seg, sse_ea(cpu, insn, 0), sz, v);
				else
					x86_set_reg(cpu, insn, insn->rm, sz, v);
			}
		}
		return 0;
	case 0x6f: /* movq mm / movdqa / movdqu load */
		if (pfx == 0) {
			need_mmx(cpu, insn);
			w_src(cpu, insn, &s, 8);
			mm_set(cpu, insn->reg, s.q[0]);
		} else if (pfx == 0x66 || pfx == 0xf3) {
			need_sse(cpu, insn);
			xmm_src(cpu, insn, &s, 16, pfx == 0x66 ? 16 : 0);
			*xreg(cpu, insn->reg) = s;
		} else {
			return -1;
		}
		return 0;
	case 0x7f:
		if (pfx == 0) {
			need_mmx(cpu, insn);
			uint64_t v = mm_get(cpu, insn->reg);
			if (mem)
				write_m(cpu, insn, &v, 8, 0);
			else
				mm_set(cpu, insn->rm, v);
		} else if (pfx == 0x66 || pfx == 0xf3) {
			need_sse(cpu, insn);
			if (mem)
				write_m(cpu, insn, xreg(cpu, insn->reg), 16, pfx == 0x66 ? 16 : 0);
			else
				*xreg(cpu, insn->rm) = *xreg(cpu, insn->reg);
		} else {
			return -1;
		}
		return 0;
	case 0x70: { /* pshufw / pshufd / pshufhw / pshuflw */
		unsigned imm = insn->imm & 0xff;
		if (pfx == 0) {
			need_mmx(cpu, insn);
			w_src(cpu, insn, &s, 8);
			memset(&t, 0, sizeof(t));
			EACH(4, t.w[i] = s.w[(imm >> (2 * i)) & 3]);
			mm_set(cpu, insn->reg, t.q[0]);
			return 0;
		}
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, 16, 16);
		t = s;
		if (pfx == 0x66)
			EACH(4, t.d[i] = s.d[(imm >> (2 * i)) & 3]);
		else if (pfx == 0xf3)
			EACH(4, t.w[4 + i] = s.w[4 + ((imm >> (2 * i)) & 3)]);
		else
			EACH(4, t.w[i] = s.w[(imm >> (2 * i)) & 3]);
		*xreg(cpu, insn->reg) = t;
		return 0;
	}
	case 0x71:
	case 0x72:
	case 0x73: { /* shift by immediate */
		unsigned sub = insn->reg & 7, width = pfx == 0x66 ? 16 : 8;
		if (!(pfx == 0 || pfx == 0x66) || !insn->has_modrm || insn->mod != 3)
			return -1;
		unsigned esize = op == 0x71 ? 2 : op == 0x72 ? 4 : 8;
		int kind;
		if (sub == 2)
			kind = 0;
		else if (sub == 4 && op != 0x73)
			kind = 1;
		else if (sub == 6)
			kind = 2;
		else if ((sub == 3 || sub == 7) && op == 0x73 && width == 16)
			kind = 3;
		else
			return -1;
		if (width == 16)
			need_sse(cpu, insn);
		else
			need_mmx(cpu, insn);
		unsigned count = insn->imm & 0xff;
		w_dst_get(cpu, insn->rm, &d, width);
		if (kind == 3) {
			union xmm_reg z = { .q = { 0, 0 } };
			if (sub == 3) {
				byte_shift_right(&t, &z, &d, count > 16 ? 16 : count, 16);
			} else { /* pslldq */
				memset(&t, 0, sizeof(t));
				for (unsigned i = count; i < 16; i++)
					t.b[i] = d.b[i - count];
			}
		} else {
			shift_elems(&t, &d, count, esize, kind, width);
		}
		w_dst_set(cpu, insn->rm, &t, width);
		return 0;
	}
	case 0x77: /* emms */
		if (pfx != 0)
			return -1;
		need_mmx(cpu, insn);
		cpu->fpu.ftw = 0xffff;
		return 0;
	case 0xc3: /* movnti */
		if (pfx != 0 || !mem)
			return -1;
		if (insn->prefixes & X86_PFX_LOCK)
			sse_ud(cpu);
		x86_write_mem_u(cpu, insn->seg, sse_ea(cpu, insn, 0), gpr_size(insn),
				x86_get_reg(cpu, insn, insn->reg, gpr_size(insn)));
		return 0;
	case 0xc4: { /* pinsrw */
		unsigned width = pfx == 0x66 ? 16 : 8;
		if (pfx != 0 && pfx != 0x66)
			return -1;
		if (width == 16)
			need_sse(cpu, insn);
		else
			need_mmx(cpu, insn);
		uint16_t v = (uint16_t)(mem ? x86_read_mem_u(cpu, insn->seg, sse_ea(cpu, insn, 0), 2) :
					x86_get_reg(cpu, insn, insn->rm, 4));
		w_dst_get(cpu, insn->reg, &d, width);
		d.w[(insn->imm & 0xff) & (width / 2 - 1)] = v;
		w_dst_set(cpu, insn->reg, &d, width);
		return 0;
	}
	case 0xc5: { /* pextrw r32, mm/xmm, imm */
		unsigned width = pfx == 0x66 ? 16 : 8;
		if ((pfx != 0 && pfx != 0x66) || mem)
			return -1;
		if (width == 16)
			need_sse(cpu, insn);
		else
			need_mmx(cpu, insn);
		w_dst_get(cpu, insn->rm, &s, width);
		x86_set_reg(cpu, insn, insn->reg, 4, s.w[(insn->imm & 0xff) & (width / 2 - 1)]);
		return 0;
	}
	case 0xd6:
		if (pfx == 0x66) { /* movq xmm/m64, xmm */
			need_sse(cpu, insn);
			if (mem) {
				write_m(cpu, insn, &xreg(cpu, insn->reg)->q[0], 8, 0);
			} else {
				union xmm_reg z = { .q = { xreg(cpu, insn->reg)->q[0], 0 } };
				*xreg(cpu, insn->rm) = z;
			}
			return 0;
		}
		if (mem || (pfx != 0xf3 && pfx != 0xf2))
			return -1;
		need_sse(cpu, insn);
		need_mmx(cpu, insn);
		if (pfx == 0xf3) { /* movq2dq xmm, mm */
			union xmm_reg z = { .q = { mm_get(cpu, insn->rm), 0 } };
			*xreg(cpu, insn->reg) = z;
		} else { /* movdq2q mm, xmm */
			mm_set(cpu, insn->reg, xreg(cpu, insn->rm)->q[0]);
		}
		return 0;
	case 0xd7: { /* pmovmskb r32, mm/xmm */
		unsigned width = pfx == 0x66 ? 16 : 8;
		if ((pfx != 0 && pfx != 0x66) || mem)
			return -1;
		if (width == 16)
			need_sse(cpu, insn);
		else
			need_mmx(cpu, insn);
		w_dst_get(cpu, insn->rm, &s, width);
		uint32_t m = 0;
		EACH(width, m |= (uint32_t)(s.b[i] >> 7) << i);
		x86_set_reg(cpu, insn, insn->reg, 4, m);
		return 0;
	}
	case 0xe7: /* movntq / movntdq */
		if (!mem || (pfx != 0 && pfx != 0x66))
			return -1;
		if (pfx == 0x66) {
			need_sse(cpu, insn);
			write_m(cpu, insn, xreg(cpu, insn->reg), 16, 16);
		} else {
			need_mmx(cpu, insn);
			uint64_t v = mm_get(cpu, insn->reg);
			write_m(cpu, insn, &v, 8, 0);
		}
		return 0;
	case 0xf0: /* lddqu */
		if (pfx != 0xf2 || !mem)
			return -1;
		need_sse(cpu, insn);
		read_m(cpu, insn, &s, 16, 0);
		*xreg(cpu, insn->reg) = s;
		return 0;
	case 0xf7: { /* maskmovq / maskmovdqu: store bytes to DS:rDI */
		unsigned width = pfx == 0x66 ? 16 : 8;
		if ((pfx != 0 && pfx != 0x66) || mem)
			return -1;
		if (width == 16)
			need_sse(cpu, insn);
		else
			need_mmx(cpu, insn);
		w_dst_get(cpu, insn->reg, &s, width);
		w_dst_get(cpu, insn->rm, &d, width);
		int seg = insn->seg_override != X86_NR_SEGS ? insn->seg_override : X86_DS;
		uint64_t base = cpu->gpr[X86_RDI];
		if (insn->addrsize == 4)
			base = (uint32_t)base;
		else if (insn->addrsize == 2)
			base = (uint16_t)base;
		/* check every byte that will be written before writing any */
		uint8_t old[16];
		bool any = false;
		EACH(width, any |= (d.b[i] & 0x80) != 0);
		if (!any)
			return 0;
		x86_read_mem(cpu, seg, base, old, width);
		EACH(width, if (d.b[i] & 0x80) old[i] = s.b[i]);
		x86_write_mem(cpu, seg, base, old, width);
		return 0;
	}
	}

	/* the two-operand table ops: MMX without prefix, XMM with 66 */
	if (op == 0x6c || op == 0x6d) {
		if (pfx != 0x66)
			return -1;
	} else if (pfx != 0 && pfx != 0x66) {
		return -1;
	}
	unsigned width = pfx == 0x66 ? 16 : 8;
	if (width == 16)
		need_sse(cpu, insn);
	else
		need_mmx(cpu, insn);
	/* MMX punpckl* read only 32 bits of memory */
	if (width == 8 && mem && op >= 0x60 && op <= 0x62)
		read_m(cpu, insn, &s, 4, 0);
	else
		w_src(cpu, insn, &s, width);
	w_dst_get(cpu, insn->reg, &d, width);
	if (!int_binop(0x100 | op, &t, &d, &s, width))
		return -1;
	w_dst_set(cpu, insn->reg, &t, width);
	return 0;
}

static int sse_0f(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	static host_op2_fn *const add[4] = { host_addps, host_addpd, host_addss, host_addsd };
	static host_op2_fn *const mul[4] = { host_mulps, host_mulpd, host_mulss, host_mulsd };
	static host_op2_fn *const sub[4] = { host_subps, host_subpd, host_subss, host_subsd };
	static host_op2_fn *const min[4] = { host_minps, host_minpd, host_minss, host_minsd };
	static host_op2_fn *const dv[4] = { host_divps, host_divpd, host_divss, host_divsd };
	static host_op2_fn *const max[4] = { host_maxps, host_maxpd, host_maxss, host_maxsd };
	static host_op2_fn *const sqrt_[4] = { host_sqrtps, host_sqrtpd, host_sqrtss, host_sqrtsd };
	unsigned op = insn->opcode;
	switch (op) {
	case 0x10 ... 0x13:
	case 0x16:
	case 0x17:
	case 0x28:
	case 0x29:
	case 0x2b:
		return sse_moves(cpu, insn);
	case 0x14:
	case 0x15:
	case 0x50:
	case 0x54 ... 0x57:
	case 0x5a:
	case 0x5b:
	case 0x7c:
	case 0x7d:
	case 0xc6:
	case 0xd0:
	case 0xe6:
		return sse_fp_misc(cpu, insn);
	case 0x2a:
	case 0x2c:
	case 0x2d:
		return sse_cvt_int(cpu, insn);
	case 0x2e:
	case 0x2f:
		return sse_comi(cpu, insn);
	case 0x51: return sse_fp_arith(cpu, insn, sqrt_, false);
	case 0x52: return sse_approx(cpu, insn, true);
	case 0x53: return sse_approx(cpu, insn, false);
	case 0x58: return sse_fp_arith(cpu, insn, add, true);
	case 0x59: return sse_fp_arith(cpu, insn, mul, true);
	case 0x5c: return sse_fp_arith(cpu, insn, sub, true);
	case 0x5d: return sse_fp_arith(cpu, insn, min, false);
	case 0x5e: return sse_fp_arith(cpu, insn, dv, true);
	case 0x5f: return sse_fp_arith(cpu, insn, max, false);
	case 0xc2: return sse_cmp(cpu, insn);
	case 0xae: return sse_group_ae(cpu, insn);
	case 0x60 ... 0x6f:
	case 0x70 ... 0x77:
	case 0x7e:
	case 0x7f:
	case 0xc3 ... 0xc5:
	case 0xd1 ... 0xe5:
	case 0xe7 ... 0xfe:
		return sse_int_0f(cpu, insn);
	}
	return -1;
}

/* ---- 0F38 ---- */

static int sse_0f38(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned pfx = insn->mandatory, op = insn->opcode;
	union xmm_reg s, d, t;
	if (op <= 0x0b || (op >= 0x1c && op <= 0x1e)) { /* SSSE3: MMX and XMM forms */
		if (!X86_SIMD_HAS_SSSE3 || (pfx != 0 && pfx != 0x66))
			return -1;
		unsigned width = pfx == 0x66 ? 16 : 8;
		if (width == 16)
			need_sse(cpu, insn);
		else
			need_mmx(cpu, insn);
		w_src(cpu, insn, &s, width);
		w_dst_get(cpu, insn->reg, &d, width);
		if (!int_binop(0x200 | op, &t, &d, &s, width))
			return -1;
		w_dst_set(cpu, insn->reg, &t, width);
		return 0;
	}
	if (!X86_SIMD_HAS_SSE41 || pfx != 0x66)
		return -1;
	switch (op) {
	case 0x10:
	case 0x14:
	case 0x15: { /* pblendvb / blendvps / blendvpd with XMM0 */
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, 16, 16);
		d = *xreg(cpu, insn->reg);
		const union xmm_reg *m = xreg(cpu, 0);
		if (op == 0x10)
			EACH(16, if (m->b[i] & 0x80) d.b[i] = s.b[i]);
		else if (op == 0x14)
			EACH(4, if (m->d[i] >> 31) d.d[i] = s.d[i]);
		else
			EACH(2, if (m->q[i] >> 63) d.q[i] = s.q[i]);
		*xreg(cpu, insn->reg) = d;
		return 0;
	}
	case 0x17: { /* ptest */
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, 16, 16);
		d = *xreg(cpu, insn->reg);
		bool zf = !((d.q[0] & s.q[0]) | (d.q[1] & s.q[1]));
		bool cf = !((~d.q[0] & s.q[0]) | (~d.q[1] & s.q[1]));
		x86_set_arith_flags(cpu, (zf ? X86_RFLAGS_ZF : 0) | (cf ? X86_RFLAGS_CF : 0));
		return 0;
	}
	case 0x20 ... 0x25:
	case 0x30 ... 0x35: {
		static const uint8_t size[6] = { 8, 4, 2, 8, 4, 8 };
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, size[op & 0xf], 0);
		pmov_ext(op, &t, &s);
		*xreg(cpu, insn->reg) = t;
		return 0;
	}
	case 0x2a: /* movntdqa */
		if (insn->mod == 3)
			return -1;
		need_sse(cpu, insn);
		read_m(cpu, insn, &s, 16, 16);
		*xreg(cpu, insn->reg) = s;
		return 0;
	case 0x28:
	case 0x29:
	case 0x2b:
	case 0x38 ... 0x41:
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, 16, 16);
		d = *xreg(cpu, insn->reg);
		if (!int_binop(0x200 | op, &t, &d, &s, 16))
			return -1;
		*xreg(cpu, insn->reg) = t;
		return 0;
	}
	return -1;
}

/* ---- 0F3A ---- */

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

static int sse_0f3a(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned pfx = insn->mandatory, op = insn->opcode, imm = insn->imm & 0xff;
	bool mem = insn->mod != 3;
	union xmm_reg s, d, t;
	if (op == 0x0f) { /* palignr */
		if (!X86_SIMD_HAS_SSSE3 || (pfx != 0 && pfx != 0x66))
			return -1;
		unsigned width = pfx == 0x66 ? 16 : 8;
		if (width == 16)
			need_sse(cpu, insn);
		else
			need_mmx(cpu, insn);
		w_src(cpu, insn, &s, width);
		w_dst_get(cpu, insn->reg, &d, width);
		byte_shift_right(&t, &d, &s, imm > 2 * width ? 2 * width : imm, width);
		w_dst_set(cpu, insn->reg, &t, width);
		return 0;
	}
	if (!X86_SIMD_HAS_SSE41 || pfx != 0x66)
		return -1;
	d = *xreg(cpu, insn->reg);
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
	case 0x0c:
	case 0x0d:
	case 0x0e: /* blendps / blendpd / pblendw */
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, 16, 16);
		if (op == 0x0c)
			EACH(4, if (imm & (1u << i)) d.d[i] = s.d[i]);
		else if (op == 0x0d)
			EACH(2, if (imm & (1u << i)) d.q[i] = s.q[i]);
		else
			EACH(8, if (imm & (1u << i)) d.w[i] = s.w[i]);
		*xreg(cpu, insn->reg) = d;
		return 0;
	case 0x14:
	case 0x15:
	case 0x16:
	case 0x17: { /* pextrb/w/d/q, extractps to r/m */
		need_sse(cpu, insn);
		unsigned sz = op == 0x14 ? 1 : op == 0x15 ? 2 : (op == 0x16 && (insn->rex & X86_REX_W)) ? 8 : 4;
		uint64_t v = sz == 1 ? d.b[imm & 15] : sz == 2 ? d.w[imm & 7] : sz == 4 ? d.d[imm & 3] :
			     d.q[imm & 1];
		if (mem)
			x86_write_mem_u(cpu, insn->seg, sse_ea(cpu, insn, 0), sz, v);
		else
			x86_set_reg(cpu, insn, insn->rm, sz == 8 ? 8 : 4, v);
		return 0;
	}
	case 0x20:
	case 0x22: { /* pinsrb / pinsrd / pinsrq */
		need_sse(cpu, insn);
		unsigned sz = op == 0x20 ? 1 : (insn->rex & X86_REX_W) ? 8 : 4;
		uint64_t v = mem ? x86_read_mem_u(cpu, insn->seg, sse_ea(cpu, insn, 0), sz) :
			     x86_get_reg(cpu, insn, insn->rm, sz == 8 ? 8 : 4);
		if (sz == 1)
			d.b[imm & 15] = (uint8_t)v;
		else if (sz == 4)
			d.d[imm & 3] = (uint32_t)v;
		else
			d.q[imm & 1] = v;
		*xreg(cpu, insn->reg) = d;
		return 0;
	}
	case 0x21: { /* insertps */
		need_sse(cpu, insn);
		uint32_t v;
		if (mem) {
			read_m(cpu, insn, &s, 4, 0);
			v = s.d[0];
		} else {
			v = xreg(cpu, insn->rm)->d[(imm >> 6) & 3];
		}
		d.d[(imm >> 4) & 3] = v;
		EACH(4, if (imm & (1u << i)) d.d[i] = 0);
		*xreg(cpu, insn->reg) = d;
		return 0;
	}
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
	case 0x42: { /* mpsadbw */
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, 16, 16);
		unsigned so = (imm & 3) * 4, dof = ((imm >> 2) & 1) * 4;
		for (unsigned i = 0; i < 8; i++) {
			unsigned sum = 0;
			for (unsigned k = 0; k < 4; k++) {
				int x = d.b[dof + i + k] - s.b[so + k];
				sum += (unsigned)(x < 0 ? -x : x);
			}
			t.w[i] = (uint16_t)sum;
		}
		*xreg(cpu, insn->reg) = t;
		return 0;
	}
	}
	return -1;
}

int x86_exec_sse(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	switch (insn->map) {
	case X86_MAP_0F:
		return sse_0f(cpu, insn);
	case X86_MAP_0F38:
		return sse_0f38(cpu, insn);
	case X86_MAP_0F3A:
		return sse_0f3a(cpu, insn);
	}
	return -1;
}
