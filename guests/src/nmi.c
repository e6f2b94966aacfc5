/* nmi: an NMI ends HLT whatever IF says.  Pin 2 of the I/O APIC (ISA IRQ 0,
 * the PIT, as on every PC) is routed as an NMI to CPU 0 and the PIT set to
 * 1 kHz; the guest then halts with IF=0 (cli; hlt), where nothing but an NMI
 * can wake it, and with IF=1 (sti; hlt) with the PICs masked.  Run with
 * -smp 1 and -smp 2 (an AP that never starts, beside the halted BSP). */
#include "cpu32.h"
#include "io.h"
#include "libg.h"

#define IOAPIC_BASE 0xfec00000u
#define PIT_HZ 1193182u

static volatile uint32_t nmis;

static void on_nmi(struct trap_frame32 *f)
{
	(void)f;
	nmis++;
}

static void ioapic_write(unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)IOAPIC_BASE = reg;
	*(volatile uint32_t *)(IOAPIC_BASE + 0x10) = v;
}

/* Redirection entry 2: delivery mode NMI (4), edge, physical, APIC 0 */
static void pin2_as_nmi(int on)
{
	ioapic_write(0x15, 0);
	ioapic_write(0x14, (on ? 0 : 1u << 16) | 4u << 8);
}

/* Did an NMI come while halted?  One that comes just before the hlt is
 * counted too, and the next (1 ms later) ends the hlt then. */
static int halt_for_nmi(int with_if)
{
	uint32_t before = nmis;
	if (with_if)
		asm volatile("sti; hlt; cli" ::: "memory");
	else
		asm volatile("cli; hlt" ::: "memory");
	return nmis != before;
}

void main(void)
{
	serial_init();
	idt_init();
	trap_set_handler(2, on_nmi);
	puts("nmi: the PIT's pin on the I/O APIC delivers NMIs\n");
	outb(0x43, 0x34);	/* channel 0, mode 2, both bytes */
	outb(0x40, (PIT_HZ / 1000) & 0xff);
	outb(0x40, (PIT_HZ / 1000) >> 8);
	pin2_as_nmi(1);
	check(halt_for_nmi(0), "an NMI ends HLT with IF=0 (cli; hlt)");
	check(halt_for_nmi(1), "an NMI ends HLT with IF=1 and the PICs masked (sti; hlt)");
	int woken = 0;
	for (int i = 0; i < 20; i++)
		woken += halt_for_nmi(0);
	check(woken == 20, "twenty more, one after another");
	pin2_as_nmi(0);
	finish();
}
