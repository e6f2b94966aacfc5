/* The x87 FPU of the software CPU.
 *
 * The register stack, tags, stack faults, the status and control words
 * and the environment images are kept here in C.  The arithmetic itself
 * runs on the host's x87 unit (the host is x86-64): each helper saves the
 * host's environment, loads the guest's control word and condition codes
 * into an empty host stack, runs the one instruction the guest asked for
 * on copies of its operands, clears whatever exception it left pending
 * (fnclex, before any waiting instruction could trap on the host), reads
 * the results back and restores the host's environment.  So the guest
 * gets the hardware's own rounding, precision control, NaN rules,
 * transcendental results, condition codes and exception flags bit for
 * bit -- including the exponent-wrapped results of unmasked overflow and
 * underflow.  What the instruction does to the guest's stack and status
 * word (which exceptions block the destination, ES, #MF on the next
 * waiting instruction) is decided here. */
#include <string.h>

#include "cpu/x86/exec.h"
#include "cpu/x86/fpu_internal.h"

static const struct x87_reg x87_indefinite = { .mantissa = 0xc000000000000000ull, .sign_exp = 0xffff };

/* ---- host execution ---- */

/* The host starts from the guest's control word (exceptions masked) and
 * condition codes, with an empty stack, so that the codes an instruction
 * leaves alone come out as the guest's own */
struct host_env {
	uint32_t w[7];
};

static inline struct host_env host_env(uint16_t fcw, uint16_t fsw)
{
	struct host_env e = { { (uint32_t)fcw | 0x3f, fsw & X87_FSW_CC, 0xffff, 0, 0, 0, 0 } };
	return e;
}

#define X87_CLOBBERS "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)"

/* The host runs: st1 = b, st0 = a, then the instruction bytes; results
 * st0.. are stored to r[0..nout-1]. Returns the host status word. */
#define X87_HOST1(name, bytes)                                                           \
	static uint16_t host_##name(const struct x87_reg *a, const struct x87_reg *b,    \
				    struct x87_reg *r, uint16_t fcw, uint16_t fsw)                      \
	{                                                                                \
		uint16_t sw, cw = fcw, mcw = fcw | 0x3f;                         \
		struct host_env save;                                                       \
		struct host_env env = host_env(fcw, fsw);                                      \
		__asm__ volatile("fnstenv %[save]\n\tfldenv %[env]\n\t"           \
				 "fldt %[b]\n\tfldt %[a]\n\tfldcw %[cw]\n\t.byte " bytes "\n\t"         \
				 "fnstsw %[sw]\n\tfnclex\n\tfldcw %[mcw]\n\tfstpt %[r0]\n\tfnclex\n\tfldenv %[save]" \
				 : [save] "=m"(save), [sw] "=m"(sw), [r0] "=m"(r[0])     \
				 : [env] "m"(env), [cw] "m"(cw), [mcw] "m"(mcw), [a] "m"(*a), [b] "m"(*b)                \
				 : X87_CLOBBERS);                                        \
		return sw;                                                               \
	}

#define X87_HOST2(name, bytes)                                                           \
	static uint16_t host_##name(const struct x87_reg *a, const struct x87_reg *b,    \
				    struct x87_reg *r, uint16_t fcw, uint16_t fsw)                      \
	{                                                                                \
		uint16_t sw, cw = fcw, mcw = fcw | 0x3f;                         \
		struct host_env save;                                                       \
		struct host_env env = host_env(fcw, fsw);                                      \
		__asm__ volatile("fnstenv %[save]\n\tfldenv %[env]\n\t"           \
				 "fldt %[b]\n\tfldt %[a]\n\tfldcw %[cw]\n\t.byte " bytes "\n\t"         \
				 "fnstsw %[sw]\n\tfnclex\n\tfldcw %[mcw]\n\tfstpt %[r0]\n\tfstpt %[r1]\n\t"        \
				 "fnclex\n\tfldenv %[save]"                               \
				 : [save] "=m"(save), [sw] "=m"(sw), [r0] "=m"(r[0]),    \
				   [r1] "=m"(r[1])                                       \
				 : [env] "m"(env), [cw] "m"(cw), [mcw] "m"(mcw), [a] "m"(*a), [b] "m"(*b)                \
				 : X87_CLOBBERS);                                        \
		return sw;                                                               \
	}

#define X87_HOST3(name, bytes)                                                           \
	static uint16_t host_##name(const struct x87_reg *a, const struct x87_reg *b,    \
				    struct x87_reg *r, uint16_t fcw, uint16_t fsw)                      \
	{                                                                                \
		uint16_t sw, cw = fcw, mcw = fcw | 0x3f;                         \
		struct host_env save;                                                       \
		struct host_env env = host_env(fcw, fsw);                                      \
		__asm__ volatile("fnstenv %[save]\n\tfldenv %[env]\n\t"           \
				 "fldt %[b]\n\tfldt %[a]\n\tfldcw %[cw]\n\t.byte " bytes "\n\t"         \
				 "fnstsw %[sw]\n\tfnclex\n\tfldcw %[mcw]\n\tfstpt %[r0]\n\tfstpt %[r1]\n\t"        \
				 "fstpt %[r2]\n\tfnclex\n\tfldenv %[save]"                \
				 : [save] "=m"(save), [sw] "=m"(sw), [r0] "=m"(r[0]),    \
				   [r1] "=m"(r[1]), [r2] "=m"(r[2])                      \
				 : [env] "m"(env), [cw] "m"(cw), [mcw] "m"(mcw), [a] "m"(*a), [b] "m"(*b)                \
				 : X87_CLOBBERS);                                        \
		return sw;                                                               \
	}

typedef uint16_t host_fn(const struct x87_reg *a, const struct x87_reg *b, struct x87_reg *r,
			 uint16_t fcw, uint16_t fsw);

/* st0 = st0 OP st1, by ModRM.reg of D8 */
X87_HOST2(fadd, "0xd8, 0xc1")
X87_HOST2(fmul, "0xd8, 0xc9")
X87_HOST2(fcom, "0xd8, 0xd1")
X87_HOST2(fsub, "0xd8, 0xe1")
X87_HOST2(fsubr, "0xd8, 0xe9")
X87_HOST2(fdiv, "0xd8, 0xf1")
X87_HOST2(fdivr, "0xd8, 0xf9")
X87_HOST2(fucom, "0xdd, 0xe1")
X87_HOST2(ftst, "0xd9, 0xe4")
X87_HOST2(fxam, "0xd9, 0xe5")
X87_HOST2(f2xm1, "0xd9, 0xf0")
X87_HOST1(fyl2x, "0xd9, 0xf1")
X87_HOST3(fptan, "0xd9, 0xf2")
X87_HOST1(fpatan, "0xd9, 0xf3")
X87_HOST3(fxtract, "0xd9, 0xf4")
X87_HOST2(fprem1, "0xd9, 0xf5")
X87_HOST2(fprem, "0xd9, 0xf8")
X87_HOST1(fyl2xp1, "0xd9, 0xf9")
X87_HOST2(fsqrt, "0xd9, 0xfa")
X87_HOST3(fsincos, "0xd9, 0xfb")
X87_HOST2(frndint, "0xd9, 0xfc")
X87_HOST2(fscale, "0xd9, 0xfd")
X87_HOST2(fsin, "0xd9, 0xfe")
X87_HOST2(fcos, "0xd9, 0xff")
X87_HOST3(fld1, "0xd9, 0xe8")
X87_HOST3(fldl2t, "0xd9, 0xe9")
X87_HOST3(fldl2e, "0xd9, 0xea")
X87_HOST3(fldpi, "0xd9, 0xeb")
X87_HOST3(fldlg2, "0xd9, 0xec")
X87_HOST3(fldln2, "0xd9, 0xed")
X87_HOST3(fldz, "0xd9, 0xee")

static host_fn *const host_arith[8] = {
	host_fadd, host_fmul, host_fcom, host_fcom, host_fsub, host_fsubr, host_fdiv, host_fdivr,
};

/* Memory format -> register: "ld" is the host load instruction */
#define X87_HOST_LOAD(name, ld, type)                                                    \
	static uint16_t host_##name(const type *m, struct x87_reg *r, uint16_t fcw, uint16_t fsw)      \
	{                                                                                \
		uint16_t sw, cw = fcw, mcw = fcw | 0x3f;                         \
		struct host_env save;                                                       \
		struct host_env env = host_env(fcw, fsw);                                      \
		__asm__ volatile("fnstenv %[save]\n\tfldenv %[env]\n\t"           \
				 "fldcw %[cw]\n\t" ld " %[m]\n\tfnstsw %[sw]\n\tfnclex\n\tfldcw %[mcw]\n\tfstpt %[r]\n\t"            \
				 "fnclex\n\tfldenv %[save]"                               \
				 : [save] "=m"(save), [sw] "=m"(sw), [r] "=m"(*r)        \
				 : [env] "m"(env), [cw] "m"(cw), [mcw] "m"(mcw), [m] "m"(*m)                             \
				 : X87_CLOBBERS);                                        \
		return sw;                                                               \
	}

/* Register -> memory format; "st" pops */
#define X87_HOST_STORE(name, st, type)                                                   \
	static uint16_t host_##name(const struct x87_reg *a, type *m, uint16_t fcw, uint16_t fsw)      \
	{                                                                                \
		uint16_t sw, cw = fcw, mcw = fcw | 0x3f;                         \
		struct host_env save;                                                       \
		struct host_env env = host_env(fcw, fsw);                                      \
		__asm__ volatile("fnstenv %[save]\n\tfldenv %[env]\n\t"           \
				 "fldt %[a]\n\tfldcw %[cw]\n\t" st " %[m]\n\tfnstsw %[sw]\n\tfnclex\n\tfldcw %[mcw]\n\t"          \
				 "fnclex\n\tfldenv %[save]"                               \
				 : [save] "=m"(save), [sw] "=m"(sw), [m] "=m"(*m)        \
				 : [env] "m"(env), [cw] "m"(cw), [mcw] "m"(mcw), [a] "m"(*a)                             \
				 : X87_CLOBBERS);                                        \
		return sw;                                                               \
	}

/* st0 = st0 OP m (m32real, m64real, m32int, m16int) */
#define X87_HOST_MEMOP(name, text, type)                                                 \
	static uint16_t host_##name(const struct x87_reg *a, const void *mv, struct x87_reg *r, \
				    uint16_t fcw, uint16_t fsw)                           \
	{                                                                                \
		uint16_t sw, cw = fcw, mcw = fcw | 0x3f;                         \
		struct host_env save;                                                       \
		struct host_env env = host_env(fcw, fsw);                                \
		const type *m = mv;                                                      \
		__asm__ volatile("fnstenv %[save]\n\tfldenv %[env]\n\t"                    \
				 "fldt %[a]\n\tfldcw %[cw]\n\t" text " %[m]\n\tfnstsw %[sw]\n\tfnclex\n\tfldcw %[mcw]\n\t"          \
				 "fstpt %[r]\n\tfnclex\n\tfldenv %[save]"                   \
				 : [save] "=m"(save), [sw] "=m"(sw), [r] "=m"(*r)        \
				 : [env] "m"(env), [cw] "m"(cw), [mcw] "m"(mcw), [a] "m"(*a), [m] "m"(*m)              \
				 : X87_CLOBBERS);                                        \
		return sw;                                                               \
	}

#define X87_HOST_MEMOPS(t, sfx, type)                          \
	X87_HOST_MEMOP(t##add, "fadd" sfx, type)               \
	X87_HOST_MEMOP(t##mul, "fmul" sfx, type)               \
	X87_HOST_MEMOP(t##com, "fcom" sfx, type)               \
	X87_HOST_MEMOP(t##sub, "fsub" sfx, type)               \
	X87_HOST_MEMOP(t##subr, "fsubr" sfx, type)             \
	X87_HOST_MEMOP(t##div, "fdiv" sfx, type)               \
	X87_HOST_MEMOP(t##divr, "fdivr" sfx, type)
X87_HOST_MEMOPS(m32_, "s", float)
X87_HOST_MEMOPS(m64_, "l", double)
#define X87_HOST_IMEMOPS(t, sfx, type)                         \
	X87_HOST_MEMOP(t##add, "fiadd" sfx, type)              \
	X87_HOST_MEMOP(t##mul, "fimul" sfx, type)              \
	X87_HOST_MEMOP(t##com, "ficom" sfx, type)              \
	X87_HOST_MEMOP(t##sub, "fisub" sfx, type)              \
	X87_HOST_MEMOP(t##subr, "fisubr" sfx, type)            \
	X87_HOST_MEMOP(t##div, "fidiv" sfx, type)              \
	X87_HOST_MEMOP(t##divr, "fidivr" sfx, type)
X87_HOST_IMEMOPS(i32_, "l", int32_t)
X87_HOST_IMEMOPS(i16_, "s", int16_t)

/* fiadd & co are fadd & co with an "i" */
typedef uint16_t host_mem_fn(const struct x87_reg *a, const void *m, struct x87_reg *r,
			     uint16_t fcw, uint16_t fsw);
#define MEMOP_ROW(t) { host_##t##add, host_##t##mul, host_##t##com, host_##t##com, \
		       host_##t##sub, host_##t##subr, host_##t##div, host_##t##divr }
static host_mem_fn *const host_memop[4][8] = { MEMOP_ROW(m32_), MEMOP_ROW(m64_), MEMOP_ROW(i32_), MEMOP_ROW(i16_) };

struct bcd80 {
	uint8_t b[10];
};

X87_HOST_LOAD(ld32, "flds", float)
X87_HOST_LOAD(ld64, "fldl", double)
X87_HOST_LOAD(ild16, "filds", int16_t)
X87_HOST_LOAD(ild32, "fildl", int32_t)
X87_HOST_LOAD(ild64, "fildll", int64_t)
X87_HOST_LOAD(bld, "fbld", struct bcd80)
X87_HOST_STORE(st32, "fstps", float)
X87_HOST_STORE(st64, "fstpl", double)
X87_HOST_STORE(ist16, "fistps", int16_t)
X87_HOST_STORE(ist32, "fistpl", int32_t)
X87_HOST_STORE(ist64, "fistpll", int64_t)
X87_HOST_STORE(istt16, "fisttps", int16_t)
X87_HOST_STORE(istt32, "fisttpl", int32_t)
X87_HOST_STORE(istt64, "fisttpll", int64_t)
X87_HOST_STORE(bstp, "fbstp", struct bcd80)

/* ---- register stack ---- */

unsigned x87_tag_of(const struct x87_reg *r)
{
	unsigned exp = r->sign_exp & 0x7fff;
	if (exp == 0x7fff)
		return X87_TAG_SPECIAL;
	if (exp == 0)
		return r->mantissa ? X87_TAG_SPECIAL : X87_TAG_ZERO;
	return (r->mantissa >> 63) ? X87_TAG_VALID : X87_TAG_SPECIAL;
}

static unsigned phys(const struct x86_fpu_state *f, unsigned i)
{
	return (f->top + i) & 7;
}

static unsigned tag_phys(const struct x86_fpu_state *f, unsigned p)
{
	return (f->ftw >> (2 * p)) & 3;
}

static void set_tag_phys(struct x86_fpu_state *f, unsigned p, unsigned tag)
{
	f->ftw = (uint16_t)((f->ftw & ~(3u << (2 * p))) | (tag << (2 * p)));
}

static bool st_empty(const struct x86_fpu_state *f, unsigned i)
{
	return tag_phys(f, phys(f, i)) == X87_TAG_EMPTY;
}

static struct x87_reg *st(struct x86_fpu_state *f, unsigned i)
{
	return &f->st[phys(f, i)];
}

static void st_set(struct x86_fpu_state *f, unsigned i, const struct x87_reg *v)
{
	unsigned p = phys(f, i);
	f->st[p].mantissa = v->mantissa;
	f->st[p].sign_exp = v->sign_exp;
	set_tag_phys(f, p, x87_tag_of(v));
}

static void st_pop(struct x86_fpu_state *f)
{
	set_tag_phys(f, phys(f, 0), X87_TAG_EMPTY);
	f->top = (f->top + 1) & 7;
}

static void st_push(struct x86_fpu_state *f, const struct x87_reg *v)
{
	f->top = (f->top - 1) & 7;
	st_set(f, 0, v);
}

/* FCW as the hardware keeps it: bit 6 reads as one, 13-15 as zero */
static uint16_t x87_fcw_canon(uint16_t v)
{
	return (uint16_t)((v & 0x1f3f) | 0x40);
}

static void set_c(struct x86_fpu_state *f, uint16_t mask, uint16_t value)
{
	f->fsw = (uint16_t)((f->fsw & ~mask) | (value & mask));
}

static void update_es(struct x86_fpu_state *f)
{
	if (f->fsw & ~f->fcw & X87_FSW_EXC)
		f->fsw |= X87_FSW_ES | X87_FSW_B;
	else
		f->fsw &= (uint16_t)~(X87_FSW_ES | X87_FSW_B);
}

/* Record exception flags (and SF); false if an unmasked one in "blocking"
 * means the destination must not be written */
static bool x87_flags(struct x86_fpu_state *f, uint16_t exc, uint16_t blocking)
{
	exc &= X87_FSW_EXC | X87_FSW_SF;
	/* an unmasked invalid, denormal or divide-by-zero stops the
	 * operation before it computes, so no overflow/underflow/precision */
	if (exc & ~f->fcw & (X87_FSW_IE | X87_FSW_DE | X87_FSW_ZE))
		exc &= X87_FSW_IE | X87_FSW_DE | X87_FSW_ZE | X87_FSW_SF;
	f->fsw |= exc;
	uint16_t unmasked = exc & ~f->fcw & X87_FSW_EXC;
	if (unmasked)
		f->fsw |= X87_FSW_ES | X87_FSW_B;
	return !(unmasked & blocking);
}

#define BLOCK_ARITH (X87_FSW_IE | X87_FSW_DE | X87_FSW_ZE)
#define BLOCK_STORE (X87_FSW_IE | X87_FSW_OE | X87_FSW_UE)

/* Stack underflow (reading an empty register) or overflow (pushing onto a
 * full one): IE and SF, C1 tells which. True when masked: the caller
 * goes on with the indefinite. */
static bool stack_fault(struct x86_fpu_state *f, bool overflow)
{
	set_c(f, X87_FSW_C1, overflow ? X87_FSW_C1 : 0);
	return x87_flags(f, X87_FSW_IE | X87_FSW_SF, X87_FSW_IE);
}

/* Push with the overflow check */
static void push_checked(struct x86_fpu_state *f, const struct x87_reg *v)
{
	if (!st_empty(f, 7)) {
		if (stack_fault(f, true))
			st_push(f, &x87_indefinite);
		return;
	}
	set_c(f, X87_FSW_C1, 0);
	st_push(f, v);
}

/* ---- checks ---- */

void x87_check_pending(struct x86_cpu *cpu)
{
	if (cpu->cr0 & (X86_CR0_EM | X86_CR0_TS))
		x86_raise_exception(cpu, X86_EXC_NM, 0);
	if ((cpu->fpu.fsw & X87_FSW_ES) && (cpu->cr0 & X86_CR0_NE))
		x86_raise_exception(cpu, X86_EXC_MF, 0);
}

/* ---- state images ---- */

void x86_fpu_reset(struct x86_fpu_state *f)
{
	memset(f, 0, sizeof(*f));
	f->fcw = X87_FCW_INIT;
	f->ftw = 0xffff;
	f->mxcsr = MXCSR_INIT;
}

static void fninit(struct x86_fpu_state *f)
{
	f->fcw = X87_FCW_INIT;
	f->fsw = 0;
	f->top = 0;
	f->ftw = 0xffff;
	f->fop = 0;
	f->fip = f->fdp = 0;
	f->fcs = f->fds = 0;
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

void x86_fpu_fxsave(const struct x86_fpu_state *f, uint8_t img[512], bool rex_w, unsigned nxmm)
{
	uint8_t abridged = 0;
	for (unsigned p = 0; p < 8; p++)
		if (tag_phys(f, p) != X87_TAG_EMPTY)
			abridged |= (uint8_t)(1u << p);
	memset(img, 0, 160);
	put16(img + 0, f->fcw);
	put16(img + 2, x87_fsw(f));
	img[4] = abridged;
	put16(img + 6, f->fop);
	if (rex_w) {
		put64(img + 8, f->fip);
		put64(img + 16, f->fdp);
	} else {
		put32(img + 8, (uint32_t)f->fip);
		put16(img + 12, f->fcs);
		put32(img + 16, (uint32_t)f->fdp);
		put16(img + 20, f->fds);
	}
	put32(img + 24, f->mxcsr);
	put32(img + 28, MXCSR_SUPPORTED);
	for (unsigned i = 0; i < 8; i++) {
		const struct x87_reg *r = &f->st[(f->top + i) & 7];
		put64(img + 32 + 16 * i, r->mantissa);
		put16(img + 40 + 16 * i, r->sign_exp);
	}
	for (unsigned i = 0; i < nxmm; i++)
		memcpy(img + 160 + 16 * i, &f->xmm[i], 16);
}

int x86_fpu_fxrstor(struct x86_fpu_state *f, const uint8_t img[512], bool rex_w, unsigned nxmm)
{
	uint32_t mxcsr = get32(img + 24);
	if (mxcsr & ~MXCSR_SUPPORTED)
		return -1;
	f->mxcsr = mxcsr;
	f->fcw = x87_fcw_canon(get16(img + 0));
	uint16_t fsw = get16(img + 2);
	f->top = (fsw >> 11) & 7;
	f->fsw = fsw & (uint16_t)~X87_FSW_TOP;
	f->fop = get16(img + 6) & 0x7ff;
	if (rex_w) {
		f->fip = get64(img + 8);
		f->fdp = get64(img + 16);
		f->fcs = f->fds = 0;
	} else {
		f->fip = get32(img + 8);
		f->fcs = get16(img + 12);
		f->fdp = get32(img + 16);
		f->fds = get16(img + 20);
	}
	for (unsigned i = 0; i < 8; i++) {
		struct x87_reg *r = &f->st[(f->top + i) & 7];
		r->mantissa = get64(img + 32 + 16 * i);
		r->sign_exp = get16(img + 40 + 16 * i);
	}
	uint8_t abridged = img[4];
	for (unsigned p = 0; p < 8; p++)
		set_tag_phys(f, p, (abridged & (1u << p)) ? x87_tag_of(&f->st[p]) : X87_TAG_EMPTY);
	for (unsigned i = 0; i < nxmm; i++)
		memcpy(&f->xmm[i], img + 160 + 16 * i, 16);
	return 0;
}

/* fnstenv/fnsave environment: 28 bytes (32-bit operand size) or 14 */
static unsigned env_store(const struct x86_cpu *cpu, uint8_t *m, bool o16)
{
	const struct x86_fpu_state *f = &cpu->fpu;
	bool real = cpu->mode == X86_MODE_REAL;
	uint32_t fip = (uint32_t)f->fip, fdp = (uint32_t)f->fdp;
	if (o16) {
		memset(m, 0, 14);
		put16(m + 0, f->fcw);
		put16(m + 2, x87_fsw(f));
		put16(m + 4, f->ftw);
		if (real) {
			put16(m + 6, (uint16_t)fip);
			put16(m + 8, (uint16_t)(((fip >> 16) << 12) | f->fop));
			put16(m + 10, (uint16_t)fdp);
			put16(m + 12, (uint16_t)((fdp >> 16) << 12));
		} else {
			put16(m + 6, (uint16_t)fip);
			put16(m + 8, f->fcs);
			put16(m + 10, (uint16_t)fdp);
			put16(m + 12, f->fds);
		}
		return 14;
	}
	memset(m, 0, 28);
	/* the unused upper halves read as ones on hardware */
	put32(m + 0, 0xffff0000u | f->fcw);
	put32(m + 4, 0xffff0000u | x87_fsw(f));
	put32(m + 8, 0xffff0000u | f->ftw);
	if (real) {
		put32(m + 12, 0xffff0000u | (fip & 0xffff));
		put32(m + 16, ((fip >> 16) << 12) | f->fop);
		put32(m + 20, 0xffff0000u | (fdp & 0xffff));
		put32(m + 24, (fdp >> 16) << 12);
	} else {
		put32(m + 12, fip);
		put32(m + 16, ((uint32_t)f->fop << 16) | f->fcs);
		put32(m + 20, fdp);
		put32(m + 24, 0xffff0000u | f->fds);
	}
	return 28;
}

static unsigned env_load(struct x86_cpu *cpu, const uint8_t *m, bool o16)
{
	struct x86_fpu_state *f = &cpu->fpu;
	bool real = cpu->mode == X86_MODE_REAL;
	uint16_t fsw, ftw;
	unsigned n;
	f->fcw = x87_fcw_canon(get16(m));
	if (o16) {
		fsw = get16(m + 2);
		ftw = get16(m + 4);
		if (real) {
			f->fip = get16(m + 6) | ((uint32_t)(get16(m + 8) >> 12) << 16);
			f->fop = get16(m + 8) & 0x7ff;
			f->fdp = get16(m + 10) | ((uint32_t)(get16(m + 12) >> 12) << 16);
		} else {
			f->fip = get16(m + 6);
			f->fcs = get16(m + 8);
			f->fdp = get16(m + 10);
			f->fds = get16(m + 12);
		}
		n = 14;
	} else {
		fsw = get16(m + 4);
		ftw = get16(m + 8);
		if (real) {
			f->fip = get16(m + 12) | ((get32(m + 16) >> 12) << 16);
			f->fop = get32(m + 16) & 0x7ff;
			f->fdp = get16(m + 20) | ((get32(m + 24) >> 12) << 16);
		} else {
			f->fip = get32(m + 12);
			f->fcs = get16(m + 16);
			f->fop = (get32(m + 16) >> 16) & 0x7ff;
			f->fdp = get32(m + 20);
			f->fds = get16(m + 24);
		}
		n = 28;
	}
	f->top = (fsw >> 11) & 7;
	f->fsw = fsw & (uint16_t)~X87_FSW_TOP;
	f->ftw = ftw;
	update_es(f);
	return n;
}

/* Tags in an environment image only say empty or not; the rest follow
 * from the register contents */
static void retag(struct x86_fpu_state *f)
{
	for (unsigned p = 0; p < 8; p++)
		if (tag_phys(f, p) != X87_TAG_EMPTY)
			set_tag_phys(f, p, x87_tag_of(&f->st[p]));
}

/* ---- instructions ---- */

struct x87_ctx {
	struct x86_cpu *cpu;
	const struct x86_insn *insn;
	struct x86_fpu_state *f;
	uint64_t ea;
};

static void read_mem(struct x87_ctx *c, void *buf, unsigned size)
{
	x86_read_mem(c->cpu, c->insn->seg, c->ea, buf, size);
}

static void write_mem(struct x87_ctx *c, const void *buf, unsigned size)
{
	x86_write_mem(c->cpu, c->insn->seg, c->ea, buf, size);
}



/* Arithmetic by ModRM.reg (fadd..fdivr, fcom, fcomp): a is st(0), the
 * other operand is register b, or memory m of type mtype (0 m32real,
 * 1 m64real, 2 m32int, 3 m16int) run as the host's own memory form so
 * that operand conversion flags come out as on hardware.  The result
 * goes to st(dst). */
static void arith(struct x87_ctx *c, unsigned op, const struct x87_reg *b, const void *m,
		  unsigned mtype, unsigned dst, bool b_underflow, bool pop)
{
	struct x86_fpu_state *f = c->f;
	struct x87_reg a, r[2];
	bool cmp = op == 2 || op == 3;
	if (st_empty(f, 0) || b_underflow) {
		bool masked = stack_fault(f, false);
		if (cmp)
			set_c(f, X87_FSW_C0 | X87_FSW_C2 | X87_FSW_C3, 0xffff);
		if (!masked)
			return;
		if (!cmp)
			st_set(f, dst, &x87_indefinite);
		if (pop)
			st_pop(f);
		return;
	}
	a = *st(f, 0);
	uint16_t sw = b ? host_arith[op](&a, b, r, f->fcw, f->fsw) :
			  host_memop[mtype][op](&a, m, r, f->fcw, f->fsw);
	/* the condition codes change even when an unmasked exception
	 * leaves the destination alone */
	bool ok = x87_flags(f, sw, cmp ? X87_FSW_IE | X87_FSW_DE : BLOCK_ARITH);
	set_c(f, X87_FSW_CC, sw);
	if (!ok) {
		set_c(f, X87_FSW_C1, 0);	/* stopped before rounding */
		return;
	}
	if (!cmp)
		st_set(f, dst, &r[0]);
	if (pop)
		st_pop(f);
}

/* fcom/fucom/fcomi/fucomi st(0), st(i); an unmasked invalid operation
 * still reports "unordered" but does not pop */
static void compare(struct x87_ctx *c, unsigned i, bool unordered, bool to_eflags, unsigned pops)
{
	struct x86_fpu_state *f = c->f;
	struct x87_reg r[2];
	uint16_t sw;
	bool ok;
	if (st_empty(f, 0) || st_empty(f, i)) {
		ok = stack_fault(f, false);
		sw = X87_FSW_C0 | X87_FSW_C2 | X87_FSW_C3;
	} else {
		struct x87_reg a = *st(f, 0), b = *st(f, i);
		sw = unordered ? host_fucom(&a, &b, r, f->fcw, f->fsw) : host_fcom(&a, &b, r, f->fcw, f->fsw);
		ok = x87_flags(f, sw, X87_FSW_IE | X87_FSW_DE);
		set_c(f, X87_FSW_C1, 0);
	}
	if (to_eflags) {
		uint64_t fl = ((sw & X87_FSW_C3) ? X86_RFLAGS_ZF : 0) |
			      ((sw & X87_FSW_C2) ? X86_RFLAGS_PF : 0) |
			      ((sw & X87_FSW_C0) ? X86_RFLAGS_CF : 0);
		x86_set_arith_flags(c->cpu, fl);
	} else {
		set_c(f, X87_FSW_C0 | X87_FSW_C2 | X87_FSW_C3, sw);
	}
	if (!ok)
		return;
	while (pops--)
		st_pop(f);
}

/* D9 E0..FF and the other register-only ops on st(0) (and st(1)) */
static int d9_special(struct x87_ctx *c, unsigned low)
{
	struct x86_fpu_state *f = c->f;
	struct x87_reg a, b, r[3];
	uint16_t sw;
	bool ok;
	switch (low) {
	case 0x20: /* fchs */
	case 0x21: /* fabs */
		if (st_empty(f, 0)) {
			if (stack_fault(f, false))
				st_set(f, 0, &x87_indefinite);
			return 0;
		}
		a = *st(f, 0);
		if (low == 0x20)
			a.sign_exp ^= 0x8000;
		else
			a.sign_exp &= 0x7fff;
		set_c(f, X87_FSW_C1, 0);
		st_set(f, 0, &a);
		return 0;
	case 0x24: /* ftst */
		if (st_empty(f, 0)) {
			stack_fault(f, false);
			set_c(f, X87_FSW_C0 | X87_FSW_C2 | X87_FSW_C3, 0xffff);
			return 0;
		}
		a = *st(f, 0);
		sw = host_ftst(&a, &a, r, f->fcw, f->fsw);
		x87_flags(f, sw, 0);
		set_c(f, X87_FSW_CC, sw & (X87_FSW_C0 | X87_FSW_C2 | X87_FSW_C3));
		return 0;
	case 0x25: /* fxam */
		a = *st(f, 0);
		if (st_empty(f, 0)) {
			set_c(f, X87_FSW_CC, X87_FSW_C3 | X87_FSW_C0 | ((a.sign_exp & 0x8000) ? X87_FSW_C1 : 0));
			return 0;
		}
		sw = host_fxam(&a, &a, r, f->fcw, f->fsw);
		set_c(f, X87_FSW_CC, sw);
		return 0;
	case 0x28 ... 0x2e: { /* constants */
		static host_fn *const k[7] = { host_fld1, host_fldl2t, host_fldl2e, host_fldpi,
					       host_fldlg2, host_fldln2, host_fldz };
		struct x87_reg z = { 0, 0 };
		k[low - 0x28](&z, &z, r, f->fcw, f->fsw);
		push_checked(f, &r[0]);
		return 0;
	}
	case 0x30: /* f2xm1 */
	case 0x3a: /* fsqrt */
	case 0x3c: /* frndint */
	case 0x3e: /* fsin */
	case 0x3f: { /* fcos */
		if (st_empty(f, 0)) {
			/* C2 (sin/cos out of range) reads clear after the fault */
			set_c(f, X87_FSW_C2, 0);
			if (stack_fault(f, false))
				st_set(f, 0, &x87_indefinite);
			return 0;
		}
		a = *st(f, 0);
		host_fn *fn = low == 0x30 ? host_f2xm1 : low == 0x3a ? host_fsqrt :
			      low == 0x3c ? host_frndint : low == 0x3e ? host_fsin : host_fcos;
		sw = fn(&a, &a, r, f->fcw, f->fsw);
		ok = x87_flags(f, sw, BLOCK_ARITH);
		set_c(f, X87_FSW_CC, sw);
		if (!ok) {
			set_c(f, X87_FSW_C1, 0);	/* stopped before rounding */
			return 0;
		}
		if (!(sw & X87_FSW_C2) || (low != 0x3e && low != 0x3f))
			st_set(f, 0, &r[0]);
		return 0;
	}
	case 0x31: /* fyl2x */
	case 0x33: /* fpatan */
	case 0x39: /* fyl2xp1 */
	case 0x35: /* fprem1 */
	case 0x38: /* fprem */
	case 0x3d: { /* fscale */
		bool e0 = st_empty(f, 0), e1 = st_empty(f, 1);
		bool pops = low == 0x31 || low == 0x33 || low == 0x39;
		if (e0 || e1) {
			set_c(f, X87_FSW_C2, 0);
			if (!stack_fault(f, false))
				return 0;
			if (pops) {
				st_set(f, 1, &x87_indefinite);
				st_pop(f);
			} else {
				st_set(f, 0, &x87_indefinite);
			}
			return 0;
		}
		a = *st(f, 0);
		b = *st(f, 1);
		host_fn *fn = low == 0x31 ? host_fyl2x : low == 0x33 ? host_fpatan :
			      low == 0x39 ? host_fyl2xp1 : low == 0x35 ? host_fprem1 :
			      low == 0x38 ? host_fprem : host_fscale;
		sw = fn(&a, &b, r, f->fcw, f->fsw);
		ok = x87_flags(f, sw, BLOCK_ARITH);
		set_c(f, X87_FSW_CC, sw);
		if (!ok) {
			set_c(f, X87_FSW_C1, 0);	/* stopped before rounding */
			return 0;
		}
		if (pops) {
			st_set(f, 1, &r[0]);
			st_pop(f);
		} else {
			st_set(f, 0, &r[0]);
		}
		return 0;
	}
	case 0x32: /* fptan */
	case 0x34: /* fxtract */
	case 0x3b: { /* fsincos */
		if (st_empty(f, 0)) {
			set_c(f, X87_FSW_C2, 0);
			if (!stack_fault(f, false))
				return 0;
			st_set(f, 0, &x87_indefinite);
			st_push(f, &x87_indefinite);
			return 0;
		}
		if (!st_empty(f, 7)) {
			set_c(f, X87_FSW_C2, 0);
			if (!stack_fault(f, true))
				return 0;
			st_set(f, 0, &x87_indefinite);
			st_push(f, &x87_indefinite);
			return 0;
		}
		a = *st(f, 0);
		host_fn *fn = low == 0x32 ? host_fptan : low == 0x34 ? host_fxtract : host_fsincos;
		sw = fn(&a, &a, r, f->fcw, f->fsw);
		ok = x87_flags(f, sw, BLOCK_ARITH);
		set_c(f, X87_FSW_CC, sw);
		if (!ok) {
			set_c(f, X87_FSW_C1, 0);	/* stopped before rounding */
			return 0;
		}
		if (low != 0x34 && (sw & X87_FSW_C2))
			return 0;	/* out of range: operand kept, nothing pushed */
		st_set(f, 0, &r[1]);
		st_push(f, &r[0]);
		return 0;
	}
	case 0x36: /* fdecstp */
		f->top = (f->top - 1) & 7;
		set_c(f, X87_FSW_C1, 0);
		return 0;
	case 0x37: /* fincstp */
		f->top = (f->top + 1) & 7;
		set_c(f, X87_FSW_C1, 0);
		return 0;
	}
	return -1;
}

static int fcmov(struct x87_ctx *c, unsigned cc, unsigned i)
{
	struct x86_fpu_state *f = c->f;
	if (st_empty(f, 0) || st_empty(f, i)) {
		if (stack_fault(f, false))
			st_set(f, 0, &x87_indefinite);
		return 0;
	}
	if (x86_cond(c->cpu, cc)) {
		struct x87_reg v = *st(f, i);
		st_set(f, 0, &v);
	}
	return 0;
}

/* fst/fstp/fist/fistp/fisttp/fbstp to memory; kind: 0 m32real, 1 m64real,
 * 2 m80real, 3 int16, 4 int32, 5 int64, 6-8 truncating int16/32/64, 9 bcd */
static void store_mem(struct x87_ctx *c, unsigned kind, bool pop)
{
	struct x86_fpu_state *f = c->f;
	static const uint8_t size[10] = { 4, 8, 10, 2, 4, 8, 2, 4, 8, 10 };
	uint8_t buf[16];
	uint16_t sw = 0;
	struct x87_reg a;
	bool empty = st_empty(f, 0);
	if (empty) {
		if (!stack_fault(f, false))
			return;
		a = x87_indefinite;
	} else {
		a = *st(f, 0);
	}
	switch (kind) {
	case 0: sw = host_st32(&a, (float *)buf, f->fcw, f->fsw); break;
	case 1: sw = host_st64(&a, (double *)buf, f->fcw, f->fsw); break;
	case 2: memcpy(buf, &a.mantissa, 8); memcpy(buf + 8, &a.sign_exp, 2); break;
	case 3: sw = host_ist16(&a, (int16_t *)buf, f->fcw, f->fsw); break;
	case 4: sw = host_ist32(&a, (int32_t *)buf, f->fcw, f->fsw); break;
	case 5: sw = host_ist64(&a, (int64_t *)buf, f->fcw, f->fsw); break;
	case 6: sw = host_istt16(&a, (int16_t *)buf, f->fcw, f->fsw); break;
	case 7: sw = host_istt32(&a, (int32_t *)buf, f->fcw, f->fsw); break;
	case 8: sw = host_istt64(&a, (int64_t *)buf, f->fcw, f->fsw); break;
	default: sw = host_bstp(&a, (struct bcd80 *)buf, f->fcw, f->fsw); break;
	}
	if (empty)
		sw &= (uint16_t)~X87_FSW_EXC;	/* the indefinite is stored quietly */
	/* the store can fault (#PF): do it before the status changes */
	uint16_t unmasked = sw & ~f->fcw & BLOCK_STORE;
	if (!unmasked)
		write_mem(c, buf, size[kind]);
	x87_flags(f, sw, 0);
	if (unmasked) {
		set_c(f, X87_FSW_CC, sw);
		return;
	}
	if (!empty && kind != 2)
		set_c(f, X87_FSW_CC, sw);
	else if (!empty)
		set_c(f, X87_FSW_C1, 0);
	if (pop)
		st_pop(f);
}

/* fld/fild/fbld from memory; kind as for store_mem (0-5, 9) */
static void load_mem(struct x87_ctx *c, unsigned kind)
{
	struct x86_fpu_state *f = c->f;
	uint8_t buf[16] = { 0 };
	struct x87_reg v = { 0, 0 };
	uint16_t sw = 0;
	static const uint8_t size[10] = { 4, 8, 10, 2, 4, 8, 0, 0, 0, 10 };
	read_mem(c, buf, size[kind]);
	switch (kind) {
	case 0: sw = host_ld32((const float *)buf, &v, f->fcw, f->fsw); break;
	case 1: sw = host_ld64((const double *)buf, &v, f->fcw, f->fsw); break;
	case 2: memcpy(&v.mantissa, buf, 8); memcpy(&v.sign_exp, buf + 8, 2); break;
	case 3: sw = host_ild16((const int16_t *)buf, &v, f->fcw, f->fsw); break;
	case 4: sw = host_ild32((const int32_t *)buf, &v, f->fcw, f->fsw); break;
	case 5: sw = host_ild64((const int64_t *)buf, &v, f->fcw, f->fsw); break;
	default: sw = host_bld((const struct bcd80 *)buf, &v, f->fcw, f->fsw); break;
	}
	if (!st_empty(f, 7)) {
		if (stack_fault(f, true))
			st_push(f, &x87_indefinite);
		return;
	}
	if (!x87_flags(f, sw, X87_FSW_IE | X87_FSW_DE))
		return;
	if (kind == 2)
		set_c(f, X87_FSW_C1, 0);
	else
		set_c(f, X87_FSW_CC, sw);
	st_push(f, &v);
}

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
	struct x86_fpu_state *f = c->f;
	struct x86_cpu *cpu = c->cpu;
	bool o16 = c->insn->opsize == 2;
	switch (opc) {
	case 0xd8:
	case 0xdc:
	case 0xda:
	case 0xde: {
		uint8_t m[8];
		unsigned mtype = opc == 0xd8 ? 0 : opc == 0xdc ? 1 : opc == 0xda ? 2 : 3;
		static const uint8_t msize[4] = { 4, 8, 4, 2 };
		read_mem(c, m, msize[mtype]);
		arith(c, reg, NULL, m, mtype, 0, false, reg == 3);
		return 0;
	}
	case 0xd9:
		switch (reg) {
		case 0: load_mem(c, 0); return 0;
		case 2: store_mem(c, 0, false); return 0;
		case 3: store_mem(c, 0, true); return 0;
		case 4: { /* fldenv */
			uint8_t m[28];
			read_mem(c, m, o16 ? 14 : 28);
			env_load(cpu, m, o16);
			retag(f);
			return 0;
		}
		case 5: { /* fldcw */
			uint16_t v;
			read_mem(c, &v, 2);
			f->fcw = x87_fcw_canon(v);
			update_es(f);
			return 0;
		}
		case 6: { /* fnstenv: then all exceptions masked */
			uint8_t m[28];
			unsigned n = env_store(cpu, m, o16);
			write_mem(c, m, n);
			f->fcw |= 0x3f;
			update_es(f);
			return 0;
		}
		case 7:
			write_mem(c, &f->fcw, 2);
			return 0;
		}
		return -1;
	case 0xdb:
		switch (reg) {
		case 0: load_mem(c, 4); return 0;
		case 1: store_mem(c, 7, true); return 0;
		case 2: store_mem(c, 4, false); return 0;
		case 3: store_mem(c, 4, true); return 0;
		case 5: load_mem(c, 2); return 0;
		case 7: store_mem(c, 2, true); return 0;
		}
		return -1;
	case 0xdd:
		switch (reg) {
		case 0: load_mem(c, 1); return 0;
		case 1: store_mem(c, 8, true); return 0;
		case 2: store_mem(c, 1, false); return 0;
		case 3: store_mem(c, 1, true); return 0;
		case 4: { /* frstor */
			uint8_t m[28 + 80];
			unsigned n = o16 ? 14 : 28;
			read_mem(c, m, n + 80);
			env_load(cpu, m, o16);
			for (unsigned i = 0; i < 8; i++) {
				struct x87_reg *r = st(f, i);
				memcpy(&r->mantissa, m + n + 10 * i, 8);
				memcpy(&r->sign_exp, m + n + 10 * i + 8, 2);
			}
			retag(f);
			return 0;
		}
		case 6: { /* fnsave */
			uint8_t m[28 + 80];
			unsigned n = env_store(cpu, m, o16);
			for (unsigned i = 0; i < 8; i++) {
				const struct x87_reg *r = st(f, i);
				memcpy(m + n + 10 * i, &r->mantissa, 8);
				memcpy(m + n + 10 * i + 8, &r->sign_exp, 2);
			}
			write_mem(c, m, n + 80);
			fninit(f);
			return 0;
		}
		case 7: { /* fnstsw m16 */
			uint16_t v = x87_fsw(f);
			write_mem(c, &v, 2);
			return 0;
		}
		}
		return -1;
	case 0xdf:
		switch (reg) {
		case 0: load_mem(c, 3); return 0;
		case 1: store_mem(c, 6, true); return 0;
		case 2: store_mem(c, 3, false); return 0;
		case 3: store_mem(c, 3, true); return 0;
		case 4: load_mem(c, 9); return 0;
		case 5: load_mem(c, 5); return 0;
		case 6: store_mem(c, 9, true); return 0;
		case 7: store_mem(c, 5, true); return 0;
		}
		return -1;
	}
	return -1;
}

static int x87_reg_op(struct x87_ctx *c, unsigned opc, unsigned modrm)
{
	struct x86_fpu_state *f = c->f;
	unsigned reg = (modrm >> 3) & 7, i = modrm & 7;
	struct x87_reg v;
	switch (opc) {
	case 0xd8: /* st0 = st0 op st(i) */
	case 0xdc: /* st(i) = st0 op st(i) (sub/div reversed by encoding) */
	case 0xde: { /* same, then pop */
		if (opc == 0xde && reg == 3 && i != 1)
			return -1;	/* only fcompp is DE D9 */
		if (reg == 2 || reg == 3) {
			/* fcom/fcomp; DC D0/D8 and DE D0 are aliases; DE D9 fcompp */
			unsigned pops = (opc == 0xde && reg == 3) ? 2 : (reg == 3 || opc == 0xde);
			compare(c, i, false, false, pops);
			return 0;
		}
		/* arith() computes from a = st0 and b = st(i) by ModRM.reg in
		 * every form: DC E8+i "fsub st(i), st0" is st(i) - st0 = b - a,
		 * the same reg 5 as D8 E8+i "fsubr st0, st(i)" */
		bool empty = st_empty(f, i);
		v = empty ? x87_indefinite : *st(f, i);
		arith(c, reg, &v, NULL, 0, opc == 0xd8 ? 0 : i, empty, opc == 0xde);
		return 0;
	}
	case 0xd9:
		switch (reg) {
		case 0: /* fld st(i) */
			if (st_empty(f, i)) {
				/* the underflow is reported, not a full stack */
				if (stack_fault(f, false))
					st_push(f, &x87_indefinite);
				return 0;
			}
			v = *st(f, i);
			push_checked(f, &v);
			return 0;
		case 1: { /* fxch */
			struct x87_reg a, b;
			if (st_empty(f, 0) || st_empty(f, i)) {
				if (!stack_fault(f, false))
					return 0;
			}
			a = st_empty(f, 0) ? x87_indefinite : *st(f, 0);
			b = st_empty(f, i) ? x87_indefinite : *st(f, i);
			st_set(f, 0, &b);
			st_set(f, i, &a);
			set_c(f, X87_FSW_C1, 0);
			return 0;
		}
		case 2:
			if (i == 0)
				return 0;	/* fnop */
			return -1;
		case 3: /* fstp1 alias: an empty st(0) is just popped, no fault */
			if (st_empty(f, 0)) {
				set_c(f, X87_FSW_C1, 0);
				st_pop(f);
				return 0;
			}
			goto fstp_reg;
		default:
			return d9_special(c, modrm & 0x3f);
		}
	case 0xda:
		switch (reg) {
		case 0: return fcmov(c, 2, i);	/* fcmovb */
		case 1: return fcmov(c, 4, i);	/* fcmove */
		case 2: return fcmov(c, 6, i);	/* fcmovbe */
		case 3: return fcmov(c, 10, i);	/* fcmovu */
		case 5:
			if (i == 1) { /* fucompp */
				compare(c, 1, true, false, 2);
				return 0;
			}
			return -1;
		}
		return -1;
	case 0xdb:
		switch (reg) {
		case 0: return fcmov(c, 3, i);	/* fcmovnb */
		case 1: return fcmov(c, 5, i);	/* fcmovne */
		case 2: return fcmov(c, 7, i);	/* fcmovnbe */
		case 3: return fcmov(c, 11, i);	/* fcmovnu */
		case 4:
			switch (i) {
			case 0: case 1: case 4: return 0;	/* fneni, fndisi, fnsetpm: no-ops since the 387 */
			case 2: /* fnclex */
				f->fsw &= (uint16_t)~(X87_FSW_EXC | X87_FSW_SF | X87_FSW_ES | X87_FSW_B);
				return 0;
			case 3:
				fninit(f);
				return 0;
			}
			return -1;
		case 5: compare(c, i, true, true, 0); return 0;	/* fucomi */
		case 6: compare(c, i, false, true, 0); return 0;	/* fcomi */
		}
		return -1;
	case 0xdd:
		switch (reg) {
		case 0: /* ffree */
			set_tag_phys(f, phys(f, i), X87_TAG_EMPTY);
			return 0;
		case 1: /* fxch4 alias */
			return x87_reg_op(c, 0xd9, 0xc8 | i);
		case 2: /* fst st(i) */
		case 3: /* fstp st(i) */
		fstp_reg:
			if (st_empty(f, 0)) {
				if (!stack_fault(f, false))
					return 0;
				v = x87_indefinite;
			} else {
				v = *st(f, 0);
				set_c(f, X87_FSW_C1, 0);
			}
			st_set(f, i, &v);
			if (reg != 2)
				st_pop(f);
			return 0;
		case 4: compare(c, i, true, false, 0); return 0;	/* fucom */
		case 5: compare(c, i, true, false, 1); return 0;	/* fucomp */
		}
		return -1;
	case 0xdf:
		switch (reg) {
		case 0: /* ffreep */
			set_tag_phys(f, phys(f, i), X87_TAG_EMPTY);
			st_pop(f);
			return 0;
		case 1:
			return x87_reg_op(c, 0xd9, 0xc8 | i);
		case 2:
		case 3:
			reg = 3;
			goto fstp_reg;
		case 4:
			if (i == 0) { /* fnstsw ax */
				x86_set_reg(c->cpu, c->insn, X86_RAX, 2, x87_fsw(f));
				return 0;
			}
			return -1;
		case 5: compare(c, i, true, true, 1); return 0;	/* fucomip */
		case 6: compare(c, i, false, true, 1); return 0;	/* fcomip */
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
