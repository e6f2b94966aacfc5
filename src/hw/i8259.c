/* Two 8259A programmable interrupt controllers as wired in the PC: master
 * at 0x20, slave at 0xA0 on the master's IRQ2, and the PIIX ELCR at 0x4D0
 * that makes single lines level-triggered.  Priorities are kept as a
 * rotation: line priority_add has the highest priority, the one before it
 * the lowest. */
#include "hw/i8259.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/vm.h"
#include "hw/pc.h"

#define MASTER_PORT 0x20
#define SLAVE_PORT 0xa0
#define ELCR_PORT 0x4d0
#define CASCADE_IRQ 2
#define SPURIOUS_IRQ 7

struct pic_chip {
	uint8_t irr;		/* requests */
	uint8_t isr;		/* in service */
	uint8_t imr;		/* masked */
	uint8_t lines;		/* input levels, for edge detection */
	uint8_t elcr;		/* level-triggered lines */
	uint8_t elcr_mask;	/* lines that may be level-triggered */
	uint8_t priority_add;	/* the line with the highest priority */
	uint8_t vector_base;	/* ICW2 */
	uint8_t init_step;	/* 0: ready, else the ICW expected next (2-4) */
	bool icw4_needed, single, ltim;
	bool read_isr, poll, special_mask;
	bool auto_eoi, rotate_on_auto_eoi, special_fully_nested;
};

struct i8259 {
	struct vm *vm;
	struct pic_chip chip[2];	/* master, slave */
	uint16_t elcr_default;
	atomic_bool intr;		/* the master's output, read without the lock */
};

static bool line_is_level(const struct pic_chip *c, unsigned irq)
{
	return c->ltim || (c->elcr >> irq & 1);
}

static void chip_set_line(struct pic_chip *c, unsigned irq, int level)
{
	uint8_t mask = 1u << irq;
	if (line_is_level(c, irq)) {
		if (level)
			c->irr |= mask;
		else
			c->irr &= ~mask;
	} else if (level && !(c->lines & mask)) {
		c->irr |= mask;	/* rising edge; the request stays until INTA */
	}
	if (level)
		c->lines |= mask;
	else
		c->lines &= ~mask;
}

/* 0 is the highest priority, 8 means none of mask */
static unsigned chip_priority(const struct pic_chip *c, uint8_t mask)
{
	for (unsigned p = 0; p < 8; p++)
		if (mask & (1u << ((p + c->priority_add) & 7)))
			return p;
	return 8;
}

/* The line this chip would interrupt for now, or -1 */
static int chip_pending(const struct pic_chip *c, bool is_master)
{
	unsigned p = chip_priority(c, c->irr & ~c->imr);
	if (p == 8)
		return -1;
	uint8_t in_service = c->isr;
	if (c->special_mask)
		in_service &= ~c->imr;
	/* the slave may interrupt a slave handler in special fully nested mode */
	if (is_master && c->special_fully_nested)
		in_service &= ~(1u << CASCADE_IRQ);
	if (p < chip_priority(c, in_service))
		return (int)((p + c->priority_add) & 7);
	return -1;
}

static void pic_update(struct i8259 *pic)
{
	bool slave_int = chip_pending(&pic->chip[1], false) >= 0;
	/* Devices may pulse a line and the edge is kept; but the slave's INT
	 * that drops before INTA takes its request away, as on the real pair
	 * (else every level interrupt ended by its handler turns into a
	 * spurious IRQ15). */
	if (!slave_int)
		pic->chip[0].irr &= ~(1u << CASCADE_IRQ);
	chip_set_line(&pic->chip[0], CASCADE_IRQ, slave_int);
	atomic_store(&pic->intr, chip_pending(&pic->chip[0], true) >= 0);
}

static void chip_intack(struct pic_chip *c, unsigned irq)
{
	if (c->auto_eoi) {
		if (c->rotate_on_auto_eoi)
			c->priority_add = (irq + 1) & 7;
	} else {
		c->isr |= 1u << irq;
	}
	if (!line_is_level(c, irq))
		c->irr &= ~(1u << irq);
}

static int pic_ack_locked(struct i8259 *pic)
{
	struct pic_chip *m = &pic->chip[0], *s = &pic->chip[1];
	int irq = chip_pending(m, true);
	int vector;

	if (irq < 0)	/* the request went away before INTA */
		return m->vector_base + SPURIOUS_IRQ;
	chip_intack(m, (unsigned)irq);
	if (irq == CASCADE_IRQ) {
		int sirq = chip_pending(s, false);
		if (sirq >= 0) {
			chip_intack(s, (unsigned)sirq);
			vector = s->vector_base + sirq;
		} else {
			vector = s->vector_base + SPURIOUS_IRQ;
		}
		/* the slave drops INT during INTA: another request is a new edge */
		m->lines &= ~(1u << CASCADE_IRQ);
	} else {
		vector = m->vector_base + irq;
	}
	pic_update(pic);
	return vector;
}

/* Reset by ICW1: the edge latches, mask, priorities and modes; inputs
 * already high must go low and high again (unless level-triggered). */
static void chip_icw1(struct pic_chip *c, uint8_t val)
{
	c->ltim = val & 0x08;
	c->single = val & 0x02;
	c->icw4_needed = val & 0x01;
	c->isr = 0;
	c->imr = 0;
	c->irr = c->lines & (c->ltim ? 0xff : c->elcr);
	c->priority_add = 0;
	c->special_mask = false;
	c->read_isr = false;
	c->poll = false;
	c->rotate_on_auto_eoi = false;
	if (!c->icw4_needed)
		c->auto_eoi = c->special_fully_nested = false;
	c->init_step = 2;
}

static void chip_ocw2(struct pic_chip *c, uint8_t val)
{
	unsigned cmd = val >> 5, irq = val & 7, p;

	switch (cmd) {
	case 0:	/* clear rotate in auto-EOI mode */
	case 4:	/* set it */
		c->rotate_on_auto_eoi = cmd == 4;
		break;
	case 1:	/* non-specific EOI: the highest priority in service */
	case 5:	/* the same, and rotate */
		p = chip_priority(c, c->isr);
		if (p == 8)
			break;
		irq = (p + c->priority_add) & 7;
		c->isr &= ~(1u << irq);
		if (cmd == 5)
			c->priority_add = (irq + 1) & 7;
		break;
	case 3:	/* specific EOI */
	case 7:	/* the same, and rotate */
		c->isr &= ~(1u << irq);
		if (cmd == 7)
			c->priority_add = (irq + 1) & 7;
		break;
	case 6:	/* set priority: irq becomes the lowest */
		c->priority_add = (irq + 1) & 7;
		break;
	default:	/* 2: no operation */
		break;
	}
}

static void chip_write(struct i8259 *pic, struct pic_chip *c, unsigned reg, uint8_t val)
{
	if (reg == 0) {
		if (val & 0x10) {
			chip_icw1(c, val);
		} else if (val & 0x08) {	/* OCW3 */
			if (val & 0x04)
				c->poll = true;
			if (val & 0x02)
				c->read_isr = val & 0x01;
			if (val & 0x40)
				c->special_mask = val & 0x20;
		} else {
			chip_ocw2(c, val);
		}
	} else {
		switch (c->init_step) {
		case 0:	/* OCW1 */
			c->imr = val;
			break;
		case 2:
			c->vector_base = val & 0xf8;
			c->init_step = !c->single ? 3 : c->icw4_needed ? 4 : 0;
			break;
		case 3:	/* ICW3: the cascade is wired, nothing to choose */
			c->init_step = c->icw4_needed ? 4 : 0;
			break;
		default:	/* ICW4; 8086 mode is assumed */
			c->auto_eoi = val & 0x02;
			c->special_fully_nested = val & 0x10;
			c->init_step = 0;
			break;
		}
	}
	pic_update(pic);
}

static uint8_t chip_read(struct i8259 *pic, struct pic_chip *c, unsigned reg)
{
	if (reg == 1)
		return c->imr;
	if (c->poll) {
		/* poll mode: this read is the acknowledge */
		c->poll = false;
		int irq = chip_pending(c, c == &pic->chip[0]);
		if (irq < 0)
			return 0;
		chip_intack(c, (unsigned)irq);
		pic_update(pic);
		return 0x80 | (uint8_t)irq;
	}
	return c->read_isr ? c->isr : c->irr;
}

/* Word accesses reach both registers, low byte first */
static uint64_t pic_io_read(void *opaque, uint64_t offset, unsigned size, struct pic_chip *c)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size && offset + i < 2; i++)
		v |= (uint64_t)chip_read(opaque, c, (unsigned)offset + i) << (8 * i);
	return v;
}

static void pic_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value,
			 struct pic_chip *c)
{
	for (unsigned i = 0; i < size && offset + i < 2; i++)
		chip_write(opaque, c, (unsigned)offset + i, (uint8_t)(value >> (8 * i)));
}

static uint64_t master_read(void *opaque, uint64_t offset, unsigned size)
{
	return pic_io_read(opaque, offset, size, &((struct i8259 *)opaque)->chip[0]);
}

static void master_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	pic_io_write(opaque, offset, size, value, &((struct i8259 *)opaque)->chip[0]);
}

static uint64_t slave_read(void *opaque, uint64_t offset, unsigned size)
{
	return pic_io_read(opaque, offset, size, &((struct i8259 *)opaque)->chip[1]);
}

static void slave_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	pic_io_write(opaque, offset, size, value, &((struct i8259 *)opaque)->chip[1]);
}

static uint64_t elcr_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8259 *pic = opaque;
	uint64_t v = 0;
	for (unsigned i = 0; i < size && offset + i < 2; i++)
		v |= (uint64_t)pic->chip[offset + i].elcr << (8 * i);
	return v;
}

static void elcr_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct i8259 *pic = opaque;
	for (unsigned i = 0; i < size && offset + i < 2; i++) {
		struct pic_chip *c = &pic->chip[offset + i];
		c->elcr = (uint8_t)(value >> (8 * i)) & c->elcr_mask;
	}
	pic_update(pic);
}

static const struct io_ops master_ops = { .read = master_read, .write = master_write };
static const struct io_ops slave_ops = { .read = slave_read, .write = slave_write };
static const struct io_ops elcr_ops = { .read = elcr_read, .write = elcr_write };

void i8259_set_irq(struct i8259 *pic, unsigned irq, int level)
{
	if (irq >= 16)
		return;
	pthread_mutex_lock(&pic->vm->dev_lock);
	chip_set_line(&pic->chip[irq >> 3], irq & 7, level);
	pic_update(pic);
	pthread_mutex_unlock(&pic->vm->dev_lock);
}

bool i8259_has_interrupt(struct i8259 *pic)
{
	return atomic_load(&pic->intr);
}

int i8259_ack(struct i8259 *pic)
{
	pthread_mutex_lock(&pic->vm->dev_lock);
	int vector = pic_ack_locked(pic);
	pthread_mutex_unlock(&pic->vm->dev_lock);
	return vector;
}

void i8259_set_level_triggered(struct i8259 *pic, uint16_t mask)
{
	pthread_mutex_lock(&pic->vm->dev_lock);
	pic->elcr_default = mask;
	for (int i = 0; i < 2; i++)
		pic->chip[i].elcr = (uint8_t)(mask >> (8 * i)) & pic->chip[i].elcr_mask;
	pic_update(pic);
	pthread_mutex_unlock(&pic->vm->dev_lock);
}

static void irqchip_set_irq(void *opaque, unsigned gsi, int level)
{
	i8259_set_irq(opaque, gsi, level);
}

static bool irqchip_has_interrupt(void *opaque, unsigned cpu)
{
	return cpu == 0 && i8259_has_interrupt(opaque);
}

static int irqchip_ack_interrupt(void *opaque, unsigned cpu)
{
	return cpu == 0 ? i8259_ack(opaque) : -1;
}

static const struct irqchip_ops i8259_irqchip_ops = {
	.set_irq = irqchip_set_irq,
	.has_interrupt = irqchip_has_interrupt,
	.ack_interrupt = irqchip_ack_interrupt,
};

/* Nothing has programmed vectors yet: everything masked, and the bases a
 * PC BIOS leaves (0x08, 0x70) */
static void i8259_reset(void *opaque)
{
	struct i8259 *pic = opaque;
	static const uint8_t elcr_mask[2] = { 0xf8, 0xde };	/* not IRQ 0-2, 8, 13 */
	for (int i = 0; i < 2; i++) {
		struct pic_chip *c = &pic->chip[i];
		*c = (struct pic_chip){
			.imr = 0xff,
			.elcr_mask = elcr_mask[i],
			.elcr = (uint8_t)(pic->elcr_default >> (8 * i)) & elcr_mask[i],
			.vector_base = i ? 0x70 : 0x08,
		};
	}
	pic_update(pic);
}

static void i8259_destroy(void *opaque)
{
	struct i8259 *pic = opaque;
	if (pic->vm->irqchip_opaque == pic) {
		pic->vm->irqchip = NULL;
		pic->vm->irqchip_opaque = NULL;
	}
	free(pic);
}

int i8259_create(struct vm *vm, struct i8259 **out)
{
	struct i8259 *pic = calloc(1, sizeof(*pic));
	int ret;

	if (!pic)
		return -ENOMEM;
	pic->vm = vm;
	i8259_reset(pic);
	ret = vm_add_device(vm, "i8259", pic, i8259_reset, i8259_destroy);
	if (ret < 0) {
		free(pic);
		return ret;
	}
	if ((ret = io_bus_register(&vm->pio, MASTER_PORT, 2, &master_ops, pic, "pic-master")) < 0 ||
	    (ret = io_bus_register(&vm->pio, SLAVE_PORT, 2, &slave_ops, pic, "pic-slave")) < 0 ||
	    (ret = io_bus_register(&vm->pio, ELCR_PORT, 2, &elcr_ops, pic, "elcr")) < 0) {
		log_error("i8259: cannot register its ports: %s", strerror(-ret));
		return ret;
	}
	vm->irqchip = &i8259_irqchip_ops;
	vm->irqchip_opaque = pic;
	if (out)
		*out = pic;
	return 0;
}
