/* x87 semantics on the software CPU: the kernel's FPU probe, loads and
 * stores in every format, rounding and precision control, stack faults,
 * pending exceptions and #MF, #NM, compares, environments. */
#include <math.h>

#include "test.h"
#include "cpu_snippet.h"

/* instruction bytes, as the GNU assembler encodes them */
static const uint8_t c_fninit_fnstsw[] = { 0xdb, 0xe3, 0xdf, 0xe0 };
static const uint8_t c_fnstcw[] = { 0xd9, 0x3b };
static const uint8_t c_fldcw[] = { 0xd9, 0x2b };
static const uint8_t c_fld_m32_fstp_m64[] = { 0xd9, 0x03, 0xdd, 0x5b, 0x08 };
static const uint8_t c_fldt_fstpt[] = { 0xdb, 0x2b, 0xdb, 0x7b, 0x10 };
static const uint8_t c_fild_fistp[] = { 0xdf, 0x2b, 0xdb, 0x5b, 0x08 };
static const uint8_t c_fild_fistp16[] = { 0xdf, 0x03, 0xdf, 0x5b, 0x08 };
static const uint8_t c_fisttp[] = { 0xdd, 0x03, 0xdb, 0x4b, 0x08 };
static const uint8_t c_fldl_frndint_fstpl[] = { 0xdd, 0x03, 0xd9, 0xfc, 0xdd, 0x5b, 0x08 };
static const uint8_t c_fld1_fldz_fdivp[] = { 0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9, 0xdd, 0x5b, 0x08 };
static const uint8_t c_fld1_x9[] = { 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8 };
static const uint8_t c_faddp_empty[] = { 0xde, 0xc1 };
static const uint8_t c_fwait[] = { 0x9b };
static const uint8_t c_fnclex[] = { 0xdb, 0xe2 };
static const uint8_t c_fadd_st0[] = { 0xd8, 0xc0 };
static const uint8_t c_fcomi[] = { 0xdb, 0xf1 };
static const uint8_t c_fucomip[] = { 0xdf, 0xe9 };
static const uint8_t c_fxam[] = { 0xd9, 0xe5 };
static const uint8_t c_fnstenv[] = { 0xd9, 0x33 };
static const uint8_t c_fldenv[] = { 0xd9, 0x23 };
static const uint8_t c_fnsave[] = { 0xdd, 0x33 };
static const uint8_t c_frstor[] = { 0xdd, 0x23 };
static const uint8_t c_fsqrt[] = { 0xd9, 0xfa };
static const uint8_t c_fsin[] = { 0xd9, 0xfe };
static const uint8_t c_fbld_fbstp[] = { 0xdf, 0x23, 0xdf, 0x73, 0x10 };
static const uint8_t c_fcmovb[] = { 0xda, 0xc1 };
static const uint8_t c_fldpi_fstpt[] = { 0xd9, 0xeb, 0xdb, 0x3b };
static const uint8_t c_fldl_m[] = { 0xdd, 0x03 };
static const uint8_t c_fstpl_m[] = { 0xdd, 0x5b, 0x08 };
static const uint8_t c_fdivl[] = { 0xdc, 0x33 };
static const uint8_t c_fptan[] = { 0xd9, 0xf2 };
static const uint8_t c_fprem[] = { 0xd9, 0xf8 };

static uint16_t fsw(void)
{
	return x87_fsw(&S.cpu->fpu);
}

static void put_f64(uint64_t off, double v)
{
	snip_mem_write(&S, off, &v, 8);
}

static double get_f64(uint64_t off)
{
	double v;
	snip_mem_read(&S, off, &v, 8);
	return v;
}

/* push a value onto the software CPU's stack */
static void push(double v)
{
	put_f64(0x100, v);
	uint64_t rbx = S.cpu->gpr[X86_RBX];
	S.cpu->gpr[X86_RBX] = SNIP_DATA + 0x100;
	CHECK(SNIP_RUN(&S, c_fldl_m));
	S.cpu->gpr[X86_RBX] = rbx;
}

TEST(x87_linux_fpu_probe)
{
	NEED_CPU();
	/* fpu__init_check: fninit; fnstsw %ax; fnstcw; (cw & 0x103f) == 0x3f */
	S.cpu->fpu.fsw = 0x1234;
	S.cpu->gpr[X86_RAX] = 0xffff;
	CHECK(SNIP_RUN(&S, c_fninit_fnstsw));
	CHECK_EQ(S.cpu->gpr[X86_RAX] & 0xffff, 0);
	CHECK(SNIP_RUN(&S, c_fnstcw));
	uint16_t cw = 0;
	snip_mem_read(&S, 0, &cw, 2);
	CHECK_EQ(cw, 0x037f);
	CHECK_EQ(cw & 0x103f, 0x3f);
	CHECK_EQ(S.cpu->fpu.ftw, 0xffff);
	/* fldcw keeps bit 6 set and 13-15 clear, as the hardware does */
	cw = 0xffff;
	snip_mem_write(&S, 0, &cw, 2);
	CHECK(SNIP_RUN(&S, c_fldcw));
	CHECK_EQ(S.cpu->fpu.fcw, 0x1f7f);
}

TEST(x87_load_store_formats)
{
	NEED_CPU();
	float f = 1.5f;
	snip_mem_write(&S, 0, &f, 4);
	CHECK(SNIP_RUN(&S, c_fld_m32_fstp_m64));
	CHECK(get_f64(8) == 1.5);
	CHECK_EQ(S.cpu->fpu.ftw, 0xffff);
	/* m80 round trip keeps every bit, even of an SNaN */
	uint8_t t[10] = { 1, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x7f };
	snip_mem_write(&S, 0, t, 10);
	CHECK(SNIP_RUN(&S, c_fldt_fstpt));
	uint8_t back[10];
	snip_mem_read(&S, 16, back, 10);
	CHECK(!memcmp(t, back, 10));
	CHECK_EQ(fsw() & X87_FSW_IE, 0);
	/* fild m64 / fistp m32 */
	int64_t i64 = -123456789;
	snip_mem_write(&S, 0, &i64, 8);
	CHECK(SNIP_RUN(&S, c_fild_fistp));
	int32_t i32 = 0;
	snip_mem_read(&S, 8, &i32, 4);
	CHECK_EQ(i32, -123456789);
	/* out of range for m32: the integer indefinite and IE */
	i64 = 1ll << 40;
	snip_mem_write(&S, 0, &i64, 8);
	CHECK(SNIP_RUN(&S, c_fild_fistp));
	snip_mem_read(&S, 8, &i32, 4);
	CHECK_EQ((uint32_t)i32, 0x80000000u);
	CHECK(fsw() & X87_FSW_IE);
	/* m16 */
	int16_t i16 = -300;
	snip_mem_write(&S, 0, &i16, 2);
	CHECK(SNIP_RUN(&S, c_fild_fistp16));
	int16_t o16 = 0;
	snip_mem_read(&S, 8, &o16, 2);
	CHECK_EQ(o16, -300);
	/* packed BCD */
	uint8_t bcd[10] = { 0x89, 0x67, 0x45, 0x23, 0x01, 0, 0, 0, 0, 0x80 };
	snip_mem_write(&S, 0, bcd, 10);
	CHECK(SNIP_RUN(&S, c_fbld_fbstp));
	snip_mem_read(&S, 16, back, 10);
	CHECK(!memcmp(bcd, back, 10));
}

TEST(x87_rounding_and_precision)
{
	NEED_CPU();
	static const struct {
		uint16_t rc;
		double in, out;
	} t[] = {
		{ 0, 2.5, 2.0 }, { 0, 3.5, 4.0 }, { 1, -2.5, -3.0 }, { 2, 2.1, 3.0 }, { 3, -2.9, -2.0 },
	};
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		S.cpu->fpu.fcw = (uint16_t)(0x037f | (t[i].rc << 10));
		put_f64(0, t[i].in);
		CHECK(SNIP_RUN(&S, c_fldl_frndint_fstpl));
		CHECK(get_f64(8) == t[i].out);
	}
	/* fisttp truncates whatever the rounding control says */
	S.cpu->fpu.fcw = 0x037f | (2 << 10);
	put_f64(0, -7.9);
	CHECK(SNIP_RUN(&S, c_fisttp));
	int32_t v = 0;
	snip_mem_read(&S, 8, &v, 4);
	CHECK_EQ(v, -7);
	/* precision control single: 1/3 has a 24-bit significand */
	S.cpu->fpu.fcw = 0x007f;
	push(3.0);
	put_f64(0, 1.0);
	S.cpu->fpu.fcw = 0x007f;
	uint8_t fdivr[] = { 0xdc, 0x3b };	/* fdivrl (%rbx): st0 = m64 / st0 */
	CHECK(SNIP_RUN(&S, fdivr));
	CHECK(SNIP_RUN(&S, c_fstpl_m));
	CHECK(get_f64(8) == (double)(1.0f / 3.0f));
	CHECK(fsw() & X87_FSW_PE);
}

TEST(x87_stack_faults)
{
	NEED_CPU();
	/* nine pushes: the ninth overflows (IE, SF, C1) and loads the indefinite */
	CHECK(SNIP_RUN(&S, c_fld1_x9));
	CHECK_EQ(fsw() & (X87_FSW_IE | X87_FSW_SF | X87_FSW_C1), X87_FSW_IE | X87_FSW_SF | X87_FSW_C1);
	struct x87_reg *st0 = &S.cpu->fpu.st[S.cpu->fpu.top];
	CHECK_EQ(st0->sign_exp, 0xffff);
	CHECK_EQ(st0->mantissa, 0xc000000000000000ull);
	CHECK_EQ(fsw() & X87_FSW_ES, 0);	/* masked */
	/* underflow: faddp on an empty stack; C1 clear */
	snip_reset(&S);
	CHECK(SNIP_RUN(&S, c_faddp_empty));
	CHECK_EQ(fsw() & (X87_FSW_IE | X87_FSW_SF | X87_FSW_C1), X87_FSW_IE | X87_FSW_SF);
	/* unmasked: nothing written, ES set, #MF at the next waiting insn */
	snip_reset(&S);
	S.cpu->fpu.fcw = 0x037e;	/* IM clear */
	CHECK(SNIP_RUN(&S, c_faddp_empty));
	CHECK(fsw() & X87_FSW_ES);
	CHECK(fsw() & X87_FSW_B);
	CHECK_EQ(S.cpu->fpu.ftw, 0xffff);
	CHECK(!SNIP_RUN(&S, c_fwait));
	CHECK_EQ(S.vector, X86_EXC_MF);
	CHECK(!SNIP_RUN(&S, c_fadd_st0));
	CHECK_EQ(S.vector, X86_EXC_MF);
	/* non-waiting instructions go ahead; fnclex clears the exception */
	CHECK(SNIP_RUN(&S, c_fnstcw));
	CHECK(SNIP_RUN(&S, c_fnclex));
	CHECK_EQ(fsw() & (X87_FSW_ES | X87_FSW_IE | X87_FSW_SF | X87_FSW_B), 0);
	CHECK(SNIP_RUN(&S, c_fwait));
}

TEST(x87_divide_by_zero)
{
	NEED_CPU();
	CHECK(SNIP_RUN(&S, c_fld1_fldz_fdivp));
	CHECK(isinf(get_f64(8)));
	CHECK(fsw() & X87_FSW_ZE);
	/* unmasked: the destination keeps its value */
	snip_reset(&S);
	S.cpu->fpu.fcw = 0x037b;
	push(5.0);
	put_f64(0, 0.0);
	CHECK(SNIP_RUN(&S, c_fdivl));
	CHECK(fsw() & X87_FSW_ES);
	S.cpu->fpu.fsw &= (uint16_t)~(X87_FSW_ES | X87_FSW_B);
	CHECK(SNIP_RUN(&S, c_fstpl_m));
	CHECK(get_f64(8) == 5.0);
}

TEST(x87_nm_conditions)
{
	NEED_CPU();
	S.cpu->cr0 |= X86_CR0_TS;
	CHECK(!SNIP_RUN(&S, c_fadd_st0));
	CHECK_EQ(S.vector, X86_EXC_NM);
	CHECK(!SNIP_RUN(&S, c_fninit_fnstsw));
	CHECK_EQ(S.vector, X86_EXC_NM);
	CHECK(!SNIP_RUN(&S, c_fwait));	/* TS with MP */
	CHECK_EQ(S.vector, X86_EXC_NM);
	S.cpu->cr0 &= ~X86_CR0_MP;
	CHECK(SNIP_RUN(&S, c_fwait));	/* TS without MP: fwait runs */
	S.cpu->cr0 &= ~X86_CR0_TS;
	S.cpu->cr0 |= X86_CR0_EM;
	CHECK(!SNIP_RUN(&S, c_fnstcw));
	CHECK_EQ(S.vector, X86_EXC_NM);
	CHECK(SNIP_RUN(&S, c_fwait));	/* EM does not affect fwait */
}

TEST(x87_compares)
{
	NEED_CPU();
	push(2.0);
	push(1.0);	/* st0 = 1, st1 = 2 */
	CHECK(SNIP_RUN(&S, c_fcomi));
	uint64_t fl = x86_cpu_get_rflags(S.cpu);
	CHECK_EQ(fl & (X86_RFLAGS_ZF | X86_RFLAGS_PF | X86_RFLAGS_CF), X86_RFLAGS_CF);
	snip_reset(&S);
	push(2.0);
	push(NAN);
	CHECK(SNIP_RUN(&S, c_fucomip));
	fl = x86_cpu_get_rflags(S.cpu);
	CHECK_EQ(fl & (X86_RFLAGS_ZF | X86_RFLAGS_PF | X86_RFLAGS_CF),
		 X86_RFLAGS_ZF | X86_RFLAGS_PF | X86_RFLAGS_CF);
	CHECK_EQ(fsw() & X87_FSW_IE, 0);	/* quiet NaN, unordered compare */
	CHECK_EQ(S.cpu->fpu.top, 7);	/* popped once */
	/* fxam: empty, zero, infinity, NaN, normal */
	snip_reset(&S);
	CHECK(SNIP_RUN(&S, c_fxam));
	CHECK_EQ(fsw() & (X87_FSW_C3 | X87_FSW_C2 | X87_FSW_C0), X87_FSW_C3 | X87_FSW_C0);
	push(-0.0);
	CHECK(SNIP_RUN(&S, c_fxam));
	CHECK_EQ(fsw() & X87_FSW_CC, X87_FSW_C3 | X87_FSW_C1);
	push(INFINITY);
	CHECK(SNIP_RUN(&S, c_fxam));
	CHECK_EQ(fsw() & X87_FSW_CC, X87_FSW_C2 | X87_FSW_C0);
	push(NAN);
	CHECK(SNIP_RUN(&S, c_fxam));
	CHECK_EQ(fsw() & (X87_FSW_C3 | X87_FSW_C2 | X87_FSW_C0), X87_FSW_C0);
	push(3.0);
	CHECK(SNIP_RUN(&S, c_fxam));
	CHECK_EQ(fsw() & X87_FSW_CC, X87_FSW_C2);
	/* fcmovb: moves on CF */
	snip_reset(&S);
	push(7.0);
	push(1.0);
	x86_cpu_set_rflags(S.cpu, 0x2 | X86_RFLAGS_CF);
	CHECK(SNIP_RUN(&S, c_fcmovb));
	CHECK(SNIP_RUN(&S, c_fstpl_m));
	CHECK(get_f64(8) == 7.0);
}

TEST(x87_environment)
{
	NEED_CPU();
	push(42.0);
	S.cpu->fpu.fcw = 0x0b72;
	CHECK(SNIP_RUN(&S, c_fnstenv));
	uint32_t env[7];
	snip_mem_read(&S, 0, env, sizeof(env));
	CHECK_EQ(env[0] & 0xffff, 0x0b72);
	CHECK_EQ((env[1] >> 11) & 7, 7);	/* TOP */
	CHECK_EQ(env[2] & 0xffff, 0x3fff);	/* R7 valid, rest empty */
	CHECK_EQ(S.cpu->fpu.fcw, 0x0b7f);	/* fnstenv masks everything */
	S.cpu->fpu.fcw = 0x037f;
	CHECK(SNIP_RUN(&S, c_fldenv));
	CHECK_EQ(S.cpu->fpu.fcw, 0x0b72);
	/* fnsave stores the registers and reinitializes; frstor brings them back */
	CHECK(SNIP_RUN(&S, c_fnsave));
	CHECK_EQ(S.cpu->fpu.fcw, 0x037f);
	CHECK_EQ(S.cpu->fpu.ftw, 0xffff);
	CHECK_EQ(S.cpu->fpu.top, 0);
	CHECK(SNIP_RUN(&S, c_frstor));
	CHECK_EQ(S.cpu->fpu.top, 7);
	CHECK_EQ(S.cpu->fpu.fcw, 0x0b72);
	S.cpu->fpu.fcw = 0x037f;
	CHECK(SNIP_RUN(&S, c_fstpl_m));
	CHECK(get_f64(8) == 42.0);
}

TEST(x87_transcendental)
{
	NEED_CPU();
	push(-1.0);
	CHECK(SNIP_RUN(&S, c_fsqrt));
	struct x87_reg *st0 = &S.cpu->fpu.st[S.cpu->fpu.top];
	CHECK_EQ(st0->sign_exp, 0xffff);	/* the indefinite */
	CHECK(fsw() & X87_FSW_IE);
	snip_reset(&S);
	push(0.5);
	CHECK(SNIP_RUN(&S, c_fsin));
	CHECK(SNIP_RUN(&S, c_fstpl_m));
	CHECK(fabs(get_f64(8) - sin(0.5)) < 1e-15);
	/* fptan pushes 1.0 over the tangent */
	push(0.25);
	CHECK(SNIP_RUN(&S, c_fptan));
	CHECK(SNIP_RUN(&S, c_fstpl_m));
	CHECK(get_f64(8) == 1.0);
	CHECK(SNIP_RUN(&S, c_fstpl_m));
	CHECK(fabs(get_f64(8) - tan(0.25)) < 1e-15);
	/* out of range: C2 set, operand unchanged */
	push(1e300);
	CHECK(SNIP_RUN(&S, c_fsin));
	CHECK(fsw() & X87_FSW_C2);
	CHECK(SNIP_RUN(&S, c_fstpl_m));
	CHECK(get_f64(8) == 1e300);
	/* fprem: 7 rem 3 = 1, quotient bits 2 = 0b010: C3=1 (Q1), C0=0, C1=0 */
	push(3.0);
	push(7.0);
	CHECK(SNIP_RUN(&S, c_fprem));
	CHECK_EQ(fsw() & X87_FSW_CC, X87_FSW_C3);
	CHECK(SNIP_RUN(&S, c_fstpl_m));
	CHECK(get_f64(8) == 1.0);
	/* constants follow the rounding control */
	CHECK(SNIP_RUN(&S, c_fldpi_fstpt));
	uint64_t m;
	snip_mem_read(&S, 0, &m, 8);
	CHECK_EQ(m, 0xc90fdaa22168c235ull);
	S.cpu->fpu.fcw = 0x037f | (2 << 10);
	CHECK(SNIP_RUN(&S, c_fldpi_fstpt));
	snip_mem_read(&S, 0, &m, 8);
	CHECK_EQ(m, 0xc90fdaa22168c235ull);
	S.cpu->fpu.fcw = 0x037f | (1 << 10);
	CHECK(SNIP_RUN(&S, c_fldpi_fstpt));
	snip_mem_read(&S, 0, &m, 8);
	CHECK_EQ(m, 0xc90fdaa22168c234ull);
}

RUN_TESTS(T(x87_linux_fpu_probe), T(x87_load_store_formats), T(x87_rounding_and_precision),
	  T(x87_stack_faults), T(x87_divide_by_zero), T(x87_nm_conditions), T(x87_compares),
	  T(x87_environment), T(x87_transcendental))
