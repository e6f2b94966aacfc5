/* SSE..SSE4.1 and MMX semantics on the software CPU: NaN rules, DAZ/FTZ,
 * rounding, conversion overflow, the #XM/#UD/#NM/#GP conditions, the
 * fxsave image, and a few integer and SSSE3/SSE4.1 operations. */
#include <math.h>

#include "test.h"
#include "cpu_snippet.h"

/* instruction bytes, as the GNU assembler encodes them */
static const uint8_t c_addps[] = { 0x0f, 0x58, 0xc1 };
static const uint8_t c_mulss[] = { 0xf3, 0x0f, 0x59, 0xc1 };
static const uint8_t c_cvtss2si_eax[] = { 0xf3, 0x0f, 0x2d, 0xc0 };
static const uint8_t c_cvttsd2si_rax[] = { 0xf2, 0x48, 0x0f, 0x2c, 0xc0 };
static const uint8_t c_cvttsd2si_eax[] = { 0xf2, 0x0f, 0x2c, 0xc0 };
static const uint8_t c_divss[] = { 0xf3, 0x0f, 0x5e, 0xc1 };
static const uint8_t c_movaps_load[] = { 0x0f, 0x28, 0x13 };
static const uint8_t c_movups_load[] = { 0x0f, 0x10, 0x13 };
static const uint8_t c_fxsave64[] = { 0x48, 0x0f, 0xae, 0x03 };
static const uint8_t c_fxrstor64[] = { 0x48, 0x0f, 0xae, 0x0b };
static const uint8_t c_fxsave[] = { 0x0f, 0xae, 0x03 };
static const uint8_t c_ldmxcsr[] = { 0x0f, 0xae, 0x13 };
static const uint8_t c_stmxcsr[] = { 0x0f, 0xae, 0x1b };
static const uint8_t c_rcpps[] = { 0x0f, 0x53, 0xc1 };
static const uint8_t c_rsqrtss[] = { 0xf3, 0x0f, 0x52, 0xc1 };
static const uint8_t c_paddb_mm[] = { 0x0f, 0xfc, 0xc1 };
static const uint8_t c_emms[] = { 0x0f, 0x77 };
static const uint8_t c_movq2dq[] = { 0xf3, 0x0f, 0xd6, 0xd8 };
static const uint8_t c_pshufb[] = { 0x66, 0x0f, 0x38, 0x00, 0xc1 };
static const uint8_t c_palignr[] = { 0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x05 };
static const uint8_t c_ptest[] = { 0x66, 0x0f, 0x38, 0x17, 0xc1 };
static const uint8_t c_pmovsxbw[] = { 0x66, 0x0f, 0x38, 0x20, 0xc1 };
static const uint8_t c_maskmovdqu[] = { 0x66, 0x0f, 0xf7, 0xc1 };
static const uint8_t c_pcmpeqb_pmovmskb[] = { 0x66, 0x0f, 0x74, 0xc1, 0x66, 0x0f, 0xd7, 0xc0 };
static const uint8_t c_comisd[] = { 0x66, 0x0f, 0x2f, 0xc1 };
static const uint8_t c_ucomiss[] = { 0x0f, 0x2e, 0xc1 };
static const uint8_t c_cmpltps[] = { 0x0f, 0xc2, 0xc1, 0x01 };
static const uint8_t c_roundsd_floor[] = { 0x66, 0x0f, 0x3a, 0x0b, 0xc1, 0x09 };
static const uint8_t c_dpps[] = { 0x66, 0x0f, 0x3a, 0x40, 0xc1, 0xf1 };
static const uint8_t c_movd_rax[] = { 0x66, 0x48, 0x0f, 0x7e, 0xc0 };
static const uint8_t c_pinsrq[] = { 0x66, 0x48, 0x0f, 0x3a, 0x22, 0xc0, 0x01 };

static union xmm_reg *X(unsigned n)
{
	return &S.cpu->fpu.xmm[n];
}

TEST(sse_nan_propagation)
{
	NEED_CPU();
	/* SNaN in the destination wins over a QNaN source, and is quieted */
	X(0)->d[0] = 0x7f800001;
	X(1)->d[0] = 0x7fc00005;
	/* both QNaN: the first (destination) operand */
	X(0)->d[1] = 0xffc00007;
	X(1)->d[1] = 0x7fc00009;
	/* NaN and a number: the NaN */
	X(0)->d[2] = f32_bits(1.0f);
	X(1)->d[2] = 0x7fc0000b;
	/* inf - inf: the default NaN */
	X(0)->d[3] = 0x7f800000;
	X(1)->d[3] = 0xff800000;
	CHECK(SNIP_RUN(&S, c_addps));
	CHECK_EQ(X(0)->d[0], 0x7fc00001);
	CHECK_EQ(X(0)->d[1], 0xffc00007);
	CHECK_EQ(X(0)->d[2], 0x7fc0000b);
	CHECK_EQ(X(0)->d[3], 0xffc00000);
	CHECK_EQ(S.cpu->fpu.mxcsr & 0x3f, 0x01);	/* IE */
}

TEST(sse_daz_ftz)
{
	NEED_CPU();
	/* DAZ: a denormal input counts as zero, and no DE */
	S.cpu->fpu.mxcsr = 0x1f80 | 0x40;
	X(0)->d[0] = 0x00000010;
	X(1)->d[0] = f32_bits(1e30f);
	CHECK(SNIP_RUN(&S, c_mulss));
	CHECK_EQ(X(0)->d[0], 0);
	CHECK_EQ(S.cpu->fpu.mxcsr & 0x3f, 0);
	/* without DAZ the same input is a denormal operand */
	S.cpu->fpu.mxcsr = 0x1f80;
	X(0)->d[0] = 0x00000010;
	CHECK(SNIP_RUN(&S, c_mulss));
	CHECK(X(0)->d[0] != 0);
	CHECK(S.cpu->fpu.mxcsr & 0x02);
	/* FTZ: a tiny result becomes zero with UE and PE */
	S.cpu->fpu.mxcsr = 0x1f80 | 0x8000;
	X(0)->d[0] = f32_bits(1e-30f);
	X(1)->d[0] = f32_bits(1e-10f);
	CHECK(SNIP_RUN(&S, c_mulss));
	CHECK_EQ(X(0)->d[0], 0);
	CHECK_EQ(S.cpu->fpu.mxcsr & 0x3f, 0x30);
}

TEST(sse_rounding_modes)
{
	NEED_CPU();
	static const struct {
		uint32_t rc;
		float in;
		int32_t out;
	} t[] = {
		{ 0, 2.5f, 2 }, { 0, 3.5f, 4 }, { 0, -2.5f, -2 },
		{ 1, 2.5f, 2 }, { 1, -2.5f, -3 },
		{ 2, 2.5f, 3 }, { 2, -2.5f, -2 },
		{ 3, 2.7f, 2 }, { 3, -2.7f, -2 },
	};
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		S.cpu->fpu.mxcsr = 0x1f80 | (t[i].rc << 13);
		X(0)->d[0] = f32_bits(t[i].in);
		CHECK(SNIP_RUN(&S, c_cvtss2si_eax));
		CHECK_EQ((int32_t)S.cpu->gpr[X86_RAX], t[i].out);
		CHECK_EQ(S.cpu->fpu.mxcsr & 0x20, 0x20);	/* inexact */
	}
}

TEST(sse_cvt_overflow_indefinite)
{
	NEED_CPU();
	X(0)->q[0] = f64_bits(1e300);
	CHECK(SNIP_RUN(&S, c_cvttsd2si_rax));
	CHECK_EQ(S.cpu->gpr[X86_RAX], 0x8000000000000000ull);
	CHECK_EQ(S.cpu->fpu.mxcsr & 0x3f, 0x01);
	S.cpu->fpu.mxcsr = 0x1f80;
	S.cpu->gpr[X86_RAX] = ~0ull;
	X(0)->q[0] = f64_bits(-3e9);
	CHECK(SNIP_RUN(&S, c_cvttsd2si_eax));
	CHECK_EQ(S.cpu->gpr[X86_RAX], 0x80000000ull);	/* 32-bit write zero-extends */
	S.cpu->fpu.mxcsr = 0x1f80;
	X(0)->q[0] = 0x7ff8000000000000ull;	/* NaN */
	CHECK(SNIP_RUN(&S, c_cvttsd2si_eax));
	CHECK_EQ(S.cpu->gpr[X86_RAX], 0x80000000ull);
	X(0)->q[0] = f64_bits(-2.9);
	CHECK(SNIP_RUN(&S, c_cvttsd2si_rax));
	CHECK_EQ(S.cpu->gpr[X86_RAX], (uint64_t)-2);
}

TEST(sse_unmasked_exception_xm_or_ud)
{
	NEED_CPU();
	/* divide by zero unmasked: #XM with CR4.OSXMMEXCPT, destination kept */
	S.cpu->fpu.mxcsr = 0x1f80 & ~0x200;
	X(0)->d[0] = f32_bits(1.0f);
	X(1)->d[0] = 0;
	CHECK(!SNIP_RUN(&S, c_divss));
	CHECK_EQ(S.vector, X86_EXC_XM);
	CHECK_EQ(S.cpu->rip, SNIP_CODE);
	CHECK_EQ(X(0)->d[0], f32_bits(1.0f));
	CHECK_EQ(S.cpu->fpu.mxcsr & 0x3f, 0x04);
	/* without OSXMMEXCPT the same is #UD */
	S.cpu->fpu.mxcsr = 0x1f80 & ~0x200;
	S.cpu->cr4 &= ~X86_CR4_OSXMMEXCPT;
	CHECK(!SNIP_RUN(&S, c_divss));
	CHECK_EQ(S.vector, X86_EXC_UD);
	/* masked: infinity and the flag */
	snip_reset(&S);
	X(0)->d[0] = f32_bits(1.0f);
	X(1)->d[0] = 0;
	CHECK(SNIP_RUN(&S, c_divss));
	CHECK_EQ(X(0)->d[0], 0x7f800000);
}

TEST(sse_cr_checks)
{
	NEED_CPU();
	S.cpu->cr0 |= X86_CR0_TS;
	CHECK(!SNIP_RUN(&S, c_addps));
	CHECK_EQ(S.vector, X86_EXC_NM);
	CHECK(!SNIP_RUN(&S, c_fxsave64));
	CHECK_EQ(S.vector, X86_EXC_NM);
	S.cpu->cr0 &= ~X86_CR0_TS;
	S.cpu->cr0 |= X86_CR0_EM;
	CHECK(!SNIP_RUN(&S, c_addps));
	CHECK_EQ(S.vector, X86_EXC_UD);
	CHECK(!SNIP_RUN(&S, c_paddb_mm));
	CHECK_EQ(S.vector, X86_EXC_UD);
	S.cpu->cr0 &= ~X86_CR0_EM;
	S.cpu->cr4 &= ~X86_CR4_OSFXSR;
	CHECK(!SNIP_RUN(&S, c_addps));
	CHECK_EQ(S.vector, X86_EXC_UD);
	CHECK(SNIP_RUN(&S, c_paddb_mm));	/* MMX does not need OSFXSR */
	CHECK(!SNIP_RUN(&S, c_ldmxcsr));
	CHECK_EQ(S.vector, X86_EXC_UD);
}

TEST(sse_alignment)
{
	NEED_CPU();
	uint8_t v[32];
	for (int i = 0; i < 32; i++)
		v[i] = (uint8_t)i;
	snip_mem_write(&S, 0, v, sizeof(v));
	S.cpu->gpr[X86_RBX] = SNIP_DATA + 4;
	CHECK(!SNIP_RUN(&S, c_movaps_load));
	CHECK_EQ(S.vector, X86_EXC_GP);
	CHECK(SNIP_RUN(&S, c_movups_load));
	CHECK_EQ(X(2)->b[0], 4);
	CHECK_EQ(X(2)->b[15], 19);
	CHECK(!SNIP_RUN(&S, c_fxsave64));
	CHECK_EQ(S.vector, X86_EXC_GP);
	S.cpu->gpr[X86_RBX] = SNIP_DATA + 16;
	CHECK(SNIP_RUN(&S, c_movaps_load));
	CHECK_EQ(X(2)->b[0], 16);
}

/* 64-bit mode: the alignment that movaps and fxsave demand is of the
 * linear address, where DS, ES and SS have no base (a stale one from
 * legacy mode must not count) and FS and GS do */
TEST(sse_alignment_64bit_segment_bases)
{
	NEED_CPU();
	static const uint8_t fs_movaps_load[] = { 0x64, 0x0f, 0x28, 0x13 };
	S.cpu->gpr[X86_RBX] = SNIP_DATA + 16;
	S.cpu->seg[X86_DS].base = 8;
	S.cpu->seg[X86_SS].base = 4;
	CHECK(SNIP_RUN(&S, c_movaps_load));
	CHECK(SNIP_RUN(&S, c_fxsave64));
	S.cpu->seg[X86_FS].base = 8;
	CHECK(!SNIP_RUN(&S, fs_movaps_load));
	CHECK_EQ(S.vector, X86_EXC_GP);
	S.cpu->gpr[X86_RBX] = SNIP_DATA + 8;
	CHECK(SNIP_RUN(&S, fs_movaps_load));
}

/* cvtpd2pi writes an MMX register: a pending x87 exception is #MF
 * before the misaligned m128 source would be #GP */
TEST(sse_cvtpd2pi_pending_x87_first)
{
	NEED_CPU();
	static const uint8_t cvtpd2pi_m[] = { 0x66, 0x0f, 0x2d, 0x03 };	/* cvtpd2pi mm0, [rbx] */
	S.cpu->gpr[X86_RBX] = SNIP_DATA + 8;
	CHECK(!SNIP_RUN(&S, cvtpd2pi_m));
	CHECK_EQ(S.vector, X86_EXC_GP);
	S.cpu->fpu.fsw |= X87_FSW_ZE | X87_FSW_ES | X87_FSW_B;
	CHECK(!SNIP_RUN(&S, cvtpd2pi_m));
	CHECK_EQ(S.vector, X86_EXC_MF);
}

TEST(sse_fxsave_layout)
{
	NEED_CPU();
	struct x86_fpu_state *f = &S.cpu->fpu;
	f->fcw = 0x027f;
	f->fsw = 0x0021;
	f->top = 6;
	f->st[6].mantissa = 0x8000000000000000ull;	/* ST0 = 1.0 */
	f->st[6].sign_exp = 0x3fff;
	f->ftw = (uint16_t)(0xffff & ~(3u << 12));	/* R6 valid, rest empty */
	f->mxcsr = 0x1f80 | 0x6000 | 0x01;
	for (int i = 0; i < 16; i++)
		memset(X(i), 0x10 + i, 16);
	CHECK(SNIP_RUN(&S, c_fxsave64));
	uint8_t img[512];
	snip_mem_read(&S, 0, img, sizeof(img));
	uint16_t w;
	uint32_t d;
	memcpy(&w, img + 0, 2);
	CHECK_EQ(w, 0x027f);
	memcpy(&w, img + 2, 2);
	CHECK_EQ(w, 0x0021 | (6 << 11));
	CHECK_EQ(img[4], 0x40);	/* abridged tags: R6 */
	memcpy(&d, img + 24, 4);
	CHECK_EQ(d, 0x7f81);
	memcpy(&d, img + 28, 4);
	CHECK_EQ(d, 0xffff);	/* MXCSR_MASK: DAZ supported */
	uint64_t m;
	memcpy(&m, img + 32, 8);
	memcpy(&w, img + 40, 2);
	CHECK_EQ(m, 0x8000000000000000ull);	/* ST0 first */
	CHECK_EQ(w, 0x3fff);
	CHECK_EQ(img[160], 0x10);
	CHECK_EQ(img[160 + 15 * 16], 0x1f);
	/* and back, into a clean state */
	x86_fpu_reset(f);
	CHECK(SNIP_RUN(&S, c_fxrstor64));
	CHECK_EQ(f->fcw, 0x027f);
	CHECK_EQ(f->top, 6);
	CHECK_EQ(f->mxcsr, 0x7f81);
	CHECK_EQ((f->ftw >> 12) & 3, X87_TAG_VALID);
	CHECK_EQ((f->ftw >> 14) & 3, X87_TAG_EMPTY);
	CHECK_EQ(X(15)->b[3], 0x1f);
	/* reserved MXCSR bits in the image: #GP, nothing loaded */
	d = 0x10000;
	snip_mem_write(&S, 24, &d, 4);
	f->mxcsr = 0x1f80;
	CHECK(!SNIP_RUN(&S, c_fxrstor64));
	CHECK_EQ(S.vector, X86_EXC_GP);
	CHECK_EQ(f->mxcsr, 0x1f80);
}

TEST(sse_ldmxcsr_reserved)
{
	NEED_CPU();
	uint32_t v = 0x1f80 | 0x8040 | 0x2000;
	snip_mem_write(&S, 0, &v, 4);
	CHECK(SNIP_RUN(&S, c_ldmxcsr));
	CHECK_EQ(S.cpu->fpu.mxcsr, v);
	CHECK(SNIP_RUN(&S, c_stmxcsr));
	uint32_t back = 0;
	snip_mem_read(&S, 0, &back, 4);
	CHECK_EQ(back, v);
	v = 0x21f80;
	snip_mem_write(&S, 0, &v, 4);
	CHECK(!SNIP_RUN(&S, c_ldmxcsr));
	CHECK_EQ(S.vector, X86_EXC_GP);
}

TEST(sse_rcp_rsqrt_precision)
{
	NEED_CPU();
	for (int k = 0; k < 200; k++) {
		float v = (float)(0.001 + k * 13.37);
		for (int i = 0; i < 4; i++)
			X(1)->f[i] = v * (float)(i + 1);
		CHECK(SNIP_RUN(&S, c_rcpps));
		for (int i = 0; i < 4; i++) {
			double exact = 1.0 / X(1)->f[i];
			CHECK(fabs(X(0)->f[i] - exact) / exact <= 1.5 / 4096);
		}
	}
	X(1)->d[0] = 0;
	X(1)->d[1] = 0x80000000;
	X(1)->d[2] = 0x7f800000;
	X(1)->d[3] = 0x00000001;	/* denormal: as zero */
	CHECK(SNIP_RUN(&S, c_rcpps));
	CHECK_EQ(X(0)->d[0], 0x7f800000);
	CHECK_EQ(X(0)->d[1], 0xff800000);
	CHECK_EQ(X(0)->d[2], 0);
	CHECK_EQ(X(0)->d[3], 0x7f800000);
	X(1)->d[0] = f32_bits(-4.0f);
	X(0)->d[1] = 0x12345678;
	CHECK(SNIP_RUN(&S, c_rsqrtss));
	CHECK_EQ(X(0)->d[0], 0xffc00000);	/* negative: the default NaN */
	CHECK_EQ(X(0)->d[1], 0x12345678);	/* scalar: upper lanes kept */
	X(1)->d[0] = f32_bits(4.0f);
	CHECK(SNIP_RUN(&S, c_rsqrtss));
	CHECK_EQ(X(0)->d[0], f32_bits(0.5f));
	CHECK_EQ(S.cpu->fpu.mxcsr & 0x3f, 0);	/* no flags, ever */
}

TEST(sse_compares)
{
	NEED_CPU();
	X(0)->q[0] = f64_bits(1.0);
	X(1)->q[0] = f64_bits(2.0);
	CHECK(SNIP_RUN(&S, c_comisd));
	uint64_t fl = x86_cpu_get_rflags(S.cpu);
	CHECK_EQ(fl & (X86_RFLAGS_ZF | X86_RFLAGS_PF | X86_RFLAGS_CF), X86_RFLAGS_CF);
	/* ucomiss: a QNaN is unordered without IE; comisd would raise it */
	X(0)->d[0] = 0x7fc00000;
	X(1)->d[0] = f32_bits(1.0f);
	CHECK(SNIP_RUN(&S, c_ucomiss));
	fl = x86_cpu_get_rflags(S.cpu);
	CHECK_EQ(fl & (X86_RFLAGS_ZF | X86_RFLAGS_PF | X86_RFLAGS_CF | X86_RFLAGS_OF | X86_RFLAGS_SF),
		 X86_RFLAGS_ZF | X86_RFLAGS_PF | X86_RFLAGS_CF);
	CHECK_EQ(S.cpu->fpu.mxcsr & 1, 0);
	X(0)->q[0] = 0x7ff8000000000000ull;
	CHECK(SNIP_RUN(&S, c_comisd));
	CHECK_EQ(S.cpu->fpu.mxcsr & 1, 1);
	/* cmpltps: all ones / zeros per lane, NaN is false */
	X(0)->d[0] = f32_bits(1.0f);
	X(1)->d[0] = f32_bits(2.0f);
	X(0)->d[1] = f32_bits(3.0f);
	X(1)->d[1] = f32_bits(2.0f);
	X(0)->d[2] = 0x7fc00000;
	X(1)->d[2] = f32_bits(2.0f);
	X(0)->d[3] = f32_bits(-0.0f);
	X(1)->d[3] = f32_bits(0.0f);
	CHECK(SNIP_RUN(&S, c_cmpltps));
	CHECK_EQ(X(0)->d[0], 0xffffffff);
	CHECK_EQ(X(0)->d[1], 0);
	CHECK_EQ(X(0)->d[2], 0);
	CHECK_EQ(X(0)->d[3], 0);
}

TEST(sse_mmx)
{
	NEED_CPU();
	struct x86_fpu_state *f = &S.cpu->fpu;
	f->st[0].mantissa = 0x01020304050607f0ull;
	f->st[1].mantissa = 0x0101010101010120ull;
	f->top = 3;
	CHECK(SNIP_RUN(&S, c_paddb_mm));
	CHECK_EQ(f->st[0].mantissa, 0x0203040506070810ull);
	CHECK_EQ(f->st[0].sign_exp, 0xffff);
	CHECK_EQ(f->top, 0);
	CHECK_EQ(f->ftw, 0);	/* every register valid */
	CHECK(SNIP_RUN(&S, c_movq2dq));
	CHECK_EQ(X(3)->q[0], 0x0203040506070810ull);
	CHECK_EQ(X(3)->q[1], 0);
	CHECK(SNIP_RUN(&S, c_emms));
	CHECK_EQ(f->ftw, 0xffff);
	/* a pending x87 exception is taken first */
	f->fsw = X87_FSW_IE | X87_FSW_ES | X87_FSW_B;
	CHECK(!SNIP_RUN(&S, c_paddb_mm));
	CHECK_EQ(S.vector, X86_EXC_MF);
}

TEST(sse_integer_and_sse4)
{
	NEED_CPU();
	for (int i = 0; i < 16; i++) {
		X(0)->b[i] = (uint8_t)(0xa0 + i);
		X(1)->b[i] = (uint8_t)(15 - i);
	}
	X(1)->b[3] = 0x80;	/* zeroes that byte */
	CHECK(SNIP_RUN(&S, c_pshufb));
	CHECK_EQ(X(0)->b[0], 0xaf);
	CHECK_EQ(X(0)->b[3], 0);
	CHECK_EQ(X(0)->b[15], 0xa0);
	/* palignr $5: bytes 5.. of src:dst */
	for (int i = 0; i < 16; i++) {
		X(0)->b[i] = (uint8_t)(0x20 + i);
		X(1)->b[i] = (uint8_t)(0x10 + i);
	}
	CHECK(SNIP_RUN(&S, c_palignr));
	CHECK_EQ(X(0)->b[0], 0x15);
	CHECK_EQ(X(0)->b[10], 0x1f);
	CHECK_EQ(X(0)->b[11], 0x20);
	/* ptest: ZF when dst & src == 0, CF when ~dst & src == 0 */
	X(0)->q[0] = 0xff00;
	X(0)->q[1] = 0;
	X(1)->q[0] = 0x00ff;
	X(1)->q[1] = 0;
	CHECK(SNIP_RUN(&S, c_ptest));
	uint64_t fl = x86_cpu_get_rflags(S.cpu);
	CHECK_EQ(fl & (X86_RFLAGS_ZF | X86_RFLAGS_CF), X86_RFLAGS_ZF);
	X(1)->q[0] = 0x0f00;
	CHECK(SNIP_RUN(&S, c_ptest));
	fl = x86_cpu_get_rflags(S.cpu);
	CHECK_EQ(fl & (X86_RFLAGS_ZF | X86_RFLAGS_CF), X86_RFLAGS_CF);
	X(1)->q[0] = 0x80ff;
	CHECK(SNIP_RUN(&S, c_pmovsxbw));
	CHECK_EQ(X(0)->w[0], 0xffff);
	CHECK_EQ(X(0)->w[1], 0xff80);
	CHECK_EQ(X(0)->w[2], 0);
	/* pcmpeqb + pmovmskb, the strlen idiom */
	memset(X(0), 'a', 16);
	X(0)->b[9] = 0;
	memset(X(1), 0, 16);
	CHECK(SNIP_RUN(&S, c_pcmpeqb_pmovmskb));
	CHECK_EQ(S.cpu->gpr[X86_RAX], 1u << 9);
	/* maskmovdqu stores only bytes whose mask byte has bit 7 */
	S.cpu->gpr[X86_RDI] = SNIP_DATA + 64;
	memset(X(0), 0x77, 16);
	memset(X(1), 0, 16);
	X(1)->b[2] = 0x80;
	X(1)->b[7] = 0xff;
	CHECK(SNIP_RUN(&S, c_maskmovdqu));
	uint8_t m[16];
	snip_mem_read(&S, 64, m, 16);
	CHECK_EQ(m[2], 0x77);
	CHECK_EQ(m[7], 0x77);
	CHECK_EQ(m[0] | m[3] | m[15], 0);
	/* roundsd $9 (floor, no precision exception) and dpps */
	X(1)->q[0] = f64_bits(-1.5);
	CHECK(SNIP_RUN(&S, c_roundsd_floor));
	CHECK_EQ(X(0)->q[0], f64_bits(-2.0));
	CHECK_EQ(S.cpu->fpu.mxcsr & 0x20, 0);
	for (int i = 0; i < 4; i++) {
		X(0)->f[i] = (float)(i + 1);
		X(1)->f[i] = 2.0f;
	}
	CHECK(SNIP_RUN(&S, c_dpps));
	CHECK_EQ(X(0)->d[0], f32_bits(20.0f));
	CHECK_EQ(X(0)->d[1], 0);
	/* 64-bit GPR forms */
	S.cpu->gpr[X86_RAX] = 0x1122334455667788ull;
	CHECK(SNIP_RUN(&S, c_pinsrq));
	CHECK_EQ(X(0)->q[1], 0x1122334455667788ull);
	X(0)->q[0] = 0x8877665544332211ull;
	CHECK(SNIP_RUN(&S, c_movd_rax));
	CHECK_EQ(S.cpu->gpr[X86_RAX], 0x8877665544332211ull);
}

TEST(sse_fxsave_legacy_layout)
{
	NEED_CPU();
	/* without REX.W: 32-bit FIP with FCS, 32-bit FDP with FDS */
	S.cpu->fpu.fip = 0x1122334455667788ull;
	S.cpu->fpu.fdp = 0x99aabbccddeeff00ull;
	CHECK(SNIP_RUN(&S, c_fxsave));
	uint8_t img[32];
	snip_mem_read(&S, 0, img, sizeof(img));
	uint32_t d;
	memcpy(&d, img + 8, 4);
	CHECK_EQ(d, 0x55667788);
	memcpy(&d, img + 16, 4);
	CHECK_EQ(d, 0xddeeff00);
}

RUN_TESTS(T(sse_nan_propagation), T(sse_daz_ftz), T(sse_rounding_modes),
	  T(sse_cvt_overflow_indefinite), T(sse_unmasked_exception_xm_or_ud), T(sse_cr_checks),
	  T(sse_alignment), T(sse_alignment_64bit_segment_bases),
	  T(sse_cvtpd2pi_pending_x87_first), T(sse_fxsave_layout), T(sse_ldmxcsr_reserved),
	  T(sse_rcp_rsqrt_precision), T(sse_compares), T(sse_mmx), T(sse_integer_and_sse4),
	  T(sse_fxsave_legacy_layout))
