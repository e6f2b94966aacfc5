/* Descriptor tables, traps, ring 3 and page-table helpers for the 64-bit
 * guests. */
#ifndef GUEST_CPU64_H
#define GUEST_CPU64_H

#include <stdint.h>

#include "gdt.h"

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;	/* pushed by the CPU */
};

/* What the last expected fault looked like (see EXPECT_FAULT) */
struct fault_record {
	uint64_t count;
	uint64_t vector, error, rip, cs, rflags, cr2, frame_addr;
};
extern volatile struct fault_record last_fault;
/* Where to resume after the next fault, taken by trap_dispatch (0: none;
 * an unexpected fault prints what happened and ends the run). */
extern volatile uint64_t fault_resume;

/* Run setup, then insn expecting it to fault, then post (asm text; input
 * operands after them; they may use rax, rcx, rdx freely).
 * fault_rip_expect receives the address of the start of insn,
 * fault_rip_after its end, where execution resumes after the fault. */
extern volatile uint64_t fault_rip_expect, fault_rip_after;
#define EXPECT_FAULT(setup, insn, post, ...)                                        \
	asm volatile("movq $1f, fault_rip_expect\n\tmovq $2f, fault_rip_after\n\t"  \
		     "movq $2f, fault_resume\n\t" setup "\n1:\t" insn "\n2:\t" post  \
		     :: __VA_ARGS__ : "rax", "rcx", "rdx", "memory")

typedef void (*trap_handler)(struct trap_frame *f);

void idt_init(void);
/* type: 0xe interrupt gate, 0xf trap gate; ist 0 = none */
void idt_set_gate(unsigned vector, unsigned type, unsigned dpl, unsigned ist);
void idt_set_present(unsigned vector, int present);
void trap_set_handler(unsigned vector, trap_handler h);
void tss_init(uint64_t rsp0, uint64_t ist1);

/* The kernel stack that SYSCALL switches to */
extern uint64_t syscall_kernel_rsp;
uint64_t enter_user(uint64_t rip, uint64_t rsp);
__attribute__((noreturn)) void leave_user(uint64_t value);
void syscall_entry(void);
extern uint64_t (*syscall_handler)(uint64_t nr, uint64_t arg);

/* The 4 KiB PTE for addr, splitting its 2 MiB page into a page table on
 * first use (addr below 4 GiB). */
volatile uint64_t *pte_4k(uint64_t addr);

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_U (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_G (1ull << 8)
#define PTE_NX (1ull << 63)

static inline uint16_t read_cs(void) { uint16_t v; asm volatile("mov %%cs, %0" : "=r"(v)); return v; }
static inline uint16_t read_ss(void) { uint16_t v; asm volatile("mov %%ss, %0" : "=r"(v)); return v; }
static inline uint64_t read_rflags(void) { uint64_t v; asm volatile("pushfq; popq %0" : "=r"(v)); return v; }

#endif
