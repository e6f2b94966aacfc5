/* Data movement: mov in all its forms, lea, movzx/movsx/movsxd, cmov,
 * setcc, cbw/cwd, lahf/sahf, xlat, bswap, movbe, moves to and from
 * segment registers and the far-pointer loads (les lds lss lfs lgs);
 * arpl shares movsxd's opcode outside 64-bit mode. */
#include "cpu/x86/ops/ops.h"
#include "cpu/x86/jit/jit.h"

/* les lds lss lfs lgs: offset then selector from memory */
static int load_far_pointer(struct x86_cpu *cpu, const struct x86_insn *in, int seg)
{
	if (in->mod == 3)
		ud(cpu);
	uint64_t ea = x86_ea(cpu, in);
	unsigned s = in->opsize;
	uint64_t off = x86_mem_read(cpu, in->seg, ea, s);
	uint16_t sel = (uint16_t)x86_mem_read(cpu, in->seg, (ea + s) & x86_mask(in->addrsize), 2);
	x86_load_seg(cpu, seg, sel);
	x86_reg_write(cpu, in, in->reg, s, off);
	return 0;
}

static int arpl(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct operand o;
	if (!x86_prot_mode(cpu))
		ud(cpu);
	rm_resolve(cpu, in, 2, true, &o);
	uint64_t a = op_read(cpu, in, &o, 2);
	uint64_t b = x86_reg_read(cpu, in, in->reg, 2);
	if ((a & 3) < (b & 3)) {
		op_write(cpu, in, &o, 2, (a & ~3ull) | (b & 3));
		set_flags_bits(cpu, X86_RFLAGS_ZF, 0);
	} else {
		set_flags_bits(cpu, 0, X86_RFLAGS_ZF);
	}
	return 0;
}

static uint64_t bswap(uint64_t v, unsigned size)
{
	return size == 2 ? __builtin_bswap16((uint16_t)v) : size == 4 ? __builtin_bswap32((uint32_t)v) :
	       __builtin_bswap64(v);
}

static int exec_0f(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const uint8_t op = in->opcode;
	uint64_t r;
	switch (op) {
	case 0x40 ... 0x4f:
		r = rm_read(cpu, in, in->opsize);
		if (x86_cond(cpu, op & 15))
			x86_reg_write(cpu, in, in->reg, in->opsize, r);
		else if (in->opsize == 4)
			x86_reg_write(cpu, in, in->reg, 4, x86_reg_read(cpu, in, in->reg, 4));
		return 0;
	case 0x90 ... 0x9f:
		rm_write(cpu, in, 1, x86_cond(cpu, op & 15));
		return 0;
	case 0xb2: return load_far_pointer(cpu, in, X86_SS);
	case 0xb4: return load_far_pointer(cpu, in, X86_FS);
	case 0xb5: return load_far_pointer(cpu, in, X86_GS);
	case 0xb6: case 0xb7: case 0xbe: case 0xbf: {
		unsigned ss = (op & 1) ? 2 : 1;
		r = rm_read(cpu, in, ss);
		if (op >= 0xbe)
			r = x86_sext(r, ss);
		x86_reg_write(cpu, in, in->reg, in->opsize, r);
		return 0;
	}
	default: { /* C8-CF: bswap */
		unsigned reg = opcode_reg(in);
		if (in->opsize == 2)
			x86_reg_write(cpu, in, reg, 2, 0);
		else
			x86_reg_write(cpu, in, reg, in->opsize, bswap(cpu->gpr[reg], in->opsize));
		return 0;
	}
	}
}

/* 0F38 F0/F1 without F2: movbe */
static int movbe(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (in->mod == 3)
		ud(cpu);
	unsigned s = in->opsize;
	if (in->opcode == 0xf0)
		x86_reg_write(cpu, in, in->reg, s, bswap(rm_read(cpu, in, s), s));
	else
		rm_write(cpu, in, s, bswap(x86_reg_read(cpu, in, in->reg, s), s));
	return 0;
}

int x86_exec_mov(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const uint8_t op = in->opcode;
	const unsigned size = osize(in);
	uint64_t r;

	if (in->map == X86_MAP_0F)
		return exec_0f(cpu, in);
	if (in->map == X86_MAP_0F38)
		return movbe(cpu, in);
	switch (op) {
	case 0x63:
		if (cpu->mode != X86_MODE_LONG64)
			return arpl(cpu, in);
		r = rm_read(cpu, in, 4);	/* movsxd */
		x86_reg_write(cpu, in, in->reg, in->opsize, x86_sext(r, 4));
		return 0;
	case 0x88:
	case 0x89:
		rm_write(cpu, in, size, x86_reg_read(cpu, in, in->reg, size));
		return 0;
	case 0x8a:
	case 0x8b:
		x86_reg_write(cpu, in, in->reg, size, rm_read(cpu, in, size));
		return 0;
	case 0x8c: {
		unsigned sr = in->reg & 7;
		if (sr > 5)
			ud(cpu);
		uint16_t sel = cpu->seg[sr].selector;
		if (in->mod == 3)
			x86_reg_write(cpu, in, in->rm, in->opsize, sel);
		else
			rm_write(cpu, in, 2, sel);
		return 0;
	}
	case 0x8d:
		if (in->mod == 3)
			ud(cpu);
		x86_reg_write(cpu, in, in->reg, in->opsize, x86_ea(cpu, in));
		return 0;
	case 0x8e: {
		unsigned sr = in->reg & 7;
		if (sr > 5 || sr == X86_CS)
			ud(cpu);
		uint16_t sel = (uint16_t)rm_read(cpu, in, 2);
		x86_load_seg(cpu, (int)sr, sel);
		if (sr == X86_SS) {
			cpu->intr_shadow = true;
			return X86_EXEC_END_BLOCK;
		}
		return 0;
	}
	case 0x98:
		if (in->opsize == 2)
			x86_reg_write(cpu, in, X86_RAX, 2, x86_sext(cpu->gpr[X86_RAX], 1));
		else if (in->opsize == 4)
			x86_reg_write(cpu, in, X86_RAX, 4, x86_sext(cpu->gpr[X86_RAX], 2));
		else
			cpu->gpr[X86_RAX] = x86_sext(cpu->gpr[X86_RAX], 4);
		return 0;
	case 0x99: {
		unsigned s = in->opsize;
		bool neg = cpu->gpr[X86_RAX] & (1ull << (s * 8 - 1));
		x86_reg_write(cpu, in, X86_RDX, s, neg ? ~0ull : 0);
		return 0;
	}
	case 0x9e: { /* sahf */
		uint64_t ah = (cpu->gpr[X86_RAX] >> 8) & 0xff;
		uint64_t mask = X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_AF | X86_RFLAGS_PF |
				X86_RFLAGS_CF;
		set_flags_bits(cpu, ah & mask, mask);
		return 0;
	}
	case 0x9f: { /* lahf */
		uint64_t f = x86_cpu_get_rflags(cpu) & 0xff;
		cpu->gpr[X86_RAX] = (cpu->gpr[X86_RAX] & ~0xff00ull) | (f << 8);
		return 0;
	}
	case 0xa0 ... 0xa3: {
		uint64_t off = (uint64_t)in->disp & x86_mask(in->addrsize);
		if (op < 0xa2)
			x86_reg_write(cpu, in, X86_RAX, size, x86_mem_read(cpu, in->seg, off, size));
		else
			x86_mem_write(cpu, in->seg, off, size, x86_reg_read(cpu, in, X86_RAX, size));
		return 0;
	}
	case 0xb0 ... 0xb7:
		x86_reg_write(cpu, in, opcode_reg(in), 1, in->imm);
		return 0;
	case 0xb8 ... 0xbf:
		x86_reg_write(cpu, in, opcode_reg(in), in->opsize, in->imm);
		return 0;
	case 0xc4: return load_far_pointer(cpu, in, X86_ES);
	case 0xc5: return load_far_pointer(cpu, in, X86_DS);
	case 0xc6:
	case 0xc7:
		if (in->reg & 7)
			ud(cpu);
		rm_write(cpu, in, size, in->imm);
		return 0;
	default: { /* D7: xlat */
		uint64_t off = (cpu->gpr[X86_RBX] + (cpu->gpr[X86_RAX] & 0xff)) & x86_mask(in->addrsize);
		x86_reg_write(cpu, in, X86_RAX, 1, x86_mem_read(cpu, in->seg, off, 1));
		return 0;
	}
	}
}

/* ---- specialised executors ---- */

static int fast_mov_store(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const unsigned size = osize(in);
	rm_write(cpu, in, size, x86_reg_read(cpu, in, in->reg, size));
	return 0;
}

static int fast_mov_load(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const unsigned size = osize(in);
	x86_reg_write(cpu, in, in->reg, size, rm_read(cpu, in, size));
	return 0;
}

/* mov with the operand size fixed at translation, so the size switches
 * of the register and memory helpers fold away: the 32- and 64-bit forms
 * are most moves in 64-bit code */
static int fast_mov_store4(struct x86_cpu *cpu, const struct x86_insn *in)
{
	rm_write(cpu, in, 4, x86_reg_read(cpu, in, in->reg, 4));
	return 0;
}

static int fast_mov_store8(struct x86_cpu *cpu, const struct x86_insn *in)
{
	rm_write(cpu, in, 8, x86_reg_read(cpu, in, in->reg, 8));
	return 0;
}

static int fast_mov_load4(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_reg_write(cpu, in, in->reg, 4, rm_read(cpu, in, 4));
	return 0;
}

static int fast_mov_load8(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_reg_write(cpu, in, in->reg, 8, rm_read(cpu, in, 8));
	return 0;
}

static int fast_lea(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_reg_write(cpu, in, in->reg, in->opsize, x86_ea(cpu, in));
	return 0;
}

static int fast_mov_imm(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_reg_write(cpu, in, opcode_reg(in), osize(in), in->imm);
	return 0;
}

/* movzx/movsx (0F B6, B7, BE, BF), one executor per source size and
 * signedness so the source read is a fixed-size load */
static inline __attribute__((always_inline)) int movx_op(struct x86_cpu *cpu,
							 const struct x86_insn *in, unsigned ss,
							 bool sign)
{
	uint64_t r = rm_read(cpu, in, ss);
	if (sign)
		r = x86_sext(r, ss);
	x86_reg_write(cpu, in, in->reg, in->opsize, r);
	return 0;
}

static int fast_movzx8(struct x86_cpu *cpu, const struct x86_insn *in) { return movx_op(cpu, in, 1, false); }
static int fast_movzx16(struct x86_cpu *cpu, const struct x86_insn *in) { return movx_op(cpu, in, 2, false); }
static int fast_movsx8(struct x86_cpu *cpu, const struct x86_insn *in) { return movx_op(cpu, in, 1, true); }
static int fast_movsx16(struct x86_cpu *cpu, const struct x86_insn *in) { return movx_op(cpu, in, 2, true); }

/* movsxd: only chosen with a REX prefix, which exists only in 64-bit
 * mode (elsewhere 63 is arpl) */
static int fast_movsxd(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_reg_write(cpu, in, in->reg, in->opsize, x86_sext(rm_read(cpu, in, 4), 4));
	return 0;
}

static int fast_cmov(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t r = rm_read(cpu, in, in->opsize);
	if (x86_cond(cpu, in->opcode & 15))
		x86_reg_write(cpu, in, in->reg, in->opsize, r);
	else if (in->opsize == 4)
		x86_reg_write(cpu, in, in->reg, 4, x86_reg_read(cpu, in, in->reg, 4));
	return 0;
}

static int fast_setcc(struct x86_cpu *cpu, const struct x86_insn *in)
{
	rm_write(cpu, in, 1, x86_cond(cpu, in->opcode & 15));
	return 0;
}

x86_exec_fn x86_select_mov(const struct x86_insn *in)
{
	if (in->map == X86_MAP_0F) {
		switch (in->opcode) {
		case 0x40 ... 0x4f: return fast_cmov;
		case 0x90 ... 0x9f: return fast_setcc;
		case 0xb6: return fast_movzx8;
		case 0xb7: return fast_movzx16;
		case 0xbe: return fast_movsx8;
		case 0xbf: return fast_movsx16;
		default: return NULL;
		}
	}
	if (in->map != X86_MAP_1B)
		return NULL;
	switch (in->opcode) {
	case 0x89:
		if (in->opsize == 8)
			return fast_mov_store8;
		return in->opsize == 4 ? fast_mov_store4 : fast_mov_store;
	case 0x8b:
		if (in->opsize == 8)
			return fast_mov_load8;
		return in->opsize == 4 ? fast_mov_load4 : fast_mov_load;
	case 0x88: return fast_mov_store;
	case 0x8a: return fast_mov_load;
	case 0x8d: return in->mod == 3 ? NULL : fast_lea;
	case 0xb0 ... 0xbf: return fast_mov_imm;
	case 0x63: return in->rex ? fast_movsxd : NULL;
	default: return NULL;
	}
}

/* ---- translation ---- */

/* lea: the host's lea on the mapped registers, no memory access */
static bool emit_lea(struct jit *j, const struct x86_insn *in)
{
	if (in->mod == 3 || in->opsize == 2)
		return false;
	struct emit *e = &j->e;
	int dst = jit_host_reg[in->reg];
	int t = dst == HR_NONE ? JIT_T1 : dst;
	/* 32 bits when either size is: the upper half is zero either way */
	const unsigned size = in->opsize == 8 && in->addrsize == 8 ? 8 : 4;
	if (in->rip_rel || (in->base == X86_NO_REG && in->index == X86_NO_REG)) {
		uint64_t ea = in->rip_rel ? j->next_rip + (uint64_t)in->disp : (uint64_t)in->disp;
		e_mov_ri(e, t, size == 4 ? (uint32_t)ea : ea);
	} else {
		int base = HR_NONE, index = HR_NONE;
		if (in->base != X86_NO_REG) {
			base = jit_host_reg[in->base];
			if (base == HR_NONE) {
				base = JIT_T1;
				e_load(e, 8, base, jit_gpr_slot(in->base));
			}
		}
		if (in->index != X86_NO_REG) {
			index = jit_host_reg[in->index];
			if (index == HR_NONE) {
				index = JIT_T2;
				e_load(e, 8, index, jit_gpr_slot(in->index));
			}
		}
		e_lea(e, size, t, hrm_mem(base, index, in->scale, (int32_t)in->disp));
	}
	if (dst == HR_NONE)
		e_store(e, 8, jit_gpr_slot(in->reg), t);
	return true;
}

/* mov r, imm (B0-BF) */
static bool emit_mov_imm(struct jit *j, const struct x86_insn *in)
{
	const unsigned reg = opcode_reg(in), size = osize(in);
	if (size == 1 && !in->rex && reg >= 4)
		return false;	/* AH..BH */
	struct emit *e = &j->e;
	int h = jit_host_reg[reg];
	uint64_t v = in->imm & x86_mask(size);
	if (h != HR_NONE) {
		if (size >= 4)
			e_mov_ri(e, h, v);
		else
			e_insn(e, size == 1 ? E_BYTEREGS : 0, size, (const uint8_t[]){ size == 1 ? 0xc6 : 0xc7 },
			       1, 0, &(struct hrm){ .reg = (int8_t)h }, size, v);
		return true;
	}
	if (size < 4)
		e_store_imm(e, size, jit_gpr_slot(reg), (int32_t)v);
	else if ((int64_t)v == (int32_t)v)
		e_store_imm(e, 8, jit_gpr_slot(reg), (int32_t)v);
	else {
		e_mov_ri(e, JIT_T1, v);
		e_store(e, 8, jit_gpr_slot(reg), JIT_T1);
	}
	return true;
}

/* cbw/cwde/cdqe and cwd/cdq/cqo */
static bool emit_convert(struct jit *j, const struct x86_insn *in)
{
	struct emit *e = &j->e;
	const int a = jit_host_reg[X86_RAX];
	if (in->opcode == 0x98) {
		const unsigned s = in->opsize;
		e_movsx(e, s, s / 2, a, hrm_reg(a));
		return true;
	}
	e_mov_rr(e, 8, HR_RAX, a);
	if (in->opsize == 2)
		e_byte(e, 0x66);
	else if (in->opsize == 8)
		e_byte(e, 0x48);
	e_byte(e, 0x99);
	return true;
}

static bool emit_bswap(struct jit *j, const struct x86_insn *in)
{
	if (in->opsize == 2)
		return false;
	struct emit *e = &j->e;
	const unsigned reg = opcode_reg(in);
	int h = jit_host_reg[reg];
	int t = h == HR_NONE ? JIT_T1 : h;
	if (h == HR_NONE)
		e_load(e, 8, t, jit_gpr_slot(reg));
	unsigned rex = (in->opsize == 8 ? 8 : 0) | (t & 8 ? 1 : 0);
	if (rex)
		e_byte(e, (uint8_t)(0x40 | rex));
	e_byte(e, 0x0f);
	e_byte(e, (uint8_t)(0xc8 + (t & 7)));
	if (h == HR_NONE)
		e_store(e, 8, jit_gpr_slot(reg), t);
	return true;
}

bool x86_emit_mov(struct jit *j, const struct x86_insn *in)
{
	const uint8_t op = in->opcode;
	if (in->map == X86_MAP_0F) {
		switch (op) {
		case 0x40 ... 0x4f:
			return jit_emit_same(j, in, JS_READ_REG | JS_READ_RM | JS_WRITE_REG | JS_FLAGS_IN);
		case 0x90 ... 0x9f:
			return jit_emit_same(j, in, JS_NO_REG | JS_WRITE_RM | JS_RM_SIZE1 | JS_FLAGS_IN);
		case 0xb6: case 0xbe:
			return jit_emit_same(j, in, JS_READ_RM | JS_WRITE_REG | JS_RM_SIZE1);
		case 0xb7: case 0xbf:
			return jit_emit_same(j, in, JS_READ_RM | JS_WRITE_REG | JS_RM_SIZE2);
		case 0xc8 ... 0xcf:
			return emit_bswap(j, in);
		default:
			return false;
		}
	}
	if (in->map != X86_MAP_1B)
		return false;
	switch (op) {
	case 0x63:
		if (j->mode != X86_MODE_LONG64)
			return false;
		return jit_emit_same(j, in, JS_READ_RM | JS_WRITE_REG | JS_RM_SIZE4);
	case 0x88:
	case 0x89:
		return jit_emit_same(j, in, JS_READ_REG | JS_WRITE_RM);
	case 0x8a:
	case 0x8b:
		return jit_emit_same(j, in, JS_READ_RM | JS_WRITE_REG);
	case 0x8d:
		return emit_lea(j, in);
	case 0x98:
	case 0x99:
		return emit_convert(j, in);
	case 0xb0 ... 0xbf:
		return emit_mov_imm(j, in);
	case 0xc6:
	case 0xc7:
		if (in->reg & 7)
			return false;
		return jit_emit_same(j, in, JS_NO_REG | JS_WRITE_RM);
	default:
		return false;
	}
}
