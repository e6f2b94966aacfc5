#include "test.h"

#include "hw/mc146818_rtc.h"
#include "platform_vm.h"

static struct mc146818_rtc *rtc_setup(struct vm **vmp)
{
	struct vm *vm = test_vm_new();
	struct mc146818_rtc *rtc = NULL;
	CHECK_EQ(mc146818_rtc_create(vm, &rtc), 0);
	*vmp = vm;
	return rtc;
}

static uint8_t cmos_read(struct vm *vm, uint8_t index)
{
	outb(vm, 0x70, index);
	return (uint8_t)inb(vm, 0x71);
}

static void cmos_write(struct vm *vm, uint8_t index, uint8_t v)
{
	outb(vm, 0x70, index);
	outb(vm, 0x71, v);
}

TEST(time_in_bcd_and_binary)
{
	struct vm *vm;
	rtc_setup(&vm);
	/* 2024-02-29 23:59:58 UTC, a Thursday */
	CHECK_EQ(cmos_read(vm, 0x0b), 0x02);	/* BCD, 24 hours */
	CHECK_EQ(cmos_read(vm, 0), 0x58);
	CHECK_EQ(cmos_read(vm, 2), 0x59);
	CHECK_EQ(cmos_read(vm, 4), 0x23);
	CHECK_EQ(cmos_read(vm, 6), 5);
	CHECK_EQ(cmos_read(vm, 7), 0x29);
	CHECK_EQ(cmos_read(vm, 8), 0x02);
	CHECK_EQ(cmos_read(vm, 9), 0x24);
	CHECK_EQ(cmos_read(vm, 0x32), 0x20);
	cmos_write(vm, 0x0b, 0x06);	/* binary */
	CHECK_EQ(cmos_read(vm, 0), 58);
	CHECK_EQ(cmos_read(vm, 2), 59);
	CHECK_EQ(cmos_read(vm, 4), 23);
	CHECK_EQ(cmos_read(vm, 7), 29);
	CHECK_EQ(cmos_read(vm, 9), 24);
	CHECK_EQ(cmos_read(vm, 0x32), 20);
	/* two seconds on: 2024-03-01 00:00:00, a Friday */
	vm_clock_advance(vm, 2 * NS_PER_SEC);
	CHECK_EQ(cmos_read(vm, 0), 0);
	CHECK_EQ(cmos_read(vm, 4), 0);
	CHECK_EQ(cmos_read(vm, 6), 6);
	CHECK_EQ(cmos_read(vm, 7), 1);
	CHECK_EQ(cmos_read(vm, 8), 3);
	test_vm_free(vm);
}

TEST(twelve_hour_mode)
{
	struct vm *vm;
	rtc_setup(&vm);
	cmos_write(vm, 0x0b, 0x00);	/* BCD, 12 hours */
	CHECK_EQ(cmos_read(vm, 4), 0x91);	/* 11 PM */
	vm_clock_advance(vm, 2 * NS_PER_SEC);
	CHECK_EQ(cmos_read(vm, 4), 0x12);	/* 12 AM */
	vm_clock_advance(vm, 12 * 3600 * NS_PER_SEC);
	CHECK_EQ(cmos_read(vm, 4), 0x92);	/* 12 PM */
	cmos_write(vm, 0x0b, 0x04);	/* binary, 12 hours */
	CHECK_EQ(cmos_read(vm, 4), 0x8c);
	test_vm_free(vm);
}

TEST(uip_before_each_update)
{
	struct vm *vm;
	rtc_setup(&vm);
	/* the clock starts on a second boundary */
	CHECK_EQ(cmos_read(vm, 0x0a), 0x26);
	vm_clock_advance(vm, NS_PER_SEC - 244001);
	CHECK_EQ(cmos_read(vm, 0x0a) & 0x80, 0);
	CHECK_EQ(cmos_read(vm, 0), 0x58);
	vm_clock_advance(vm, 1);
	CHECK_EQ(cmos_read(vm, 0x0a) & 0x80, 0x80);
	vm_clock_advance(vm, 244000 - 1);
	CHECK_EQ(cmos_read(vm, 0x0a) & 0x80, 0x80);
	CHECK_EQ(cmos_read(vm, 0), 0x58);
	vm_clock_advance(vm, 1);
	CHECK_EQ(cmos_read(vm, 0x0a) & 0x80, 0);
	CHECK_EQ(cmos_read(vm, 0), 0x59);
	/* no updates while SET is on */
	cmos_write(vm, 0x0b, 0x82);
	vm_clock_advance(vm, NS_PER_SEC - 100000);
	CHECK_EQ(cmos_read(vm, 0x0a) & 0x80, 0);
	test_vm_free(vm);
}

/* Count interrupts in ns of time, reading C in each handler as Linux does */
static int count_rtc_irqs(struct vm *vm, uint64_t ns, uint64_t step, uint8_t want)
{
	int n = 0;
	for (uint64_t t = 0; t < ns; t += step) {
		test_advance(vm, step, step);
		if (fake_irq_level[8]) {
			uint8_t c = cmos_read(vm, 0x0c);
			if ((c & (0x80 | want)) == (0x80 | want))
				n++;
			if (fake_irq_level[8])
				return -1;	/* reading C must lower it */
		}
	}
	return n;
}

TEST(periodic_interrupt_rate)
{
	struct vm *vm;
	rtc_setup(&vm);
	cmos_read(vm, 0x0c);
	cmos_write(vm, 0x0b, 0x42);	/* PIE */
	int n = count_rtc_irqs(vm, NS_PER_SEC, 50000, 0x40);
	CHECK(n >= 1023 && n <= 1024);
	cmos_write(vm, 0x0a, 0x2f);	/* 2 Hz */
	cmos_read(vm, 0x0c);
	n = count_rtc_irqs(vm, 2 * NS_PER_SEC, 1000000, 0x40);
	CHECK(n >= 3 && n <= 4);
	cmos_write(vm, 0x0a, 0x23);	/* 8192 Hz */
	cmos_read(vm, 0x0c);
	n = count_rtc_irqs(vm, 100000000, 10000, 0x40);
	CHECK(n >= 818 && n <= 820);
	/* rate 0 or the divider in reset: no periodic interrupt */
	cmos_write(vm, 0x0a, 0x20);
	cmos_read(vm, 0x0c);
	CHECK_EQ(count_rtc_irqs(vm, 100000000, 1000000, 0x40), 0);
	CHECK_EQ(timers_next_deadline(vm), TIMER_NEVER);
	test_vm_free(vm);
}

TEST(register_c_clears_on_read)
{
	struct vm *vm;
	rtc_setup(&vm);
	/* flags are set with their interrupts disabled, without IRQF */
	vm_clock_advance(vm, 1500000000);
	uint8_t c = cmos_read(vm, 0x0c);
	CHECK_EQ(c & 0xd0, 0x50);
	CHECK_EQ(cmos_read(vm, 0x0c), 0);
	CHECK_EQ(fake_irq_level[8], 0);
	/* enabling an interrupt whose flag is set raises IRQ 8 at once */
	vm_clock_advance(vm, 10000000);
	cmos_write(vm, 0x0b, 0x42);
	CHECK_EQ(fake_irq_level[8], 1);
	CHECK_EQ(cmos_read(vm, 0x0c), 0xc0);
	CHECK_EQ(fake_irq_level[8], 0);
	/* registers C and D cannot be written; D says the battery is good */
	cmos_write(vm, 0x0c, 0xff);
	cmos_write(vm, 0x0d, 0x00);
	CHECK_EQ(cmos_read(vm, 0x0c), 0);
	CHECK_EQ(cmos_read(vm, 0x0d), 0x80);
	test_vm_free(vm);
}

TEST(update_ended_interrupt)
{
	struct vm *vm;
	rtc_setup(&vm);
	vm_clock_advance(vm, 100000000);
	cmos_read(vm, 0x0c);
	cmos_write(vm, 0x0b, 0x12);	/* UIE */
	CHECK_EQ(timers_next_deadline(vm), TEST_START_NS + NS_PER_SEC);
	test_advance(vm, 899999999, 1000000);
	CHECK_EQ(fake_irq_level[8], 0);
	test_advance(vm, 1, 1);
	CHECK_EQ(fake_irq_level[8], 1);
	CHECK_EQ(cmos_read(vm, 0x0c) & 0xb0, 0x90);	/* PF is set too: 1024 Hz runs */
	CHECK_EQ(count_rtc_irqs(vm, 3 * NS_PER_SEC, 10000000, 0x10), 3);
	test_vm_free(vm);
}

TEST(alarm_interrupt)
{
	struct vm *vm;
	rtc_setup(&vm);
	cmos_read(vm, 0x0c);
	cmos_write(vm, 1, 0x00);	/* alarm at 00:00:00 */
	cmos_write(vm, 3, 0x00);
	cmos_write(vm, 5, 0x00);
	cmos_write(vm, 0x0b, 0x22);	/* AIE */
	test_advance(vm, 1999000000, 1000000);
	CHECK_EQ(fake_irq_level[8], 0);
	test_advance(vm, 2000000, 1000000);
	CHECK_EQ(fake_irq_level[8], 1);
	CHECK_EQ(cmos_read(vm, 0x0c) & 0xa0, 0xa0);
	/* don't-care in every field: each second */
	cmos_write(vm, 1, 0xc0);
	cmos_write(vm, 3, 0xff);
	cmos_write(vm, 5, 0xc5);
	CHECK_EQ(count_rtc_irqs(vm, 5 * NS_PER_SEC, 10000000, 0x20), 5);
	/* an alarm passed while nobody looked is seen in C */
	cmos_write(vm, 0x0b, 0x02);
	cmos_write(vm, 1, 0x30);
	cmos_write(vm, 3, 0x00);
	cmos_write(vm, 5, 0x00);
	cmos_read(vm, 0x0c);
	vm_clock_advance(vm, 60 * NS_PER_SEC);
	CHECK_EQ(cmos_read(vm, 0x0c) & 0x20, 0x20);
	test_vm_free(vm);
}

TEST(set_time_with_set_bit)
{
	struct vm *vm;
	rtc_setup(&vm);
	cmos_write(vm, 0x0b, 0x12);	/* UIE on: SET must clear it */
	cmos_write(vm, 0x0b, 0x86);	/* SET, binary, 24h */
	CHECK_EQ(cmos_read(vm, 0x0b) & 0x10, 0);
	cmos_write(vm, 0, 30);
	cmos_write(vm, 2, 15);
	cmos_write(vm, 4, 10);
	cmos_write(vm, 7, 4);
	cmos_write(vm, 8, 7);
	cmos_write(vm, 9, 99);
	cmos_write(vm, 0x32, 19);	/* 1999-07-04 10:15:30 */
	vm_clock_advance(vm, 5 * NS_PER_SEC);	/* held while SET */
	CHECK_EQ(cmos_read(vm, 0), 30);
	cmos_write(vm, 0x0b, 0x06);
	CHECK_EQ(cmos_read(vm, 0), 30);
	vm_clock_advance(vm, 3 * NS_PER_SEC);
	CHECK_EQ(cmos_read(vm, 0), 33);
	CHECK_EQ(cmos_read(vm, 2), 15);
	CHECK_EQ(cmos_read(vm, 9), 99);
	CHECK_EQ(cmos_read(vm, 0x32), 19);
	CHECK_EQ(cmos_read(vm, 6), 1);	/* a Sunday */
	/* a write while running moves the clock and it goes on from there */
	cmos_write(vm, 2, 45);
	vm_clock_advance(vm, NS_PER_SEC);
	CHECK_EQ(cmos_read(vm, 2), 45);
	CHECK_EQ(cmos_read(vm, 0), 34);
	test_vm_free(vm);
}

TEST(divider_reset_holds_time)
{
	struct vm *vm;
	rtc_setup(&vm);
	cmos_write(vm, 0x0a, 0x76);
	vm_clock_advance(vm, 10 * NS_PER_SEC);
	CHECK_EQ(cmos_read(vm, 0), 0x58);
	CHECK_EQ(cmos_read(vm, 0x0a) & 0x80, 0);
	cmos_write(vm, 0x0a, 0x26);	/* the first update comes 500 ms later */
	vm_clock_advance(vm, 499000000);
	CHECK_EQ(cmos_read(vm, 0), 0x58);
	vm_clock_advance(vm, 1000000);
	CHECK_EQ(cmos_read(vm, 0), 0x59);
	test_vm_free(vm);
}

TEST(cmos_ram_and_nmi_mask)
{
	struct vm *vm;
	struct mc146818_rtc *rtc = rtc_setup(&vm);
	CHECK_EQ(cmos_read(vm, 0x10), 0x00);
	CHECK_EQ(cmos_read(vm, 0x15) | cmos_read(vm, 0x16) << 8, 640);
	CHECK_EQ(cmos_read(vm, 0x17) | cmos_read(vm, 0x18) << 8, 15 * 1024);
	CHECK_EQ(cmos_read(vm, 0x30) | cmos_read(vm, 0x31) << 8, 15 * 1024);
	CHECK_EQ(cmos_read(vm, 0x34) | cmos_read(vm, 0x35) << 8, 0);
	unsigned sum = 0;
	for (uint8_t i = 0x10; i <= 0x2d; i++)
		sum += cmos_read(vm, i);
	CHECK_EQ(cmos_read(vm, 0x2e) << 8 | cmos_read(vm, 0x2f), sum);
	for (unsigned i = 0x40; i < 0x80; i++)
		cmos_write(vm, (uint8_t)i, (uint8_t)(i ^ 0x5a));
	for (unsigned i = 0x40; i < 0x80; i++)
		CHECK_EQ(cmos_read(vm, (uint8_t)i), i ^ 0x5a);
	CHECK(!mc146818_rtc_nmi_masked(rtc));
	outb(vm, 0x70, 0x80 | 0x41);	/* bit 7 masks NMIs, the index is 0x41 */
	CHECK(mc146818_rtc_nmi_masked(rtc));
	CHECK_EQ(inb(vm, 0x71), 0x41 ^ 0x5a);
	CHECK_EQ(inb(vm, 0x70), 0xff);
	outb(vm, 0x70, 0x41);
	CHECK(!mc146818_rtc_nmi_masked(rtc));
	/* a word write is index then data */
	outw(vm, 0x70, 0x7750);
	CHECK_EQ(cmos_read(vm, 0x50), 0x77);
	mc146818_rtc_set_cmos(rtc, 0x3d, 0x12);
	CHECK_EQ(cmos_read(vm, 0x3d), 0x12);
	mc146818_rtc_set_cmos(rtc, 0x02, 0x12);	/* not a RAM byte: ignored */
	mc146818_rtc_set_cmos(rtc, 1000, 0x12);
	test_vm_free(vm);
}

TEST(cmos_memory_sizes_above_4g)
{
	struct vm *vm = test_vm_new_ram(5ull << 30);
	CHECK_EQ(mc146818_rtc_create(vm, NULL), 0);
	CHECK_EQ(cmos_read(vm, 0x30) | cmos_read(vm, 0x31) << 8, 0xffff);
	CHECK_EQ(cmos_read(vm, 0x34) | cmos_read(vm, 0x35) << 8, ((3ull << 30) - (16 << 20)) >> 16);
	CHECK_EQ(cmos_read(vm, 0x5b) | cmos_read(vm, 0x5c) << 8 | cmos_read(vm, 0x5d) << 16,
		 (2ull << 30) >> 16);
	test_vm_free(vm);
}

TEST(reset_clears_enables_and_flags)
{
	struct vm *vm;
	rtc_setup(&vm);
	cmos_write(vm, 0x0b, 0x7a);
	vm_clock_advance(vm, 2 * NS_PER_SEC);
	timers_run_expired(vm, vm_clock_ns(vm));
	CHECK_EQ(fake_irq_level[8], 1);
	vm->devices[0].reset(vm->devices[0].opaque);
	CHECK_EQ(fake_irq_level[8], 0);
	CHECK_EQ(cmos_read(vm, 0x0b), 0x02);
	CHECK_EQ(cmos_read(vm, 0x0c), 0);
	CHECK_EQ(timers_next_deadline(vm), TIMER_NEVER);
	CHECK_EQ(cmos_read(vm, 0), 0x00);	/* the time goes on */
	/* garbage in the time registers does not upset the clock */
	cmos_write(vm, 0x0b, 0x82);
	for (uint8_t i = 0; i < 10; i++)
		cmos_write(vm, i, 0xff);
	cmos_write(vm, 0x32, 0xff);
	cmos_write(vm, 0x0b, 0x02);
	vm_clock_advance(vm, NS_PER_SEC);
	(void)cmos_read(vm, 0);
	(void)inl(vm, 0x70);
	test_vm_free(vm);
}

TEST(random_register_storm)
{
	static const uint16_t ports[] = { 0x70, 0x71, 0x71, 0x71 };
	struct vm *vm = test_vm_new();
	CHECK_EQ(mc146818_rtc_create(vm, NULL), 0);
	test_port_storm(vm, ports, (int)(sizeof(ports) / sizeof(ports[0])), 200000, 1);
	test_vm_free(vm);
}

RUN_TESTS(T(time_in_bcd_and_binary), T(twelve_hour_mode), T(uip_before_each_update),
	  T(periodic_interrupt_rate), T(register_c_clears_on_read), T(update_ended_interrupt),
	  T(alarm_interrupt), T(set_time_with_set_bit), T(divider_reset_holds_time),
	  T(cmos_ram_and_nmi_mask), T(cmos_memory_sizes_above_4g),
	  T(reset_clears_enables_and_flags),
	  T(random_register_storm))
