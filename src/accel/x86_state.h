/* The x86 register state exchanged between the monitor and an engine.
 * Layout follows the architecture, not any engine: the KVM engine converts
 * to struct kvm_regs/kvm_sregs, the software CPU holds its own copy. */
#ifndef MINIVMM_X86_STATE_H
#define MINIVMM_X86_STATE_H

#include <stdbool.h>
#include <stdint.h>

enum x86_gpr {
	X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
	X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15,
};

struct x86_regs {
	uint64_t gpr[16];	/* indexed by enum x86_gpr */
	uint64_t rip;
	uint64_t rflags;
};

/* A segment register with its descriptor cache, unpacked */
struct x86_segment {
	uint64_t base;
	uint32_t limit;		/* byte granular, already scaled by G */
	uint16_t selector;
	uint8_t type;		/* 4-bit descriptor type */
	uint8_t s, dpl, present, avl, l, db, g;
	uint8_t unusable;	/* a null selector loaded in protected mode */
};

struct x86_dtable {
	uint64_t base;
	uint16_t limit;
};

enum x86_seg {
	X86_ES, X86_CS, X86_SS, X86_DS, X86_FS, X86_GS, X86_LDTR, X86_TR, X86_NR_SEGS,
};

struct x86_sregs {
	struct x86_segment seg[X86_NR_SEGS];	/* indexed by enum x86_seg */
	struct x86_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t apic_base;
};

#define X86_CR0_PE (1ull << 0)
#define X86_CR0_MP (1ull << 1)
#define X86_CR0_EM (1ull << 2)
#define X86_CR0_TS (1ull << 3)
#define X86_CR0_ET (1ull << 4)
#define X86_CR0_NE (1ull << 5)
#define X86_CR0_WP (1ull << 16)
#define X86_CR0_AM (1ull << 18)
#define X86_CR0_NW (1ull << 29)
#define X86_CR0_CD (1ull << 30)
#define X86_CR0_PG (1ull << 31)

#define X86_CR4_VME (1ull << 0)
#define X86_CR4_PVI (1ull << 1)
#define X86_CR4_TSD (1ull << 2)
#define X86_CR4_DE (1ull << 3)
#define X86_CR4_PSE (1ull << 4)
#define X86_CR4_PAE (1ull << 5)
#define X86_CR4_MCE (1ull << 6)
#define X86_CR4_PGE (1ull << 7)
#define X86_CR4_PCE (1ull << 8)
#define X86_CR4_OSFXSR (1ull << 9)
#define X86_CR4_OSXMMEXCPT (1ull << 10)
#define X86_CR4_UMIP (1ull << 11)
#define X86_CR4_FSGSBASE (1ull << 16)
#define X86_CR4_PCIDE (1ull << 17)
#define X86_CR4_OSXSAVE (1ull << 18)
#define X86_CR4_SMEP (1ull << 20)
#define X86_CR4_SMAP (1ull << 21)

#define X86_EFER_SCE (1ull << 0)
#define X86_EFER_LME (1ull << 8)
#define X86_EFER_LMA (1ull << 10)
#define X86_EFER_NXE (1ull << 11)

#define X86_RFLAGS_CF (1ull << 0)
#define X86_RFLAGS_FIXED (1ull << 1)
#define X86_RFLAGS_PF (1ull << 2)
#define X86_RFLAGS_AF (1ull << 4)
#define X86_RFLAGS_ZF (1ull << 6)
#define X86_RFLAGS_SF (1ull << 7)
#define X86_RFLAGS_TF (1ull << 8)
#define X86_RFLAGS_IF (1ull << 9)
#define X86_RFLAGS_DF (1ull << 10)
#define X86_RFLAGS_OF (1ull << 11)
#define X86_RFLAGS_IOPL (3ull << 12)
#define X86_RFLAGS_NT (1ull << 14)
#define X86_RFLAGS_RF (1ull << 16)
#define X86_RFLAGS_VM (1ull << 17)
#define X86_RFLAGS_AC (1ull << 18)
#define X86_RFLAGS_VIF (1ull << 19)
#define X86_RFLAGS_VIP (1ull << 20)
#define X86_RFLAGS_ID (1ull << 21)

#define MSR_IA32_TSC 0x10
#define MSR_IA32_APIC_BASE 0x1b
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_PAT 0x277
#define MSR_IA32_TSC_DEADLINE 0x6e0
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX 0xc0000103

#endif
