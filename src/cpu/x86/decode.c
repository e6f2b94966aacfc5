/* The x86 instruction decoder: prefixes, opcode maps, ModRM/SIB and
 * immediates, driven by per-opcode operand tables shaped like the SDM's
 * opcode maps (Vol. 2 appendix A). */
#include <string.h>

#include "accel/x86_state.h"
#include "cpu/x86/insn.h"

/* per-opcode decoding attributes */
#define M 0x0001	/* ModRM follows */
#define B 0x0002	/* byte operation */
#define IB 0x0004	/* imm8 */
#define IW 0x0008	/* imm16 */
#define IZ 0x0010	/* imm16/32 by operand size (32 sign-extended in 64-bit) */
#define IV 0x0020	/* imm16/32/64 by operand size */
#define AP 0x0040	/* far pointer: offset16/32 then selector16 */
#define MO 0x0080	/* moffs: address-size offset */
#define D64 0x0100	/* operand size defaults to 64 in 64-bit mode */
#define F64 0x0200	/* operand size is 64 in 64-bit mode (near branches) */
#define I64 0x0400	/* invalid in 64-bit mode */
#define X 0x0800	/* undefined opcode */
#define GRP3 0x1000	/* F6/F7: imm only for reg 0 and 1 */
#define IWB 0x2000	/* enter: imm16 then imm8 */
#define CR 0x4000	/* mov cr/dr: ModRM always a register, size 64 in long mode */
#define PFX 0x8000	/* a prefix (handled before the table) */

#define ALU(b) [b] = M | B, [b + 1] = M, [b + 2] = M | B, [b + 3] = M, [b + 4] = IB | B, [b + 5] = IZ

static const uint16_t map1b[256] = {
	ALU(0x00), ALU(0x08), ALU(0x10), ALU(0x18), ALU(0x20), ALU(0x28), ALU(0x30), ALU(0x38),
	[0x06] = I64, [0x07] = I64, [0x0e] = I64, [0x0f] = 0,
	[0x16] = I64, [0x17] = I64, [0x1e] = I64, [0x1f] = I64,
	[0x26] = PFX, [0x27] = I64, [0x2e] = PFX, [0x2f] = I64,
	[0x36] = PFX, [0x37] = I64, [0x3e] = PFX, [0x3f] = I64,
	[0x50 ... 0x5f] = D64,
	[0x60] = I64, [0x61] = I64, [0x62] = M | I64, [0x63] = M,
	[0x64 ... 0x67] = PFX,
	[0x68] = IZ | D64, [0x69] = M | IZ, [0x6a] = IB | D64, [0x6b] = M | IB,
	[0x6c] = B, [0x6e] = B,
	[0x70 ... 0x7f] = IB | F64,
	[0x80] = M | B | IB, [0x81] = M | IZ, [0x82] = M | B | IB | I64, [0x83] = M | IB,
	[0x84] = M | B, [0x85] = M, [0x86] = M | B, [0x87] = M,
	[0x88] = M | B, [0x89] = M, [0x8a] = M | B, [0x8b] = M, [0x8c] = M, [0x8d] = M,
	[0x8e] = M, [0x8f] = M | D64,
	[0x9a] = AP | I64, [0x9c] = D64, [0x9d] = D64,
	[0xa0] = MO | B, [0xa1] = MO, [0xa2] = MO | B, [0xa3] = MO,
	[0xa4] = B, [0xa6] = B, [0xa8] = IB | B, [0xa9] = IZ, [0xaa] = B, [0xac] = B, [0xae] = B,
	[0xb0 ... 0xb7] = IB | B, [0xb8 ... 0xbf] = IV,
	[0xc0] = M | B | IB, [0xc1] = M | IB, [0xc2] = IW | F64, [0xc3] = F64,
	[0xc4] = M | I64, [0xc5] = M | I64, [0xc6] = M | B | IB, [0xc7] = M | IZ,
	[0xc8] = IWB | D64, [0xc9] = D64, [0xca] = IW, [0xcd] = IB, [0xce] = I64,
	[0xd0] = M | B, [0xd1] = M, [0xd2] = M | B, [0xd3] = M,
	[0xd4] = IB | I64, [0xd5] = IB | I64, [0xd6] = X, [0xd7] = B,
	[0xd8 ... 0xdf] = M,
	[0xe0 ... 0xe3] = IB | F64, [0xe4] = IB | B, [0xe5] = IB, [0xe6] = IB | B, [0xe7] = IB,
	[0xe8] = IZ | F64, [0xe9] = IZ | F64, [0xea] = AP | I64, [0xeb] = IB | F64,
	[0xec] = B, [0xee] = B,
	[0xf0] = PFX, [0xf2] = PFX, [0xf3] = PFX,
	[0xf6] = M | B | GRP3, [0xf7] = M | GRP3, [0xfe] = M | B, [0xff] = M,
};

static const uint16_t map0f[256] = {
	[0x00] = M, [0x01] = M, [0x02] = M, [0x03] = M, [0x04] = X, [0x0a] = X,
	[0x0c] = X, [0x0d] = M, [0x0e] = X, [0x0f] = X,
	[0x10 ... 0x1f] = M,
	[0x20 ... 0x23] = M | CR, [0x24 ... 0x27] = X,
	[0x28 ... 0x2f] = M,
	[0x36] = X, [0x37] = X, [0x39] = X, [0x3b ... 0x3f] = X,
	[0x40 ... 0x4f] = M,
	[0x50 ... 0x6f] = M, [0x70 ... 0x73] = M | IB, [0x74 ... 0x76] = M,
	[0x78 ... 0x7b] = X, [0x7c ... 0x7f] = M,
	[0x80 ... 0x8f] = IZ | F64,
	[0x90 ... 0x9f] = M | B,
	[0xa0] = D64, [0xa1] = D64, [0xa3] = M, [0xa4] = M | IB, [0xa5] = M, [0xa6] = X,
	[0xa7] = X, [0xa8] = D64, [0xa9] = D64, [0xab] = M, [0xac] = M | IB, [0xad] = M,
	[0xae] = M, [0xaf] = M,
	[0xb0] = M | B, [0xb1] = M, [0xb2] = M, [0xb3] = M, [0xb4] = M, [0xb5] = M,
	[0xb6] = M, [0xb7] = M, [0xb8] = M, [0xb9] = M, [0xba] = M | IB, [0xbb] = M,
	[0xbc] = M, [0xbd] = M, [0xbe] = M, [0xbf] = M,
	[0xc0] = M | B, [0xc1] = M, [0xc2] = M | IB, [0xc3] = M, [0xc4] = M | IB,
	[0xc5] = M | IB, [0xc6] = M | IB, [0xc7] = M,
	[0xd0 ... 0xff] = M,
};

static unsigned get_le(const uint8_t *p, unsigned n, uint64_t *v)
{
	uint64_t x = 0;
	for (unsigned i = 0; i < n; i++)
		x |= (uint64_t)p[i] << (8 * i);
	*v = x;
	return n;
}

static uint64_t sext(uint64_t v, unsigned bytes)
{
	switch (bytes) {
	case 1: return (uint64_t)(int64_t)(int8_t)v;
	case 2: return (uint64_t)(int64_t)(int16_t)v;
	case 4: return (uint64_t)(int64_t)(int32_t)v;
	default: return v;
	}
}

/* ModRM (and SIB and displacement) at p; returns bytes used or an error */
static int decode_modrm(const uint8_t *p, size_t avail, enum x86_cpu_mode mode,
			struct x86_insn *in)
{
	size_t n = 0;
	if (avail < 1)
		return X86_DECODE_SHORT;
	uint8_t m = p[n++];
	in->has_modrm = 1;
	in->modrm = m;
	in->mod = m >> 6;
	in->reg = ((m >> 3) & 7) | (in->rex & X86_REX_R ? 8 : 0);
	in->rm = (m & 7) | (in->rex & X86_REX_B ? 8 : 0);
	in->base = in->index = X86_NO_REG;
	in->scale = 1;
	if (in->mod == 3)
		return (int)n;
	in->has_mem = 1;
	unsigned disp_size = 0;
	bool ss = false;
	if (in->addrsize == 2) {
		static const uint8_t base16[8] = { X86_RBX, X86_RBX, X86_RBP, X86_RBP,
						   X86_RSI, X86_RDI, X86_RBP, X86_RBX };
		static const uint8_t index16[8] = { X86_RSI, X86_RDI, X86_RSI, X86_RDI,
						    X86_NO_REG, X86_NO_REG, X86_NO_REG, X86_NO_REG };
		unsigned rm = m & 7;
		in->base = base16[rm];
		in->index = index16[rm];
		ss = rm == 2 || rm == 3 || rm == 6;
		if (in->mod == 0 && rm == 6) {
			in->base = X86_NO_REG;
			ss = false;
			disp_size = 2;
		} else if (in->mod == 1) {
			disp_size = 1;
		} else if (in->mod == 2) {
			disp_size = 2;
		}
	} else {
		unsigned rm = m & 7;
		if (rm == 4) {
			if (avail < n + 1)
				return X86_DECODE_SHORT;
			uint8_t sib = p[n++];
			unsigned base = (sib & 7) | (in->rex & X86_REX_B ? 8 : 0);
			unsigned index = ((sib >> 3) & 7) | (in->rex & X86_REX_X ? 8 : 0);
			in->scale = (uint8_t)(1u << (sib >> 6));
			if (index != X86_RSP)
				in->index = (uint8_t)index;
			if ((sib & 7) == 5 && in->mod == 0) {
				disp_size = 4;
			} else {
				in->base = (uint8_t)base;
				ss = base == X86_RSP || base == X86_RBP;
			}
		} else if (rm == 5 && in->mod == 0) {
			disp_size = 4;
			in->rip_rel = mode == X86_MODE_LONG64;
		} else {
			in->base = (uint8_t)in->rm;
			ss = in->rm == X86_RBP;
		}
		if (in->mod == 1)
			disp_size = 1;
		else if (in->mod == 2)
			disp_size = 4;
	}
	if (avail < n + disp_size)
		return X86_DECODE_SHORT;
	uint64_t d = 0;
	n += get_le(p + n, disp_size, &d);
	in->disp = (int64_t)sext(d, disp_size);
	if (in->seg_override == X86_NR_SEGS)
		in->seg = ss ? X86_SS : X86_DS;
	return (int)n;
}

int x86_decode(const uint8_t *bytes, size_t avail, enum x86_cpu_mode mode, struct x86_insn *in)
{
	const bool m64 = mode == X86_MODE_LONG64;
	const bool def32 = mode == X86_MODE_PROT32 || m64;
	size_t n = 0;
	uint8_t last_rep = 0;

	memset(in, 0, sizeof(*in));
	in->seg_override = X86_NR_SEGS;
	in->seg = X86_DS;
	in->base = in->index = X86_NO_REG;
	in->scale = 1;

	if (avail > 15)
		avail = 15;
	/* legacy prefixes, then an optional REX right before the opcode */
	for (;;) {
		if (n >= avail)
			return avail == 15 ? X86_DECODE_INVALID : X86_DECODE_SHORT;
		uint8_t b = bytes[n];
		if (m64 && (b & 0xf0) == 0x40) {
			/* REX counts only right before the opcode: a legacy prefix after it resets it */
			in->rex = b;
			n++;
			continue;
		}
		switch (b) {
		case 0x26: in->seg_override = X86_ES; break;
		case 0x2e: in->seg_override = X86_CS; break;
		case 0x36: in->seg_override = X86_SS; break;
		case 0x3e: in->seg_override = X86_DS; break;
		case 0x64: in->seg_override = X86_FS; break;
		case 0x65: in->seg_override = X86_GS; break;
		case 0x66: in->prefixes |= X86_PFX_OPSIZE; break;
		case 0x67: in->prefixes |= X86_PFX_ADDRSIZE; break;
		case 0xf0: in->prefixes |= X86_PFX_LOCK; break;
		case 0xf2: in->prefixes |= X86_PFX_REPNE; last_rep = b; break;
		case 0xf3: in->prefixes |= X86_PFX_REP; last_rep = b; break;
		default:
			goto prefixes_done;
		}
		in->rex = 0;
		n++;
	}
prefixes_done:
	if (in->seg_override != X86_NR_SEGS)
		in->seg = in->seg_override;
	in->mandatory = last_rep ? last_rep : (in->prefixes & X86_PFX_OPSIZE) ? 0x66 : 0;

	/* sizes */
	if (m64)
		in->addrsize = in->prefixes & X86_PFX_ADDRSIZE ? 4 : 8;
	else
		in->addrsize = (def32 ^ !!(in->prefixes & X86_PFX_ADDRSIZE)) ? 4 : 2;
	if (in->rex & X86_REX_W)
		in->opsize = 8;
	else
		in->opsize = (def32 ^ !!(in->prefixes & X86_PFX_OPSIZE)) ? 4 : 2;

	/* opcode */
	uint8_t op = bytes[n++];
	uint16_t attr;
	in->map = X86_MAP_1B;
	if (op == 0x0f) {
		if (n >= avail)
			return avail == 15 ? X86_DECODE_INVALID : X86_DECODE_SHORT;
		op = bytes[n++];
		if (op == 0x38 || op == 0x3a) {
			in->map = op == 0x38 ? X86_MAP_0F38 : X86_MAP_0F3A;
			if (n >= avail)
				return avail == 15 ? X86_DECODE_INVALID : X86_DECODE_SHORT;
			op = bytes[n++];
			attr = in->map == X86_MAP_0F38 ? M : M | IB;
		} else {
			in->map = X86_MAP_0F;
			attr = map0f[op];
		}
	} else {
		attr = map1b[op];
		/* VEX (C4/C5) in 64-bit mode or with a register ModRM; EVEX (62)
		 * in 64-bit mode: no AVX here */
		if ((op == 0xc4 || op == 0xc5) && (m64 || (n < avail && bytes[n] >= 0xc0)))
			return X86_DECODE_INVALID;
	}
	in->opcode = op;
	if (attr & X)
		return X86_DECODE_INVALID;
	if (m64 && (attr & I64))
		return X86_DECODE_INVALID;
	if (m64 && (attr & F64))
		in->opsize = 8;
	else if (m64 && (attr & D64))
		in->opsize = in->prefixes & X86_PFX_OPSIZE && !(in->rex & X86_REX_W) ? 2 : 8;
	if (attr & B)
		in->byte_op = 1;
	/* group 5: near call/jmp indirect are 64-bit; push is default 64 */
	if (in->map == X86_MAP_1B && op == 0xff && m64 && n < avail) {
		unsigned r = (bytes[n] >> 3) & 7;
		if (r == 2 || r == 4)
			in->opsize = 8;
		else if (r == 6)
			in->opsize = in->prefixes & X86_PFX_OPSIZE && !(in->rex & X86_REX_W) ? 2 : 8;
	}

	if (attr & (M | CR)) {
		int r = decode_modrm(bytes + n, avail - n, mode, in);
		if (r < 0)
			return avail == 15 && r == X86_DECODE_SHORT ? X86_DECODE_INVALID : r;
		n += (size_t)r;
		if (attr & CR) {
			/* mov to/from control and debug registers: mod is ignored */
			in->mod = 3;
			in->has_mem = 0;
			in->opsize = m64 ? 8 : 4;
			in->base = in->index = X86_NO_REG;
			in->disp = 0;
			in->rip_rel = 0;
		}
	}

	/* immediates */
	unsigned isz = 0;
	if (attr & IB)
		isz = 1;
	else if (attr & IW)
		isz = 2;
	else if (attr & IZ)
		isz = in->opsize == 2 ? 2 : 4;
	else if (attr & IV)
		isz = in->opsize;
	else if ((attr & GRP3) && (in->reg & 7) < 2)
		isz = in->byte_op ? 1 : in->opsize == 2 ? 2 : 4;
	if (isz) {
		if (avail < n + isz)
			return avail == 15 ? X86_DECODE_INVALID : X86_DECODE_SHORT;
		uint64_t v;
		n += get_le(bytes + n, isz, &v);
		in->imm = (attr & IW) ? v : sext(v, isz);
		in->imm_size = (uint8_t)isz;
	}
	if (attr & IWB) {
		uint64_t v, l;
		if (avail < n + 3)
			return avail == 15 ? X86_DECODE_INVALID : X86_DECODE_SHORT;
		n += get_le(bytes + n, 2, &v);
		n += get_le(bytes + n, 1, &l);
		in->imm = v;
		in->imm2 = l;
		in->imm_size = 2;
	}
	if (attr & AP) {
		unsigned osz = in->opsize == 2 ? 2 : 4;
		uint64_t off, sel;
		if (avail < n + osz + 2)
			return avail == 15 ? X86_DECODE_INVALID : X86_DECODE_SHORT;
		n += get_le(bytes + n, osz, &off);
		n += get_le(bytes + n, 2, &sel);
		in->imm = off;
		in->imm2 = sel;
		in->imm_size = (uint8_t)osz;
	}
	if (attr & MO) {
		uint64_t off;
		if (avail < n + in->addrsize)
			return avail == 15 ? X86_DECODE_INVALID : X86_DECODE_SHORT;
		n += get_le(bytes + n, in->addrsize, &off);
		in->has_mem = 1;
		in->disp = (int64_t)off;
	}
	in->len = (uint8_t)n;
	return (int)n;
}
