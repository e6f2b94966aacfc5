/* x87 loads and stores: fld/fild/fbld and fst/fist/fisttp/fbstp with
 * memory, converted by the host's own load and store instructions, and
 * the register moves fld st(i), fxch, fst st(i), ffree and fcmovcc. */
#include "cpu/x86/x87/x87.h"

/* the exceptions that, unmasked, keep a store from memory */
#define BLOCK_STORE (X87_FSW_IE | X87_FSW_OE | X87_FSW_UE)


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

/* fst/fstp/fist/fistp/fisttp/fbstp to memory; kind: 0 m32real, 1 m64real,
 * 2 m80real, 3 int16, 4 int32, 5 int64, 6-8 truncating int16/32/64, 9 bcd */
void x87_store_mem(struct x87_ctx *c, unsigned kind, bool pop)
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
		x87_write_mem(c, buf, size[kind]);
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
void x87_load_mem(struct x87_ctx *c, unsigned kind)
{
	struct x86_fpu_state *f = c->f;
	uint8_t buf[16] = { 0 };
	struct x87_reg v = { 0, 0 };
	uint16_t sw = 0;
	static const uint8_t size[10] = { 4, 8, 10, 2, 4, 8, 0, 0, 0, 10 };
	x87_read_mem(c, buf, size[kind]);
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

int x87_fcmov(struct x87_ctx *c, unsigned cc, unsigned i)
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

/* fld st(i) */
void x87_fld_reg(struct x87_ctx *c, unsigned i)
{
	struct x86_fpu_state *f = c->f;
	struct x87_reg v;
	if (st_empty(f, i)) {
		/* the underflow is reported, not a full stack */
		if (stack_fault(f, false))
			st_push(f, &x87_indefinite);
		return;
	}
	v = *st(f, i);
	push_checked(f, &v);
}

void x87_fxch(struct x87_ctx *c, unsigned i)
{
	struct x86_fpu_state *f = c->f;
	struct x87_reg a, b;
	if (st_empty(f, 0) || st_empty(f, i)) {
		if (!stack_fault(f, false))
			return;
	}
	a = st_empty(f, 0) ? x87_indefinite : *st(f, 0);
	b = st_empty(f, i) ? x87_indefinite : *st(f, i);
	st_set(f, 0, &b);
	st_set(f, i, &a);
	set_c(f, X87_FSW_C1, 0);
}

/* fst st(i), fstp st(i) */
void x87_fst_reg(struct x87_ctx *c, unsigned i, bool pop)
{
	struct x86_fpu_state *f = c->f;
	struct x87_reg v;
	if (st_empty(f, 0)) {
		if (!stack_fault(f, false))
			return;
		v = x87_indefinite;
	} else {
		v = *st(f, 0);
		set_c(f, X87_FSW_C1, 0);
	}
	st_set(f, i, &v);
	if (pop)
		st_pop(f);
}

/* D9 D8+i, the fstp1 alias: an empty st(0) is just popped, no fault */
void x87_fstp1(struct x87_ctx *c, unsigned i)
{
	struct x86_fpu_state *f = c->f;
	if (st_empty(f, 0)) {
		set_c(f, X87_FSW_C1, 0);
		st_pop(f);
		return;
	}
	x87_fst_reg(c, i, true);
}

/* ffree, and ffreep (DF C0+i) that pops too */
void x87_ffree(struct x87_ctx *c, unsigned i, bool pop)
{
	struct x86_fpu_state *f = c->f;
	set_tag_phys(f, phys(f, i), X87_TAG_EMPTY);
	if (pop)
		st_pop(f);
}
