#include "cpu64.h"

#include "io.h"
#include "libg.h"

struct idt_gate {
	uint16_t offset0, selector;
	uint8_t ist, type_attr;
	uint16_t offset1;
	uint32_t offset2, zero;
} __attribute__((packed));

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3, iomap_base;
} __attribute__((packed));

extern const uint64_t trap_stubs[256];
extern uint64_t gdt[];
extern uint64_t pd[4 * 512];

static struct idt_gate idt[256] __attribute__((aligned(16)));
static trap_handler handlers[256];
static struct tss64 tss __attribute__((aligned(16)));
static uint64_t page_tables[16][512] __attribute__((aligned(4096)));
static unsigned page_tables_used;

volatile struct fault_record last_fault;
volatile uint64_t fault_resume, fault_rip_expect, fault_rip_after;

void idt_set_gate(unsigned vector, unsigned type, unsigned dpl, unsigned ist)
{
	uint64_t a = trap_stubs[vector];
	idt[vector] = (struct idt_gate){
		.offset0 = a, .selector = SEL_KCODE64, .ist = ist,
		.type_attr = 0x80 | dpl << 5 | type,
		.offset1 = a >> 16, .offset2 = a >> 32,
	};
}

void idt_set_present(unsigned vector, int present)
{
	idt[vector].type_attr = (idt[vector].type_attr & 0x7f) | (present ? 0x80 : 0);
}

void idt_init(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) desc = { sizeof(idt) - 1, (uint64_t)idt };
	for (unsigned v = 0; v < 256; v++)
		idt_set_gate(v, 0xe, 0, 0);
	asm volatile("lidt %0" :: "m"(desc));
}

void trap_set_handler(unsigned vector, trap_handler h)
{
	handlers[vector] = h;
}

void tss_init(uint64_t rsp0, uint64_t ist1)
{
	uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;
	tss.rsp[0] = rsp0;
	tss.ist[0] = ist1;
	tss.iomap_base = sizeof(tss);	/* no I/O bitmap: ring 3 gets no ports */
	gdt[SEL_TSS / 8] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
			   ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
	gdt[SEL_TSS / 8 + 1] = base >> 32;
	asm volatile("ltr %w0" :: "r"(SEL_TSS));
}

void trap_dispatch(struct trap_frame *f)
{
	if (handlers[f->vector]) {
		handlers[f->vector](f);
		return;
	}
	if (fault_resume) {
		last_fault.vector = f->vector;
		last_fault.error = f->error;
		last_fault.rip = f->rip;
		last_fault.cs = f->cs;
		last_fault.rflags = f->rflags;
		last_fault.cr2 = read_cr2();
		last_fault.frame_addr = (uint64_t)f;
		last_fault.count++;
		f->rip = fault_resume;
		fault_resume = 0;
		return;
	}
	printf("unexpected exception: vector %u error %lx rip %lx cr2 %lx\n", (unsigned)f->vector,
	       f->error, f->rip, read_cr2());
	check(0, "no unexpected exception");
	finish();
}

volatile uint64_t *pte_4k(uint64_t addr)
{
	volatile uint64_t *pde = &pd[addr >> 21];
	if (*pde & PTE_PS) {
		if (page_tables_used == 16) {
			puts("out of page tables\n");
			debug_exit(EXIT_FAIL);
		}
		uint64_t *pt = page_tables[page_tables_used++];
		uint64_t base = *pde & 0xffe00000ull, flags = *pde & (PTE_P | PTE_W | PTE_U);
		for (unsigned i = 0; i < 512; i++)
			pt[i] = (base + ((uint64_t)i << 12)) | flags;
		*pde = (uint64_t)pt | PTE_P | PTE_W | PTE_U;
		write_cr3(read_cr3());
	}
	uint64_t *pt = (uint64_t *)(*pde & 0xfffff000ull);
	return &pt[(addr >> 12) & 511];
}

uint64_t (*syscall_handler)(uint64_t nr, uint64_t arg);

/* called by syscall_entry (traps64.S) on the kernel stack */
uint64_t syscall_dispatch(uint64_t nr, uint64_t arg)
{
	if (!syscall_handler) {
		check(0, "SYSCALL with no handler");
		finish();
	}
	return syscall_handler(nr, arg);
}
