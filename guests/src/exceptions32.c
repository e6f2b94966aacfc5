/* exceptions32: the exceptions guest in 32-bit protected mode (paging
 * without PAE), plus what only 32-bit mode has: BOUND (#BR) and INTO (#OF).
 * (No segment-limit test: QEMU's TCG does not check data segment limits,
 * so it could not confirm the expected output.) */
#include "cpu32.h"
#include "io.h"
#include "libg.h"

#define WIN 0x40000000u
static volatile uint32_t pd[1024] __attribute__((aligned(4096)));
static volatile uint32_t pt[1024] __attribute__((aligned(4096)));
static volatile uint8_t frames[2][4096] __attribute__((aligned(4096)));

static void expect(const char *what, uint32_t count, uint32_t vector, uint32_t error, uint32_t eip)
{
	int good = last_fault.count == count + 1 && last_fault.vector == vector &&
		   last_fault.error == error && last_fault.eip == eip && last_fault.cs == SEL_CODE32;
	if (!check(good, what))
		printf("# got %u faults, vector %u error %x eip %x cs %x; want vector %u error %x eip %x\n",
		       last_fault.count - count, last_fault.vector, last_fault.error, last_fault.eip,
		       last_fault.cs, vector, error, eip);
}

static void test_basic(void)
{
	uint32_t n = last_fault.count;
	EXPECT_FAULT("xor %%ecx, %%ecx", "div %%ecx", "");
	expect("#DE on div by zero", n, 0, 0, fault_rip_expect);
	n = last_fault.count;
	EXPECT_FAULT("mov $0x80000000, %%eax; cdq; mov $-1, %%ecx", "idiv %%ecx", "");
	expect("#DE on idiv INT_MIN / -1", n, 0, 0, fault_rip_expect);
	n = last_fault.count;
	EXPECT_FAULT("", "ud2", "");
	expect("#UD on ud2", n, 6, 0, fault_rip_expect);
	n = last_fault.count;
	EXPECT_FAULT("", "int3", "");
	expect("#BP on int3, saved EIP after it", n, 3, 0, fault_rip_after);
	n = last_fault.count;
	EXPECT_FAULT("mov $0x7fffffff, %%eax; add $1, %%eax", "into", "");
	expect("#OF on into with OF set, saved EIP after it", n, 4, 0, fault_rip_after);
	n = last_fault.count;
	static const int32_t bounds[2] = { 10, 20 };
	EXPECT_FAULT("mov $21, %%eax", "bound %%eax, (%%esi)", "", "S"(bounds));
	expect("#BR on bound out of range", n, 5, 0, fault_rip_expect);
	uint32_t in = 15;
	asm volatile("bound %0, (%1)" :: "r"(in), "r"(bounds) : "memory");
	check(last_fault.count == n + 1, "no #BR when bound is in range");
}

static void test_segments(void)
{
	uint32_t n = last_fault.count;
	EXPECT_FAULT("mov $0x1230, %%eax", "mov %%eax, %%ds", "");
	expect("#GP(sel) loading a selector past the GDT limit", n, 13, 0x1230, fault_rip_expect);
	n = last_fault.count;
	EXPECT_FAULT("mov $0x08, %%eax", "mov %%eax, %%ss", "");
	expect("#GP(sel) loading a code segment into SS", n, 13, 0x08, fault_rip_expect);
	n = last_fault.count;
	idt_set_gate(0x90, 0xe, 0, 0);
	EXPECT_FAULT("", "int $0x90", "");
	expect("#NP(vector * 8 + 2) on int to a not-present gate", n, 11, 0x90 * 8 + 2, fault_rip_expect);
}

static void test_pf(void)
{
	for (uint32_t i = 0; i < 1024; i++)
		pd[i] = i << 22 | 0x83;		/* 4 MiB pages, identity */
	pd[WIN >> 22] = (uint32_t)pt | 3;
	pt[0] = (uint32_t)frames[0] | 2;	/* not present */
	pt[1] = (uint32_t)frames[1] | 1;	/* read-only */
	write_cr4(read_cr4() | CR4_PSE);
	write_cr3((uint32_t)pd);
	write_cr0(read_cr0() | CR0_PG | CR0_WP);

	uint32_t n = last_fault.count, a = WIN + 0x10;
	EXPECT_FAULT("", "movb (%%esi), %%al", "", "S"(a));
	expect("#PF not-present read: error 0", n, 14, 0, fault_rip_expect);
	check(last_fault.cr2 == a, "  CR2 is the faulting address");
	n = last_fault.count;
	a = WIN + 0x1ffe;
	EXPECT_FAULT("", "movw %%ax, (%%esi)", "", "S"(a));
	expect("#PF write to read-only with CR0.WP=1: error P|W", n, 14, 3, fault_rip_expect);
	check(last_fault.cr2 == a, "  CR2 is the faulting address");
	n = last_fault.count;
	check(*(volatile uint32_t *)(WIN + 0x1000) == 0 && last_fault.count == n, "a read of a read-only page works");
	a = WIN + 0xffe;	/* a 4-byte read from the read-only page into the missing one */
	pt[0] = (uint32_t)frames[0] | 3;
	pt[1] = (uint32_t)frames[1] | 2;
	asm volatile("invlpg (%0); invlpg (%1)" :: "r"(WIN), "r"(WIN + 0x1000) : "memory");
	EXPECT_FAULT("", "movl (%%esi), %%eax", "", "S"(a));
	expect("#PF on a read crossing into a not-present page", n, 14, 0, fault_rip_expect);
	check(last_fault.cr2 == WIN + 0x1000, "  CR2 is the first byte of the missing page");
	write_cr0(read_cr0() & ~CR0_PG);
}

static volatile uint32_t gate_eflags, gate_eip;
static void record_gate(struct trap_frame32 *f)
{
	gate_eflags = read_eflags();
	gate_eip = f->eip;
}

static void test_soft_int(void)
{
	idt_set_gate(0x81, 0xf, 0, 1);
	idt_set_gate(0x82, 0xe, 0, 1);
	trap_set_handler(0x81, record_gate);
	trap_set_handler(0x82, record_gate);
	uint32_t after;
	asm volatile("sti; int $0x81; 1: cli; movl $1b, %0" : "=r"(after) :: "memory");
	check(gate_eip == after && (gate_eflags & 0x200), "int $0x81 through a trap gate: IF stays set");
	asm volatile("sti; int $0x82; 1: cli; movl $1b, %0" : "=r"(after) :: "memory");
	check(gate_eip == after && !(gate_eflags & 0x200), "int $0x82 through an interrupt gate: IF cleared");
}

void main(void)
{
	serial_init();
	puts("exceptions: 32-bit\n");
	idt_init();
	test_basic();
	test_segments();
	test_pf();
	test_soft_int();
	finish();
}
