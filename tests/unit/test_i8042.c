/* The i8042 controller, and the other ways a PC resets itself: port 0x92,
 * plus the POST port */
#include "test.h"

#include "platform_vm.h"
#include "hw/pc.h"

static struct vm *kbc_setup(void)
{
	struct vm *vm = test_vm_new();
	CHECK_EQ(i8042_create(vm, NULL), 0);
	return vm;
}

TEST(self_test_and_status)
{
	struct vm *vm = kbc_setup();
	uint8_t st = (uint8_t)inb(vm, 0x64);
	CHECK_EQ(st & 0x03, 0);	/* nothing to read, ready for input */
	outb(vm, 0x64, 0xaa);
	st = (uint8_t)inb(vm, 0x64);
	CHECK_EQ(st & 0x0d, 0x0d);	/* OBF, SYS, last write was a command */
	CHECK_EQ(st & 0x20, 0);
	CHECK_EQ(inb(vm, 0x60), 0x55);
	CHECK_EQ(inb(vm, 0x64) & 0x01, 0);
	/* port 0x60 with nothing queued reads the last byte again */
	CHECK_EQ(inb(vm, 0x60), 0x55);
	outb(vm, 0x64, 0xab);
	CHECK_EQ(inb(vm, 0x60), 0x00);
	outb(vm, 0x64, 0xa9);
	CHECK_EQ(inb(vm, 0x60), 0x00);
	test_vm_free(vm);
}

TEST(command_byte)
{
	struct vm *vm = kbc_setup();
	outb(vm, 0x64, 0x20);
	uint8_t ctr = (uint8_t)inb(vm, 0x60);
	CHECK_EQ(ctr & 0x04, 0x04);
	outb(vm, 0x64, 0x60);
	outb(vm, 0x60, 0x00);	/* interrupts off, system flag off */
	CHECK_EQ(inb(vm, 0x64) & 0x0c, 0x00);
	outb(vm, 0x64, 0xad);
	outb(vm, 0x64, 0xa7);
	outb(vm, 0x64, 0x20);
	CHECK_EQ(inb(vm, 0x60), 0x30);
	outb(vm, 0x64, 0xae);
	outb(vm, 0x64, 0xa8);
	outb(vm, 0x64, 0x20);
	CHECK_EQ(inb(vm, 0x60), 0x00);
	test_vm_free(vm);
}

TEST(interrupts_follow_the_output_buffer)
{
	struct vm *vm = kbc_setup();
	outb(vm, 0x64, 0x60);
	outb(vm, 0x60, 0x03);	/* keyboard and mouse interrupts on */
	outb(vm, 0x64, 0xd2);	/* a byte as from the keyboard */
	outb(vm, 0x60, 0x1c);
	CHECK_EQ(fake_irq_level[1], 1);
	CHECK_EQ(inb(vm, 0x64) & 0x21, 0x01);
	CHECK_EQ(inb(vm, 0x60), 0x1c);
	CHECK_EQ(fake_irq_level[1], 0);
	/* the mouse loopback Linux uses to find the aux port */
	outb(vm, 0x64, 0xd3);
	outb(vm, 0x60, 0x5a);
	CHECK_EQ(inb(vm, 0x64) & 0x21, 0x21);
	CHECK_EQ(fake_irq_level[12], 1);
	CHECK_EQ(inb(vm, 0x60), 0x5a);
	CHECK_EQ(fake_irq_level[12], 0);
	test_vm_free(vm);
}

TEST(absent_devices_time_out)
{
	struct vm *vm = kbc_setup();
	outb(vm, 0x60, 0xf2);	/* keyboard: identify */
	uint8_t st = (uint8_t)inb(vm, 0x64);
	CHECK_EQ(st & 0x61, 0x41);
	CHECK_EQ(inb(vm, 0x60), 0xfe);
	outb(vm, 0x64, 0xd4);	/* mouse: reset */
	outb(vm, 0x60, 0xff);
	st = (uint8_t)inb(vm, 0x64);
	CHECK_EQ(st & 0x61, 0x61);
	CHECK_EQ(inb(vm, 0x60), 0xfe);
	test_vm_free(vm);
}

TEST(reset_by_pulse_command)
{
	struct vm *vm = kbc_setup();
	outb(vm, 0x64, 0xff);	/* pulse nothing */
	CHECK(!test_reset_requested(vm));
	outb(vm, 0x64, 0xfe);
	CHECK(test_reset_requested(vm));
	test_vm_free(vm);
}

TEST(reset_by_output_port)
{
	struct vm *vm = kbc_setup();
	outb(vm, 0x64, 0xd0);
	CHECK_EQ(inb(vm, 0x60) & 0x03, 0x03);
	outb(vm, 0x64, 0xd1);
	outb(vm, 0x60, 0xdf);	/* A20 on, reset high: nothing happens */
	CHECK(!test_reset_requested(vm));
	outb(vm, 0x64, 0xd1);
	CHECK_EQ(vm->a20_inputs, PC_A20_I8042);
	outb(vm, 0x60, 0xdd);	/* A20 off: the gate's i8042 input drops */
	outb(vm, 0x64, 0xd0);
	CHECK_EQ(inb(vm, 0x60) & 0x02, 0x00);
	CHECK_EQ(vm->a20_inputs, 0);
	CHECK(!test_reset_requested(vm));
	outb(vm, 0x64, 0xd1);
	outb(vm, 0x60, 0xde);
	CHECK(test_reset_requested(vm));
	test_vm_free(vm);
}

TEST(queue_overflow_and_unknown_commands)
{
	struct vm *vm = kbc_setup();
	for (int i = 0; i < 100; i++)
		outb(vm, 0x64, 0x20);
	outb(vm, 0x64, 0x42);
	outb(vm, 0x64, 0x00);
	int n = 0;
	while ((inb(vm, 0x64) & 1) && n < 1000) {
		inb(vm, 0x60);
		n++;
	}
	CHECK(n > 0 && n <= 16);
	(void)inl(vm, 0x60);
	outw(vm, 0x64, 0xaaaa);
	CHECK(!test_reset_requested(vm));
	vm->devices[0].reset(vm->devices[0].opaque);
	CHECK_EQ(inb(vm, 0x64) & 1, 0);
	test_vm_free(vm);
}

TEST(port92_fast_a20_and_reset)
{
	struct vm *vm = test_vm_new();
	/* booting a kernel directly, A20 is on as firmware would leave it */
	vm->cfg.kernel = "vmlinuz";
	CHECK_EQ(port92_create(vm), 0);
	CHECK_EQ(inb(vm, 0x92), 0x02);
	CHECK_EQ(vm->a20_inputs, PC_A20_PORT92);
	outb(vm, 0x92, 0x00);	/* A20 off */
	CHECK_EQ(inb(vm, 0x92), 0x00);
	CHECK_EQ(vm->a20_inputs, 0);
	outb(vm, 0x92, 0x02);
	CHECK_EQ(vm->a20_inputs, PC_A20_PORT92);
	/* a BIOS finds it off after reset, and turns it on itself */
	vm->cfg.kernel = NULL;
	vm->devices[0].reset(vm->devices[0].opaque);
	CHECK_EQ(inb(vm, 0x92), 0x00);
	CHECK(!test_reset_requested(vm));
	outb(vm, 0x92, 0x03);
	CHECK(test_reset_requested(vm));
	test_vm_free(vm);
}

TEST(port80_keeps_the_post_code)
{
	struct vm *vm = test_vm_new();
	CHECK_EQ(port80_create(vm), 0);
	outb(vm, 0x80, 0x42);
	CHECK_EQ(inb(vm, 0x80), 0x42);
	CHECK_EQ(vm->pio.unassigned_count, 0);
	test_vm_free(vm);
}

TEST(random_register_storm)
{
	static const uint16_t ports[] = { 0x60, 0x64, 0x92, 0x80 };
	struct vm *vm = test_vm_new();
	CHECK_EQ(i8042_create(vm, NULL) || port92_create(vm) || port80_create(vm), 0);
	test_port_storm(vm, ports, (int)(sizeof(ports) / sizeof(ports[0])), 200000, 1);
	test_vm_free(vm);
}

RUN_TESTS(T(self_test_and_status), T(command_byte), T(interrupts_follow_the_output_buffer),
	  T(absent_devices_time_out), T(reset_by_pulse_command), T(reset_by_output_port),
	  T(queue_overflow_and_unknown_commands), T(port92_fast_a20_and_reset),
	  T(port80_keeps_the_post_code),
	  T(random_register_storm))
