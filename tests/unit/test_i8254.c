#include "test.h"

#include "hw/i8254.h"
#include "hw/i8259.h"
#include "platform_vm.h"

#define TICK_NS(n) ((uint64_t)(n) * NS_PER_SEC / PIT_HZ + 1)

static struct vm *pit_setup(void)
{
	struct vm *vm = test_vm_new();
	struct i8254 *pit = NULL;
	CHECK_EQ(i8254_create(vm, &pit), 0);
	CHECK(pit != NULL);
	return vm;
}

static uint16_t read_word(struct vm *vm, uint16_t port)
{
	uint16_t lo = (uint16_t)inb(vm, port);
	return (uint16_t)(lo | inb(vm, port) << 8);
}

static uint16_t latch_read(struct vm *vm, unsigned ch)
{
	outb(vm, 0x43, ch << 6);
	return read_word(vm, (uint16_t)(0x40 + ch));
}

static void program(struct vm *vm, unsigned ch, unsigned mode, uint16_t count)
{
	outb(vm, 0x43, ch << 6 | 0x30 | mode << 1);
	outb(vm, (uint16_t)(0x40 + ch), count & 0xff);
	outb(vm, (uint16_t)(0x40 + ch), count >> 8);
}

TEST(counts_down_at_pit_rate)
{
	struct vm *vm = pit_setup();
	program(vm, 0, 0, 50000);
	CHECK_EQ(latch_read(vm, 0), 50000);
	vm_clock_advance(vm, TICK_NS(1000));
	CHECK_EQ(latch_read(vm, 0), 49000);
	/* 10 ms is 11931.82 ticks */
	vm_clock_advance(vm, 10000000);
	CHECK_EQ(latch_read(vm, 0), 49000 - 11931);
	/* the latch holds while time goes on, until both bytes are read */
	outb(vm, 0x43, 0x00);
	uint16_t lo = (uint16_t)inb(vm, 0x40);
	vm_clock_advance(vm, 5000000);
	outb(vm, 0x43, 0x00);	/* a second latch before the read is ignored */
	uint16_t v = (uint16_t)(lo | inb(vm, 0x40) << 8);
	CHECK_EQ(v, 49000 - 11931);
	/* 1000 ticks and 15 ms (17897.73 ticks) since the load */
	CHECK_EQ(latch_read(vm, 0), 50000 - 18897);
	test_vm_free(vm);
}

TEST(mode0_interrupt_on_terminal_count)
{
	struct vm *vm = pit_setup();
	timers_run_expired(vm, vm_clock_ns(vm));
	program(vm, 0, 0, 1193);	/* 1 ms */
	CHECK_EQ(fake_irq_level[0], 0);
	int rises = fake_irq_rises[0];
	uint64_t deadline = timers_next_deadline(vm);
	CHECK_EQ(deadline, vm_clock_ns(vm) + TICK_NS(1193) - 1 + (1193ull * NS_PER_SEC % PIT_HZ != 0));
	test_advance(vm, 999000, 1000);
	CHECK_EQ(fake_irq_rises[0], rises);
	test_advance(vm, 2000, 1000);
	CHECK_EQ(fake_irq_rises[0], rises + 1);
	CHECK_EQ(fake_irq_level[0], 1);
	/* one shot: out stays high, the counter wraps on */
	test_advance(vm, 100000000, 1000000);
	CHECK_EQ(fake_irq_rises[0], rises + 1);
	CHECK_EQ(timers_next_deadline(vm), TIMER_NEVER);
	/* a new control word drops the output */
	outb(vm, 0x43, 0x30);
	CHECK_EQ(fake_irq_level[0], 0);
	test_vm_free(vm);
}

TEST(mode2_rate_generator_rate)
{
	struct vm *vm = pit_setup();
	program(vm, 0, 2, 1193);	/* ~1000 Hz, as Linux's periodic mode */
	int rises = fake_irq_rises[0];
	test_advance(vm, NS_PER_SEC, 50000);
	int n = fake_irq_rises[0] - rises;
	CHECK(n >= 1000 && n <= 1001);
	/* the counter runs N..1 */
	uint16_t v = latch_read(vm, 0);
	CHECK(v >= 1 && v <= 1193);
	/* reading the status: mode 2, word access, binary */
	outb(vm, 0x43, 0xe2);
	CHECK_EQ(inb(vm, 0x40) & 0x3f, 0x34);
	test_vm_free(vm);
}

TEST(mode3_square_wave)
{
	struct vm *vm = pit_setup();
	program(vm, 0, 3, 1000);
	outb(vm, 0x43, 0xe2);	/* status: out high at the start */
	CHECK_EQ(inb(vm, 0x40) & 0x80, 0x80);
	vm_clock_advance(vm, TICK_NS(600));
	outb(vm, 0x43, 0xe2);	/* second half: low */
	CHECK_EQ(inb(vm, 0x40) & 0x80, 0x00);
	/* the counter goes down by two */
	uint16_t a = latch_read(vm, 0);
	vm_clock_advance(vm, TICK_NS(10));
	uint16_t b = latch_read(vm, 0);
	CHECK_EQ(a - b, 20);
	CHECK_EQ(a & 1, 0);
	int rises = fake_irq_rises[0];
	test_advance(vm, 100000000, 100000);	/* 100 ms: ~119 periods */
	int n = fake_irq_rises[0] - rises;
	CHECK(n >= 119 && n <= 120);
	test_vm_free(vm);
}

/* A count of 2 asks for 597 kHz: like KVM's in-kernel PIT, periodic
 * interrupts come at most every 200 us (the edges between count as one),
 * while the counter still reads true */
TEST(fast_periodic_rates_are_limited)
{
	struct vm *vm = pit_setup();
	for (unsigned mode = 2; mode <= 3; mode++) {
		program(vm, 0, mode, 2);
		CHECK(timers_next_deadline(vm) >= vm_clock_ns(vm) + 200000);
		int rises = fake_irq_rises[0];
		test_advance(vm, 10000000, 1000);	/* 10 ms in 1 us steps */
		int n = fake_irq_rises[0] - rises;
		CHECK(n >= 45 && n <= 51);
		uint16_t v = latch_read(vm, 0);
		CHECK(v >= 1 && v <= 2);
	}
	/* a one-shot count is never held back */
	program(vm, 0, 0, 2);
	CHECK(timers_next_deadline(vm) < vm_clock_ns(vm) + 10000);
	test_vm_free(vm);
}

TEST(access_modes_lsb_msb)
{
	struct vm *vm = pit_setup();
	/* LSB only */
	outb(vm, 0x43, 0x50 | 0x00);	/* channel 1, LSB, mode 0 */
	outb(vm, 0x41, 200);
	vm_clock_advance(vm, TICK_NS(50));
	CHECK_EQ(inb(vm, 0x41), 150);
	CHECK_EQ(inb(vm, 0x41), 150);
	/* MSB only */
	outb(vm, 0x43, 0x60);	/* channel 1, MSB, mode 0 */
	outb(vm, 0x41, 0x12);
	CHECK_EQ(inb(vm, 0x41), 0x12);
	vm_clock_advance(vm, TICK_NS(1));
	CHECK_EQ(inb(vm, 0x41), 0x11);
	test_vm_free(vm);
}

TEST(bcd_counting)
{
	struct vm *vm = pit_setup();
	outb(vm, 0x43, 0x71);	/* channel 1, word, mode 0, BCD */
	outb(vm, 0x41, 0x34);
	outb(vm, 0x41, 0x12);
	vm_clock_advance(vm, TICK_NS(35));
	CHECK_EQ(latch_read(vm, 1), 0x1199);
	test_vm_free(vm);
}

TEST(read_back_command)
{
	struct vm *vm = pit_setup();
	program(vm, 1, 0, 3000);
	program(vm, 2, 0, 4000);
	outb(vm, 0x61, 0x01);	/* gate 2 on */
	vm_clock_advance(vm, TICK_NS(100));
	/* latch count and status of channels 1 and 2 */
	outb(vm, 0x43, 0xcc);
	vm_clock_advance(vm, TICK_NS(100));
	CHECK_EQ(inb(vm, 0x41), 0x30);	/* status first: out low, word, mode 0 */
	CHECK_EQ(read_word(vm, 0x41), 2900);
	CHECK_EQ(inb(vm, 0x42), 0x30);
	CHECK_EQ(read_word(vm, 0x42), 3900);
	/* count only */
	outb(vm, 0x43, 0xd8);
	CHECK_EQ(read_word(vm, 0x42), 3800);
	/* status only, right after a control word: null count, mode 3 high */
	outb(vm, 0x43, 0xb6);
	outb(vm, 0x43, 0xe8);
	CHECK_EQ(inb(vm, 0x42), 0xf6);
	test_vm_free(vm);
}

TEST(channel2_gate_and_output_on_port61)
{
	struct vm *vm = pit_setup();
	outb(vm, 0x61, 0x00);
	/* Linux's calibration: gate on, speaker off, mode 0, wait for OUT2 */
	outb(vm, 0x61, (inb(vm, 0x61) & ~0x02) | 0x01);
	program(vm, 2, 0, 11932);	/* 10 ms */
	CHECK_EQ(inb(vm, 0x61) & 0x21, 0x01);
	vm_clock_advance(vm, 9990000);
	CHECK_EQ(inb(vm, 0x61) & 0x20, 0);
	vm_clock_advance(vm, 20000);
	CHECK_EQ(inb(vm, 0x61) & 0x20, 0x20);
	/* gate low holds a mode 0 count */
	program(vm, 2, 0, 10000);
	vm_clock_advance(vm, TICK_NS(1000));
	outb(vm, 0x61, 0x00);
	vm_clock_advance(vm, TICK_NS(5000));
	CHECK_EQ(latch_read(vm, 2), 9000);
	outb(vm, 0x61, 0x01);
	vm_clock_advance(vm, TICK_NS(500));
	CHECK_EQ(latch_read(vm, 2), 8500);
	/* mode 2 with the gate low waits, and starts when it rises */
	outb(vm, 0x61, 0x00);
	program(vm, 2, 2, 100);
	vm_clock_advance(vm, TICK_NS(40));
	CHECK_EQ(latch_read(vm, 2), 100);
	outb(vm, 0x61, 0x01);
	vm_clock_advance(vm, TICK_NS(40));
	CHECK_EQ(latch_read(vm, 2), 60);
	/* bits 2 and 3 read back, 6 and 7 do not */
	outb(vm, 0x61, 0xff);
	CHECK_EQ(inb(vm, 0x61) & 0xcf, 0x0f);
	test_vm_free(vm);
}

TEST(refresh_bit_toggles)
{
	struct vm *vm = pit_setup();
	uint8_t a = (uint8_t)inb(vm, 0x61) & 0x10;
	vm_clock_advance(vm, 15085);
	uint8_t b = (uint8_t)inb(vm, 0x61) & 0x10;
	CHECK(a != b);
	test_vm_free(vm);
}

TEST(mode1_and_mode5_wait_for_the_gate)
{
	struct vm *vm = pit_setup();
	outb(vm, 0x61, 0x00);
	program(vm, 2, 1, 500);
	vm_clock_advance(vm, TICK_NS(100));
	CHECK_EQ(inb(vm, 0x61) & 0x20, 0x20);	/* high until triggered */
	CHECK_EQ(latch_read(vm, 2), 500);
	outb(vm, 0x61, 0x01);
	vm_clock_advance(vm, TICK_NS(100));
	CHECK_EQ(inb(vm, 0x61) & 0x20, 0x00);
	CHECK_EQ(latch_read(vm, 2), 400);
	vm_clock_advance(vm, TICK_NS(400));
	CHECK_EQ(inb(vm, 0x61) & 0x20, 0x20);
	/* mode 5: strobe one clock at the end */
	outb(vm, 0x61, 0x00);
	program(vm, 2, 5, 50);
	outb(vm, 0x61, 0x01);
	vm_clock_advance(vm, TICK_NS(50));
	CHECK_EQ(inb(vm, 0x61) & 0x20, 0x00);
	vm_clock_advance(vm, TICK_NS(1));
	CHECK_EQ(inb(vm, 0x61) & 0x20, 0x20);
	test_vm_free(vm);
}

TEST(mode4_strobe_raises_irq_once)
{
	struct vm *vm = pit_setup();
	program(vm, 0, 4, 100);
	int rises = fake_irq_rises[0];
	test_advance(vm, TICK_NS(99), TICK_NS(99));
	CHECK_EQ(fake_irq_rises[0], rises);
	test_advance(vm, 10000000, 10000);
	CHECK_EQ(fake_irq_rises[0], rises + 1);
	CHECK_EQ(fake_irq_level[0], 1);
	test_vm_free(vm);
}

TEST(late_timers_deliver_one_edge)
{
	struct vm *vm = pit_setup();
	program(vm, 0, 2, 1193);
	int rises = fake_irq_rises[0];
	/* the host was away for 50 periods: one interrupt, as lost ticks */
	vm_clock_advance(vm, 50000000);
	timers_run_expired(vm, vm_clock_ns(vm));
	CHECK_EQ(fake_irq_rises[0], rises + 1);
	CHECK(timers_next_deadline(vm) > vm_clock_ns(vm));
	test_vm_free(vm);
}

TEST(reset_and_malformed_accesses)
{
	struct vm *vm = pit_setup();
	/* after reset channel 0 runs in mode 3 with the full count */
	outb(vm, 0x43, 0xe2);
	CHECK_EQ(inb(vm, 0x40) & 0x3f, 0x36);
	CHECK(timers_next_deadline(vm) != TIMER_NEVER);
	/* the control port reads as all ones; wide accesses do no harm */
	CHECK_EQ(inb(vm, 0x43), 0xff);
	outl(vm, 0x40, 0xffffffff);
	outw(vm, 0x42, 0x0000);
	(void)inl(vm, 0x40);
	(void)inw(vm, 0x61);
	/* counts of 0 and 1 in the periodic modes */
	program(vm, 0, 2, 1);
	test_advance(vm, 1000000, 100000);
	program(vm, 0, 3, 0);
	test_advance(vm, 1000000, 100000);
	/* the read-back of no channel, and a mode 6/7 alias */
	outb(vm, 0x43, 0xc0);
	outb(vm, 0x43, 0x3e);	/* mode 7 is mode 3 */
	outb(vm, 0x43, 0xe2);
	CHECK_EQ(inb(vm, 0x40) & 0x0e, 0x06);
	vm->devices[0].reset(vm->devices[0].opaque);
	outb(vm, 0x43, 0xe2);
	CHECK_EQ(inb(vm, 0x40) & 0x3f, 0x36);
	test_vm_free(vm);
	CHECK_EQ(timers_next_deadline(vm), TIMER_NEVER);
}

TEST(irq0_reaches_the_pic)
{
	struct vm *vm = test_vm_new();
	struct i8259 *pic;
	CHECK_EQ(i8259_create(vm, &pic), 0);
	CHECK_EQ(i8254_create(vm, NULL), 0);
	outb(vm, 0x20, 0x11);
	outb(vm, 0x21, 0x30);
	outb(vm, 0x21, 0x04);
	outb(vm, 0x21, 0x01);
	outb(vm, 0x21, 0xfe);	/* only IRQ 0 */
	program(vm, 0, 2, 11932);	/* 100 Hz */
	int taken = 0;
	for (int i = 0; i < 1000; i++) {	/* 1 s in 1 ms steps */
		test_advance(vm, 1000000, 1000000);
		if (i8259_has_interrupt(pic)) {
			CHECK_EQ(i8259_ack(pic), 0x30);
			outb(vm, 0x20, 0x20);
			taken++;
		}
	}
	CHECK(taken >= 99 && taken <= 100);
	test_vm_free(vm);
}

TEST(random_register_storm)
{
	static const uint16_t ports[] = { 0x40, 0x41, 0x42, 0x43, 0x61 };
	struct vm *vm = test_vm_new();
	CHECK_EQ(i8254_create(vm, NULL), 0);
	test_port_storm(vm, ports, (int)(sizeof(ports) / sizeof(ports[0])), 200000, 1);
	test_vm_free(vm);
}

RUN_TESTS(T(counts_down_at_pit_rate), T(mode0_interrupt_on_terminal_count),
	  T(mode2_rate_generator_rate), T(mode3_square_wave), T(fast_periodic_rates_are_limited),
	  T(access_modes_lsb_msb),
	  T(bcd_counting), T(read_back_command), T(channel2_gate_and_output_on_port61),
	  T(refresh_bit_toggles), T(mode1_and_mode5_wait_for_the_gate),
	  T(mode4_strobe_raises_irq_once), T(late_timers_deliver_one_edge),
	  T(reset_and_malformed_accesses),
	  T(irq0_reaches_the_pic), T(random_register_storm))
