/* Decimal arithmetic (legacy modes only): daa das aaa aas aam aad. */
#include "cpu/x86/ops/ops.h"

static void adjust(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t f = x86_compute_arith_flags(cpu);
	uint8_t al = cpu->gpr[X86_RAX] & 0xff, old_al = al;
	bool cf = f & X86_RFLAGS_CF, af = f & X86_RFLAGS_AF;
	switch (in->opcode) {
	case 0x27: /* daa */
		if ((al & 0xf) > 9 || af) {
			al += 6;
			cf = cf || old_al > 0xf9;
			af = true;
		} else {
			af = false;
		}
		if (old_al > 0x99 || (f & X86_RFLAGS_CF)) {
			al += 0x60;
			cf = true;
		} else {
			cf = false;
		}
		break;
	case 0x2f: /* das */
		if ((al & 0xf) > 9 || af) {
			al -= 6;
			cf = cf || old_al < 6;
			af = true;
		} else {
			af = false;
		}
		if (old_al > 0x99 || (f & X86_RFLAGS_CF)) {
			al -= 0x60;
			cf = true;
		}
		break;
	case 0x37: /* aaa */
	case 0x3f: { /* aas */
		uint16_t ax = cpu->gpr[X86_RAX] & 0xffff;
		if ((al & 0xf) > 9 || af) {
			if (in->opcode == 0x37)
				ax = (uint16_t)(ax + 0x106);
			else
				ax = (uint16_t)(((ax - 6) & 0xff) | ((((ax >> 8) - 1) & 0xff) << 8));
			af = cf = true;
		} else {
			af = cf = false;
		}
		ax &= 0xff0f;
		cpu->gpr[X86_RAX] = (cpu->gpr[X86_RAX] & ~0xffffull) | ax;
		f = x86_szp_flags(ax & 0xff, 1);
		goto flags;
	}
	}
	cpu->gpr[X86_RAX] = (cpu->gpr[X86_RAX] & ~0xffull) | al;
	f = x86_szp_flags(al, 1);
flags:
	if (cf)
		f |= X86_RFLAGS_CF;
	if (af)
		f |= X86_RFLAGS_AF;
	x86_set_arith_flags(cpu, f);
}

int x86_exec_bcd(struct x86_cpu *cpu, const struct x86_insn *in)
{
	switch (in->opcode) {
	case 0xd4: { /* aam */
		uint8_t base = (uint8_t)in->imm;
		if (!base)
			x86_raise_exception(cpu, X86_EXC_DE, 0);
		uint8_t al = cpu->gpr[X86_RAX] & 0xff;
		uint16_t ax = (uint16_t)(((al / base) << 8) | (al % base));
		cpu->gpr[X86_RAX] = (cpu->gpr[X86_RAX] & ~0xffffull) | ax;
		x86_set_arith_flags(cpu, x86_szp_flags(ax & 0xff, 1));
		return 0;
	}
	case 0xd5: { /* aad */
		uint8_t base = (uint8_t)in->imm;
		uint8_t al = cpu->gpr[X86_RAX] & 0xff, ah = (cpu->gpr[X86_RAX] >> 8) & 0xff;
		uint8_t nal = (uint8_t)(al + ah * base);
		cpu->gpr[X86_RAX] = (cpu->gpr[X86_RAX] & ~0xffffull) | nal;
		x86_set_arith_flags(cpu, x86_szp_flags(nal, 1));
		return 0;
	}
	default:
		adjust(cpu, in);
		return 0;
	}
}
