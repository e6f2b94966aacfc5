#include "test.h"

#include "hw/i8259.h"
#include "platform_vm.h"

/* Program the pair as Linux's init_8259A does: vectors 0x20/0x28, 8086
 * mode, normal EOI, everything unmasked */
static struct i8259 *pic_setup(struct vm **vmp, bool auto_eoi)
{
	struct vm *vm = test_vm_new();
	struct i8259 *pic = NULL;
	CHECK_EQ(i8259_create(vm, &pic), 0);
	CHECK(vm->irqchip != NULL && vm->irqchip_opaque == pic);
	outb(vm, 0x20, 0x11);
	outb(vm, 0x21, 0x20);
	outb(vm, 0x21, 0x04);
	outb(vm, 0x21, auto_eoi ? 0x03 : 0x01);
	outb(vm, 0xa0, 0x11);
	outb(vm, 0xa1, 0x28);
	outb(vm, 0xa1, 0x02);
	outb(vm, 0xa1, 0x01);
	outb(vm, 0x21, 0x00);
	outb(vm, 0xa1, 0x00);
	*vmp = vm;
	return pic;
}

static uint8_t read_isr(struct vm *vm, uint16_t port)
{
	outb(vm, port, 0x0b);
	return (uint8_t)inb(vm, port);
}

static uint8_t read_irr(struct vm *vm, uint16_t port)
{
	outb(vm, port, 0x0a);
	return (uint8_t)inb(vm, port);
}

static void pulse(struct vm *vm, unsigned irq)
{
	vm_set_irq(vm, irq, 1);
	vm_set_irq(vm, irq, 0);
}

TEST(reset_state_masks_everything)
{
	struct vm *vm = test_vm_new();
	struct i8259 *pic;
	CHECK_EQ(i8259_create(vm, &pic), 0);
	CHECK_EQ(inb(vm, 0x21), 0xff);
	CHECK_EQ(inb(vm, 0xa1), 0xff);
	pulse(vm, 4);
	CHECK(!i8259_has_interrupt(pic));
	/* ICW1 clears the mask; the edge came before it and is forgotten */
	outb(vm, 0x20, 0x11);
	CHECK_EQ(inb(vm, 0x21), 0x00);
	test_vm_free(vm);
	CHECK(vm->irqchip == NULL);
}

TEST(vector_and_eoi)
{
	struct vm *vm;
	struct i8259 *pic = pic_setup(&vm, false);
	CHECK(!vm->irqchip->has_interrupt(vm->irqchip_opaque, 0));
	pulse(vm, 3);
	CHECK_EQ(read_irr(vm, 0x20), 0x08);
	CHECK(vm->irqchip->has_interrupt(vm->irqchip_opaque, 0));
	CHECK(!vm->irqchip->has_interrupt(vm->irqchip_opaque, 1));	/* only the BSP */
	CHECK_EQ(vm->irqchip->ack_interrupt(vm->irqchip_opaque, 0), 0x23);
	CHECK_EQ(read_isr(vm, 0x20), 0x08);
	CHECK_EQ(read_irr(vm, 0x20), 0x00);
	CHECK(!i8259_has_interrupt(pic));
	outb(vm, 0x20, 0x20);	/* non-specific EOI */
	CHECK_EQ(read_isr(vm, 0x20), 0x00);
	CHECK(!i8259_has_interrupt(pic));
	test_vm_free(vm);
}

TEST(fully_nested_priority)
{
	struct vm *vm;
	struct i8259 *pic = pic_setup(&vm, false);
	pulse(vm, 5);
	pulse(vm, 3);
	CHECK_EQ(i8259_ack(pic), 0x23);
	/* 5 waits behind 3 in service; 1 has the higher priority and nests */
	CHECK(!i8259_has_interrupt(pic));
	pulse(vm, 1);
	CHECK(i8259_has_interrupt(pic));
	CHECK_EQ(i8259_ack(pic), 0x21);
	CHECK_EQ(read_isr(vm, 0x20), 0x0a);
	outb(vm, 0x20, 0x20);	/* ends 1, the highest in service */
	CHECK_EQ(read_isr(vm, 0x20), 0x08);
	CHECK(!i8259_has_interrupt(pic));
	outb(vm, 0x20, 0x63);	/* specific EOI for 3 */
	CHECK_EQ(read_isr(vm, 0x20), 0x00);
	CHECK_EQ(i8259_ack(pic), 0x25);
	outb(vm, 0x20, 0x20);
	CHECK(!i8259_has_interrupt(pic));
	test_vm_free(vm);
}

TEST(masking)
{
	struct vm *vm;
	struct i8259 *pic = pic_setup(&vm, false);
	outb(vm, 0x21, 0x10);
	CHECK_EQ(inb(vm, 0x21), 0x10);
	pulse(vm, 4);
	CHECK(!i8259_has_interrupt(pic));
	CHECK_EQ(read_irr(vm, 0x20), 0x10);	/* remembered while masked */
	outb(vm, 0x21, 0x00);
	CHECK(i8259_has_interrupt(pic));
	CHECK_EQ(i8259_ack(pic), 0x24);
	/* masking the cascade hides the whole slave */
	outb(vm, 0x21, 0x04);
	pulse(vm, 12);
	CHECK(!i8259_has_interrupt(pic));
	outb(vm, 0x21, 0x00);
	outb(vm, 0x20, 0x20);
	CHECK(i8259_has_interrupt(pic));
	CHECK_EQ(i8259_ack(pic), 0x2c);
	test_vm_free(vm);
}

TEST(rotation)
{
	struct vm *vm;
	struct i8259 *pic = pic_setup(&vm, false);
	pulse(vm, 2 + 1);
	CHECK_EQ(i8259_ack(pic), 0x23);
	outb(vm, 0x20, 0xa0);	/* rotate on non-specific EOI: 3 is now lowest */
	pulse(vm, 3);
	pulse(vm, 6);
	CHECK_EQ(i8259_ack(pic), 0x26);	/* 4..7 come before 0..3 */
	outb(vm, 0x20, 0x20);
	CHECK_EQ(i8259_ack(pic), 0x23);
	outb(vm, 0x20, 0x20);
	/* set priority: 6 lowest, so 7 is the highest */
	outb(vm, 0x20, 0xc6);
	pulse(vm, 0);
	pulse(vm, 7);
	CHECK_EQ(i8259_ack(pic), 0x27);
	outb(vm, 0x20, 0x67);
	CHECK_EQ(i8259_ack(pic), 0x20);
	test_vm_free(vm);
}

TEST(level_triggered_via_elcr)
{
	struct vm *vm;
	struct i8259 *pic = pic_setup(&vm, false);
	outb(vm, 0x4d1, 0x04);	/* IRQ 10 level */
	CHECK_EQ(inb(vm, 0x4d1), 0x04);
	vm_set_irq(vm, 10, 1);
	CHECK_EQ(i8259_ack(pic), 0x2a);
	CHECK_EQ(read_isr(vm, 0xa0), 0x04);
	CHECK_EQ(read_isr(vm, 0x20), 0x04);
	outb(vm, 0xa0, 0x20);
	outb(vm, 0x20, 0x20);
	/* still asserted: it interrupts again */
	CHECK(i8259_has_interrupt(pic));
	CHECK_EQ(i8259_ack(pic), 0x2a);
	outb(vm, 0xa0, 0x20);
	outb(vm, 0x20, 0x20);
	vm_set_irq(vm, 10, 0);
	CHECK(!i8259_has_interrupt(pic));
	/* an edge line held high interrupts once */
	vm_set_irq(vm, 11, 1);
	CHECK_EQ(i8259_ack(pic), 0x2b);
	outb(vm, 0xa0, 0x20);
	outb(vm, 0x20, 0x20);
	CHECK(!i8259_has_interrupt(pic));
	vm_set_irq(vm, 11, 0);
	/* IRQ 0-2, 8 and 13 cannot be level-triggered */
	outw(vm, 0x4d0, 0xffff);
	CHECK_EQ(inw(vm, 0x4d0), 0xdef8);
	test_vm_free(vm);
}

TEST(firmware_level_lines_survive_reset)
{
	struct vm *vm;
	struct i8259 *pic = pic_setup(&vm, false);
	i8259_set_level_triggered(pic, (1u << 10) | (1u << 11) | 1u);
	CHECK_EQ(inb(vm, 0x4d1), 0x0c);
	CHECK_EQ(inb(vm, 0x4d0), 0x00);
	outb(vm, 0x4d1, 0);
	vm->devices[0].reset(vm->devices[0].opaque);
	CHECK_EQ(inb(vm, 0x4d1), 0x0c);
	test_vm_free(vm);
}

TEST(cascade)
{
	struct vm *vm;
	struct i8259 *pic = pic_setup(&vm, false);
	pulse(vm, 14);
	pulse(vm, 9);
	CHECK_EQ(read_irr(vm, 0x20), 0x04);
	CHECK_EQ(i8259_ack(pic), 0x29);
	/* 14 waits behind 9 in service on the slave */
	CHECK(!i8259_has_interrupt(pic));
	outb(vm, 0xa0, 0x20);
	/* the master still has 2 in service */
	CHECK(!i8259_has_interrupt(pic));
	outb(vm, 0x20, 0x20);
	CHECK(i8259_has_interrupt(pic));
	CHECK_EQ(i8259_ack(pic), 0x2e);
	outb(vm, 0xa0, 0x20);
	outb(vm, 0x20, 0x20);
	CHECK(!i8259_has_interrupt(pic));
	/* master lines below 2 go before the slave, above 2 after */
	pulse(vm, 8);
	pulse(vm, 1);
	pulse(vm, 3);
	CHECK_EQ(i8259_ack(pic), 0x21);
	outb(vm, 0x20, 0x20);
	CHECK_EQ(i8259_ack(pic), 0x28);
	outb(vm, 0xa0, 0x20);
	outb(vm, 0x20, 0x20);
	CHECK_EQ(i8259_ack(pic), 0x23);
	test_vm_free(vm);
}

TEST(spurious_irq7)
{
	struct vm *vm;
	struct i8259 *pic = pic_setup(&vm, false);
	outw(vm, 0x4d0, 0x0820);	/* IRQ 5 and 11 level */
	vm_set_irq(vm, 5, 1);
	CHECK(i8259_has_interrupt(pic));
	vm_set_irq(vm, 5, 0);	/* gone before INTA */
	CHECK_EQ(i8259_ack(pic), 0x27);
	CHECK_EQ(read_isr(vm, 0x20), 0x00);	/* a spurious IRQ7 is not in service */
	/* the slave's output drops with its request: the master forgets it */
	vm_set_irq(vm, 11, 1);
	CHECK(i8259_has_interrupt(pic));
	vm_set_irq(vm, 11, 0);
	CHECK(!i8259_has_interrupt(pic));
	CHECK_EQ(i8259_ack(pic), 0x27);
	CHECK_EQ(read_isr(vm, 0x20), 0x00);
	test_vm_free(vm);
}

TEST(auto_eoi)
{
	struct vm *vm;
	struct i8259 *pic = pic_setup(&vm, true);
	pulse(vm, 6);
	pulse(vm, 4);
	CHECK_EQ(i8259_ack(pic), 0x24);
	CHECK_EQ(read_isr(vm, 0x20), 0x00);
	CHECK(i8259_has_interrupt(pic));	/* nothing in service blocks 6 */
	CHECK_EQ(i8259_ack(pic), 0x26);
	test_vm_free(vm);
}

TEST(poll_mode)
{
	struct vm *vm;
	struct i8259 *pic = pic_setup(&vm, false);
	outb(vm, 0x20, 0x0c);
	CHECK_EQ(inb(vm, 0x20), 0x00);	/* nothing requesting */
	pulse(vm, 5);
	outb(vm, 0x20, 0x0c);
	CHECK_EQ(inb(vm, 0x20), 0x85);
	CHECK_EQ(read_isr(vm, 0x20), 0x20);
	CHECK(!i8259_has_interrupt(pic));
	/* poll mode lasts one read */
	CHECK_EQ(inb(vm, 0x20), 0x20);
	test_vm_free(vm);
}

TEST(special_mask_mode)
{
	struct vm *vm;
	struct i8259 *pic = pic_setup(&vm, false);
	pulse(vm, 3);
	CHECK_EQ(i8259_ack(pic), 0x23);
	/* the handler masks its own line and lets lower priorities in */
	outb(vm, 0x21, 0x08);
	outb(vm, 0x20, 0x68);
	pulse(vm, 6);
	CHECK(i8259_has_interrupt(pic));
	CHECK_EQ(i8259_ack(pic), 0x26);
	outb(vm, 0x20, 0x66);
	outb(vm, 0x20, 0x48);	/* reset special mask */
	pulse(vm, 6);
	CHECK(!i8259_has_interrupt(pic));
	test_vm_free(vm);
}

TEST(icw_without_icw4_and_single_mode)
{
	struct vm *vm = test_vm_new();
	struct i8259 *pic;
	CHECK_EQ(i8259_create(vm, &pic), 0);
	outb(vm, 0x20, 0x13);	/* single, ICW4 needed: no ICW3 */
	outb(vm, 0x21, 0x40);
	outb(vm, 0x21, 0x03);	/* ICW4: auto-EOI */
	outb(vm, 0x21, 0xfe);	/* now OCW1 */
	CHECK_EQ(inb(vm, 0x21), 0xfe);
	pulse(vm, 0);
	CHECK_EQ(i8259_ack(pic), 0x40);
	CHECK_EQ(read_isr(vm, 0x20), 0);
	outb(vm, 0x20, 0x10);	/* neither ICW3 nor ICW4: auto-EOI off */
	outb(vm, 0x21, 0x08);
	outb(vm, 0x21, 0x04);	/* ICW3, cascade mode */
	outb(vm, 0x21, 0xfe);
	CHECK_EQ(inb(vm, 0x21), 0xfe);
	pulse(vm, 0);
	CHECK_EQ(i8259_ack(pic), 0x08);
	CHECK_EQ(read_isr(vm, 0x20), 1);
	test_vm_free(vm);
}

TEST(malformed_accesses)
{
	struct vm *vm;
	struct i8259 *pic = pic_setup(&vm, false);
	/* lines outside 0-15 are ignored */
	vm->irqchip->set_irq(vm->irqchip_opaque, 16, 1);
	vm->irqchip->set_irq(vm->irqchip_opaque, 0xffffffffu, 1);
	CHECK(!i8259_has_interrupt(pic));
	CHECK_EQ(vm->irqchip->ack_interrupt(vm->irqchip_opaque, 3), -1);
	/* a word write reaches command then data, a dword read stays in range */
	outw(vm, 0xa0, 0x5548);
	CHECK_EQ(inb(vm, 0xa1), 0x55);
	CHECK_EQ(inl(vm, 0x20) & 0xff00, 0x0000);
	CHECK_EQ(inw(vm, 0x21) & 0xff, 0x00);
	/* OCW2 "no operation" and EOIs with nothing in service */
	outb(vm, 0x20, 0x40);
	outb(vm, 0x20, 0x20);
	outb(vm, 0x20, 0x67);
	CHECK_EQ(read_isr(vm, 0x20), 0);
	/* the acknowledge with nothing pending is a spurious IRQ7 */
	CHECK_EQ(i8259_ack(pic), 0x27);
	test_vm_free(vm);
}

TEST(random_register_storm)
{
	static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1 };
	struct vm *vm = test_vm_new();
	CHECK_EQ(i8259_create(vm, NULL), 0);
	test_port_storm(vm, ports, (int)(sizeof(ports) / sizeof(ports[0])), 200000, 1);
	for (unsigned irq = 0; irq < 16; irq++)
		vm_set_irq(vm, irq, (int)(irq & 1));
	struct i8259 *pic = vm->irqchip_opaque;
	for (int i = 0; i < 100; i++)
		if (i8259_has_interrupt(pic))
			(void)i8259_ack(pic);
	test_vm_free(vm);
}

RUN_TESTS(T(reset_state_masks_everything), T(vector_and_eoi), T(fully_nested_priority),
	  T(masking), T(rotation), T(level_triggered_via_elcr),
	  T(firmware_level_lines_survive_reset), T(cascade), T(spurious_irq7),
	  T(auto_eoi), T(poll_mode), T(special_mask_mode), T(icw_without_icw4_and_single_mode),
	  T(malformed_accesses),
	  T(random_register_storm))
