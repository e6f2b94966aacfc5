/* ACPI tables read back from guest RAM the way an OS finds them (legacy
 * RSDP scan, then XSDT/RSDT), every checksum and length, the FADT and MADT
 * fields, the DSDT's AML; and the PM1a registers and PM timer as a guest
 * drives them: S5 powers off, the reset register resets. */
#include <errno.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "test.h"

#include "boot/acpi.h"
#include "boot/loaders.h"
#include "hw/pc.h"
#include "hw/pci.h"
#include "platform_vm.h"

#define MiB (1ull << 20)

static uint8_t *gp(struct vm *vm, uint64_t gpa, uint64_t len)
{
	return guest_mem_ptr(&vm->mem, gpa, len);
}

static bool sums_to_zero(const uint8_t *p, uint64_t len)
{
	uint8_t s = 0;
	for (uint64_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s == 0;
}

/* What Linux does without boot_params: 16-byte steps through 0xE0000-0xFFFFF */
static uint64_t scan_rsdp(struct vm *vm)
{
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16) {
		uint8_t *p = gp(vm, a, 36);
		if (p && !memcmp(p, "RSD PTR ", 8) && sums_to_zero(p, 20))
			return a;
	}
	return 0;
}

/* A table at gpa with a valid header: its host pointer, else NULL */
static uint8_t *table(struct vm *vm, uint64_t gpa, const char *sig)
{
	uint8_t *h = gp(vm, gpa, 36);
	if (!h)
		return NULL;
	uint32_t len = boot_le32(h + 4);
	uint8_t *t = gp(vm, gpa, len);
	CHECK(t != NULL);
	CHECK(len >= 36);
	if (!t || len < 36)
		return NULL;
	CHECK(!memcmp(t, sig, 4));
	CHECK(sums_to_zero(t, len));
	CHECK(!memcmp(t + 10, "MINVMM", 6));
	return t;
}

/* The tables of vm by signature, through the XSDT; the RSDT must agree */
struct tables {
	uint8_t *rsdp, *xsdt, *rsdt, *fadt, *madt, *dsdt, *facs;
};

static struct tables find_tables(struct vm *vm)
{
	struct tables tb = { 0 };
	uint64_t rsdp = scan_rsdp(vm);
	CHECK_EQ(rsdp, ACPI_RSDP_ADDR);
	tb.rsdp = gp(vm, rsdp, 36);
	if (!tb.rsdp)
		return tb;
	CHECK_EQ(tb.rsdp[15], 2);
	CHECK_EQ(boot_le32(tb.rsdp + 20), 36);
	CHECK(sums_to_zero(tb.rsdp, 36));
	tb.xsdt = table(vm, boot_le64(tb.rsdp + 24), "XSDT");
	tb.rsdt = table(vm, boot_le32(tb.rsdp + 16), "RSDT");
	if (!tb.xsdt || !tb.rsdt)
		return tb;
	unsigned n = (boot_le32(tb.xsdt + 4) - 36) / 8;
	CHECK_EQ(n, 2);
	CHECK_EQ((boot_le32(tb.rsdt + 4) - 36) / 4, n);
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = boot_le64(tb.xsdt + 36 + 8 * i);
		CHECK_EQ(boot_le32(tb.rsdt + 36 + 4 * i), a);
		uint8_t *h = gp(vm, a, 4);
		if (h && !memcmp(h, "FACP", 4))
			tb.fadt = table(vm, a, "FACP");
		else if (h && !memcmp(h, "APIC", 4))
			tb.madt = table(vm, a, "APIC");
		else
			CHECK(!"unexpected table in the XSDT");
	}
	CHECK(tb.fadt && tb.madt);
	if (!tb.fadt)
		return tb;
	tb.dsdt = table(vm, boot_le64(tb.fadt + 140), "DSDT");
	CHECK_EQ(boot_le32(tb.fadt + 40), boot_le64(tb.fadt + 140));
	tb.facs = gp(vm, boot_le32(tb.fadt + 36), 64);
	CHECK(tb.facs && !memcmp(tb.facs, "FACS", 4) && boot_le32(tb.facs + 4) == 64);
	CHECK_EQ(boot_le32(tb.fadt + 36) & 63, 0);
	CHECK_EQ(boot_le64(tb.fadt + 132), 0);	/* X_FIRMWARE_CTRL: only one of the two */
	/* every table inside the area the e820 map calls ACPI data */
	uint8_t *area = gp(vm, ACPI_AREA_ADDR, ACPI_AREA_END - ACPI_AREA_ADDR);
	uint8_t *all[] = { tb.xsdt, tb.rsdt, tb.fadt, tb.madt, tb.dsdt, tb.facs };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		CHECK(all[i] && all[i] >= area && all[i] + boot_le32(all[i] + 4) <= area + 0x10000);
	return tb;
}

static struct vm *vm_with_tables(unsigned ncpus)
{
	struct vm *vm = test_vm_new_ram(128 * MiB);
	vm->nr_vcpus = ncpus;
	CHECK_EQ(acpi_build_tables(vm), ACPI_RSDP_ADDR);
	return vm;
}

static void vm_done(struct vm *vm)
{
	vm->nr_vcpus = 1;
	test_vm_free(vm);
}

static void check_gas(const uint8_t *g, uint8_t space, uint8_t bits, uint64_t addr)
{
	CHECK_EQ(g[0], space);
	CHECK_EQ(g[1], bits);
	CHECK_EQ(g[2], 0);
	CHECK_EQ(boot_le64(g + 4), addr);
}

TEST(rsdp_xsdt_rsdt_checksums)
{
	struct vm *vm = vm_with_tables(1);
	struct tables tb = find_tables(vm);
	CHECK(tb.rsdp != NULL);
	vm_done(vm);
}

TEST(fadt_fields)
{
	struct vm *vm = vm_with_tables(1);
	struct tables tb = find_tables(vm);
	uint8_t *f = tb.fadt;
	if (!f)
		return;
	CHECK_EQ(boot_le32(f + 4), 276);
	CHECK_EQ(f[8], 6);
	CHECK_EQ(boot_le16(f + 46), 9);		/* SCI_INT */
	CHECK_EQ(boot_le32(f + 48), 0);		/* SMI_CMD: always in ACPI mode */
	CHECK_EQ(f[52], 0);
	CHECK_EQ(f[53], 0);
	CHECK_EQ(boot_le32(f + 56), ACPI_PM1A_EVT_BLK);
	CHECK_EQ(boot_le32(f + 60), 0);
	CHECK_EQ(boot_le32(f + 64), ACPI_PM1A_CNT_BLK);
	CHECK_EQ(boot_le32(f + 76), ACPI_PM_TMR_BLK);
	CHECK_EQ(f[88], 4);
	CHECK_EQ(f[89], 2);
	CHECK_EQ(f[91], 4);
	CHECK_EQ(f[92], 0);			/* no GPE block */
	/* IAPC_BOOT_ARCH: legacy devices, 8042, no VGA; CMOS RTC present */
	CHECK_EQ(boot_le16(f + 109), 0x7);
	uint32_t flags = boot_le32(f + 112);
	CHECK(flags & (1u << 10));		/* RESET_REG_SUP */
	CHECK(!(flags & (1u << 20)));		/* not HW_REDUCED_ACPI */
	CHECK(!(flags & (1u << 8)));		/* 24-bit PM timer */
	check_gas(f + 116, 1, 8, 0xcf9);
	CHECK_EQ(f[128], 0x06);
	check_gas(f + 148, 1, 32, ACPI_PM1A_EVT_BLK);
	check_gas(f + 172, 1, 16, ACPI_PM1A_CNT_BLK);
	check_gas(f + 208, 1, 32, ACPI_PM_TMR_BLK);
	check_gas(f + 160, 0, 0, 0);		/* no PM1b */
	check_gas(f + 220, 0, 0, 0);
	vm_done(vm);
}

/* Walk the MADT's entries; returns how many of each type, checks lengths */
static void madt_check(unsigned ncpus)
{
	struct vm *vm = vm_with_tables(ncpus);
	struct tables tb = find_tables(vm);
	uint8_t *m = tb.madt;
	if (!m) {
		vm_done(vm);
		return;
	}
	CHECK_EQ(boot_le32(m + 36), 0xfee00000);
	CHECK_EQ(boot_le32(m + 40), 1);	/* PCAT_COMPAT */
	uint32_t len = boot_le32(m + 4), off = 44;
	unsigned lapics = 0, ioapics = 0, isos = 0, nmis = 0;
	bool irq0 = false, irq9 = false;
	while (off + 2 <= len) {
		uint8_t *e = m + off;
		CHECK(e[1] >= 2 && off + e[1] <= len);
		if (e[1] < 2)
			break;
		switch (e[0]) {
		case 0:
			CHECK_EQ(e[1], 8);
			CHECK_EQ(e[2], lapics);
			CHECK_EQ(e[3], lapics);
			CHECK_EQ(boot_le32(e + 4), 1);
			lapics++;
			break;
		case 1:
			CHECK_EQ(e[1], 12);
			CHECK_EQ(boot_le32(e + 4), 0xfec00000);
			CHECK_EQ(boot_le32(e + 8), 0);
			ioapics++;
			break;
		case 2:
			CHECK_EQ(e[1], 10);
			CHECK_EQ(e[2], 0);
			if (e[3] == 0) {
				irq0 = boot_le32(e + 4) == 2 && boot_le16(e + 8) == 0;
			} else if (e[3] == 9) {
				/* active high (01), level (11 << 2) */
				irq9 = boot_le32(e + 4) == 9 && boot_le16(e + 8) == 0xd;
			}
			isos++;
			break;
		case 4:
			CHECK_EQ(e[1], 6);
			CHECK_EQ(e[2], 0xff);
			CHECK_EQ(e[5], 1);	/* LINT1 */
			nmis++;
			break;
		default:
			CHECK(!"unexpected MADT entry");
		}
		off += e[1];
	}
	CHECK_EQ(off, len);
	CHECK_EQ(lapics, ncpus);
	CHECK_EQ(ioapics, 1);
	CHECK_EQ(isos, 2);
	CHECK(irq0);
	CHECK(irq9);
	CHECK_EQ(nmis, 1);
	vm_done(vm);
}

TEST(madt_one_entry_per_cpu)
{
	madt_check(1);
	madt_check(2);
	madt_check(4);
	madt_check(VM_MAX_VCPUS);
}

/* PkgLength as AML encodes it; returns its value and the bytes it took */
static uint32_t aml_pkglen(const uint8_t *p, unsigned *n)
{
	*n = (p[0] >> 6) + 1;
	if (*n == 1)
		return p[0] & 0x3f;
	uint32_t v = p[0] & 0xf;
	for (unsigned i = 1; i < *n; i++)
		v |= (uint32_t)p[i] << (4 + 8 * (i - 1));
	return v;
}

TEST(dsdt_aml)
{
	struct vm *vm = vm_with_tables(1);
	struct tables tb = find_tables(vm);
	uint8_t *d = tb.dsdt;
	if (!d) {
		vm_done(vm);
		return;
	}
	CHECK_EQ(d[8], 2);	/* revision 2: 64-bit integers */
	uint32_t len = boot_le32(d + 4);
	const uint8_t *aml = d + 36;
	uint32_t amllen = len - 36;
	/* Name(\_S5, Package(4) { 5, 5, 0, 0 }) */
	static const uint8_t s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04,
				      0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00 };
	CHECK(amllen >= sizeof(s5) && !memcmp(aml, s5, sizeof(s5)));
	/* Scope(\_SB) { Device(PCI0) { ... } } runs exactly to the end */
	const uint8_t *p = aml + sizeof(s5);
	CHECK_EQ(p[0], 0x10);
	unsigned n;
	uint32_t scope = aml_pkglen(p + 1, &n);
	CHECK_EQ(1 + scope, amllen - sizeof(s5));
	CHECK(!memcmp(p + 1 + n, "\\_SB_", 5));
	const uint8_t *dev = p + 1 + n + 5;
	CHECK(dev[0] == 0x5b && dev[1] == 0x82);
	uint32_t devlen = aml_pkglen(dev + 2, &n);
	CHECK(dev + 2 + devlen == aml + amllen);
	CHECK(!memcmp(dev + 2 + n, "PCI0", 4));
	/* Name(_HID, EisaId("PNP0A03")) */
	static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
	CHECK(!memcmp(dev + 2 + n + 4, hid, sizeof(hid)));
	vm_done(vm);
}

/* With the ACPICA disassembler installed, let it parse the DSDT: it must
 * not find anything to complain about */
TEST(dsdt_disassembles_cleanly)
{
	if (system("command -v iasl >/dev/null 2>&1") != 0)
		SKIP("iasl (acpica-tools) not installed");
	struct vm *vm = vm_with_tables(2);
	struct tables tb = find_tables(vm);
	char dir[] = "/tmp/minivmm-acpi-XXXXXX";
	if (!tb.dsdt || !mkdtemp(dir)) {
		vm_done(vm);
		CHECK(!"no DSDT or temporary directory");
		return;
	}
	const char *names[] = { "dsdt", "facp", "apic" };
	uint8_t *tabs[] = { tb.dsdt, tb.fadt, tb.madt };
	for (int i = 0; i < 3; i++) {
		char path[128];
		snprintf(path, sizeof(path), "%s/%s.dat", dir, names[i]);
		FILE *f = fopen(path, "wb");
		CHECK(f != NULL);
		if (f) {
			fwrite(tabs[i], 1, boot_le32(tabs[i] + 4), f);
			fclose(f);
		}
	}
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "cd %s && iasl -d dsdt.dat facp.dat apic.dat >log 2>&1 && "
		 "! grep -Eiq 'error|warning|invalid|mismatch' log dsdt.dsl facp.dsl apic.dsl && "
		 "grep -q '_S5, Package (0x04)' dsdt.dsl && grep -q 'PNP0A03' dsdt.dsl && "
		 "grep -q 'EisaId (\"PNP0303\")' dsdt.dsl && grep -q 'EisaId (\"PNP0F13\")' dsdt.dsl && "
		 "grep -q 'EisaId (\"PNP0501\")' dsdt.dsl && grep -q 'EisaId (\"PNP0B00\")' dsdt.dsl && "
		 "grep -q 'IRQNoFlags ()' dsdt.dsl && grep -A3 'IO (Decode16' dsdt.dsl | grep -q '0x03F8' && "
		 "grep -q 'WordBusNumber' dsdt.dsl && grep -q '0xFEBFFFFF' dsdt.dsl && "
		 "grep -q 'PM1A Control Block Address : 00000604' facp.dsl && "
		 "grep -q 'Name (_PRT, Package (0x7C)' dsdt.dsl && "
		 "grep -A5 '0x0001FFFF,' dsdt.dsl | grep -q '0x0A' && "
		 "grep -A5 '0x001FFFFF,' dsdt.dsl | tr -d ' \n' | grep -q '0x001FFFFF,0x03,Zero,0x0B'", dir);
	int st = system(cmd);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (st != 0) {
		snprintf(cmd, sizeof(cmd), "cat %s/log; grep -Ei 'error|warning|invalid|mismatch' %s/*.dsl", dir, dir);
		if (system(cmd)) {}
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd)) {}
	vm_done(vm);
}

TEST(too_little_ram_for_tables)
{
	struct vm *vm = test_vm_new_ram(512 * 1024);
	CHECK_EQ(acpi_build_tables(vm), 0);
	test_vm_free(vm);
}

/* --- the PM registers --- */

TEST(pm1_sleep_s5_powers_off)
{
	struct vm *vm = test_vm_new();
	CHECK_EQ(acpi_pm_create(vm), 0);
	/* always in ACPI mode */
	CHECK(inw(vm, ACPI_PM1A_CNT_BLK) & ACPI_PM1_SCI_EN);
	outw(vm, ACPI_PM1A_CNT_BLK, 0);
	CHECK(inw(vm, ACPI_PM1A_CNT_BLK) & ACPI_PM1_SCI_EN);
	/* SLP_TYP alone does nothing; another type with SLP_EN neither */
	outw(vm, ACPI_PM1A_CNT_BLK, ACPI_SLP_TYP_S5 << 10);
	CHECK(vm_running(vm));
	CHECK_EQ((inw(vm, ACPI_PM1A_CNT_BLK) >> 10) & 7, ACPI_SLP_TYP_S5);
	outw(vm, ACPI_PM1A_CNT_BLK, 1 << 10 | ACPI_PM1_SLP_EN);
	CHECK(vm_running(vm));
	CHECK(!(inw(vm, ACPI_PM1A_CNT_BLK) & ACPI_PM1_SLP_EN));	/* write-only */
	/* what ACPICA does for S5: SLP_TYP, then SLP_TYP | SLP_EN */
	outw(vm, ACPI_PM1A_CNT_BLK, ACPI_SLP_TYP_S5 << 10 | ACPI_PM1_SCI_EN);
	outw(vm, ACPI_PM1A_CNT_BLK, ACPI_SLP_TYP_S5 << 10 | ACPI_PM1_SLP_EN | ACPI_PM1_SCI_EN);
	CHECK_EQ(atomic_load(&vm->run_state), VM_STOP_EXIT);
	CHECK_EQ(vm->exit_status, 0);
	test_vm_free(vm);

	/* the high byte alone, as a byte write, works too */
	vm = test_vm_new();
	CHECK_EQ(acpi_pm_create(vm), 0);
	outb(vm, ACPI_PM1A_CNT_BLK + 1, (ACPI_SLP_TYP_S5 << 2) | 0x20);
	CHECK_EQ(atomic_load(&vm->run_state), VM_STOP_EXIT);
	CHECK_EQ(vm->exit_status, 0);
	test_vm_free(vm);
}

/* the S5 value the DSDT names is the one the device acts on */
TEST(dsdt_s5_matches_device)
{
	struct vm *vm = vm_with_tables(1);
	struct tables tb = find_tables(vm);
	CHECK_EQ(acpi_pm_create(vm), 0);
	if (tb.dsdt) {
		const uint8_t *pkg = tb.dsdt + 36 + 6;	/* after Name \_S5_ */
		CHECK_EQ(pkg[0], 0x12);
		CHECK_EQ(pkg[3], 0x0a);
		unsigned typ = pkg[4];
		uint16_t port = (uint16_t)boot_le32(tb.fadt + 64);
		outw(vm, port, (uint16_t)(typ << 10 | ACPI_PM1_SLP_EN));
		CHECK_EQ(atomic_load(&vm->run_state), VM_STOP_EXIT);
		CHECK_EQ(vm->exit_status, 0);
	}
	vm_done(vm);
}

TEST(fadt_reset_register_resets)
{
	struct vm *vm = vm_with_tables(1);
	struct tables tb = find_tables(vm);
	struct pci_bus *bus;
	CHECK_EQ(pci_host_create(vm, &bus), 0);
	if (tb.fadt) {
		CHECK_EQ(tb.fadt[116], 1);	/* system I/O */
		outb(vm, (uint16_t)boot_le64(tb.fadt + 120), tb.fadt[128]);
		CHECK(test_reset_requested(vm));
	}
	vm_done(vm);
}

TEST(pm_timer_counts_at_3_58_mhz)
{
	struct vm *vm = test_vm_new();
	CHECK_EQ(acpi_pm_create(vm), 0);
	uint32_t t0 = inl(vm, ACPI_PM_TMR_BLK);
	CHECK_EQ(t0 >> 24, 0);
	CHECK_EQ(inl(vm, ACPI_PM_TMR_BLK), t0);	/* frozen clock, frozen timer */
	vm_clock_advance(vm, NS_PER_SEC);
	uint32_t t1 = inl(vm, ACPI_PM_TMR_BLK);
	CHECK_EQ((t1 - t0) & 0xffffff, 3579545 & 0xffffff);
	/* wraps at 24 bits: 2^24 ticks later it reads the same */
	vm_clock_advance(vm, muldiv64(1ull << 24, NS_PER_SEC, ACPI_PM_TIMER_HZ) + 1);
	uint32_t t2 = inl(vm, ACPI_PM_TMR_BLK);
	CHECK(((t2 - t1) & 0xffffff) <= 1);
	/* byte reads of the timer, writes ignored */
	outl(vm, ACPI_PM_TMR_BLK, 0);
	CHECK_EQ(inl(vm, ACPI_PM_TMR_BLK), t2);
	CHECK_EQ(inb(vm, ACPI_PM_TMR_BLK + 2), (t2 >> 16) & 0xff);
	test_vm_free(vm);
}

TEST(pm_timer_carry_raises_sci)
{
	struct vm *vm = test_vm_new();
	CHECK_EQ(acpi_pm_create(vm), 0);
	/* the status bit sets without the enable, but no SCI */
	test_advance(vm, 3 * NS_PER_SEC, 100000000);
	CHECK(inw(vm, ACPI_PM1A_EVT_BLK) & ACPI_PM1_TMR);
	CHECK_EQ(fake_irq_level[ACPI_SCI_IRQ], 0);
	outw(vm, ACPI_PM1A_EVT_BLK, ACPI_PM1_TMR);	/* write 1 to clear */
	CHECK(!(inw(vm, ACPI_PM1A_EVT_BLK) & ACPI_PM1_TMR));
	/* enabled: the carry of bit 23 (every 2.34 s) raises the SCI on time */
	outw(vm, ACPI_PM1A_EVT_BLK + 2, ACPI_PM1_TMR);
	CHECK_EQ(inw(vm, ACPI_PM1A_EVT_BLK + 2), ACPI_PM1_TMR);
	test_advance(vm, 2400 * 1000000ull, 10000000);
	CHECK_EQ(fake_irq_level[ACPI_SCI_IRQ], 1);
	CHECK_EQ(fake_irq_rises[ACPI_SCI_IRQ], 1);
	/* a 32-bit write to STS/EN clears the status and keeps the enable */
	outl(vm, ACPI_PM1A_EVT_BLK, (uint32_t)ACPI_PM1_TMR << 16 | ACPI_PM1_TMR);
	CHECK_EQ(fake_irq_level[ACPI_SCI_IRQ], 0);
	CHECK_EQ(inw(vm, ACPI_PM1A_EVT_BLK + 2), ACPI_PM1_TMR);
	/* machine reset: everything off */
	for (int i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i].reset)
			vm->devices[i].reset(vm->devices[i].opaque);
	CHECK_EQ(inw(vm, ACPI_PM1A_EVT_BLK + 2), 0);
	CHECK_EQ(inw(vm, ACPI_PM1A_CNT_BLK), ACPI_PM1_SCI_EN);
	test_vm_free(vm);
}

TEST(pm_ports_survive_a_storm)
{
	struct vm *vm = test_vm_new();
	CHECK_EQ(acpi_pm_create(vm), 0);
	uint16_t ports[ACPI_PM_IO_LEN + 2];
	for (int i = 0; i < ACPI_PM_IO_LEN + 2; i++)
		ports[i] = (uint16_t)(ACPI_PM_IO_BASE - 1 + i);
	test_port_storm(vm, ports, ACPI_PM_IO_LEN + 2, 20000, 77);
	/* the storm may have powered off; the device still answers */
	CHECK(inw(vm, ACPI_PM1A_CNT_BLK) & ACPI_PM1_SCI_EN);
	CHECK_EQ(acpi_pm_create(vm), -EEXIST);
	test_vm_free(vm);
}

RUN_TESTS(T(rsdp_xsdt_rsdt_checksums), T(fadt_fields), T(madt_one_entry_per_cpu), T(dsdt_aml),
	  T(dsdt_disassembles_cleanly), T(too_little_ram_for_tables), T(pm1_sleep_s5_powers_off),
	  T(dsdt_s5_matches_device), T(fadt_reset_register_resets), T(pm_timer_counts_at_3_58_mhz),
	  T(pm_timer_carry_raises_sci), T(pm_ports_survive_a_storm))
