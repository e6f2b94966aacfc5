/* rings: ring 0 <-> ring 3 in 64-bit mode.  Into ring 3 with iretq; back
 * with SYSCALL/SYSRET, with int 0x80 through a DPL-3 interrupt gate (stack
 * switch to TSS.RSP0), with an IST stack; privileged instructions and
 * supervisor pages fault in ring 3.  The ring-3 code cannot print (no I/O
 * permission), so it stores what it sees and the kernel checks afterwards. */
#include "cpu64.h"
#include "io.h"
#include "libg.h"

#define STACK 16384
static uint8_t kstack[STACK] __attribute__((aligned(16)));
static uint8_t ist_stack[STACK] __attribute__((aligned(16)));
static uint8_t syscall_stack[STACK] __attribute__((aligned(16)));
static uint8_t user_stack[STACK] __attribute__((aligned(16)));
static uint8_t super_page[4096] __attribute__((aligned(4096)));

#define in_stack(stack, p) ((uint64_t)(p) >= (uint64_t)(stack) && (uint64_t)(p) < (uint64_t)(stack) + STACK)

enum { SYS_EXIT = 0, SYS_ADD100 = 1 };

/* What ring 3 saw (user-writable like every page of the identity map) */
static volatile struct {
	uint16_t cs, ss;
	uint64_t syscall_ret, rflags_after_sysret;
	uint16_t cs_after_sysret, ss_after_sysret;
	uint64_t int80_ret, rsp_before_int80, rsp_after_int80;
	uint16_t cs_after_iret;
	struct fault_record gp_int_dpl0, gp_hlt, gp_cli, gp_cr3, gp_out, pf_read, pf_write;
	uint64_t super_addr;
} u;

/* What ring 0 saw */
static volatile struct {
	uint16_t syscall_cs;
	uint64_t syscall_rflags, syscall_rsp;
	uint64_t int80_frame, int80_cs, int80_ss, int80_rsp;
	uint16_t int80_kernel_cs;
	uint64_t ist_frame, ist_cs;
} k;

static uint64_t sys_handler(uint64_t nr, uint64_t arg)
{
	uint64_t rsp;
	asm volatile("mov %%rsp, %0" : "=r"(rsp));
	k.syscall_cs = read_cs();
	k.syscall_rflags = read_rflags();
	k.syscall_rsp = rsp;
	return nr * 1000 + arg * 2;
}

static void int80_handler(struct trap_frame *f)
{
	if (f->rax == SYS_EXIT)
		leave_user(f->rdi);
	k.int80_frame = (uint64_t)f;
	k.int80_cs = f->cs;
	k.int80_ss = f->ss;
	k.int80_rsp = f->rsp;
	k.int80_kernel_cs = read_cs();
	f->rax = f->rdi + 100;
}

static void ist_handler(struct trap_frame *f)
{
	k.ist_frame = (uint64_t)f;
	k.ist_cs = f->cs;
}

static void copy_fault(volatile struct fault_record *to)
{
	to->count = last_fault.count;
	to->vector = last_fault.vector;
	to->error = last_fault.error;
	to->cs = last_fault.cs;
	to->cr2 = last_fault.cr2;
}

/* Runs in ring 3 */
static void user_main(void)
{
	uint64_t r, rsp;
	u.cs = read_cs();
	u.ss = read_ss();

	asm volatile("syscall" : "=a"(r) : "a"(7), "D"(21) : "rcx", "r11", "memory");
	u.syscall_ret = r;
	u.rflags_after_sysret = read_rflags();
	u.cs_after_sysret = read_cs();
	u.ss_after_sysret = read_ss();

	asm volatile("mov %%rsp, %0" : "=r"(rsp));
	u.rsp_before_int80 = rsp;
	asm volatile("int $0x80" : "=a"(r) : "a"(SYS_ADD100), "D"(5) : "memory");
	asm volatile("mov %%rsp, %0" : "=r"(rsp));
	u.rsp_after_int80 = rsp;
	u.int80_ret = r;
	u.cs_after_iret = read_cs();

	asm volatile("int $0x83" ::: "memory");

	EXPECT_FAULT("", "int $0x81", "");
	copy_fault(&u.gp_int_dpl0);
	EXPECT_FAULT("", "hlt", "");
	copy_fault(&u.gp_hlt);
	EXPECT_FAULT("", "cli", "");
	copy_fault(&u.gp_cli);
	EXPECT_FAULT("", "mov %%cr3, %%rax", "");
	copy_fault(&u.gp_cr3);
	EXPECT_FAULT("", "outb %%al, $0x80", "");
	copy_fault(&u.gp_out);
	EXPECT_FAULT("", "mov (%%rsi), %%eax", "", "S"(u.super_addr));
	copy_fault(&u.pf_read);
	EXPECT_FAULT("", "mov %%eax, (%%rsi)", "", "S"(u.super_addr + 4));
	copy_fault(&u.pf_write);

	asm volatile("int $0x80" :: "a"(SYS_EXIT), "D"(0x600d) : "memory");
	for (;;)
		;
}

static void check_gp(volatile struct fault_record *r, const char *what)
{
	if (!check(r->vector == 13 && r->error == 0 && r->cs == (SEL_UCODE64 | 3), what))
		printf("# vector %u error %lx cs %lx\n", (unsigned)r->vector, r->error, r->cs);
}

void main(void)
{
	serial_init();
	puts("rings: 64-bit\n");
	idt_init();
	idt_set_gate(0x80, 0xe, 3, 0);	/* int 0x80 allowed from ring 3 */
	idt_set_gate(0x83, 0xe, 3, 1);	/* on the IST1 stack */
	trap_set_handler(0x80, int80_handler);
	trap_set_handler(0x83, ist_handler);
	tss_init((uint64_t)kstack + STACK, (uint64_t)ist_stack + STACK);

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	wrmsr(MSR_STAR, (uint64_t)SEL_UCODE32 << 48 | (uint64_t)SEL_KCODE64 << 32);
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	wrmsr(MSR_SFMASK, 0x200 | 0x100);	/* IF and TF off in the kernel */
	syscall_kernel_rsp = (uint64_t)syscall_stack + STACK;
	syscall_handler = sys_handler;

	volatile uint64_t *pte = pte_4k((uint64_t)super_page);
	*pte &= ~PTE_U;
	invlpg(super_page);
	u.super_addr = (uint64_t)super_page + 0x10;

	/* a kernel-mode int through the IST gate switches stacks as well */
	asm volatile("int $0x83" ::: "memory");
	check(in_stack(ist_stack, k.ist_frame) && k.ist_cs == SEL_KCODE64,
	      "ring 0 int $0x83: frame on the IST1 stack");
	k.ist_frame = 0;

	uint64_t ret = enter_user((uint64_t)user_main, (uint64_t)user_stack + STACK);
	check(ret == 0x600d, "back in ring 0 through int $0x80 exit");
	check(read_cs() == SEL_KCODE64, "  CPL 0 again");
	check(u.cs == (SEL_UCODE64 | 3) && u.ss == (SEL_UDATA | 3), "iretq to ring 3: CS 0x2b, SS 0x23");

	check(k.syscall_cs == SEL_KCODE64, "syscall: kernel CS from STAR[47:32]");
	check(!(k.syscall_rflags & 0x200), "  SFMASK cleared IF");
	check(in_stack(syscall_stack, k.syscall_rsp), "  handler on the kernel stack");
	check(u.syscall_ret == 7 * 1000 + 21 * 2, "  result in RAX");
	check(u.cs_after_sysret == (SEL_UCODE64 | 3) && u.ss_after_sysret == (SEL_UDATA | 3),
	      "sysret: CS 0x2b, SS 0x23 from STAR[63:48]");
	check(u.rflags_after_sysret & 0x200, "  RFLAGS restored from R11 (IF set)");

	check(k.int80_kernel_cs == SEL_KCODE64, "int $0x80 from ring 3: handler in ring 0");
	check(k.int80_cs == (SEL_UCODE64 | 3) && k.int80_ss == (SEL_UDATA | 3),
	      "  saved CS/SS are the ring-3 ones");
	check(in_stack(kstack, k.int80_frame), "  frame on the TSS.RSP0 stack");
	check(k.int80_rsp == u.rsp_before_int80, "  saved RSP is the user stack pointer");
	check(u.int80_ret == 105 && u.cs_after_iret == (SEL_UCODE64 | 3) &&
	      u.rsp_after_int80 == u.rsp_before_int80, "iretq back to ring 3 with the result");
	check(in_stack(ist_stack, k.ist_frame) && k.ist_cs == (SEL_UCODE64 | 3),
	      "ring 3 int $0x83: frame on the IST1 stack");

	/* error code: vector * 8 + 2 (IDT bit) on real CPUs, QEMU's TCG gives
	 * vector * 16 + 2 in long mode: only the IDT bit is checked */
	if (!check(u.gp_int_dpl0.vector == 13 && (u.gp_int_dpl0.error & 7) == 2 &&
		   u.gp_int_dpl0.cs == (SEL_UCODE64 | 3), "int $0x81 (DPL 0 gate) in ring 3: #GP, IDT bit set"))
		printf("# vector %u error %lx\n", (unsigned)u.gp_int_dpl0.vector, u.gp_int_dpl0.error);
	check_gp(&u.gp_hlt, "hlt in ring 3: #GP(0)");
	check_gp(&u.gp_cli, "cli in ring 3 with IOPL 0: #GP(0)");
	check_gp(&u.gp_cr3, "mov from CR3 in ring 3: #GP(0)");
	check_gp(&u.gp_out, "out in ring 3 without I/O permission: #GP(0)");
	if (!check(u.pf_read.vector == 14 && u.pf_read.error == 5 && u.pf_read.cr2 == u.super_addr,
		   "ring 3 read of a supervisor page: #PF error P|U"))
		printf("# vector %u error %lx cr2 %lx\n", (unsigned)u.pf_read.vector, u.pf_read.error,
		       u.pf_read.cr2);
	if (!check(u.pf_write.vector == 14 && u.pf_write.error == 7 && u.pf_write.cr2 == u.super_addr + 4,
		   "ring 3 write to a supervisor page: #PF error P|W|U"))
		printf("# vector %u error %lx cr2 %lx\n", (unsigned)u.pf_write.vector, u.pf_write.error,
		       u.pf_write.cr2);
	finish();
}
