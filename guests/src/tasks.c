/* tasks: hardware task switching in 32-bit protected mode.  CALL through a
 * task gate and IRET back (NT, back link, busy bits, CR0.TS), a task
 * resumed where its IRET left it, JMP between tasks (no NT, no link, busy
 * bits handed over), a 16-bit TSS, INT n and #DF through IDT task gates
 * (the #DF task gets the error code on its stack and the faulting EIP in
 * the old TSS), and the faults: a busy TSS (#GP), a not-present one (#NP),
 * one whose limit is too small (#TS), IRET with NT to a TSS that is not
 * busy (#TS). */
#include "cpu32.h"
#include "io.h"
#include "libg.h"

#define SEL_TSS_MAIN 0x18
#define SEL_TSS_A 0x20
#define SEL_GATE_A 0x28
#define SEL_TSS_16 0x30
#define SEL_TSS_DF 0x38
#define SEL_TSS_INT 0x40
#define SEL_TSS_SHORT 0x48
#define SEL_TSS_ABSENT 0x50
#define SEL_CODE_16TASK 0x58
#define SEL_TSS_T 0x60
#define SEL_TSS_TINT 0x68
#define NT (1u << 14)

struct tss32 {
	uint16_t link, r0;
	uint32_t esp0;
	uint16_t ss0, r1;
	uint32_t esp1;
	uint16_t ss1, r2;
	uint32_t esp2;
	uint16_t ss2, r3;
	uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint16_t es, r4, cs, r5, ss, r6, ds, r7, fs, r8, gs, r9, ldt, r10, trap, iomap;
} __attribute__((packed));

struct tss16 {
	uint16_t link, sp0, ss0, sp1, ss1, sp2, ss2, ip, flags;
	uint16_t ax, cx, dx, bx, sp, bp, si, di, es, cs, ss, ds, ldt;
} __attribute__((packed));

static uint64_t gdt[14] __attribute__((aligned(8)));
static struct tss32 tss_main, tss_a, tss_df, tss_int, tss_short, tss_absent, tss_t, tss_tint;
static struct tss16 tss_16;
static uint8_t stack_a[4096] __attribute__((aligned(16)));
static uint8_t stack_df[4096] __attribute__((aligned(16)));
static uint8_t stack_int[4096] __attribute__((aligned(16)));
static uint8_t stack_t[4096] __attribute__((aligned(16)));
static uint8_t stack_tint[4096] __attribute__((aligned(16)));

volatile uint32_t a_runs, a_eflags, a_link, a_main_type, a_self_type, a_by_jmp;
volatile uint32_t t16_runs;
volatile uint32_t df_runs, df_error, df_saved_eip, df_expect_eip, df_resume_eip, df_link;
volatile uint32_t int_runs, int_link, int_eflags;
volatile uint32_t t_runs, tint_runs, db_count, db_eip, db_dr6;
extern uint32_t boot_info;	/* the Multiboot information (boot32.S) */

static uint64_t seg_desc(uint32_t base, uint32_t limit, unsigned type_attr, unsigned flags)
{
	return (limit & 0xffffull) | (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)type_attr << 40 | (uint64_t)((limit >> 16) & 0xf) << 48 |
	       (uint64_t)flags << 52 | (uint64_t)(base >> 24) << 56;
}

static uint64_t tss_desc(const void *tss, uint32_t limit, unsigned type, int present)
{
	return seg_desc((uint32_t)tss, limit, (present ? 0x80 : 0) | type, 0);
}

static unsigned desc_type(uint16_t sel)
{
	return (unsigned)(gdt[sel >> 3] >> 40) & 0xf;
}

static void task_init(struct tss32 *t, void (*entry)(void), uint8_t *stack, unsigned size)
{
	t->eip = (uint32_t)entry;
	t->eflags = 2;
	t->esp = (uint32_t)(stack + size);
	t->cs = SEL_CODE32;
	t->ss = t->ds = t->es = t->fs = t->gs = SEL_DATA32;
	t->iomap = sizeof(*t);
}

/* Task A: records what it sees, then goes back by IRET (to the task that
 * called it) or by JMP to the main task; the next switch to it resumes
 * after that instruction */
static void __attribute__((noreturn)) task_a(void)
{
	for (;;) {
		a_runs++;
		a_eflags = read_eflags();
		a_link = tss_a.link;
		a_main_type = desc_type(SEL_TSS_MAIN);
		a_self_type = desc_type(SEL_TSS_A);
		if (a_by_jmp)
			asm volatile("ljmp $0x18, $0" ::: "memory");
		else
			asm volatile("iret" ::: "memory");
	}
}

/* The task whose TSS has the T bit: each switch to it traps (#DB) before
 * its next instruction; it goes back by JMP */
static void __attribute__((noreturn)) task_t(void)
{
	for (;;) {
		t_runs++;
		asm volatile("ljmp $0x18, $0" ::: "memory");
	}
}

/* The same through an IDT task gate (int $0x86): the trap comes once the
 * switch is done, before the task's next instruction; it goes back by IRET */
static void __attribute__((noreturn)) task_tint(void)
{
	for (;;) {
		tint_runs++;
		asm volatile("iret" ::: "memory");
	}
}

static void db_handler(struct trap_frame32 *f)
{
	uint32_t dr6;
	db_count++;
	db_eip = f->eip;
	asm volatile("mov %%dr6, %0" : "=r"(dr6));
	db_dr6 = dr6;
	asm volatile("mov %0, %%dr6" :: "r"(0xffff0ff0u));
}

/* The task an IDT task gate for int $0x85 leads to */
static void __attribute__((noreturn)) task_int(void)
{
	for (;;) {
		int_runs++;
		int_link = tss_int.link;
		int_eflags = read_eflags();
		asm volatile("iret" ::: "memory");
	}
}

/* The #DF task: the CPU pushed the error code on its stack; the faulting
 * task's EIP is in the main TSS, which it points past the fault */
void df_body(void)
{
	df_runs++;
	df_link = tss_df.link;
	df_saved_eip = tss_main.eip;
	tss_main.eip = df_resume_eip;
	idt_set_gate(13, 0xe, 0, 1);
}
void df_entry(void);
void task16_entry(void);
asm(".text\n"
    "df_entry:\n"
    "	popl df_error\n"
    "	call df_body\n"
    "	iret\n"
    "	jmp df_entry\n"
    /* the 16-bit task runs in a code segment based at this stub's 64 KiB */
    "	.align 16\n"
    "task16_entry:\n"
    "	incl t16_runs\n"
    "	iret\n"
    "	jmp task16_entry\n");

static void setup(void)
{
	gdt[1] = seg_desc(0, 0xfffff, 0x9a, 0xc);
	gdt[2] = seg_desc(0, 0xfffff, 0x92, 0xc);
	gdt[SEL_TSS_MAIN >> 3] = tss_desc(&tss_main, sizeof(tss_main) - 1, 9, 1);
	gdt[SEL_TSS_A >> 3] = tss_desc(&tss_a, sizeof(tss_a) - 1, 9, 1);
	gdt[SEL_GATE_A >> 3] = (uint64_t)SEL_TSS_A << 16 | 0x85ull << 40;
	gdt[SEL_TSS_16 >> 3] = tss_desc(&tss_16, sizeof(tss_16) - 1, 1, 1);
	gdt[SEL_TSS_DF >> 3] = tss_desc(&tss_df, sizeof(tss_df) - 1, 9, 1);
	gdt[SEL_TSS_INT >> 3] = tss_desc(&tss_int, sizeof(tss_int) - 1, 9, 1);
	gdt[SEL_TSS_SHORT >> 3] = tss_desc(&tss_short, 0x20, 9, 1);
	gdt[SEL_TSS_ABSENT >> 3] = tss_desc(&tss_absent, sizeof(tss_absent) - 1, 9, 0);
	uint32_t base16 = (uint32_t)task16_entry & 0xffff0000u;
	gdt[SEL_CODE_16TASK >> 3] = seg_desc(base16, 0xffff, 0x9a, 0x4);
	gdt[SEL_TSS_T >> 3] = tss_desc(&tss_t, sizeof(tss_t) - 1, 9, 1);
	gdt[SEL_TSS_TINT >> 3] = tss_desc(&tss_tint, sizeof(tss_tint) - 1, 9, 1);
	struct { uint16_t limit; uint32_t base; } __attribute__((packed)) d = { sizeof(gdt) - 1, (uint32_t)gdt };
	asm volatile("lgdt %0" :: "m"(d));

	tss_main.iomap = sizeof(tss_main);
	task_init(&tss_a, task_a, stack_a, sizeof(stack_a));
	task_init(&tss_df, df_entry, stack_df, sizeof(stack_df));
	task_init(&tss_int, task_int, stack_int, sizeof(stack_int));
	task_init(&tss_t, task_t, stack_t, sizeof(stack_t));
	tss_t.trap = 1;
	task_init(&tss_tint, task_tint, stack_tint, sizeof(stack_tint));
	tss_tint.trap = 1;
	tss_16.ip = (uint16_t)((uint32_t)task16_entry - base16);
	tss_16.flags = 2;
	tss_16.cs = SEL_CODE_16TASK;
	tss_16.ss = tss_16.ds = tss_16.es = SEL_DATA32;
	asm volatile("ltr %w0" :: "r"(SEL_TSS_MAIN));
	idt_set_task_gate(0x85, SEL_TSS_INT);
	idt_set_task_gate(8, SEL_TSS_DF);
	idt_set_task_gate(0x86, SEL_TSS_TINT);
}

static int ts_set_then_clear(void)
{
	int set = (read_cr0() & 8) != 0;
	asm volatile("clts");
	return set;
}

static void test_call_iret(void)
{
	asm volatile("clts");
	asm volatile("lcall $0x28, $0" ::: "memory");
	check(a_runs == 1, "lcall through a task gate runs the task");
	check((a_eflags & NT) != 0, "  the called task has NT set");
	check(a_link == SEL_TSS_MAIN, "  its back link is the caller's TSS");
	check(a_main_type == 0xb && a_self_type == 0xb, "  both TSSs are busy");
	check(desc_type(SEL_TSS_A) == 9, "iret back: the called TSS is no longer busy");
	check(desc_type(SEL_TSS_MAIN) == 0xb, "  the caller's stays busy");
	check((read_eflags() & NT) == 0, "  the caller's NT is clear");
	check(ts_set_then_clear(), "  CR0.TS is set");
	asm volatile("lcall $0x20, $0" ::: "memory");
	check(a_runs == 2, "lcall to the TSS resumes the task after its iret");
}

static void test_jmp(void)
{
	a_by_jmp = 1;
	tss_a.link = 0;
	asm volatile("ljmp $0x20, $0\n\t" ::: "memory");
	a_by_jmp = 0;
	check(a_runs == 3, "ljmp to a TSS runs the task");
	check((a_eflags & NT) == 0, "  without NT");
	check(a_link == 0, "  and without a back link");
	check(a_main_type == 9 && a_self_type == 0xb, "  the old TSS is no longer busy, the new one is");
	check(desc_type(SEL_TSS_MAIN) == 0xb && desc_type(SEL_TSS_A) == 9,
	      "ljmp back: the busy bits go with the running task");
}

static void test_tss16(void)
{
	asm volatile("lcall $0x30, $0" ::: "memory");
	check(t16_runs == 1, "lcall to a 16-bit TSS runs the task");
	check(tss_16.link == SEL_TSS_MAIN, "  its back link is the caller's TSS");
	check(desc_type(SEL_TSS_16) == 1, "  iret back leaves it available (type 1)");
	asm volatile("lcall $0x30, $0" ::: "memory");
	check(t16_runs == 2, "  and a second call resumes it after its iret");
}

static void test_idt_gates(void)
{
	asm volatile("int $0x85" ::: "memory");
	check(int_runs == 1, "int $0x85 through an IDT task gate runs the task");
	check(int_link == SEL_TSS_MAIN && (int_eflags & NT), "  with NT and the back link");

	idt_set_gate(13, 0xe, 0, 0);	/* #GP's gate not present: #GP, then #NP: #DF */
	asm volatile("movl $1f, df_expect_eip\n\t"
		     "movl $2f, df_resume_eip\n\t"
		     "mov $0x1230, %%eax\n"
		     "1:\tmov %%eax, %%ds\n"
		     "2:" ::: "eax", "memory");
	check(df_runs == 1, "#DF through an IDT task gate runs the #DF task");
	check(df_error == 0, "  the error code 0 is on its stack");
	check(df_saved_eip == df_expect_eip, "  the old TSS holds the faulting EIP");
	check(df_link == SEL_TSS_MAIN, "  its back link is the faulting task's TSS");
	check(desc_type(SEL_TSS_DF) == 9, "  iret back leaves it available");
}

static void expect(const char *what, uint32_t count, uint32_t vector, uint32_t error)
{
	int good = last_fault.count == count + 1 && last_fault.vector == vector &&
		   last_fault.error == error && last_fault.eip == fault_rip_expect;
	if (!check(good, what))
		printf("# got %u faults, vector %u error %x eip %x; want vector %u error %x eip %x\n",
		       last_fault.count - count, last_fault.vector, last_fault.error, last_fault.eip,
		       vector, error, fault_rip_expect);
}

static void test_faults(void)
{
	uint32_t n = last_fault.count;
	EXPECT_FAULT("", "lcall $0x18, $0", "");
	expect("#GP(sel) calling a busy TSS", n, 13, SEL_TSS_MAIN);
	n = last_fault.count;
	EXPECT_FAULT("", "ljmp $0x50, $0", "");
	expect("#NP(sel) jumping to a not-present TSS", n, 11, SEL_TSS_ABSENT);
	n = last_fault.count;
	EXPECT_FAULT("", "ljmp $0x48, $0", "");
	expect("#TS(sel) jumping to a TSS whose limit is below 0x67", n, 10, SEL_TSS_SHORT);
	n = last_fault.count;
	tss_main.link = SEL_TSS_A;
	EXPECT_FAULT("pushfl; orl $0x4000, (%%esp); popfl", "iret", "pushfl; andl $~0x4000, (%%esp); popfl");
	expect("#TS(sel) on iret with NT to a TSS that is not busy", n, 10, SEL_TSS_A);
	check(desc_type(SEL_TSS_MAIN) == 0xb && desc_type(SEL_TSS_A) == 9,
	      "  the faults changed no busy bit");
}

/* The T bit.  QEMU leaves it out, so this part runs only when the
 * command line says "tbit" (tests/guest/tasks.sh, minivmm only) */
static void test_trap_bit(void)
{
	trap_set_handler(1, db_handler);
	asm volatile("ljmp $0x60, $0" ::: "memory");
	check(t_runs == 1, "ljmp to a TSS with the T bit runs the task");
	check(db_count == 1 && db_eip == (uint32_t)task_t, "  after a #DB at its first instruction");
	check((db_dr6 & (1u << 15)) != 0, "  with DR6.BT set");
	asm volatile("ljmp $0x60, $0" ::: "memory");
	check(t_runs == 2 && db_count == 2, "  a second switch to it traps again");
	db_dr6 = 0;
	asm volatile("int $0x86" ::: "memory");
	check(tint_runs == 1, "int through a task gate to a TSS with the T bit runs the task");
	check(db_count == 3 && db_eip == (uint32_t)task_tint, "  after a #DB at its first instruction");
	check((db_dr6 & (1u << 15)) != 0, "  with DR6.BT set");
	asm volatile("int $0x86" ::: "memory");
	check(tint_runs == 2 && db_count == 4, "  a second int traps again");
}

static int cmdline_has(const char *word)
{
	const uint32_t *mbi = (const uint32_t *)boot_info;
	if (!mbi || !(mbi[0] & 4))
		return 0;
	const char *s = (const char *)mbi[4];
	for (; *s; s++) {
		unsigned n = 0;
		while (word[n] && s[n] == word[n])
			n++;
		if (!word[n] && (!s[n] || s[n] == ' '))
			return 1;
	}
	return 0;
}

void main(void)
{
	serial_init();
	idt_init();
	puts("tasks: 32-bit protected mode\n");
	setup();
	test_call_iret();
	test_jmp();
	test_tss16();
	test_idt_gates();
	test_faults();
	if (cmdline_has("tbit"))
		test_trap_bit();
	finish();
}
