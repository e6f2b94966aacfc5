/* Integer SIMD arithmetic, logic, compares, packs and shifts of MMX,
 * SSE2, SSSE3 and SSE4.1: one table of two-operand ops (int_binop) for
 * every width, the shifts by immediate, palignr, ptest and mpsadbw. */
#include "cpu/x86/sse/sse.h"

static inline int8_t sat_s8(int v) { return (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v); }
static inline uint8_t sat_u8(int v) { return (uint8_t)(v > 255 ? 255 : v < 0 ? 0 : v); }
static inline int16_t sat_s16(int v) { return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v); }
static inline uint16_t sat_u16(int64_t v) { return (uint16_t)(v > 65535 ? 65535 : v < 0 ? 0 : v); }

static void shift_elems(union xmm_reg *r, const union xmm_reg *a, uint64_t count, unsigned esize,
			int kind, unsigned width)
{
	unsigned bits = esize * 8, n = width / esize;
	/* kind: 0 logical right, 1 arithmetic right, 2 left */
	if (count >= bits && kind != 1) {
		memset(r, 0, sizeof(*r));
		return;
	}
	if (count >= bits)
		count = bits - 1;
	for (unsigned i = 0; i < n; i++) {
		switch (esize) {
		case 2:
			r->w[i] = (uint16_t)(kind == 0 ? a->w[i] >> count :
					     kind == 1 ? (uint16_t)((int16_t)a->w[i] >> count) :
							 a->w[i] << count);
			break;
		case 4:
			r->d[i] = kind == 0 ? a->d[i] >> count :
				  kind == 1 ? (uint32_t)((int32_t)a->d[i] >> count) : a->d[i] << count;
			break;
		default:
			r->q[i] = kind == 0 ? a->q[i] >> count :
				  kind == 1 ? (uint64_t)((int64_t)a->q[i] >> count) : a->q[i] << count;
			break;
		}
	}
}

/* psrldq/pslldq and palignr: bytes of the 2*width-byte value hi:lo shifted
 * right by n bytes */
static void byte_shift_right(union xmm_reg *r, const union xmm_reg *hi, const union xmm_reg *lo,
			     unsigned n, unsigned width)
{
	uint8_t t[32] = { 0 };
	memcpy(t, lo->b, width);
	memcpy(t + width, hi->b, width);
	union xmm_reg out = { .q = { 0, 0 } };
	for (unsigned i = 0; i < width; i++)
		out.b[i] = i + n < 2 * width ? t[i + n] : 0;
	*r = out;
}

/* Two-operand integer ops shared by MMX and SSE: r = a OP b.  key is
 * map << 8 | opcode.  Returns false when key is not one of them. */
static bool int_binop(unsigned key, union xmm_reg *r, const union xmm_reg *a,
		      const union xmm_reg *b, unsigned width)
{
	union xmm_reg t = { .q = { 0, 0 } };
	unsigned nb = width, nw = width / 2, nd = width / 4, nq = width / 8;
	switch (key) {
	case 0x160: EACH(nb / 2, (t.b[2 * i] = a->b[i], t.b[2 * i + 1] = b->b[i])); break;
	case 0x161: EACH(nw / 2, (t.w[2 * i] = a->w[i], t.w[2 * i + 1] = b->w[i])); break;
	case 0x162: EACH(nd / 2, (t.d[2 * i] = a->d[i], t.d[2 * i + 1] = b->d[i])); break;
	case 0x168: EACH(nb / 2, (t.b[2 * i] = a->b[nb / 2 + i], t.b[2 * i + 1] = b->b[nb / 2 + i])); break;
	case 0x169: EACH(nw / 2, (t.w[2 * i] = a->w[nw / 2 + i], t.w[2 * i + 1] = b->w[nw / 2 + i])); break;
	case 0x16a: EACH(nd / 2, (t.d[2 * i] = a->d[nd / 2 + i], t.d[2 * i + 1] = b->d[nd / 2 + i])); break;
	case 0x16c: t.q[0] = a->q[0]; t.q[1] = b->q[0]; break;
	case 0x16d: t.q[0] = a->q[1]; t.q[1] = b->q[1]; break;
	case 0x163: /* packsswb */
		EACH(nw, (t.b[i] = (uint8_t)sat_s8((int16_t)a->w[i]), t.b[nw + i] = (uint8_t)sat_s8((int16_t)b->w[i])));
		break;
	case 0x167: /* packuswb */
		EACH(nw, (t.b[i] = sat_u8((int16_t)a->w[i]), t.b[nw + i] = sat_u8((int16_t)b->w[i])));
		break;
	case 0x16b: /* packssdw */
		EACH(nd, (t.w[i] = (uint16_t)sat_s16((int32_t)a->d[i]), t.w[nd + i] = (uint16_t)sat_s16((int32_t)b->d[i])));
		break;
	case 0x164: EACH(nb, t.b[i] = (int8_t)a->b[i] > (int8_t)b->b[i] ? 0xff : 0); break;
	case 0x165: EACH(nw, t.w[i] = (int16_t)a->w[i] > (int16_t)b->w[i] ? 0xffff : 0); break;
	case 0x166: EACH(nd, t.d[i] = (int32_t)a->d[i] > (int32_t)b->d[i] ? ~0u : 0); break;
	case 0x174: EACH(nb, t.b[i] = a->b[i] == b->b[i] ? 0xff : 0); break;
	case 0x175: EACH(nw, t.w[i] = a->w[i] == b->w[i] ? 0xffff : 0); break;
	case 0x176: EACH(nd, t.d[i] = a->d[i] == b->d[i] ? ~0u : 0); break;
	case 0x1d1: shift_elems(&t, a, b->q[0], 2, 0, width); break;
	case 0x1d2: shift_elems(&t, a, b->q[0], 4, 0, width); break;
	case 0x1d3: shift_elems(&t, a, b->q[0], 8, 0, width); break;
	case 0x1e1: shift_elems(&t, a, b->q[0], 2, 1, width); break;
	case 0x1e2: shift_elems(&t, a, b->q[0], 4, 1, width); break;
	case 0x1f1: shift_elems(&t, a, b->q[0], 2, 2, width); break;
	case 0x1f2: shift_elems(&t, a, b->q[0], 4, 2, width); break;
	case 0x1f3: shift_elems(&t, a, b->q[0], 8, 2, width); break;
	case 0x1d4: EACH(nq, t.q[i] = a->q[i] + b->q[i]); break;
	case 0x1fb: EACH(nq, t.q[i] = a->q[i] - b->q[i]); break;
	case 0x1d5: EACH(nw, t.w[i] = (uint16_t)((int16_t)a->w[i] * (int16_t)b->w[i])); break;
	case 0x1e5: EACH(nw, t.w[i] = (uint16_t)(((int16_t)a->w[i] * (int16_t)b->w[i]) >> 16)); break;
	case 0x1e4: EACH(nw, t.w[i] = (uint16_t)(((uint32_t)a->w[i] * b->w[i]) >> 16)); break;
	case 0x1d8: EACH(nb, t.b[i] = sat_u8(a->b[i] - b->b[i])); break;
	case 0x1d9: EACH(nw, t.w[i] = sat_u16((int)a->w[i] - b->w[i])); break;
	case 0x1dc: EACH(nb, t.b[i] = sat_u8(a->b[i] + b->b[i])); break;
	case 0x1dd: EACH(nw, t.w[i] = sat_u16((int)a->w[i] + b->w[i])); break;
	case 0x1e8: EACH(nb, t.b[i] = (uint8_t)sat_s8((int8_t)a->b[i] - (int8_t)b->b[i])); break;
	case 0x1e9: EACH(nw, t.w[i] = (uint16_t)sat_s16((int16_t)a->w[i] - (int16_t)b->w[i])); break;
	case 0x1ec: EACH(nb, t.b[i] = (uint8_t)sat_s8((int8_t)a->b[i] + (int8_t)b->b[i])); break;
	case 0x1ed: EACH(nw, t.w[i] = (uint16_t)sat_s16((int16_t)a->w[i] + (int16_t)b->w[i])); break;
	case 0x1da: EACH(nb, t.b[i] = a->b[i] < b->b[i] ? a->b[i] : b->b[i]); break;
	case 0x1de: EACH(nb, t.b[i] = a->b[i] > b->b[i] ? a->b[i] : b->b[i]); break;
	case 0x1ea: EACH(nw, t.w[i] = (int16_t)a->w[i] < (int16_t)b->w[i] ? a->w[i] : b->w[i]); break;
	case 0x1ee: EACH(nw, t.w[i] = (int16_t)a->w[i] > (int16_t)b->w[i] ? a->w[i] : b->w[i]); break;
	case 0x1db: EACH(nq, t.q[i] = a->q[i] & b->q[i]); break;
	case 0x1df: EACH(nq, t.q[i] = ~a->q[i] & b->q[i]); break;
	case 0x1eb: EACH(nq, t.q[i] = a->q[i] | b->q[i]); break;
	case 0x1ef: EACH(nq, t.q[i] = a->q[i] ^ b->q[i]); break;
	case 0x1e0: EACH(nb, t.b[i] = (uint8_t)((a->b[i] + b->b[i] + 1) >> 1)); break;
	case 0x1e3: EACH(nw, t.w[i] = (uint16_t)(((uint32_t)a->w[i] + b->w[i] + 1) >> 1)); break;
	case 0x1f4: EACH(nq, t.q[i] = (uint64_t)a->d[2 * i] * b->d[2 * i]); break;
	case 0x1f5:
		EACH(nd, t.d[i] = (uint32_t)((int32_t)(int16_t)a->w[2 * i] * (int16_t)b->w[2 * i] +
					     (int32_t)(int16_t)a->w[2 * i + 1] * (int16_t)b->w[2 * i + 1]));
		break;
	case 0x1f6: /* psadbw */
		for (unsigned g = 0; g < nq; g++) {
			unsigned s = 0;
			for (unsigned k = 0; k < 8; k++) {
				int d = a->b[8 * g + k] - b->b[8 * g + k];
				s += (unsigned)(d < 0 ? -d : d);
			}
			t.q[g] = s;
		}
		break;
	case 0x1f8: EACH(nb, t.b[i] = (uint8_t)(a->b[i] - b->b[i])); break;
	case 0x1f9: EACH(nw, t.w[i] = (uint16_t)(a->w[i] - b->w[i])); break;
	case 0x1fa: EACH(nd, t.d[i] = a->d[i] - b->d[i]); break;
	case 0x1fc: EACH(nb, t.b[i] = (uint8_t)(a->b[i] + b->b[i])); break;
	case 0x1fd: EACH(nw, t.w[i] = (uint16_t)(a->w[i] + b->w[i])); break;
	case 0x1fe: EACH(nd, t.d[i] = a->d[i] + b->d[i]); break;
	/* SSSE3 */
	case 0x200: EACH(nb, t.b[i] = (b->b[i] & 0x80) ? 0 : a->b[b->b[i] & (width - 1)]); break;
	case 0x201:
		EACH(nw / 2, (t.w[i] = (uint16_t)(a->w[2 * i] + a->w[2 * i + 1]),
			      t.w[nw / 2 + i] = (uint16_t)(b->w[2 * i] + b->w[2 * i + 1])));
		break;
	case 0x202:
		EACH(nd / 2, (t.d[i] = a->d[2 * i] + a->d[2 * i + 1],
			      t.d[nd / 2 + i] = b->d[2 * i] + b->d[2 * i + 1]));
		break;
	case 0x203:
		EACH(nw / 2, (t.w[i] = (uint16_t)sat_s16((int16_t)a->w[2 * i] + (int16_t)a->w[2 * i + 1]),
			      t.w[nw / 2 + i] = (uint16_t)sat_s16((int16_t)b->w[2 * i] + (int16_t)b->w[2 * i + 1])));
		break;
	case 0x204:
		EACH(nw, t.w[i] = (uint16_t)sat_s16(a->b[2 * i] * (int8_t)b->b[2 * i] +
						    a->b[2 * i + 1] * (int8_t)b->b[2 * i + 1]));
		break;
	case 0x205:
		EACH(nw / 2, (t.w[i] = (uint16_t)(a->w[2 * i] - a->w[2 * i + 1]),
			      t.w[nw / 2 + i] = (uint16_t)(b->w[2 * i] - b->w[2 * i + 1])));
		break;
	case 0x206:
		EACH(nd / 2, (t.d[i] = a->d[2 * i] - a->d[2 * i + 1],
			      t.d[nd / 2 + i] = b->d[2 * i] - b->d[2 * i + 1]));
		break;
	case 0x207:
		EACH(nw / 2, (t.w[i] = (uint16_t)sat_s16((int16_t)a->w[2 * i] - (int16_t)a->w[2 * i + 1]),
			      t.w[nw / 2 + i] = (uint16_t)sat_s16((int16_t)b->w[2 * i] - (int16_t)b->w[2 * i + 1])));
		break;
	case 0x208:
		EACH(nb, t.b[i] = (int8_t)b->b[i] < 0 ? (uint8_t)-a->b[i] : b->b[i] ? a->b[i] : 0);
		break;
	case 0x209:
		EACH(nw, t.w[i] = (int16_t)b->w[i] < 0 ? (uint16_t)-a->w[i] : b->w[i] ? a->w[i] : 0);
		break;
	case 0x20a:
		EACH(nd, t.d[i] = (int32_t)b->d[i] < 0 ? -a->d[i] : b->d[i] ? a->d[i] : 0);
		break;
	case 0x20b:
		EACH(nw, t.w[i] = (uint16_t)((((int32_t)(int16_t)a->w[i] * (int16_t)b->w[i] >> 14) + 1) >> 1));
		break;
	case 0x21c: EACH(nb, t.b[i] = (uint8_t)((int8_t)b->b[i] < 0 ? -b->b[i] : b->b[i])); break;
	case 0x21d: EACH(nw, t.w[i] = (uint16_t)((int16_t)b->w[i] < 0 ? -b->w[i] : b->w[i])); break;
	case 0x21e: EACH(nd, t.d[i] = (int32_t)b->d[i] < 0 ? -b->d[i] : b->d[i]); break;
	default:
		if (width != 16)
			return false;
		/* SSE4.1, XMM only */
		switch (key) {
		case 0x228: EACH(2, t.q[i] = (uint64_t)((int64_t)(int32_t)a->d[2 * i] * (int32_t)b->d[2 * i])); break;
		case 0x229: EACH(2, t.q[i] = a->q[i] == b->q[i] ? ~0ull : 0); break;
		case 0x22b:
			EACH(4, (t.w[i] = sat_u16((int32_t)a->d[i]), t.w[4 + i] = sat_u16((int32_t)b->d[i])));
			break;
		case 0x238: EACH(16, t.b[i] = (int8_t)a->b[i] < (int8_t)b->b[i] ? a->b[i] : b->b[i]); break;
		case 0x239: EACH(4, t.d[i] = (int32_t)a->d[i] < (int32_t)b->d[i] ? a->d[i] : b->d[i]); break;
		case 0x23a: EACH(8, t.w[i] = a->w[i] < b->w[i] ? a->w[i] : b->w[i]); break;
		case 0x23b: EACH(4, t.d[i] = a->d[i] < b->d[i] ? a->d[i] : b->d[i]); break;
		case 0x23c: EACH(16, t.b[i] = (int8_t)a->b[i] > (int8_t)b->b[i] ? a->b[i] : b->b[i]); break;
		case 0x23d: EACH(4, t.d[i] = (int32_t)a->d[i] > (int32_t)b->d[i] ? a->d[i] : b->d[i]); break;
		case 0x23e: EACH(8, t.w[i] = a->w[i] > b->w[i] ? a->w[i] : b->w[i]); break;
		case 0x23f: EACH(4, t.d[i] = a->d[i] > b->d[i] ? a->d[i] : b->d[i]); break;
		case 0x240: EACH(4, t.d[i] = a->d[i] * b->d[i]); break;
		case 0x241: { /* phminposuw */
			unsigned m = 0;
			for (unsigned i = 1; i < 8; i++)
				if (b->w[i] < b->w[m])
					m = i;
			t.w[0] = b->w[m];
			t.w[1] = (uint16_t)m;
			break;
		}
		default:
			return false;
		}
	}
	*r = t;
	return true;
}

/* The two-operand table ops of the 0F map: MMX without prefix, XMM with 66 */
int sse_int_binop(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned pfx = insn->mandatory, op = insn->opcode;
	bool mem = insn->mod != 3;
	union xmm_reg s, d, t;

	if (op == 0x6c || op == 0x6d) {
		if (pfx != 0x66)
			return -1;
	} else if (pfx != 0 && pfx != 0x66) {
		return -1;
	}
	unsigned width = pfx == 0x66 ? 16 : 8;
	if (width == 16)
		need_sse(cpu, insn);
	else
		need_mmx(cpu, insn);
	/* MMX punpckl* read only 32 bits of memory */
	if (width == 8 && mem && op >= 0x60 && op <= 0x62)
		read_m(cpu, insn, &s, 4, 0);
	else
		w_src(cpu, insn, &s, width);
	w_dst_get(cpu, insn->reg, &d, width);
	if (!int_binop(0x100 | op, &t, &d, &s, width))
		return -1;
	w_dst_set(cpu, insn->reg, &t, width);
	return 0;
}

/* psrlw/psraw/psllw, psrld/psrad/pslld, psrlq/psrldq/psllq/pslldq
 * by immediate (0F 71-73) */
int sse_shift_imm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned pfx = insn->mandatory, op = insn->opcode;
	union xmm_reg d, t;
	switch (op) {
	case 0x71:
	case 0x72:
	case 0x73: { /* shift by immediate */
		unsigned sub = insn->reg & 7, width = pfx == 0x66 ? 16 : 8;
		if (!(pfx == 0 || pfx == 0x66) || !insn->has_modrm || insn->mod != 3)
			return -1;
		unsigned esize = op == 0x71 ? 2 : op == 0x72 ? 4 : 8;
		int kind;
		if (sub == 2)
			kind = 0;
		else if (sub == 4 && op != 0x73)
			kind = 1;
		else if (sub == 6)
			kind = 2;
		else if ((sub == 3 || sub == 7) && op == 0x73 && width == 16)
			kind = 3;
		else
			return -1;
		if (width == 16)
			need_sse(cpu, insn);
		else
			need_mmx(cpu, insn);
		unsigned count = insn->imm & 0xff;
		w_dst_get(cpu, insn->rm, &d, width);
		if (kind == 3) {
			union xmm_reg z = { .q = { 0, 0 } };
			if (sub == 3) {
				byte_shift_right(&t, &z, &d, count > 16 ? 16 : count, 16);
			} else { /* pslldq */
				memset(&t, 0, sizeof(t));
				for (unsigned i = count; i < 16; i++)
					t.b[i] = d.b[i - count];
			}
		} else {
			shift_elems(&t, &d, count, esize, kind, width);
		}
		w_dst_set(cpu, insn->rm, &t, width);
		return 0;
	}
	}
	return -1;
}

/* SSSE3's integer ops (0F38 00-0B, 1C-1E): MMX and XMM forms */
int sse_ssse3_int(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned pfx = insn->mandatory, op = insn->opcode;
	union xmm_reg s, d, t;
	if (!X86_SIMD_HAS_SSSE3 || (pfx != 0 && pfx != 0x66))
		return -1;
	unsigned width = pfx == 0x66 ? 16 : 8;
	if (width == 16)
		need_sse(cpu, insn);
	else
		need_mmx(cpu, insn);
	w_src(cpu, insn, &s, width);
	w_dst_get(cpu, insn->reg, &d, width);
	if (!int_binop(0x200 | op, &t, &d, &s, width))
		return -1;
	w_dst_set(cpu, insn->reg, &t, width);
	return 0;
}

/* SSE4.1 integer table ops (66 0F38 28, 29, 2B, 38-41) */
int sse_sse41_int(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned op = insn->opcode;
	union xmm_reg s, d, t;
	switch (op) {
	case 0x28:
	case 0x29:
	case 0x2b:
	case 0x38 ... 0x41:
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, 16, 16);
		d = *xreg(cpu, insn->reg);
		if (!int_binop(0x200 | op, &t, &d, &s, 16))
			return -1;
		*xreg(cpu, insn->reg) = t;
		return 0;
	}
	return -1;
}

/* ptest (66 0F38 17) */
int sse_ptest(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned op = insn->opcode;
	union xmm_reg s, d;
	switch (op) {
	case 0x17: { /* ptest */
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, 16, 16);
		d = *xreg(cpu, insn->reg);
		bool zf = !((d.q[0] & s.q[0]) | (d.q[1] & s.q[1]));
		bool cf = !((~d.q[0] & s.q[0]) | (~d.q[1] & s.q[1]));
		x86_set_arith_flags(cpu, (zf ? X86_RFLAGS_ZF : 0) | (cf ? X86_RFLAGS_CF : 0));
		return 0;
	}
	}
	return -1;
}

/* palignr (0F3A 0F): MMX and XMM forms */
int sse_palignr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned pfx = insn->mandatory, imm = insn->imm & 0xff;
	union xmm_reg s, d, t;
	if (!X86_SIMD_HAS_SSSE3 || (pfx != 0 && pfx != 0x66))
		return -1;
	unsigned width = pfx == 0x66 ? 16 : 8;
	if (width == 16)
		need_sse(cpu, insn);
	else
		need_mmx(cpu, insn);
	w_src(cpu, insn, &s, width);
	w_dst_get(cpu, insn->reg, &d, width);
	byte_shift_right(&t, &d, &s, imm > 2 * width ? 2 * width : imm, width);
	w_dst_set(cpu, insn->reg, &t, width);
	return 0;
}

/* mpsadbw (66 0F3A 42) */
int sse_mpsadbw(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned op = insn->opcode, imm = insn->imm & 0xff;
	union xmm_reg s, d = *xreg(cpu, insn->reg), t;
	switch (op) {
	case 0x42: { /* mpsadbw */
		need_sse(cpu, insn);
		xmm_src(cpu, insn, &s, 16, 16);
		unsigned so = (imm & 3) * 4, dof = ((imm >> 2) & 1) * 4;
		for (unsigned i = 0; i < 8; i++) {
			unsigned sum = 0;
			for (unsigned k = 0; k < 4; k++) {
				int x = d.b[dof + i + k] - s.b[so + k];
				sum += (unsigned)(x < 0 ? -x : x);
			}
			t.w[i] = (uint16_t)sum;
		}
		*xreg(cpu, insn->reg) = t;
		return 0;
	}
	}
	return -1;
}
