/* The state a PC's processors and interrupt controllers have after RESET,
 * as KVM takes it.  Pure functions: kvm_vcpu.c writes their result with
 * the matching KVM_SET_* ioctls at power-on and on every machine reset,
 * so that nothing a guest left behind survives a reboot. */
#include "accel/kvm/kvm_internal.h"

#include <string.h>

/* Local APIC register offsets (Intel SDM vol. 3, table 11-1) */
#define APIC_REG_ID 0x20
#define APIC_REG_DFR 0xe0
#define APIC_REG_SVR 0xf0
#define APIC_REG_LVT_CMCI 0x2f0
#define APIC_REG_LVT_TIMER 0x320
#define APIC_REG_LVT_THERMAL 0x330
#define APIC_REG_LVT_PERF 0x340
#define APIC_REG_LVT_LINT0 0x350
#define APIC_REG_LVT_LINT1 0x360
#define APIC_REG_LVT_ERROR 0x370
#define APIC_LVT_MASKED (1u << 16)
#define APIC_DM_EXTINT (7u << 8)

#define APIC_DEFAULT_BASE 0xfee00000ull
#define MSR_APIC_BASE_BSP (1ull << 8)
#define MSR_APIC_BASE_ENABLE (1ull << 11)

void kvm_power_on_regs(struct x86_regs *regs, uint32_t cpu_signature)
{
	memset(regs, 0, sizeof(*regs));
	regs->rip = 0xfff0;
	regs->rflags = X86_RFLAGS_FIXED;
	regs->gpr[X86_RDX] = cpu_signature;
}

static void real_mode_segment(struct x86_segment *s, uint16_t selector, uint8_t type, uint8_t is_code_or_data)
{
	memset(s, 0, sizeof(*s));
	s->selector = selector;
	s->base = (uint64_t)selector << 4;
	s->limit = 0xffff;
	s->type = type;
	s->s = is_code_or_data;
	s->present = 1;
}

void kvm_power_on_sregs(struct x86_sregs *sregs, bool bsp)
{
	memset(sregs, 0, sizeof(*sregs));
	for (int i = 0; i < X86_NR_SEGS; i++)
		real_mode_segment(&sregs->seg[i], 0, 0x3, 1);	/* data, read/write, accessed */
	/* CS selector F000 with the base at the top of the 4 GiB space, so
	 * the first fetch comes from 0xFFFFFFF0 */
	real_mode_segment(&sregs->seg[X86_CS], 0xf000, 0xb, 1);	/* code, read, accessed */
	sregs->seg[X86_CS].base = 0xffff0000;
	real_mode_segment(&sregs->seg[X86_LDTR], 0, 0x2, 0);	/* LDT */
	real_mode_segment(&sregs->seg[X86_TR], 0, 0xb, 0);	/* busy TSS, as VMX requires */
	sregs->gdt.limit = 0xffff;
	sregs->idt.limit = 0xffff;
	sregs->cr0 = X86_CR0_CD | X86_CR0_NW | X86_CR0_ET;
	sregs->apic_base = APIC_DEFAULT_BASE | MSR_APIC_BASE_ENABLE | (bsp ? MSR_APIC_BASE_BSP : 0);
}

static void lapic_set(struct kvm_lapic_state *lapic, unsigned reg, uint32_t value)
{
	memcpy(&lapic->regs[reg], &value, sizeof(value));
}

/* The version register is left 0: KVM_SET_LAPIC fills in its own. */
void kvm_power_on_lapic(struct kvm_lapic_state *lapic, unsigned apic_id, bool bsp)
{
	static const unsigned lvts[] = {
		APIC_REG_LVT_CMCI, APIC_REG_LVT_TIMER, APIC_REG_LVT_THERMAL, APIC_REG_LVT_PERF,
		APIC_REG_LVT_LINT0, APIC_REG_LVT_LINT1, APIC_REG_LVT_ERROR,
	};
	memset(lapic, 0, sizeof(*lapic));
	lapic_set(lapic, APIC_REG_ID, (uint32_t)apic_id << 24);	/* xAPIC format */
	lapic_set(lapic, APIC_REG_DFR, 0xffffffffu);
	lapic_set(lapic, APIC_REG_SVR, 0xff);	/* software disabled, spurious vector 0xff */
	for (size_t i = 0; i < sizeof(lvts) / sizeof(lvts[0]); i++)
		lapic_set(lapic, lvts[i], APIC_LVT_MASKED);
	/* As KVM does for a new BSP (KVM_X86_QUIRK_LINT0_REENABLED): the PIC's
	 * output reaches the boot CPU through LINT0 in ExtINT mode, so a guest
	 * that never touches its local APIC still gets PIC interrupts. */
	if (bsp)
		lapic_set(lapic, APIC_REG_LVT_LINT0, APIC_DM_EXTINT);
}

void kvm_power_on_fpu(struct kvm_fpu *fpu)
{
	memset(fpu, 0, sizeof(*fpu));
	fpu->fcw = 0x37f;	/* FNINIT */
	fpu->mxcsr = 0x1f80;
}

/* As KVM's own 8259 reset, keeping what describes the board rather than
 * the chip's state: the edge/level mask (elcr_mask) and the ELCR. */
void kvm_power_on_pic(struct kvm_pic_state *pic)
{
	uint8_t elcr = pic->elcr, elcr_mask = pic->elcr_mask;
	memset(pic, 0, sizeof(*pic));
	pic->elcr = elcr & elcr_mask;
	pic->elcr_mask = elcr_mask;
}

void kvm_power_on_ioapic(struct kvm_ioapic_state *ioapic)
{
	uint64_t base = ioapic->base_address;
	memset(ioapic, 0, sizeof(*ioapic));
	ioapic->base_address = base;
	for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		ioapic->redirtbl[i].fields.mask = 1;
}

/* Channels with no mode programmed (KVM's 0xff) and no timer running;
 * the gates of channels 0 and 1 are tied high, channel 2's belongs to
 * port 0x61. */
void kvm_power_on_pit(struct kvm_pit_state2 *pit)
{
	uint32_t flags = pit->flags & KVM_PIT_FLAGS_HPET_LEGACY;
	memset(pit, 0, sizeof(*pit));
	for (int i = 0; i < 3; i++) {
		pit->channels[i].mode = 0xff;
		pit->channels[i].gate = i != 2;
	}
	pit->flags = flags;
}
