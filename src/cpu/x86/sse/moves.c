/* SSE and MMX moves: whole registers, scalars, halves, duplicates, the
 * non-temporal stores, moves to and from general registers, and the
 * sign-mask extractions movmskps/pd and pmovmskb. */
#include "cpu/x86/sse/sse.h"

int sse_moves(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned pfx = insn->mandatory, op = insn->opcode;
	union xmm_reg *d = xreg(cpu, insn->reg), s;
	bool mem = insn->mod != 3;
	switch (op) {
	case 0x10: /* movups/movupd/movss/movsd load */
		need_sse(cpu, insn);
		if (pfx == 0 || pfx == 0x66) {
			xmm_src(cpu, insn, &s, 16, 0);
			*d = s;
		} else {
			unsigned sz = pfx == 0xf3 ? 4 : 8;
			xmm_src(cpu, insn, &s, sz, 0);
			if (mem)
				*d = s;	/* upper part zeroed */
			else if (sz == 4)
				d->d[0] = s.d[0];
			else
				d->q[0] = s.q[0];
		}
		return 0;
	case 0x11: /* stores */
		need_sse(cpu, insn);
		if (pfx == 0 || pfx == 0x66) {
			if (mem)
				write_m(cpu, insn, d, 16, 0);
			else
				*xreg(cpu, insn->rm) = *d;
		} else {
			unsigned sz = pfx == 0xf3 ? 4 : 8;
			if (mem)
				write_m(cpu, insn, d, sz, 0);
			else if (sz == 4)
				xreg(cpu, insn->rm)->d[0] = d->d[0];
			else
				xreg(cpu, insn->rm)->q[0] = d->q[0];
		}
		return 0;
	case 0x12:
	case 0x16: {
		bool high = op == 0x16;
		need_sse(cpu, insn);
		if (pfx == 0xf3) { /* movsldup / movshdup */
			xmm_src(cpu, insn, &s, 16, 16);
			unsigned o = high ? 1 : 0;
			union xmm_reg t = { .d = { s.d[o], s.d[o], s.d[2 + o], s.d[2 + o] } };
			*d = t;
			return 0;
		}
		if (pfx == 0xf2) {
			if (high)
				return -1;
			xmm_src(cpu, insn, &s, 8, 0);	/* movddup */
			d->q[0] = d->q[1] = s.q[0];
			return 0;
		}
		if (!mem) {
			if (pfx != 0)
				return -1;
			s = *xreg(cpu, insn->rm);
			if (high)
				d->q[1] = s.q[0];	/* movlhps */
			else
				d->q[0] = s.q[1];	/* movhlps */
			return 0;
		}
		read_m(cpu, insn, &s, 8, 0);	/* movlps/movlpd/movhps/movhpd */
		d->q[high ? 1 : 0] = s.q[0];
		return 0;
	}
	case 0x13:
	case 0x17:
		if (!mem || (pfx != 0 && pfx != 0x66))
			return -1;
		need_sse(cpu, insn);
		write_m(cpu, insn, &d->q[op == 0x17 ? 1 : 0], 8, 0);
		return 0;
	case 0x28: /* movaps/movapd */
		if (pfx != 0 && pfx != 0x66)
			return -1;
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, 16, 16);
		*d = s;
		return 0;
	case 0x29:
		if (pfx != 0 && pfx != 0x66)
			return -1;
		need_sse(cpu, insn);
		if (mem)
			write_m(cpu, insn, d, 16, 16);
		else
			*xreg(cpu, insn->rm) = *d;
		return 0;
	case 0x2b: /* movntps/movntpd */
		if (!mem || (pfx != 0 && pfx != 0x66))
			return -1;
		need_sse(cpu, insn);
		write_m(cpu, insn, d, 16, 16);
		return 0;
	}
	return -1;
}

/* movmskps/pd r32, xmm (0F 50) */
int sse_movmsk(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned pfx = insn->mandatory, op = insn->opcode;
	union xmm_reg s;
	uint32_t fl;
	switch (op) {
	case 0x50: /* movmskps/pd r32, xmm */
		if ((pfx != 0 && pfx != 0x66) || insn->mod != 3)
			return -1;
		need_sse(cpu, insn);
		s = *xreg(cpu, insn->rm);
		if (pfx == 0x66)
			fl = (uint32_t)((s.q[0] >> 63) | ((s.q[1] >> 63) << 1));
		else
			fl = (s.d[0] >> 31) | ((s.d[1] >> 31) << 1) | ((s.d[2] >> 31) << 2) |
			     ((s.d[3] >> 31) << 3);
		x86_set_reg(cpu, insn, insn->reg, 4, fl);
		return 0;
	}
	return -1;
}

/* Integer moves of the 0F map: movd/movq, movdqa/movdqu, movnti,
 * movq2dq/movdq2q, movntq/movntdq, lddqu, maskmovq/maskmovdqu, pmovmskb */
int sse_int_moves(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned pfx = insn->mandatory, op = insn->opcode;
	bool mem = insn->mod != 3;
	union xmm_reg s, d;
	switch (op) {
	case 0x6e: /* movd/movq mm/xmm, r/m32/64 */
	case 0x7e:
		if (op == 0x7e && pfx == 0xf3) { /* movq xmm, xmm/m64 */
			need_sse(cpu, insn);
			xmm_src(cpu, insn, &s, 8, 0);
			s.q[1] = 0;
			*xreg(cpu, insn->reg) = s;
			return 0;
		}
		if (pfx != 0 && pfx != 0x66)
			return -1;
		{
			unsigned sz = gpr_size(insn);
			if (pfx == 0x66)
				need_sse(cpu, insn);
			else
				need_mmx(cpu, insn);
			if (op == 0x6e) {
				uint64_t v = mem ? x86_read_mem_u(cpu, insn->seg, sse_ea(cpu, insn, 0), sz) :
						   x86_get_reg(cpu, insn, insn->rm, sz);
				if (pfx == 0x66) {
					union xmm_reg z = { .q = { v, 0 } };
					*xreg(cpu, insn->reg) = z;
				} else {
					mm_set(cpu, insn->reg, v);
				}
			} else {
				uint64_t v = pfx == 0x66 ? xreg(cpu, insn->reg)->q[0] : mm_get(cpu, insn->reg);
				if (sz == 4)
					v = (uint32_t)v;
				if (mem)
					x86_write_mem_u(cpu, insn->seg, sse_ea(cpu, insn, 0), sz, v);
				else
					x86_set_reg(cpu, insn, insn->rm, sz, v);
			}
		}
		return 0;
	case 0x6f: /* movq mm / movdqa / movdqu load */
		if (pfx == 0) {
			need_mmx(cpu, insn);
			w_src(cpu, insn, &s, 8);
			mm_set(cpu, insn->reg, s.q[0]);
		} else if (pfx == 0x66 || pfx == 0xf3) {
			need_sse(cpu, insn);
			xmm_src(cpu, insn, &s, 16, pfx == 0x66 ? 16 : 0);
			*xreg(cpu, insn->reg) = s;
		} else {
			return -1;
		}
		return 0;
	case 0x7f:
		if (pfx == 0) {
			need_mmx(cpu, insn);
			uint64_t v = mm_get(cpu, insn->reg);
			if (mem)
				write_m(cpu, insn, &v, 8, 0);
			else
				mm_set(cpu, insn->rm, v);
		} else if (pfx == 0x66 || pfx == 0xf3) {
			need_sse(cpu, insn);
			if (mem)
				write_m(cpu, insn, xreg(cpu, insn->reg), 16, pfx == 0x66 ? 16 : 0);
			else
				*xreg(cpu, insn->rm) = *xreg(cpu, insn->reg);
		} else {
			return -1;
		}
		return 0;
	case 0xc3: /* movnti */
		if (pfx != 0 || !mem)
			return -1;
		if (insn->prefixes & X86_PFX_LOCK)
			sse_ud(cpu);
		x86_write_mem_u(cpu, insn->seg, sse_ea(cpu, insn, 0), gpr_size(insn),
				x86_get_reg(cpu, insn, insn->reg, gpr_size(insn)));
		return 0;
	case 0xd6:
		if (pfx == 0x66) { /* movq xmm/m64, xmm */
			need_sse(cpu, insn);
			if (mem) {
				write_m(cpu, insn, &xreg(cpu, insn->reg)->q[0], 8, 0);
			} else {
				union xmm_reg z = { .q = { xreg(cpu, insn->reg)->q[0], 0 } };
				*xreg(cpu, insn->rm) = z;
			}
			return 0;
		}
		if (mem || (pfx != 0xf3 && pfx != 0xf2))
			return -1;
		need_sse(cpu, insn);
		need_mmx(cpu, insn);
		if (pfx == 0xf3) { /* movq2dq xmm, mm */
			union xmm_reg z = { .q = { mm_get(cpu, insn->rm), 0 } };
			*xreg(cpu, insn->reg) = z;
		} else { /* movdq2q mm, xmm */
			mm_set(cpu, insn->reg, xreg(cpu, insn->rm)->q[0]);
		}
		return 0;
	case 0xd7: { /* pmovmskb r32, mm/xmm */
		unsigned width = pfx == 0x66 ? 16 : 8;
		if ((pfx != 0 && pfx != 0x66) || mem)
			return -1;
		if (width == 16)
			need_sse(cpu, insn);
		else
			need_mmx(cpu, insn);
		w_dst_get(cpu, insn->rm, &s, width);
		uint32_t m = 0;
		EACH(width, m |= (uint32_t)(s.b[i] >> 7) << i);
		x86_set_reg(cpu, insn, insn->reg, 4, m);
		return 0;
	}
	case 0xe7: /* movntq / movntdq */
		if (!mem || (pfx != 0 && pfx != 0x66))
			return -1;
		if (pfx == 0x66) {
			need_sse(cpu, insn);
			write_m(cpu, insn, xreg(cpu, insn->reg), 16, 16);
		} else {
			need_mmx(cpu, insn);
			uint64_t v = mm_get(cpu, insn->reg);
			write_m(cpu, insn, &v, 8, 0);
		}
		return 0;
	case 0xf0: /* lddqu */
		if (pfx != 0xf2 || !mem)
			return -1;
		need_sse(cpu, insn);
		read_m(cpu, insn, &s, 16, 0);
		*xreg(cpu, insn->reg) = s;
		return 0;
	case 0xf7: { /* maskmovq / maskmovdqu: store bytes to DS:rDI */
		unsigned width = pfx == 0x66 ? 16 : 8;
		if ((pfx != 0 && pfx != 0x66) || mem)
			return -1;
		if (width == 16)
			need_sse(cpu, insn);
		else
			need_mmx(cpu, insn);
		w_dst_get(cpu, insn->reg, &s, width);
		w_dst_get(cpu, insn->rm, &d, width);
		int seg = insn->seg_override != X86_NR_SEGS ? insn->seg_override : X86_DS;
		uint64_t base = cpu->gpr[X86_RDI];
		if (insn->addrsize == 4)
			base = (uint32_t)base;
		else if (insn->addrsize == 2)
			base = (uint16_t)base;
		/* check every byte that will be written before writing any */
		uint8_t old[16];
		bool any = false;
		EACH(width, any |= (d.b[i] & 0x80) != 0);
		if (!any)
			return 0;
		x86_read_mem(cpu, seg, base, old, width);
		EACH(width, if (d.b[i] & 0x80) old[i] = s.b[i]);
		x86_write_mem(cpu, seg, base, old, width);
		return 0;
	}
	}
	return -1;
}

/* movntdqa (66 0F38 2A) */
int sse_movntdqa(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned op = insn->opcode;
	union xmm_reg s;
	switch (op) {
	case 0x2a: /* movntdqa */
		if (insn->mod == 3)
			return -1;
		need_sse(cpu, insn);
		read_m(cpu, insn, &s, 16, 16);
		*xreg(cpu, insn->reg) = s;
		return 0;
	}
	return -1;
}
