/* x87 D9 E0-FF: the functions of st(0) (and st(1)) -- sign changes,
 * tests, the constants, the transcendental and partial-remainder
 * functions, fscale, frndint, fxtract -- and fdecstp/fincstp. */
#include "cpu/x86/x87/x87.h"

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

/* D9 E0..FF and the other register-only ops on st(0) (and st(1)) */
int x87_st0_function(struct x87_ctx *c, unsigned low)
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
