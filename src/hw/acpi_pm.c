/* ACPI fixed hardware in port I/O, where the FADT (src/boot/acpi.c) says it
 * is: the PM1a event block (status and enable), the PM1a control block and
 * the 24-bit PM timer at 3.579545 MHz.
 *
 * There is no SMI_CMD port: the machine is always in ACPI mode, so SCI_EN
 * reads as set whatever is written.  Writing SLP_EN with the SLP_TYP of
 * the DSDT's \_S5 powers the machine off (exit status 0).  The SCI is
 * raised while an enabled status bit is set; the only event source is the
 * timer's bit 23 changing, which a timer callback notices when the guest
 * enabled that event.  The FADT reset register is 0xCF9, which the PCI
 * host (pci_host.c) implements. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/acpi.h"
#include "core/log.h"
#include "core/timer.h"
#include "core/vm.h"
#include "hw/pc.h"

#define PM_TMR_MASK 0xffffffull
#define PM_TMR_CARRY (1ull << 23)	/* TMR_STS is set when this bit changes */
/* status bits that exist here; the rest read 0 and cannot be set */
#define PM1_STS_MASK (ACPI_PM1_TMR | ACPI_PM1_WAK_STS)
/* enables an OS may set and reads back (ACPICA checks): the global lock,
 * buttons and RTC alarm have no source here, so they never fire */
#define PM1_EN_MASK (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_SLPBTN | ACPI_PM1_RTC)

struct acpi_pm {
	struct vm *vm;
	uint16_t base;		/* where the registers decode; 0: nowhere */
	uint16_t sts, en, cnt;
	uint64_t tmr_seen;	/* timer ticks when TMR_STS was last brought up to date */
	bool sci;
	bool warned_sleep;	/* a guest must not flood the log */
	struct vm_timer carry_timer;
};

static uint64_t acpi_pm_ticks(struct acpi_pm *pm)
{
	return muldiv64(vm_clock_ns(pm->vm), ACPI_PM_TIMER_HZ, NS_PER_SEC);
}

/* Catch up with the counter: bit 23 changed since we last looked */
static void acpi_pm_update_tmr_sts(struct acpi_pm *pm, uint64_t ticks)
{
	if ((ticks & ~(PM_TMR_CARRY - 1)) != (pm->tmr_seen & ~(PM_TMR_CARRY - 1)))
		pm->sts |= ACPI_PM1_TMR;
	pm->tmr_seen = ticks;
}

static void acpi_pm_update(struct acpi_pm *pm)
{
	uint64_t ticks = acpi_pm_ticks(pm);
	acpi_pm_update_tmr_sts(pm, ticks);

	bool sci = (pm->cnt & ACPI_PM1_SCI_EN) && (pm->sts & pm->en);
	if (sci != pm->sci) {
		pm->sci = sci;
		vm_set_irq(pm->vm, ACPI_SCI_IRQ, sci);
	}
	/* wake up when bit 23 next changes, if the guest wants to hear of it */
	if ((pm->en & ACPI_PM1_TMR) && !(pm->sts & ACPI_PM1_TMR)) {
		uint64_t next = (ticks | (PM_TMR_CARRY - 1)) + 1;
		uint64_t ns = muldiv64(next, NS_PER_SEC, ACPI_PM_TIMER_HZ) + 1;
		timer_mod(pm->vm, &pm->carry_timer, ns);
	} else {
		timer_del(pm->vm, &pm->carry_timer);
	}
}

static void acpi_pm_carry(void *opaque, uint64_t now_ns)
{
	(void)now_ns;
	acpi_pm_update(opaque);
}

/* The register block as bytes: STS, EN, CNT, a gap, then the timer */
static uint8_t acpi_pm_read_byte(struct acpi_pm *pm, uint64_t off, uint32_t tmr)
{
	switch (off) {
	case 0: case 1:
		return (uint8_t)(pm->sts >> (8 * off));
	case 2: case 3:
		return (uint8_t)(pm->en >> (8 * (off - 2)));
	case 4: case 5:
		return (uint8_t)(pm->cnt >> (8 * (off - 4)));
	case 8: case 9: case 10: case 11:
		return (uint8_t)(tmr >> (8 * (off - 8)));
	default:
		return 0;
	}
}

static uint64_t acpi_pm_read(void *opaque, uint64_t offset, unsigned size)
{
	struct acpi_pm *pm = opaque;
	acpi_pm_update(pm);
	uint32_t tmr = (uint32_t)(pm->tmr_seen & PM_TMR_MASK);
	uint64_t v = 0;
	for (unsigned i = 0; i < size && offset + i < ACPI_PM_IO_LEN; i++)
		v |= (uint64_t)acpi_pm_read_byte(pm, offset + i, tmr) << (8 * i);
	return v;
}

static void acpi_pm_sleep(struct acpi_pm *pm)
{
	unsigned typ = (pm->cnt & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT;
	if (typ == ACPI_SLP_TYP_S5) {
		vm_request_poweroff(pm->vm);
		return;
	}
	/* the DSDT offers only S5: anything else is a confused guest */
	if (!pm->warned_sleep)
		log_warn("acpi: sleep type %u requested, not supported: ignored", typ);
	pm->warned_sleep = true;
}

static void acpi_pm_write_byte(struct acpi_pm *pm, uint64_t off, uint8_t b)
{
	switch (off) {
	case 0: case 1:
		/* write 1 to clear */
		pm->sts &= (uint16_t)~((unsigned)b << (8 * off));
		break;
	case 2: case 3:
		pm->en = (uint16_t)((pm->en & ~(0xffu << (8 * (off - 2)))) | (unsigned)b << (8 * (off - 2)));
		pm->en &= PM1_EN_MASK;
		break;
	case 4: case 5: {
		uint16_t cnt = (uint16_t)((pm->cnt & ~(0xffu << (8 * (off - 4)))) |
					  (unsigned)b << (8 * (off - 4)));
		/* SLP_EN is write-only; SCI_EN is fixed: no SMI_CMD to leave ACPI mode */
		pm->cnt = (uint16_t)((cnt & ~ACPI_PM1_SLP_EN) | ACPI_PM1_SCI_EN);
		if (cnt & ACPI_PM1_SLP_EN)
			acpi_pm_sleep(pm);
		break;
	}
	default:
		break;	/* the timer is read-only */
	}
}

static void acpi_pm_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct acpi_pm *pm = opaque;
	/* status bits set by now must be seen before a write clears them */
	acpi_pm_update_tmr_sts(pm, acpi_pm_ticks(pm));
	for (unsigned i = 0; i < size && offset + i < ACPI_PM_IO_LEN; i++)
		acpi_pm_write_byte(pm, offset + i, (uint8_t)(value >> (8 * i)));
	pm->sts &= PM1_STS_MASK;
	acpi_pm_update(pm);
}

static const struct io_ops acpi_pm_ops = { .read = acpi_pm_read, .write = acpi_pm_write };

static void acpi_pm_reset(void *opaque)
{
	struct acpi_pm *pm = opaque;
	pm->sts = 0;
	pm->en = 0;
	pm->cnt = ACPI_PM1_SCI_EN;
	pm->tmr_seen = acpi_pm_ticks(pm);
	timer_del(pm->vm, &pm->carry_timer);
	if (pm->sci)
		vm_set_irq(pm->vm, ACPI_SCI_IRQ, 0);
	pm->sci = false;
}

int acpi_pm_set_base(struct acpi_pm *pm, uint16_t base)
{
	int ret = 0;
	if (base == pm->base)
		return 0;
	if (pm->base)
		io_bus_unregister(&pm->vm->pio, pm->base);
	pm->base = 0;
	if (base) {
		ret = io_bus_register(&pm->vm->pio, base, ACPI_PM_IO_LEN, &acpi_pm_ops, pm, "acpi-pm");
		if (ret == 0)
			pm->base = base;
	}
	return ret;
}

static void acpi_pm_destroy(void *opaque)
{
	struct acpi_pm *pm = opaque;
	timer_del(pm->vm, &pm->carry_timer);
	acpi_pm_set_base(pm, 0);
	free(pm);
}

int acpi_pm_create_at(struct vm *vm, uint16_t base, struct acpi_pm **out)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	int ret;

	if (!pm)
		return -ENOMEM;
	pm->vm = vm;
	timer_init(&pm->carry_timer, acpi_pm_carry, pm);
	pm->cnt = ACPI_PM1_SCI_EN;
	pm->tmr_seen = acpi_pm_ticks(pm);
	ret = acpi_pm_set_base(pm, base);
	if (ret < 0) {
		log_error("acpi-pm: cannot claim ports 0x%x-0x%x: %s", base,
			  base + ACPI_PM_IO_LEN - 1,
			  ret == -EEXIST ? "another device uses them" : strerror(-ret));
		free(pm);
		return ret;
	}
	ret = vm_add_device(vm, "acpi-pm", pm, acpi_pm_reset, acpi_pm_destroy);
	if (ret < 0) {
		log_error("acpi-pm: cannot add the device: %s", strerror(-ret));
		acpi_pm_set_base(pm, 0);
		free(pm);
		return ret;
	}
	if (out)
		*out = pm;
	return 0;
}

int acpi_pm_create(struct vm *vm)
{
	return acpi_pm_create_at(vm, ACPI_PM_IO_BASE, NULL);
}
