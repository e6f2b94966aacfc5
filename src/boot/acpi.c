/* ACPI tables for the PC board: RSDP, RSDT/XSDT, FADT (full, not
 * hardware-reduced: the board has a PIC, PIT, RTC and i8042), FACS, MADT
 * and a DSDT written by a small AML emitter.  Field offsets follow the
 * ACPI 6.0 specification, chapter 5.2. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/loaders.h"
#include "core/log.h"
#include "core/vm.h"
#include "hw/fw_cfg.h"
#include "hw/pci.h"
#include "virtio/virtio_mmio.h"

#define ACPI_OEM_ID "MINVMM"
#define ACPI_OEM_TABLE_ID "MINIVMM "
#define ACPI_CREATOR_ID "MVMM"
#define ACPI_HEADER_SIZE 36

#define RSDP_SIZE 36
#define FACS_SIZE 64
#define FADT_SIZE 276		/* revision 6 */
#define FADT_REVISION 6
#define MADT_REVISION 3
#define DSDT_REVISION 2		/* 64-bit integers */

/* FADT flags */
#define FADT_WBINVD (1u << 0)
#define FADT_PROC_C1 (1u << 2)
#define FADT_PWR_BUTTON (1u << 4)	/* no fixed-feature power button */
#define FADT_SLP_BUTTON (1u << 5)	/* no fixed-feature sleep button */
#define FADT_RESET_REG_SUP (1u << 10)
/* IAPC_BOOT_ARCH */
#define FADT_LEGACY_DEVICES (1u << 0)
#define FADT_8042 (1u << 1)
#define FADT_VGA_NOT_PRESENT (1u << 2)

/* Generic Address Structure */
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1
#define GAS_ACCESS_WORD 2
#define GAS_ACCESS_DWORD 3

/* MADT */
#define MADT_PCAT_COMPAT 1
#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_ISO 2
#define MADT_LAPIC_NMI 4
#define MADT_ENABLED 1
#define MPS_ACTIVE_HIGH 0x1
#define MPS_LEVEL (0x3 << 2)

#define RTC_CENTURY_REG 0x32
#define PCI_SLOTS 32

uint8_t acpi_checksum(const uint8_t *p, uint64_t len)
{
	uint8_t sum = 0;
	for (uint64_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)-sum;
}

#define ACPI_MAX_PTRS 32

/* A field that holds the guest address of a table: where it is and how
 * wide, for the firmware's loader to patch (acpi_build_fw_cfg) */
struct acpi_ptr {
	uint32_t field;		/* offset of the field in the buffer */
	uint8_t size;		/* 4 or 8 */
};

/* Tables are built in one host buffer that mirrors the ACPI area (direct
 * boot), or that firmware places where it likes (gpa 0: the pointers hold
 * offsets into the buffer, which the firmware's loader turns into
 * addresses) */
struct acpi_builder {
	uint8_t *base;		/* host address of the buffer */
	uint64_t gpa;		/* guest address of the buffer's first byte */
	uint64_t size;
	uint64_t next;		/* offset of the next free byte */
	int overflow;
	struct acpi_ptr ptrs[ACPI_MAX_PTRS];
	unsigned nr_ptrs;
};

static uint64_t acpi_alloc(struct acpi_builder *b, uint64_t len, uint64_t align)
{
	uint64_t off = (b->next + align - 1) & ~(align - 1);
	if (off > b->size || len > b->size - off) {
		b->overflow = 1;
		return 0;
	}
	b->next = off + len;
	return off;
}

static uint8_t *acpi_at(struct acpi_builder *b, uint64_t off)
{
	return b->base + off;
}

/* Store the address of the table at offset target in the field at
 * (t + at), size bytes wide, and remember the field */
static void acpi_put_ptr(struct acpi_builder *b, uint8_t *t, unsigned at, unsigned size,
			 uint64_t target)
{
	uint64_t v = b->gpa + target;
	if (size == 8)
		boot_put_le64(t + at, v);
	else
		boot_put_le32(t + at, (uint32_t)v);
	if (b->nr_ptrs == ACPI_MAX_PTRS) {
		b->overflow = 1;
		return;
	}
	b->ptrs[b->nr_ptrs++] = (struct acpi_ptr){ (uint32_t)(t + at - b->base), (uint8_t)size };
}

static void acpi_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	boot_put_le32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, ACPI_OEM_ID, 6);
	memcpy(t + 16, ACPI_OEM_TABLE_ID, 8);
	boot_put_le32(t + 24, 1);	/* OEM revision */
	memcpy(t + 28, ACPI_CREATOR_ID, 4);
	boot_put_le32(t + 32, 1);	/* creator revision */
}

static void acpi_finish(uint8_t *t)
{
	t[9] = 0;
	t[9] = acpi_checksum(t, boot_le32(t + 4));
}

static void acpi_gas(uint8_t *p, uint8_t space, uint8_t bits, uint8_t access, uint64_t addr)
{
	p[0] = space;
	p[1] = bits;
	p[2] = 0;
	p[3] = access;
	boot_put_le64(p + 4, addr);
}

/* --- AML --- */

/* Enough for the DSDT below; the emitter flags an overflow, never writes
 * past the end */
#define AML_MAX 4096
#define AML_DEPTH 8

#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_SCOPE_OP 0x10
#define AML_PACKAGE_OP 0x12
#define AML_EXT_OP 0x5b
#define AML_DEVICE_OP 0x82	/* after AML_EXT_OP */
#define AML_ROOT_CHAR '\\'
#define AML_BUFFER_OP 0x11
#define AML_STRING_PREFIX 0x0d

/* Resource descriptors (ACPI 6.0, 6.4) */
#define RES_IO_PORT 0x47
#define RES_IRQ_NO_FLAGS 0x22	/* IRQNoFlags: a 16-bit mask, edge, active high */
#define RES_END_TAG 0x79
#define RES_MEMORY32_FIXED 0x86
#define RES_EXT_IRQ 0x89
#define RES_IRQ_CONSUMER 0x01
#define RES_IRQ_EDGE 0x02	/* active high and exclusive: bits 2 and 3 clear */
#define RES_DWORD_ADDRESS 0x87
#define RES_WORD_ADDRESS 0x88
#define RES_TYPE_MEMORY 0
#define RES_TYPE_IO 1
#define RES_TYPE_BUS 2
#define RES_PRODUCER_FIXED 0x0c	/* producer, positive decode, min and max fixed */
#define RES_IO_ENTIRE_RANGE 0x03
#define RES_MEM_RW 0x01
#define RES_MEM_CACHEABLE 0x02

/* The windows the PCI host bridge decodes, as pci_host.c places BARs:
 * bus 0-255, I/O ports but the configuration ports, the VGA window and
 * the hole between low RAM and the I/O APIC */
#define PCI_CRS_MEM_START ((uint32_t)PC_LOWMEM_LIMIT)
#define PCI_CRS_MEM_END (ACPI_IOAPIC_ADDR - 1)

struct aml {
	uint8_t buf[AML_MAX];
	unsigned len;
	unsigned open[AML_DEPTH];	/* where each open PkgLength goes */
	int depth;
	int overflow;
};

static void aml_byte(struct aml *a, uint8_t v)
{
	if (a->len < AML_MAX)
		a->buf[a->len++] = v;
	else
		a->overflow = 1;
}

static void aml_bytes(struct aml *a, const void *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		aml_byte(a, ((const uint8_t *)p)[i]);
}

/* A NameString: an optional root prefix and one 4-character segment
 * (shorter names are padded with '_', as ASL compilers do) */
static void aml_name(struct aml *a, const char *name)
{
	char seg[4] = { '_', '_', '_', '_' };
	if (*name == AML_ROOT_CHAR) {
		aml_byte(a, AML_ROOT_CHAR);
		name++;
	}
	for (int i = 0; i < 4 && name[i]; i++)
		seg[i] = name[i];
	aml_bytes(a, seg, 4);
}

static void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO_OP);
	} else if (v == 1) {
		aml_byte(a, AML_ONE_OP);
	} else if (v <= 0xff) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_byte(a, (uint8_t)v);
	} else {
		/* the DSDT needs nothing wider than a DWord */
		aml_byte(a, AML_DWORD_PREFIX);
		for (int i = 0; i < 4; i++)
			aml_byte(a, (uint8_t)(v >> (8 * i)));
	}
}

/* Start a PkgLength-prefixed body; aml_pkg_end fills the length in */
static void aml_pkg_begin(struct aml *a)
{
	if (a->depth == AML_DEPTH) {
		a->overflow = 1;
		return;
	}
	a->open[a->depth++] = a->len;
}

/* PkgLength counts its own bytes: 1 byte up to 63, else a lead byte with
 * the low nibble and 1 to 3 more bytes */
static void aml_pkg_end(struct aml *a)
{
	if (a->depth == 0 || a->overflow) {
		a->overflow = 1;
		return;
	}
	unsigned start = a->open[--a->depth];
	unsigned body = a->len - start, n;
	uint32_t total;
	if (body + 1 <= 0x3f)
		n = 1;
	else if (body + 2 <= 0xfff)
		n = 2;
	else if (body + 3 <= 0xfffff)
		n = 3;
	else
		n = 4;
	if (a->len + n > AML_MAX) {
		a->overflow = 1;
		return;
	}
	total = body + n;
	memmove(a->buf + start + n, a->buf + start, body);
	if (n == 1) {
		a->buf[start] = (uint8_t)total;
	} else {
		a->buf[start] = (uint8_t)((n - 1) << 6 | (total & 0xf));
		for (unsigned i = 1; i < n; i++)
			a->buf[start + i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	a->len += n;
}

static void aml_le(struct aml *a, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

static void aml_word_address(struct aml *a, uint8_t type, uint8_t type_flags, uint16_t min,
			     uint16_t max)
{
	aml_byte(a, RES_WORD_ADDRESS);
	aml_le(a, 13, 2);
	aml_byte(a, type);
	aml_byte(a, RES_PRODUCER_FIXED);
	aml_byte(a, type_flags);
	aml_le(a, 0, 2);		/* granularity */
	aml_le(a, min, 2);
	aml_le(a, max, 2);
	aml_le(a, 0, 2);		/* translation */
	aml_le(a, (uint32_t)max - min + 1, 2);
}

static void aml_dword_memory(struct aml *a, uint8_t type_flags, uint32_t min, uint32_t max)
{
	aml_byte(a, RES_DWORD_ADDRESS);
	aml_le(a, 23, 2);
	aml_byte(a, RES_TYPE_MEMORY);
	aml_byte(a, RES_PRODUCER_FIXED);
	aml_byte(a, type_flags);
	aml_le(a, 0, 4);
	aml_le(a, min, 4);
	aml_le(a, max, 4);
	aml_le(a, 0, 4);
	aml_le(a, (uint64_t)max - min + 1, 4);
}

/* Name(_CRS, ResourceTemplate() { ... }) of the PCI root bridge */
static void aml_pci_crs(struct aml *a)
{
	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_CRS");
	aml_byte(a, AML_BUFFER_OP);
	aml_pkg_begin(a);
	unsigned size_at = a->len;
	aml_byte(a, AML_WORD_PREFIX);	/* BufferSize, patched below */
	aml_le(a, 0, 2);
	unsigned start = a->len;
	aml_word_address(a, RES_TYPE_BUS, 0, 0, 0xff);
	/* the configuration ports are the bridge's own */
	aml_byte(a, RES_IO_PORT);
	aml_byte(a, 0x01);		/* 16-bit decode */
	aml_le(a, 0xcf8, 2);
	aml_le(a, 0xcf8, 2);
	aml_byte(a, 1);
	aml_byte(a, 8);
	aml_word_address(a, RES_TYPE_IO, RES_IO_ENTIRE_RANGE, 0x0000, 0x0cf7);
	aml_word_address(a, RES_TYPE_IO, RES_IO_ENTIRE_RANGE, 0x0d00, 0xffff);
	aml_dword_memory(a, RES_MEM_RW | RES_MEM_CACHEABLE, 0xa0000, 0xbffff);
	aml_dword_memory(a, RES_MEM_RW, PCI_CRS_MEM_START, PCI_CRS_MEM_END);
	aml_byte(a, RES_END_TAG);
	aml_byte(a, 0);			/* checksum 0: not checked */
	if (!a->overflow) {
		unsigned n = a->len - start;
		a->buf[size_at + 1] = (uint8_t)n;
		a->buf[size_at + 2] = (uint8_t)(n >> 8);
	}
	aml_pkg_end(a);
}

/* Name(_PRT, Package() { Package() { 0xSSSSFFFF, pin, Zero, GSI }, ... }):
 * INTA-INTD of every slot straight to the GSIs pci_host.c wires them to.
 * Linux then programs those I/O APIC pins level triggered, as PCI
 * interrupts are; without a _PRT it takes the Interrupt Line register and
 * the line as an edge-triggered ISA interrupt, and devices sharing a line
 * then lose interrupts (a line already high gives no new edge). */
static void aml_pci_prt(struct aml *a)
{
	static const unsigned gsis[4] = PCI_PC_INTX_GSIS;
	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_PRT");
	aml_byte(a, AML_PACKAGE_OP);
	aml_pkg_begin(a);
	aml_byte(a, (PCI_SLOTS - 1) * 4);	/* NumElements: slot 0 is the host bridge */
	for (unsigned slot = 1; slot < PCI_SLOTS; slot++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			aml_byte(a, AML_PACKAGE_OP);
			aml_pkg_begin(a);
			aml_byte(a, 4);
			aml_integer(a, (uint64_t)slot << 16 | 0xffff);
			aml_integer(a, pin);
			aml_integer(a, 0);	/* no link device: the GSI is fixed */
			aml_integer(a, pci_intx_gsi(gsis, slot, pin + 1));
			aml_pkg_end(a);
		}
	}
	aml_pkg_end(a);
}

/* EISA ID as ASL's EisaId() compresses it: three letters in 5 bits each,
 * then four hex digits, stored big-endian */
static uint32_t aml_eisa_id(const char *id)
{
	uint32_t v = (uint32_t)((id[0] - '@') << 26 | (id[1] - '@') << 21 | (id[2] - '@') << 16);
	for (int i = 3; i < 7; i++) {
		char c = id[i];
		uint32_t d = (uint32_t)(c <= '9' ? c - '0' : c - 'A' + 10);
		v |= d << (4 * (6 - i));
	}
	return __builtin_bswap32(v);
}

/* A NUL-terminated string constant */
static void aml_string(struct aml *a, const char *str)
{
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, str, (unsigned)strlen(str) + 1);
}

/* Device(VRnn) { _HID "LNRO0005", _UID n, _CCA 1, _CRS { Memory32Fixed
 * (the transport's registers), Interrupt (its GSI: edge, active high,
 * exclusive) } }: how Linux's virtio_mmio driver finds a transport on a
 * machine described by ACPI, as on QEMU's microvm */
static void aml_virtio_mmio(struct aml *a, unsigned n, uint64_t base, unsigned gsi)
{
	char name[5];
	snprintf(name, sizeof(name), "VR%02u", n % 100);
	aml_byte(a, AML_EXT_OP);
	aml_byte(a, AML_DEVICE_OP);
	aml_pkg_begin(a);
	aml_name(a, name);
	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_HID");
	aml_string(a, "LNRO0005");
	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_UID");
	aml_integer(a, n);
	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_CCA");	/* DMA is cache-coherent */
	aml_integer(a, 1);
	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_CRS");
	aml_byte(a, AML_BUFFER_OP);
	aml_pkg_begin(a);
	const unsigned len = 12 + 9 + 2;	/* the two descriptors and the end tag */
	aml_integer(a, len);
	aml_byte(a, RES_MEMORY32_FIXED);
	aml_le(a, 9, 2);
	aml_byte(a, RES_MEM_RW);
	aml_le(a, base, 4);
	aml_le(a, VIRTIO_MMIO_SLOT_SIZE, 4);
	aml_byte(a, RES_EXT_IRQ);
	aml_le(a, 6, 2);
	aml_byte(a, RES_IRQ_CONSUMER | RES_IRQ_EDGE);
	aml_byte(a, 1);		/* one interrupt */
	aml_le(a, gsi, 4);
	aml_byte(a, RES_END_TAG);
	aml_byte(a, 0);
	aml_pkg_end(a);
	aml_pkg_end(a);
}

/* Device(name) { _HID EisaId(hid), _CRS { IO(Decode16, port, port, 1,
 * len) for each port, IRQNoFlags(irq) unless irq < 0 } }: a fixed ISA
 * device, as the PNP layers of SeaBIOS and Linux look for them */
static void aml_isa_device(struct aml *a, const char *name, const char *hid,
			   const uint16_t *ports, const uint8_t *lens, unsigned nports, int irq)
{
	aml_byte(a, AML_EXT_OP);
	aml_byte(a, AML_DEVICE_OP);
	aml_pkg_begin(a);
	aml_name(a, name);
	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_HID");
	aml_integer(a, aml_eisa_id(hid));
	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_CRS");
	aml_byte(a, AML_BUFFER_OP);
	aml_pkg_begin(a);
	aml_integer(a, nports * 8 + (irq >= 0 ? 3 : 0) + 2);
	for (unsigned i = 0; i < nports; i++) {
		aml_byte(a, RES_IO_PORT);
		aml_byte(a, 0x01);	/* 16-bit decode */
		aml_le(a, ports[i], 2);
		aml_le(a, ports[i], 2);
		aml_byte(a, 1);
		aml_byte(a, lens[i]);
	}
	if (irq >= 0) {
		aml_byte(a, RES_IRQ_NO_FLAGS);
		aml_le(a, 1u << irq, 2);
	}
	aml_byte(a, RES_END_TAG);
	aml_byte(a, 0);
	aml_pkg_end(a);
	aml_pkg_end(a);
}

/* Device(ISA) at 00:01.0, the PIIX3 function, with the fixed devices of
 * the pc board on it, as QEMU's DSDT has them: the i8042's keyboard and
 * mouse, COM1 and the RTC.  Without them SeaBIOS reports no PS/2
 * keyboard and Linux finds no PS/2 controller through PNP. */
static void aml_isa_bridge(struct aml *a)
{
	aml_byte(a, AML_EXT_OP);
	aml_byte(a, AML_DEVICE_OP);
	aml_pkg_begin(a);
	aml_name(a, "ISA_");
	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_ADR");
	aml_integer(a, 0x00010000);
	static const uint16_t kbd_ports[] = { 0x60, 0x64 }, com1_port[] = { 0x3f8 },
			      rtc_port[] = { 0x70 };
	static const uint8_t kbd_lens[] = { 1, 1 }, com1_len[] = { 8 }, rtc_len[] = { 8 };
	aml_isa_device(a, "KBD_", "PNP0303", kbd_ports, kbd_lens, 2, 1);
	aml_isa_device(a, "MOU_", "PNP0F13", NULL, NULL, 0, 12);
	aml_isa_device(a, "COM1", "PNP0501", com1_port, com1_len, 1, 4);
	aml_isa_device(a, "RTC_", "PNP0B00", rtc_port, rtc_len, 1, 8);
	aml_pkg_end(a);
}

/* Name(\_S5, Package() { SLP_TYPa, SLP_TYPb, 0, 0 }): what OSPM writes to
 * PM1a_CNT to turn the machine off.  Then the system bus with the PCI
 * host bridge and the windows it decodes, so that Linux finds bus 0
 * through ACPI and has room for the BARs, how its slots' interrupt pins
 * reach the GSIs, and the ISA devices behind the PIIX3; on microvm, the virtio-mmio transports instead. */
static void acpi_build_dsdt_body(struct aml *a, const struct vm *vm)
{
	aml_byte(a, AML_NAME_OP);
	aml_name(a, "\\_S5");
	aml_byte(a, AML_PACKAGE_OP);
	aml_pkg_begin(a);
	aml_byte(a, 4);		/* NumElements */
	aml_integer(a, ACPI_SLP_TYP_S5);
	aml_integer(a, ACPI_SLP_TYP_S5);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_pkg_end(a);

	aml_byte(a, AML_SCOPE_OP);
	aml_pkg_begin(a);
	aml_name(a, "\\_SB");
	if (vm->cfg.machine == MACHINE_MICROVM) {
		for (unsigned i = 0; i < vm->virtio_mmio.nr; i++)
			aml_virtio_mmio(a, i, vm->virtio_mmio.base + (uint64_t)i * VIRTIO_MMIO_SLOT_SIZE,
					vm->virtio_mmio.gsi_base + i);
		aml_pkg_end(a);
		return;
	}
	aml_byte(a, AML_EXT_OP);
	aml_byte(a, AML_DEVICE_OP);
	aml_pkg_begin(a);
	aml_name(a, "PCI0");
	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_HID");
	aml_integer(a, aml_eisa_id("PNP0A03"));
	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_ADR");
	aml_integer(a, 0);
	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_BBN");
	aml_integer(a, 0);
	aml_pci_crs(a);
	aml_pci_prt(a);
	aml_isa_bridge(a);
	aml_pkg_end(a);
	aml_pkg_end(a);
}

static uint64_t acpi_build_dsdt(struct acpi_builder *b, const struct vm *vm)
{
	struct aml a = { .len = 0 };
	acpi_build_dsdt_body(&a, vm);
	if (a.overflow || a.depth) {
		b->overflow = 1;
		return 0;
	}
	uint64_t off = acpi_alloc(b, ACPI_HEADER_SIZE + a.len, 16);
	if (b->overflow)
		return 0;
	uint8_t *t = acpi_at(b, off);
	acpi_header(t, "DSDT", ACPI_HEADER_SIZE + a.len, DSDT_REVISION);
	memcpy(t + ACPI_HEADER_SIZE, a.buf, a.len);
	acpi_finish(t);
	return off;
}

static uint64_t acpi_build_facs(struct acpi_builder *b)
{
	uint64_t off = acpi_alloc(b, FACS_SIZE, 64);	/* 64-byte aligned, no checksum */
	if (b->overflow)
		return 0;
	uint8_t *t = acpi_at(b, off);
	memcpy(t, "FACS", 4);
	boot_put_le32(t + 4, FACS_SIZE);
	t[32] = 2;		/* version */
	return off;
}

static uint64_t acpi_build_fadt(struct acpi_builder *b, const struct vm *vm, uint64_t facs,
				uint64_t dsdt)
{
	bool pc = vm->cfg.machine == MACHINE_PC;
	uint64_t off = acpi_alloc(b, FADT_SIZE, 16);
	if (b->overflow)
		return 0;
	uint8_t *t = acpi_at(b, off);
	acpi_header(t, "FACP", FADT_SIZE, FADT_REVISION);
	/* the 32-bit FACS pointer only: the spec wants one of the two */
	acpi_put_ptr(b, t, 36, 4, facs);
	acpi_put_ptr(b, t, 40, 4, dsdt);
	boot_put_le16(t + 46, ACPI_SCI_IRQ);
	/* SMI_CMD 0, ACPI_ENABLE 0: the machine is always in ACPI mode */
	boot_put_le32(t + 56, ACPI_PM1A_EVT_BLK);
	boot_put_le32(t + 64, ACPI_PM1A_CNT_BLK);
	boot_put_le32(t + 76, ACPI_PM_TMR_BLK);
	t[88] = ACPI_PM1_EVT_LEN;
	t[89] = ACPI_PM1_CNT_LEN;
	t[91] = ACPI_PM_TMR_LEN;
	/* C2 and C3 not supported */
	boot_put_le16(t + 96, 101);
	boot_put_le16(t + 98, 1001);
	t[108] = RTC_CENTURY_REG;
	/* microvm has no i8042, and resets through port 0x92 (0xCF9 is the
	 * PCI host bridge's) */
	boot_put_le16(t + 109, pc ? FADT_LEGACY_DEVICES | FADT_8042 | FADT_VGA_NOT_PRESENT :
				    FADT_VGA_NOT_PRESENT);
	boot_put_le32(t + 112, FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON | FADT_SLP_BUTTON |
			       FADT_RESET_REG_SUP);
	acpi_gas(t + 116, GAS_SYSTEM_IO, 8, GAS_ACCESS_BYTE,
		 pc ? ACPI_RESET_PORT : ACPI_MICROVM_RESET_PORT);
	t[128] = pc ? ACPI_RESET_VALUE : ACPI_MICROVM_RESET_VALUE;
	t[131] = 0;		/* FADT minor version: ACPI 6.0 */
	acpi_put_ptr(b, t, 140, 8, dsdt);
	acpi_gas(t + 148, GAS_SYSTEM_IO, ACPI_PM1_EVT_LEN * 8, GAS_ACCESS_WORD, ACPI_PM1A_EVT_BLK);
	acpi_gas(t + 172, GAS_SYSTEM_IO, ACPI_PM1_CNT_LEN * 8, GAS_ACCESS_WORD, ACPI_PM1A_CNT_BLK);
	acpi_gas(t + 208, GAS_SYSTEM_IO, ACPI_PM_TMR_LEN * 8, GAS_ACCESS_DWORD, ACPI_PM_TMR_BLK);
	acpi_finish(t);
	return off;
}

static uint64_t acpi_build_madt(struct acpi_builder *b, const struct vm *vm, unsigned ncpus)
{
	/* the SCI is level, active high; IRQ0 is wired to I/O APIC pin 2
	 * (the last entry: left out when microvm has no PIT) */
	static const struct {
		uint8_t irq;
		uint32_t gsi;
		uint16_t flags;
	} overrides[] = {
		{ ACPI_SCI_IRQ, ACPI_SCI_IRQ, MPS_ACTIVE_HIGH | MPS_LEVEL },
		{ 0, 2, 0 },
	};
	/* KVM's in-kernel irqchip always has its PIC and PIT */
	const struct microvm_config *micro = &vm->cfg.microvm;
	bool legacy = vm->cfg.machine != MACHINE_MICROVM || (vm->accel && vm->accel->kernel_irqchip);
	uint32_t nr_overrides = legacy || micro->pit ? 2 : 1;
	uint32_t len = 44 + 8 * ncpus + 12 + 10 * nr_overrides + 6;
	uint64_t off = acpi_alloc(b, len, 16);
	if (b->overflow)
		return 0;
	uint8_t *t = acpi_at(b, off), *e = t + 44;
	acpi_header(t, "APIC", len, MADT_REVISION);
	boot_put_le32(t + 36, ACPI_LAPIC_ADDR);
	/* PCAT_COMPAT: there are 8259s to mask */
	boot_put_le32(t + 40, legacy || micro->pic ? MADT_PCAT_COMPAT : 0);
	for (unsigned i = 0; i < ncpus; i++, e += 8) {
		e[0] = MADT_LAPIC;
		e[1] = 8;
		e[2] = (uint8_t)i;	/* ACPI processor UID */
		e[3] = (uint8_t)i;	/* APIC ID: vCPU i has APIC ID i */
		boot_put_le32(e + 4, MADT_ENABLED);
	}
	e[0] = MADT_IOAPIC;
	e[1] = 12;
	e[2] = ACPI_IOAPIC_ID;
	boot_put_le32(e + 4, ACPI_IOAPIC_ADDR);
	boot_put_le32(e + 8, 0);	/* GSI base */
	e += 12;
	for (size_t i = 0; i < nr_overrides; i++, e += 10) {
		e[0] = MADT_ISO;
		e[1] = 10;
		e[2] = 0;	/* ISA */
		e[3] = overrides[i].irq;
		boot_put_le32(e + 4, overrides[i].gsi);
		boot_put_le16(e + 8, overrides[i].flags);
	}
	/* LINT1 of every CPU is the NMI input, as on a PC */
	e[0] = MADT_LAPIC_NMI;
	e[1] = 6;
	e[2] = 0xff;
	boot_put_le16(e + 3, 0);
	e[5] = 1;
	acpi_finish(t);
	return off;
}

static uint64_t acpi_build_rsdt(struct acpi_builder *b, const uint64_t *tables, int n, bool x)
{
	unsigned width = x ? 8 : 4;
	uint32_t len = ACPI_HEADER_SIZE + width * (uint32_t)n;
	uint64_t off = acpi_alloc(b, len, 16);
	if (b->overflow)
		return 0;
	uint8_t *t = acpi_at(b, off);
	acpi_header(t, x ? "XSDT" : "RSDT", len, 1);
	for (int i = 0; i < n; i++) {
		acpi_put_ptr(b, t, ACPI_HEADER_SIZE + width * (unsigned)i, width, tables[i]);
	}
	acpi_finish(t);
	return off;
}

bool acpi_enabled(const struct vm *vm)
{
	return vm->cfg.machine != MACHINE_MICROVM || vm->cfg.microvm.acpi;
}

/* Offsets of what acpi_build put in the buffer */
struct acpi_layout {
	uint64_t rsdp, facs, dsdt, fadt, madt, rsdt, xsdt;
};

/* Every table into b; 0, or -1 after printing an error */
static int acpi_build(struct acpi_builder *b, const struct vm *vm, unsigned ncpus,
		      struct acpi_layout *l)
{
	if (ncpus > 255) {
		log_error("ACPI: %u CPUs do not fit 8-bit APIC IDs", ncpus);
		return -1;
	}
	memset(b->base, 0, b->size);
	l->rsdp = acpi_alloc(b, RSDP_SIZE, 16);
	l->facs = acpi_build_facs(b);
	l->dsdt = acpi_build_dsdt(b, vm);
	uint64_t tables[2];
	tables[0] = l->fadt = acpi_build_fadt(b, vm, l->facs, l->dsdt);
	tables[1] = l->madt = acpi_build_madt(b, vm, ncpus);
	l->rsdt = acpi_build_rsdt(b, tables, 2, false);
	l->xsdt = acpi_build_rsdt(b, tables, 2, true);
	if (b->overflow) {
		log_error("ACPI tables do not fit in 0x%llx bytes", (unsigned long long)b->size);
		return -1;
	}
	uint8_t *p = acpi_at(b, l->rsdp);
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, ACPI_OEM_ID, 6);
	p[15] = 2;		/* revision: ACPI 2.0+, with the XSDT */
	acpi_put_ptr(b, p, 16, 4, l->rsdt);
	boot_put_le32(p + 20, RSDP_SIZE);
	acpi_put_ptr(b, p, 24, 8, l->xsdt);
	p[8] = acpi_checksum(p, 20);
	p[32] = acpi_checksum(p, RSDP_SIZE);
	return b->overflow ? -1 : 0;
}

uint64_t acpi_build_tables(struct vm *vm)
{
	struct acpi_builder b = { .size = ACPI_AREA_END - ACPI_AREA_ADDR, .gpa = ACPI_AREA_ADDR };
	unsigned ncpus = vm->nr_vcpus ? vm->nr_vcpus : 1;
	struct acpi_layout l;

	b.base = guest_mem_ptr(&vm->mem, ACPI_AREA_ADDR, b.size);
	if (!b.base) {
		log_error("guest RAM is too small for the ACPI tables at 0x%llx-0x%llx",
			  (unsigned long long)ACPI_AREA_ADDR, (unsigned long long)(ACPI_AREA_END - 1));
		return 0;
	}
	if (acpi_build(&b, vm, ncpus, &l) < 0)
		return 0;
	return ACPI_AREA_ADDR + l.rsdp;
}

/* ---- the same tables for firmware: QEMU's linker/loader interface ----
 * "etc/acpi/tables" holds every table but the RSDP, "etc/acpi/rsdp" the
 * RSDP; "etc/table-loader" is a list of 128-byte commands the firmware
 * runs: allocate each file (the RSDP in the F segment, where an OS looks
 * for it), add each file's final address to the pointer fields (which
 * hold offsets into the file they point to), then fix the checksums. */
#define LOADER_ENTRY_SIZE 128
#define LOADER_ALLOCATE 1
#define LOADER_ADD_POINTER 2
#define LOADER_ADD_CHECKSUM 3
#define LOADER_ZONE_HIGH 1
#define LOADER_ZONE_FSEG 2
#define LOADER_FILE_LEN 56
#define LOADER_TABLES_FILE "etc/acpi/tables"
#define LOADER_RSDP_FILE "etc/acpi/rsdp"
#define LOADER_MAX_ENTRIES (2 + ACPI_MAX_PTRS + 8)
#define ACPI_FW_CFG_SIZE 0x10000

struct loader {
	uint8_t buf[LOADER_MAX_ENTRIES * LOADER_ENTRY_SIZE];
	unsigned n;
};

static uint8_t *loader_entry(struct loader *ld, uint32_t command)
{
	uint8_t *e = ld->buf + ld->n++ * LOADER_ENTRY_SIZE;
	boot_put_le32(e, command);
	return e;
}

static void loader_allocate(struct loader *ld, const char *file, uint32_t align, uint8_t zone)
{
	uint8_t *e = loader_entry(ld, LOADER_ALLOCATE);
	strcpy((char *)e + 4, file);
	boot_put_le32(e + 4 + LOADER_FILE_LEN, align);
	e[8 + LOADER_FILE_LEN] = zone;
}

static void loader_add_pointer(struct loader *ld, const char *dest, const char *src,
			       uint32_t offset, uint8_t size)
{
	uint8_t *e = loader_entry(ld, LOADER_ADD_POINTER);
	strcpy((char *)e + 4, dest);
	strcpy((char *)e + 4 + LOADER_FILE_LEN, src);
	boot_put_le32(e + 4 + 2 * LOADER_FILE_LEN, offset);
	e[8 + 2 * LOADER_FILE_LEN] = size;
}

static void loader_add_checksum(struct loader *ld, const char *file, uint32_t start,
				uint32_t len)
{
	uint8_t *e = loader_entry(ld, LOADER_ADD_CHECKSUM);
	strcpy((char *)e + 4, file);
	boot_put_le32(e + 4 + LOADER_FILE_LEN, start + 9);	/* the header's checksum byte */
	boot_put_le32(e + 8 + LOADER_FILE_LEN, start);
	boot_put_le32(e + 12 + LOADER_FILE_LEN, len);
}

int acpi_build_fw_cfg(struct vm *vm, struct fw_cfg *fw)
{
	static uint8_t zero_rsdp[RSDP_SIZE];
	struct acpi_builder b = { .size = ACPI_FW_CFG_SIZE, .gpa = 0 };
	unsigned ncpus = vm->nr_vcpus ? vm->nr_vcpus : 1;
	struct acpi_layout l;
	struct loader *ld = calloc(1, sizeof(*ld));
	int ret = -ENOMEM;

	b.base = calloc(1, b.size);
	if (!b.base || !ld)
		goto out;
	ret = -EINVAL;
	if (acpi_build(&b, vm, ncpus, &l) < 0)
		goto out;
	uint8_t rsdp[RSDP_SIZE];
	memcpy(rsdp, b.base + l.rsdp, RSDP_SIZE);
	/* only the copy in the F segment may be found */
	memcpy(b.base + l.rsdp, zero_rsdp, RSDP_SIZE);

	/* the FACS must be 64-byte aligned, and is at such an offset */
	loader_allocate(ld, LOADER_TABLES_FILE, 64, LOADER_ZONE_HIGH);
	loader_allocate(ld, LOADER_RSDP_FILE, 16, LOADER_ZONE_FSEG);
	for (unsigned i = 0; i < b.nr_ptrs; i++) {
		const struct acpi_ptr *p = &b.ptrs[i];
		bool in_rsdp = p->field >= l.rsdp && p->field < l.rsdp + RSDP_SIZE;
		loader_add_pointer(ld, in_rsdp ? LOADER_RSDP_FILE : LOADER_TABLES_FILE,
				   LOADER_TABLES_FILE,
				   (uint32_t)(in_rsdp ? p->field - l.rsdp : p->field), p->size);
	}
	const uint64_t checked[] = { l.dsdt, l.fadt, l.madt, l.rsdt, l.xsdt };
	for (size_t i = 0; i < sizeof(checked) / sizeof(checked[0]); i++)
		loader_add_checksum(ld, LOADER_TABLES_FILE, (uint32_t)checked[i],
				    boot_le32(b.base + checked[i] + 4));
	/* the RSDP's two checksums: the ACPI 1.0 part (byte 8) and the whole */
	uint8_t *e = loader_entry(ld, LOADER_ADD_CHECKSUM);
	strcpy((char *)e + 4, LOADER_RSDP_FILE);
	boot_put_le32(e + 4 + LOADER_FILE_LEN, 8);
	boot_put_le32(e + 8 + LOADER_FILE_LEN, 0);
	boot_put_le32(e + 12 + LOADER_FILE_LEN, 20);
	e = loader_entry(ld, LOADER_ADD_CHECKSUM);
	strcpy((char *)e + 4, LOADER_RSDP_FILE);
	boot_put_le32(e + 4 + LOADER_FILE_LEN, 32);
	boot_put_le32(e + 8 + LOADER_FILE_LEN, 0);
	boot_put_le32(e + 12 + LOADER_FILE_LEN, RSDP_SIZE);

	if ((ret = fw_cfg_add_file(fw, LOADER_TABLES_FILE, b.base, b.next)) < 0 ||
	    (ret = fw_cfg_add_file(fw, LOADER_RSDP_FILE, rsdp, RSDP_SIZE)) < 0 ||
	    (ret = fw_cfg_add_file(fw, "etc/table-loader", ld->buf,
				   (size_t)ld->n * LOADER_ENTRY_SIZE)) < 0)
		log_error("ACPI: cannot add the tables to fw_cfg: %s", strerror(-ret));
out:
	free(b.base);
	free(ld);
	return ret;
}
