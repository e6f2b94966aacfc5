/* SSE, SSE2, SSE3, SSSE3, SSE4.1 and MMX for the software CPU: the
 * routing of each opcode of the 0F, 0F38 and 0F3A maps to its instruction
 * group (sse.h lists them).  The translator's side is emit.c. */
#include "cpu/x86/sse/sse.h"

static int sse_0f(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	switch (insn->opcode) {
	case 0x10 ... 0x13:
	case 0x16:
	case 0x17:
	case 0x28:
	case 0x29:
	case 0x2b:
		return sse_moves(cpu, insn);
	case 0x50:
		return sse_movmsk(cpu, insn);
	case 0x6e:
	case 0x6f:
	case 0x7e:
	case 0x7f:
	case 0xc3:
	case 0xd6:
	case 0xd7:
	case 0xe7:
	case 0xf0:
	case 0xf7:
		return sse_int_moves(cpu, insn);
	case 0x14:
	case 0x15:
	case 0xc6:
		return sse_fp_shuffle(cpu, insn);
	case 0x70:
	case 0xc4:
	case 0xc5:
		return sse_int_shuffle(cpu, insn);
	case 0x2a:
	case 0x2c:
	case 0x2d:
		return sse_cvt_int(cpu, insn);
	case 0x5a:
	case 0x5b:
	case 0xe6:
		return sse_fp_convert(cpu, insn);
	case 0x2e:
	case 0x2f:
		return sse_comi(cpu, insn);
	case 0xc2:
		return sse_cmp(cpu, insn);
	case 0x51 ... 0x53:
	case 0x58:
	case 0x59:
	case 0x5c ... 0x5f:
		return sse_fp_arith(cpu, insn);
	case 0x54 ... 0x57:
		return sse_fp_logic(cpu, insn);
	case 0x7c:
	case 0x7d:
	case 0xd0:
		return sse_fp_horizontal(cpu, insn);
	case 0x71 ... 0x73:
		return sse_shift_imm(cpu, insn);
	case 0x60 ... 0x6d:
	case 0x74 ... 0x76:
	case 0xd1 ... 0xd5:
	case 0xd8 ... 0xe5:
	case 0xe8 ... 0xef:
	case 0xf1 ... 0xf6:
	case 0xf8 ... 0xfe:
		return sse_int_binop(cpu, insn);
	case 0x77:
		return sse_emms(cpu, insn);
	case 0xae:
		return sse_group_ae(cpu, insn);
	}
	return -1;
}

static int sse_0f38(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned op = insn->opcode;
	if (op <= 0x0b || (op >= 0x1c && op <= 0x1e))
		return sse_ssse3_int(cpu, insn);
	if (!X86_SIMD_HAS_SSE41 || insn->mandatory != 0x66)
		return -1;
	switch (op) {
	case 0x10:
	case 0x14:
	case 0x15:
		return sse_blendv(cpu, insn);
	case 0x17:
		return sse_ptest(cpu, insn);
	case 0x20 ... 0x25:
	case 0x30 ... 0x35:
		return sse_pmov_ext(cpu, insn);
	case 0x2a:
		return sse_movntdqa(cpu, insn);
	case 0x28:
	case 0x29:
	case 0x2b:
	case 0x38 ... 0x41:
		return sse_sse41_int(cpu, insn);
	}
	return -1;
}

static int sse_0f3a(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	unsigned op = insn->opcode;
	if (op == 0x0f)
		return sse_palignr(cpu, insn);
	if (!X86_SIMD_HAS_SSE41 || insn->mandatory != 0x66)
		return -1;
	switch (op) {
	case 0x08 ... 0x0b:
		return sse_round(cpu, insn);
	case 0x0c ... 0x0e:
		return sse_blend_imm(cpu, insn);
	case 0x14 ... 0x17:
	case 0x20 ... 0x22:
		return sse_insert_extract(cpu, insn);
	case 0x40:
	case 0x41:
		return sse_dot_product(cpu, insn);
	case 0x42:
		return sse_mpsadbw(cpu, insn);
	}
	return -1;
}

int x86_exec_sse(struct x86_cpu *cpu, const struct x86_insn *insn)
{
	switch (insn->map) {
	case X86_MAP_0F:
		return sse_0f(cpu, insn);
	case X86_MAP_0F38:
		return sse_0f38(cpu, insn);
	case X86_MAP_0F3A:
		return sse_0f3a(cpu, insn);
	}
	return -1;
}
