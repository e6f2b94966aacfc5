/* devices: the legacy PC platform seen from a 64-bit guest with an IDT.
 * The PIC pair remapped to vectors 0x20/0x28, PIT channel 0 ticking at
 * 1 kHz, PIT channel 2 gated through port 0x61 as the clock of every wait
 * (the calibration loop Linux runs), EOI, masking and priority in the PIC,
 * the CMOS RTC (registers A-D, BCD/binary/12-hour formats, UIP, SET and a
 * leap-day rollover, the periodic interrupt on IRQ8 through the slave),
 * CMOS memory sizes, pc-testdev (scratch ports, its interrupt lines, its
 * MMIO), fw_cfg and PCI configuration mechanism #1.
 *
 * Run with -m 128M -smp 2 -device pc-testdev.  Interrupt counts depend on
 * the host's timing, so they are checked against wide bounds and printed
 * only when a check fails: the lower bounds are low because an emulator
 * on a loaded host loses ticks (an edge-triggered IRR latches only one),
 * and counts against IRQ0 ticks can come out high for the same reason. */
#include "cpu64.h"
#include "io.h"
#include "libg.h"

static inline void outw(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void sti(void) { asm volatile("sti" ::: "memory"); }
static inline void cli(void) { asm volatile("cli" ::: "memory"); }

#define PIC1 0x20
#define PIC2 0xa0
#define IRQ_BASE1 0x20
#define IRQ_BASE2 0x28
#define PIT_CH0 0x40
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PORT61 0x61
#define PIT_HZ 1193182u
#define PIT_DIVISOR 1193u	/* 1000.15 Hz */
#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define TESTDEV_SCRATCH 0xe0
#define TESTDEV_SCRATCH_BYTES 0xe8
#define TESTDEV_IRQ 0x2000
#define TESTDEV_IOMEM 0xff000000ul
#define FW_CFG_SEL 0x510
#define FW_CFG_DATA 0x511
#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc

#define RAM_MB 128	/* -m 128M */
#define SMP 2		/* -smp 2 */
#define TESTDEV_LINE 5	/* free on both boards: edge triggered, nothing else on it */

/* Masks with IRQ0 and the cascade (IRQ2) open on the master, IRQ8 on the slave */
#define MASK1 0xfa
#define MASK2 0xfe

static volatile uint32_t irq_count[16];
static volatile uint8_t skip_eoi[16];	/* leave the IRQ in service on purpose */
static volatile uint8_t rtc_c_seen;	/* register C as the IRQ8 handler read it, ORed */
/* the level-triggered test: the "device" drops its line after this many */
static volatile uint32_t level_drop_after;

static void irq_handler(struct trap_frame *f)
{
	unsigned irq = (unsigned)f->vector - IRQ_BASE1;
	if (irq == 8) {
		/* reading C acknowledges the RTC; its line drops */
		outb(CMOS_INDEX, 0x0c);
		rtc_c_seen |= inb(CMOS_DATA);
	}
	irq_count[irq]++;
	if (irq == TESTDEV_LINE && level_drop_after && irq_count[irq] >= level_drop_after)
		outb(TESTDEV_IRQ + TESTDEV_LINE, 0);
	if (skip_eoi[irq])
		return;
	if (irq >= 8)
		outb(PIC2, 0x20);	/* non-specific EOI */
	outb(PIC1, 0x20);
}

/* icw4 0x01 is normal EOI, 0x03 auto-EOI */
static void pic_init_icw4(uint8_t icw4)
{
	outb(PIC1, 0x11);	/* ICW1: edge, cascade, ICW4 follows */
	outb(PIC2, 0x11);
	outb(PIC1 + 1, IRQ_BASE1);	/* ICW2: vector base */
	outb(PIC2 + 1, IRQ_BASE2);
	outb(PIC1 + 1, 0x04);	/* ICW3: the slave is on IRQ2 */
	outb(PIC2 + 1, 0x02);	/* its cascade identity */
	outb(PIC1 + 1, icw4);	/* ICW4: 8086 mode */
	outb(PIC2 + 1, 0x01);
	outb(PIC1 + 1, MASK1);
	outb(PIC2 + 1, MASK2);
}

static void pic_init(void)
{
	pic_init_icw4(0x01);
}

static uint8_t pic_read_isr(uint16_t pic)
{
	outb(pic, 0x0b);	/* OCW3: read ISR */
	uint8_t v = inb(pic);
	outb(pic, 0x0a);	/* and back to IRR */
	return v;
}

static uint8_t pic_read_irr(uint16_t pic)
{
	outb(pic, 0x0a);
	return inb(pic);
}

/* Channel 2 as a one-shot (mode 0) with its gate high and the speaker
 * off; OUT (port 0x61 bit 5) rises when count reaches zero. */
static void pit2_start(uint16_t count)
{
	outb(PORT61, (inb(PORT61) & ~0x02) | 0x01);
	outb(PIT_CMD, 0xb0);	/* channel 2, lobyte/hibyte, mode 0, binary */
	outb(PIT_CH2, count & 0xff);
	outb(PIT_CH2, count >> 8);
}

/* 0 when OUT never rose */
static int pit2_wait_out(void)
{
	for (unsigned long i = 0; i < 50000000ul; i++)
		if (inb(PORT61) & 0x20)
			return 1;
	return 0;
}

static int pit_wait_us(unsigned us)
{
	int ok = 1;
	while (us) {
		unsigned part = us > 50000 ? 50000 : us;
		pit2_start((uint16_t)((uint64_t)PIT_HZ * part / 1000000));
		ok &= pit2_wait_out();
		us -= part;
	}
	return ok;
}

static uint16_t pit2_latch(void)
{
	outb(PIT_CMD, 0x80);	/* counter latch, channel 2 */
	uint8_t lo = inb(PIT_CH2);
	return (uint16_t)(inb(PIT_CH2) << 8 | lo);
}

static int in_range(uint32_t v, uint32_t lo, uint32_t hi, const char *what)
{
	int good = v >= lo && v <= hi;
	if (!check(good, what))
		printf("# got %u, want %u..%u\n", v, lo, hi);
	return good;
}

static void short_delay(void)
{
	for (volatile int i = 0; i < 1000; i++)
		;
}

static void test_pic_pit(void)
{
	pic_init();
	check(inb(PIC1 + 1) == MASK1 && inb(PIC2 + 1) == MASK2, "PIC: IMRs read back as written");
	check(pic_read_isr(PIC1) == 0 && pic_read_isr(PIC2) == 0, "PIC: nothing in service after ICW1-4");

	outb(PIT_CMD, 0x34);	/* channel 0, lobyte/hibyte, mode 2 */
	outb(PIT_CH0, PIT_DIVISOR & 0xff);
	outb(PIT_CH0, PIT_DIVISOR >> 8);
	sti();

	uint32_t n = irq_count[0];
	asm volatile("hlt");
	check(irq_count[0] != n, "PIT: hlt wakes up on the IRQ0 tick (vector 0x20)");

	outb(PIT_CMD, 0x00);	/* latch channel 0 */
	uint8_t lo = inb(PIT_CH0);
	uint16_t c0 = (uint16_t)(inb(PIT_CH0) << 8 | lo);
	if (!check(c0 <= PIT_DIVISOR, "PIT: channel 0 latched count is within the divisor"))
		printf("# count %u\n", c0);

	/* channel 2 one-shot: status by read-back, OUT low, count going down */
	pit2_start(59659);	/* 50 ms */
	outb(PIT_CMD, 0xe8);	/* read-back: status only, channel 2 */
	uint8_t st = inb(PIT_CH2);
	if (!check((st & 0xbf) == 0x30, "PIT: read-back status of channel 2: OUT low, lobyte/hibyte, mode 0"))
		printf("# status %x\n", st);
	uint16_t a = pit2_latch();
	short_delay();
	uint16_t b = pit2_latch();
	if (!check(a <= 59659 && b < a, "PIT: channel 2 counts down (counter latch)"))
		printf("# %u then %u\n", a, b);
	check(!(inb(PORT61) & 0x20), "PIT: port 0x61 bit 5 (channel 2 OUT) low while counting");
	n = irq_count[0];
	int rose = pit2_wait_out();
	uint32_t in_50ms = irq_count[0] - n;
	check(rose, "PIT: channel 2 OUT rises at terminal count");
	in_range(in_50ms, 5, 70, "PIT: about 50 IRQ0 ticks while channel 2 counts 50 ms");

	n = irq_count[0];
	pit_wait_us(200000);
	in_range(irq_count[0] - n, 40, 260, "PIT: about 200 IRQ0 ticks in 200 ms of channel 2");
}

/* EOI, IRR/ISR, masking and priority on the master, with pc-testdev's
 * interrupt line 5 as a second source */
static void testdev_line(unsigned line, int level)
{
	outb(TESTDEV_IRQ + line, level);
}

static void test_pic_eoi(void)
{
	uint32_t n;

	/* leave a tick in service: no further IRQ0 until the EOI */
	skip_eoi[0] = 1;
	n = irq_count[0];
	for (int i = 0; i < 20 && irq_count[0] == n; i++)
		pit_wait_us(1000);
	n = irq_count[0];
	pit_wait_us(10000);
	if (!check(irq_count[0] == n, "PIC: without EOI no further IRQ0 arrives"))
		printf("# %u more\n", irq_count[0] - n);
	check(pic_read_isr(PIC1) & 0x01, "PIC: ISR bit 0 stays set until the EOI");
	check(pic_read_irr(PIC1) & 0x01, "PIC: the next tick waits in IRR");

	/* a lower-priority line waits while IRQ0 is in service */
	uint32_t n5 = irq_count[TESTDEV_LINE];
	outb(PIC1 + 1, MASK1 & ~(1 << TESTDEV_LINE));
	testdev_line(TESTDEV_LINE, 1);
	short_delay();
	check(irq_count[TESTDEV_LINE] == n5, "PIC: IRQ5 waits while IRQ0 (higher priority) is in service");
	skip_eoi[0] = 0;
	outb(PIC1, 0x60);	/* specific EOI, IRQ0 */
	short_delay();
	check(irq_count[TESTDEV_LINE] == n5 + 1, "PIC: specific EOI for IRQ0 lets IRQ5 through");
	testdev_line(TESTDEV_LINE, 0);
	n = irq_count[0];
	pit_wait_us(50000);
	in_range(irq_count[0] - n, 3, 70, "PIC: ticks resume after the EOI (about 50 in 50 ms)");
	check(pic_read_isr(PIC1) == 0, "PIC: ISR clear again");

	/* masked: the tick is latched in IRR and taken on unmasking */
	outb(PIC1 + 1, MASK1 | 0x01);
	n = irq_count[0];
	pit_wait_us(5000);
	check(irq_count[0] == n, "PIC: masked IRQ0 is not delivered");
	check(pic_read_irr(PIC1) & 0x01, "PIC: masked IRQ0 shows in IRR");
	outb(PIC1 + 1, MASK1);
	short_delay();
	check(irq_count[0] != n, "PIC: unmasking delivers it");
}

static void test_testdev(void)
{
	outb(TESTDEV_SCRATCH, 0x5a);
	check(inb(TESTDEV_SCRATCH) == 0x5a, "pc-testdev: scratch port 0xe0 byte read-back");
	outw(TESTDEV_SCRATCH, 0x1234);
	check(inw(TESTDEV_SCRATCH) == 0x1234, "pc-testdev: scratch port 0xe0 word read-back");
	outl(TESTDEV_SCRATCH, 0xdeadbeef);
	check(inl(TESTDEV_SCRATCH) == 0xdeadbeef, "pc-testdev: scratch port 0xe0 dword read-back");
	outl(TESTDEV_SCRATCH, 0x11223344);
	outb(TESTDEV_SCRATCH + 1, 0xaa);
	uint32_t v = inl(TESTDEV_SCRATCH);
	uint16_t hi = inw(TESTDEV_SCRATCH + 2);
	uint8_t b2 = inb(TESTDEV_SCRATCH_BYTES + 2);
	if (!check(v == 0x1122aa44 && hi == 0x1122 && b2 == 0x22,
		   "pc-testdev: byte write at 0xe1 merges; 0xe2 word, 0xea byte read parts"))
		printf("# %x %x %x\n", v, hi, b2);

	volatile uint8_t *mem = (volatile uint8_t *)TESTDEV_IOMEM;
	*(volatile uint64_t *)(mem + 0x100) = 0x0123456789abcdefull;
	*(volatile uint32_t *)(mem + 0x200) = 0xcafef00d;
	*(volatile uint16_t *)(mem + 0x300) = 0xbeef;
	mem[0x400] = 0x77;
	int good = *(volatile uint64_t *)(mem + 0x100) == 0x0123456789abcdefull &&
		   *(volatile uint32_t *)(mem + 0x104) == 0x01234567 &&
		   *(volatile uint32_t *)(mem + 0x200) == 0xcafef00d &&
		   *(volatile uint16_t *)(mem + 0x300) == 0xbeef && mem[0x400] == 0x77 &&
		   mem[0x101] == 0xcd;
	check(good, "pc-testdev: MMIO at 0xff000000 reads back sizes 1, 2, 4, 8");

	/* its interrupt line: edge triggered through the master PIC */
	outb(PIC1 + 1, MASK1 & ~(1 << TESTDEV_LINE));
	uint32_t n = irq_count[TESTDEV_LINE];
	testdev_line(TESTDEV_LINE, 1);
	short_delay();
	check(irq_count[TESTDEV_LINE] == n + 1, "pc-testdev: raising line 5 (port 0x2005) interrupts at vector 0x25");
	testdev_line(TESTDEV_LINE, 1);
	short_delay();
	check(irq_count[TESTDEV_LINE] == n + 1, "pc-testdev: the line held high gives no second edge");
	testdev_line(TESTDEV_LINE, 0);
	testdev_line(TESTDEV_LINE, 1);
	short_delay();
	check(irq_count[TESTDEV_LINE] == n + 2, "pc-testdev: low then high again: one more");
	testdev_line(TESTDEV_LINE, 0);

	outb(PIC1 + 1, MASK1);
	testdev_line(TESTDEV_LINE, 1);
	short_delay();
	check(irq_count[TESTDEV_LINE] == n + 2 && (pic_read_irr(PIC1) & (1 << TESTDEV_LINE)),
	      "pc-testdev: masked line 5 waits in IRR");
	outb(PIC1 + 1, MASK1 & ~(1 << TESTDEV_LINE));
	short_delay();
	check(irq_count[TESTDEV_LINE] == n + 3, "pc-testdev: and arrives when unmasked");
	testdev_line(TESTDEV_LINE, 0);
	outb(PIC1 + 1, MASK1);
}

/* Poll mode, auto-EOI, and a level-triggered line through the ELCR */
static void test_pic_modes(void)
{
	uint32_t n;

	cli();
	pit_wait_us(3000);
	check(pic_read_irr(PIC1) & 0x01, "PIC: with IF clear the tick waits in IRR");
	outb(PIC1, 0x0c);	/* OCW3: poll */
	uint8_t poll = inb(PIC1);
	if (!check(poll == 0x80, "PIC: poll command reads 0x80 | IRQ0"))
		printf("# %x\n", poll);
	check(pic_read_isr(PIC1) & 0x01, "PIC: the poll read acknowledged it (ISR bit 0)");
	outb(PIC1, 0x20);
	check(pic_read_isr(PIC1) == 0, "PIC: EOI after poll clears ISR");

	/* STI holds interrupts off for one more instruction, no longer */
	pit_wait_us(3000);
	n = irq_count[0];
	asm volatile("sti; nop; cli" ::: "memory");
	check(irq_count[0] == n + 1, "CPU: a pending IRQ0 is taken in a sti; nop; cli window");
	sti();

	pic_init_icw4(0x03);
	skip_eoi[0] = 1;
	n = irq_count[0];
	pit_wait_us(50000);
	in_range(irq_count[0] - n, 3, 70, "PIC: auto-EOI mode: ticks go on without EOI (about 50 in 50 ms)");
	check(pic_read_isr(PIC1) == 0, "PIC: auto-EOI mode: ISR stays clear");
	skip_eoi[0] = 0;
	cli();
	pic_init();
	sti();

	uint8_t elcr = inb(0x4d0);
	outb(0x4d0, elcr | 1 << TESTDEV_LINE);
	check(inb(0x4d0) == (elcr | 1 << TESTDEV_LINE), "PIC: ELCR (0x4d0) makes IRQ5 level triggered");
	outb(PIC1 + 1, MASK1 & ~(1 << TESTDEV_LINE));
	n = irq_count[TESTDEV_LINE];
	level_drop_after = n + 3;
	testdev_line(TESTDEV_LINE, 1);
	short_delay();
	level_drop_after = 0;
	if (!check(irq_count[TESTDEV_LINE] == n + 3,
		   "PIC: a level line held high interrupts again after each EOI (3 until dropped)"))
		printf("# %u\n", irq_count[TESTDEV_LINE] - n);
	outb(PIC1 + 1, MASK1);
	testdev_line(TESTDEV_LINE, 1);
	short_delay();
	check(pic_read_irr(PIC1) & 1 << TESTDEV_LINE, "PIC: masked level line shows in IRR while high");
	testdev_line(TESTDEV_LINE, 0);
	check(!(pic_read_irr(PIC1) & 1 << TESTDEV_LINE), "PIC: and leaves IRR when it drops");
	n = irq_count[TESTDEV_LINE];
	outb(PIC1 + 1, MASK1 & ~(1 << TESTDEV_LINE));
	short_delay();
	check(irq_count[TESTDEV_LINE] == n, "PIC: unmasking then delivers nothing");
	outb(PIC1 + 1, MASK1);
	outb(0x4d0, elcr);
}

/* Channel 2 in mode 3: a square wave on port 0x61 bit 5 */
static void test_pit_square(void)
{
	outb(PORT61, (inb(PORT61) & ~0x02) | 0x01);
	outb(PIT_CMD, 0xb6);	/* channel 2, lobyte/hibyte, mode 3 */
	outb(PIT_CH2, 11932 & 0xff);	/* 100 Hz */
	outb(PIT_CH2, 11932 >> 8);
	uint32_t n = irq_count[0], rises = 0, highs = 0, lows = 0;
	int last = (inb(PORT61) & 0x20) != 0;
	for (unsigned long i = 0; i < 50000000ul && irq_count[0] - n < 100; i++) {
		int out = (inb(PORT61) & 0x20) != 0;
		if (out && !last)
			rises++;
		if (out)
			highs++;
		else
			lows++;
		last = out;
	}
	in_range(rises, 5, 40, "PIT: mode 3 at 100 Hz: about 10 rising edges of OUT in 100 ticks");
	uint32_t pct = highs + lows ? highs * 100 / (highs + lows) : 0;
	in_range(pct, 30, 70, "PIT: mode 3: OUT high about half the time (percent)");
	outb(PORT61, inb(PORT61) & ~0x03);
}

/* i8042 and port 0x92, as far as both boards agree */
static void test_misc_ports(void)
{
	check(inb(0x92) & 0x02, "port 0x92: A20 bit reads set");
	for (int i = 0; i < 16 && (inb(0x64) & 0x01); i++)
		inb(0x60);
	outb(0x64, 0xaa);	/* controller self test */
	int full = 0;
	for (int i = 0; i < 100000 && !(full = inb(0x64) & 0x01); i++)
		;
	uint8_t v = inb(0x60);
	if (!check(full && v == 0x55, "i8042: self test (0xaa) answers 0x55"))
		printf("# %x\n", v);
}

/* CMOS access; the IRQ8 handler selects register C, so keep it out */
static uint8_t cmos_read(uint8_t index)
{
	uint64_t flags = read_rflags();
	cli();
	outb(CMOS_INDEX, index);
	uint8_t v = inb(CMOS_DATA);
	if (flags & 0x200)
		sti();
	return v;
}

static void cmos_write(uint8_t index, uint8_t v)
{
	uint64_t flags = read_rflags();
	cli();
	outb(CMOS_INDEX, index);
	outb(CMOS_DATA, v);
	if (flags & 0x200)
		sti();
}

struct rtc_time {
	uint8_t sec, min, hour, wday, mday, month, year, century;
};

static int same_time(const struct rtc_time *a, const struct rtc_time *b)
{
	return a->sec == b->sec && a->min == b->min && a->hour == b->hour && a->wday == b->wday &&
	       a->mday == b->mday && a->month == b->month && a->year == b->year &&
	       a->century == b->century;
}

static int rtc_uip(void)
{
	return cmos_read(0x0a) & 0x80;
}

/* As Linux does: wait for UIP clear, read, until two reads agree */
static void rtc_read_time(struct rtc_time *t)
{
	struct rtc_time prev;
	for (int tries = 0; tries < 10; tries++) {
		for (unsigned long i = 0; i < 1000000 && rtc_uip(); i++)
			;
		t->sec = cmos_read(0x00);
		t->min = cmos_read(0x02);
		t->hour = cmos_read(0x04);
		t->wday = cmos_read(0x06);
		t->mday = cmos_read(0x07);
		t->month = cmos_read(0x08);
		t->year = cmos_read(0x09);
		t->century = cmos_read(0x32);
		if (tries && same_time(t, &prev))
			return;
		prev = *t;
	}
}

static int bcd_ok(uint8_t v, unsigned lo, unsigned hi)
{
	if ((v & 0x0f) > 9 || (v >> 4) > 9)
		return 0;
	unsigned d = (v >> 4) * 10 + (v & 15);
	return d >= lo && d <= hi;
}

static unsigned bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 15);
}

static void print_time(const struct rtc_time *t)
{
	printf("# %x %x %x wday %x %x-%x-%x century %x\n", t->hour, t->min, t->sec, t->wday,
	       t->year, t->month, t->mday, t->century);
}

/* Read the time in BCD, then in another format, then in BCD again; the
 * second format must match when both BCD reads agree (no update between) */
static int rtc_read_two_formats(uint8_t b_other, struct rtc_time *bcd1, struct rtc_time *other)
{
	struct rtc_time bcd2;
	for (int tries = 0; tries < 5; tries++) {
		cmos_write(0x0b, 0x02);
		rtc_read_time(bcd1);
		cmos_write(0x0b, b_other);
		rtc_read_time(other);
		cmos_write(0x0b, 0x02);
		rtc_read_time(&bcd2);
		if (same_time(bcd1, &bcd2))
			return 1;
	}
	return 0;
}

static void test_rtc(void)
{
	struct rtc_time t, o;

	cmos_write(0x0a, 0x26);	/* 32.768 kHz time base, rate 6 */
	cmos_write(0x0b, 0x02);	/* 24-hour BCD, no interrupts */
	check((cmos_read(0x0a) & 0x7f) == 0x26, "RTC: register A reads back (UIP aside)");
	check(cmos_read(0x0b) == 0x02, "RTC: register B reads back");
	check(cmos_read(0x0d) & 0x80, "RTC: register D has VRT (valid RAM and time)");
	cmos_read(0x0c);
	check(!(cmos_read(0x0c) & 0x80), "RTC: register C: no IRQF with every interrupt disabled");

	rtc_read_time(&t);
	int good = bcd_ok(t.sec, 0, 59) && bcd_ok(t.min, 0, 59) && bcd_ok(t.hour, 0, 23) &&
		   bcd_ok(t.wday, 1, 7) && bcd_ok(t.mday, 1, 31) && bcd_ok(t.month, 1, 12) &&
		   bcd_ok(t.year, 0, 99) && t.century == 0x20;
	if (!check(good, "RTC: BCD date and time fields are valid, century 20"))
		print_time(&t);

	good = rtc_read_two_formats(0x06, &t, &o) && o.sec == bcd(t.sec) && o.min == bcd(t.min) &&
	       o.hour == bcd(t.hour) && o.wday == bcd(t.wday) && o.mday == bcd(t.mday) &&
	       o.month == bcd(t.month) && o.year == bcd(t.year) && o.century == 20;
	if (!check(good, "RTC: binary mode (B.DM) gives the same time"))
		print_time(&o);

	good = rtc_read_two_formats(0x00, &t, &o);
	unsigned h24 = bcd(t.hour), h12 = h24 % 12 ? h24 % 12 : 12;
	good = good && o.hour == (((h12 / 10) << 4 | h12 % 10) | (h24 >= 12 ? 0x80 : 0)) &&
	       o.min == t.min && o.mday == t.mday;
	if (!check(good, "RTC: 12-hour mode: hour 1-12 with bit 7 for PM"))
		print_time(&o);
	cmos_write(0x0b, 0x02);

	/* UIP rises before each update and falls with the new second; count
	 * IRQ0 ticks over one RTC second meanwhile */
	int saw_uip = 0, advanced = 0;
	uint32_t ticks = 0;
	for (int attempt = 0; attempt < 3 && !(saw_uip && advanced); attempt++) {
		uint8_t s0 = cmos_read(0x00), s1, s2;
		unsigned long i;
		for (i = 0; i < 20000000ul && (s1 = cmos_read(0x00)) == s0; i++)
			;
		uint32_t n = irq_count[0];
		saw_uip = 0;
		uint8_t before_uip = s1;
		for (i = 0; i < 20000000ul; i++) {
			uint8_t a = cmos_read(0x0a);
			s2 = cmos_read(0x00);
			if (s2 != s1)
				break;
			if (a & 0x80) {
				saw_uip = 1;
				before_uip = s2;
			}
		}
		ticks = irq_count[0] - n;
		advanced = s2 != s1 && bcd(s2) == (bcd(before_uip) + 1) % 60;
	}
	check(saw_uip && advanced, "RTC: UIP set before the update, then the seconds advance by one");
	in_range(ticks, 250, 1300, "RTC: about 1000 IRQ0 ticks in one RTC second");
	check(cmos_read(0x0c) & 0x10, "RTC: register C has UF after a second went by");

	/* SET holds the clock while it is written; then 2028-02-28 23:59:59
	 * rolls over to the leap day */
	cmos_write(0x0b, 0x82);
	cmos_write(0x00, 0x59);
	cmos_write(0x02, 0x59);
	cmos_write(0x04, 0x23);
	cmos_write(0x06, 0x02);	/* Monday */
	cmos_write(0x07, 0x28);
	cmos_write(0x08, 0x02);
	cmos_write(0x09, 0x28);
	cmos_write(0x32, 0x20);
	pit_wait_us(20000);
	check(cmos_read(0x00) == 0x59 && cmos_read(0x07) == 0x28, "RTC: SET holds the time as written");
	cmos_write(0x0b, 0x02);
	for (int i = 0; i < 50 && cmos_read(0x00) == 0x59; i++)
		pit_wait_us(50000);
	rtc_read_time(&t);
	good = t.sec <= 0x02 && t.min == 0 && t.hour == 0 && t.wday == 3 && t.mday == 0x29 &&
	       t.month == 0x02 && t.year == 0x28 && t.century == 0x20;
	if (!check(good, "RTC: 2028-02-28 23:59:59 goes on to Tuesday 2028-02-29 00:00"))
		print_time(&t);

	/* update-ended and alarm interrupts */
	rtc_c_seen = 0;
	uint32_t n = irq_count[8];
	cmos_read(0x0c);
	cmos_write(0x0b, 0x12);	/* UIE */
	for (int i = 0; i < 30 && irq_count[8] == n; i++)
		pit_wait_us(50000);
	cmos_write(0x0b, 0x02);
	check(irq_count[8] != n && (rtc_c_seen & 0x90) == 0x90,
	      "RTC: update-ended interrupt (UIE) on IRQ8 with C = IRQF | UF");

	uint8_t sec = cmos_read(0x00);
	unsigned next = (bcd(sec) + 2) % 60;
	cmos_write(0x01, (uint8_t)((next / 10) << 4 | next % 10));
	cmos_write(0x03, 0xc0);	/* any minute */
	cmos_write(0x05, 0xc0);	/* any hour */
	rtc_c_seen = 0;
	n = irq_count[8];
	cmos_read(0x0c);
	cmos_write(0x0b, 0x22);	/* AIE */
	for (int i = 0; i < 70 && irq_count[8] == n; i++)
		pit_wait_us(50000);
	uint8_t at = cmos_read(0x00);
	cmos_write(0x0b, 0x02);
	if (!check(irq_count[8] != n && (rtc_c_seen & 0xa0) == 0xa0 && bcd(at) == next,
		   "RTC: alarm interrupt (AIE) at the alarm second, C = IRQF | AF"))
		printf("# sec %x alarm %u now %x C %x\n", sec, next, at, rtc_c_seen);

	/* the periodic interrupt, IRQ8 through the slave PIC at 1024 Hz */
	rtc_c_seen = 0;
	n = irq_count[8];
	cmos_read(0x0c);
	cmos_write(0x0b, 0x42);	/* PIE */
	pit_wait_us(200000);
	in_range(irq_count[8] - n, 50, 260, "RTC: about 205 periodic interrupts (rate 6, 1024 Hz) in 200 ms");
	check((rtc_c_seen & 0xc0) == 0xc0, "RTC: register C in the handler has IRQF and PF");
	check((pic_read_isr(PIC1) | pic_read_isr(PIC2)) == 0, "PIC: nothing left in service after IRQ8 EOIs");
	cmos_write(0x0a, 0x2a);	/* rate 10, 64 Hz */
	n = irq_count[8];
	pit_wait_us(200000);
	in_range(irq_count[8] - n, 3, 16, "RTC: about 13 periodic interrupts (rate 10, 64 Hz) in 200 ms");
	cmos_write(0x0b, 0x02);
	cmos_write(0x0a, 0x26);
	cmos_read(0x0c);
	n = irq_count[8];
	pit_wait_us(20000);
	check(irq_count[8] == n, "RTC: none once PIE is cleared");
}

static void test_cmos_memory(void)
{
	unsigned base = cmos_read(0x15) | cmos_read(0x16) << 8;
	unsigned ext = cmos_read(0x17) | cmos_read(0x18) << 8;
	unsigned ext2 = cmos_read(0x30) | cmos_read(0x31) << 8;
	unsigned above16 = cmos_read(0x34) | cmos_read(0x35) << 8;
	if (!check(base == 640, "CMOS: 0x15/0x16 base memory 640 KiB"))
		printf("# %u\n", base);
	if (!check(ext == 0xffff && ext2 == 0xffff, "CMOS: 0x17/0x18 and 0x30/0x31 extended memory capped at 0xffff KiB"))
		printf("# %x %x\n", ext, ext2);
	if (!check(above16 == (RAM_MB - 16) * 16, "CMOS: 0x34/0x35 = (128 MiB - 16 MiB) / 64 KiB"))
		printf("# %x\n", above16);
	/* no check of the checksum at 0x2e/0x2f: QEMU leaves it 0 */
	cmos_write(0x7f, 0xa5);
	check(cmos_read(0x7f) == 0xa5, "CMOS: RAM byte 0x7f reads back");
}

static void fw_cfg_select(uint16_t key)
{
	outw(FW_CFG_SEL, key);
}

static uint64_t fw_cfg_read_le(unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)inb(FW_CFG_DATA) << (8 * i);
	return v;
}

static void test_fw_cfg(void)
{
	char sig[5] = { 0 };
	fw_cfg_select(0x0000);
	for (int i = 0; i < 4; i++)
		sig[i] = inb(FW_CFG_DATA);
	check(sig[0] == 'Q' && sig[1] == 'E' && sig[2] == 'M' && sig[3] == 'U', "fw_cfg: signature (0x0000) reads QEMU");
	check(inb(FW_CFG_DATA) == 0, "fw_cfg: reading past the end gives 0");
	fw_cfg_select(0x0001);
	check(fw_cfg_read_le(4) & 1, "fw_cfg: ID (0x0001) has the traditional interface bit");
	fw_cfg_select(0x0003);
	uint64_t ram = fw_cfg_read_le(8);
	if (!check(ram == (uint64_t)RAM_MB << 20, "fw_cfg: RAM size (0x0003) is 128 MiB"))
		printf("# %lx\n", (unsigned long)ram);
	fw_cfg_select(0x0005);
	unsigned cpus = (unsigned)fw_cfg_read_le(2);
	if (!check(cpus == SMP, "fw_cfg: CPU count (0x0005) is 2, as -smp 2 says"))
		printf("# %u\n", cpus);
	check(cmos_read(0x5f) == SMP - 1, "CMOS: 0x5f holds the CPU count - 1");
	fw_cfg_select(0x000f);
	check(fw_cfg_read_le(2) == cpus, "fw_cfg: max CPUs (0x000f) is the same");
	fw_cfg_select(0x001b);
	check(fw_cfg_read_le(4) == 0, "fw_cfg: an unused key reads 0");
	fw_cfg_select(0x0000);
}

static uint32_t pci_read(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	outl(PCI_ADDR, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc));
	return inl(PCI_DATA);
}

static void test_pci(void)
{
	uint32_t id = pci_read(0, 0, 0, 0);
	if (!check(id == 0x12378086, "PCI: 00:00.0 is the i440FX host bridge (8086:1237)"))
		printf("# %x\n", id);
	check(inl(PCI_ADDR) == 0x80000000, "PCI: 0xcf8 reads back");
	check(inw(PCI_DATA + 2) == 0x1237 && inb(PCI_DATA + 1) == 0x80,
	      "PCI: word at 0xcfe and byte at 0xcfd pick parts of the dword");
	uint32_t class = pci_read(0, 0, 0, 8) >> 8;
	if (!check(class == 0x060000, "PCI: 00:00.0 class is host bridge (06 00 00)"))
		printf("# %x\n", class);
	check(((pci_read(0, 0, 0, 0x0c) >> 16) & 0x7f) == 0, "PCI: 00:00.0 header type 0");
	check(pci_read(0, 31, 0, 0) == 0xffffffff, "PCI: empty slot 00:1f.0 reads all ones");
	outl(PCI_ADDR, 0x80000000u | 31 << 11);
	check(inw(PCI_DATA) == 0xffff, "PCI: its vendor ID reads 0xffff");
	check(pci_read(0, 0, 5, 0) == 0xffffffff, "PCI: function 5 of 00:00 reads all ones");
	check(pci_read(7, 0, 0, 0) == 0xffffffff, "PCI: bus 7 reads all ones");
}

void main(void)
{
	serial_init();
	puts("devices: PIC, PIT, RTC, CMOS, pc-testdev, fw_cfg, PCI\n");
	idt_init();
	for (unsigned irq = 0; irq < 16; irq++)
		trap_set_handler(IRQ_BASE1 + irq, irq_handler);

	test_pic_pit();
	test_pic_eoi();
	test_testdev();
	test_pic_modes();
	test_pit_square();
	test_rtc();
	test_cmos_memory();
	test_fw_cfg();
	test_pci();
	test_misc_ports();
	cli();
	finish();
}
