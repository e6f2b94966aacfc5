/* serial-input: COM1's receiver, fed by the host.  The guest echoes each
 * line it receives as "got: <line>" and stops at the line "quit".
 *
 * Built twice: serial-input takes the bytes in the IRQ4 handler (IER
 * bit 0, FIFO on with trigger level 8, MCR OUT2, PIC remapped to 0x20);
 * serial-input-poll (-DPOLLED) polls LSR.DR with the interrupt off.  The
 * first line is printed once the UART is set up, and the test script
 * sends its input only after seeing it: until then a FIFO reset could
 * drop what the host has already delivered.
 *
 * Input that stops coming for 10 s (by the PIT: IRQ0 at 100 Hz, or
 * channel 2 polled through port 0x61) ends the run with the UART's and
 * the PIC's state printed, rather than a hang. */
#include "cpu64.h"
#include "io.h"
#include "libg.h"

#define UART_RBR 0
#define UART_IER 1
#define UART_IIR 2
#define UART_FCR 2
#define UART_MCR 4
#define UART_LSR 5
#define LSR_DR 0x01	/* (bytes after "quit" may still wait in the FIFO) */
#define LSR_OE 0x02

#define PIC1 0x20
#define PIC2 0xa0
#define IRQ_BASE 0x20
#define COM1_IRQ 4

#define PIT_CH0 0x40
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PORT61 0x61
#define STALL_TICKS 1000	/* 10 s of 100 Hz ticks, or of 10 ms one-shots */

#define RING 8192
#define LINE_MAX 512

static volatile uint8_t ring[RING];
static volatile uint32_t ring_head, ring_tail;	/* head: written by the producer */
static volatile uint32_t overruns, ring_full, bad_iir, irq_count, rx_irqs;
static volatile uint32_t ticks, last_rx_tick, received;

static void rx_drain(void)
{
	uint8_t lsr;
	for (int i = 0; i < 64 && ((lsr = inb(COM1 + UART_LSR)) & LSR_DR); i++) {
		if (lsr & LSR_OE)
			overruns++;
		uint8_t c = inb(COM1 + UART_RBR);
		if (ring_head - ring_tail == RING) {
			ring_full++;
			continue;
		}
		ring[ring_head % RING] = c;
		ring_head++;
		received++;
		last_rx_tick = ticks;
	}
}

#ifndef POLLED
static void com1_irq(struct trap_frame *f)
{
	(void)f;
	irq_count++;
	/* every pending cause, until IIR says none */
	for (int i = 0; i < 16; i++) {
		uint8_t iir = inb(COM1 + UART_IIR);
		if (iir & 0x01)
			break;
		if ((iir & 0xc0) != 0xc0)
			bad_iir++;
		switch (iir & 0x0e) {
		case 0x04:	/* received data at the trigger level */
		case 0x0c:	/* character timeout */
			rx_irqs++;
			rx_drain();
			break;
		default:	/* nothing else is enabled */
			bad_iir++;
			inb(COM1 + UART_LSR);
			inb(COM1 + 6);
			break;
		}
	}
	outb(PIC1, 0x20);
}

static void timer_irq(struct trap_frame *f)
{
	(void)f;
	ticks++;
	outb(PIC1, 0x20);
}

static void spurious_irq(struct trap_frame *f)
{
	(void)f;
}
#else
/* channel 2 as a 10 ms one-shot: each time OUT rose is a tick */
static void pit2_start(void)
{
	outb(PORT61, (inb(PORT61) & ~0x02) | 0x01);
	outb(PIT_CMD, 0xb0);
	outb(PIT_CH2, 11932 & 0xff);
	outb(PIT_CH2, 11932 >> 8);
}

static void pit2_poll(void)
{
	if (inb(PORT61) & 0x20) {
		ticks++;
		pit2_start();
	}
}
#endif

static uint8_t pic_reg(uint8_t ocw3)
{
	outb(PIC1, ocw3);
	return inb(PIC1);
}

__attribute__((noreturn)) static void stalled(void)
{
	asm volatile("cli");
	uint8_t lsr = inb(COM1 + UART_LSR), iir = inb(COM1 + UART_IIR);
	printf("# no input for 10 s after %u bytes: LSR %x IIR %x, PIC IRR %x ISR %x IMR %x, %u IRQ4s\n",
	       received, lsr, iir, pic_reg(0x0a), pic_reg(0x0b), inb(PIC1 + 1), irq_count);
	check(0, "input kept coming until quit");
	finish();
}

/* The next received byte; waits for it */
static uint8_t rx_byte(void)
{
	for (;;) {
		if (ticks - last_rx_tick > STALL_TICKS)
			stalled();
#ifdef POLLED
		rx_drain();
		pit2_poll();
#else
		asm volatile("cli" ::: "memory");
#endif
		if (ring_head != ring_tail) {
			uint8_t c = ring[ring_tail % RING];
			ring_tail++;
#ifndef POLLED
			asm volatile("sti" ::: "memory");
#endif
			return c;
		}
#ifdef POLLED
		asm volatile("pause");
#else
		/* sti's one-instruction shadow: no interrupt slips in before hlt */
		asm volatile("sti; hlt" ::: "memory");
#endif
	}
}

static void uart_setup(void)
{
	serial_init();
	outb(COM1 + UART_FCR, 0x87);	/* FIFOs on, both cleared, trigger level 8 */
	outb(COM1 + UART_MCR, 0x0b);	/* DTR, RTS, OUT2 (the interrupt gate on PCs) */
#ifndef POLLED
	idt_init();
	for (unsigned v = IRQ_BASE; v < IRQ_BASE + 16; v++)
		trap_set_handler(v, spurious_irq);
	trap_set_handler(IRQ_BASE + COM1_IRQ, com1_irq);
	trap_set_handler(IRQ_BASE, timer_irq);
	outb(PIC1, 0x11);
	outb(PIC2, 0x11);
	outb(PIC1 + 1, IRQ_BASE);
	outb(PIC2 + 1, IRQ_BASE + 8);
	outb(PIC1 + 1, 0x04);
	outb(PIC2 + 1, 0x02);
	outb(PIC1 + 1, 0x01);
	outb(PIC2 + 1, 0x01);
	outb(PIC1 + 1, (uint8_t)~(1 << COM1_IRQ | 1 << 0));
	outb(PIC2 + 1, 0xff);
	outb(PIT_CMD, 0x34);	/* channel 0, mode 2, 100 Hz */
	outb(PIT_CH0, 11932 & 0xff);
	outb(PIT_CH0, 11932 >> 8);
	outb(COM1 + UART_IER, 0x01);	/* received data available (and timeout) */
	asm volatile("sti");
#else
	outb(COM1 + UART_IER, 0x00);
	pit2_start();
#endif
}

void main(void)
{
	static char line[LINE_MAX + 1];
	unsigned len = 0, lines = 0, bytes = 0, truncated = 0;

	uart_setup();
#ifdef POLLED
	puts("serial-input: polling LSR.DR; send lines, quit ends\n");
#else
	puts("serial-input: IRQ4 receive interrupts; send lines, quit ends\n");
#endif
	for (;;) {
		uint8_t c = rx_byte();
		bytes++;
		if (c == '\r')
			continue;
		if (c != '\n') {
			if (len < LINE_MAX)
				line[len++] = (char)c;
			else
				truncated++;
			continue;
		}
		unsigned len_was = len;
		line[len] = 0;
		len = 0;
		if (len_was == 4 && line[0] == 'q' && line[1] == 'u' && line[2] == 'i' && line[3] == 't')
			break;
		lines++;
		printf("got: %s\n", line);
	}
#ifndef POLLED
	asm volatile("cli");
#endif
	printf("received %u lines, %u bytes before quit\n", lines, bytes - 5);
	check(!truncated, "no line longer than the guest's buffer");
	check(!ring_full, "the guest's ring buffer never filled");
	check(!overruns, "no overrun (LSR.OE): the host waits for room in the FIFO");
#ifdef POLLED
	check(inb(COM1 + UART_IIR) == 0xc1, "IIR: no interrupt pending, FIFOs on (0xc1)");
#else
	check(irq_count > 0 && rx_irqs > 0, "the bytes came through IRQ4 (vector 0x24)");
	check(!bad_iir, "every IIR read named received data (0x04) or timeout (0x0c), FIFOs on");
#endif
	finish();
}
