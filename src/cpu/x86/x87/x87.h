/* What the x87 instruction groups (the files of x87/) share: the host
 * helpers' calling convention and the macros that make them, the
 * register stack with its tags and stack faults, the status word's
 * exception rules, and each group's entry points, which x87.c routes
 * the D8-DF encodings to.
 *
 * The register stack, tags, stack faults, the status and control words
 * and the environment images are kept in C.  The arithmetic itself
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
#ifndef MINIVMM_X86_X87_X87_H
#define MINIVMM_X86_X87_X87_H

#include <string.h>

#include "cpu/x86/exec.h"
#include "cpu/x86/fpu_internal.h"

/* the QNaN "real indefinite" a masked invalid operation gives */
extern const struct x87_reg x87_indefinite;

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

/* ---- register stack ---- */

static inline unsigned phys(const struct x86_fpu_state *f, unsigned i)
{
	return (f->top + i) & 7;
}

static inline unsigned tag_phys(const struct x86_fpu_state *f, unsigned p)
{
	return (f->ftw >> (2 * p)) & 3;
}

static inline void set_tag_phys(struct x86_fpu_state *f, unsigned p, unsigned tag)
{
	f->ftw = (uint16_t)((f->ftw & ~(3u << (2 * p))) | (tag << (2 * p)));
}

static inline bool st_empty(const struct x86_fpu_state *f, unsigned i)
{
	return tag_phys(f, phys(f, i)) == X87_TAG_EMPTY;
}

static inline struct x87_reg *st(struct x86_fpu_state *f, unsigned i)
{
	return &f->st[phys(f, i)];
}

static inline void st_set(struct x86_fpu_state *f, unsigned i, const struct x87_reg *v)
{
	unsigned p = phys(f, i);
	f->st[p].mantissa = v->mantissa;
	f->st[p].sign_exp = v->sign_exp;
	set_tag_phys(f, p, x87_tag_of(v));
}

static inline void st_pop(struct x86_fpu_state *f)
{
	set_tag_phys(f, phys(f, 0), X87_TAG_EMPTY);
	f->top = (f->top + 1) & 7;
}

static inline void st_push(struct x86_fpu_state *f, const struct x87_reg *v)
{
	f->top = (f->top - 1) & 7;
	st_set(f, 0, v);
}

static inline void set_c(struct x86_fpu_state *f, uint16_t mask, uint16_t value)
{
	f->fsw = (uint16_t)((f->fsw & ~mask) | (value & mask));
}

/* Record exception flags (and SF); false if an unmasked one in "blocking"
 * means the destination must not be written */
static inline bool x87_flags(struct x86_fpu_state *f, uint16_t exc, uint16_t blocking)
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

/* the exceptions that, unmasked, keep an arithmetic result from its
 * destination */
#define BLOCK_ARITH (X87_FSW_IE | X87_FSW_DE | X87_FSW_ZE)

/* Stack underflow (reading an empty register) or overflow (pushing onto a
 * full one): IE and SF, C1 tells which. True when masked: the caller
 * goes on with the indefinite. */
static inline bool stack_fault(struct x86_fpu_state *f, bool overflow)
{
	set_c(f, X87_FSW_C1, overflow ? X87_FSW_C1 : 0);
	return x87_flags(f, X87_FSW_IE | X87_FSW_SF, X87_FSW_IE);
}

/* Push with the overflow check */
static inline void push_checked(struct x86_fpu_state *f, const struct x87_reg *v)
{
	if (!st_empty(f, 7)) {
		if (stack_fault(f, true))
			st_push(f, &x87_indefinite);
		return;
	}
	set_c(f, X87_FSW_C1, 0);
	st_push(f, v);
}

/* ---- one instruction ---- */

struct x87_ctx {
	struct x86_cpu *cpu;
	const struct x86_insn *insn;
	struct x86_fpu_state *f;
	uint64_t ea;
};

static inline void x87_read_mem(struct x87_ctx *c, void *buf, unsigned size)
{
	x86_read_mem(c->cpu, c->insn->seg, c->ea, buf, size);
}

static inline void x87_write_mem(struct x87_ctx *c, const void *buf, unsigned size)
{
	x86_write_mem(c->cpu, c->insn->seg, c->ea, buf, size);
}

/* ---- the groups ---- */

/* arith.c: fadd..fdivr and fcom/fcomp with a memory operand (D8, DA, DC,
 * DE by ModRM.reg) or a register (D8, DC, DE); the register compares
 * fcom, fucom, fcomi, fucomi and their popping forms */
int x87_arith_mem(struct x87_ctx *c, unsigned opc, unsigned reg);
int x87_arith_reg(struct x87_ctx *c, unsigned opc, unsigned modrm);
void x87_compare(struct x87_ctx *c, unsigned i, bool unordered, bool to_eflags, unsigned pops);

/* transcendental.c: D9 E0-FF, the functions of st(0) (and st(1)): fchs,
 * fabs, ftst, fxam, the constants, f2xm1 .. fcos, fdecstp, fincstp */
int x87_st0_function(struct x87_ctx *c, unsigned low);

/* loadstore.c: loads and stores to memory (kind: 0 m32real, 1 m64real,
 * 2 m80real, 3 int16, 4 int32, 5 int64, 6-8 truncating int16/32/64,
 * 9 bcd) and between registers */
void x87_load_mem(struct x87_ctx *c, unsigned kind);
void x87_store_mem(struct x87_ctx *c, unsigned kind, bool pop);
void x87_fld_reg(struct x87_ctx *c, unsigned i);
void x87_fxch(struct x87_ctx *c, unsigned i);
void x87_fst_reg(struct x87_ctx *c, unsigned i, bool pop);
void x87_fstp1(struct x87_ctx *c, unsigned i);
void x87_ffree(struct x87_ctx *c, unsigned i, bool pop);
int x87_fcmov(struct x87_ctx *c, unsigned cc, unsigned i);

/* control.c: the control and environment instructions: fldenv, fldcw,
 * fnstenv, fnstcw (D9 /4-/7), frstor, fnsave, fnstsw m16 (DD /4 /6 /7);
 * fneni & co, fnclex, fninit (DB E0-E4) and fnstsw ax (DF E0) */
int x87_control_mem(struct x87_ctx *c, unsigned opc, unsigned reg);
int x87_control_reg(struct x87_ctx *c, unsigned opc, unsigned modrm);

#endif
