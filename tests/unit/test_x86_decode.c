/* The x86 decoder: lengths and fields for a table of encodings with
 * prefixes, REX, SIB, RIP-relative and 16-bit addressing, mandatory
 * prefixes and the invalid cases. */
#include "test.h"

#include "accel/x86_state.h"
#include "cpu/x86/insn.h"

#define N X86_NO_REG

struct dcase {
	const char *name;
	enum x86_cpu_mode mode;
	uint8_t bytes[15];
	int len;		/* expected return */
	uint8_t map, opcode, opsize, addrsize;
	uint8_t mod, reg, rm;
	uint8_t base, index, scale;
	int64_t disp;
	uint64_t imm;
	uint8_t seg, rip_rel, mandatory;
};

static const struct dcase cases[] = {
	{ "nop", X86_MODE_LONG64, { 0x90 }, 1, X86_MAP_1B, 0x90, 4, 8, 0, 0, 0, N, N, 1, 0, 0, X86_DS, 0, 0 },
	{ "add eax, imm32", X86_MODE_LONG64, { 0x05, 0x78, 0x56, 0x34, 0x12 }, 5, X86_MAP_1B, 0x05, 4, 8,
	  0, 0, 0, N, N, 1, 0, 0x12345678, X86_DS, 0, 0 },
	{ "add rax, imm32 sign-extended", X86_MODE_LONG64, { 0x48, 0x05, 0xff, 0xff, 0xff, 0xff }, 6,
	  X86_MAP_1B, 0x05, 8, 8, 0, 0, 0, N, N, 1, 0, ~0ull, X86_DS, 0, 0 },
	{ "mov r64, imm64", X86_MODE_LONG64,
	  { 0x49, 0xbf, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 }, 10, X86_MAP_1B, 0xbf, 8, 8,
	  0, 0, 0, N, N, 1, 0, 0x1122334455667788ull, X86_DS, 0, 0 },
	{ "mov [rax+rbx*4+0x10], ecx (SIB disp8)", X86_MODE_LONG64, { 0x89, 0x4c, 0x98, 0x10 }, 4,
	  X86_MAP_1B, 0x89, 4, 8, 1, X86_RCX, 4, X86_RAX, X86_RBX, 4, 0x10, 0, X86_DS, 0, 0 },
	{ "REX.RXB: mov r9, [r10+r11*8-8]", X86_MODE_LONG64, { 0x4f, 0x8b, 0x4c, 0xda, 0xf8 }, 5,
	  X86_MAP_1B, 0x8b, 8, 8, 1, X86_R9, 12, X86_R10, X86_R11, 8, -8, 0, X86_DS, 0, 0 },
	{ "RIP-relative", X86_MODE_LONG64, { 0x48, 0x8b, 0x05, 0x00, 0x10, 0x00, 0x00 }, 7,
	  X86_MAP_1B, 0x8b, 8, 8, 0, X86_RAX, 5, N, N, 1, 0x1000, 0, X86_DS, 1, 0 },
	{ "32-bit mode disp32 is absolute", X86_MODE_PROT32, { 0x8b, 0x05, 0x00, 0x10, 0x00, 0x00 }, 6,
	  X86_MAP_1B, 0x8b, 4, 4, 0, X86_RAX, 5, N, N, 1, 0x1000, 0, X86_DS, 0, 0 },
	{ "SIB no base, index: [rcx*2+disp32]", X86_MODE_LONG64,
	  { 0x8b, 0x04, 0x4d, 0x00, 0x20, 0x00, 0x00 }, 7, X86_MAP_1B, 0x8b, 4, 8, 0, X86_RAX, 4,
	  N, X86_RCX, 2, 0x2000, 0, X86_DS, 0, 0 },
	{ "SIB rsp base defaults to SS", X86_MODE_LONG64, { 0x8b, 0x44, 0x24, 0x08 }, 4, X86_MAP_1B, 0x8b,
	  4, 8, 1, X86_RAX, 4, X86_RSP, N, 1, 8, 0, X86_SS, 0, 0 },
	{ "rbp base disp8 defaults to SS", X86_MODE_PROT32, { 0x8b, 0x45, 0xfc }, 3, X86_MAP_1B, 0x8b, 4, 4,
	  1, X86_RAX, 5, X86_RBP, N, 1, -4, 0, X86_SS, 0, 0 },
	{ "fs override", X86_MODE_LONG64, { 0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0 }, 9, X86_MAP_1B,
	  0x8b, 8, 8, 0, X86_RAX, 4, N, N, 1, 0x28, 0, X86_FS, 0, 0 },
	{ "16-bit [bx+si]", X86_MODE_REAL, { 0x8b, 0x00 }, 2, X86_MAP_1B, 0x8b, 2, 2, 0, X86_RAX, 0,
	  X86_RBX, X86_RSI, 1, 0, 0, X86_DS, 0, 0 },
	{ "16-bit [bp+di+disp8] uses SS", X86_MODE_REAL, { 0x8b, 0x43, 0x7f }, 3, X86_MAP_1B, 0x8b, 2, 2,
	  1, X86_RAX, 3, X86_RBP, X86_RDI, 1, 0x7f, 0, X86_SS, 0, 0 },
	{ "16-bit [disp16]", X86_MODE_REAL, { 0x8b, 0x1e, 0x34, 0x12 }, 4, X86_MAP_1B, 0x8b, 2, 2, 0,
	  X86_RBX, 6, N, N, 1, 0x1234, 0, X86_DS, 0, 0 },
	{ "16-bit code with 66 67: 32-bit operand and address", X86_MODE_REAL,
	  { 0x66, 0x67, 0x8b, 0x04, 0x8b }, 5, X86_MAP_1B, 0x8b, 4, 4, 0, X86_RAX, 4, X86_RBX, X86_RCX, 4,
	  0, 0, X86_DS, 0, 0x66 },
	{ "operand size prefix in 64-bit mode", X86_MODE_LONG64, { 0x66, 0x89, 0xc8 }, 3, X86_MAP_1B, 0x89,
	  2, 8, 3, X86_RCX, X86_RAX, N, N, 1, 0, 0, X86_DS, 0, 0x66 },
	{ "push defaults to 64-bit", X86_MODE_LONG64, { 0x41, 0x50 }, 2, X86_MAP_1B, 0x50, 8, 8, 0, 0, 0, N,
	  N, 1, 0, 0, X86_DS, 0, 0 },
	{ "jcc rel32 (0F 84)", X86_MODE_LONG64, { 0x0f, 0x84, 0xfc, 0xff, 0xff, 0xff }, 6, X86_MAP_0F,
	  0x84, 8, 8, 0, 0, 0, N, N, 1, 0, (uint64_t)-4, X86_DS, 0, 0 },
	{ "jmp rel8", X86_MODE_PROT32, { 0xeb, 0xfe }, 2, X86_MAP_1B, 0xeb, 4, 4, 0, 0, 0, N, N, 1, 0,
	  (uint64_t)-2, X86_DS, 0, 0 },
	{ "movaps (0F 28)", X86_MODE_LONG64, { 0x0f, 0x28, 0xc1 }, 3, X86_MAP_0F, 0x28, 4, 8, 3, 0, 1, N,
	  N, 1, 0, 0, X86_DS, 0, 0 },
	{ "movdqa: mandatory 66", X86_MODE_LONG64, { 0x66, 0x0f, 0x6f, 0x08 }, 4, X86_MAP_0F, 0x6f, 2, 8,
	  0, 1, 0, X86_RAX, N, 1, 0, 0, X86_DS, 0, 0x66 },
	{ "movsd: mandatory F2 with REX after it", X86_MODE_LONG64, { 0xf2, 0x44, 0x0f, 0x10, 0xc1 }, 5,
	  X86_MAP_0F, 0x10, 4, 8, 3, 8, 1, N, N, 1, 0, 0, X86_DS, 0, 0xf2 },
	{ "66 F3 prefer F3 as mandatory", X86_MODE_LONG64, { 0x66, 0xf3, 0x0f, 0xb8, 0xc1 }, 5, X86_MAP_0F,
	  0xb8, 2, 8, 3, 0, 1, N, N, 1, 0, 0, X86_DS, 0, 0xf3 },
	{ "pshufb (0F 38 00)", X86_MODE_LONG64, { 0x66, 0x0f, 0x38, 0x00, 0xc1 }, 5, X86_MAP_0F38, 0x00, 2,
	  8, 3, 0, 1, N, N, 1, 0, 0, X86_DS, 0, 0x66 },
	{ "palignr (0F 3A 0F ib)", X86_MODE_LONG64, { 0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x08 }, 6,
	  X86_MAP_0F3A, 0x0f, 2, 8, 3, 0, 1, N, N, 1, 0, 8, X86_DS, 0, 0x66 },
	{ "test rm8, imm8 (F6 /0)", X86_MODE_LONG64, { 0xf6, 0x00, 0x80 }, 3, X86_MAP_1B, 0xf6, 4, 8, 0, 0,
	  0, X86_RAX, N, 1, 0, (uint64_t)-128, X86_DS, 0, 0 },
	{ "neg r/m32 (F7 /3) has no immediate", X86_MODE_LONG64, { 0xf7, 0xd8 }, 2, X86_MAP_1B, 0xf7, 4, 8,
	  3, 3, 0, N, N, 1, 0, 0, X86_DS, 0, 0 },
	{ "enter imm16, imm8", X86_MODE_LONG64, { 0xc8, 0x10, 0x00, 0x01 }, 4, X86_MAP_1B, 0xc8, 8, 8, 0, 0,
	  0, N, N, 1, 0, 0x10, X86_DS, 0, 0 },
	{ "mov al, moffs64", X86_MODE_LONG64, { 0xa0, 1, 2, 3, 4, 5, 6, 7, 8 }, 9, X86_MAP_1B, 0xa0, 4, 8,
	  0, 0, 0, N, N, 1, 0x0807060504030201ll, 0, X86_DS, 0, 0 },
	{ "far jmp ptr16:32", X86_MODE_PROT32, { 0xea, 0x00, 0x10, 0x00, 0x00, 0x08, 0x00 }, 7, X86_MAP_1B,
	  0xea, 4, 4, 0, 0, 0, N, N, 1, 0, 0x1000, X86_DS, 0, 0 },
	{ "mov cr0, rax ignores mod", X86_MODE_LONG64, { 0x0f, 0x22, 0x00 }, 3, X86_MAP_0F, 0x22, 8, 8, 3,
	  0, 0, N, N, 1, 0, 0, X86_DS, 0, 0 },
	{ "mov cr8 via REX.R", X86_MODE_LONG64, { 0x44, 0x0f, 0x22, 0xc0 }, 4, X86_MAP_0F, 0x22, 8, 8, 3,
	  8, 0, N, N, 1, 0, 0, X86_DS, 0, 0 },
	{ "lock cmpxchg [rdi], ecx", X86_MODE_LONG64, { 0xf0, 0x0f, 0xb1, 0x0f }, 4, X86_MAP_0F, 0xb1, 4, 8,
	  0, 1, 7, X86_RDI, N, 1, 0, 0, X86_DS, 0, 0 },
	{ "call [rip+disp] in 64-bit is 64-bit", X86_MODE_LONG64, { 0xff, 0x15, 0x10, 0, 0, 0 }, 6,
	  X86_MAP_1B, 0xff, 8, 8, 0, 2, 5, N, N, 1, 0x10, 0, X86_DS, 1, 0 },
	{ "67 in 64-bit mode: 32-bit address", X86_MODE_LONG64, { 0x67, 0x8b, 0x01 }, 3, X86_MAP_1B, 0x8b,
	  4, 4, 0, 0, 1, X86_RCX, N, 1, 0, 0, X86_DS, 0, 0 },
	{ "r13 base needs disp8 and uses DS", X86_MODE_LONG64, { 0x41, 0x8b, 0x45, 0x00 }, 4, X86_MAP_1B,
	  0x8b, 4, 8, 1, 0, 13, 13, N, 1, 0, 0, X86_DS, 0, 0 },
	{ "imul r, rm, imm8", X86_MODE_LONG64, { 0x6b, 0xc1, 0xff }, 3, X86_MAP_1B, 0x6b, 4, 8, 3, 0, 1, N,
	  N, 1, 0, (uint64_t)-1, X86_DS, 0, 0 },
};

TEST(decode_table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dcase *c = &cases[i];
		struct x86_insn in;
		int len = x86_decode(c->bytes, sizeof(c->bytes), c->mode, &in);
		int bad = test_state.failed_checks;
		CHECK_EQ(len, c->len);
		if (len <= 0) {
			printf("  case %s\n", c->name);
			continue;
		}
		CHECK_EQ(in.len, c->len);
		CHECK_EQ(in.map, c->map);
		CHECK_EQ(in.opcode, c->opcode);
		if (!in.byte_op)
			CHECK_EQ(in.opsize, c->opsize);
		CHECK_EQ(in.addrsize, c->addrsize);
		CHECK_EQ(in.mandatory, c->mandatory);
		if (in.has_modrm) {
			CHECK_EQ(in.mod, c->mod);
			CHECK_EQ(in.reg, c->reg);
			if (in.mod == 3)
				CHECK_EQ(in.rm, c->rm);
		}
		if (in.has_mem) {
			CHECK_EQ(in.base, c->base);
			CHECK_EQ(in.index, c->index);
			if (in.index != X86_NO_REG)
				CHECK_EQ(in.scale, c->scale);
			CHECK_EQ(in.disp, c->disp);
			CHECK_EQ(in.seg, c->seg);
			CHECK_EQ(in.rip_rel, c->rip_rel);
		}
		if (in.imm_size)
			CHECK_EQ(in.imm, c->imm);
		if (test_state.failed_checks != bad)
			printf("  in case: %s\n", c->name);
	}
}

TEST(decode_byte_ops_and_rex)
{
	struct x86_insn in;
	/* mov sil, al needs REX to name SIL; without REX reg 6 is DH */
	static const uint8_t with_rex[] = { 0x40, 0x88, 0xc6 };
	CHECK_EQ(x86_decode(with_rex, sizeof(with_rex), X86_MODE_LONG64, &in), 3);
	CHECK(in.byte_op);
	CHECK_EQ(in.rex, 0x40);
	CHECK_EQ(in.rm, 6);
	static const uint8_t no_rex[] = { 0x88, 0xc6 };
	CHECK_EQ(x86_decode(no_rex, sizeof(no_rex), X86_MODE_LONG64, &in), 2);
	CHECK_EQ(in.rex, 0);
	/* a REX followed by a legacy prefix is ignored */
	static const uint8_t rex_lost[] = { 0x48, 0x66, 0x89, 0xc8 };
	CHECK_EQ(x86_decode(rex_lost, sizeof(rex_lost), X86_MODE_LONG64, &in), 4);
	CHECK_EQ(in.rex, 0);
	CHECK_EQ(in.opsize, 2);
	/* 40-4F are inc/dec outside 64-bit mode */
	static const uint8_t inc[] = { 0x48, 0x90 };
	CHECK_EQ(x86_decode(inc, sizeof(inc), X86_MODE_PROT32, &in), 1);
	CHECK_EQ(in.opcode, 0x48);
}

TEST(decode_short_and_invalid)
{
	struct x86_insn in;
	static const uint8_t partial[] = { 0x48, 0xb8, 0x11, 0x22 };
	CHECK_EQ(x86_decode(partial, sizeof(partial), X86_MODE_LONG64, &in), X86_DECODE_SHORT);
	static const uint8_t sib_missing[] = { 0x8b, 0x04 };
	CHECK_EQ(x86_decode(sib_missing, sizeof(sib_missing), X86_MODE_LONG64, &in), X86_DECODE_SHORT);
	CHECK_EQ(x86_decode(partial, 0, X86_MODE_LONG64, &in), X86_DECODE_SHORT);
	/* more than 15 bytes of prefixes */
	uint8_t longp[16];
	memset(longp, 0x66, sizeof(longp));
	CHECK_EQ(x86_decode(longp, sizeof(longp), X86_MODE_LONG64, &in), X86_DECODE_INVALID);
	/* opcodes invalid in 64-bit mode */
	static const uint8_t pusha[] = { 0x60 };
	CHECK_EQ(x86_decode(pusha, 1, X86_MODE_LONG64, &in), X86_DECODE_INVALID);
	CHECK_EQ(x86_decode(pusha, 1, X86_MODE_PROT32, &in), 1);
	static const uint8_t vex[] = { 0xc5, 0xf8, 0x77 };
	CHECK_EQ(x86_decode(vex, sizeof(vex), X86_MODE_LONG64, &in), X86_DECODE_INVALID);
	/* in 32-bit mode C5 with a memory ModRM is lds */
	static const uint8_t lds[] = { 0xc5, 0x06 };
	CHECK_EQ(x86_decode(lds, sizeof(lds), X86_MODE_PROT32, &in), 2);
	static const uint8_t salc[] = { 0xd6 };
	CHECK_EQ(x86_decode(salc, 1, X86_MODE_PROT32, &in), X86_DECODE_INVALID);
}

TEST(decode_never_reads_past_avail)
{
	/* every prefix of a long instruction decodes as SHORT, never more */
	static const uint8_t full[] = { 0x66, 0x67, 0x48, 0xc7, 0x84, 0x88, 0x78, 0x56, 0x34, 0x12,
					0xef, 0xbe, 0xad, 0xde };
	struct x86_insn in;
	int len = x86_decode(full, sizeof(full), X86_MODE_LONG64, &in);
	CHECK(len > 0);
	for (int n = 0; n < len; n++) {
		uint8_t buf[16];
		memcpy(buf, full, (size_t)n);
		CHECK_EQ(x86_decode(buf, (size_t)n, X86_MODE_LONG64, &in), X86_DECODE_SHORT);
	}
	/* random bytes: a length in 1..15 or an error, never a crash */
	uint32_t seed = 12345;
	for (int i = 0; i < 20000; i++) {
		uint8_t buf[15];
		for (int j = 0; j < 15; j++) {
			seed = seed * 1103515245 + 12345;
			buf[j] = (uint8_t)(seed >> 16);
		}
		for (int m = 0; m < 4; m++) {
			int r = x86_decode(buf, 15, (enum x86_cpu_mode)m, &in);
			CHECK(r == X86_DECODE_INVALID || (r >= 1 && r <= 15));
		}
	}
}

RUN_TESTS(T(decode_table), T(decode_byte_ops_and_rex), T(decode_short_and_invalid),
	  T(decode_never_reads_past_avail))
