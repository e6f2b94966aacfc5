/* x87 control and state: the pending-exception check, power-on and
 * fninit state, the fxsave image (for sse/state.c as well), the
 * fnstenv/fnsave environment images, and the control instructions. */
#include "cpu/x86/x87/x87.h"

/* FCW as the hardware keeps it: bit 6 reads as one, 13-15 as zero */
static uint16_t x87_fcw_canon(uint16_t v)
{
	return (uint16_t)((v & 0x1f3f) | 0x40);
}


static void update_es(struct x86_fpu_state *f)
{
	if (f->fsw & ~f->fcw & X87_FSW_EXC)
		f->fsw |= X87_FSW_ES | X87_FSW_B;
	else
		f->fsw &= (uint16_t)~(X87_FSW_ES | X87_FSW_B);
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

/* D9 /4-/7 and DD /4, /6, /7 with their memory operand */
int x87_control_mem(struct x87_ctx *c, unsigned opc, unsigned reg)
{
	struct x86_fpu_state *f = c->f;
	struct x86_cpu *cpu = c->cpu;
	bool o16 = c->insn->opsize == 2;
	if (opc == 0xd9) {
		switch (reg) {
		case 4: { /* fldenv */
			uint8_t m[28];
			x87_read_mem(c, m, o16 ? 14 : 28);
			env_load(cpu, m, o16);
			retag(f);
			return 0;
		}
		case 5: { /* fldcw */
			uint16_t v;
			x87_read_mem(c, &v, 2);
			f->fcw = x87_fcw_canon(v);
			update_es(f);
			return 0;
		}
		case 6: { /* fnstenv: then all exceptions masked */
			uint8_t m[28];
			unsigned n = env_store(cpu, m, o16);
			x87_write_mem(c, m, n);
			f->fcw |= 0x3f;
			update_es(f);
			return 0;
		}
		case 7:
			x87_write_mem(c, &f->fcw, 2);
			return 0;
		}
		return -1;
	}
	switch (reg) {
	case 4: { /* frstor */
		uint8_t m[28 + 80];
		unsigned n = o16 ? 14 : 28;
		x87_read_mem(c, m, n + 80);
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
		x87_write_mem(c, m, n + 80);
		fninit(f);
		return 0;
	}
	case 7: { /* fnstsw m16 */
		uint16_t v = x87_fsw(f);
		x87_write_mem(c, &v, 2);
		return 0;
	}
	}
	return -1;
}

/* DB E0-E4 and DF E0 */
int x87_control_reg(struct x87_ctx *c, unsigned opc, unsigned modrm)
{
	struct x86_fpu_state *f = c->f;
	if (opc == 0xdf) {
		if (modrm == 0xe0) { /* fnstsw ax */
			x86_set_reg(c->cpu, c->insn, X86_RAX, 2, x87_fsw(f));
			return 0;
		}
		return -1;
	}
	switch (modrm & 7) {
	case 0: case 1: case 4: return 0;	/* fneni, fndisi, fnsetpm: no-ops since the 387 */
	case 2: /* fnclex */
		f->fsw &= (uint16_t)~(X87_FSW_EXC | X87_FSW_SF | X87_FSW_ES | X87_FSW_B);
		return 0;
	case 3:
		fninit(f);
		return 0;
	}
	return -1;
}
