/* The 16550A UART through its ports, as a guest driver sees it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

#include "core/chardev.h"
#include "core/console.h"
#include "hw/pc.h"
#include "hw/uart16550.h"
#include "platform_vm.h"

#define COM1 0x3f8
#define RBR (COM1 + 0)
#define THR (COM1 + 0)
#define DLL (COM1 + 0)
#define IER (COM1 + 1)
#define DLM (COM1 + 1)
#define IIR (COM1 + 2)
#define FCR (COM1 + 2)
#define LCR (COM1 + 3)
#define MCR (COM1 + 4)
#define LSR (COM1 + 5)
#define MSR (COM1 + 6)
#define SCR (COM1 + 7)
#define IRQ 4

/* set_irq calls, to see that the line is driven only when it changes */
static int irq_calls;
static struct accel_ops counting_accel;

static int counting_set_irq(struct vm *vm, unsigned gsi, int level)
{
	if (gsi == IRQ)
		irq_calls++;
	return fake_set_irq(vm, gsi, level);
}

static char out_path[64];

/* A machine with COM1 writing to a fresh temporary file */
static struct vm *uart_vm(struct uart16550 **uart)
{
	struct vm *vm = test_vm_new();
	counting_accel = fake_accel;
	counting_accel.set_irq = counting_set_irq;
	vm->accel = &counting_accel;
	irq_calls = 0;
	strcpy(out_path, "/tmp/minivmm-uart-XXXXXX");
	int fd = mkstemp(out_path);
	if (fd >= 0)
		close(fd);
	struct chardev_config cfg = { .kind = CHARDEV_FILE, .path = out_path };
	CHECK_EQ(uart16550_create(vm, COM1, IRQ, &cfg, uart), 0);
	return vm;
}

/* The same writing into a FIFO whose read end (*reader, non-blocking, one
 * page big) the test holds: a host reader that can stall */
static struct vm *uart_fifo_vm(int *reader)
{
	struct vm *vm = test_vm_new();
	counting_accel = fake_accel;
	counting_accel.set_irq = counting_set_irq;
	vm->accel = &counting_accel;
	strcpy(out_path, "/tmp/minivmm-uart-XXXXXX");
	int fd = mkstemp(out_path);
	if (fd >= 0)
		close(fd);
	unlink(out_path);
	CHECK_EQ(mkfifo(out_path, 0600), 0);
	*reader = open(out_path, O_RDONLY | O_NONBLOCK);
	CHECK(*reader >= 0);
	fcntl(*reader, F_SETPIPE_SZ, 4096);
	struct chardev_config cfg = { .kind = CHARDEV_FILE, .path = out_path };
	CHECK_EQ(uart16550_create(vm, COM1, IRQ, &cfg, NULL), 0);
	return vm;
}

/* What the main loop does when the reader has taken some */
static void flush_sinks(struct vm *vm)
{
	pthread_mutex_lock(&vm->dev_lock);
	for (unsigned i = 0; i < vm->nr_chardevs; i++)
		chardev_flush(vm->chardevs[i]);
	pthread_mutex_unlock(&vm->dev_lock);
}

static void uart_vm_free(struct vm *vm)
{
	test_vm_free(vm);
	unlink(out_path);
}

static size_t read_output(char *buf, size_t cap)
{
	int fd = open(out_path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n > 0 ? (size_t)n : 0;
}

TEST(reset_values)
{
	struct uart16550 *u;
	struct vm *vm = uart_vm(&u);
	CHECK(u != NULL);
	CHECK_EQ(inb(vm, IER), 0x00);
	CHECK_EQ(inb(vm, IIR), 0x01);
	CHECK_EQ(inb(vm, LCR), 0x00);
	CHECK_EQ(inb(vm, MCR), 0x00);
	CHECK_EQ(inb(vm, LSR), 0x60);	/* THRE | TEMT */
	CHECK_EQ(inb(vm, MSR), 0xb0);	/* DCD | DSR | CTS, no deltas */
	CHECK_EQ(fake_irq_level[IRQ], 0);
	CHECK_EQ(irq_calls, 0);
	uart_vm_free(vm);
}

TEST(divisor_latch)
{
	struct uart16550 *u;
	struct vm *vm = uart_vm(&u);
	outb(vm, LCR, 0x83);	/* DLAB, 8N1 */
	outb(vm, DLL, 0xcd);
	outb(vm, DLM, 0xab);
	CHECK_EQ(inb(vm, DLL), 0xcd);
	CHECK_EQ(inb(vm, DLM), 0xab);
	CHECK_EQ(inb(vm, LCR), 0x83);
	outb(vm, LCR, 0x03);
	/* with DLAB off the same ports are RBR/THR and IER */
	CHECK_EQ(inb(vm, IER), 0x00);
	outb(vm, IER, 0x05);
	CHECK_EQ(inb(vm, IER), 0x05);
	outb(vm, LCR, 0x83);
	CHECK_EQ(inb(vm, DLL), 0xcd);
	CHECK_EQ(inb(vm, DLM), 0xab);
	/* writes with DLAB set never reach THR */
	outb(vm, DLL, 0x01);
	outb(vm, DLM, 0x00);
	char buf[16];
	CHECK_EQ(read_output(buf, sizeof(buf)), 0);
	outb(vm, LCR, 0x03);
	CHECK_EQ(inb(vm, IER), 0x05);
	uart_vm_free(vm);
}

TEST(scratch_and_ier_bits)
{
	struct uart16550 *u;
	struct vm *vm = uart_vm(&u);
	for (unsigned v = 0; v < 256; v += 51) {
		outb(vm, SCR, v);
		CHECK_EQ(inb(vm, SCR), v);
	}
	/* IER bits 4-7 always read 0 (Linux probes this) */
	outb(vm, IER, 0xff);
	CHECK_EQ(inb(vm, IER), 0x0f);
	outb(vm, IER, 0x00);
	CHECK_EQ(inb(vm, IER), 0x00);
	/* MCR keeps five bits */
	outb(vm, MCR, 0xff);
	CHECK_EQ(inb(vm, MCR), 0x1f);
	/* LSR and MSR ignore writes */
	outb(vm, MCR, 0x00);
	inb(vm, MSR);
	outb(vm, LSR, 0x00);
	outb(vm, MSR, 0x00);
	CHECK_EQ(inb(vm, LSR), 0x60);
	CHECK_EQ(inb(vm, MSR), 0xb0);
	uart_vm_free(vm);
}

TEST(output_reaches_file)
{
	struct uart16550 *u;
	struct vm *vm = uart_vm(&u);
	const char *msg = "hello, serial\r\n";
	for (const char *p = msg; *p; p++) {
		CHECK_EQ(inb(vm, LSR) & 0x20, 0x20);
		outb(vm, THR, (uint8_t)*p);
	}
	CHECK_EQ(inb(vm, LSR), 0x60);
	char buf[64];
	read_output(buf, sizeof(buf));
	CHECK_STR(buf, msg);
	uart_vm_free(vm);
}

TEST(fifo_fill_and_overrun)
{
	struct uart16550 *u;
	struct vm *vm = uart_vm(&u);
	outb(vm, FCR, 0x07);	/* FIFOs on and cleared, trigger 1 */
	CHECK_EQ(inb(vm, IIR) & 0xc0, 0xc0);
	outb(vm, MCR, 0x10);	/* loopback: our bytes come back */
	for (unsigned i = 0; i < 16; i++)
		outb(vm, THR, 0x40 + i);
	CHECK_EQ(inb(vm, LSR), 0x61);	/* full, no overrun yet */
	outb(vm, THR, 0x99);	/* 17th: lost, OE */
	CHECK_EQ(inb(vm, LSR), 0x63);
	CHECK_EQ(inb(vm, LSR), 0x61);	/* OE clears on read */
	for (unsigned i = 0; i < 16; i++)
		CHECK_EQ(inb(vm, RBR), 0x40 + i);
	CHECK_EQ(inb(vm, LSR), 0x60);
	/* nothing went out on the line in loopback */
	char buf[64];
	CHECK_EQ(read_output(buf, sizeof(buf)), 0);
	uart_vm_free(vm);
}

TEST(overrun_without_fifo)
{
	struct uart16550 *u;
	struct vm *vm = uart_vm(&u);
	outb(vm, MCR, 0x10);
	outb(vm, THR, 0x01);
	outb(vm, THR, 0x02);	/* replaces the unread byte */
	CHECK_EQ(inb(vm, LSR), 0x63);
	CHECK_EQ(inb(vm, RBR), 0x02);
	CHECK_EQ(inb(vm, LSR), 0x60);
	uart_vm_free(vm);
}

TEST(receive_capacity)
{
	struct uart16550 *u;
	struct vm *vm = uart_vm(&u);
	uint8_t bytes[20];
	for (unsigned i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)('a' + i);
	/* without FIFOs RBR holds one byte, and host input never overruns */
	CHECK_EQ(uart16550_receive(u, bytes, sizeof(bytes)), 1);
	CHECK_EQ(uart16550_receive(u, bytes, sizeof(bytes)), 0);
	CHECK_EQ(inb(vm, LSR), 0x61);
	CHECK_EQ(inb(vm, RBR), 'a');
	outb(vm, FCR, 0x01);
	CHECK_EQ(uart16550_receive(u, bytes, sizeof(bytes)), 16);
	CHECK_EQ(uart16550_receive(u, bytes + 16, 4), 0);
	for (unsigned i = 0; i < 16; i++)
		CHECK_EQ(inb(vm, RBR), 'a' + i);
	CHECK_EQ(inb(vm, LSR) & 0x01, 0);
	/* an empty RBR repeats the last byte */
	CHECK_EQ(inb(vm, RBR), 'a' + 15);
	/* loopback disconnects the receiver from the line */
	outb(vm, MCR, 0x10);
	CHECK_EQ(uart16550_receive(u, bytes, 1), 0);
	outb(vm, MCR, 0x00);
	CHECK_EQ(uart16550_receive(u, bytes, 1), 1);
	/* clearing the receive FIFO drops what it holds */
	outb(vm, FCR, 0x03);
	CHECK_EQ(inb(vm, LSR), 0x60);
	/* switching the FIFOs off resets them too */
	CHECK_EQ(uart16550_receive(u, bytes, 3), 3);
	outb(vm, FCR, 0x00);
	CHECK_EQ(inb(vm, LSR), 0x60);
	CHECK_EQ(inb(vm, IIR) & 0xc0, 0x00);
	uart_vm_free(vm);
}

TEST(trigger_levels)
{
	static const struct {
		uint8_t fcr;
		unsigned level;
	} levels[] = { { 0x07, 1 }, { 0x47, 4 }, { 0x87, 8 }, { 0xc7, 14 } };
	struct uart16550 *u;
	struct vm *vm = uart_vm(&u);
	uint8_t bytes[16] = { 0 };
	outb(vm, IER, 0x01);	/* received data only */
	for (unsigned i = 0; i < 4; i++) {
		outb(vm, FCR, levels[i].fcr);
		CHECK_EQ(inb(vm, IIR), 0xc1);
		CHECK_EQ(fake_irq_level[IRQ], 0);
		/* below the trigger: the character timeout tells the guest */
		if (levels[i].level > 1) {
			CHECK_EQ(uart16550_receive(u, bytes, levels[i].level - 1),
				 levels[i].level - 1);
			CHECK_EQ(inb(vm, IIR), 0xcc);
			CHECK_EQ(fake_irq_level[IRQ], 1);
		}
		/* at the trigger: received data available */
		CHECK_EQ(uart16550_receive(u, bytes, 1), 1);
		CHECK_EQ(inb(vm, IIR), 0xc4);
		CHECK_EQ(fake_irq_level[IRQ], 1);
		/* one read takes it below the trigger again */
		inb(vm, RBR);
		if (levels[i].level > 1)
			CHECK_EQ(inb(vm, IIR), 0xcc);
		else
			CHECK_EQ(inb(vm, IIR), 0xc1);
	}
	/* without FIFOs any byte is "data available" */
	outb(vm, FCR, 0x00);
	CHECK_EQ(uart16550_receive(u, bytes, 1), 1);
	CHECK_EQ(inb(vm, IIR), 0x04);
	inb(vm, RBR);
	CHECK_EQ(inb(vm, IIR), 0x01);
	CHECK_EQ(fake_irq_level[IRQ], 0);
	uart_vm_free(vm);
}

TEST(iir_priority_sequence)
{
	struct uart16550 *u;
	struct vm *vm = uart_vm(&u);
	outb(vm, FCR, 0x47);	/* FIFO, trigger 4 */
	outb(vm, MCR, 0x10);	/* loopback */
	for (unsigned i = 0; i < 17; i++)
		outb(vm, THR, i);	/* fills, then overruns */
	outb(vm, MCR, 0x1b);	/* loopback with DTR/RTS/OUT2: DSR, CTS, DCD rise */
	outb(vm, IER, 0x0f);	/* everything at once */
	CHECK_EQ(fake_irq_level[IRQ], 1);
	/* line status first; reading IIR does not clear it */
	CHECK_EQ(inb(vm, IIR), 0xc6);
	CHECK_EQ(inb(vm, IIR), 0xc6);
	CHECK_EQ(inb(vm, LSR), 0x63);
	/* then received data, until the FIFO is below the trigger... */
	CHECK_EQ(inb(vm, IIR), 0xc4);
	for (unsigned i = 0; i < 12; i++)
		CHECK_EQ(inb(vm, RBR), i);
	CHECK_EQ(inb(vm, IIR), 0xc4);	/* 4 left: still at the trigger */
	CHECK_EQ(inb(vm, RBR), 12);
	/* ...then the timeout for the rest */
	CHECK_EQ(inb(vm, IIR), 0xcc);
	for (unsigned i = 13; i < 16; i++)
		CHECK_EQ(inb(vm, RBR), i);
	/* THR empty: reading IIR acknowledges it */
	CHECK_EQ(inb(vm, IIR), 0xc2);
	/* modem status last; reading MSR clears the deltas */
	CHECK_EQ(inb(vm, IIR), 0xc0);
	CHECK_EQ(inb(vm, IIR), 0xc0);
	CHECK_EQ(fake_irq_level[IRQ], 1);
	CHECK_EQ(inb(vm, MSR), 0xb0 | 0x01 | 0x02 | 0x08);
	CHECK_EQ(inb(vm, IIR), 0xc1);
	CHECK_EQ(fake_irq_level[IRQ], 0);
	uart_vm_free(vm);
}

TEST(thre_interrupt_rearm)
{
	struct uart16550 *u;
	struct vm *vm = uart_vm(&u);
	outb(vm, IER, 0x02);
	CHECK_EQ(inb(vm, IIR), 0x02);
	CHECK_EQ(fake_irq_level[IRQ], 0);	/* that read acknowledged it */
	CHECK_EQ(inb(vm, IIR), 0x01);
	/* writing IER again without a change leaves it acknowledged */
	outb(vm, IER, 0x02);
	CHECK_EQ(inb(vm, IIR), 0x01);
	/* turning THRI off and on re-arms it (Linux's UART_BUG_THRE probe) */
	outb(vm, IER, 0x00);
	outb(vm, IER, 0x02);
	CHECK_EQ(fake_irq_level[IRQ], 1);
	CHECK_EQ(inb(vm, IIR), 0x02);
	CHECK_EQ(inb(vm, IIR), 0x01);
	/* each transmitted byte empties THR again: a fresh edge each time */
	int rises = fake_irq_rises[IRQ];
	outb(vm, THR, 'x');
	CHECK_EQ(fake_irq_level[IRQ], 1);
	CHECK_EQ(fake_irq_rises[IRQ], rises + 1);
	/* a driver that writes THR without reading IIR still sees an edge */
	outb(vm, THR, 'y');
	CHECK_EQ(fake_irq_rises[IRQ], rises + 2);
	/* disabling THRI drops the line */
	outb(vm, IER, 0x00);
	CHECK_EQ(fake_irq_level[IRQ], 0);
	CHECK_EQ(inb(vm, IIR), 0x01);
	uart_vm_free(vm);
}

TEST(irq_driven_only_on_change)
{
	struct uart16550 *u;
	struct vm *vm = uart_vm(&u);
	uint8_t b = 'k';
	outb(vm, IER, 0x01);
	CHECK_EQ(irq_calls, 0);
	uart16550_receive(u, &b, 1);
	CHECK_EQ(irq_calls, 1);
	/* reading status registers does not touch the line */
	for (int i = 0; i < 5; i++) {
		inb(vm, LSR);
		inb(vm, IIR);
		inb(vm, MSR);
		outb(vm, SCR, i);
	}
	CHECK_EQ(irq_calls, 1);
	inb(vm, RBR);
	CHECK_EQ(irq_calls, 2);
	CHECK_EQ(fake_irq_level[IRQ], 0);
	uart_vm_free(vm);
}

TEST(loopback_modem_lines)
{
	struct uart16550 *u;
	struct vm *vm = uart_vm(&u);
	/* Linux's probe: RTS|OUT2 in loopback must read back as CTS|DCD */
	outb(vm, MCR, 0x10 | 0x0a);
	CHECK_EQ(inb(vm, MSR) & 0xf0, 0x90);
	outb(vm, MCR, 0x10 | 0x01);	/* DTR -> DSR */
	CHECK_EQ(inb(vm, MSR), 0x20 | 0x01 | 0x02 | 0x08);
	CHECK_EQ(inb(vm, MSR), 0x20);
	outb(vm, MCR, 0x10 | 0x04);	/* OUT1 -> RI: a rising edge is no delta */
	CHECK_EQ(inb(vm, MSR), 0x40 | 0x02);
	outb(vm, MCR, 0x10);	/* RI falls: trailing edge */
	CHECK_EQ(inb(vm, MSR), 0x04);
	/* modem status interrupt */
	outb(vm, IER, 0x08);
	CHECK_EQ(inb(vm, IIR), 0x01);
	outb(vm, MCR, 0x10 | 0x02);	/* RTS -> CTS */
	CHECK_EQ(fake_irq_level[IRQ], 1);
	CHECK_EQ(inb(vm, IIR), 0x00);
	CHECK_EQ(inb(vm, MSR), 0x10 | 0x01);
	CHECK_EQ(fake_irq_level[IRQ], 0);
	/* leaving loopback shows the far end again */
	outb(vm, MCR, 0x00);
	CHECK_EQ(inb(vm, MSR) & 0xf0, 0xb0);
	/* loopback data: TX comes back on RX and never reaches the file */
	outb(vm, MCR, 0x10);
	outb(vm, THR, 'L');
	CHECK_EQ(inb(vm, LSR) & 0x01, 1);
	CHECK_EQ(inb(vm, RBR), 'L');
	char buf[8];
	CHECK_EQ(read_output(buf, sizeof(buf)), 0);
	uart_vm_free(vm);
}

TEST(wide_accesses)
{
	struct uart16550 *u;
	struct vm *vm = uart_vm(&u);
	/* a word at THR is THR then IER, as the ISA bus splits it */
	outw(vm, THR, 0x0541);
	CHECK_EQ(inb(vm, IER), 0x05);
	char buf[8];
	read_output(buf, sizeof(buf));
	CHECK_STR(buf, "A");
	outb(vm, IER, 0);
	outb(vm, LCR, 0x03);
	outb(vm, MCR, 0x0b);
	outb(vm, SCR, 0x5a);
	/* LCR, MCR, LSR, MSR in one dword */
	CHECK_EQ(inl(vm, LCR), 0xb0600b03u);
	/* a dword that runs past the last register: the rest is unassigned */
	CHECK_EQ(inl(vm, MSR), 0xffff5ab0u);
	/* a dword write at SCR: only its low byte lands in the UART */
	outl(vm, SCR, 0x11223344);
	CHECK_EQ(inb(vm, SCR), 0x44);
	uart_vm_free(vm);
}

static int rx_ready_calls;
static void count_rx_ready(void *opaque)
{
	(void)opaque;
	rx_ready_calls++;
}

TEST(rx_ready_hook)
{
	struct uart16550 *u;
	struct vm *vm = uart_vm(&u);
	uint8_t b = 'q';
	rx_ready_calls = 0;
	uart16550_set_rx_ready(u, count_rx_ready, NULL);
	uart16550_receive(u, &b, 1);
	inb(vm, RBR);
	CHECK_EQ(rx_ready_calls, 1);
	/* not while in loopback: the receiver does not listen */
	outb(vm, MCR, 0x10);
	outb(vm, THR, 'z');
	inb(vm, RBR);
	CHECK_EQ(rx_ready_calls, 1);
	outb(vm, MCR, 0x00);
	CHECK_EQ(rx_ready_calls, 2);
	uart16550_set_rx_ready(u, NULL, NULL);
	uart16550_receive(u, &b, 1);
	inb(vm, RBR);
	CHECK_EQ(rx_ready_calls, 2);
	uart_vm_free(vm);
}

TEST(reset_clears_state)
{
	struct uart16550 *u;
	struct vm *vm = uart_vm(&u);
	uint8_t b = 'r';
	outb(vm, FCR, 0x07);
	outb(vm, IER, 0x03);
	outb(vm, LCR, 0x83);
	outb(vm, DLL, 0x0c);
	outb(vm, LCR, 0x03);
	outb(vm, SCR, 0x77);
	uart16550_receive(u, &b, 1);
	CHECK_EQ(fake_irq_level[IRQ], 1);
	for (int i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i].reset)
			vm->devices[i].reset(vm->devices[i].opaque);
	CHECK_EQ(fake_irq_level[IRQ], 0);
	CHECK_EQ(inb(vm, IER), 0);
	CHECK_EQ(inb(vm, IIR), 0x01);
	CHECK_EQ(inb(vm, LSR), 0x60);
	CHECK_EQ(inb(vm, LCR), 0);
	/* the datasheet's master reset leaves SCR and the divisor alone */
	CHECK_EQ(inb(vm, SCR), 0x77);
	outb(vm, LCR, 0x80);
	CHECK_EQ(inb(vm, DLL), 0x0c);
	uart_vm_free(vm);
}

TEST(create_errors)
{
	struct uart16550 *u, *u2 = NULL;
	struct vm *vm = uart_vm(&u);
	struct chardev_config none = { .kind = CHARDEV_NONE };
	/* the same ports twice; the loser leaves the winner's file alone */
	outb(vm, THR, 'A');
	struct chardev_config same = { .kind = CHARDEV_FILE, .path = out_path };
	CHECK_EQ(uart16550_create(vm, COM1 + 4, 3, &same, &u2), -EEXIST);
	CHECK(u2 == NULL);
	char buf[8];
	read_output(buf, sizeof(buf));
	CHECK_STR(buf, "A");
	/* off the end of the I/O space */
	CHECK_EQ(uart16550_create(vm, 0xfffc, 3, &none, &u2), -EINVAL);
	/* a file that cannot be created */
	struct chardev_config bad = { .kind = CHARDEV_FILE, .path = "/nonexistent/dir/out" };
	CHECK(uart16550_create(vm, 0x2f8, 3, &bad, &u2) < 0);
	/* the first one still works */
	outb(vm, SCR, 0x42);
	CHECK_EQ(inb(vm, SCR), 0x42);
	/* COM2 beside it is fine */
	CHECK_EQ(uart16550_create(vm, 0x2f8, 3, &none, &u2), 0);
	outb(vm, 0x2ff, 0x24);
	CHECK_EQ(inb(vm, 0x2ff), 0x24);
	CHECK_EQ(inb(vm, SCR), 0x42);
	uart_vm_free(vm);
}

TEST(line_break)
{
	struct uart16550 *u;
	struct vm *vm = uart_vm(&u);
	/* without FIFOs: a zero byte, BI, a line status interrupt */
	outb(vm, IER, 0x05);
	CHECK(uart16550_send_break(u));
	CHECK_EQ(inb(vm, IIR), 0x06);
	CHECK_EQ(fake_irq_level[IRQ], 1);
	CHECK_EQ(inb(vm, LSR), 0x71);
	CHECK_EQ(inb(vm, LSR), 0x61);	/* BI cleared by the read */
	CHECK_EQ(inb(vm, IIR), 0x04);	/* the zero byte is still there */
	CHECK_EQ(inb(vm, RBR), 0x00);
	CHECK_EQ(inb(vm, IIR), 0x01);
	/* with FIFOs, BI shows when the break's byte is next to read, and
	 * LSR bit 7 tells that one is in the FIFO */
	outb(vm, FCR, 0x07);
	CHECK_EQ(uart16550_receive(u, (const uint8_t *)"ab", 2), 2);
	CHECK(uart16550_send_break(u));
	CHECK_EQ(uart16550_receive(u, (const uint8_t *)"c", 1), 1);
	CHECK_EQ(inb(vm, IIR), 0xc4);
	CHECK_EQ(inb(vm, LSR), 0xe1);
	CHECK_EQ(inb(vm, RBR), 'a');
	CHECK_EQ(inb(vm, RBR), 'b');
	CHECK_EQ(inb(vm, IIR), 0xc6);
	CHECK_EQ(inb(vm, LSR), 0xf1);
	CHECK_EQ(inb(vm, LSR), 0x61);
	CHECK_EQ(inb(vm, RBR), 0x00);
	CHECK_EQ(inb(vm, RBR), 'c');
	CHECK_EQ(inb(vm, LSR), 0x60);
	/* reading the break's byte without LSR also takes its BI away */
	CHECK(uart16550_send_break(u));
	CHECK_EQ(inb(vm, RBR), 0x00);
	CHECK_EQ(inb(vm, LSR), 0x60);
	/* no room, or loopback: not sent */
	uint8_t fill[16] = { 0 };
	CHECK_EQ(uart16550_receive(u, fill, 16), 16);
	CHECK(!uart16550_send_break(u));
	outb(vm, FCR, 0x03);
	outb(vm, MCR, 0x10);
	CHECK(!uart16550_send_break(u));
	uart_vm_free(vm);
}

/* A host reader that stalls holds the transmitter busy, as a slow line
 * would: a driver that waits for THRE loses nothing and nothing waits
 * for the reader; one that does not wait loses bytes */
TEST(thre_waits_for_a_stalled_reader)
{
	static uint8_t in[2 * CHARDEV_BUF_SIZE];
	int reader;
	/* as minivmm runs: the reader's end of the story is EPIPE */
	signal(SIGPIPE, SIG_IGN);
	struct vm *vm = uart_fifo_vm(&reader);
	alarm(20);	/* a write that waited for the reader would hang here */
	outb(vm, FCR, 0x07);
	outb(vm, IER, 0x02);
	CHECK_EQ(inb(vm, IIR), 0xc2);
	size_t sent = 0;
	while ((inb(vm, LSR) & 0x20) && sent < sizeof(in))
		outb(vm, THR, (uint8_t)(sent++ * 13 + 1));
	/* the pipe and the sink's buffer, less a FIFO load */
	CHECK(sent >= CHARDEV_BUF_SIZE - 16 && sent < sizeof(in));
	CHECK_EQ(inb(vm, LSR) & 0x60, 0);	/* neither THRE nor TEMT */
	CHECK_EQ(inb(vm, IIR), 0xc1);	/* no THR-empty interrupt meanwhile */
	CHECK_EQ(fake_irq_level[IRQ], 0);
	/* the reader takes a pipe's worth: THRE and its interrupt come back */
	size_t got = 0;
	ssize_t n = read(reader, in, sizeof(in));
	got = n > 0 ? (size_t)n : 0;
	CHECK(got > 0);
	flush_sinks(vm);
	CHECK(inb(vm, LSR) & 0x20);
	CHECK_EQ(fake_irq_level[IRQ], 1);
	CHECK_EQ(inb(vm, IIR), 0xc2);
	/* and everything arrives, in order */
	while (got < sent) {
		n = read(reader, in + got, sizeof(in) - got);
		if (n > 0)
			got += (size_t)n;
		flush_sinks(vm);
		if (n <= 0 && (inb(vm, LSR) & 0x40))
			break;	/* nothing queued and nothing more in the pipe */
	}
	CHECK_EQ(got, sent);
	bool same = true;
	for (size_t i = 0; i < got; i++)
		same &= in[i] == (uint8_t)(i * 13 + 1);
	CHECK(same);
	CHECK_EQ(inb(vm, LSR) & 0x60, 0x60);
	/* a guest that ignores LSR fills the buffer and then loses bytes */
	for (size_t i = 0; i < 3 * CHARDEV_BUF_SIZE; i++)
		outb(vm, THR, 'z');
	CHECK_EQ(inb(vm, LSR) & 0x60, 0);
	alarm(0);
	close(reader);
	uart_vm_free(vm);
}

RUN_TESTS(T(reset_values), T(divisor_latch), T(scratch_and_ier_bits), T(output_reaches_file),
	  T(fifo_fill_and_overrun), T(overrun_without_fifo), T(receive_capacity),
	  T(trigger_levels), T(iir_priority_sequence), T(thre_interrupt_rearm),
	  T(irq_driven_only_on_change), T(loopback_modem_lines), T(wide_accesses),
	  T(rx_ready_hook), T(reset_clears_state), T(create_errors), T(line_break),
	  T(thre_waits_for_a_stalled_reader))
