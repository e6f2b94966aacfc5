/* SMBIOS tables: see smbios.h.  Each structure is its formatted area
 * followed by its strings (numbered from 1 in the order they appear; 0
 * means none), the last one followed by a second NUL (two NULs when it has
 * none). */
#include "boot/smbios.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/loaders.h"
#include "core/log.h"
#include "core/version.h"
#include "core/vm.h"
#include "hw/fw_cfg.h"
#include "mem/guest_mem.h"

#define FORMATTED_MAX 0x30
#define STRINGS_MAX (sizeof(((struct vm_config *)0)->strings) + 1024)
#define MIB (1ull << 20)
#define DIMM_MAX_SIZE (16ull << 30)	/* QEMU's type 17 granularity */

/* Handles as QEMU numbers them: type << 8, plus the instance */
#define HANDLE(type, i) ((uint16_t)((type) << 8 | (i)))
#define HANDLE_MEM_ARRAY 0x1000
#define HANDLE_MEM_DEVICE 0x1100
#define HANDLE_MEM_MAPPED 0x1300
#define HANDLE_BOOT_INFO 0x2000
#define HANDLE_NONE 0xfffe	/* no error information structure */
#define HANDLE_UNKNOWN 0xffff

struct smbios_builder {
	struct smbios_tables *t;
	size_t cap;
	int err;
	/* the structure being made */
	uint8_t f[FORMATTED_MAX];
	size_t flen;
	char *str;
	size_t slen;
	unsigned nstr;
};

static void sm_begin(struct smbios_builder *b, uint8_t type, uint8_t len, uint16_t handle)
{
	memset(b->f, 0, sizeof(b->f));
	b->f[0] = type;
	b->f[1] = len;
	boot_put_le16(b->f + 2, handle);
	b->flen = len;
	b->slen = 0;
	b->nstr = 0;
}

/* The number of string s in this structure (0 for none) */
static uint8_t sm_str(struct smbios_builder *b, const char *s)
{
	if (!s || !*s)
		return 0;
	size_t n = strlen(s) + 1;
	if (n > STRINGS_MAX - 1 - b->slen || b->nstr == 255) {
		b->err = -E2BIG;
		return 0;
	}
	memcpy(b->str + b->slen, s, n);
	b->slen += n;
	return (uint8_t)++b->nstr;
}

static void sm_end(struct smbios_builder *b)
{
	struct smbios_tables *t = b->t;
	size_t size = b->flen + (b->slen ? b->slen + 1 : 2);
	if (b->err)
		return;
	if (t->len + size > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 4096) + size;
		uint8_t *p = realloc(t->data, cap);
		if (!p) {
			b->err = -ENOMEM;
			return;
		}
		t->data = p;
		b->cap = cap;
	}
	uint8_t *p = t->data + t->len;
	memcpy(p, b->f, b->flen);
	memcpy(p + b->flen, b->str, b->slen);
	memset(p + b->flen + b->slen, 0, size - b->flen - b->slen);
	t->len += size;
	t->count++;
	if (size > t->max_size)
		t->max_size = (unsigned)size;
}

static const char *field_or(const struct smbios_config *sm, enum smbios_field f, const char *def)
{
	return sm->field[f] ? sm->field[f] : def;
}

static bool any_field(const struct smbios_config *sm, enum smbios_field from, enum smbios_field to)
{
	for (unsigned f = from; f <= to; f++)
		if (sm->field[f])
			return true;
	return false;
}

static void table_bios(struct smbios_builder *b, const struct smbios_config *sm)
{
	sm_begin(b, 0, 0x18, HANDLE(0, 0));
	b->f[4] = sm_str(b, field_or(sm, SMBIOS_BIOS_VENDOR, "minivmm"));
	b->f[5] = sm_str(b, field_or(sm, SMBIOS_BIOS_VERSION, MINIVMM_VERSION));
	boot_put_le16(b->f + 6, 0xe800);	/* starting segment */
	b->f[8] = sm_str(b, field_or(sm, SMBIOS_BIOS_DATE, MINIVMM_RELEASE_DATE));
	b->f[9] = 0;				/* ROM size: 64 KiB */
	b->f[0x0a] = 1 << 3;			/* characteristics not supported */
	/* targeted content distribution, a virtual machine, UEFI if asked */
	b->f[0x13] = 1 << 2 | 1 << 4 | (sm->uefi ? 1 << 3 : 0);
	b->f[0x14] = sm->bios_release_given ? sm->bios_release[0] : 0;
	b->f[0x15] = sm->bios_release_given ? sm->bios_release[1] : 0;
	b->f[0x16] = b->f[0x17] = 0xff;		/* no embedded controller */
	sm_end(b);
}

static void table_system(struct smbios_builder *b, const struct smbios_config *sm,
			 const char *product, const char *version)
{
	sm_begin(b, 1, 0x1b, HANDLE(1, 0));
	b->f[4] = sm_str(b, field_or(sm, SMBIOS_SYS_MANUFACTURER, "minivmm"));
	b->f[5] = sm_str(b, field_or(sm, SMBIOS_SYS_PRODUCT, product));
	b->f[6] = sm_str(b, field_or(sm, SMBIOS_SYS_VERSION, version));
	b->f[7] = sm_str(b, sm->field[SMBIOS_SYS_SERIAL]);
	/* since 2.6 the first three fields are little-endian */
	const uint8_t *u = sm->uuid;
	uint8_t *d = b->f + 8;
	d[0] = u[3], d[1] = u[2], d[2] = u[1], d[3] = u[0];
	d[4] = u[5], d[5] = u[4], d[6] = u[7], d[7] = u[6];
	memcpy(d + 8, u + 8, 8);
	b->f[0x18] = 0x06;			/* woken by the power switch */
	b->f[0x19] = sm_str(b, sm->field[SMBIOS_SYS_SKU]);
	b->f[0x1a] = sm_str(b, sm->field[SMBIOS_SYS_FAMILY]);
	sm_end(b);
}

static void table_board(struct smbios_builder *b, const struct smbios_config *sm)
{
	sm_begin(b, 2, 0x0f, HANDLE(2, 0));
	b->f[4] = sm_str(b, field_or(sm, SMBIOS_BOARD_MANUFACTURER, "minivmm"));
	b->f[5] = sm_str(b, sm->field[SMBIOS_BOARD_PRODUCT]);
	b->f[6] = sm_str(b, sm->field[SMBIOS_BOARD_VERSION]);
	b->f[7] = sm_str(b, sm->field[SMBIOS_BOARD_SERIAL]);
	b->f[8] = sm_str(b, sm->field[SMBIOS_BOARD_ASSET]);
	b->f[9] = 0x01;				/* a hosting board */
	b->f[0x0a] = sm_str(b, sm->field[SMBIOS_BOARD_LOCATION]);
	boot_put_le16(b->f + 0x0b, HANDLE(3, 0));
	b->f[0x0d] = 0x0a;			/* motherboard */
	sm_end(b);
}

static void table_chassis(struct smbios_builder *b, const struct smbios_config *sm,
			  const char *version)
{
	sm_begin(b, 3, 0x16, HANDLE(3, 0));
	b->f[4] = sm_str(b, field_or(sm, SMBIOS_CHASSIS_MANUFACTURER, "minivmm"));
	b->f[5] = 0x01;				/* other */
	b->f[6] = sm_str(b, field_or(sm, SMBIOS_CHASSIS_VERSION, version));
	b->f[7] = sm_str(b, sm->field[SMBIOS_CHASSIS_SERIAL]);
	b->f[8] = sm_str(b, sm->field[SMBIOS_CHASSIS_ASSET]);
	b->f[9] = b->f[0x0a] = b->f[0x0b] = 0x03;	/* boot-up, power, thermal: safe */
	b->f[0x0c] = 0x02;			/* security status unknown */
	b->f[0x15] = sm_str(b, sm->field[SMBIOS_CHASSIS_SKU]);
	sm_end(b);
}

/* One per vCPU: each is a socket of one core and one thread, as QEMU's
 * default -smp N */
static void table_processor(struct smbios_builder *b, const struct vm *vm, unsigned i)
{
	const struct smbios_config *sm = &vm->cfg.smbios;
	/* processor ID: CPUID leaf 1's signature (EAX) and features (EDX), as
	 * the guest reads them (zero before the vCPUs exist) */
	uint32_t id[4] = { 0 };
	if (i < vm->nr_vcpus && vm->accel && vm->accel->get_cpuid &&
	    vm->accel->get_cpuid(&vm->vcpus[i], 1, 0, id) < 0)
		id[0] = id[3] = 0;
	char socket[16];
	snprintf(socket, sizeof(socket), "CPU %u", i);
	sm_begin(b, 4, 0x2a, (uint16_t)(HANDLE(4, 0) + i));
	b->f[4] = sm_str(b, socket);
	b->f[5] = 0x03;				/* central processor */
	b->f[6] = 0xfe;				/* family: see family 2 */
	b->f[7] = sm_str(b, field_or(sm, SMBIOS_CPU_MANUFACTURER, "minivmm"));
	boot_put_le32(b->f + 8, id[0]);
	boot_put_le32(b->f + 12, id[3]);
	b->f[0x10] = sm_str(b, field_or(sm, SMBIOS_CPU_VERSION, "minivmm virtual CPU"));
	boot_put_le16(b->f + 0x14, 2000);	/* maximum speed, MHz */
	boot_put_le16(b->f + 0x16, 2000);	/* current speed */
	b->f[0x18] = 0x41;			/* socket populated, CPU enabled */
	b->f[0x19] = 0x01;			/* upgrade: other */
	boot_put_le16(b->f + 0x1a, HANDLE_UNKNOWN);	/* no cache tables */
	boot_put_le16(b->f + 0x1c, HANDLE_UNKNOWN);
	boot_put_le16(b->f + 0x1e, HANDLE_UNKNOWN);
	b->f[0x20] = sm_str(b, sm->field[SMBIOS_CPU_SERIAL]);
	b->f[0x21] = sm_str(b, sm->field[SMBIOS_CPU_ASSET]);
	b->f[0x22] = sm_str(b, sm->field[SMBIOS_CPU_PART]);
	b->f[0x23] = b->f[0x24] = b->f[0x25] = 1;	/* cores, enabled, threads */
	boot_put_le16(b->f + 0x26, 1 << 2);	/* 64-bit capable */
	boot_put_le16(b->f + 0x28, 0x01);	/* family 2: other */
	sm_end(b);
}

static void table_oem_strings(struct smbios_builder *b, const struct smbios_config *sm)
{
	sm_begin(b, 11, 0x05, HANDLE(11, 0));
	for (unsigned i = 0; i < sm->nr_oem_strings; i++)
		sm_str(b, sm->oem_strings[i]);
	b->f[4] = (uint8_t)b->nstr;
	sm_end(b);
}

static void table_memory(struct smbios_builder *b, const struct vm *vm)
{
	uint64_t ram = vm->mem.ram_size;
	unsigned dimms = (unsigned)((ram + DIMM_MAX_SIZE - 1) / DIMM_MAX_SIZE);
	uint64_t kib = ram >> 10;

	sm_begin(b, 16, 0x17, HANDLE_MEM_ARRAY);
	b->f[4] = 0x01;				/* location: other */
	b->f[5] = 0x03;				/* system memory */
	b->f[6] = 0x06;				/* multi-bit ECC */
	if (kib < 0x80000000ull) {
		boot_put_le32(b->f + 7, (uint32_t)kib);
	} else {
		boot_put_le32(b->f + 7, 0x80000000u);	/* see the extended size */
		boot_put_le64(b->f + 0x0f, ram);
	}
	boot_put_le16(b->f + 0x0b, HANDLE_NONE);
	boot_put_le16(b->f + 0x0d, (uint16_t)dimms);
	sm_end(b);

	for (unsigned i = 0; i < dimms; i++) {
		char locator[16];
		uint64_t size = ram - (uint64_t)i * DIMM_MAX_SIZE;
		uint64_t mib = (size < DIMM_MAX_SIZE ? size : DIMM_MAX_SIZE) / MIB;
		snprintf(locator, sizeof(locator), "DIMM %u", i);
		sm_begin(b, 17, 0x28, (uint16_t)(HANDLE_MEM_DEVICE + i));
		boot_put_le16(b->f + 4, HANDLE_MEM_ARRAY);
		boot_put_le16(b->f + 6, HANDLE_NONE);
		boot_put_le16(b->f + 8, 0xffff);	/* widths unknown */
		boot_put_le16(b->f + 0x0a, 0xffff);
		if (mib < 0x7fff) {
			boot_put_le16(b->f + 0x0c, (uint16_t)mib);
		} else {
			boot_put_le16(b->f + 0x0c, 0x7fff);
			boot_put_le32(b->f + 0x1c, (uint32_t)mib);
		}
		b->f[0x0e] = 0x09;			/* DIMM */
		b->f[0x10] = sm_str(b, locator);
		b->f[0x12] = 0x07;			/* RAM */
		boot_put_le16(b->f + 0x13, 1 << 1);	/* type detail: other */
		b->f[0x17] = sm_str(b, "minivmm");
		sm_end(b);
	}

	for (int i = 0; i < vm->mem.nr_regions; i++) {
		const struct mem_region *r = &vm->mem.regions[i];
		uint64_t start = r->gpa >> 10, end = (r->gpa + r->size - 1) >> 10;
		sm_begin(b, 19, 0x1f, (uint16_t)(HANDLE_MEM_MAPPED + i));
		if (end < 0xffffffffull) {
			boot_put_le32(b->f + 4, (uint32_t)start);
			boot_put_le32(b->f + 8, (uint32_t)end);
		} else {
			boot_put_le32(b->f + 4, 0xffffffffu);	/* see the extended addresses */
			boot_put_le32(b->f + 8, 0xffffffffu);
			boot_put_le64(b->f + 0x0f, r->gpa);
			boot_put_le64(b->f + 0x17, r->gpa + r->size - 1);
		}
		boot_put_le16(b->f + 0x0c, HANDLE_MEM_ARRAY);
		b->f[0x0e] = 1;				/* partition width */
		sm_end(b);
	}
}

int smbios_build(const struct vm *vm, bool for_firmware, struct smbios_tables *t)
{
	const struct smbios_config *sm = &vm->cfg.smbios;
	bool microvm = vm->cfg.machine == MACHINE_MICROVM;
	const char *product = microvm ? "minivmm microvm" : "Standard PC (i440FX + PIIX, 1996)";
	const char *version = microvm ? "microvm" : "pc";
	unsigned ncpus = vm->nr_vcpus ? vm->nr_vcpus : vm->cfg.smp ? vm->cfg.smp : 1;
	struct smbios_builder b = { .t = t };

	memset(t, 0, sizeof(*t));
	b.str = malloc(STRINGS_MAX);
	if (!b.str)
		return -ENOMEM;
	if (!for_firmware || sm->bios_release_given || sm->uefi ||
	    any_field(sm, SMBIOS_BIOS_VENDOR, SMBIOS_BIOS_DATE))
		table_bios(&b, sm);
	table_system(&b, sm, product, version);
	if (any_field(sm, SMBIOS_BOARD_MANUFACTURER, SMBIOS_BOARD_LOCATION))
		table_board(&b, sm);
	table_chassis(&b, sm, version);
	for (unsigned i = 0; i < ncpus; i++)
		table_processor(&b, vm, i);
	if (sm->nr_oem_strings)
		table_oem_strings(&b, sm);
	table_memory(&b, vm);
	sm_begin(&b, 32, 0x0b, HANDLE_BOOT_INFO);	/* boot status 0: no errors */
	sm_end(&b);
	sm_begin(&b, 127, 0x04, HANDLE(127, 0));
	sm_end(&b);
	free(b.str);
	if (!b.err && t->len > 0xffff)
		b.err = -E2BIG;		/* the entry point's length is 16 bits */
	if (b.err) {
		smbios_tables_free(t);
		log_error("SMBIOS tables: %s (shorter -smbios strings?)", strerror(-b.err));
		return b.err;
	}
	return 0;
}

void smbios_tables_free(struct smbios_tables *t)
{
	free(t->data);
	memset(t, 0, sizeof(*t));
}

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)-sum;
}

void smbios_anchor(const struct smbios_tables *t, uint32_t table_addr,
		   uint8_t a[SMBIOS_ANCHOR_LEN])
{
	memset(a, 0, SMBIOS_ANCHOR_LEN);
	memcpy(a, "_SM_", 4);
	a[5] = SMBIOS_ANCHOR_LEN;
	a[6] = 2;				/* version 2.8 */
	a[7] = 8;
	boot_put_le16(a + 8, (uint16_t)t->max_size);
	memcpy(a + 16, "_DMI_", 5);
	boot_put_le16(a + 22, (uint16_t)t->len);
	boot_put_le32(a + 24, table_addr);
	boot_put_le16(a + 28, (uint16_t)t->count);
	a[30] = 0x28;				/* BCD revision */
	a[21] = checksum(a + 16, 15);		/* the intermediate (DMI) part */
	a[4] = checksum(a, SMBIOS_ANCHOR_LEN);
}

int smbios_install(struct vm *vm)
{
	const uint64_t tables_at = SMBIOS_FSEG_ADDR + 32;
	struct smbios_tables t;
	int ret = smbios_build(vm, false, &t);
	if (ret < 0)
		return ret;
	uint8_t *p = guest_mem_ptr(&vm->mem, SMBIOS_FSEG_ADDR, SMBIOS_FSEG_END - SMBIOS_FSEG_ADDR);
	if (!p || t.len > SMBIOS_FSEG_END - tables_at) {
		log_error("SMBIOS tables (%zu bytes) do not fit in guest RAM at 0x%llx-0x%llx",
			  t.len, (unsigned long long)SMBIOS_FSEG_ADDR,
			  (unsigned long long)SMBIOS_FSEG_END - 1);
		smbios_tables_free(&t);
		return -ENOSPC;
	}
	smbios_anchor(&t, (uint32_t)tables_at, p);
	memcpy(p + (tables_at - SMBIOS_FSEG_ADDR), t.data, t.len);
	smbios_tables_free(&t);
	return 0;
}

int smbios_add_fw_cfg(struct vm *vm, struct fw_cfg *fw)
{
	struct smbios_tables t;
	uint8_t anchor[SMBIOS_ANCHOR_LEN];
	int ret = smbios_build(vm, true, &t);
	if (ret < 0)
		return ret;
	/* the firmware puts the tables somewhere and fills in the address */
	smbios_anchor(&t, 0, anchor);
	if ((ret = fw_cfg_add_file(fw, "etc/smbios/smbios-tables", t.data, t.len)) == 0)
		ret = fw_cfg_add_file(fw, "etc/smbios/smbios-anchor", anchor, sizeof(anchor));
	smbios_tables_free(&t);
	if (ret < 0)
		log_error("bios: cannot add the SMBIOS files: %s", strerror(-ret));
	return ret;
}
