/* SMBIOS tables read back the way an OS reads them: the entry point found
 * by Linux's F-segment scan, both checksums, then structure by structure
 * (formatted area, strings, the double NUL) up to the end table, with the
 * count, total length and largest size the entry point gives; the tables
 * for firmware (no BIOS table unless type=0 says something); the UUID's
 * byte order; the processor ID, as the guest's CPUID gives it; large
 * memory in types 16, 17 and 19; strings too long for a
 * structure refused cleanly. */
#include <errno.h>

#include "test.h"

#include "boot/smbios.h"
#include "platform_vm.h"
#include "tcg_vm.h"

#define GiB (1ull << 30)

static bool sums_to_zero(const uint8_t *p, size_t len)
{
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s == 0;
}

struct parsed {
	unsigned count, max_size;
	uint8_t types[128];
	const uint8_t *at[128];
	size_t len;
};

/* Walk the tables; false when a structure runs past the end */
static bool parse(const uint8_t *p, size_t len, struct parsed *out)
{
	memset(out, 0, sizeof(*out));
	size_t off = 0;
	while (off + 4 <= len) {
		const uint8_t *s = p + off;
		size_t end = off + s[1];
		if (s[1] < 4 || end + 2 > len)
			return false;
		while (end + 1 < len && (p[end] || p[end + 1]))
			end++;
		if (end + 1 >= len)
			return false;
		size_t size = end + 2 - off;
		if (out->count < 128) {
			out->types[out->count] = s[0];
			out->at[out->count] = s;
		}
		out->count++;
		if (size > out->max_size)
			out->max_size = (unsigned)size;
		off += size;
		if (s[0] == 127)
			break;
	}
	out->len = off;
	return true;
}

/* String n of structure s (1-based), or "" */
static const char *str_of(const uint8_t *s, uint8_t n)
{
	const char *p = (const char *)s + s[1];
	if (!n)
		return "";
	while (--n)
		p += strlen(p) + 1;
	return p;
}

static const uint8_t *find(const struct parsed *t, uint8_t type)
{
	for (unsigned i = 0; i < t->count && i < 128; i++)
		if (t->types[i] == type)
			return t->at[i];
	return NULL;
}

TEST(direct_boot_tables_in_the_f_segment)
{
	struct vm *vm = test_vm_new_ram(5 * GiB);
	vm->nr_vcpus = 2;
	CHECK_EQ(smbios_install(vm), 0);
	/* Linux: "_SM_" on a 16-byte boundary from 0xF0000 */
	const uint8_t *a = NULL;
	for (uint64_t g = 0xf0000; g < 0x100000 && !a; g += 16) {
		const uint8_t *p = guest_mem_ptr(&vm->mem, g, SMBIOS_ANCHOR_LEN);
		if (!memcmp(p, "_SM_", 4))
			a = p;
	}
	CHECK(a != NULL);
	CHECK(sums_to_zero(a, a[5]));
	CHECK_EQ(a[5], 31);
	CHECK(!memcmp(a + 16, "_DMI_", 5));
	CHECK(sums_to_zero(a + 16, 15));
	CHECK_EQ(a[6], 2);
	CHECK_EQ(a[7], 8);
	uint32_t addr = (uint32_t)a[24] | (uint32_t)a[25] << 8 | (uint32_t)a[26] << 16 |
			(uint32_t)a[27] << 24;
	uint16_t len = (uint16_t)(a[22] | a[23] << 8);
	CHECK(addr >= 0xf0000 && addr + len <= 0x100000);

	struct parsed t;
	CHECK(parse(guest_mem_ptr(&vm->mem, addr, len), len, &t));
	CHECK_EQ(t.len, len);
	CHECK_EQ(t.count, (unsigned)(a[28] | a[29] << 8));
	CHECK_EQ(t.max_size, (unsigned)(a[8] | a[9] << 8));
	/* BIOS, system, chassis, a processor per vCPU, memory array, one
	 * device, a range below 4 GiB and one above, boot information, end */
	static const uint8_t want[] = { 0, 1, 3, 4, 4, 16, 17, 19, 19, 32, 127 };
	CHECK_EQ(t.count, sizeof(want));
	CHECK(!memcmp(t.types, want, sizeof(want)));
	const uint8_t *bios = find(&t, 0), *sys = find(&t, 1), *cpu = find(&t, 4);
	CHECK(!strcmp(str_of(bios, bios[4]), "minivmm"));
	CHECK(!strcmp(str_of(sys, sys[5]), "Standard PC (i440FX + PIIX, 1996)"));
	CHECK(!strcmp(str_of(sys, sys[7]), ""));	/* no serial unless given */
	CHECK(!strcmp(str_of(cpu, cpu[4]), "CPU 0"));
	CHECK(!strcmp(str_of(t.at[4], t.at[4][4]), "CPU 1"));
	/* 5 GiB: the array's capacity in KiB, one 5 GiB device in MiB */
	const uint8_t *arr = find(&t, 16), *dev = find(&t, 17);
	CHECK_EQ(arr[7] | arr[8] << 8 | arr[9] << 16 | (uint32_t)arr[10] << 24, 5 * GiB >> 10);
	CHECK_EQ(dev[0x0c] | dev[0x0d] << 8, 5 * 1024);
	/* the range above 4 GiB, in KiB */
	const uint8_t *hi = t.at[8];
	CHECK_EQ(hi[4] | hi[5] << 8 | hi[6] << 16 | (uint32_t)hi[7] << 24, 4 * GiB >> 10);
	test_vm_free(vm);
}

/* Type 4's processor ID is CPUID leaf 1's EAX and EDX on that vCPU */
TEST(processor_id_is_the_guests_cpuid)
{
	struct vm vm;
	struct x86_cpu *cpu = NULL;
	int ret = tcg_vm_init(&vm, 16 << 20, &cpu);
	CHECK_EQ(ret, 0);
	if (ret < 0)
		return;
	uint32_t leaf1[4];
	x86_cpuid(cpu, 1, 0, leaf1);
	CHECK(leaf1[0] != 0 && leaf1[3] != 0);
	struct smbios_tables tb;
	struct parsed t;
	CHECK_EQ(smbios_build(&vm, false, &tb), 0);
	CHECK(parse(tb.data, tb.len, &t));
	const uint8_t *p = find(&t, 4);
	CHECK(p != NULL);
	if (p) {
		uint32_t eax, edx;
		memcpy(&eax, p + 8, 4);
		memcpy(&edx, p + 12, 4);
		CHECK_EQ(eax, leaf1[0]);
		CHECK_EQ(edx, leaf1[3]);
	}
	smbios_tables_free(&tb);
	vm_destroy(&vm);
}

TEST(firmware_tables_and_the_users_strings)
{
	struct vm *vm = test_vm_new();
	struct smbios_config *sm = &vm->cfg.smbios;
	static const uint8_t uuid[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					  0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	memcpy(sm->uuid, uuid, 16);
	sm->field[SMBIOS_SYS_SERIAL] = "S-1";
	sm->field[SMBIOS_SYS_PRODUCT] = "P";
	sm->oem_strings[0] = "one";
	sm->oem_strings[1] = "two";
	sm->nr_oem_strings = 2;

	struct smbios_tables tb;
	struct parsed t;
	CHECK_EQ(smbios_build(vm, true, &tb), 0);
	CHECK(parse(tb.data, tb.len, &t));
	CHECK_EQ(t.len, tb.len);
	CHECK(find(&t, 0) == NULL);	/* the firmware adds its own */
	CHECK(find(&t, 2) == NULL);	/* no baseboard strings given */
	const uint8_t *sys = find(&t, 1), *oem = find(&t, 11);
	CHECK(!strcmp(str_of(sys, sys[5]), "P"));
	CHECK(!strcmp(str_of(sys, sys[7]), "S-1"));
	/* since SMBIOS 2.6 the first three UUID fields are little-endian */
	static const uint8_t stored[16] = { 0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66,
					    0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	CHECK(!memcmp(sys + 8, stored, 16));
	CHECK_EQ(oem[4], 2);
	CHECK(!strcmp(str_of(oem, 2), "two"));
	uint8_t a[SMBIOS_ANCHOR_LEN];
	smbios_anchor(&tb, 0, a);
	CHECK(sums_to_zero(a, sizeof(a)));
	smbios_tables_free(&tb);

	/* a BIOS field given: the BIOS table is ours even for firmware */
	sm->field[SMBIOS_BIOS_VENDOR] = "V";
	sm->bios_release_given = true;
	sm->bios_release[0] = 3;
	sm->bios_release[1] = 7;
	CHECK_EQ(smbios_build(vm, true, &tb), 0);
	CHECK(parse(tb.data, tb.len, &t));
	const uint8_t *bios = find(&t, 0);
	CHECK(bios != NULL);
	CHECK(!strcmp(str_of(bios, bios[4]), "V"));
	CHECK_EQ(bios[0x14], 3);
	CHECK_EQ(bios[0x15], 7);
	smbios_tables_free(&tb);
	test_vm_free(vm);
}

TEST(strings_too_long_are_refused)
{
	struct vm *vm = test_vm_new();
	static char big[6000];
	memset(big, 'x', sizeof(big) - 1);
	struct smbios_config *sm = &vm->cfg.smbios;
	sm->field[SMBIOS_SYS_MANUFACTURER] = big;
	sm->field[SMBIOS_SYS_PRODUCT] = big;
	sm->field[SMBIOS_SYS_VERSION] = big;
	struct smbios_tables tb;
	CHECK_EQ(smbios_build(vm, false, &tb), -E2BIG);
	CHECK(tb.data == NULL);
	/* one of them fits */
	sm->field[SMBIOS_SYS_PRODUCT] = sm->field[SMBIOS_SYS_VERSION] = NULL;
	CHECK_EQ(smbios_build(vm, false, &tb), 0);
	smbios_tables_free(&tb);
	test_vm_free(vm);
}

RUN_TESTS(T(direct_boot_tables_in_the_f_segment), T(processor_id_is_the_guests_cpuid),
	  T(firmware_tables_and_the_users_strings),
	  T(strings_too_long_are_refused))
