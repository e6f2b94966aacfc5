/* The 8254 counts at 1.193182 MHz on the vm clock.  No tick is simulated:
 * a channel remembers when its count was loaded, and its counter and
 * output are worked out from the time elapsed.  Channel 0's output drives
 * IRQ 0; a timer wakes the device at each rising edge of it, but in the
 * periodic modes no sooner than PIT_MIN_PERIOD_NS after the last time, as
 * KVM's in-kernel PIT limits its period: a count of 2 would otherwise arm
 * a host timer every 1.7 us and keep a host core busy for an idle guest.
 * Edges that come closer are one interrupt (the count still reads true).
 * Channel 2's gate and output are bits 0 and 5 of port 0x61, where Linux
 * calibrates the TSC against it. */
#include "hw/i8254.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/vm.h"
#include "hw/pc.h"

#define PIT_PORT 0x40
#define PORT61 0x61
#define PIT_IRQ 0
#define REFRESH_PERIOD_NS 15085	/* bit 4 of port 0x61 toggles at this rate */
/* KVM's min_timer_period_us: at most 5000 interrupts a second */
#define PIT_MIN_PERIOD_NS 200000ull

enum { RW_LATCH, RW_LSB, RW_MSB, RW_WORD };

struct pit_channel {
	uint32_t count;		/* the initial count: 1 to 65536 (10000 in BCD) */
	uint64_t load_ns;	/* when counting from count began */
	uint8_t mode, rw;
	bool bcd;
	bool loaded;		/* a count was written since the control word */
	bool triggered;		/* modes 1 and 5: the gate rose since */
	bool gate;
	bool paused;		/* gate low: the count holds at paused_ticks */
	uint64_t paused_ticks;
	bool write_msb_next;
	uint8_t write_lsb;
	bool read_msb_next;
	bool count_latched, latched_msb_next;
	uint16_t latched_count;
	uint8_t latched_rw;
	bool status_latched;
	uint8_t status;
	/* channel 0 only: the IRQ line */
	uint64_t edges_seen;
	int irq_level;
};

struct i8254 {
	struct vm *vm;
	struct pit_channel ch[3];
	struct vm_timer timer;	/* channel 0's next rising edge */
	uint8_t port61;		/* bits 0-3 as written */
};

static uint64_t ticks_to_ns(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * NS_PER_SEC + PIT_HZ - 1) / PIT_HZ);
}

/* Clock ticks counted since the load */
static uint64_t pit_ticks(const struct pit_channel *c, uint64_t now)
{
	if (!c->loaded)
		return 0;
	if (c->paused)
		return c->paused_ticks;
	return now > c->load_ns ? muldiv64(now - c->load_ns, PIT_HZ, NS_PER_SEC) : 0;
}

static bool waits_for_trigger(const struct pit_channel *c)
{
	return (c->mode == 1 || c->mode == 5) && !c->triggered;
}

/* Counts below 2 make no sense in the periodic modes: count as 2 */
static uint64_t period(const struct pit_channel *c)
{
	return c->count < 2 ? 2 : c->count;
}

static bool pit_out(const struct pit_channel *c, uint64_t d)
{
	uint64_t n = c->count;
	if (!c->loaded)
		return c->mode != 0;
	if (waits_for_trigger(c))
		return true;
	switch (c->mode) {
	case 0:
	case 1:
		return d >= n;
	case 2:
		return !c->gate || d % period(c) != period(c) - 1;
	case 3:
		return !c->gate || d % period(c) < (period(c) + 1) / 2;
	default:	/* 4, 5: one clock low when the count reaches zero */
		return d != n;
	}
}

/* Rising edges of the output in the first d ticks */
static uint64_t pit_rising_edges(const struct pit_channel *c, uint64_t d)
{
	if (!c->loaded || waits_for_trigger(c))
		return 0;
	switch (c->mode) {
	case 0:
	case 1:
		return d >= c->count;
	case 2:
	case 3:
		return d / period(c);
	default:
		return d >= (uint64_t)c->count + 1;
	}
}

/* The tick of the next rising edge after tick d, or 0 for none */
static uint64_t pit_next_rising(const struct pit_channel *c, uint64_t d)
{
	if (!c->loaded || waits_for_trigger(c) || c->paused)
		return 0;
	switch (c->mode) {
	case 0:
	case 1:
		return d < c->count ? c->count : 0;
	case 2:
	case 3:
		return (d / period(c) + 1) * period(c);
	default:
		return d <= c->count ? (uint64_t)c->count + 1 : 0;
	}
}

static uint16_t to_bcd(uint32_t v)
{
	v %= 10000;
	return (uint16_t)((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | (v % 10));
}

static uint32_t from_bcd(uint16_t v)
{
	return (v >> 12) * 1000u + (v >> 8 & 15) * 100u + (v >> 4 & 15) * 10u + (v & 15);
}

/* What a read of the counter element shows */
static uint16_t pit_counter(const struct pit_channel *c, uint64_t now)
{
	uint64_t d = pit_ticks(c, now), n = c->count, v;
	if (!c->loaded || waits_for_trigger(c))
		v = n;
	else if (c->mode == 2)
		v = n - d % period(c);
	else if (c->mode == 3)	/* counts down by two, twice per period */
		v = (n - (2 * d) % period(c)) & ~1ull;
	else
		v = n + (c->bcd ? 10000 : 65536) - d % (c->bcd ? 10000 : 65536);
	return c->bcd ? to_bcd((uint32_t)v) : (uint16_t)v;
}

static void pit_irq_update(struct i8254 *pit, uint64_t now)
{
	struct pit_channel *c = &pit->ch[0];
	uint64_t d = pit_ticks(c, now);
	uint64_t edges = pit_rising_edges(c, d);
	int level = pit_out(c, d);

	if (edges > c->edges_seen) {
		/* edges missed while the host was busy arrive as one */
		if (c->irq_level)
			vm_set_irq(pit->vm, PIT_IRQ, 0);
		vm_set_irq(pit->vm, PIT_IRQ, 1);
		c->irq_level = 1;
	} else if (level != c->irq_level) {
		vm_set_irq(pit->vm, PIT_IRQ, level);
		c->irq_level = level;
	}
	c->edges_seen = edges;
	uint64_t next = pit_next_rising(c, d);
	if (!next) {
		timer_del(pit->vm, &pit->timer);
		return;
	}
	uint64_t at = c->load_ns + ticks_to_ns(next);
	/* a one-shot edge comes when due; periodic ones no faster than the limit */
	if ((c->mode == 2 || c->mode == 3) && at < now + PIT_MIN_PERIOD_NS &&
	    ticks_to_ns(period(c)) < PIT_MIN_PERIOD_NS)
		at = now + PIT_MIN_PERIOD_NS;
	timer_mod(pit->vm, &pit->timer, at);
}

static void pit_timer_cb(void *opaque, uint64_t now)
{
	pit_irq_update(opaque, now);
}

static void pit_load(struct pit_channel *c, uint16_t raw, uint64_t now)
{
	c->count = c->bcd ? from_bcd(raw) : raw;
	if (c->count == 0)
		c->count = c->bcd ? 10000 : 65536;
	c->loaded = true;
	c->load_ns = now;
	c->triggered = false;
	c->edges_seen = 0;
	/* with the gate low, modes 0 and 4 hold and 2 and 3 wait for it */
	c->paused = !c->gate && c->mode != 1 && c->mode != 5;
	c->paused_ticks = 0;
}

static void pit_set_gate(struct pit_channel *c, bool gate, uint64_t now)
{
	if (gate == c->gate)
		return;
	c->gate = gate;
	if (!c->loaded)
		return;
	switch (c->mode) {
	case 1:
	case 5:	/* a rising gate (re)starts the count */
		if (gate) {
			c->load_ns = now;
			c->triggered = true;
		}
		break;
	case 2:
	case 3:	/* low stops the count, high starts it afresh */
		if (gate) {
			c->load_ns = now;
			c->paused = false;
		} else {
			c->paused_ticks = pit_ticks(c, now);
			c->paused = true;
		}
		break;
	default:	/* 0, 4: low holds the count, high goes on */
		if (gate) {
			c->load_ns = now - ticks_to_ns(c->paused_ticks);
			c->paused = false;
		} else {
			c->paused_ticks = pit_ticks(c, now);
			c->paused = true;
		}
		break;
	}
}

static void pit_latch_count(struct pit_channel *c, uint64_t now)
{
	if (c->count_latched)	/* a second latch before the read is ignored */
		return;
	c->latched_count = pit_counter(c, now);
	c->latched_rw = c->rw;
	c->latched_msb_next = false;
	c->count_latched = true;
}

static void pit_latch_status(struct pit_channel *c, uint64_t now)
{
	if (c->status_latched)
		return;
	bool null_count = !c->loaded || waits_for_trigger(c) || pit_ticks(c, now) == 0;
	c->status = (uint8_t)(pit_out(c, pit_ticks(c, now)) << 7 | null_count << 6 | c->rw << 4 |
			      c->mode << 1 | c->bcd);
	c->status_latched = true;
}

static void pit_control(struct i8254 *pit, uint8_t val, uint64_t now)
{
	unsigned sel = val >> 6, rw = val >> 4 & 3;

	if (sel == 3) {	/* read-back: bits 1-3 pick channels, 5 and 4 are active low */
		for (unsigned i = 0; i < 3; i++) {
			if (!(val & (2u << i)))
				continue;
			if (!(val & 0x20))
				pit_latch_count(&pit->ch[i], now);
			if (!(val & 0x10))
				pit_latch_status(&pit->ch[i], now);
		}
		return;
	}
	struct pit_channel *c = &pit->ch[sel];
	if (rw == RW_LATCH) {
		pit_latch_count(c, now);
		return;
	}
	c->rw = (uint8_t)rw;
	c->mode = val >> 1 & 7;
	if (c->mode > 5)	/* 6 and 7 are 2 and 3 */
		c->mode -= 4;
	c->bcd = val & 1;
	c->loaded = false;
	c->triggered = false;
	c->paused = false;
	c->write_msb_next = false;
	c->read_msb_next = false;
	if (sel == 0)
		pit_irq_update(pit, now);
}

static void pit_write_count(struct i8254 *pit, unsigned i, uint8_t val, uint64_t now)
{
	struct pit_channel *c = &pit->ch[i];
	switch (c->rw) {
	case RW_LSB:
		pit_load(c, val, now);
		break;
	case RW_MSB:
		pit_load(c, (uint16_t)(val << 8), now);
		break;
	default:
		if (!c->write_msb_next) {
			c->write_lsb = val;
			c->write_msb_next = true;
			if (c->mode == 0)	/* the first byte stops the count */
				c->loaded = false;
			break;
		}
		c->write_msb_next = false;
		pit_load(c, (uint16_t)(c->write_lsb | val << 8), now);
		break;
	}
	if (i == 0)
		pit_irq_update(pit, now);
}

static uint8_t pit_read_count(struct pit_channel *c, uint64_t now)
{
	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->count_latched) {
		uint16_t v = c->latched_count;
		bool msb = c->latched_rw == RW_MSB || (c->latched_rw == RW_WORD && c->latched_msb_next);
		if (c->latched_rw == RW_WORD && !c->latched_msb_next)
			c->latched_msb_next = true;
		else
			c->count_latched = false;
		return (uint8_t)(msb ? v >> 8 : v);
	}
	uint16_t v = pit_counter(c, now);
	bool msb = c->rw == RW_MSB || (c->rw == RW_WORD && c->read_msb_next);
	if (c->rw == RW_WORD)
		c->read_msb_next = !c->read_msb_next;
	return (uint8_t)(msb ? v >> 8 : v);
}

/* Only byte accesses mean anything; wider ones act on the first port */
static uint64_t pit_io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8254 *pit = opaque;
	(void)size;
	if (offset >= 3)	/* the control register is write-only */
		return 0xff;
	return pit_read_count(&pit->ch[offset], vm_clock_ns(pit->vm));
}

static void pit_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct i8254 *pit = opaque;
	uint64_t now = vm_clock_ns(pit->vm);
	(void)size;
	if (offset == 3)
		pit_control(pit, (uint8_t)value, now);
	else if (offset < 3)
		pit_write_count(pit, (unsigned)offset, (uint8_t)value, now);
}

static uint64_t port61_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8254 *pit = opaque;
	uint64_t now = vm_clock_ns(pit->vm);
	struct pit_channel *c = &pit->ch[2];
	(void)offset;
	(void)size;
	return (pit->port61 & 0x0f) | ((now / REFRESH_PERIOD_NS) & 1) << 4 |
	       (uint64_t)pit_out(c, pit_ticks(c, now)) << 5;
}

static void port61_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct i8254 *pit = opaque;
	(void)offset;
	(void)size;
	pit->port61 = value & 0x0f;
	pit_set_gate(&pit->ch[2], value & 1, vm_clock_ns(pit->vm));
}

static const struct io_ops pit_ops = { .read = pit_io_read, .write = pit_io_write };
static const struct io_ops port61_ops = { .read = port61_read, .write = port61_write };

/* As a PC BIOS leaves it: every channel in mode 3 with the full count,
 * channel 0 ticking at 18.2 Hz, channel 2's gate low */
static void i8254_reset(void *opaque)
{
	struct i8254 *pit = opaque;
	uint64_t now = vm_clock_ns(pit->vm);

	timer_del(pit->vm, &pit->timer);
	if (pit->ch[0].irq_level)
		vm_set_irq(pit->vm, PIT_IRQ, 0);
	pit->port61 = 0;
	for (unsigned i = 0; i < 3; i++) {
		struct pit_channel *c = &pit->ch[i];
		*c = (struct pit_channel){ .mode = 3, .rw = RW_WORD, .gate = i != 2 };
		pit_load(c, 0, now);
	}
	pit_irq_update(pit, now);
}

static void i8254_destroy(void *opaque)
{
	struct i8254 *pit = opaque;
	timer_del(pit->vm, &pit->timer);
	free(pit);
}

int i8254_create(struct vm *vm, struct i8254 **out)
{
	struct i8254 *pit = calloc(1, sizeof(*pit));
	int ret;

	if (!pit)
		return -ENOMEM;
	pit->vm = vm;
	timer_init(&pit->timer, pit_timer_cb, pit);
	ret = vm_add_device(vm, "i8254", pit, i8254_reset, i8254_destroy);
	if (ret < 0) {
		free(pit);
		return ret;
	}
	i8254_reset(pit);
	if ((ret = io_bus_register(&vm->pio, PIT_PORT, 4, &pit_ops, pit, "pit")) < 0 ||
	    (ret = io_bus_register(&vm->pio, PORT61, 1, &port61_ops, pit, "port61")) < 0) {
		log_error("i8254: cannot register its ports: %s", strerror(-ret));
		return ret;
	}
	if (out)
		*out = pit;
	return 0;
}
