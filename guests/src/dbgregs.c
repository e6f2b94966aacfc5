/* dbgregs: the debug registers (instruction, data and I/O breakpoints,
 * DR6's report, single step, the aliases DR4/DR5, reserved bits), RF in
 * the RFLAGS image of faults and traps, the machine-check, MTRR, PAT and
 * APIC-base MSRs, and SYSENTER/SYSEXIT in 64-bit and compatibility mode
 * as Intel, the vendor our CPUID names, specifies them (QEMU runs it with
 * vendor=GenuineIntel).  Only what QEMU's TCG agrees on is checked here;
 * the rest (DR7.GD, RF in the image of faults and for string
 * instructions, LEN's alignment, two breakpoints hit at once, #GP on
 * reserved MSR bits, SYSCALL outside 64-bit mode) is in
 * tests/unit/test_x86_debug.c. */
#include "cpu64.h"
#include "io.h"
#include "libg.h"

#define RF (1ull << 16)
#define TF (1ull << 8)
#define CR4_DE (1u << 3)

/* DR7 fields of breakpoint n */
#define L(n) (1ull << (2 * (n)))
#define G(n) (2ull << (2 * (n)))
#define RW(n, rw) ((uint64_t)(rw) << (16 + 4 * (n)))
#define LEN(n, len) ((uint64_t)((len) == 1 ? 0 : (len) == 2 ? 1 : (len) == 8 ? 2 : 3) << (18 + 4 * (n)))
enum { RW_EXEC, RW_WRITE, RW_IO, RW_RW };

static uint64_t get_dr(int n)
{
	uint64_t v = 0;
	switch (n) {
	case 0: asm volatile("mov %%dr0, %0" : "=r"(v)); break;
	case 1: asm volatile("mov %%dr1, %0" : "=r"(v)); break;
	case 2: asm volatile("mov %%dr2, %0" : "=r"(v)); break;
	case 3: asm volatile("mov %%dr3, %0" : "=r"(v)); break;
	case 6: asm volatile("mov %%dr6, %0" : "=r"(v)); break;
	case 7: asm volatile("mov %%dr7, %0" : "=r"(v)); break;
	}
	return v;
}

static void set_dr(int n, uint64_t v)
{
	switch (n) {
	case 0: asm volatile("mov %0, %%dr0" :: "r"(v) : "memory"); break;
	case 1: asm volatile("mov %0, %%dr1" :: "r"(v) : "memory"); break;
	case 2: asm volatile("mov %0, %%dr2" :: "r"(v) : "memory"); break;
	case 3: asm volatile("mov %0, %%dr3" :: "r"(v) : "memory"); break;
	case 6: asm volatile("mov %0, %%dr6" :: "r"(v) : "memory"); break;
	case 7: asm volatile("mov %0, %%dr7" :: "r"(v) : "memory"); break;
	}
}

/* ---- #DB ---- */

static volatile struct {
	unsigned count;
	uint64_t rip, dr6, rflags;
	int set_rf;		/* resume past an instruction breakpoint */
} db;

static void db_handler(struct trap_frame *f)
{
	db.count++;
	db.rip = f->rip;
	db.dr6 = get_dr(6);
	db.rflags = f->rflags;
	set_dr(6, 0);
	if (db.set_rf)
		f->rflags |= RF;
	f->rflags &= ~TF;
}

static void db_reset(void)
{
	db.count = 0;
	db.rip = db.dr6 = db.rflags = 0;
	db.set_rf = 0;
}

/* the target of the instruction breakpoints: counts its runs */
extern char bp_code[];
static volatile unsigned bp_runs;
asm(".text\n.globl bp_code\nbp_code:\n\tincl bp_runs(%rip)\n\tret\n");

static volatile uint64_t watch[4] __attribute__((aligned(64)));

/* Store v at p; returns the address right after the store, where a #DB
 * trap for it must resume */
static uint64_t store32(volatile void *p, uint32_t v)
{
	uint64_t after;
	asm volatile("movl %k1, (%2)\n1:\tlea 1b(%%rip), %0" : "=&r"(after) : "r"(v), "r"(p) : "memory");
	return after;
}

static uint64_t store8(volatile void *p, uint8_t v)
{
	uint64_t after;
	asm volatile("movb %b1, (%2)\n1:\tlea 1b(%%rip), %0" : "=&r"(after) : "q"(v), "r"(p) : "memory");
	return after;
}

static uint64_t load64(volatile void *p, uint64_t *v)
{
	uint64_t after;
	asm volatile("movq (%2), %1\n1:\tlea 1b(%%rip), %0" : "=&r"(after), "=&r"(*v) : "r"(p) : "memory");
	return after;
}

static void report_db(int ok, const char *what)
{
	if (!check(ok, what))
		printf("# count %u rip %lx dr6 %lx rflags %lx\n", db.count, db.rip, db.dr6, db.rflags);
}

static void test_debug_registers(void)
{
	check(get_dr(6) == 0xffff0ff0 && get_dr(7) == 0x400, "DR6 0xffff0ff0, DR7 0x400 at reset");
	set_dr(6, 0);
	set_dr(7, 0);
	check(get_dr(6) == 0xffff0ff0 && get_dr(7) == 0x400, "  their fixed bits stay after writing 0");
	set_dr(0, 0x123456789abcull);
	set_dr(3, 0xfff);
	check(get_dr(0) == 0x123456789abcull && get_dr(3) == 0xfff, "DR0-DR3 hold 64-bit addresses");

	/* instruction breakpoint: a fault before the instruction (the code
	 * has run, and may have been translated, before it is armed) */
	for (int i = 0; i < 100; i++)
		asm volatile("call bp_code" ::: "memory");
	db_reset();
	bp_runs = 0;
	set_dr(0, (uint64_t)bp_code);
	set_dr(7, L(0) | RW(0, RW_EXEC) | LEN(0, 1));
	db.set_rf = 1;
	asm volatile("call bp_code" ::: "memory");
	report_db(db.count == 1 && db.rip == (uint64_t)bp_code && bp_runs == 1,
		  "instruction breakpoint: #DB with RIP at the instruction, which then runs once");
	report_db((db.dr6 & 0xf) == 1, "  DR6.B0 set");
	report_db(!(db.rflags & RF), "  RF clear in the image pushed");
	asm volatile("call bp_code\n\tcall bp_code" ::: "memory");
	report_db(db.count == 3 && bp_runs == 3,
		  "  RF from iretq skips it once only: it hits again on the next runs");

	/* disabled, or enabled through G */
	db_reset();
	set_dr(7, RW(0, RW_EXEC));
	asm volatile("call bp_code" ::: "memory");
	report_db(db.count == 0, "  no #DB with L0 and G0 clear");
	set_dr(0, 0);
	set_dr(2, (uint64_t)bp_code);
	set_dr(7, G(2) | RW(2, RW_EXEC));
	db.set_rf = 1;
	asm volatile("call bp_code" ::: "memory");
	report_db(db.count == 1 && (db.dr6 & 0xf) == 4, "  G2 enables DR2: DR6.B2");
	set_dr(7, 0);

	/* data write breakpoint, 4 bytes: a trap after the instruction */
	db_reset();
	watch[0] = watch[1] = 0;
	set_dr(1, (uint64_t)&watch[1]);
	set_dr(7, 0);
	for (int i = 0; i < 100; i++)
		store32(&watch[1], (uint32_t)i);	/* (run before it is armed too) */
	set_dr(7, L(1) | RW(1, RW_WRITE) | LEN(1, 4));
	uint64_t after = store32(&watch[1], 5);
	report_db(db.count == 1 && db.rip == after && watch[1] == 5,
		  "data write breakpoint: #DB after the store, RIP at the next instruction");
	report_db((db.dr6 & 0xf) == 2, "  DR6.B1 set");
	db_reset();
	uint64_t v;
	load64(&watch[1], &v);
	report_db(db.count == 0, "  a read does not hit a write breakpoint");
	store32((volatile char *)&watch[1] + 4, 1);
	report_db(db.count == 0, "  a store past its 4 bytes does not hit");
	after = store8((volatile char *)&watch[1] + 3, 7);
	report_db(db.count == 1 && db.rip == after, "  a byte store to its last byte hits");
	db_reset();
	after = store32((volatile char *)&watch[1] - 2, 0);
	report_db(db.count == 1 && db.rip == after, "  a store overlapping its first bytes hits");

	/* read/write breakpoints, 8 and 2 bytes */
	db_reset();
	set_dr(1, 0);
	set_dr(3, (uint64_t)&watch[2]);
	set_dr(7, L(3) | RW(3, RW_RW) | LEN(3, 8));
	after = load64(&watch[2], &v);
	report_db(db.count == 1 && db.rip == after && (db.dr6 & 0xf) == 8,
		  "read/write breakpoint, 8 bytes: a read hits, DR6.B3");
	after = store8((volatile char *)&watch[2] + 7, 1);
	report_db(db.count == 2 && db.rip == after, "  a store to its last byte hits");
	db_reset();
	set_dr(7, L(3) | RW(3, RW_RW) | LEN(3, 2));
	store8((volatile char *)&watch[2] + 2, 1);
	report_db(db.count == 0, "  2 bytes: a store to the third byte does not hit");
	after = store8((volatile char *)&watch[2] + 1, 1);
	report_db(db.count == 1 && db.rip == after, "  a store to the second byte hits");

	/* single step: BS */
	db_reset();
	asm volatile("pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\tnop\n1:\tlea 1b(%%rip), %0"
		     : "=r"(after) :: "memory");
	report_db(db.count == 1 && db.rip == after && (db.dr6 & 0x4000),
		  "single step: #DB after the instruction, DR6.BS");

	/* I/O breakpoint with CR4.DE */
	db_reset();
	write_cr4(read_cr4() | CR4_DE);
	set_dr(2, 0x80);
	set_dr(7, L(2) | RW(2, RW_IO) | LEN(2, 1));
	asm volatile("outb %%al, $0x80\n1:\tlea 1b(%%rip), %0" : "=r"(after) :: "rax", "memory");
	report_db(db.count == 1 && db.rip == after && (db.dr6 & 0xf) == 4,
		  "I/O breakpoint (CR4.DE): #DB after out to its port, DR6.B2");
	inb(0x81);
	report_db(db.count == 1, "  another port does not hit");
	set_dr(7, 0);

	/* DR4/DR5: DR6/DR7 without CR4.DE, #UD with it */
	EXPECT_FAULT("", "mov %%dr4, %%rax", "");
	check(last_fault.vector == 6, "  with CR4.DE, mov from DR4: #UD");
	write_cr4(read_cr4() & ~CR4_DE);
	set_dr(6, 0);
	uint64_t d4, d5;
	asm volatile("mov %%dr4, %0\n\tmov %%dr5, %1" : "=r"(d4), "=r"(d5));
	check(d4 == get_dr(6) && d5 == get_dr(7), "without CR4.DE, DR4 and DR5 are DR6 and DR7");

	EXPECT_FAULT("mov $1, %%eax\n\tshl $32, %%rax", "mov %%rax, %%dr7", "");
	check(last_fault.vector == 13 && last_fault.error == 0 && get_dr(7) == 0x400,
	      "DR7 with a bit of 63:32 set: #GP(0)");
	EXPECT_FAULT("mov $1, %%eax\n\tshl $32, %%rax", "mov %%rax, %%dr6", "");
	check(last_fault.vector == 13 && last_fault.error == 0, "DR6 likewise");
}

/* ---- RF in the image of faults and traps ---- */

static void test_rf(void)
{
	EXPECT_FAULT("", "int3", "");
	check(last_fault.vector == 3 && !(last_fault.rflags & RF), "#BP (a trap): RF clear");
	uint64_t fl;
	asm volatile("pushfq\n\torq $0x10000, (%%rsp)\n\tpopfq\n\tpushfq\n\tpopq %0" : "=r"(fl));
	check(!(fl & RF), "popfq does not set RF, pushfq does not show it");
}

/* ---- MSRs ---- */

/* wrmsr/rdmsr reporting a fault: its vector, or -1 */
static int wrmsr_fault(uint32_t msr, uint64_t v)
{
	uint64_t before = last_fault.count;
	asm volatile("movq $1f, fault_resume\n\twrmsr\n1:"
		     :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
	fault_resume = 0;
	return last_fault.count != before ? (int)last_fault.vector : -1;
}

static int rdmsr_fault(uint32_t msr, uint64_t *v)
{
	uint64_t before = last_fault.count;
	uint32_t lo = 0, hi = 0;
	asm volatile("movq $1f, fault_resume\n\trdmsr\n1:" : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	fault_resume = 0;
	*v = (uint64_t)hi << 32 | lo;
	return last_fault.count != before ? (int)last_fault.vector : -1;
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

static void test_msrs(void)
{
	uint32_t r[4];
	cpuid(1, r);
	check((r[3] & (1u << 7)) && (r[3] & (1u << 14)) && (r[3] & (1u << 12)),
	      "CPUID.1:EDX reports MCE, MCA and MTRR");

	uint64_t cap = rdmsr(0x179);
	if (!check(cap == 0x100010a, "MCG_CAP: 10 banks, MCG_CTL_P, MCG_SER_P"))
		printf("# MCG_CAP %lx\n", cap);
	check(rdmsr(0x17a) == 0, "MCG_STATUS 0: no machine check in progress");
	unsigned banks = cap & 0xff, clean = 0;
	for (unsigned i = 0; i < banks; i++)
		clean += rdmsr(0x401 + 4 * i) == 0;
	check(clean == banks, "  every MCi_STATUS reads 0: no error logged");
	wrmsr(0x400, 0);
	uint64_t ctl0 = rdmsr(0x400);
	wrmsr(0x400, ~0ull);
	check(ctl0 == 0 && rdmsr(0x400) == ~0ull, "  MC0_CTL takes 0 and all ones");
	wrmsr(0x405, 0);
	wrmsr(0x402 + 4 * (banks - 1), 0);
	check(rdmsr(0x405) == 0, "  writing 0 to MC1_STATUS is allowed");
	wrmsr(0x17b, ~0ull);
	check(rdmsr(0x17b) == ~0ull, "  MCG_CTL all ones");

	uint64_t mtrrcap = rdmsr(0xfe);
	if (!check(mtrrcap == 0x508, "MTRRCAP: 8 variable ranges, fixed ranges, WC"))
		printf("# MTRRCAP %lx\n", mtrrcap);
	uint64_t def = rdmsr(0x2ff);
	wrmsr(0x2ff, 0xc06);
	check(rdmsr(0x2ff) == 0xc06, "MTRR_DEF_TYPE: E, FE and WB read back");
	wrmsr(0x2ff, def);
	static const uint32_t fixed[] = { 0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b,
					  0x26c, 0x26d, 0x26e, 0x26f };
	unsigned same = 0;
	for (unsigned i = 0; i < 11; i++) {
		uint64_t old = rdmsr(fixed[i]);
		uint64_t v = 0x0605040100060504ull + i;
		if (i & 1)
			v = 0x0606060606060606ull;
		wrmsr(fixed[i], v & ~0xffull);
		same += rdmsr(fixed[i]) == (v & ~0xffull);
		wrmsr(fixed[i], old);
	}
	check(same == 11, "  the 11 fixed-range MTRRs read back");
	uint64_t b7 = rdmsr(0x20e), m7 = rdmsr(0x20f);
	wrmsr(0x20e, 0x80000001ull);
	wrmsr(0x20f, 0xff80000800ull);
	check(rdmsr(0x20e) == 0x80000001ull && rdmsr(0x20f) == 0xff80000800ull,
	      "  PHYSBASE7/PHYSMASK7 read back");
	wrmsr(0x20f, m7);
	wrmsr(0x20e, b7);

	check(rdmsr(0x277) == 0x0007040600070406ull, "PAT: the power-on value");
	wrmsr(0x277, 0x0007010600070106ull);
	check(rdmsr(0x277) == 0x0007010600070106ull, "  WC in PA2 and PA6 reads back");
	wrmsr(0x277, 0x0007040600070406ull);
	check((rdmsr(0x1b) & ~0xfffull) == 0xfee00000 && (rdmsr(0x1b) & 0x900) == 0x900,
	      "APIC base 0xfee00000, enabled, BSP");
	uint64_t v;
	check(rdmsr_fault(0x17a, &v) < 0 && wrmsr_fault(0x17a, 0) < 0, "MCG_STATUS writable with 0");
}

/* ---- SYSENTER/SYSEXIT, SYSCALL ---- */

/* A GDT with the SYSENTER_CS layout after the boot one: kernel code and
 * data, 32-bit user code and data, 64-bit user code and data */
#define SEL_SYSENTER 0x50
static uint64_t gdt2[16] __attribute__((aligned(16)));

extern char sysenter_entry[], user64_sysenter[], user32_sysenter[];
static uint8_t sysenter_stack[4096] __attribute__((aligned(16)));
static uint8_t user_stack[4096] __attribute__((aligned(16)));
static uint8_t kstack[8192] __attribute__((aligned(16)));	/* faults from ring 3 */

/* What each side saw (the kernel's entry and the user code store here) */
volatile uint64_t k_cs, k_ss, k_rsp, k_rflags, u_cs, u_ss, u_rsp, back_rsp;
volatile uint32_t u32_cs, u32_ss;

asm(".text\n"
    /* ring 0, entered by SYSENTER: note the state, back to the C caller */
    ".globl sysenter_entry\nsysenter_entry:\n"
    "\tmov %cs, k_cs(%rip)\n\tmov %ss, k_ss(%rip)\n\tmov %rsp, k_rsp(%rip)\n"
    "\tpushfq\n\tpopq k_rflags(%rip)\n"
    "\tmov back_rsp(%rip), %rsp\n\tret\n"
    /* ring 3, 64-bit, entered by SYSEXIT with REX.W */
    ".globl user64_sysenter\nuser64_sysenter:\n"
    "\tmov %cs, u_cs(%rip)\n\tmov %ss, u_ss(%rip)\n\tmov %rsp, u_rsp(%rip)\n"
    "\tsysenter\n"
    /* ring 3, compatibility mode, entered by SYSEXIT */
    ".code32\n.globl user32_sysenter\nuser32_sysenter:\n"
    "\tmov %cs, u32_cs\n\tmov %ss, u32_ss\n"
    "\tsysenter\n"
    ".code64\n");

/* SYSEXIT to code (64-bit with REX.W, else compatibility mode), which
 * comes back with SYSENTER to sysenter_entry, which returns here */
static void sysexit_to(void *code, int rex_w)
{
	asm volatile("push %%rbx\n\tpush %%rbp\n\tpush %%r12\n\tpush %%r13\n\tpush %%r14\n\tpush %%r15\n"
		     "\tlea 1f(%%rip), %%rax\n\tpush %%rax\n"
		     "\tmov %%rsp, back_rsp(%%rip)\n"
		     "\tsti\n"
		     "\ttest %2, %2\n\tjz 2f\n"
		     "\tsysexitq\n"
		     "2:\tsysexitl\n"
		     "1:\tpop %%r15\n\tpop %%r14\n\tpop %%r13\n\tpop %%r12\n\tpop %%rbp\n\tpop %%rbx\n"
		     "\tcli\n"
		     :: "d"(code), "c"((uint64_t)user_stack + sizeof(user_stack)), "r"((uint64_t)rex_w)
		     : "rax", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
}

static void test_sysenter(void)
{
	extern uint64_t gdt[];
	for (int i = 0; i < 10; i++)
		gdt2[i] = gdt[i];
	gdt2[SEL_SYSENTER / 8] = 0x00af9a000000ffffull;	/* kernel code, 64-bit */
	gdt2[SEL_SYSENTER / 8 + 1] = 0x00cf92000000ffffull;	/* kernel data */
	gdt2[SEL_SYSENTER / 8 + 2] = 0x00cffa000000ffffull;	/* user code, 32-bit */
	gdt2[SEL_SYSENTER / 8 + 3] = 0x00cff2000000ffffull;	/* user data */
	gdt2[SEL_SYSENTER / 8 + 4] = 0x00affa000000ffffull;	/* user code, 64-bit */
	gdt2[SEL_SYSENTER / 8 + 5] = 0x00cff2000000ffffull;	/* user data */
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) d = { sizeof(gdt2) - 1, (uint64_t)gdt2 };
	asm volatile("lgdt %0" :: "m"(d));

	wrmsr(0x174, SEL_SYSENTER);
	wrmsr(0x175, (uint64_t)sysenter_stack + sizeof(sysenter_stack));
	wrmsr(0x176, (uint64_t)sysenter_entry);
	check(rdmsr(0x174) == SEL_SYSENTER && rdmsr(0x176) == (uint64_t)sysenter_entry,
	      "SYSENTER_CS/ESP/EIP read back");

	sysexit_to(user64_sysenter, 1);
	check(u_cs == ((SEL_SYSENTER + 32) | 3) && u_ss == ((SEL_SYSENTER + 40) | 3) &&
	      u_rsp == (uint64_t)user_stack + sizeof(user_stack),
	      "sysexitq: 64-bit ring 3, CS/SS from SYSENTER_CS + 32/40, RSP from RCX");
	check(k_cs == SEL_SYSENTER && k_ss == SEL_SYSENTER + 8 &&
	      k_rsp == (uint64_t)sysenter_stack + sizeof(sysenter_stack),
	      "sysenter from 64-bit mode: CS/SS from SYSENTER_CS, RSP from SYSENTER_ESP");
	check(!(k_rflags & 0x200), "  IF cleared");

	/* compatibility mode: SYSEXIT without REX.W */
	k_cs = k_ss = 0;
	sysexit_to(user32_sysenter, 0);
	check(u32_cs == ((SEL_SYSENTER + 16) | 3) && u32_ss == ((SEL_SYSENTER + 24) | 3),
	      "sysexit: compatibility mode, CS/SS from SYSENTER_CS + 16/24");
	check(k_cs == SEL_SYSENTER && k_ss == SEL_SYSENTER + 8,
	      "sysenter from compatibility mode: into 64-bit ring 0");
	/* back to the boot GDT (the TSS is in it) */
	extern uint8_t gdt_desc[];
	asm volatile("lgdt (%0)" :: "r"(gdt_desc));
}

void main(void)
{
	serial_init();
	puts("dbgregs: 64-bit\n");
	idt_init();
	trap_set_handler(1, db_handler);
	tss_init((uint64_t)kstack + sizeof(kstack), 0);
	test_debug_registers();
	test_rf();
	test_msrs();
	test_sysenter();
	finish();
}
