#include "cpu32.h"

#include "io.h"
#include "libg.h"

struct idt_gate32 {
	uint16_t offset0, selector;
	uint8_t zero, type_attr;
	uint16_t offset1;
} __attribute__((packed));

extern const uint32_t trap_stubs[256];
static struct idt_gate32 idt[256] __attribute__((aligned(8)));
static trap_handler32 handlers[256];

volatile struct fault_record last_fault;
volatile uint32_t fault_resume, fault_rip_expect, fault_rip_after;

void idt_set_gate(unsigned vector, unsigned type, unsigned dpl, int present)
{
	uint32_t a = trap_stubs[vector];
	idt[vector] = (struct idt_gate32){
		.offset0 = a, .selector = SEL_CODE32,
		.type_attr = (present ? 0x80 : 0) | dpl << 5 | type,
		.offset1 = a >> 16,
	};
}

void idt_set_task_gate(unsigned vector, uint16_t tss_selector)
{
	idt[vector] = (struct idt_gate32){ .selector = tss_selector, .type_attr = 0x85 };
}

void idt_init(void)
{
	struct { uint16_t limit; uint32_t base; } __attribute__((packed)) desc = { sizeof(idt) - 1, (uint32_t)idt };
	for (unsigned v = 0; v < 256; v++)
		idt_set_gate(v, 0xe, 0, 1);
	asm volatile("lidt %0" :: "m"(desc));
}

void trap_set_handler(unsigned vector, trap_handler32 h)
{
	handlers[vector] = h;
}

void trap_dispatch(struct trap_frame32 *f)
{
	if (handlers[f->vector]) {
		handlers[f->vector](f);
		return;
	}
	if (fault_resume) {
		last_fault.vector = f->vector;
		last_fault.error = f->error;
		last_fault.eip = f->eip;
		last_fault.cs = f->cs;
		last_fault.eflags = f->eflags;
		last_fault.cr2 = read_cr2();
		last_fault.count++;
		f->eip = fault_resume;
		fault_resume = 0;
		return;
	}
	printf("unexpected exception: vector %u error %x eip %x cr2 %x\n", f->vector, f->error, f->eip,
	       (unsigned)read_cr2());
	check(0, "no unexpected exception");
	finish();
}
