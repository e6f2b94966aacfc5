/* The x86-64 encoder (see emit.h). */
#include "cpu/x86/jit/emit.h"

#include <string.h>

void e_byte(struct emit *e, uint8_t b)
{
	if (e->p < e->end)
		*e->p++ = b;
	else
		e->full = true;
}

void e_u32(struct emit *e, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		e_byte(e, (uint8_t)(v >> (8 * i)));
}

void e_u64(struct emit *e, uint64_t v)
{
	e_u32(e, (uint32_t)v);
	e_u32(e, (uint32_t)(v >> 32));
}

static bool fits8(int64_t v)
{
	return v >= -128 && v <= 127;
}

void e_insn(struct emit *e, unsigned flags, unsigned size, const uint8_t *op, unsigned oplen,
	    unsigned reg, const struct hrm *rm, unsigned immsize, uint64_t imm)
{
	unsigned rex = 0;
	bool w = (flags & E_REXW) || (!(flags & E_NOSIZE) && size == 8);
	if (w)
		rex |= 8;
	if (reg & 8)
		rex |= 4;
	bool need_rex = false;
	if ((flags & E_BYTEREGS) && reg >= 4 && reg < 8)
		need_rex = true;
	if (rm->mem) {
		if (rm->m.index != HR_NONE && (rm->m.index & 8))
			rex |= 2;
		if (rm->m.base != HR_NONE && (rm->m.base & 8))
			rex |= 1;
	} else {
		if (rm->reg & 8)
			rex |= 1;
		if ((flags & E_BYTEREGS) && rm->reg >= 4 && rm->reg < 8)
			need_rex = true;
	}
	if (flags & E_LOCK)
		e_byte(e, 0xf0);
	if (flags & E_OPSIZE)
		e_byte(e, 0x66);
	else if (!(flags & E_NOSIZE) && size == 2)
		e_byte(e, 0x66);
	if (flags & E_REPNE)
		e_byte(e, 0xf2);
	if (flags & E_REP)
		e_byte(e, 0xf3);
	if (rex || need_rex)
		e_byte(e, (uint8_t)(0x40 | rex));
	for (unsigned i = 0; i < oplen; i++)
		e_byte(e, op[i]);

	const unsigned r3 = (reg & 7) << 3;
	if (!rm->mem) {
		e_byte(e, (uint8_t)(0xc0 | r3 | (rm->reg & 7)));
	} else if (rm->m.rip) {
		e_byte(e, (uint8_t)(r3 | 5));
		uint64_t end = emit_rx(e) + 4 + immsize;
		e_u32(e, (uint32_t)(int32_t)(rm->m.target - end));
	} else if (rm->m.base == HR_NONE) {
		e_byte(e, (uint8_t)(r3 | 4));
		unsigned idx = rm->m.index == HR_NONE ? 4 : (rm->m.index & 7);
		unsigned sc = rm->m.scale == 8 ? 3 : rm->m.scale == 4 ? 2 : rm->m.scale == 2 ? 1 : 0;
		e_byte(e, (uint8_t)((sc << 6) | (idx << 3) | 5));
		e_u32(e, (uint32_t)rm->m.disp);
	} else {
		unsigned base = rm->m.base & 7;
		unsigned mod = rm->m.disp == 0 && base != 5 ? 0 : fits8(rm->m.disp) ? 1 : 2;
		if (rm->m.index != HR_NONE || base == 4) {
			unsigned idx = rm->m.index == HR_NONE ? 4 : (rm->m.index & 7);
			unsigned sc = rm->m.scale == 8 ? 3 : rm->m.scale == 4 ? 2 : rm->m.scale == 2 ? 1 : 0;
			e_byte(e, (uint8_t)((mod << 6) | r3 | 4));
			e_byte(e, (uint8_t)((sc << 6) | (idx << 3) | base));
		} else {
			e_byte(e, (uint8_t)((mod << 6) | r3 | base));
		}
		if (mod == 1)
			e_byte(e, (uint8_t)rm->m.disp);
		else if (mod == 2)
			e_u32(e, (uint32_t)rm->m.disp);
	}
	for (unsigned i = 0; i < immsize; i++)
		e_byte(e, (uint8_t)(imm >> (8 * i)));
}

static void insn1(struct emit *e, unsigned flags, unsigned size, uint8_t op, unsigned reg,
		  struct hrm rm, unsigned immsize, uint64_t imm)
{
	e_insn(e, flags, size, &op, 1, reg, &rm, immsize, imm);
}

static void insn2(struct emit *e, unsigned flags, unsigned size, uint8_t op, unsigned reg,
		  struct hrm rm)
{
	const uint8_t ops[2] = { 0x0f, op };
	e_insn(e, flags, size, ops, 2, reg, &rm, 0, 0);
}

void e_mov_rr(struct emit *e, unsigned size, int dst, int src)
{
	insn1(e, size == 1 ? E_BYTEREGS : 0, size, size == 1 ? 0x88 : 0x89, (unsigned)src,
	      hrm_reg(dst), 0, 0);
}

void e_load(struct emit *e, unsigned size, int dst, struct hrm m)
{
	if (size == 1 || size == 2)
		e_movzx(e, 4, size, dst, m);
	else
		insn1(e, 0, size, 0x8b, (unsigned)dst, m, 0, 0);
}

void e_store(struct emit *e, unsigned size, struct hrm m, int src)
{
	insn1(e, size == 1 ? E_BYTEREGS : 0, size, size == 1 ? 0x88 : 0x89, (unsigned)src, m, 0, 0);
}

void e_store_imm(struct emit *e, unsigned size, struct hrm m, int32_t imm)
{
	insn1(e, 0, size, size == 1 ? 0xc6 : 0xc7, 0, m, size == 1 ? 1 : size == 2 ? 2 : 4,
	      (uint64_t)(int64_t)imm);
}

void e_mov_ri(struct emit *e, int dst, uint64_t imm)
{
	if (imm <= 0xffffffffull) {	/* mov r32, imm32 zero-extends */
		if (dst & 8)
			e_byte(e, 0x41);
		e_byte(e, (uint8_t)(0xb8 + (dst & 7)));
		e_u32(e, (uint32_t)imm);
	} else if ((int64_t)imm == (int32_t)imm) {
		insn1(e, 0, 8, 0xc7, 0, hrm_reg(dst), 4, imm);
	} else {
		e_byte(e, (uint8_t)(0x48 | (dst & 8 ? 1 : 0)));
		e_byte(e, (uint8_t)(0xb8 + (dst & 7)));
		e_u64(e, imm);
	}
}

void e_lea(struct emit *e, unsigned size, int dst, struct hrm m)
{
	insn1(e, 0, size, 0x8d, (unsigned)dst, m, 0, 0);
}

void e_alu_i(struct emit *e, unsigned op, unsigned size, struct hrm rm, int32_t imm)
{
	if (size == 1)
		insn1(e, E_BYTEREGS, 1, 0x80, op, rm, 1, (uint64_t)imm);
	else if (fits8(imm))
		insn1(e, 0, size, 0x83, op, rm, 1, (uint64_t)imm);
	else
		insn1(e, 0, size, 0x81, op, rm, size == 2 ? 2 : 4, (uint64_t)(int64_t)imm);
}

void e_alu_rm(struct emit *e, unsigned op, unsigned size, int reg, struct hrm rm)
{
	insn1(e, size == 1 ? E_BYTEREGS : 0, size, (uint8_t)(op * 8 + (size == 1 ? 2 : 3)),
	      (unsigned)reg, rm, 0, 0);
}

void e_shift_i(struct emit *e, unsigned op, unsigned size, int reg, unsigned count)
{
	insn1(e, size == 1 ? E_BYTEREGS : 0, size, size == 1 ? 0xc0 : 0xc1, op, hrm_reg(reg), 1,
	      count);
}

void e_movzx(struct emit *e, unsigned dst_size, unsigned src_size, int dst, struct hrm src)
{
	insn2(e, src_size == 1 ? E_BYTEREGS : 0, dst_size, src_size == 1 ? 0xb6 : 0xb7,
	      (unsigned)dst, src);
}

void e_movsx(struct emit *e, unsigned dst_size, unsigned src_size, int dst, struct hrm src)
{
	if (src_size == 4)
		insn1(e, 0, dst_size, 0x63, (unsigned)dst, src, 0, 0);
	else
		insn2(e, src_size == 1 ? E_BYTEREGS : 0, dst_size, src_size == 1 ? 0xbe : 0xbf,
		      (unsigned)dst, src);
}

void e_push(struct emit *e, int reg)
{
	if (reg & 8)
		e_byte(e, 0x41);
	e_byte(e, (uint8_t)(0x50 + (reg & 7)));
}

void e_pop(struct emit *e, int reg)
{
	if (reg & 8)
		e_byte(e, 0x41);
	e_byte(e, (uint8_t)(0x58 + (reg & 7)));
}

void e_ret(struct emit *e)
{
	e_byte(e, 0xc3);
}

void e_lahf(struct emit *e)
{
	e_byte(e, 0x9f);
}

void e_sahf(struct emit *e)
{
	e_byte(e, 0x9e);
}

void e_setcc(struct emit *e, unsigned cc, int reg)
{
	insn2(e, E_BYTEREGS, 1, (uint8_t)(0x90 + cc), 0, hrm_reg(reg));
}

static uint8_t *rel32(struct emit *e, uint64_t target)
{
	uint8_t *site = e->p;
	e_u32(e, (uint32_t)(int32_t)(target - (emit_rx(e) + 4)));
	return e->full ? NULL : site;
}

uint8_t *e_jmp(struct emit *e, uint64_t target)
{
	e_byte(e, 0xe9);
	return rel32(e, target);
}

uint8_t *e_jcc(struct emit *e, unsigned cc, uint64_t target)
{
	e_byte(e, 0x0f);
	e_byte(e, (uint8_t)(0x80 + cc));
	return rel32(e, target);
}

uint8_t *e_call(struct emit *e, uint64_t target)
{
	e_byte(e, 0xe8);
	return rel32(e, target);
}

void e_jmp_rm(struct emit *e, struct hrm rm)
{
	insn1(e, E_NOSIZE, 4, 0xff, 4, rm, 0, 0);
}

void e_call_rm(struct emit *e, struct hrm rm)
{
	insn1(e, E_NOSIZE, 4, 0xff, 2, rm, 0, 0);
}

uint8_t *e_jcc8(struct emit *e, unsigned cc)
{
	e_byte(e, (uint8_t)(0x70 + cc));
	uint8_t *site = e->p;
	e_byte(e, 0);
	return site;
}

uint8_t *e_jmp8(struct emit *e)
{
	e_byte(e, 0xeb);
	uint8_t *site = e->p;
	e_byte(e, 0);
	return site;
}

void e_bind8(struct emit *e, uint8_t *site)
{
	if (e->full || !site)
		return;
	ptrdiff_t d = e->p - (site + 1);
	if (d > 127)
		e->full = true;	/* cannot happen with the short paths we bind */
	else
		*site = (uint8_t)d;
}

void e_patch_rel32(uint8_t *site, intptr_t rx_delta, uint64_t target)
{
	uint64_t end = (uint64_t)(uintptr_t)site + (uint64_t)rx_delta + 4;
	int32_t d = (int32_t)(target - end);
	memcpy(site, &d, 4);
}
