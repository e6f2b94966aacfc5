/* SSE and MMX shuffles and element moves: unpcklps/unpckhps, shufps,
 * pshufw/pshufd/pshufhw/pshuflw, pinsrw/pextrw, the blends, pinsr/pextr
 * and insertps, and the sign/zero extensions pmovsx/pmovzx. */
#include "cpu/x86/sse/sse.h"

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

/* unpcklps/pd, unpckhps/pd (0F 14, 15), shufps/pd (0F C6) */
int sse_fp_shuffle(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned pfx = insn->mandatory, op = insn->opcode;
	union xmm_reg s, d = *xreg(cpu, insn->reg), t;
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
	}
	return -1;
}

/* pshufw/pshufd/pshufhw/pshuflw (0F 70), pinsrw (C4), pextrw (C5) */
int sse_int_shuffle(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned pfx = insn->mandatory, op = insn->opcode;
	bool mem = insn->mod != 3;
	union xmm_reg s, d, t;
	switch (op) {
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
	}
	return -1;
}

/* pblendvb / blendvps / blendvpd (66 0F38 10, 14, 15) */
int sse_blendv(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned op = insn->opcode;
	union xmm_reg s, d;
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
	}
	return -1;
}

/* pmovsx/pmovzx (66 0F38 20-25, 30-35) */
int sse_pmov_ext(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned op = insn->opcode;
	union xmm_reg s, t;
	switch (op) {
	case 0x20 ... 0x25:
	case 0x30 ... 0x35: {
		static const uint8_t size[6] = { 8, 4, 2, 8, 4, 8 };
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, size[op & 0xf], 0);
		pmov_ext(op, &t, &s);
		*xreg(cpu, insn->reg) = t;
		return 0;
	}
	}
	return -1;
}

/* blendps / blendpd / pblendw (66 0F3A 0C-0E) */
int sse_blend_imm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned op = insn->opcode, imm = insn->imm & 0xff;
	union xmm_reg s, d = *xreg(cpu, insn->reg);
	switch (op) {
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
	}
	return -1;
}

/* pextrb/w/d/q and extractps (66 0F3A 14-17), pinsrb/d/q (20, 22),
 * insertps (21) */
int sse_insert_extract(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned op = insn->opcode, imm = insn->imm & 0xff;
	bool mem = insn->mod != 3;
	union xmm_reg s, d = *xreg(cpu, insn->reg);
	switch (op) {
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
	}
	return -1;
}
