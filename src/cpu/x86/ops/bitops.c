/* Bit instructions: bt bts btr btc (0F A3 AB B3 BB, BA /4-7), bsf, bsr,
 * lzcnt and popcnt. */
#include "cpu/x86/ops/ops.h"
#include "cpu/x86/jit/jit.h"

static int bit_op(struct x86_cpu *cpu, const struct x86_insn *in, unsigned kind, uint64_t bitoff,
		  bool reg_offset)
{
	unsigned size = in->opsize, bits = size * 8;
	uint64_t a, r;
	bool bit;
	if (in->mod == 3) {
		unsigned n = bitoff & (bits - 1);
		a = x86_reg_read(cpu, in, in->rm, size);
		bit = (a >> n) & 1;
		r = kind == 1 ? a | (1ull << n) : kind == 2 ? a & ~(1ull << n) : a ^ (1ull << n);
		if (kind)
			x86_reg_write(cpu, in, in->rm, size, r);
	} else {
		uint64_t ea = x86_ea(cpu, in);
		if (reg_offset) {
			int64_t off = (int64_t)x86_sext(bitoff, size);
			ea += (uint64_t)((off >> (bits == 16 ? 4 : bits == 32 ? 5 : 6)) * (int64_t)size);
			ea &= x86_mask(in->addrsize);
		}
		unsigned n = bitoff & (bits - 1);
		uint64_t lin = x86_seg_linear(cpu, in->seg, ea, size, kind != 0);
		a = x86_read_lin_u(cpu, lin, size, x86_user(cpu));
		bit = (a >> n) & 1;
		r = kind == 1 ? a | (1ull << n) : kind == 2 ? a & ~(1ull << n) : a ^ (1ull << n);
		if (kind)
			x86_write_lin_u(cpu, lin, size, r, x86_user(cpu));
	}
	set_flags_bits(cpu, bit ? X86_RFLAGS_CF : 0, X86_RFLAGS_CF);
	return 0;
}

static void bitscan_flags(struct x86_cpu *cpu, bool zf, bool cf)
{
	uint64_t f = x86_compute_arith_flags(cpu) & ~(X86_RFLAGS_ZF | X86_RFLAGS_CF);
	if (zf)
		f |= X86_RFLAGS_ZF;
	if (cf)
		f |= X86_RFLAGS_CF;
	x86_set_arith_flags(cpu, f);
}

int x86_exec_bitops(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t a, r;
	switch (in->opcode) {
	case 0xa3: return bit_op(cpu, in, 0, x86_reg_read(cpu, in, in->reg, in->opsize), true);
	case 0xab: return bit_op(cpu, in, 1, x86_reg_read(cpu, in, in->reg, in->opsize), true);
	case 0xb3: return bit_op(cpu, in, 2, x86_reg_read(cpu, in, in->reg, in->opsize), true);
	case 0xbb: return bit_op(cpu, in, 3, x86_reg_read(cpu, in, in->reg, in->opsize), true);
	case 0xba:
		if ((in->reg & 7) < 4)
			ud(cpu);
		return bit_op(cpu, in, (in->reg & 7) - 4, (uint8_t)in->imm, false);
	case 0xb8: /* popcnt */
		if (in->mandatory != 0xf3)
			ud(cpu);
		a = rm_read(cpu, in, in->opsize);
		r = (uint64_t)__builtin_popcountll(a);
		x86_reg_write(cpu, in, in->reg, in->opsize, r);
		x86_set_arith_flags(cpu, a ? 0 : X86_RFLAGS_ZF);
		return 0;
	case 0xbc: /* bsf (tzcnt is not reported: F3 is ignored, as on older parts) */
		a = rm_read(cpu, in, in->opsize);
		if (a)
			x86_reg_write(cpu, in, in->reg, in->opsize, (uint64_t)__builtin_ctzll(a));
		bitscan_flags(cpu, !a, false);
		return 0;
	default: { /* BD */
		unsigned bits = in->opsize * 8;
		a = rm_read(cpu, in, in->opsize);
		if (in->mandatory == 0xf3) { /* lzcnt */
			r = a ? (uint64_t)(__builtin_clzll(a) - (64 - (int)bits)) : bits;
			x86_reg_write(cpu, in, in->reg, in->opsize, r);
			bitscan_flags(cpu, r == 0, a == 0);
			return 0;
		}
		if (a)
			x86_reg_write(cpu, in, in->reg, in->opsize, (uint64_t)(63 - __builtin_clzll(a)));
		bitscan_flags(cpu, !a, false);
		return 0;
	}
	}
}

/* ---- translation ---- */

bool x86_emit_bitops(struct jit *j, const struct x86_insn *in)
{
	switch (in->opcode) {
	case 0xba: /* bt* r/m, imm8: CF, the rest undefined but ZF kept */
		if ((in->reg & 7) < 4)
			return false;
		return jit_emit_same(j, in, JS_NO_REG | JS_READ_RM | JS_FLAGS_SOME |
					    ((in->reg & 7) == 4 ? 0 : JS_WRITE_RM | JS_LOCK));
	case 0xa3: case 0xab: case 0xb3: case 0xbb:
		/* with a memory operand the offset reaches outside it */
		if (in->mod != 3)
			return false;
		return jit_emit_same(j, in, JS_READ_REG | JS_READ_RM | JS_FLAGS_SOME | JS_RM_REG |
					    (in->opcode == 0xa3 ? 0 : JS_WRITE_RM));
	case 0xbc: /* bsf; F3 is ignored (no tzcnt) */
		if (in->mandatory == 0xf3)
			return false;
		return jit_emit_same(j, in, JS_READ_REG | JS_READ_RM | JS_WRITE_REG | JS_FLAGS_OUT);
	case 0xbd:
		if (in->mandatory == 0xf3 && !__builtin_cpu_supports("abm"))
			return false;
		return jit_emit_same(j, in, JS_READ_REG | JS_READ_RM | JS_WRITE_REG | JS_FLAGS_OUT |
					    JS_F3);
	case 0xb8:
		if (in->mandatory != 0xf3 || !__builtin_cpu_supports("popcnt"))
			return false;
		return jit_emit_same(j, in, JS_READ_RM | JS_WRITE_REG | JS_FLAGS_OUT | JS_F3);
	default:
		return false;
	}
}
