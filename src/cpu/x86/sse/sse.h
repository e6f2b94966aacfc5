/* What the SSE and MMX instruction groups in sse/ share: the host's
 * floating-point helpers instantiated once, the #UD/#NM/#XM checks, the
 * operand access for XMM and MMX registers and memory, and each group's
 * entry points, which sse.c routes opcodes to.
 *
 * Integer SIMD is plain C over union xmm_reg, written once for both
 * widths: an MMX register is the low 8 bytes of a union xmm_reg, so
 * "width" 8 or 16 is the only difference.  Floating-point arithmetic runs
 * on the host's SSE unit under the guest's MXCSR (sse/host.h); compares,
 * moves, shuffles and the rcp/rsqrt approximations are C. */
#ifndef MINIVMM_X86_SSE_SSE_H
#define MINIVMM_X86_SSE_SSE_H

#include <string.h>

#include "cpu/x86/exec.h"
#include "cpu/x86/fpu_internal.h"
#include "cpu/x86/internal.h"
#include "cpu/x86/simd_features.h"
#include "cpu/x86/sse/host.h"

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

/* ---- checks and operands ---- */

static inline __attribute__((noreturn)) void sse_ud(struct x86_cpu *cpu)
{
	x86_raise_exception(cpu, X86_EXC_UD, 0);
}

static inline void need_sse(struct x86_cpu *cpu, const struct x86_insn *insn)
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
static inline void need_mmx(struct x86_cpu *cpu, const struct x86_insn *insn)
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
static inline uint32_t tiny_results(const struct x86_cpu *cpu, uint32_t flags, const union xmm_reg *r,
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

static inline void sse_fp_flags(struct x86_cpu *cpu, uint32_t flags)
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

static inline uint64_t sse_ea(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned align)
{
	uint64_t ea = x86_insn_ea(cpu, insn);
	if (align && (x86_lin_unchecked(cpu, insn->seg, ea) & (align - 1)))
		x86_raise_exception(cpu, X86_EXC_GP, 0);
	return ea;
}

static inline void read_m(struct x86_cpu *cpu, const struct x86_insn *insn, union xmm_reg *out,
		   unsigned size, unsigned align)
{
	uint64_t ea = sse_ea(cpu, insn, align);
	memset(out, 0, sizeof(*out));
	x86_read_mem(cpu, insn->seg, ea, out, size);
}

static inline void write_m(struct x86_cpu *cpu, const struct x86_insn *insn, const void *v,
		    unsigned size, unsigned align)
{
	uint64_t ea = sse_ea(cpu, insn, align);
	x86_write_mem(cpu, insn->seg, ea, v, size);
}

static inline union xmm_reg *xreg(struct x86_cpu *cpu, unsigned n)
{
	return &cpu->fpu.xmm[n & 15];
}

static inline uint64_t mm_get(struct x86_cpu *cpu, unsigned n)
{
	return cpu->fpu.st[n & 7].mantissa;
}

static inline void mm_set(struct x86_cpu *cpu, unsigned n, uint64_t v)
{
	cpu->fpu.st[n & 7].mantissa = v;
	cpu->fpu.st[n & 7].sign_exp = 0xffff;
}

/* The r/m source: an XMM register, or size bytes of memory (the rest
 * zero) with the alignment the instruction demands */
static inline void xmm_src(struct x86_cpu *cpu, const struct x86_insn *insn, union xmm_reg *out,
		    unsigned size, unsigned align)
{
	if (insn->mod == 3)
		*out = *xreg(cpu, insn->rm);
	else
		read_m(cpu, insn, out, size, align);
}

/* The r/m source of an instruction that has an MMX form (width 8) and an
 * XMM form (width 16, aligned memory) */
static inline void w_src(struct x86_cpu *cpu, const struct x86_insn *insn, union xmm_reg *out,
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

static inline void w_dst_get(struct x86_cpu *cpu, unsigned reg, union xmm_reg *out, unsigned width)
{
	if (width == 16) {
		*out = *xreg(cpu, reg);
	} else {
		memset(out, 0, sizeof(*out));
		out->q[0] = mm_get(cpu, reg);
	}
}

static inline void w_dst_set(struct x86_cpu *cpu, unsigned reg, const union xmm_reg *v, unsigned width)
{
	if (width == 16)
		*xreg(cpu, reg) = *v;
	else
		mm_set(cpu, reg, v->q[0]);
}

/* stmt for i = 0 .. n-1 */
#define EACH(n, stmt)                            \
	do {                                     \
		for (unsigned i = 0; i < (n); i++) \
			stmt;                    \
	} while (0)

static inline unsigned gpr_size(const struct x86_insn *insn)
{
	return (insn->rex & X86_REX_W) ? 8 : 4;
}

/* ---- the groups: each returns -1 for an encoding it does not have ---- */

/* moves.c: register and memory moves, mask extraction */
int sse_moves(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_movmsk(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_int_moves(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_movntdqa(struct x86_cpu *cpu, const struct x86_insn *insn);

/* shuffle.c: shuffles, unpacks, blends, inserts and extracts, pmovsx/zx */
int sse_fp_shuffle(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_int_shuffle(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_blendv(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_pmov_ext(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_blend_imm(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_insert_extract(struct x86_cpu *cpu, const struct x86_insn *insn);

/* int_arith.c: integer SIMD arithmetic, logic, compares and shifts */
int sse_int_binop(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_shift_imm(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_ssse3_int(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_sse41_int(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_ptest(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_palignr(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_mpsadbw(struct x86_cpu *cpu, const struct x86_insn *insn);

/* fp_arith.c: floating-point arithmetic, logic, rounding, dot products */
int sse_fp_arith(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_fp_logic(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_fp_horizontal(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_round(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_dot_product(struct x86_cpu *cpu, const struct x86_insn *insn);

/* fp_convert.c: conversions between float formats and integers */
int sse_cvt_int(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_fp_convert(struct x86_cpu *cpu, const struct x86_insn *insn);

/* fp_compare.c: cmpps & co and (u)comiss/sd */
int sse_cmp(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_comi(struct x86_cpu *cpu, const struct x86_insn *insn);

/* state.c: fxsave, fxrstor, ldmxcsr, stmxcsr, emms */
int sse_group_ae(struct x86_cpu *cpu, const struct x86_insn *insn);
int sse_emms(struct x86_cpu *cpu, const struct x86_insn *insn);

#endif
