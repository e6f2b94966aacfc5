/* What the boot loader tests share: a hand-built struct vm with real guest
 * RAM and an engine that only records the registers it is given, temporary
 * image files, and builders for ELF images. */
#ifndef MINIVMM_BOOT_TEST_H
#define MINIVMM_BOOT_TEST_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/layout.h"
#include "boot/loaders.h"
#include "core/vm.h"
#include "test.h"

struct fake_cpu {
	struct x86_regs regs;
	struct x86_sregs sregs;
	int set_regs_calls, set_sregs_calls;
};

static inline int fake_get_regs(struct vcpu *vcpu, struct x86_regs *regs)
{
	*regs = ((struct fake_cpu *)vcpu->engine)->regs;
	return 0;
}

static inline int fake_set_regs(struct vcpu *vcpu, const struct x86_regs *regs)
{
	struct fake_cpu *c = vcpu->engine;
	c->regs = *regs;
	c->set_regs_calls++;
	return 0;
}

static inline int fake_get_sregs(struct vcpu *vcpu, struct x86_sregs *sregs)
{
	*sregs = ((struct fake_cpu *)vcpu->engine)->sregs;
	return 0;
}

static inline int fake_set_sregs(struct vcpu *vcpu, const struct x86_sregs *sregs)
{
	struct fake_cpu *c = vcpu->engine;
	c->sregs = *sregs;
	c->set_sregs_calls++;
	return 0;
}

static const struct accel_ops fake_accel = {
	.name = "fake",
	.get_regs = fake_get_regs,
	.set_regs = fake_set_regs,
	.get_sregs = fake_get_sregs,
	.set_sregs = fake_set_sregs,
};

struct boot_test {
	struct vm vm;
	struct fake_cpu cpu;
	struct boot_entry entry;
	char files[16][64];
	int nr_files;
	const char *kernel_file;	/* rewritten by each boot_test_load */
};

#define FAKE_APIC_BASE 0xfee00900ull

/* A machine with ram bytes of RAM filled with 0xCC, so that zeroed bss
 * and untouched bytes can be told apart */
static inline int boot_test_init(struct boot_test *t, uint64_t ram)
{
	memset(t, 0, sizeof(*t));
	int ret = guest_mem_init_pc(&t->vm.mem, ram);
	if (ret < 0)
		return ret;
	uint64_t low = guest_mem_lowmem_end(&t->vm.mem);
	memset(t->vm.mem.base, 0xcc, low < (64ull << 20) ? low : (64ull << 20));
	t->vm.cfg.ram_size = ram;
	t->vm.cfg.smp = 1;
	t->vm.accel = &fake_accel;
	t->vm.nr_vcpus = 1;
	t->vm.vcpus[0].vm = &t->vm;
	t->vm.vcpus[0].engine = &t->cpu;
	t->cpu.sregs.apic_base = FAKE_APIC_BASE;
	t->cpu.sregs.cr0 = 0x60000010;
	return 0;
}

static inline void boot_test_destroy(struct boot_test *t)
{
	for (int i = 0; i < t->nr_files; i++)
		unlink(t->files[i]);
	guest_mem_destroy(&t->vm.mem);
}

/* Write bytes to a new temporary file; returns its path */
static inline const char *boot_test_file(struct boot_test *t, const void *data, size_t len)
{
	if (t->nr_files == 16)
		return NULL;
	char *path = t->files[t->nr_files++];
	snprintf(path, 64, "/tmp/minivmm-boot-test-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	if (len && write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return NULL;
	}
	close(fd);
	return path;
}

/* Load data as -kernel: 0 or -errno */
static inline int boot_test_load(struct boot_test *t, const void *data, size_t len)
{
	if (!t->kernel_file) {
		t->kernel_file = boot_test_file(t, data, len);
	} else {
		FILE *f = fopen(t->kernel_file, "w");
		if (!f || (len && fwrite(data, 1, len, f) != len)) {
			if (f)
				fclose(f);
			return -EIO;
		}
		fclose(f);
	}
	t->vm.cfg.kernel = t->kernel_file;
	return boot_load(&t->vm, &t->entry);
}

static inline uint8_t *gpa_ptr(struct boot_test *t, uint64_t gpa, uint64_t len)
{
	return guest_mem_ptr(&t->vm.mem, gpa, len);
}

static inline uint32_t gpa_le32(struct boot_test *t, uint64_t gpa)
{
	uint8_t *p = gpa_ptr(t, gpa, 4);
	return p ? boot_le32(p) : 0xdeadbeef;
}

static inline uint64_t gpa_le64(struct boot_test *t, uint64_t gpa)
{
	uint8_t *p = gpa_ptr(t, gpa, 8);
	return p ? boot_le64(p) : 0xdeadbeefdeadbeefull;
}

static inline const char *gpa_str(struct boot_test *t, uint64_t gpa)
{
	return (const char *)gpa_ptr(t, gpa, 1);
}

/* An ELF image under construction: header, program headers, then data */
struct elf_seg {
	uint32_t type;
	uint64_t vaddr, paddr, memsz;
	const void *data;
	uint64_t filesz;
	uint64_t align;
};

#define ELF_DATA_OFFSET 0x1000

/* Build an ELF file; returns its size, the image in buf (of cap bytes) */
static inline size_t elf_build(uint8_t *buf, size_t cap, bool is64, uint64_t entry,
			       const struct elf_seg *segs, int nsegs)
{
	memset(buf, 0, cap);
	memcpy(buf, "\177ELF", 4);
	buf[4] = is64 ? 2 : 1;
	buf[5] = 1;
	buf[6] = 1;
	boot_put_le16(buf + 16, 2);			/* ET_EXEC */
	boot_put_le16(buf + 18, is64 ? 62 : 3);
	boot_put_le32(buf + 20, 1);
	size_t phentsize = is64 ? 56 : 32, phoff = is64 ? 64 : 52;
	if (is64) {
		boot_put_le64(buf + 24, entry);
		boot_put_le64(buf + 32, phoff);
		boot_put_le16(buf + 52, 64);
		boot_put_le16(buf + 54, (uint16_t)phentsize);
		boot_put_le16(buf + 56, (uint16_t)nsegs);
	} else {
		boot_put_le32(buf + 24, (uint32_t)entry);
		boot_put_le32(buf + 28, (uint32_t)phoff);
		boot_put_le16(buf + 40, 52);
		boot_put_le16(buf + 42, (uint16_t)phentsize);
		boot_put_le16(buf + 44, (uint16_t)nsegs);
	}
	size_t off = ELF_DATA_OFFSET, end = phoff + nsegs * phentsize;
	for (int i = 0; i < nsegs; i++) {
		uint8_t *p = buf + phoff + i * phentsize;
		const struct elf_seg *s = &segs[i];
		if (s->data && off + s->filesz <= cap)
			memcpy(buf + off, s->data, s->filesz);
		if (is64) {
			boot_put_le32(p, s->type);
			boot_put_le64(p + 8, off);
			boot_put_le64(p + 16, s->vaddr);
			boot_put_le64(p + 24, s->paddr);
			boot_put_le64(p + 32, s->filesz);
			boot_put_le64(p + 40, s->memsz);
			boot_put_le64(p + 48, s->align);
		} else {
			boot_put_le32(p, s->type);
			boot_put_le32(p + 4, (uint32_t)off);
			boot_put_le32(p + 8, (uint32_t)s->vaddr);
			boot_put_le32(p + 12, (uint32_t)s->paddr);
			boot_put_le32(p + 16, (uint32_t)s->filesz);
			boot_put_le32(p + 20, (uint32_t)s->memsz);
			boot_put_le32(p + 28, (uint32_t)s->align);
		}
		off += (s->filesz + 15) & ~15ull;
		if (off > end)
			end = off;
	}
	return end;
}

/* A Xen PVH entry note: name "Xen", type 18, a desc_size-byte address */
static inline size_t pvh_note_build(uint8_t *note, uint64_t entry, int desc_size)
{
	boot_put_le32(note, 4);
	boot_put_le32(note + 4, (uint32_t)desc_size);
	boot_put_le32(note + 8, 18);
	memcpy(note + 12, "Xen", 4);
	if (desc_size == 8)
		boot_put_le64(note + 16, entry);
	else
		boot_put_le32(note + 16, (uint32_t)entry);
	return 16 + (size_t)((desc_size + 3) & ~3);
}

#endif
