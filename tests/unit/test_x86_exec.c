/* The software CPU's executor on small programs in a flat-memory VM:
 * arithmetic flags against the host CPU, #DE, string instructions with
 * rep and DF, real -> protected -> long mode, an interrupt gate with a
 * privilege change and iretq, self-modifying code, triple fault. */
#include "test.h"

#include <pthread.h>
#include <sys/mman.h>
#include <time.h>

#include "accel/accel.h"
#include "accel/tcg/tcg.h"
#include "core/vm.h"
#include "cpu/x86/cpu.h"
#include "tcg_vm.h"
#include "cpu/x86/internal.h"
#include "hw/i8259.h"
#include "hw/irq_router.h"

/* The programs below, assembled with GNU as (source in the comments of
 * each block of bytes is the test's own: see the names). */
static const uint8_t intr_user[] = {
	0xb8, 0x05, 0x00, 0x00, 0x00, 0xcd, 0x80, 0x90,
};
#define INTR_USER_USER 0x100000ull
#define INTR_USER_USER_DONE 0x100007ull

static const uint8_t intr_handler[] = {
	0x49, 0x89, 0xe0, 0x4c, 0x8b, 0x4c, 0x24, 0x08, 0x4c, 0x8b, 0x54, 0x24,
	0x20, 0x83, 0xc0, 0x64, 0x48, 0xcf,
};
#define INTR_HANDLER_HANDLER 0x101000ull

static const uint8_t modes_code[] = {
	0xfa, 0x66, 0x0f, 0x01, 0x16, 0x00, 0x71, 0x0f, 0x20, 0xc0, 0x66, 0x83,
	0xc8, 0x01, 0x0f, 0x22, 0xc0, 0x66, 0xea, 0x19, 0x80, 0x00, 0x00, 0x08,
	0x00, 0x66, 0xb8, 0x10, 0x00, 0x8e, 0xd8, 0x8e, 0xd0, 0x8e, 0xc0, 0xbc,
	0x00, 0x90, 0x00, 0x00, 0x68, 0x78, 0x56, 0x34, 0x12, 0x5e, 0x0f, 0x20,
	0xe0, 0x83, 0xc8, 0x20, 0x0f, 0x22, 0xe0, 0xb8, 0x00, 0x00, 0x02, 0x00,
	0x0f, 0x22, 0xd8, 0xb9, 0x80, 0x00, 0x00, 0xc0, 0x0f, 0x32, 0x0d, 0x00,
	0x01, 0x00, 0x00, 0x0f, 0x30, 0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00, 0x00,
	0x80, 0x0f, 0x22, 0xc0, 0xea, 0x5f, 0x80, 0x00, 0x00, 0x18, 0x00, 0x48,
	0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x50, 0x5b, 0x90,
};
#define MODES_CODE_DONE 0x806bull
#define MODES_CODE_LM64 0x805full
#define MODES_CODE_PM32 0x8019ull
#define MODES_CODE_START 0x8000ull

static const uint8_t smc_code[] = {
	0x66, 0xc7, 0x05, 0x05, 0x00, 0x00, 0x00, 0x90, 0x90, 0xb8, 0x01, 0x00,
	0x00, 0x00, 0xff, 0xc0, 0x31, 0xdb, 0xb9, 0x03, 0x00, 0x00, 0x00, 0xe8,
	0x0c, 0x00, 0x00, 0x00, 0x01, 0xc3, 0xff, 0x05, 0x05, 0x00, 0x00, 0x00,
	0xe2, 0xf1, 0xeb, 0x06, 0xb8, 0x0a, 0x00, 0x00, 0x00, 0xc3, 0x90,
};
#define SMC_CODE_DONE 0x10002eull
#define SMC_CODE_FUNC 0x100028ull
#define SMC_CODE_PATCH 0x10000eull
#define SMC_CODE_START 0x100000ull

static const uint8_t str_code[] = {
	0x48, 0xc7, 0xc6, 0x00, 0x00, 0x20, 0x00, 0x48, 0xc7, 0xc7, 0x00, 0x10,
	0x20, 0x00, 0x48, 0xc7, 0xc1, 0x64, 0x00, 0x00, 0x00, 0xf3, 0xa4, 0xfd,
	0x48, 0xc7, 0xc6, 0x0f, 0x00, 0x20, 0x00, 0x48, 0xc7, 0xc7, 0x0f, 0x20,
	0x20, 0x00, 0x48, 0xc7, 0xc1, 0x10, 0x00, 0x00, 0x00, 0xf3, 0xa4, 0xfc,
	0x48, 0xc7, 0xc6, 0x00, 0x00, 0x20, 0x00, 0x48, 0xc7, 0xc7, 0x00, 0x30,
	0x20, 0x00, 0x48, 0xc7, 0xc1, 0x40, 0x00, 0x00, 0x00, 0xf3, 0xa6, 0x49,
	0x89, 0xc8, 0x49, 0x89, 0xf1, 0x9c, 0x41, 0x5a, 0x48, 0xc7, 0xc7, 0x00,
	0x00, 0x20, 0x00, 0xb0, 0x77, 0x48, 0xc7, 0xc1, 0xc8, 0x00, 0x00, 0x00,
	0xf2, 0xae, 0x49, 0x89, 0xcb, 0x49, 0x89, 0xfc, 0x48, 0xc7, 0xc7, 0x00,
	0x40, 0x20, 0x00, 0x48, 0xb8, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23,
	0x01, 0x48, 0xc7, 0xc1, 0x05, 0x00, 0x00, 0x00, 0xf3, 0x48, 0xab, 0x48,
	0xc7, 0xc6, 0x00, 0x40, 0x20, 0x00, 0x48, 0xad, 0x49, 0x89, 0xc5, 0x90,
};
#define STR_CODE_DONE 0x10008full
#define STR_CODE_START 0x100000ull

static struct vm vm;
static struct x86_cpu *cpu;

static bool vm_up(void)
{
	return tcg_vm_init(&vm, 32ull << 20, &cpu) == 0;
}

static void vm_down(void)
{
	vm_destroy(&vm);
}

#define PT_BASE 0x10000ull
#define CODE 0x100000ull

static void load(uint64_t gpa, const void *p, size_t n)
{
	guest_mem_write(&vm.mem, gpa, p, n);
	/* host writes bypass the MMU: forget decoded code */
	x86_block_cache_flush(cpu->bc);
}

static enum x86_exit run64(const uint8_t *code, size_t n, unsigned cpl, uint64_t stop)
{
	x86_cpu_reset(cpu, true);
	x86_cpu_setup_flat64(cpu, cpl, PT_BASE);
	load(CODE, code, n);
	cpu->rip = CODE;
	cpu->gpr[X86_RSP] = 0x180000;
	cpu->stop_rip = stop;
	cpu->exit_on_exception = true;
	return x86_cpu_run(cpu, 1000000);
}

/* ---- arithmetic flags against the host ---- */

typedef void (*native_fn)(uint64_t *out);

/* mov rax, a; mov rcx, b; xor edx, edx; stc/clc; <op>; pushfq; pop rdx; mov [rdi], rax;
 * mov [rdi+8], rdx; ret */
static size_t emit(uint8_t *p, uint64_t a, uint64_t b, bool cin, const uint8_t *op, size_t oplen,
		   bool native)
{
	size_t n = 0;
	p[n++] = 0x48; p[n++] = 0xb8; memcpy(p + n, &a, 8); n += 8;
	p[n++] = 0x48; p[n++] = 0xb9; memcpy(p + n, &b, 8); n += 8;
	p[n++] = 0x31;	/* xor edx, edx: the same flags before the operation on both sides */
	p[n++] = 0xd2;
	p[n++] = cin ? 0xf9 : 0xf8;
	memcpy(p + n, op, oplen);
	n += oplen;
	if (native) {
		static const uint8_t tail[] = { 0x9c, 0x5a, 0x48, 0x89, 0x07, 0x48, 0x89, 0x57, 0x08, 0xc3 };
		memcpy(p + n, tail, sizeof(tail));
		n += sizeof(tail);
	}
	return n;
}

struct flag_op {
	const char *name;
	uint8_t bytes[5];
	uint8_t len;
	uint64_t defined;	/* flags the SDM defines for this operation */
};

#define ALL_ARITH X86_ARITH_FLAGS
#define NO_OF_AF (ALL_ARITH & ~(X86_RFLAGS_OF | X86_RFLAGS_AF))

static const struct flag_op flag_ops[] = {
	{ "add r64", { 0x48, 0x01, 0xc8 }, 3, ALL_ARITH },
	{ "add r32", { 0x01, 0xc8 }, 2, ALL_ARITH },
	{ "add r16", { 0x66, 0x01, 0xc8 }, 3, ALL_ARITH },
	{ "add r8", { 0x00, 0xc8 }, 2, ALL_ARITH },
	{ "adc r64", { 0x48, 0x11, 0xc8 }, 3, ALL_ARITH },
	{ "adc r8", { 0x10, 0xc8 }, 2, ALL_ARITH },
	{ "sub r64", { 0x48, 0x29, 0xc8 }, 3, ALL_ARITH },
	{ "sub r16", { 0x66, 0x29, 0xc8 }, 3, ALL_ARITH },
	{ "sbb r32", { 0x19, 0xc8 }, 2, ALL_ARITH },
	{ "sbb r8", { 0x18, 0xc8 }, 2, ALL_ARITH },
	{ "cmp r32", { 0x39, 0xc8 }, 2, ALL_ARITH },
	{ "and r64", { 0x48, 0x21, 0xc8 }, 3, ALL_ARITH & ~X86_RFLAGS_AF },
	{ "xor r8", { 0x30, 0xc8 }, 2, ALL_ARITH & ~X86_RFLAGS_AF },
	{ "inc r32", { 0xff, 0xc0 }, 2, ALL_ARITH },
	{ "dec r16", { 0x66, 0xff, 0xc8 }, 3, ALL_ARITH },
	{ "neg r64", { 0x48, 0xf7, 0xd8 }, 3, ALL_ARITH },
	{ "shl r32, cl", { 0xd3, 0xe0 }, 2, NO_OF_AF },
	{ "shl r8, 1", { 0xd0, 0xe0 }, 2, ALL_ARITH & ~X86_RFLAGS_AF },
	{ "shr r64, cl", { 0x48, 0xd3, 0xe8 }, 3, NO_OF_AF },
	{ "shr r16, 1", { 0x66, 0xd1, 0xe8 }, 3, ALL_ARITH & ~X86_RFLAGS_AF },
	{ "sar r8, cl", { 0xd2, 0xf8 }, 2, NO_OF_AF },
	{ "rol r32, cl", { 0xd3, 0xc0 }, 2, X86_RFLAGS_CF },
	{ "ror r64, 1", { 0x48, 0xd1, 0xc8 }, 3, X86_RFLAGS_CF | X86_RFLAGS_OF },
	{ "rcl r8, cl", { 0xd2, 0xd0 }, 2, X86_RFLAGS_CF },
	{ "rcr r16, cl", { 0x66, 0xd3, 0xd8 }, 3, X86_RFLAGS_CF },
	{ "rcr r32, 1", { 0xd1, 0xd8 }, 2, X86_RFLAGS_CF | X86_RFLAGS_OF },
	{ "shld r32, r32, cl", { 0x0f, 0xa5, 0xc8 }, 3, NO_OF_AF },
	{ "shrd r64, r64, cl", { 0x48, 0x0f, 0xad, 0xc8 }, 4, NO_OF_AF },
	{ "imul r64, r64", { 0x48, 0x0f, 0xaf, 0xc1 }, 4, X86_RFLAGS_CF | X86_RFLAGS_OF },
	{ "mul r32", { 0xf7, 0xe1 }, 2, X86_RFLAGS_CF | X86_RFLAGS_OF },
	{ "imul r8", { 0xf6, 0xe9 }, 2, X86_RFLAGS_CF | X86_RFLAGS_OF },
	{ "bt r64, r64", { 0x48, 0x0f, 0xa3, 0xc8 }, 4, X86_RFLAGS_CF },
	{ "bsf r32", { 0x0f, 0xbc, 0xc1 }, 3, X86_RFLAGS_ZF },
	{ "popcnt r64", { 0xf3, 0x48, 0x0f, 0xb8, 0xc1 }, 5, ALL_ARITH },
};

static const uint64_t flag_values[] = {
	0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
	0xffffffff, 0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull,
	0x123456789abcdef0ull, 31, 32, 63, 64, 9, 17, 0x0f, 0x10,
};

TEST(flags_match_host)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	uint8_t *exe = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (exe == MAP_FAILED) {
		vm_down();
		SKIP("no executable memory for the host reference");
	}
	unsigned mismatches = 0;
	const size_t nv = sizeof(flag_values) / sizeof(flag_values[0]);
	for (size_t o = 0; o < sizeof(flag_ops) / sizeof(flag_ops[0]); o++) {
		const struct flag_op *op = &flag_ops[o];
		for (size_t i = 0; i < nv; i++) {
			for (size_t j = 0; j < nv; j++) {
				for (int cin = 0; cin < 2; cin++) {
					uint64_t a = flag_values[i], b = flag_values[j];
					uint8_t code[64];
					emit(exe, a, b, cin, op->bytes, op->len, true);
					uint64_t out[2];
					((native_fn)(void *)exe)(out);
					size_t n = emit(code, a, b, cin, op->bytes, op->len, false);
					enum x86_exit e = run64(code, n, 3, CODE + n);
					uint64_t mask = op->defined;
					/* counts of 0 leave flags alone; counts > 1 make OF undefined */
					uint64_t got = x86_cpu_get_rflags(cpu) & mask;
					bool ok = e == X86_EXIT_STOP && cpu->gpr[X86_RAX] == out[0] &&
						  got == (out[1] & mask);
					if (op->bytes[1] == 0xbc && b == 0) /* bsf of 0: destination undefined */
						ok = e == X86_EXIT_STOP && got == (out[1] & mask);
					if (!ok && mismatches++ < 10)
						printf("  %s a=%#llx b=%#llx cf=%d: rax %#llx flags %#llx, host rax %#llx flags %#llx\n",
						       op->name, (unsigned long long)a, (unsigned long long)b, cin,
						       (unsigned long long)cpu->gpr[X86_RAX],
						       (unsigned long long)got,
						       (unsigned long long)out[0],
						       (unsigned long long)(out[1] & mask));
				}
			}
		}
	}
	CHECK_EQ(mismatches, 0);
	munmap(exe, 4096);
	vm_down();
}

/* ---- exceptions ---- */

TEST(div_by_zero_raises_de)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	/* xor ecx, ecx; div ecx */
	static const uint8_t code[] = { 0x31, 0xc9, 0xf7, 0xf1, 0x90 };
	CHECK_EQ(run64(code, sizeof(code), 0, CODE + 4), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_vector, X86_EXC_DE);
	CHECK_EQ(cpu->rip, CODE + 2);
	/* mov eax, 0x80000000; cdq; mov ecx, -1; idiv ecx: quotient overflow */
	static const uint8_t code2[] = { 0xb8, 0, 0, 0, 0x80, 0x99, 0xb9, 0xff, 0xff, 0xff, 0xff,
					 0xf7, 0xf9, 0x90 };
	CHECK_EQ(run64(code2, sizeof(code2), 0, CODE + 13), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_vector, X86_EXC_DE);
	CHECK_EQ(cpu->rip, CODE + 11);
	/* a divide that fits: mov eax, 100; xor edx, edx; mov ecx, 7; div ecx */
	static const uint8_t code3[] = { 0xb8, 100, 0, 0, 0, 0x31, 0xd2, 0xb9, 7, 0, 0, 0, 0xf7, 0xf1 };
	CHECK_EQ(run64(code3, sizeof(code3), 0, CODE + sizeof(code3)), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX], 14);
	CHECK_EQ(cpu->gpr[X86_RDX], 2);
	vm_down();
}

/* popf setting TF: the instruction after popf runs, then the #DB trap,
 * both from a freshly decoded block and from the cached one */
TEST(single_step_trap_after_popf)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	/* pushfq; or qword [rsp], 0x100; popfq; nop; nop; nop */
	static const uint8_t code[] = { 0x9c, 0x48, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00,
					0x9d, 0x90, 0x90, 0x90 };
	CHECK_EQ(run64(code, sizeof(code), 0, CODE + sizeof(code)), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_vector, X86_EXC_DB);
	CHECK_EQ(cpu->rip, CODE + 11);
	CHECK(cpu->dr[6] & 0x4000);	/* BS */
	/* again without reloading the code: the block comes from the cache */
	x86_cpu_reset(cpu, true);
	x86_cpu_setup_flat64(cpu, 0, PT_BASE);
	cpu->rip = CODE;
	cpu->gpr[X86_RSP] = 0x180000;
	cpu->stop_rip = CODE + sizeof(code);
	cpu->exit_on_exception = true;
	CHECK_EQ(x86_cpu_run(cpu, 1000000), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_vector, X86_EXC_DB);
	CHECK_EQ(cpu->rip, CODE + 11);
	vm_down();
}

TEST(ud_and_privileged_in_user_mode)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	static const uint8_t ud2[] = { 0x0f, 0x0b };
	CHECK_EQ(run64(ud2, sizeof(ud2), 3, CODE + 2), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_vector, X86_EXC_UD);
	static const uint8_t hlt[] = { 0xf4 };
	CHECK_EQ(run64(hlt, sizeof(hlt), 3, CODE + 1), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_vector, X86_EXC_GP);
	CHECK_EQ(cpu->exc_error, 0);
	/* mov rax, cr3 at CPL 3 */
	static const uint8_t movcr[] = { 0x0f, 0x20, 0xd8 };
	CHECK_EQ(run64(movcr, sizeof(movcr), 3, CODE + 3), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_vector, X86_EXC_GP);
	/* lock on a register destination */
	static const uint8_t lockreg[] = { 0xf0, 0x01, 0xc8 };
	CHECK_EQ(run64(lockreg, sizeof(lockreg), 0, CODE + 3), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_vector, X86_EXC_UD);
	vm_down();
}

/* ---- strings ---- */

TEST(string_ops_rep_and_df)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	uint8_t src[256];
	for (int i = 0; i < 256; i++)
		src[i] = (uint8_t)i;
	guest_mem_write(&vm.mem, 0x200000, src, sizeof(src));
	uint8_t cmp[64];
	memcpy(cmp, src, 64);
	cmp[40] = 0xee;	/* first difference at 40 */
	guest_mem_write(&vm.mem, 0x203000, cmp, sizeof(cmp));
	CHECK_EQ(run64(str_code, sizeof(str_code), 0, STR_CODE_DONE), X86_EXIT_STOP);

	uint8_t got[128];
	guest_mem_read(&vm.mem, 0x201000, got, 100);
	CHECK(memcmp(got, src, 100) == 0);
	/* backwards: 16 bytes ending at 0x20000f copied to ones ending at 0x20200f */
	guest_mem_read(&vm.mem, 0x202000, got, 16);
	CHECK(memcmp(got, src, 16) == 0);
	/* repe cmpsb stopped after the mismatch at 40 */
	CHECK_EQ(cpu->gpr[X86_R8], 64 - 41);
	CHECK_EQ(cpu->gpr[X86_R9], 0x200000 + 41);
	CHECK_EQ(cpu->gpr[X86_R10] & X86_RFLAGS_ZF, 0);
	/* repne scasb found 0x77 at offset 0x77 */
	CHECK_EQ(cpu->gpr[X86_R11], 200 - 0x78);
	CHECK_EQ(cpu->gpr[X86_R12], 0x200000 + 0x78);
	uint64_t q[5];
	guest_mem_read(&vm.mem, 0x204000, q, sizeof(q));
	for (int i = 0; i < 5; i++)
		CHECK_EQ(q[i], 0x0123456789abcdefull);
	CHECK_EQ(cpu->gpr[X86_R13], 0x0123456789abcdefull);
	CHECK_EQ(cpu->gpr[X86_RCX], 0);
	vm_down();
}

/* rep movsw/movsd/movsq on the host, from buf + si to buf + di */
static void host_rep_movs(uint8_t *buf, size_t si, size_t di, size_t count, unsigned size,
			  bool df)
{
	void *s = buf + si, *d = buf + di;
	size_t n = count;
	if (df)
		__asm__ volatile("std" ::: "cc");
	switch (size) {
	case 2: __asm__ volatile("rep movsw" : "+S"(s), "+D"(d), "+c"(n) :: "memory"); break;
	case 4: __asm__ volatile("rep movsl" : "+S"(s), "+D"(d), "+c"(n) :: "memory"); break;
	default: __asm__ volatile("rep movsq" : "+S"(s), "+D"(d), "+c"(n) :: "memory"); break;
	}
	__asm__ volatile("cld" ::: "cc");
}

/* Overlapping copies are element by element, as the host does them: with
 * the destination less than one element ahead of the source, each element
 * reads bytes the one before it wrote.  Both directions, the source run
 * crossing a page. */
TEST(rep_movs_overlap_matches_host)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	static const uint8_t code[3][3] = {
		{ 0x66, 0xf3, 0xa5 },	/* rep movsw */
		{ 0xf3, 0xa5, 0x90 },	/* rep movsd; nop */
		{ 0xf3, 0x48, 0xa5 },	/* rep movsq */
	};
	static const size_t counts[] = { 3, 10, 300 };
	static uint8_t host[8192], guest[8192];
	const uint64_t data = 0x200000;
	unsigned mismatches = 0;
	for (unsigned k = 0; k < 3; k++) {
		unsigned size = 2u << k;
		for (int df = 0; df < 2; df++) {
			for (int delta = -2 * (int)size - 1; delta <= 2 * (int)size + 1; delta++) {
				for (unsigned c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
					size_t n = counts[c];
					size_t si = df ? 6000 : 2000, di = (size_t)((long)si + delta);
					for (size_t i = 0; i < sizeof(host); i++)
						host[i] = (uint8_t)(i * 7 + 3);
					x86_cpu_reset(cpu, true);
					x86_cpu_setup_flat64(cpu, 0, PT_BASE);
					guest_mem_write(&vm.mem, data, host, sizeof(host));
					load(CODE, code[k], 3);
					host_rep_movs(host, si, di, n, size, df);
					cpu->gpr[X86_RSI] = data + si;
					cpu->gpr[X86_RDI] = data + di;
					cpu->gpr[X86_RCX] = n;
					x86_cpu_set_rflags(cpu, X86_RFLAGS_FIXED | (df ? X86_RFLAGS_DF : 0));
					cpu->rip = CODE;
					cpu->stop_rip = CODE + 3;
					cpu->exit_on_exception = true;
					CHECK_EQ(x86_cpu_run(cpu, 100000), X86_EXIT_STOP);
					guest_mem_read(&vm.mem, data, guest, sizeof(guest));
					long step = df ? -(long)(n * size) : (long)(n * size);
					bool same = !memcmp(host, guest, sizeof(host)) &&
						    cpu->gpr[X86_RSI] == data + si + (uint64_t)step &&
						    cpu->gpr[X86_RDI] == data + di + (uint64_t)step &&
						    cpu->gpr[X86_RCX] == 0;
					if (!same && mismatches++ < 5)
						printf("  rep movs size %u df %d delta %d count %zu differs\n",
						       size, df, delta, n);
				}
			}
		}
	}
	CHECK_EQ(mismatches, 0);
	vm_down();
}

/* cmpxchg16b wants its linear address 16-byte aligned: the FS base counts */
TEST(cmpxchg16b_alignment_includes_segment_base)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	static const uint8_t code[] = { 0x64, 0xf0, 0x48, 0x0f, 0xc7, 0x0e };	/* lock cmpxchg16b fs:[rsi] */
	x86_cpu_reset(cpu, true);
	x86_cpu_setup_flat64(cpu, 3, PT_BASE);
	load(CODE, code, sizeof(code));
	cpu->exit_on_exception = true;
	cpu->seg[X86_FS].base = 8;
	cpu->gpr[X86_RSI] = 0x200000;
	cpu->rip = CODE;
	cpu->stop_rip = CODE + sizeof(code);
	CHECK_EQ(x86_cpu_run(cpu, 10), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_vector, X86_EXC_GP);
	CHECK_EQ(cpu->rip, CODE);
	cpu->gpr[X86_RSI] = 0x200008;
	CHECK_EQ(x86_cpu_run(cpu, 10), X86_EXIT_STOP);
	vm_down();
}

/* ---- modes ---- */

static uint64_t gdt_entry(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (limit & 0xffffull) | ((uint64_t)(base & 0xffffff) << 16) | ((uint64_t)access << 40) |
	       ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)(flags & 0xf) << 52) |
	       ((uint64_t)(base >> 24) << 56);
}

TEST(real_to_protected_to_long_mode)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	uint64_t gdt[4] = {
		0,
		gdt_entry(0, 0xfffff, 0x9a, 0xc),	/* 0x08 code32 */
		gdt_entry(0, 0xfffff, 0x92, 0xc),	/* 0x10 data */
		gdt_entry(0, 0xfffff, 0x9a, 0xa),	/* 0x18 code64 */
	};
	guest_mem_write(&vm.mem, 0x7000, gdt, sizeof(gdt));
	uint8_t gdtr[6] = { sizeof(gdt) - 1, 0, 0x00, 0x70, 0, 0 };
	guest_mem_write(&vm.mem, 0x7100, gdtr, sizeof(gdtr));
	uint64_t pml4 = 0x21000 | 3, pdpt = 0x83;	/* one 1 GiB page */
	guest_mem_write(&vm.mem, 0x20000, &pml4, 8);
	guest_mem_write(&vm.mem, 0x21000, &pdpt, 8);

	x86_cpu_reset(cpu, true);
	load(0x8000, modes_code, sizeof(modes_code));
	struct x86_segment *cs = &cpu->seg[X86_CS];
	cs->selector = 0;
	cs->base = 0;
	cpu->rip = 0x8000;
	x86_update_mode(cpu);
	CHECK_EQ(cpu->mode, X86_MODE_REAL);
	cpu->stop_rip = MODES_CODE_PM32;
	CHECK_EQ(x86_cpu_run(cpu, 1000), X86_EXIT_STOP);
	CHECK_EQ(cpu->mode, X86_MODE_PROT32);
	CHECK_EQ(cpu->seg[X86_CS].selector, 0x08);
	cpu->stop_rip = MODES_CODE_LM64;
	CHECK_EQ(x86_cpu_run(cpu, 1000), X86_EXIT_STOP);
	CHECK(cpu->efer & X86_EFER_LMA);
	CHECK_EQ(cpu->mode, X86_MODE_LONG64);
	CHECK_EQ(cpu->gpr[X86_RSI], 0x12345678);
	cpu->stop_rip = MODES_CODE_DONE;
	CHECK_EQ(x86_cpu_run(cpu, 1000), X86_EXIT_STOP);
	CHECK_EQ(cpu->mode, X86_MODE_LONG64);
	CHECK_EQ(cpu->gpr[X86_RBX], 0x1122334455667788ull);
	CHECK_EQ(cpu->gpr[X86_RSP], 0x9000);
	vm_down();
}

/* ---- interrupts ---- */

static void setup_idt64(uint64_t idt, unsigned vec, uint64_t target, unsigned dpl, unsigned type)
{
	uint64_t g[2];
	g[0] = (target & 0xffff) | (0x08ull << 16) | ((uint64_t)(0x80 | (dpl << 5) | type) << 40) |
	       ((target >> 16) & 0xffff) << 48;
	g[1] = target >> 32;
	guest_mem_write(&vm.mem, idt + vec * 16, g, 16);
}

TEST(interrupt_gate_privilege_change_and_iretq)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	/* GDT: 0x08 kernel code64, 0x10 kernel data, 0x18 user data, 0x20 user code64, 0x28 TSS */
	uint64_t tss_base = 0x5000, gdt_base = 0x4000, idt = 0x6000;
	uint64_t gdt[7] = {
		0,
		gdt_entry(0, 0xfffff, 0x9a, 0xa),
		gdt_entry(0, 0xfffff, 0x92, 0xc),
		gdt_entry(0, 0xfffff, 0xf2, 0xc),
		gdt_entry(0, 0xfffff, 0xfa, 0xa),
		gdt_entry((uint32_t)tss_base, 0x67, 0x89, 0),
		0,
	};
	guest_mem_write(&vm.mem, gdt_base, gdt, sizeof(gdt));
	uint8_t tss[0x68] = { 0 };
	uint64_t rsp0 = 0x90008;	/* misaligned: the CPU aligns to 16 */
	memcpy(tss + 4, &rsp0, 8);
	guest_mem_write(&vm.mem, tss_base, tss, sizeof(tss));
	setup_idt64(idt, 0x80, INTR_HANDLER_HANDLER, 3, 0xe);

	x86_cpu_reset(cpu, true);
	x86_cpu_setup_flat64(cpu, 3, PT_BASE);
	cpu->seg[X86_CS].selector = 0x23;
	cpu->seg[X86_SS].selector = 0x1b;
	cpu->gdtr.base = gdt_base;
	cpu->gdtr.limit = sizeof(gdt) - 1;
	cpu->idtr.base = idt;
	cpu->idtr.limit = 0x1000 - 1;
	struct x86_desc d;
	d.lo = (uint32_t)gdt[5];
	d.hi = (uint32_t)(gdt[5] >> 32);
	d.hi64 = 0;
	x86_desc_to_seg(&d, 0x28, &cpu->seg[X86_TR]);
	guest_mem_write(&vm.mem, CODE, intr_user, sizeof(intr_user));
	guest_mem_write(&vm.mem, INTR_HANDLER_HANDLER, intr_handler, sizeof(intr_handler));
	x86_block_cache_flush(cpu->bc);
	cpu->rip = CODE;
	cpu->gpr[X86_RSP] = 0x180000;
	x86_cpu_set_rflags(cpu, X86_RFLAGS_FIXED | X86_RFLAGS_IF);
	cpu->stop_rip = INTR_USER_USER_DONE;
	cpu->exit_on_exception = true;
	CHECK_EQ(x86_cpu_run(cpu, 1000), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX], 105);
	CHECK_EQ(cpu->gpr[X86_R8], 0x90000 - 40);	/* 5 quadwords below the aligned RSP0 */
	CHECK_EQ(cpu->gpr[X86_R9], 0x23);		/* saved CS */
	CHECK_EQ(cpu->gpr[X86_R10], 0x1b);		/* saved SS */
	CHECK_EQ(cpu->cpl, 3);
	CHECK_EQ(cpu->seg[X86_CS].selector, 0x23);
	CHECK_EQ(cpu->gpr[X86_RSP], 0x180000);
	CHECK(x86_cpu_get_rflags(cpu) & X86_RFLAGS_IF);

	/* a DPL 0 gate is out of reach of int n at CPL 3: #GP(vector*8+2) */
	setup_idt64(idt, 0x80, INTR_HANDLER_HANDLER, 0, 0xe);
	cpu->rip = CODE;
	CHECK_EQ(x86_cpu_run(cpu, 1000), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_vector, X86_EXC_GP);
	CHECK_EQ(cpu->exc_error, 0x80 * 8 + 2);
	vm_down();
}

static bool fake_pending;
static void fake_set_irq(void *opaque, unsigned gsi, int level)
{
	(void)opaque;
	(void)gsi;
	fake_pending = level;
}
static bool fake_has_interrupt(void *opaque, unsigned c)
{
	(void)opaque;
	(void)c;
	return fake_pending;
}
static int fake_ack(void *opaque, unsigned c)
{
	(void)opaque;
	(void)c;
	fake_pending = false;
	return 0x40;
}
static const struct irqchip_ops fake_irqchip = {
	.set_irq = fake_set_irq, .has_interrupt = fake_has_interrupt, .ack_interrupt = fake_ack,
};

/* 64-bit ring 0 at CODE running code (4 bytes, stopping before the last),
 * with intr_handler (eax += 100; iretq) on vector */
static void halt_test_setup(const uint8_t *code, unsigned vector)
{
	uint64_t gdt[3] = { 0, gdt_entry(0, 0xfffff, 0x9a, 0xa), gdt_entry(0, 0xfffff, 0x92, 0xc) };
	guest_mem_write(&vm.mem, 0x4000, gdt, sizeof(gdt));
	setup_idt64(0x6000, vector, INTR_HANDLER_HANDLER, 0, 0xe);
	guest_mem_write(&vm.mem, INTR_HANDLER_HANDLER, intr_handler, sizeof(intr_handler));
	x86_cpu_reset(cpu, true);
	x86_cpu_setup_flat64(cpu, 0, PT_BASE);
	cpu->gdtr.base = 0x4000;
	cpu->gdtr.limit = sizeof(gdt) - 1;
	cpu->idtr.base = 0x6000;
	cpu->idtr.limit = 0xfff;
	load(CODE, code, 4);
	cpu->rip = CODE;
	cpu->gpr[X86_RSP] = 0x180000;
	cpu->gpr[X86_RAX] = 0;
	cpu->stop_rip = CODE + 3;
}

TEST(external_interrupt_wakes_hlt)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	vm.irqchip = &fake_irqchip;
	fake_pending = false;
	static const uint8_t code[] = { 0xfb, 0xf4, 0x90, 0x90 };	/* sti; hlt; nop; nop */
	halt_test_setup(code, 0x40);
	CHECK_EQ(x86_cpu_run(cpu, 1000), X86_EXIT_HLT);
	CHECK(cpu->halted);
	CHECK_EQ(cpu->rip, CODE + 2);
	/* the engine sees an interrupt on the way: it does not sleep */
	CHECK_EQ(vm.accel->set_irq(&vm, 0, 1), 0);
	CHECK(fake_pending);
	CHECK_EQ(x86_cpu_run(cpu, 1000), X86_EXIT_STOP);
	CHECK(!cpu->halted);
	CHECK_EQ(cpu->gpr[X86_RAX], 100);	/* the handler ran once */
	CHECK_EQ(cpu->gpr[X86_RSP], 0x180000);
	CHECK(!fake_pending);
	CHECK_EQ(cpu->interrupts, 1);
	vm.irqchip = NULL;
	vm_down();
}

static void *send_nmi_soon(void *arg)
{
	(void)arg;
	struct timespec pause = { 0, 50000000 };
	nanosleep(&pause, NULL);
	tcg_vcpu_nmi(&vm, 0);	/* as the main loop's timers do, through an I/O APIC */
	return NULL;
}

TEST(nmi_from_another_thread_ends_cli_hlt)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	static const uint8_t code[] = { 0xfa, 0xf4, 0x90, 0x90 };	/* cli; hlt; nop; nop */
	halt_test_setup(code, X86_EXC_NMI);
	/* only an NMI ends this HLT: the engine sleeps until one comes */
	pthread_t sender;
	CHECK_EQ(pthread_create(&sender, NULL, send_nmi_soon, NULL), 0);
	enum vcpu_event ev;
	int rounds = 0;
	do
		ev = vm.accel->vcpu_run(&vm.vcpus[0]);
	while (ev == VCPU_EVENT_YIELD && cpu->rip != CODE + 3 && ++rounds < 2000);
	pthread_join(sender, NULL);
	CHECK_EQ(ev, VCPU_EVENT_YIELD);
	CHECK_EQ(cpu->rip, CODE + 3);
	CHECK_EQ(cpu->gpr[X86_RAX], 100);	/* the handler ran once */
	CHECK(!cpu->halted);
	vm_down();
}

TEST(ap_waits_for_sipi)
{
	struct vm_config cfg;
	vm_config_defaults(&cfg);
	cfg.ram_size = 16ull << 20;
	cfg.smp = 2;
	if (vm_init(&vm, &cfg, &tcg_accel_ops) < 0) {
		vm_destroy(&vm);
		SKIP("cannot create a VM");
	}
	struct x86_cpu *ap = vm.vcpus[1].engine;
	/* mov ax, 0x1234; hlt: real mode at the SIPI page */
	static const uint8_t code[] = { 0xb8, 0x34, 0x12, 0xf4 };
	guest_mem_write(&vm.mem, 0x10000, code, sizeof(code));
	CHECK(ap->wait_for_sipi);
	CHECK_EQ(vm.accel->vcpu_run(&vm.vcpus[1]), VCPU_EVENT_YIELD);
	CHECK(ap->wait_for_sipi);
	CHECK_EQ(ap->gpr[X86_RAX], 0);
	tcg_vcpu_sipi(&vm, 1, 0x10);
	CHECK_EQ(vm.accel->vcpu_run(&vm.vcpus[1]), VCPU_EVENT_YIELD);
	CHECK(!ap->wait_for_sipi);
	CHECK_EQ(ap->gpr[X86_RAX], 0x1234);
	CHECK(ap->halted);
	CHECK_EQ(ap->seg[X86_CS].selector, 0x1000);
	CHECK_EQ(ap->rip, 4);
	/* INIT puts it back to waiting; a second SIPI starts it again */
	tcg_vcpu_init_signal(&vm, 1);
	vm.accel->vcpu_run(&vm.vcpus[1]);
	CHECK(ap->wait_for_sipi);
	CHECK_EQ(ap->gpr[X86_RAX], 0);
	vm_destroy(&vm);
}

static const uint8_t apic_code[] = {
	0xb9, 0x1b, 0x00, 0x00, 0x00, 0x0f, 0x32, 0x41, 0x89, 0xc3, 0xbe, 0x00,
	0x00, 0xe0, 0xfe, 0x44, 0x8b, 0x66, 0x20, 0xc7, 0x86, 0xf0, 0x00, 0x00,
	0x00, 0xff, 0x01, 0x00, 0x00, 0xb8, 0x0f, 0x00, 0x00, 0x00, 0x44, 0x0f,
	0x22, 0xc0, 0x45, 0x0f, 0x20, 0xc5, 0x44, 0x8b, 0xb6, 0x80, 0x00, 0x00,
	0x00, 0x31, 0xc0, 0x44, 0x0f, 0x22, 0xc0, 0xfb, 0xc7, 0x86, 0x00, 0x03,
	0x00, 0x00, 0x40, 0x00, 0x04, 0x00, 0x90, 0x90, 0x90,
};
#define APIC_CODE_DONE 0x100044ull
#define APIC_CODE_START 0x100000ull

/* The CPU with the board's local APIC: APIC base MSR, MMIO registers of
 * the running vCPU, CR8 as the TPR, and a self-IPI taken as an interrupt */
TEST(local_apic_self_ipi)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	if (i8259_create(&vm, &vm.pic) < 0 || irq_router_create(&vm) < 0) {
		vm_down();
		SKIP("no interrupt controllers");
	}
	uint64_t gdt[3] = { 0, gdt_entry(0, 0xfffff, 0x9a, 0xa), gdt_entry(0, 0xfffff, 0x92, 0xc) };
	guest_mem_write(&vm.mem, 0x4000, gdt, sizeof(gdt));
	setup_idt64(0x6000, 0x40, INTR_HANDLER_HANDLER, 0, 0xe);
	guest_mem_write(&vm.mem, INTR_HANDLER_HANDLER, intr_handler, sizeof(intr_handler));
	for (int i = 0; i < vm.nr_devices; i++)
		if (vm.devices[i].reset)
			vm.devices[i].reset(vm.devices[i].opaque);
	x86_cpu_reset(cpu, true);
	x86_cpu_setup_flat64(cpu, 0, PT_BASE);
	cpu->gdtr.base = 0x4000;
	cpu->gdtr.limit = sizeof(gdt) - 1;
	cpu->idtr.base = 0x6000;
	cpu->idtr.limit = 0xfff;
	load(CODE, apic_code, sizeof(apic_code));
	cpu->rip = CODE;
	cpu->gpr[X86_RSP] = 0x180000;
	cpu->stop_rip = APIC_CODE_DONE;
	cpu->exit_on_exception = true;
	uint32_t r[4];
	x86_cpuid(cpu, 1, 0, r);
	CHECK(r[2] & (1u << 21));	/* x2APIC, with the APIC */
	CHECK(!(r[2] & (1u << 24)));	/* TSC deadline: not offered (cpuid.c) */
	CHECK_EQ(vm.accel->vcpu_run(&vm.vcpus[0]), VCPU_EVENT_YIELD);
	CHECK_EQ(cpu->rip, APIC_CODE_DONE);
	CHECK_EQ(cpu->gpr[X86_R11] & 0xfffff900ull, 0xfee00900ull);	/* base, enabled, BSP */
	CHECK_EQ(cpu->gpr[X86_R12] >> 24, 0);		/* APIC ID of cpu0 */
	CHECK_EQ(cpu->gpr[X86_R13], 0xf);		/* CR8 reads the TPR back */
	CHECK_EQ(cpu->gpr[X86_R14] & 0xff, 0xf0);	/* TPR[7:4] = CR8 */
	CHECK_EQ(cpu->gpr[X86_RAX], 100);		/* the self-IPI ran the handler */
	CHECK_EQ(cpu->interrupts, 1);
	vm_down();
}

/* A software CPU does not speculate, and says so: CPUID.7.EDX[29] and
 * IA32_ARCH_CAPABILITIES with RDCL_NO and MDS_NO (Linux then runs without
 * page-table isolation and without VERW on every return to user mode);
 * the MSR is read-only */
TEST(arch_capabilities_deny_transient_flaws)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	uint32_t r[4];
	x86_cpuid(cpu, 7, 0, r);
	CHECK(r[3] & (1u << 29));
	/* mov ecx, 0x10a; rdmsr; mov r8, rax; mov r9, rdx; (stop here) wrmsr */
	static const uint8_t code[] = { 0xb9, 0x0a, 0x01, 0x00, 0x00, 0x0f, 0x32, 0x49, 0x89, 0xc0,
					0x49, 0x89, 0xd1, 0x0f, 0x30 };
	CHECK_EQ(run64(code, sizeof(code), 0, CODE + 13), X86_EXIT_STOP);
	CHECK(cpu->gpr[X86_R8] & (1u << 0));	/* RDCL_NO */
	CHECK(cpu->gpr[X86_R8] & (1u << 5));	/* MDS_NO */
	CHECK_EQ(cpu->gpr[X86_R9], 0);
	CHECK_EQ(run64(code, sizeof(code), 0, ~0ull), X86_EXIT_EXCEPTION);
	CHECK_EQ(cpu->exc_vector, X86_EXC_GP);
	CHECK_EQ(cpu->rip, CODE + 13);
	vm_down();
}

TEST(triple_fault_resets)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	static const uint8_t ud2[] = { 0x0f, 0x0b };
	x86_cpu_reset(cpu, true);
	x86_cpu_setup_flat64(cpu, 0, PT_BASE);
	load(CODE, ud2, sizeof(ud2));
	cpu->rip = CODE;
	cpu->idtr.limit = 0;	/* every delivery faults: #UD -> #GP -> #DF -> shutdown */
	CHECK_EQ(x86_cpu_run(cpu, 1000), X86_EXIT_RESET);
	CHECK(cpu->triple_fault);

	/* through the engine, as the run loop sees it */
	x86_cpu_reset(cpu, true);
	x86_cpu_setup_flat64(cpu, 0, PT_BASE);
	cpu->rip = CODE;
	cpu->idtr.limit = 0;
	CHECK_EQ(vm.accel->vcpu_run(&vm.vcpus[0]), VCPU_EVENT_RESET);
	vm_down();
}

/* ---- self-modifying code and the block cache ---- */

TEST(self_modifying_code)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	uint64_t before = cpu->blocks_translated;
	CHECK_EQ(run64(smc_code, sizeof(smc_code), 0, SMC_CODE_DONE), X86_EXIT_STOP);
	/* the store removed "inc eax" from the block that was running */
	CHECK_EQ(cpu->gpr[X86_RAX] != 11 && cpu->gpr[X86_RBX] == 10 + 11 + 12, true);
	uint8_t patched[2];
	guest_mem_read(&vm.mem, SMC_CODE_PATCH, patched, 2);
	CHECK_EQ(patched[0], 0x90);
	CHECK(cpu->blocks_translated > before);

	/* run it again from a fresh copy: cached blocks must not survive the reload */
	CHECK_EQ(run64(smc_code, sizeof(smc_code), 0, SMC_CODE_DONE), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RBX], 33);
	vm_down();
}

TEST(block_cache_reuses_blocks)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	/* mov ecx, 1000; l: add eax, ecx; loop l */
	static const uint8_t code[] = { 0xb9, 0xe8, 0x03, 0, 0, 0x01, 0xc8, 0xe2, 0xfc };
	uint64_t t0 = cpu->blocks_translated;
	CHECK_EQ(run64(code, sizeof(code), 0, CODE + sizeof(code)), X86_EXIT_STOP);
	CHECK_EQ(cpu->gpr[X86_RAX], 1000 * 1001 / 2);
	CHECK(cpu->blocks_translated - t0 < 10);
	CHECK(cpu->blocks_executed >= 1000);
	vm_down();
}

TEST(budget_counts_instructions)
{
	if (!vm_up())
		SKIP("cannot create a VM");
	/* l: inc rax; jmp l */
	static const uint8_t code[] = { 0x48, 0xff, 0xc0, 0xeb, 0xfb };
	x86_cpu_reset(cpu, true);
	x86_cpu_setup_flat64(cpu, 0, PT_BASE);
	load(CODE, code, sizeof(code));
	cpu->rip = CODE;
	CHECK_EQ(x86_cpu_run(cpu, 101), X86_EXIT_BUDGET);
	CHECK_EQ(cpu->gpr[X86_RAX], 51);
	vm_down();
}

RUN_TESTS(T(flags_match_host), T(div_by_zero_raises_de), T(single_step_trap_after_popf), T(ud_and_privileged_in_user_mode),
	  T(string_ops_rep_and_df), T(rep_movs_overlap_matches_host),
	  T(cmpxchg16b_alignment_includes_segment_base), T(real_to_protected_to_long_mode),
	  T(interrupt_gate_privilege_change_and_iretq), T(external_interrupt_wakes_hlt),
	  T(nmi_from_another_thread_ends_cli_hlt), T(ap_waits_for_sipi), T(local_apic_self_ipi), T(arch_capabilities_deny_transient_flaws),
	  T(triple_fault_resets),
	  T(self_modifying_code), T(block_cache_reuses_blocks), T(budget_counts_instructions))
