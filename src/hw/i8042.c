/* The i8042 keyboard controller, as far as a PC without a keyboard or
 * mouse needs it: its status and command byte, self tests, the output
 * port whose bit 0 is the CPU reset line (the usual way to reboot), and
 * the loopback commands Linux probes with.  Bytes sent to the absent
 * devices come back as 0xFE with the timeout bit, as from an empty port. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/vm.h"
#include "hw/pc.h"

#define I8042_DATA 0x60
#define I8042_CMD 0x64
#define KBD_IRQ 1
#define AUX_IRQ 12

#define STAT_OBF 0x01
#define STAT_SYS 0x04
#define STAT_CMD 0x08		/* the last write went to the command port */
#define STAT_UNLOCKED 0x10
#define STAT_AUX 0x20		/* the output byte comes from the mouse side */
#define STAT_TIMEOUT 0x40

#define CTR_KBD_INT 0x01
#define CTR_AUX_INT 0x02
#define CTR_SYS 0x04
#define CTR_KBD_DISABLE 0x10
#define CTR_AUX_DISABLE 0x20
#define CTR_XLATE 0x40

#define OUT_RESET 0x01		/* active low: 0 holds the CPU in reset */
#define OUT_A20 0x02

#define QUEUE_LEN 16

struct i8042 {
	struct vm *vm;
	uint8_t ctr;		/* the command byte */
	uint8_t status;		/* SYS, CMD, TIMEOUT; OBF and AUX follow the queue */
	uint8_t outport;
	uint8_t pending_cmd;	/* a command waiting for its data byte, or 0 */
	struct {
		uint8_t data;
		bool aux;
	} queue[QUEUE_LEN];
	unsigned head, count;
	uint8_t last;		/* what port 0x60 reads when nothing is queued */
	int irq_level[2];	/* keyboard, aux */
};

static void i8042_update_irq(struct i8042 *kbc)
{
	bool obf = kbc->count > 0, aux = obf && kbc->queue[kbc->head].aux;
	int level[2] = { obf && !aux && (kbc->ctr & CTR_KBD_INT), aux && (kbc->ctr & CTR_AUX_INT) };
	static const unsigned irq[2] = { KBD_IRQ, AUX_IRQ };
	for (int i = 0; i < 2; i++) {
		if (level[i] != kbc->irq_level[i]) {
			kbc->irq_level[i] = level[i];
			vm_set_irq(kbc->vm, irq[i], level[i]);
		}
	}
}

static void i8042_queue(struct i8042 *kbc, uint8_t data, bool aux)
{
	if (kbc->count == QUEUE_LEN)	/* a guest that never reads: drop */
		return;
	kbc->queue[(kbc->head + kbc->count) % QUEUE_LEN].data = data;
	kbc->queue[(kbc->head + kbc->count) % QUEUE_LEN].aux = aux;
	kbc->count++;
	i8042_update_irq(kbc);
}

static uint8_t i8042_status(const struct i8042 *kbc)
{
	uint8_t s = kbc->status | STAT_UNLOCKED;
	if (kbc->count) {
		s |= STAT_OBF;
		if (kbc->queue[kbc->head].aux)
			s |= STAT_AUX;
	}
	return s;
}

static void i8042_write_outport(struct i8042 *kbc, uint8_t val)
{
	kbc->outport = val;
	pc_set_a20_input(kbc->vm, PC_A20_I8042, val & OUT_A20);
	if (!(val & OUT_RESET))
		vm_request_reset(kbc->vm);
}

static void i8042_command(struct i8042 *kbc, uint8_t cmd)
{
	kbc->status |= STAT_CMD;
	switch (cmd) {
	case 0x20:	/* read the command byte */
		i8042_queue(kbc, kbc->ctr, false);
		break;
	case 0x60:	/* write it: the byte follows */
	case 0xd1:	/* write the output port */
	case 0xd2:	/* put a byte in the output buffer as from the keyboard */
	case 0xd3:	/* ... as from the mouse */
	case 0xd4:	/* send a byte to the mouse */
		kbc->pending_cmd = cmd;
		break;
	case 0xa7:
		kbc->ctr |= CTR_AUX_DISABLE;
		break;
	case 0xa8:
		kbc->ctr &= ~CTR_AUX_DISABLE;
		break;
	case 0xa9:	/* aux interface test: 0 is "no error" */
	case 0xab:	/* keyboard interface test */
		i8042_queue(kbc, 0x00, false);
		break;
	case 0xaa:	/* controller self test */
		kbc->status |= STAT_SYS;
		kbc->ctr |= CTR_SYS;
		i8042_queue(kbc, 0x55, false);
		break;
	case 0xad:
		kbc->ctr |= CTR_KBD_DISABLE;
		break;
	case 0xae:
		kbc->ctr &= ~CTR_KBD_DISABLE;
		break;
	case 0xc0:	/* input port: keyboard not inhibited */
		i8042_queue(kbc, 0x80, false);
		break;
	case 0xd0: {	/* read the output port: buffer-full bits live in it too */
		uint8_t v = kbc->outport & ~0x30;
		if (kbc->count)
			v |= kbc->queue[kbc->head].aux ? 0x20 : 0x10;
		i8042_queue(kbc, v, false);
		break;
	}
	case 0xe0:	/* test inputs */
		i8042_queue(kbc, 0x00, false);
		break;
	default:
		/* 0xF0-0xFF pulse output port lines low for 6 us: bit 0 is reset */
		if (cmd >= 0xf0 && !(cmd & 1))
			vm_request_reset(kbc->vm);
		else if (cmd < 0xf0 && (kbc->vm->cfg.debug_mask & DEBUG_GUEST_ERRORS))
			log_debug("i8042: unknown command 0x%02x", cmd);
		break;
	}
	i8042_update_irq(kbc);
}

static void i8042_data(struct i8042 *kbc, uint8_t val)
{
	uint8_t cmd = kbc->pending_cmd;
	kbc->pending_cmd = 0;
	kbc->status &= ~(STAT_CMD | STAT_TIMEOUT);
	switch (cmd) {
	case 0x60:
		kbc->ctr = val;
		kbc->status = (kbc->status & ~STAT_SYS) | (val & CTR_SYS);
		break;
	case 0xd1:
		i8042_write_outport(kbc, val);
		break;
	case 0xd2:
		i8042_queue(kbc, val, false);
		break;
	case 0xd3:
		i8042_queue(kbc, val, true);
		break;
	default:	/* to the keyboard (0) or the mouse (0xd4): nobody there */
		kbc->status |= STAT_TIMEOUT;
		i8042_queue(kbc, 0xfe, cmd == 0xd4);
		break;
	}
	i8042_update_irq(kbc);
}

static uint8_t i8042_read_data(struct i8042 *kbc)
{
	if (kbc->count) {
		kbc->last = kbc->queue[kbc->head].data;
		kbc->head = (kbc->head + 1) % QUEUE_LEN;
		kbc->count--;
		i8042_update_irq(kbc);
	}
	return kbc->last;
}

/* The two ports are 4 apart: each is a one-byte range of its own; wider
 * accesses act as byte accesses */
static uint64_t data_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)offset;
	(void)size;
	return i8042_read_data(opaque);
}

static void data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	(void)offset;
	(void)size;
	i8042_data(opaque, (uint8_t)value);
}

static uint64_t cmd_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)offset;
	(void)size;
	return i8042_status(opaque);
}

static void cmd_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	(void)offset;
	(void)size;
	i8042_command(opaque, (uint8_t)value);
}

static const struct io_ops data_ops = { .read = data_read, .write = data_write };
static const struct io_ops cmd_ops = { .read = cmd_read, .write = cmd_write };

/* As a BIOS leaves it: self-tested, interrupts on, translation on */
static void i8042_reset(void *opaque)
{
	struct i8042 *kbc = opaque;
	kbc->ctr = CTR_KBD_INT | CTR_AUX_INT | CTR_SYS | CTR_XLATE;
	kbc->status = STAT_SYS;
	kbc->outport = OUT_RESET | OUT_A20;
	pc_set_a20_input(kbc->vm, PC_A20_I8042, true);
	kbc->pending_cmd = 0;
	kbc->head = kbc->count = 0;
	kbc->last = 0;
	i8042_update_irq(kbc);
}

static void i8042_destroy(void *opaque)
{
	free(opaque);
}

int i8042_create(struct vm *vm, struct i8042 **out)
{
	struct i8042 *kbc = calloc(1, sizeof(*kbc));
	int ret;

	if (!kbc)
		return -ENOMEM;
	kbc->vm = vm;
	ret = vm_add_device(vm, "i8042", kbc, i8042_reset, i8042_destroy);
	if (ret < 0) {
		free(kbc);
		return ret;
	}
	i8042_reset(kbc);
	if ((ret = io_bus_register(&vm->pio, I8042_DATA, 1, &data_ops, kbc, "i8042-data")) < 0 ||
	    (ret = io_bus_register(&vm->pio, I8042_CMD, 1, &cmd_ops, kbc, "i8042-cmd")) < 0) {
		log_error("i8042: cannot register ports 0x60/0x64: %s", strerror(-ret));
		return ret;
	}
	if (out)
		*out = kbc;
	return 0;
}
