#include "test.h"

#include <errno.h>

#include "apic_vm.h"

#define REG_ID 0x20
#define REG_VERSION 0x30
#define REG_TPR 0x80
#define REG_PPR 0xa0
#define REG_EOI 0xb0
#define REG_LDR 0xd0
#define REG_DFR 0xe0
#define REG_SVR 0xf0
#define REG_ESR 0x280
#define REG_ICR 0x300
#define REG_ICR_HI 0x310
#define REG_LVT_TIMER 0x320
#define REG_LVT_LINT0 0x350
#define REG_LVT_LINT1 0x360
#define REG_LVT_ERROR 0x370
#define REG_TIMER_INITIAL 0x380
#define REG_TIMER_CURRENT 0x390
#define REG_TIMER_DIVIDE 0x3e0

/* one tick of the APIC timer's clock, divide by 1 */
#define TICK_NS (NS_PER_SEC / APIC_BUS_HZ)
#define TICKS(n) ((uint64_t)(n) * TICK_NS)

#define TIMER_PERIODIC (1u << 17)
#define TIMER_TSC_DEADLINE (2u << 17)
#define MASKED (1u << 16)

static void self_ipi(struct vm *vm, unsigned cpu, uint8_t vector)
{
	apic_write(vm, cpu, REG_ICR, 1u << 18 | 1u << 14 | vector);
}

static void send_ipi(struct vm *vm, unsigned from, uint8_t dest, uint32_t icr_lo)
{
	apic_write(vm, from, REG_ICR_HI, (uint32_t)dest << 24);
	apic_write(vm, from, REG_ICR, icr_lo);
}

TEST(reset_values)
{
	struct vm *vm = apic_vm_new(2);
	uint64_t base = 0;

	CHECK_EQ(apic_read(vm, 0, REG_ID), 0);
	CHECK_EQ(apic_read(vm, 1, REG_ID), 1u << 24);
	CHECK_EQ(apic_read(vm, 0, REG_VERSION), 0x50014);
	CHECK_EQ(apic_read(vm, 1, REG_TPR), 0);
	CHECK_EQ(apic_read(vm, 1, REG_PPR), 0);
	CHECK_EQ(apic_read(vm, 1, REG_LDR), 0);
	CHECK_EQ(apic_read(vm, 1, REG_DFR), 0xffffffffu);
	CHECK_EQ(apic_read(vm, 1, REG_SVR), 0xff);
	CHECK_EQ(apic_read(vm, 1, REG_ESR), 0);
	for (uint32_t reg = 0x320; reg <= 0x370; reg += 0x10)
		CHECK_EQ(apic_read(vm, 1, reg), MASKED);
	/* the BSP as a BIOS leaves it: PIC on LINT0 (ExtINT), NMI on LINT1 */
	CHECK_EQ(apic_read(vm, 0, REG_LVT_LINT0), 0x700);
	CHECK_EQ(apic_read(vm, 0, REG_LVT_LINT1), 0x400);
	CHECK_EQ(apic_read(vm, 0, REG_LVT_TIMER), MASKED);
	CHECK_EQ(apic_read(vm, 1, REG_TIMER_INITIAL), 0);
	CHECK_EQ(apic_read(vm, 1, REG_TIMER_CURRENT), 0);
	CHECK_EQ(apic_read(vm, 1, REG_TIMER_DIVIDE), 0);
	CHECK_EQ(lapic_msr_read(vm, 0, MSR_APIC_BASE, &base), 0);
	CHECK_EQ(base, 0xfee00900);
	CHECK_EQ(lapic_msr_read(vm, 1, MSR_APIC_BASE, &base), 0);
	CHECK_EQ(base, 0xfee00800);
	CHECK_EQ(lapic_msr_read(vm, 2, MSR_APIC_BASE, &base), -EINVAL);	/* no such CPU */

	/* a machine reset brings all of it back */
	apic_write(vm, 1, REG_TPR, 0x20);
	apic_write(vm, 1, REG_ID, 7u << 24);
	CHECK_EQ(apic_read(vm, 1, REG_ID), 7u << 24);
	for (int i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i].reset)
			vm->devices[i].reset(vm->devices[i].opaque);
	CHECK_EQ(apic_read(vm, 1, REG_TPR), 0);
	CHECK_EQ(apic_read(vm, 1, REG_ID), 1u << 24);
	test_vm_free(vm);
}

TEST(tpr_and_ppr)
{
	struct vm *vm = apic_vm_new(1);
	apic_enable(vm, 0);
	apic_write(vm, 0, REG_TPR, 0x35);
	CHECK_EQ(apic_read(vm, 0, REG_TPR), 0x35);
	CHECK_EQ(apic_read(vm, 0, REG_PPR), 0x35);
	apic_write(vm, 0, REG_TPR, 0x1ff);	/* reserved bits dropped */
	CHECK_EQ(apic_read(vm, 0, REG_TPR), 0xff);
	apic_write(vm, 0, REG_TPR, 0x35);

	/* vector 0x52 in service: its class (0x50) is the priority */
	self_ipi(vm, 0, 0x52);
	CHECK(cpu_has_interrupt(vm, 0));
	CHECK_EQ(cpu_ack(vm, 0), 0x52);
	CHECK_EQ(apic_read(vm, 0, REG_PPR), 0x50);
	apic_write(vm, 0, REG_TPR, 0x57);	/* same class: the TPR wins */
	CHECK_EQ(apic_read(vm, 0, REG_PPR), 0x57);
	apic_write(vm, 0, REG_EOI, 0);
	CHECK_EQ(apic_read(vm, 0, REG_PPR), 0x57);

	/* the TPR holds back what is not above its class */
	self_ipi(vm, 0, 0x5f);
	CHECK(apic_vector_in(vm, 0, APIC_IRR, 0x5f));
	CHECK(!cpu_has_interrupt(vm, 0));
	apic_write(vm, 0, REG_TPR, 0x4f);
	CHECK(cpu_has_interrupt(vm, 0));
	CHECK_EQ(cpu_ack(vm, 0), 0x5f);
	test_vm_free(vm);
}

TEST(nested_priorities)
{
	struct vm *vm = apic_vm_new(1);
	apic_enable(vm, 0);
	self_ipi(vm, 0, 0x31);
	self_ipi(vm, 0, 0x61);
	self_ipi(vm, 0, 0x45);
	CHECK(apic_vector_in(vm, 0, APIC_IRR, 0x31));
	CHECK(apic_vector_in(vm, 0, APIC_IRR, 0x45));
	CHECK(apic_vector_in(vm, 0, APIC_IRR, 0x61));
	CHECK(wakes[0] >= 3);

	CHECK_EQ(cpu_ack(vm, 0), 0x61);
	CHECK(apic_vector_in(vm, 0, APIC_ISR, 0x61));
	CHECK(!apic_vector_in(vm, 0, APIC_IRR, 0x61));
	CHECK(!cpu_has_interrupt(vm, 0));	/* 0x45 and 0x31 are below */

	/* same class as the one in service waits; a higher class nests */
	self_ipi(vm, 0, 0x6a);
	CHECK(!cpu_has_interrupt(vm, 0));
	self_ipi(vm, 0, 0x91);
	CHECK(cpu_has_interrupt(vm, 0));
	CHECK_EQ(cpu_ack(vm, 0), 0x91);
	CHECK_EQ(apic_read(vm, 0, REG_PPR), 0x90);

	/* EOI ends the highest in service: 0x91, then 0x61 */
	apic_write(vm, 0, REG_EOI, 0);
	CHECK(!apic_vector_in(vm, 0, APIC_ISR, 0x91));
	CHECK(apic_vector_in(vm, 0, APIC_ISR, 0x61));
	CHECK(!cpu_has_interrupt(vm, 0));
	apic_write(vm, 0, REG_EOI, 0);
	CHECK_EQ(apic_read(vm, 0, APIC_ISR + 0x30), 0);
	CHECK_EQ(cpu_ack(vm, 0), 0x6a);
	apic_write(vm, 0, REG_EOI, 0);
	CHECK_EQ(cpu_ack(vm, 0), 0x45);
	apic_write(vm, 0, REG_EOI, 0);
	CHECK_EQ(cpu_ack(vm, 0), 0x31);
	apic_write(vm, 0, REG_EOI, 0);
	CHECK(!cpu_has_interrupt(vm, 0));
	CHECK_EQ(cpu_ack(vm, 0), -1);
	apic_write(vm, 0, REG_EOI, 0);	/* nothing in service: harmless */
	CHECK_EQ(apic_read(vm, 0, REG_PPR), 0);
	test_vm_free(vm);
}

TEST(software_disabled_and_spurious)
{
	struct vm *vm = apic_vm_new(2);
	/* disabled: fixed interrupts are not accepted, LVTs stay masked */
	self_ipi(vm, 1, 0x41);
	CHECK(!apic_vector_in(vm, 1, APIC_IRR, 0x41));
	apic_write(vm, 1, REG_LVT_TIMER, 0x30);
	CHECK_EQ(apic_read(vm, 1, REG_LVT_TIMER), MASKED | 0x30);

	/* the request goes away between INTR and INTA: the spurious vector */
	apic_write(vm, 1, REG_SVR, 0x1ef);
	self_ipi(vm, 1, 0x41);
	CHECK(cpu_has_interrupt(vm, 1));
	apic_write(vm, 1, REG_SVR, 0x0ef);
	CHECK(!cpu_has_interrupt(vm, 1));
	CHECK_EQ(cpu_ack(vm, 1), 0xef);
	CHECK_EQ(apic_read(vm, 1, REG_SVR), 0xef);
	/* software-disabling masked every LVT entry */
	CHECK_EQ(apic_read(vm, 0, REG_LVT_LINT0), 0x700);
	apic_write(vm, 0, REG_SVR, 0xff);
	CHECK_EQ(apic_read(vm, 0, REG_LVT_LINT0), 0x700 | MASKED);
	/* and the pending one is still there once enabled again */
	apic_write(vm, 1, REG_SVR, 0x1ef);
	CHECK_EQ(cpu_ack(vm, 1), 0x41);

	/* raising the TPR between INTR and INTA: spurious as well */
	self_ipi(vm, 1, 0x52);
	CHECK(cpu_has_interrupt(vm, 1));
	apic_write(vm, 1, REG_TPR, 0x60);
	CHECK_EQ(cpu_ack(vm, 1), 0xef);
	CHECK(apic_vector_in(vm, 1, APIC_IRR, 0x52));	/* still pending */
	test_vm_free(vm);
}

TEST(lvt_masking)
{
	struct vm *vm = apic_vm_new(1);
	apic_enable(vm, 0);
	apic_write(vm, 0, REG_TIMER_DIVIDE, 0xb);	/* divide by 1 */
	apic_write(vm, 0, REG_LVT_TIMER, MASKED | 0x40);
	apic_write(vm, 0, REG_TIMER_INITIAL, 1000);
	test_advance(vm, TICKS(2000), 1000);
	CHECK(!apic_vector_in(vm, 0, APIC_IRR, 0x40));
	CHECK_EQ(apic_read(vm, 0, REG_TIMER_CURRENT), 0);	/* it counted all the same */
	apic_write(vm, 0, REG_LVT_TIMER, 0x40);
	apic_write(vm, 0, REG_TIMER_INITIAL, 1000);
	test_advance(vm, TICKS(2000), 1000);
	CHECK(apic_vector_in(vm, 0, APIC_IRR, 0x40));
	/* the read-only bits stay */
	apic_write(vm, 0, REG_LVT_LINT0, 0xffffffffu);
	CHECK_EQ(apic_read(vm, 0, REG_LVT_LINT0), 0x1a7ff);
	test_vm_free(vm);
}

TEST(timer_one_shot)
{
	struct vm *vm = apic_vm_new(1);
	apic_enable(vm, 0);
	apic_write(vm, 0, REG_TIMER_DIVIDE, 3);	/* divide by 16 */
	apic_write(vm, 0, REG_LVT_TIMER, 0x40);
	apic_write(vm, 0, REG_TIMER_INITIAL, 1000);	/* 16000 ticks */
	CHECK_EQ(NS_PER_SEC % APIC_BUS_HZ, 0);	/* whole ns per tick, for these tests */
	CHECK_EQ(apic_read(vm, 0, REG_TIMER_INITIAL), 1000);
	CHECK_EQ(apic_read(vm, 0, REG_TIMER_CURRENT), 1000);
	test_advance(vm, TICKS(8000), 1000);
	CHECK_EQ(apic_read(vm, 0, REG_TIMER_CURRENT), 500);
	test_advance(vm, TICKS(8000) - 1, 1000);
	CHECK_EQ(apic_read(vm, 0, REG_TIMER_CURRENT), 1);
	CHECK(!apic_vector_in(vm, 0, APIC_IRR, 0x40));
	test_advance(vm, 1, 1);
	CHECK(apic_vector_in(vm, 0, APIC_IRR, 0x40));
	CHECK_EQ(apic_read(vm, 0, REG_TIMER_CURRENT), 0);
	CHECK_EQ(cpu_ack(vm, 0), 0x40);
	apic_write(vm, 0, REG_EOI, 0);
	test_advance(vm, TICKS(100000), 10000);	/* once only */
	CHECK(!cpu_has_interrupt(vm, 0));

	/* writing 0 stops a running timer */
	apic_write(vm, 0, REG_TIMER_INITIAL, 1000);
	test_advance(vm, TICKS(1000), 1000);
	apic_write(vm, 0, REG_TIMER_INITIAL, 0);
	test_advance(vm, TICKS(100000), 10000);
	CHECK(!cpu_has_interrupt(vm, 0));
	test_vm_free(vm);
}

TEST(timer_periodic)
{
	struct vm *vm = apic_vm_new(1);
	int fired = 0;
	apic_enable(vm, 0);
	apic_write(vm, 0, REG_TIMER_DIVIDE, 0);	/* divide by 2 */
	apic_write(vm, 0, REG_LVT_TIMER, TIMER_PERIODIC | 0x41);
	apic_write(vm, 0, REG_TIMER_INITIAL, (uint32_t)(100000 / TICK_NS / 2));	/* 100 us */
	for (int step = 0; step < 1000; step++) {	/* 1 ms in 1 us steps */
		test_advance(vm, 1000, 1000);
		if (cpu_has_interrupt(vm, 0)) {
			CHECK_EQ(cpu_ack(vm, 0), 0x41);
			apic_write(vm, 0, REG_EOI, 0);
			fired++;
			CHECK_EQ((step + 1) % 100, 0);	/* at each 100 us */
		}
	}
	CHECK_EQ(fired, 10);
	/* the count reloads: 1 ms + 30 us in, 70 us are left */
	test_advance(vm, 30000, 30000);
	CHECK_EQ(apic_read(vm, 0, REG_TIMER_CURRENT), 70000 / TICK_NS / 2);
	/* periodic to one-shot: the period runs out and ends it */
	apic_write(vm, 0, REG_LVT_TIMER, 0x41);
	test_advance(vm, 1000000, 10000);
	CHECK_EQ(cpu_ack(vm, 0), 0x41);
	apic_write(vm, 0, REG_EOI, 0);
	CHECK_EQ(apic_read(vm, 0, REG_TIMER_CURRENT), 0);
	CHECK(!cpu_has_interrupt(vm, 0));

	/* a period of one tick does not flood the machine: the interrupts
	 * are spread out to at most one per 50 us */
	fired = 0;
	apic_write(vm, 0, REG_TIMER_DIVIDE, 0xb);
	apic_write(vm, 0, REG_LVT_TIMER, TIMER_PERIODIC | 0x41);
	apic_write(vm, 0, REG_TIMER_INITIAL, 1);
	for (int step = 0; step < 1000; step++) {
		test_advance(vm, 1000, 1000);
		if (cpu_has_interrupt(vm, 0)) {
			CHECK_EQ(cpu_ack(vm, 0), 0x41);
			apic_write(vm, 0, REG_EOI, 0);
			fired++;
		}
	}
	CHECK(fired >= 19 && fired <= 21);
	test_vm_free(vm);
}

TEST(cr8_is_the_tpr)
{
	struct vm *vm = apic_vm_new(2);
	apic_enable(vm, 1);
	apic_write(vm, 1, REG_TPR, 0x5a);
	CHECK_EQ(lapic_read_cr8(vm, 1), 5);
	lapic_write_cr8(vm, 1, 9);
	CHECK_EQ(apic_read(vm, 1, REG_TPR), 0x90);
	self_ipi(vm, 1, 0x95);
	CHECK(!cpu_has_interrupt(vm, 1));
	lapic_write_cr8(vm, 1, 8);
	CHECK(cpu_has_interrupt(vm, 1));
	/* the same in x2APIC mode */
	CHECK_EQ(lapic_msr_write(vm, 1, MSR_APIC_BASE, 0xfee00c00ull), 0);
	CHECK_EQ(lapic_read_cr8(vm, 1), 8);
	lapic_write_cr8(vm, 1, 3);
	uint64_t v = 0;
	CHECK_EQ(lapic_msr_read(vm, 1, 0x808, &v), 0);
	CHECK_EQ(v, 0x30);
	CHECK_EQ(lapic_read_cr8(vm, 7), 0);	/* no such CPU */
	lapic_write_cr8(vm, 7, 3);
	test_vm_free(vm);
}

TEST(timer_divide_values)
{
	static const struct {
		uint32_t dcr;
		unsigned divide;
	} cases[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
		{ 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
	};
	struct vm *vm = apic_vm_new(1);
	apic_enable(vm, 0);
	apic_write(vm, 0, REG_LVT_TIMER, 0x42);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		apic_write(vm, 0, REG_TIMER_DIVIDE, cases[i].dcr | 0xf0);	/* reserved bits dropped */
		CHECK_EQ(apic_read(vm, 0, REG_TIMER_DIVIDE), cases[i].dcr);
		apic_write(vm, 0, REG_TIMER_INITIAL, 100);
		test_advance(vm, TICKS(10 * cases[i].divide), 1000);
		CHECK_EQ(apic_read(vm, 0, REG_TIMER_CURRENT), 90);
		test_advance(vm, TICKS(90 * cases[i].divide) - 1, 1000);
		CHECK(!apic_vector_in(vm, 0, APIC_IRR, 0x42));
		test_advance(vm, 1, 1);
		CHECK(apic_vector_in(vm, 0, APIC_IRR, 0x42));
		CHECK_EQ(cpu_ack(vm, 0), 0x42);
		apic_write(vm, 0, REG_EOI, 0);
	}
	/* a new divider mid-count keeps the count: 60 left at 1, then at 4 */
	apic_write(vm, 0, REG_TIMER_DIVIDE, 0xb);
	apic_write(vm, 0, REG_TIMER_INITIAL, 100);
	test_advance(vm, TICKS(40), 1000);
	apic_write(vm, 0, REG_TIMER_DIVIDE, 0x1);
	CHECK_EQ(apic_read(vm, 0, REG_TIMER_CURRENT), 60);
	test_advance(vm, TICKS(240) - 1, 1000);
	CHECK_EQ(apic_read(vm, 0, REG_TIMER_CURRENT), 1);
	test_advance(vm, 1, 1);
	CHECK(apic_vector_in(vm, 0, APIC_IRR, 0x42));
	test_vm_free(vm);
}

TEST(timer_tsc_deadline)
{
	struct vm *vm = apic_vm_new(1);
	uint64_t v = 1;
	apic_enable(vm, 0);
	/* outside TSC-deadline mode the MSR reads 0 and ignores writes */
	CHECK_EQ(lapic_msr_write(vm, 0, MSR_TSC_DEADLINE, 12345), 0);
	CHECK_EQ(lapic_msr_read(vm, 0, MSR_TSC_DEADLINE, &v), 0);
	CHECK_EQ(v, 0);

	apic_write(vm, 0, REG_LVT_TIMER, TIMER_TSC_DEADLINE | 0x43);
	/* the initial count means nothing in this mode */
	apic_write(vm, 0, REG_TIMER_INITIAL, 10);
	CHECK_EQ(apic_read(vm, 0, REG_TIMER_INITIAL), 0);
	uint64_t tsc = guest_tsc_from_ns(vm_clock_ns(vm));
	CHECK_EQ(tsc, vm_clock_ns(vm) * (GUEST_TSC_HZ / NS_PER_SEC));
	CHECK_EQ(lapic_msr_write(vm, 0, MSR_TSC_DEADLINE, tsc + 2001), 0);
	CHECK_EQ(lapic_msr_read(vm, 0, MSR_TSC_DEADLINE, &v), 0);
	CHECK_EQ(v, tsc + 2001);
	test_advance(vm, 1000, 1000);	/* TSC + 2000: not yet */
	CHECK(!apic_vector_in(vm, 0, APIC_IRR, 0x43));
	test_advance(vm, 1, 1);
	CHECK(apic_vector_in(vm, 0, APIC_IRR, 0x43));
	CHECK_EQ(lapic_msr_read(vm, 0, MSR_TSC_DEADLINE, &v), 0);
	CHECK_EQ(v, 0);	/* disarmed once it fired */
	CHECK_EQ(cpu_ack(vm, 0), 0x43);
	apic_write(vm, 0, REG_EOI, 0);

	/* a deadline in the past fires at once; 0 disarms */
	CHECK_EQ(lapic_msr_write(vm, 0, MSR_TSC_DEADLINE, 1), 0);
	test_advance(vm, 1, 1);
	CHECK_EQ(cpu_ack(vm, 0), 0x43);
	apic_write(vm, 0, REG_EOI, 0);
	tsc = guest_tsc_from_ns(vm_clock_ns(vm));
	CHECK_EQ(lapic_msr_write(vm, 0, MSR_TSC_DEADLINE, tsc + 100), 0);
	CHECK_EQ(lapic_msr_write(vm, 0, MSR_TSC_DEADLINE, 0), 0);
	test_advance(vm, 10000, 1000);
	CHECK(!cpu_has_interrupt(vm, 0));

	/* leaving the mode disarms it */
	tsc = guest_tsc_from_ns(vm_clock_ns(vm));
	CHECK_EQ(lapic_msr_write(vm, 0, MSR_TSC_DEADLINE, tsc + 100), 0);
	apic_write(vm, 0, REG_LVT_TIMER, 0x43);
	test_advance(vm, 10000, 1000);
	CHECK(!cpu_has_interrupt(vm, 0));
	/* a far deadline does not overflow */
	apic_write(vm, 0, REG_LVT_TIMER, TIMER_TSC_DEADLINE | 0x43);
	CHECK_EQ(lapic_msr_write(vm, 0, MSR_TSC_DEADLINE, UINT64_MAX), 0);
	test_advance(vm, 10000, 1000);
	CHECK(!cpu_has_interrupt(vm, 0));
	test_vm_free(vm);
}

TEST(ipis_between_cpus)
{
	struct vm *vm = apic_vm_new(2);
	apic_enable(vm, 0);
	apic_enable(vm, 1);

	/* fixed, physical destination 1 */
	int w = wakes[1];
	send_ipi(vm, 0, 1, 0x4051);
	CHECK(apic_vector_in(vm, 1, APIC_IRR, 0x51));
	CHECK(!apic_vector_in(vm, 0, APIC_IRR, 0x51));
	CHECK(wakes[1] > w);
	CHECK_EQ(apic_read(vm, 0, REG_ICR) & (1u << 12), 0);	/* delivered: idle */
	CHECK_EQ(apic_read(vm, 0, REG_ICR), 0x4051);
	CHECK_EQ(apic_read(vm, 0, REG_ICR_HI), 1u << 24);
	CHECK(cpu_has_interrupt(vm, 1));
	CHECK(!cpu_has_interrupt(vm, 0));
	CHECK_EQ(cpu_ack(vm, 1), 0x51);
	apic_write(vm, 1, REG_EOI, 0);

	/* self */
	send_ipi(vm, 1, 0, 1u << 18 | 0x52);
	CHECK(apic_vector_in(vm, 1, APIC_IRR, 0x52));
	CHECK(!apic_vector_in(vm, 0, APIC_IRR, 0x52));
	/* all excluding self */
	send_ipi(vm, 0, 0, 3u << 18 | 0x53);
	CHECK(apic_vector_in(vm, 1, APIC_IRR, 0x53));
	CHECK(!apic_vector_in(vm, 0, APIC_IRR, 0x53));
	/* all including self */
	send_ipi(vm, 0, 0, 2u << 18 | 0x54);
	CHECK(apic_vector_in(vm, 0, APIC_IRR, 0x54));
	CHECK(apic_vector_in(vm, 1, APIC_IRR, 0x54));
	/* physical broadcast */
	send_ipi(vm, 1, 0xff, 0x55);
	CHECK(apic_vector_in(vm, 0, APIC_IRR, 0x55));
	CHECK(apic_vector_in(vm, 1, APIC_IRR, 0x55));
	/* nobody with ID 5 */
	send_ipi(vm, 0, 5, 0x56);
	CHECK(!apic_vector_in(vm, 0, APIC_IRR, 0x56));
	CHECK(!apic_vector_in(vm, 1, APIC_IRR, 0x56));
	/* a changed ID is where messages go */
	apic_write(vm, 1, REG_ID, 5u << 24);
	send_ipi(vm, 0, 5, 0x56);
	CHECK(apic_vector_in(vm, 1, APIC_IRR, 0x56));

	/* an illegal vector: the sender's ESR, after a write latches it */
	send_ipi(vm, 0, 5, 0x05);
	CHECK_EQ(apic_read(vm, 0, REG_ESR), 0);
	apic_write(vm, 0, REG_ESR, 0);
	CHECK_EQ(apic_read(vm, 0, REG_ESR), 1u << 5);
	apic_write(vm, 0, REG_ESR, 0);
	CHECK_EQ(apic_read(vm, 0, REG_ESR), 0);
	test_vm_free(vm);
}

TEST(logical_destinations)
{
	struct vm *vm = apic_vm_new(2);
	apic_enable(vm, 0);
	apic_enable(vm, 1);
	/* flat: one bit each */
	apic_write(vm, 0, REG_LDR, 0x01000000);
	apic_write(vm, 1, REG_LDR, 0x02000000);
	CHECK_EQ(apic_read(vm, 1, REG_LDR), 0x02000000);
	send_ipi(vm, 0, 0x02, 1u << 11 | 0x61);
	CHECK(!apic_vector_in(vm, 0, APIC_IRR, 0x61));
	CHECK(apic_vector_in(vm, 1, APIC_IRR, 0x61));
	send_ipi(vm, 0, 0x03, 1u << 11 | 0x62);
	CHECK(apic_vector_in(vm, 0, APIC_IRR, 0x62));
	CHECK(apic_vector_in(vm, 1, APIC_IRR, 0x62));
	send_ipi(vm, 0, 0x04, 1u << 11 | 0x63);
	CHECK(!apic_vector_in(vm, 0, APIC_IRR, 0x63));
	CHECK(!apic_vector_in(vm, 1, APIC_IRR, 0x63));

	/* cluster: cluster 1, APICs 0 and 1 of it */
	apic_write(vm, 0, REG_DFR, 0x0fffffff);
	apic_write(vm, 1, REG_DFR, 0);	/* the low bits read as ones */
	CHECK_EQ(apic_read(vm, 1, REG_DFR), 0x0fffffff);
	apic_write(vm, 0, REG_LDR, 0x11000000);
	apic_write(vm, 1, REG_LDR, 0x12000000);
	send_ipi(vm, 0, 0x12, 1u << 11 | 0x64);
	CHECK(!apic_vector_in(vm, 0, APIC_IRR, 0x64));
	CHECK(apic_vector_in(vm, 1, APIC_IRR, 0x64));
	send_ipi(vm, 0, 0x22, 1u << 11 | 0x65);	/* another cluster */
	CHECK(!apic_vector_in(vm, 1, APIC_IRR, 0x65));
	send_ipi(vm, 0, 0xf3, 1u << 11 | 0x66);	/* all clusters */
	CHECK(apic_vector_in(vm, 0, APIC_IRR, 0x66));
	CHECK(apic_vector_in(vm, 1, APIC_IRR, 0x66));

	/* lowest priority: the one with the lower priority takes it */
	apic_write(vm, 0, REG_TPR, 0x80);
	send_ipi(vm, 1, 0x13, 1u << 11 | 1u << 8 | 0x70);
	CHECK(!apic_vector_in(vm, 0, APIC_IRR, 0x70));
	CHECK(apic_vector_in(vm, 1, APIC_IRR, 0x70));
	apic_write(vm, 0, REG_TPR, 0);
	apic_write(vm, 1, REG_TPR, 0x80);
	send_ipi(vm, 1, 0x13, 1u << 11 | 1u << 8 | 0x71);
	CHECK(apic_vector_in(vm, 0, APIC_IRR, 0x71));
	CHECK(!apic_vector_in(vm, 1, APIC_IRR, 0x71));
	test_vm_free(vm);
}

TEST(init_sipi_nmi)
{
	struct vm *vm = apic_vm_new(2);
	apic_enable(vm, 0);
	apic_enable(vm, 1);
	apic_write(vm, 1, REG_TPR, 0x20);

	send_ipi(vm, 0, 1, 0x4500);	/* INIT, assert */
	CHECK_EQ(nr_deliveries, 1);
	CHECK_EQ(deliveries[0].cpu, 1);
	CHECK_EQ(deliveries[0].what, VCPU_DELIVER_INIT);
	/* INIT resets the APIC's registers (not the ID) */
	CHECK_EQ(apic_read(vm, 1, REG_TPR), 0);
	CHECK_EQ(apic_read(vm, 1, REG_SVR), 0xff);
	CHECK_EQ(apic_read(vm, 1, REG_ID), 1u << 24);

	send_ipi(vm, 0, 1, 0x8500);	/* INIT level de-assert: nothing */
	CHECK_EQ(nr_deliveries, 1);

	send_ipi(vm, 0, 1, 0x4608);	/* start-up at 0x8000, twice as the MP spec says */
	send_ipi(vm, 0, 1, 0x4608);
	CHECK_EQ(nr_deliveries, 3);
	CHECK_EQ(deliveries[1].cpu, 1);
	CHECK_EQ(deliveries[1].what, VCPU_DELIVER_SIPI);
	CHECK_EQ(deliveries[1].vector, 0x08);
	CHECK_EQ(deliveries[2].what, VCPU_DELIVER_SIPI);

	send_ipi(vm, 1, 0, 0x4400);	/* NMI to the BSP */
	CHECK_EQ(nr_deliveries, 4);
	CHECK_EQ(deliveries[3].cpu, 0);
	CHECK_EQ(deliveries[3].what, VCPU_DELIVER_NMI);

	/* INIT to all but self: the usual AP wake-up broadcast */
	send_ipi(vm, 0, 0, 3u << 18 | 0x4500);
	CHECK_EQ(nr_deliveries, 5);
	CHECK_EQ(deliveries[4].cpu, 1);
	/* INIT or SIPI to self is not a valid command */
	send_ipi(vm, 0, 0, 1u << 18 | 0x4500);
	CHECK_EQ(nr_deliveries, 5);

	/* a globally disabled APIC takes no messages */
	CHECK_EQ(lapic_msr_write(vm, 1, MSR_APIC_BASE, 0xfee00000), 0);
	send_ipi(vm, 0, 1, 0x4608);
	CHECK_EQ(nr_deliveries, 5);
	test_vm_free(vm);
}

TEST(x2apic_msrs)
{
	struct vm *vm = apic_vm_new(2);
	uint64_t v = 0;

	/* not in x2APIC mode: every x2APIC MSR is #GP */
	CHECK_EQ(lapic_msr_read(vm, 1, 0x802, &v), -EINVAL);
	CHECK_EQ(lapic_msr_write(vm, 1, 0x808, 0), -EINVAL);
	/* invalid IA32_APIC_BASE values and transitions */
	CHECK_EQ(lapic_msr_write(vm, 1, MSR_APIC_BASE, 0xfee00000ull | APIC_BASE_EXTD), -EINVAL);
	CHECK_EQ(lapic_msr_write(vm, 1, MSR_APIC_BASE, 0xfee00801ull), -EINVAL);
	CHECK_EQ(lapic_msr_write(vm, 1, MSR_APIC_BASE, 1ull << 50 | 0xfee00800ull), -EINVAL);
	/* relocation is ignored: the APIC stays where it is */
	CHECK_EQ(lapic_msr_write(vm, 1, MSR_APIC_BASE, 0xfed00800ull), 0);
	CHECK_EQ(lapic_msr_read(vm, 1, MSR_APIC_BASE, &v), 0);
	CHECK_EQ(v, 0xfee00800ull);

	CHECK_EQ(lapic_msr_write(vm, 1, MSR_APIC_BASE, 0xfee00c00ull), 0);
	CHECK_EQ(lapic_msr_write(vm, 0, MSR_APIC_BASE, 0xfee00d00ull), 0);
	CHECK_EQ(lapic_msr_read(vm, 0, MSR_APIC_BASE, &v), 0);
	CHECK_EQ(v, 0xfee00d00ull);	/* the BSP flag stays */
	CHECK_EQ(lapic_msr_read(vm, 1, 0x802, &v), 0);
	CHECK_EQ(v, 1);	/* the 32-bit x2APIC ID */
	CHECK_EQ(lapic_msr_read(vm, 1, 0x803, &v), 0);
	CHECK_EQ(v, 0x50014);
	CHECK_EQ(lapic_msr_read(vm, 1, 0x80d, &v), 0);
	CHECK_EQ(v, 1u << 1);	/* cluster 0, bit 1 */
	/* write-only, read-only, absent registers and reserved bits: #GP */
	CHECK_EQ(lapic_msr_read(vm, 1, 0x80b, &v), -EINVAL);
	CHECK_EQ(lapic_msr_write(vm, 1, 0x80b, 1), -EINVAL);
	CHECK_EQ(lapic_msr_write(vm, 1, 0x802, 5), -EINVAL);
	CHECK_EQ(lapic_msr_write(vm, 1, 0x80d, 5), -EINVAL);
	CHECK_EQ(lapic_msr_read(vm, 1, 0x80e, &v), -EINVAL);
	CHECK_EQ(lapic_msr_read(vm, 1, 0x831, &v), -EINVAL);
	CHECK_EQ(lapic_msr_read(vm, 1, 0x83f, &v), -EINVAL);
	CHECK_EQ(lapic_msr_read(vm, 1, 0x8ff, &v), -EINVAL);
	CHECK_EQ(lapic_msr_write(vm, 1, 0x808, 0x100), -EINVAL);
	CHECK_EQ(lapic_msr_write(vm, 1, 0x808, 1ull << 32), -EINVAL);
	CHECK_EQ(lapic_msr_write(vm, 1, 0x80f, 0x1000), -EINVAL);
	CHECK_EQ(lapic_msr_write(vm, 1, 0x828, 1), -EINVAL);
	CHECK_EQ(lapic_msr_write(vm, 1, 0x832, 1u << 20), -EINVAL);
	CHECK_EQ(lapic_msr_write(vm, 1, 0x839, 0), -EINVAL);

	CHECK_EQ(lapic_msr_write(vm, 0, 0x80f, 0x1ff), 0);
	CHECK_EQ(lapic_msr_write(vm, 1, 0x80f, 0x1ff), 0);
	CHECK_EQ(lapic_msr_write(vm, 1, 0x808, 0x20), 0);
	CHECK_EQ(lapic_msr_read(vm, 1, 0x80a, &v), 0);
	CHECK_EQ(v, 0x20);
	/* SELF_IPI */
	CHECK_EQ(lapic_msr_write(vm, 1, 0x83f, 0x44), 0);
	CHECK_EQ(lapic_msr_read(vm, 1, 0x822, &v), 0);	/* IRR 0x40-0x5f */
	CHECK_EQ(v, 1u << 4);
	CHECK_EQ(cpu_ack(vm, 1), 0x44);
	CHECK_EQ(lapic_msr_read(vm, 1, 0x812, &v), 0);
	CHECK_EQ(v, 1u << 4);
	CHECK_EQ(lapic_msr_write(vm, 1, 0x80b, 0), 0);
	CHECK_EQ(lapic_msr_read(vm, 1, 0x812, &v), 0);
	CHECK_EQ(v, 0);
	/* the 64-bit ICR: destination in the high half */
	CHECK_EQ(lapic_msr_write(vm, 1, 0x830, 0ull << 32 | 0x4045), 0);
	CHECK_EQ(lapic_msr_read(vm, 1, 0x830, &v), 0);
	CHECK_EQ(v, 0x4045);
	CHECK(lapic_has_interrupt(irq_router_lapic(vm->irq_router, 0)));
	CHECK_EQ(cpu_ack(vm, 0), 0x45);
	CHECK_EQ(lapic_msr_write(vm, 0, 0x80b, 0), 0);
	/* logical cluster: cluster 0, bit 0 */
	CHECK_EQ(lapic_msr_write(vm, 1, 0x830, 1ull << 32 | 1u << 11 | 0x46), 0);
	CHECK_EQ(cpu_ack(vm, 0), 0x46);
	/* timer registers through MSRs */
	CHECK_EQ(lapic_msr_write(vm, 1, 0x83e, 0xb), 0);
	CHECK_EQ(lapic_msr_write(vm, 1, 0x832, 0x47), 0);
	CHECK_EQ(lapic_msr_write(vm, 1, 0x838, 500), 0);
	test_advance(vm, TICKS(200), 1000);
	CHECK_EQ(lapic_msr_read(vm, 1, 0x839, &v), 0);
	CHECK_EQ(v, 300);

	/* xAPIC MMIO is not decoded in x2APIC mode */
	CHECK_EQ(apic_read(vm, 1, REG_VERSION), 0xffffffffu);
	apic_write(vm, 1, REG_TPR, 0x90);
	CHECK_EQ(lapic_msr_read(vm, 1, 0x808, &v), 0);
	CHECK_EQ(v, 0x20);

	/* x2APIC back to xAPIC only through disabled */
	CHECK_EQ(lapic_msr_write(vm, 1, MSR_APIC_BASE, 0xfee00800ull), -EINVAL);
	CHECK_EQ(lapic_msr_write(vm, 1, MSR_APIC_BASE, 0xfee00000ull), 0);
	CHECK_EQ(lapic_msr_write(vm, 1, MSR_APIC_BASE, 0xfee00c00ull), -EINVAL);
	CHECK_EQ(lapic_msr_write(vm, 1, MSR_APIC_BASE, 0xfee00800ull), 0);
	CHECK_EQ(apic_read(vm, 1, REG_VERSION), 0x50014);
	CHECK_EQ(apic_read(vm, 1, REG_TPR), 0);	/* reset by the disable */
	CHECK_EQ(apic_read(vm, 1, REG_SVR), 0xff);
	test_vm_free(vm);
}

TEST(malformed_accesses)
{
	struct vm *vm = apic_vm_new(2);
	uint64_t v;
	apic_enable(vm, 0);

	/* narrow reads see the bytes they cover */
	vm->current_cpu = 0;
	io_bus_read(&vm->mmio, APIC_DEFAULT_BASE + REG_VERSION, 1, &v);
	CHECK_EQ(v, 0x14);
	io_bus_read(&vm->mmio, APIC_DEFAULT_BASE + REG_VERSION + 2, 2, &v);
	CHECK_EQ(v, 0x0005);
	io_bus_read(&vm->mmio, APIC_DEFAULT_BASE + REG_VERSION + 8, 4, &v);
	CHECK_EQ(v, 0);
	/* writes other than aligned 32-bit ones are dropped */
	io_bus_write(&vm->mmio, APIC_DEFAULT_BASE + REG_TPR, 1, 0x30);
	io_bus_write(&vm->mmio, APIC_DEFAULT_BASE + REG_TPR + 1, 4, 0x30);
	io_bus_write(&vm->mmio, APIC_DEFAULT_BASE + REG_TPR, 8, 0x30);
	CHECK_EQ(apic_read(vm, 0, REG_TPR), 0);
	/* read-only registers ignore writes */
	apic_write(vm, 0, REG_VERSION, 0);
	apic_write(vm, 0, REG_PPR, 0x40);
	apic_write(vm, 0, APIC_IRR + 0x30, 0xffffffffu);
	CHECK_EQ(apic_read(vm, 0, REG_VERSION), 0x50014);
	CHECK_EQ(apic_read(vm, 0, APIC_IRR + 0x30), 0);
	CHECK(!cpu_has_interrupt(vm, 0));
	CHECK_EQ(apic_read(vm, 0, REG_ESR), 0);

	/* an unknown register: illegal register address, through the error LVT */
	apic_write(vm, 0, REG_LVT_ERROR, 0x4e);
	CHECK_EQ(apic_read(vm, 0, 0x2f0), 0);	/* no CMCI entry */
	apic_write(vm, 0, 0x3f0, 1);
	apic_write(vm, 0, REG_ESR, 0);
	CHECK_EQ(apic_read(vm, 0, REG_ESR), 1u << 7);
	CHECK_EQ(cpu_ack(vm, 0), 0x4e);
	apic_write(vm, 0, REG_EOI, 0);
	/* an error LVT with an illegal vector does not loop: sending 7
	 * fails, and so does receiving the error interrupt */
	apic_write(vm, 0, REG_LVT_ERROR, 0x03);
	self_ipi(vm, 0, 0x07);
	apic_write(vm, 0, REG_ESR, 0);
	CHECK_EQ(apic_read(vm, 0, REG_ESR), (1u << 5) | (1u << 6));
	send_ipi(vm, 0, 0, 2u << 18 | 0x4e);	/* a legal one still works */
	CHECK_EQ(cpu_ack(vm, 0), 0x4e);
	/* a vCPU with no APIC reads all ones */
	CHECK_EQ(apic_read(vm, 9, REG_VERSION), 0xffffffffu);
	apic_write(vm, 9, REG_TPR, 0x10);

	/* a hostile guest: random registers, sizes and values on both
	 * CPUs, the MSRs too, with time passing */
	uint32_t seed = 12345;
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	for (int i = 0; i < 20000; i++) {
		seed = seed * 1103515245u + 12345u;
		unsigned cpu = seed >> 31;
		uint64_t off = (seed >> 8) & 0xfff;
		unsigned size = sizes[(seed >> 4) & 3];
		seed = seed * 1103515245u + 12345u;
		uint64_t val = (uint64_t)seed << 32 | (seed * 2654435761u);
		vm->current_cpu = cpu;
		switch (seed & 3) {
		case 0:
			io_bus_read(&vm->mmio, APIC_DEFAULT_BASE + off, size, &v);
			break;
		case 1:
			/* INIT and SIPI would only be logged: keep the register
			 * writes that matter most likely */
			io_bus_write(&vm->mmio, APIC_DEFAULT_BASE + (off & ~15ull), 4, val);
			break;
		case 2:
			lapic_msr_write(vm, cpu, (uint32_t)(0x800 + (off & 0xff)), val);
			if ((seed & 0xf00) == 0)
				lapic_msr_write(vm, cpu, MSR_APIC_BASE, val);
			break;
		default:
			lapic_msr_read(vm, cpu, (uint32_t)(0x800 + (off & 0xff)), &v);
			if (cpu_has_interrupt(vm, cpu))
				cpu_ack(vm, cpu);
			break;
		}
		if ((seed & 0xff) == 0)
			test_advance(vm, seed >> 16, 100000);
	}
	nr_deliveries = 0;
	test_vm_free(vm);
}

TEST(pic_through_lint0)
{
	struct vm *vm = apic_vm_new(2);
	/* the PIC initialised as Linux does (vectors 0x30, 0x38), IRQ 1 open */
	outb(vm, 0x20, 0x11);
	outb(vm, 0x21, 0x30);
	outb(vm, 0x21, 0x04);
	outb(vm, 0x21, 0x01);
	outb(vm, 0xa0, 0x11);
	outb(vm, 0xa1, 0x38);
	outb(vm, 0xa1, 0x02);
	outb(vm, 0xa1, 0x01);
	outb(vm, 0x21, 0xfd);
	outb(vm, 0xa1, 0xff);

	/* power-on: the APIC software-disabled, the PIC is the CPU's INTR */
	vm_set_irq(vm, 1, 1);
	CHECK(cpu_has_interrupt(vm, 0));
	CHECK(!cpu_has_interrupt(vm, 1));	/* wired to the BSP only */
	CHECK_EQ(cpu_ack(vm, 0), 0x31);
	outb(vm, 0x20, 0x20);
	vm_set_irq(vm, 1, 0);
	CHECK(!cpu_has_interrupt(vm, 0));

	/* enabled with LINT0 in ExtINT mode: still through, and ahead of
	 * the APIC's own */
	apic_enable(vm, 0);
	apic_write(vm, 0, REG_LVT_LINT0, 0x700);
	self_ipi(vm, 0, 0x90);
	vm_set_irq(vm, 1, 1);
	CHECK_EQ(cpu_ack(vm, 0), 0x31);
	outb(vm, 0x20, 0x20);
	vm_set_irq(vm, 1, 0);
	CHECK_EQ(cpu_ack(vm, 0), 0x90);
	apic_write(vm, 0, REG_EOI, 0);

	/* LINT0 masked: the PIC does not reach the CPU */
	apic_write(vm, 0, REG_LVT_LINT0, MASKED | 0x700);
	vm_set_irq(vm, 1, 1);
	CHECK(!cpu_has_interrupt(vm, 0));
	/* the APIC globally disabled: the PIC is the INTR pin again */
	CHECK_EQ(lapic_msr_write(vm, 0, MSR_APIC_BASE, 0xfee00100ull), 0);
	CHECK(cpu_has_interrupt(vm, 0));
	CHECK_EQ(cpu_ack(vm, 0), 0x31);
	outb(vm, 0x20, 0x20);
	vm_set_irq(vm, 1, 0);
	/* and fixed interrupts do not exist then */
	CHECK(!cpu_has_interrupt(vm, 0));
	test_vm_free(vm);
}

RUN_TESTS(T(reset_values), T(tpr_and_ppr), T(nested_priorities), T(software_disabled_and_spurious),
	  T(lvt_masking), T(timer_one_shot), T(timer_periodic), T(cr8_is_the_tpr),
	  T(timer_divide_values),
	  T(timer_tsc_deadline), T(ipis_between_cpus), T(logical_destinations), T(init_sipi_nmi),
	  T(x2apic_msrs), T(malformed_accesses), T(pic_through_lint0))
