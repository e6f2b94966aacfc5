/* IDT and expected faults for the 32-bit guests (GDT from boot32.S). */
#ifndef GUEST_CPU32_H
#define GUEST_CPU32_H

#include <stdint.h>

#define SEL_CODE32 0x08
#define SEL_DATA32 0x10

struct trap_frame32 {
	uint32_t edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax;
	uint32_t vector, error;
	uint32_t eip, cs, eflags;	/* pushed by the CPU */
};

struct fault_record {
	uint32_t count, vector, error, eip, cs, eflags, cr2;
};
extern volatile struct fault_record last_fault;
extern volatile uint32_t fault_resume, fault_rip_expect, fault_rip_after;

/* As in cpu64.h: setup, then insn which must fault, resume after it, post */
#define EXPECT_FAULT(setup, insn, post, ...)                                        \
	asm volatile("movl $1f, fault_rip_expect\n\tmovl $2f, fault_rip_after\n\t"  \
		     "movl $2f, fault_resume\n\t" setup "\n1:\t" insn "\n2:\t" post  \
		     :: __VA_ARGS__ : "eax", "ecx", "edx", "memory")

typedef void (*trap_handler32)(struct trap_frame32 *f);

void idt_init(void);
void idt_set_gate(unsigned vector, unsigned type, unsigned dpl, int present);	/* 0xe int, 0xf trap */
void idt_set_task_gate(unsigned vector, uint16_t tss_selector);
void trap_set_handler(unsigned vector, trap_handler32 h);

static inline uint32_t read_eflags(void) { uint32_t v; asm volatile("pushfl; popl %0" : "=r"(v)); return v; }

#endif
