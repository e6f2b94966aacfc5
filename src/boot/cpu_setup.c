/* The boot CPU's state at a kernel's entry: a GDT and TSS in guest RAM,
 * identity page tables for long mode, and segment caches, control
 * registers and EFER that match them exactly, so that KVM and the
 * software CPU start from the same state a real boot loader would leave. */
#include <errno.h>
#include <string.h>

#include "boot/loaders.h"
#include "core/log.h"
#include "core/vm.h"

#define PTE_PRESENT (1ull << 0)
#define PTE_WRITE (1ull << 1)
#define PTE_LARGE (1ull << 7)	/* a 2 MiB page in a page directory */
#define PAGE_SIZE 0x1000ull

#define MSR_MTRR_DEF_TYPE 0x2ff
#define MTRR_ENABLE (1ull << 11)
#define MTRR_TYPE_WB 6

/* Access byte and flags nibble of a GDT descriptor */
#define DESC_CODE 0x9b		/* present, ring 0, execute/read, accessed */
#define DESC_DATA 0x93		/* present, ring 0, read/write, accessed */
#define DESC_TSS_AVAIL 0x89	/* present, 32/64-bit TSS, not busy */
#define DESC_FLAGS_G (1u << 3)
#define DESC_FLAGS_DB (1u << 2)
#define DESC_FLAGS_L (1u << 1)

#define SEG_TYPE_DATA 0x3	/* read/write, accessed */
#define SEG_TYPE_CODE 0xb	/* execute/read, accessed */
#define SEG_TYPE_LDT 0x2
#define SEG_TYPE_TSS16_BUSY 0x3
#define SEG_TYPE_TSS_BUSY 0xb

unsigned boot_pd_count(const struct guest_mem *gm)
{
	uint64_t top = 0;
	for (int i = 0; i < gm->nr_regions; i++)
		if (gm->regions[i].gpa + gm->regions[i].size > top)
			top = gm->regions[i].gpa + gm->regions[i].size;
	uint64_t n = (top + (1ull << 30) - 1) >> 30;
	if (n < BOOT_PD_MIN)
		n = BOOT_PD_MIN;
	if (n > BOOT_PD_MAX)
		n = BOOT_PD_MAX;
	return (unsigned)n;
}

uint64_t boot_pagetables_end(const struct guest_mem *gm)
{
	return BOOT_PD_ADDR + (uint64_t)boot_pd_count(gm) * PAGE_SIZE;
}

static uint64_t gdt_descriptor(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (uint64_t)(limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)access << 40 | (uint64_t)((limit >> 16) & 0xf) << 48 |
	       (uint64_t)(flags & 0xf) << 52 | (uint64_t)(base >> 24) << 56;
}

static int write_gdt(struct vm *vm)
{
	uint8_t *gdt = guest_mem_ptr(&vm->mem, BOOT_GDT_ADDR, BOOT_GDT_AREA_END - BOOT_GDT_ADDR);
	if (!gdt) {
		log_error("guest RAM is too small for the boot GDT at 0x%llx",
			  (unsigned long long)BOOT_GDT_ADDR);
		return -ENOMEM;
	}
	memset(gdt, 0, BOOT_GDT_AREA_END - BOOT_GDT_ADDR);
	boot_put_le64(gdt + BOOT_SEL_CODE64,
		      gdt_descriptor(0, 0xfffff, DESC_CODE, DESC_FLAGS_G | DESC_FLAGS_L));
	boot_put_le64(gdt + BOOT_SEL_CODE32,
		      gdt_descriptor(0, 0xfffff, DESC_CODE, DESC_FLAGS_G | DESC_FLAGS_DB));
	boot_put_le64(gdt + BOOT_SEL_DATA,
		      gdt_descriptor(0, 0xfffff, DESC_DATA, DESC_FLAGS_G | DESC_FLAGS_DB));
	/* a 16-byte system descriptor; the upper half (base 63:32) stays 0.
	 * Marked available so the guest may LTR it again. */
	boot_put_le64(gdt + BOOT_SEL_TSS, gdt_descriptor((uint32_t)BOOT_TSS_ADDR,
							 (uint32_t)BOOT_TSS_SIZE - 1,
							 DESC_TSS_AVAIL, 0));
	/* the TSS itself (zeroed above): no I/O bitmap */
	boot_put_le16(gdt + (BOOT_TSS_ADDR - BOOT_GDT_ADDR) + 0x66, (uint16_t)BOOT_TSS_SIZE);
	return 0;
}

static int write_page_tables(struct vm *vm)
{
	unsigned npd = boot_pd_count(&vm->mem);
	uint64_t end = boot_pagetables_end(&vm->mem);
	uint8_t *pt = guest_mem_ptr(&vm->mem, BOOT_PML4_ADDR, end - BOOT_PML4_ADDR);
	if (!pt) {
		log_error("guest RAM is too small for the boot page tables at 0x%llx-0x%llx",
			  (unsigned long long)BOOT_PML4_ADDR, (unsigned long long)(end - 1));
		return -ENOMEM;
	}
	memset(pt, 0, end - BOOT_PML4_ADDR);
	uint8_t *pml4 = pt, *pdpt = pt + (BOOT_PDPT_ADDR - BOOT_PML4_ADDR);
	boot_put_le64(pml4, BOOT_PDPT_ADDR | PTE_PRESENT | PTE_WRITE);
	for (unsigned i = 0; i < npd; i++) {
		uint64_t pd_gpa = BOOT_PD_ADDR + i * PAGE_SIZE;
		uint8_t *pd = pt + (pd_gpa - BOOT_PML4_ADDR);
		boot_put_le64(pdpt + 8 * i, pd_gpa | PTE_PRESENT | PTE_WRITE);
		for (unsigned j = 0; j < 512; j++) {
			uint64_t addr = (uint64_t)i << 30 | (uint64_t)j << 21;
			boot_put_le64(pd + 8 * j, addr | PTE_PRESENT | PTE_WRITE | PTE_LARGE);
		}
	}
	uint64_t mapped = (uint64_t)npd << 30;
	for (int i = 0; i < vm->mem.nr_regions; i++) {
		const struct mem_region *r = &vm->mem.regions[i];
		if (r->gpa + r->size > mapped) {
			log_warn("guest RAM above %llu GiB is not identity-mapped at kernel entry",
				 (unsigned long long)(mapped >> 30));
			break;
		}
	}
	return 0;
}

static struct x86_segment flat_segment(uint16_t selector, uint8_t type, bool code64)
{
	return (struct x86_segment){
		.base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
		.s = 1, .dpl = 0, .present = 1, .l = code64, .db = !code64, .g = 1,
	};
}

static struct x86_segment real_segment(uint16_t selector, uint8_t type)
{
	return (struct x86_segment){
		.base = (uint64_t)selector << 4, .limit = 0xffff, .selector = selector,
		.type = type, .s = 1, .present = 1,
	};
}

static void setup_real_mode(struct x86_sregs *s, uint16_t cs)
{
	for (int i = 0; i < X86_NR_SEGS; i++)
		s->seg[i] = real_segment(0, SEG_TYPE_DATA);
	s->seg[X86_CS] = real_segment(cs, SEG_TYPE_CODE);
	s->seg[X86_TR] = (struct x86_segment){ .limit = 0xffff, .type = SEG_TYPE_TSS16_BUSY,
					       .present = 1 };
	s->seg[X86_LDTR] = (struct x86_segment){ .limit = 0xffff, .type = SEG_TYPE_LDT,
						 .present = 1 };
	s->gdt = (struct x86_dtable){ .base = 0, .limit = 0xffff };
	s->idt = (struct x86_dtable){ .base = 0, .limit = 0x3ff };	/* the real-mode IVT */
	/* caches on, as a BIOS leaves them */
	s->cr0 = X86_CR0_ET;
	s->cr3 = 0;
	s->cr4 = 0;
	s->efer = 0;
}

static void setup_protected_mode(struct x86_sregs *s, bool long_mode)
{
	uint16_t cs = long_mode ? BOOT_SEL_CODE64 : BOOT_SEL_CODE32;
	for (int i = 0; i < X86_NR_SEGS; i++)
		s->seg[i] = flat_segment(BOOT_SEL_DATA, SEG_TYPE_DATA, false);
	s->seg[X86_CS] = flat_segment(cs, SEG_TYPE_CODE, long_mode);
	s->seg[X86_TR] = (struct x86_segment){
		.base = BOOT_TSS_ADDR, .limit = (uint32_t)BOOT_TSS_SIZE - 1,
		.selector = BOOT_SEL_TSS, .type = SEG_TYPE_TSS_BUSY, .present = 1,
	};
	s->seg[X86_LDTR] = (struct x86_segment){ .limit = 0xffff, .type = SEG_TYPE_LDT,
						 .present = 1 };
	s->gdt = (struct x86_dtable){ .base = BOOT_GDT_ADDR, .limit = BOOT_GDT_LIMIT };
	s->idt = (struct x86_dtable){ .base = 0, .limit = 0 };
	if (long_mode) {
		s->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
		s->cr3 = BOOT_PML4_ADDR;
		s->cr4 = X86_CR4_PAE;
		s->efer = X86_EFER_LME | X86_EFER_LMA;
	} else {
		s->cr0 = X86_CR0_PE | X86_CR0_ET;
		s->cr3 = 0;
		s->cr4 = 0;
		s->efer = 0;
	}
}

int boot_setup_cpu(struct vm *vm, struct vcpu *vcpu, const struct boot_entry *entry)
{
	struct x86_sregs sregs;
	struct x86_regs regs = { .rflags = X86_RFLAGS_FIXED };
	int ret;

	/* start from the engine's reset state so APIC base and the like stay */
	ret = vm->accel->get_sregs(vcpu, &sregs);
	if (ret < 0) {
		log_error("cannot read the boot CPU's registers: %s", strerror(-ret));
		return ret;
	}
	memcpy(regs.gpr, entry->gpr, sizeof(regs.gpr));
	sregs.cr2 = 0;

	switch (entry->mode) {
	case BOOT_MODE_REAL16:
		if (entry->rip >= 0x100000) {
			log_error("real-mode entry 0x%llx is above 1 MiB",
				  (unsigned long long)entry->rip);
			return -EINVAL;
		}
		setup_real_mode(&sregs, (uint16_t)((entry->rip >> 4) & 0xf000));
		regs.rip = entry->rip & 0xffff;
		break;
	case BOOT_MODE_PROT32:
		if (entry->rip > UINT32_MAX) {
			log_error("32-bit entry 0x%llx is above 4 GiB", (unsigned long long)entry->rip);
			return -EINVAL;
		}
		ret = write_gdt(vm);
		if (ret < 0)
			return ret;
		setup_protected_mode(&sregs, false);
		regs.rip = entry->rip;
		for (int i = 0; i < 16; i++)
			regs.gpr[i] &= UINT32_MAX;
		break;
	case BOOT_MODE_LONG64:
		ret = write_gdt(vm);
		if (ret == 0)
			ret = write_page_tables(vm);
		if (ret < 0)
			return ret;
		setup_protected_mode(&sregs, true);
		regs.rip = entry->rip;
		break;
	default:
		log_error("unknown boot CPU mode %d", (int)entry->mode);
		return -EINVAL;
	}

	ret = vm->accel->set_sregs(vcpu, &sregs);
	if (ret == 0)
		ret = vm->accel->set_regs(vcpu, &regs);
	if (ret < 0)
		log_error("cannot set the boot CPU's registers: %s", strerror(-ret));
	return ret;
}

int boot_setup_mtrrs(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		int ret = vm->accel->set_msr(&vm->vcpus[i], MSR_MTRR_DEF_TYPE,
					     MTRR_ENABLE | MTRR_TYPE_WB);
		if (ret < 0) {
			log_error("cannot enable the MTRRs of vCPU %u: %s", i, strerror(-ret));
			return ret;
		}
	}
	return 0;
}
