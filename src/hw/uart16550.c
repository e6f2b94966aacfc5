/* The 16550A UART (National PC16550D / TI TL16C550): COM1 on the PC.
 *
 * There is no baud clock.  A byte written to THR leaves at once for the
 * character sink, so THR and the transmitter are empty again before the
 * guest can look, and the THR-empty interrupt comes back right after each
 * write, for as long as the host reader keeps up.  When it does not, the
 * sink's buffer (core/chardev.h) is the transmitter: THRE reads 0 while
 * the buffer has no room for a FIFO load, TEMT while it holds anything,
 * and the THR-empty interrupt comes when the reader has caught up.  A
 * guest that waits for THRE loses nothing and one that writes on
 * regardless loses what the buffer cannot hold, as a real UART's FIFO
 * would overflow; either way the VMM never waits for the reader.
 *
 * For the same reason (no baud clock) the receiver's character timeout does not
 * wait four character times: input arrives in bursts, all of a burst is
 * in the FIFO before the guest runs again, so the line has gone quiet as
 * soon as the guest can see the data.  The timeout is therefore pending
 * whenever the FIFO holds data below its trigger level, which is what lets
 * a driver that trusts the trigger level (Linux) see a single typed key.
 *
 * Host input never overruns: uart16550_receive takes what fits and the
 * console holds the rest.  Overrun (LSR.OE) happens only in loopback, where
 * the guest itself outruns its receiver.  The only line condition that
 * reaches the receiver is a break (Ctrl-A b); there are no framing or
 * parity errors on a line that does not exist.
 *
 * On real PC boards the modem control OUT2 bit gates the interrupt line.
 * QEMU does not model that, guests that have only run on QEMU may leave OUT2
 * clear and still expect interrupts, so the gate is not modelled here
 * either. */
#include "hw/uart16550.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/chardev.h"
#include "core/console.h"
#include "core/log.h"
#include "core/vm.h"
#include "hw/pc.h"

/* Register offsets; DLAB (LCR bit 7) turns 0 and 1 into the divisor latch */
enum {
	UART_RBR_THR = 0,
	UART_IER = 1,
	UART_IIR_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
	UART_NR_REGS = 8,
};

#define IER_RDI 0x01		/* received data available, and the timeout */
#define IER_THRI 0x02		/* transmitter holding register empty */
#define IER_RLSI 0x04		/* receiver line status */
#define IER_MSI 0x08		/* modem status */

/* Interrupt identification, highest priority first */
#define IIR_RLSI 0x06
#define IIR_RDI 0x04
#define IIR_CTI 0x0c
#define IIR_THRI 0x02
#define IIR_MSI 0x00
#define IIR_NONE 0x01
#define IIR_FIFOS_ON 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_DMA_MODE 0x08
#define FCR_TRIGGER 0xc0

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_PE 0x04
#define LSR_FE 0x08
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_FIFO_ERROR 0x80	/* some byte in the FIFO came with BI/FE/PE */
#define LSR_ERRORS (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_DELTAS 0x0f
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
#define MSR_LINES 0xf0

/* Outside loopback the far end is a terminal that is there and ready */
#define MSR_FAR_END (MSR_DCD | MSR_DSR | MSR_CTS)

struct uart16550 {
	struct vm *vm;
	uint16_t base;
	unsigned irq;
	struct chardev out;

	uint8_t ier;
	uint8_t lcr;
	uint8_t mcr;
	uint8_t scr;
	uint8_t fcr;		/* the bits that stick: enable, DMA mode, trigger */
	uint16_t divisor;
	uint8_t lsr_errors;	/* OE until LSR is read */
	uint8_t msr;		/* modem lines (high nibble) and deltas (low) */
	bool thr_ipending;	/* THR-empty interrupt not yet acknowledged */
	bool thr_waiting;	/* THR was left full: THR-empty comes with room */

	uint8_t rx_fifo[UART16550_FIFO_SIZE];
	uint8_t rx_flags[UART16550_FIFO_SIZE];	/* BI (FE, PE) that came with each byte */
	unsigned rx_head;
	unsigned rx_count;
	unsigned rx_trigger;	/* 1, 4, 8 or 14 */
	uint8_t rbr;		/* last byte the guest read: an empty RBR repeats it */

	int irq_level;		/* what the line was last driven to */

	void (*rx_ready)(void *opaque);
	void *rx_ready_opaque;
};

static bool fifos_on(const struct uart16550 *u)
{
	return u->fcr & FCR_ENABLE;
}

/* Without FIFOs the receiver holds one byte in RBR */
static unsigned rx_capacity(const struct uart16550 *u)
{
	return fifos_on(u) ? UART16550_FIFO_SIZE : 1;
}

static bool loopback(const struct uart16550 *u)
{
	return u->mcr & MCR_LOOP;
}

/* Break, framing and parity errors belong to a byte and show in LSR while
 * that byte is the next to be read */
static uint8_t rx_top_errors(const struct uart16550 *u)
{
	return u->rx_count ? u->rx_flags[u->rx_head] : 0;
}

/* The interrupt the IIR reports now, by the datasheet's priorities */
static uint8_t uart_pending_interrupt(const struct uart16550 *u)
{
	if ((u->ier & IER_RLSI) && ((u->lsr_errors | rx_top_errors(u)) & LSR_ERRORS))
		return IIR_RLSI;
	if ((u->ier & IER_RDI) && u->rx_count) {
		if (fifos_on(u) && u->rx_count < u->rx_trigger)
			return IIR_CTI;
		return IIR_RDI;
	}
	if ((u->ier & IER_THRI) && u->thr_ipending)
		return IIR_THRI;
	if ((u->ier & IER_MSI) && (u->msr & MSR_DELTAS))
		return IIR_MSI;
	return IIR_NONE;
}

static void uart_update_irq(struct uart16550 *u)
{
	int level = uart_pending_interrupt(u) != IIR_NONE;
	if (level == u->irq_level)
		return;
	u->irq_level = level;
	if (u->vm->accel && u->vm->accel->set_irq)
		vm_set_irq(u->vm, u->irq, level);
}

static void uart_rx_clear(struct uart16550 *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
}

/* A byte reaches the receiver.  When it is full the byte is an overrun:
 * in FIFO mode it is lost, without FIFOs it replaces the unread RBR. */
static void uart_rx_push(struct uart16550 *u, uint8_t byte, uint8_t errors)
{
	unsigned slot;
	if (u->rx_count < rx_capacity(u)) {
		slot = (u->rx_head + u->rx_count) % UART16550_FIFO_SIZE;
		u->rx_count++;
	} else {
		u->lsr_errors |= LSR_OE;
		if (fifos_on(u))
			return;
		slot = u->rx_head;
	}
	u->rx_fifo[slot] = byte;
	u->rx_flags[slot] = errors;
}

/* Tell the console there is room (and that the receiver listens) */
static void uart_notify_rx_ready(struct uart16550 *u)
{
	if (u->rx_ready && !loopback(u) && u->rx_count < rx_capacity(u))
		u->rx_ready(u->rx_ready_opaque);
}

/* The inputs MSR shows: in loopback, the modem outputs wired back */
static uint8_t uart_msr_lines(const struct uart16550 *u)
{
	if (!loopback(u))
		return MSR_FAR_END;
	uint8_t lines = 0;
	if (u->mcr & MCR_DTR)
		lines |= MSR_DSR;
	if (u->mcr & MCR_RTS)
		lines |= MSR_CTS;
	if (u->mcr & MCR_OUT1)
		lines |= MSR_RI;
	if (u->mcr & MCR_OUT2)
		lines |= MSR_DCD;
	return lines;
}

static void uart_set_msr_lines(struct uart16550 *u, uint8_t lines)
{
	uint8_t old = u->msr & MSR_LINES;
	uint8_t changed = old ^ lines;
	uint8_t delta = 0;
	if (changed & MSR_CTS)
		delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		delta |= MSR_DDSR;
	if (changed & MSR_DCD)
		delta |= MSR_DDCD;
	/* ring indicator: only its trailing edge counts */
	if ((old & MSR_RI) && !(lines & MSR_RI))
		delta |= MSR_TERI;
	u->msr = lines | (u->msr & MSR_DELTAS) | delta;
}

/* THR (and the FIFO behind it) is empty: the sink takes a FIFO load now */
static bool uart_thr_empty(const struct uart16550 *u)
{
	return loopback(u) || chardev_room(&u->out) >= UART16550_FIFO_SIZE;
}

/* The transmitter is idle: everything written has reached the sink */
static bool uart_tx_idle(const struct uart16550 *u)
{
	return loopback(u) || chardev_pending(&u->out) == 0;
}

static void uart_write_thr(struct uart16550 *u, uint8_t byte)
{
	/* the write acknowledges THR-empty... */
	u->thr_ipending = false;
	uart_update_irq(u);
	if (loopback(u))
		uart_rx_push(u, byte, 0);
	else
		chardev_write(&u->out, &byte, 1);
	/* ...and the byte is gone at once, so THR is empty again: a new edge;
	 * unless the sink is behind, then the edge comes with room */
	if (uart_thr_empty(u)) {
		u->thr_ipending = true;
		uart_update_irq(u);
	} else {
		u->thr_waiting = true;
	}
}

/* The sink took queued bytes (under dev_lock, from the main loop) */
static void uart_sink_room(void *opaque)
{
	struct uart16550 *u = opaque;
	if (!u->thr_waiting || !uart_thr_empty(u))
		return;
	u->thr_waiting = false;
	u->thr_ipending = true;
	uart_update_irq(u);
}

static void uart_write_ier(struct uart16550 *u, uint8_t val)
{
	uint8_t old = u->ier;
	u->ier = val & 0x0f;
	/* enabling THR-empty while THR is empty raises it (drivers toggle IER
	 * to get a fresh one); while it is not, it comes with room */
	if ((u->ier & IER_THRI) && !(old & IER_THRI))
		u->thr_ipending = uart_thr_empty(u);
	else if (!(u->ier & IER_THRI))
		u->thr_ipending = false;
	uart_update_irq(u);
}

static void uart_write_fcr(struct uart16550 *u, uint8_t val)
{
	static const unsigned trigger_levels[4] = { 1, 4, 8, 14 };
	bool was_on = fifos_on(u);
	bool cleared = false;

	if (!(val & FCR_ENABLE)) {
		/* the other bits are written only with FCR0 set */
		u->fcr = 0;
		if (was_on) {
			uart_rx_clear(u);
			cleared = true;
		}
	} else {
		/* switching the FIFOs on resets both; CLEAR_TX has nothing to drop:
		 * bytes leave THR at once, and the sink's buffer is the host's */
		if (!was_on || (val & FCR_CLEAR_RX)) {
			uart_rx_clear(u);
			cleared = true;
		}
		u->fcr = val & (FCR_ENABLE | FCR_DMA_MODE | FCR_TRIGGER);
		u->rx_trigger = trigger_levels[val >> 6];
	}
	uart_update_irq(u);
	if (cleared)
		uart_notify_rx_ready(u);
}

static void uart_write_mcr(struct uart16550 *u, uint8_t val)
{
	bool was_loop = loopback(u);
	u->mcr = val & MCR_MASK;
	uart_set_msr_lines(u, uart_msr_lines(u));
	uart_update_irq(u);
	if (was_loop && !loopback(u))
		uart_notify_rx_ready(u);
}

static uint8_t uart_read_rbr(struct uart16550 *u)
{
	if (u->rx_count) {
		u->rbr = u->rx_fifo[u->rx_head];
		u->rx_flags[u->rx_head] = 0;
		u->rx_head = (u->rx_head + 1) % UART16550_FIFO_SIZE;
		u->rx_count--;
	}
	uart_update_irq(u);
	uart_notify_rx_ready(u);
	return u->rbr;
}

static uint8_t uart_read_iir(struct uart16550 *u)
{
	uint8_t id = uart_pending_interrupt(u);
	/* reading the IIR acknowledges THR-empty when that is what it shows */
	if (id == IIR_THRI) {
		u->thr_ipending = false;
		uart_update_irq(u);
	}
	return id | (fifos_on(u) ? IIR_FIFOS_ON : 0);
}

static bool rx_fifo_has_errors(const struct uart16550 *u)
{
	for (unsigned i = 0; i < u->rx_count; i++)
		if (u->rx_flags[(u->rx_head + i) % UART16550_FIFO_SIZE])
			return true;
	return false;
}

static uint8_t uart_read_lsr(struct uart16550 *u)
{
	uint8_t val = u->lsr_errors | rx_top_errors(u);
	if (uart_thr_empty(u))
		val |= LSR_THRE;
	if (uart_tx_idle(u))
		val |= LSR_TEMT;
	if (u->rx_count)
		val |= LSR_DR;
	if (fifos_on(u) && rx_fifo_has_errors(u))
		val |= LSR_FIFO_ERROR;
	/* error bits are cleared by the read that reports them (for a byte's
	 * own errors, while that byte stays to be read) */
	u->lsr_errors = 0;
	if (u->rx_count)
		u->rx_flags[u->rx_head] = 0;
	uart_update_irq(u);
	return val;
}

static uint8_t uart_read_msr(struct uart16550 *u)
{
	uint8_t val = u->msr;
	u->msr &= MSR_LINES;
	uart_update_irq(u);
	return val;
}

static uint8_t uart_read_reg(struct uart16550 *u, unsigned reg)
{
	bool dlab = u->lcr & LCR_DLAB;
	switch (reg) {
	case UART_RBR_THR:
		return dlab ? (uint8_t)u->divisor : uart_read_rbr(u);
	case UART_IER:
		return dlab ? (uint8_t)(u->divisor >> 8) : u->ier;
	case UART_IIR_FCR:
		return uart_read_iir(u);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		return uart_read_lsr(u);
	case UART_MSR:
		return uart_read_msr(u);
	case UART_SCR:
		return u->scr;
	}
	return 0xff;
}

static void uart_write_reg(struct uart16550 *u, unsigned reg, uint8_t val)
{
	bool dlab = u->lcr & LCR_DLAB;
	switch (reg) {
	case UART_RBR_THR:
		if (dlab)
			u->divisor = (uint16_t)((u->divisor & 0xff00) | val);
		else
			uart_write_thr(u, val);
		break;
	case UART_IER:
		if (dlab)
			u->divisor = (uint16_t)((u->divisor & 0x00ff) | (val << 8));
		else
			uart_write_ier(u, val);
		break;
	case UART_IIR_FCR:
		uart_write_fcr(u, val);
		break;
	case UART_LCR:
		u->lcr = val;
		break;
	case UART_MCR:
		uart_write_mcr(u, val);
		break;
	case UART_LSR:
	case UART_MSR:
		/* status registers: writes are for factory testing only */
		break;
	case UART_SCR:
		u->scr = val;
		break;
	}
}

/* The registers are 8 bits wide.  A wider access is what the PC's ISA bus
 * makes of it for an 8-bit device: byte cycles on consecutive registers,
 * lowest address first (so inw from RBR also reads IER). */
static uint64_t uart16550_io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct uart16550 *u = opaque;
	uint64_t val = 0;
	for (unsigned i = 0; i < size && offset + i < UART_NR_REGS; i++)
		val |= (uint64_t)uart_read_reg(u, (unsigned)offset + i) << (8 * i);
	return val;
}

static void uart16550_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
	struct uart16550 *u = opaque;
	for (unsigned i = 0; i < size && offset + i < UART_NR_REGS; i++)
		uart_write_reg(u, (unsigned)offset + i, (uint8_t)(val >> (8 * i)));
}

static const struct io_ops uart16550_ops = {
	.read = uart16550_io_read,
	.write = uart16550_io_write,
};

size_t uart16550_receive(struct uart16550 *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;
	pthread_mutex_lock(&u->vm->dev_lock);
	/* loopback disconnects the receiver from the line */
	if (!loopback(u)) {
		while (n < len && u->rx_count < rx_capacity(u))
			uart_rx_push(u, buf[n++], 0);
		if (n)
			uart_update_irq(u);
	}
	pthread_mutex_unlock(&u->vm->dev_lock);
	return n;
}

bool uart16550_rx_empty(struct uart16550 *u)
{
	pthread_mutex_lock(&u->vm->dev_lock);
	bool empty = u->rx_count == 0;
	pthread_mutex_unlock(&u->vm->dev_lock);
	return empty;
}

bool uart16550_send_break(struct uart16550 *u)
{
	bool sent = false;
	pthread_mutex_lock(&u->vm->dev_lock);
	/* a break arrives as a zero byte with BI; like data it waits for room */
	if (!loopback(u) && u->rx_count < rx_capacity(u)) {
		uart_rx_push(u, 0, LSR_BI);
		uart_update_irq(u);
		sent = true;
	}
	pthread_mutex_unlock(&u->vm->dev_lock);
	return sent;
}

void uart16550_set_rx_ready(struct uart16550 *u, void (*ready)(void *opaque), void *opaque)
{
	pthread_mutex_lock(&u->vm->dev_lock);
	u->rx_ready = ready;
	u->rx_ready_opaque = opaque;
	pthread_mutex_unlock(&u->vm->dev_lock);
}

/* Master reset as the datasheet gives it; RBR, SCR and the divisor keep
 * their contents. */
static void uart16550_reset(void *opaque)
{
	struct uart16550 *u = opaque;
	pthread_mutex_lock(&u->vm->dev_lock);
	u->ier = 0;
	u->lcr = 0;
	u->mcr = 0;
	u->fcr = 0;
	u->rx_trigger = 1;
	u->lsr_errors = 0;
	u->msr = MSR_FAR_END;
	u->thr_ipending = false;
	uart_rx_clear(u);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->vm->dev_lock);
}

/* Input from a socket or pty back-end, as the console does for stdin:
 * the next bytes once the guest has read the FIFO empty */
static size_t uart_can_receive(void *opaque)
{
	struct uart16550 *u = opaque;
	return uart16550_rx_empty(u) ? rx_capacity(u) : 0;
}

static void uart_receive(void *opaque, const uint8_t *buf, size_t len)
{
	uart16550_receive(opaque, buf, len);
}

static void uart_input_ready(void *opaque)
{
	struct uart16550 *u = opaque;
	chardev_input_ready(&u->out);
}

static void uart16550_destroy(void *opaque)
{
	struct uart16550 *u = opaque;
	io_bus_unregister(&u->vm->pio, u->base);
	chardev_set_room_ready(&u->out, NULL, NULL);
	chardev_close(&u->out);
	if (u->vm->com1 == u)
		u->vm->com1 = NULL;
	free(u);
}

int uart16550_create(struct vm *vm, uint16_t base, unsigned irq, const struct chardev_config *out,
		     struct uart16550 **uartp)
{
	struct uart16550 *u;
	int ret;

	if (base > 0x10000 - UART_NR_REGS) {
		log_error("uart16550: ports 0x%x-0x%x lie beyond the I/O space", base,
			  base + UART_NR_REGS - 1);
		return -EINVAL;
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		log_error("uart16550: out of memory");
		return -ENOMEM;
	}
	u->vm = vm;
	u->base = base;
	u->irq = irq;
	u->out.fd = -1;
	/* the ports first: a failed device must not truncate its output file */
	ret = io_bus_register(&vm->pio, base, UART_NR_REGS, &uart16550_ops, u, "uart16550");
	if (ret < 0) {
		log_error("uart16550: cannot claim ports 0x%x-0x%x: %s", base,
			  base + UART_NR_REGS - 1,
			  ret == -EEXIST ? "another device uses them" : strerror(-ret));
		free(u);
		return ret;
	}
	ret = chardev_open(&u->out, vm, out);
	if (ret < 0)
		goto fail;
	chardev_set_room_ready(&u->out, uart_sink_room, u);
	if (out->kind == CHARDEV_SOCKET || out->kind == CHARDEV_PTY) {
		chardev_set_receiver(&u->out, &(struct chardev_receiver){
			.can_receive = uart_can_receive, .receive = uart_receive, .opaque = u });
		uart16550_set_rx_ready(u, uart_input_ready, u);
	}
	ret = vm_add_device(vm, "uart16550", u, uart16550_reset, uart16550_destroy);
	if (ret < 0) {
		log_error("uart16550: too many devices");
		goto fail;
	}
	uart16550_reset(u);
	if (uartp)
		*uartp = u;
	return 0;
fail:
	io_bus_unregister(&vm->pio, base);
	chardev_close(&u->out);
	free(u);
	return ret;
}
