/* x87 arithmetic and compares: fadd, fmul, fsub(r), fdiv(r) and fcom
 * with st(i) or a memory operand (real or integer, run as the host's own
 * memory form so that operand conversion flags come out as on hardware),
 * and the register compares fcom/fucom/fcomi/fucomi. */
#include "cpu/x86/x87/x87.h"

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


/* st0 = st0 OP st1, by ModRM.reg of D8 */
X87_HOST2(fadd, "0xd8, 0xc1")
X87_HOST2(fmul, "0xd8, 0xc9")
X87_HOST2(fcom, "0xd8, 0xd1")
X87_HOST2(fsub, "0xd8, 0xe1")
X87_HOST2(fsubr, "0xd8, 0xe9")
X87_HOST2(fdiv, "0xd8, 0xf1")
X87_HOST2(fdivr, "0xd8, 0xf9")
X87_HOST2(fucom, "0xdd, 0xe1")

static host_fn *const host_arith[8] = {
	host_fadd, host_fmul, host_fcom, host_fcom, host_fsub, host_fsubr, host_fdiv, host_fdivr,
};

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
void x87_compare(struct x87_ctx *c, unsigned i, bool unordered, bool to_eflags, unsigned pops)
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

int x87_arith_mem(struct x87_ctx *c, unsigned opc, unsigned reg)
{
	uint8_t m[8];
	unsigned mtype = opc == 0xd8 ? 0 : opc == 0xdc ? 1 : opc == 0xda ? 2 : 3;
	static const uint8_t msize[4] = { 4, 8, 4, 2 };
	x87_read_mem(c, m, msize[mtype]);
	arith(c, reg, NULL, m, mtype, 0, false, reg == 3);
	return 0;
}

int x87_arith_reg(struct x87_ctx *c, unsigned opc, unsigned modrm)
{
	struct x86_fpu_state *f = c->f;
	unsigned reg = (modrm >> 3) & 7, i = modrm & 7;
	struct x87_reg v;
	if (opc == 0xde && reg == 3 && i != 1)
		return -1;	/* only fcompp is DE D9 */
	if (reg == 2 || reg == 3) {
		/* fcom/fcomp; DC D0/D8 and DE D0 are aliases; DE D9 fcompp */
		unsigned pops = (opc == 0xde && reg == 3) ? 2 : (reg == 3 || opc == 0xde);
		x87_compare(c, i, false, false, pops);
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
