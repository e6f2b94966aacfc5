/* System instructions: control and debug registers, MSRs, descriptor
 * tables, syscall/sysenter, TSC, port I/O permission. */
#include "cpu/x86/internal.h"

#include <errno.h>
#include <time.h>

#include "hw/irq_router.h"
#include "hw/lapic.h"

static __attribute__((noreturn)) void ud(struct x86_cpu *cpu)
{
	x86_raise_exception(cpu, X86_EXC_UD, 0);
}

static __attribute__((noreturn)) void gp0(struct x86_cpu *cpu)
{
	x86_raise_exception(cpu, X86_EXC_GP, 0);
}

static void need_cpl0(struct x86_cpu *cpu)
{
	if (cpu->cpl != 0)
		gp0(cpu);
}

static void need_prot(struct x86_cpu *cpu)
{
	if (!x86_prot_mode(cpu))
		ud(cpu);
}

/* ---- port I/O ---- */

void x86_io_check(struct x86_cpu *cpu, uint16_t port, unsigned size)
{
	if (!(cpu->cr0 & X86_CR0_PE))
		return;
	unsigned iopl = (cpu->rflags >> 12) & 3;
	if (!(cpu->rflags & X86_RFLAGS_VM) && cpu->cpl <= iopl)
		return;
	const struct x86_segment *tr = &cpu->seg[X86_TR];
	if (tr->unusable || !tr->present || (tr->type & 0xd) != 9 || tr->limit < 0x67)
		gp0(cpu);
	uint16_t base;
	x86_read_lin(cpu, tr->base + 0x66, &base, 2, false);
	uint32_t off = base + port / 8u;
	if (off + 1 > tr->limit)
		gp0(cpu);
	uint16_t bits;
	x86_read_lin(cpu, tr->base + off, &bits, 2, false);
	if ((bits >> (port & 7)) & ((1u << size) - 1))
		gp0(cpu);
}

uint32_t x86_io_in(struct x86_cpu *cpu, uint16_t port, unsigned size)
{
	uint32_t v = ~0u;
	if (__builtin_expect(cpu->dbg_io, 0))
		x86_debug_io(cpu, port, size);
	vm_pio_read(cpu->vm, port, size, &v);
	return v;
}

void x86_io_out(struct x86_cpu *cpu, uint16_t port, unsigned size, uint32_t v)
{
	if (__builtin_expect(cpu->dbg_io, 0))
		x86_debug_io(cpu, port, size);
	vm_pio_write(cpu->vm, port, size, v & (uint32_t)x86_mask(size));
	/* the interrupt controllers are programmed through ports */
	x86_cpu_irq_notify(cpu);
}

/* ---- TSC ---- */

static uint64_t host_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The guest TSC runs at X86_TSC_HZ on the VM's clock, the one the PIT
 * and the RTC count on */
static uint64_t tsc_ns(struct x86_cpu *cpu)
{
	return cpu->vm ? vm_clock_ns(cpu->vm) : host_ns();
}

uint64_t x86_read_tsc(struct x86_cpu *cpu)
{
	return tsc_ns(cpu) * (X86_TSC_HZ / 1000000000ull) + cpu->tsc_offset;
}

/* ---- control registers ---- */

#define CR4_SUPPORTED (X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE | \
		       X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | X86_CR4_OSFXSR | \
		       X86_CR4_OSXMMEXCPT)

void x86_update_mode(struct x86_cpu *cpu)
{
	if (!(cpu->cr0 & X86_CR0_PE)) {
		cpu->mode = X86_MODE_REAL;
		cpu->cpl = 0;
	} else if (cpu->rflags & X86_RFLAGS_VM) {
		cpu->mode = X86_MODE_REAL;
		cpu->cpl = 3;
	} else if (x86_long_mode(cpu) && cpu->seg[X86_CS].l) {
		cpu->mode = X86_MODE_LONG64;
	} else {
		cpu->mode = cpu->seg[X86_CS].db ? X86_MODE_PROT32 : X86_MODE_PROT16;
	}
}

int x86_write_cr(struct x86_cpu *cpu, unsigned cr, uint64_t v)
{
	switch (cr) {
	case 0: {
		uint64_t old = cpu->cr0;
		if (v >> 32)
			gp0(cpu);
		v |= X86_CR0_ET;
		if ((v & X86_CR0_PG) && !(v & X86_CR0_PE))
			gp0(cpu);
		if ((v & X86_CR0_NW) && !(v & X86_CR0_CD))
			gp0(cpu);
		if ((v & X86_CR0_PG) && !(old & X86_CR0_PG) && (cpu->efer & X86_EFER_LME)) {
			if (!(cpu->cr4 & X86_CR4_PAE) || cpu->seg[X86_CS].l)
				gp0(cpu);
			cpu->efer |= X86_EFER_LMA;
		}
		if (!(v & X86_CR0_PG) && (old & X86_CR0_PG) && x86_long_mode(cpu)) {
			if (cpu->mode == X86_MODE_LONG64)
				gp0(cpu);
			cpu->efer &= ~X86_EFER_LMA;
		}
		cpu->cr0 = v;
		if ((old ^ v) & (X86_CR0_PG | X86_CR0_WP | X86_CR0_PE))
			x86_tlb_flush(cpu, true);
		x86_update_mode(cpu);
		return 0;
	}
	case 2:
		cpu->cr2 = v;
		return 0;
	case 3:
		if (x86_long_mode(cpu) && (v >> 52))
			gp0(cpu);
		cpu->cr3 = v;
		x86_tlb_flush(cpu, false);
		return 0;
	case 4: {
		uint64_t old = cpu->cr4;
		if (v & ~CR4_SUPPORTED)
			gp0(cpu);
		if (x86_long_mode(cpu) && !(v & X86_CR4_PAE))
			gp0(cpu);
		cpu->cr4 = v;
		if ((old ^ v) & (X86_CR4_PGE | X86_CR4_PAE | X86_CR4_PSE))
			x86_tlb_flush(cpu, true);
		return 0;
	}
	case 8: {
		if (v >> 4)
			gp0(cpu);
		cpu->cr8 = v;
		if (cpu->vm && cpu->vm->irq_router) {
			/* CR8 is the APIC's TPR[7:4], in xAPIC and x2APIC mode alike */
			lapic_write_cr8(cpu->vm, cpu->id, v);
			x86_cpu_irq_notify(cpu);
		}
		return 0;
	}
	default:
		ud(cpu);
	}
}

static uint64_t read_cr(struct x86_cpu *cpu, unsigned cr)
{
	switch (cr) {
	case 0: return cpu->cr0;
	case 2: return cpu->cr2;
	case 3: return cpu->cr3;
	case 4: return cpu->cr4;
	case 8:
		if (!cpu->vm || !cpu->vm->irq_router)
			return cpu->cr8;
		return lapic_read_cr8(cpu->vm, cpu->id);
	default: ud(cpu);
	}
}

/* ---- MSRs ---- */

/* MSRs that belong to the local APIC, when the board has userspace APICs */
static bool apic_msr(const struct x86_cpu *cpu, uint32_t index)
{
	return cpu->vm && cpu->vm->irq_router &&
	       (index == MSR_IA32_APIC_BASE || index == MSR_IA32_TSC_DEADLINE ||
		(index >= 0x800 && index <= 0x8ff));
}

/* Machine check: MCG_CAP as QEMU gives its CPUs (ten banks, MCG_CTL
 * present, software error recovery), and banks that never log an error */
#define MSR_MCG_CAP 0x179
#define MSR_MCG_STATUS 0x17a
#define MSR_MCG_CTL 0x17b
#define MSR_MC0_CTL 0x400
#define MCG_CTL_P (1ull << 8)
#define MCG_SER_P (1ull << 24)
#define MCG_CAP_VALUE (MCG_SER_P | MCG_CTL_P | X86_MCE_BANKS)
/* RIPV, EIPV, MCIP: all software may write */
#define MCG_STATUS_BITS 7ull

/* MTRRs: eight variable ranges, the fixed ranges and write-combining,
 * as QEMU reports them; stored and checked only, caching is unaffected */
#define MSR_MTRRCAP 0xfe
#define MSR_MTRR_PHYSBASE0 0x200
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MTRRCAP_VALUE ((1ull << 10) /* WC */ | (1ull << 8) /* FIX */ | 8 /* VCNT */)
#define MTRR_PHYS_BITS (((1ull << 40) - 1) & ~0xfffull)	/* MAXPHYADDR of cpuid.c */

/* The index in cpu->mtrr_fixed of a fixed-range MTRR, or -1 */
static int mtrr_fixed_index(uint32_t index)
{
	switch (index) {
	case 0x250: return 0;
	case 0x258: return 1;
	case 0x259: return 2;
	default: return index >= 0x268 && index <= 0x26f ? (int)(index - 0x268 + 3) : -1;
	}
}

/* A memory type MTRRs accept: UC, WC, WT, WP, WB */
static bool mtrr_type_valid(unsigned t)
{
	return t == 0 || t == 1 || t == 4 || t == 5 || t == 6;
}

/* The machine-check and MTRR MSRs; -EINVAL: #GP */
static int write_mce_mtrr(struct x86_cpu *cpu, uint32_t index, uint64_t v)
{
	if (index >= MSR_MC0_CTL && index < MSR_MC0_CTL + 4 * X86_MCE_BANKS) {
		unsigned bank = (index - MSR_MC0_CTL) / 4, reg = index & 3;
		/* CTL: all errors reported or none; STATUS: only cleared
		 * (nonzero would log an error); ADDR and MISC take anything */
		if ((reg == 0 && v != 0 && v != ~0ull) || (reg == 1 && v != 0))
			return -EINVAL;
		cpu->mc_bank[bank][reg] = v;
		return 0;
	}
	int fixed = mtrr_fixed_index(index);
	if (fixed >= 0) {
		for (int i = 0; i < 8; i++)
			if (!mtrr_type_valid((v >> (8 * i)) & 0xff))
				return -EINVAL;
		cpu->mtrr_fixed[fixed] = v;
		return 0;
	}
	if (index >= MSR_MTRR_PHYSBASE0 && index < MSR_MTRR_PHYSBASE0 + 16) {
		bool mask = index & 1;
		/* PHYSBASE: type and base; PHYSMASK: valid bit and mask */
		uint64_t allowed = MTRR_PHYS_BITS | (mask ? 1ull << 11 : 0xff);
		if ((v & ~allowed) || (!mask && !mtrr_type_valid(v & 0xff)))
			return -EINVAL;
		cpu->mtrr_var[index - MSR_MTRR_PHYSBASE0] = v;
		return 0;
	}
	switch (index) {
	case MSR_MCG_STATUS:
		if (v & ~MCG_STATUS_BITS)
			return -EINVAL;
		cpu->mcg_status = v;
		return 0;
	case MSR_MCG_CTL:
		if (v != 0 && v != ~0ull)
			return -EINVAL;
		cpu->mcg_ctl = v;
		return 0;
	case MSR_MTRR_DEF_TYPE:
		/* type, FE (bit 10), E (bit 11) */
		if ((v & ~0xcffull) || !mtrr_type_valid(v & 0xff))
			return -EINVAL;
		cpu->mtrr_def_type = v;
		return 0;
	default:
		return -ENOENT;	/* not one of these (MCG_CAP, MTRRCAP: read-only) */
	}
}

static int read_mce_mtrr(struct x86_cpu *cpu, uint32_t index, uint64_t *v)
{
	if (index >= MSR_MC0_CTL && index < MSR_MC0_CTL + 4 * X86_MCE_BANKS) {
		*v = cpu->mc_bank[(index - MSR_MC0_CTL) / 4][index & 3];
		return 0;
	}
	int fixed = mtrr_fixed_index(index);
	if (fixed >= 0) {
		*v = cpu->mtrr_fixed[fixed];
		return 0;
	}
	if (index >= MSR_MTRR_PHYSBASE0 && index < MSR_MTRR_PHYSBASE0 + 16) {
		*v = cpu->mtrr_var[index - MSR_MTRR_PHYSBASE0];
		return 0;
	}
	switch (index) {
	case MSR_MCG_CAP: *v = MCG_CAP_VALUE; return 0;
	case MSR_MCG_STATUS: *v = cpu->mcg_status; return 0;
	case MSR_MCG_CTL: *v = cpu->mcg_ctl; return 0;
	case MSR_MTRRCAP: *v = MTRRCAP_VALUE; return 0;
	case MSR_MTRR_DEF_TYPE: *v = cpu->mtrr_def_type; return 0;
	default: return -ENOENT;
	}
}

int x86_read_msr(struct x86_cpu *cpu, uint32_t index, uint64_t *v)
{
	if (apic_msr(cpu, index)) {
		pthread_mutex_lock(&cpu->vm->dev_lock);
		int r = lapic_msr_read(cpu->vm, cpu->id, index, v);
		pthread_mutex_unlock(&cpu->vm->dev_lock);
		if (r == 0 && index == MSR_IA32_APIC_BASE)
			cpu->apic_base = *v;
		return r < 0 ? -1 : 0;
	}
	switch (index) {
	case MSR_IA32_TSC: *v = x86_read_tsc(cpu); return 0;
	case MSR_IA32_APIC_BASE: *v = cpu->apic_base; return 0;
	case MSR_IA32_SYSENTER_CS: *v = cpu->sysenter_cs; return 0;
	case MSR_IA32_SYSENTER_ESP: *v = cpu->sysenter_esp; return 0;
	case MSR_IA32_SYSENTER_EIP: *v = cpu->sysenter_eip; return 0;
	case MSR_IA32_MISC_ENABLE: *v = cpu->misc_enable; return 0;
	case MSR_IA32_PAT: *v = cpu->pat; return 0;
	case MSR_EFER: *v = cpu->efer; return 0;
	case MSR_STAR: *v = cpu->star; return 0;
	case MSR_LSTAR: *v = cpu->lstar; return 0;
	case MSR_CSTAR: *v = cpu->cstar; return 0;
	case MSR_SYSCALL_MASK: *v = cpu->sfmask; return 0;
	case MSR_FS_BASE: *v = cpu->seg[X86_FS].base; return 0;
	case MSR_GS_BASE: *v = cpu->seg[X86_GS].base; return 0;
	case MSR_KERNEL_GS_BASE: *v = cpu->kernel_gs_base; return 0;
	case MSR_TSC_AUX: *v = cpu->tsc_aux; return 0;
	case 0x17: /* IA32_PLATFORM_ID */
	case 0x8b: /* IA32_BIOS_SIGN_ID: microcode revision */
		*v = 0;
		return 0;
	case 0x3a: /* IA32_FEATURE_CONTROL: locked, no VMX */
		*v = 1;
		return 0;
	case 0x10a: /* IA32_ARCH_CAPABILITIES (read-only) */
		*v = x86_arch_capabilities();
		return 0;
	default:
		return read_mce_mtrr(cpu, index, v) < 0 ? -1 : 0;
	}
}

int x86_write_msr(struct x86_cpu *cpu, uint32_t index, uint64_t v)
{
	if (apic_msr(cpu, index)) {
		pthread_mutex_lock(&cpu->vm->dev_lock);
		int r = lapic_msr_write(cpu->vm, cpu->id, index, v);
		pthread_mutex_unlock(&cpu->vm->dev_lock);
		if (r == 0 && index == MSR_IA32_APIC_BASE)
			cpu->apic_base = v;
		x86_cpu_irq_notify(cpu);	/* TPR, EOI, self-IPI */
		return r < 0 ? -1 : 0;
	}
	switch (index) {
	case MSR_IA32_TSC:
		cpu->tsc_offset = v - tsc_ns(cpu) * (X86_TSC_HZ / 1000000000ull);
		return 0;
	case MSR_IA32_APIC_BASE:
		if (v & ~0xffffff000ull & ~0x900ull)
			return -1;
		cpu->apic_base = v;
		return 0;
	case MSR_IA32_SYSENTER_CS: cpu->sysenter_cs = v & 0xffff; return 0;
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
		if (!x86_canonical(v))
			return -1;
		switch (index) {
		case MSR_IA32_SYSENTER_ESP: cpu->sysenter_esp = v; break;
		case MSR_IA32_SYSENTER_EIP: cpu->sysenter_eip = v; break;
		case MSR_LSTAR: cpu->lstar = v; break;
		case MSR_CSTAR: cpu->cstar = v; break;
		case MSR_FS_BASE: cpu->seg[X86_FS].base = v; break;
		case MSR_GS_BASE: cpu->seg[X86_GS].base = v; break;
		default: cpu->kernel_gs_base = v; break;
		}
		return 0;
	case MSR_IA32_MISC_ENABLE:
		cpu->misc_enable = v;
		return 0;
	case MSR_IA32_PAT:
		for (int i = 0; i < 8; i++) {
			unsigned t = (v >> (8 * i)) & 0xff;
			if (t == 2 || t == 3 || t > 7)
				return -1;
		}
		cpu->pat = v;
		return 0;
	case MSR_EFER: {
		uint64_t allowed = X86_EFER_SCE | X86_EFER_LME | X86_EFER_NXE | X86_EFER_LMA;
		if (v & ~allowed)
			return -1;
		if ((cpu->cr0 & X86_CR0_PG) && ((v ^ cpu->efer) & X86_EFER_LME))
			return -1;
		uint64_t old = cpu->efer;
		cpu->efer = (v & ~X86_EFER_LMA) | (cpu->efer & X86_EFER_LMA);
		if ((old ^ cpu->efer) & X86_EFER_NXE)
			x86_tlb_flush(cpu, true);
		return 0;
	}
	case MSR_STAR: cpu->star = v; return 0;
	case MSR_SYSCALL_MASK: cpu->sfmask = v & 0xffffffffull; return 0;
	case MSR_TSC_AUX: cpu->tsc_aux = v & 0xffffffffull; return 0;
	case 0x8b:
		return 0;
	default:
		/* (IA32_FEATURE_CONTROL is locked: a write is #GP, as on hardware) */
		return write_mce_mtrr(cpu, index, v) < 0 ? -1 : 0;
	}
}

/* ---- descriptor tables ---- */

static void load_ldt(struct x86_cpu *cpu, uint16_t sel)
{
	if ((sel & 0xfffc) == 0) {
		memset(&cpu->seg[X86_LDTR], 0, sizeof(cpu->seg[0]));
		cpu->seg[X86_LDTR].selector = sel;
		cpu->seg[X86_LDTR].unusable = 1;
		return;
	}
	if (sel & 4)
		x86_raise_exception(cpu, X86_EXC_GP, sel & 0xfffc);
	struct x86_desc d;
	x86_read_desc(cpu, sel, &d, x86_long_mode(cpu));
	if (((d.hi >> 8) & 0x1f) != 2)
		x86_raise_exception(cpu, X86_EXC_GP, sel & 0xfffc);
	if (!((d.hi >> 15) & 1))
		x86_raise_exception(cpu, X86_EXC_NP, sel & 0xfffc);
	if (!x86_long_mode(cpu))
		d.hi64 = 0;
	x86_desc_to_seg(&d, sel, &cpu->seg[X86_LDTR]);
}

static void load_tr(struct x86_cpu *cpu, uint16_t sel)
{
	if ((sel & 0xfffc) == 0 || (sel & 4))
		x86_raise_exception(cpu, X86_EXC_GP, sel & 0xfffc);
	struct x86_desc d;
	bool lm = x86_long_mode(cpu);
	x86_read_desc(cpu, sel, &d, lm);
	unsigned type = (d.hi >> 8) & 0x1f;
	if (type != 9 && (lm || type != 1))
		x86_raise_exception(cpu, X86_EXC_GP, sel & 0xfffc);
	if (!((d.hi >> 15) & 1))
		x86_raise_exception(cpu, X86_EXC_NP, sel & 0xfffc);
	if (!lm)
		d.hi64 = 0;
	/* mark it busy */
	d.hi |= 0x200;
	uint64_t lin = cpu->gdtr.base + (sel & 0xfff8u) + 4;
	x86_write_lin(cpu, lm ? lin : (uint32_t)lin, &d.hi, 4, false);
	x86_desc_to_seg(&d, sel, &cpu->seg[X86_TR]);
}

static void store_sel(struct x86_cpu *cpu, const struct x86_insn *in, uint16_t sel)
{
	if (in->mod == 3)
		x86_set_reg(cpu, in, in->rm, in->opsize, sel);
	else
		x86_mem_write(cpu, in->seg, x86_insn_ea(cpu, in), 2, sel);
}

/* lar/lsl/verr/verw: may the current privilege see this descriptor? */
static bool desc_visible(struct x86_cpu *cpu, uint16_t sel, struct x86_desc *d, bool for_lsl,
			 bool for_lar)
{
	if ((sel & 0xfffc) == 0)
		return false;
	uint64_t limit = (sel & 4) ? cpu->seg[X86_LDTR].limit : cpu->gdtr.limit;
	if ((sel & 4) && cpu->seg[X86_LDTR].unusable)
		return false;
	if ((sel & 0xfff8u) + 7u > limit)
		return false;
	x86_read_desc(cpu, sel, d, false);
	unsigned type = (d->hi >> 8) & 0x1f, dpl = (d->hi >> 13) & 3;
	if (!(type & 0x10)) {
		/* system: LDT, TSS always; gates only for lar in legacy mode */
		bool lm = x86_long_mode(cpu);
		switch (type) {
		case 2: case 9: case 11: break;
		case 1: case 3: if (lm) return false; break;
		case 4: case 5: case 12: if (!for_lar || lm) return false; break;
		default: return false;
		}
		(void)for_lsl;
	} else if ((type & 0x1c) == 0x1c) {
		return true;	/* conforming code */
	}
	return dpl >= cpu->cpl && dpl >= (sel & 3u);
}

static int group6(struct x86_cpu *cpu, const struct x86_insn *in)
{
	need_prot(cpu);
	switch (in->reg & 7) {
	case 0: /* sldt */
		store_sel(cpu, in, cpu->seg[X86_LDTR].selector);
		return 0;
	case 1: /* str */
		store_sel(cpu, in, cpu->seg[X86_TR].selector);
		return 0;
	case 2: /* lldt */
	case 3: { /* ltr */
		need_cpl0(cpu);
		uint16_t sel = in->mod == 3 ? (uint16_t)cpu->gpr[in->rm] :
			       (uint16_t)x86_mem_read(cpu, in->seg, x86_insn_ea(cpu, in), 2);
		if ((in->reg & 7) == 2)
			load_ldt(cpu, sel);
		else
			load_tr(cpu, sel);
		return 0;
	}
	case 4: /* verr */
	case 5: { /* verw */
		uint16_t sel = in->mod == 3 ? (uint16_t)cpu->gpr[in->rm] :
			       (uint16_t)x86_mem_read(cpu, in->seg, x86_insn_ea(cpu, in), 2);
		struct x86_desc d;
		bool ok = desc_visible(cpu, sel, &d, false, false) && ((d.hi >> 12) & 1);
		if (ok) {
			unsigned type = (d.hi >> 8) & 15;
			ok = (in->reg & 7) == 4 ? (!(type & 8) || (type & 2)) : (!(type & 8) && (type & 2));
		}
		uint64_t f = x86_compute_arith_flags(cpu) & ~X86_RFLAGS_ZF;
		x86_set_arith_flags(cpu, f | (ok ? X86_RFLAGS_ZF : 0));
		return 0;
	}
	default:
		ud(cpu);
	}
}

static int group7(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned sub = in->reg & 7;
	if (in->mod == 3) {
		switch (sub) {
		case 4: /* smsw reg */
			x86_set_reg(cpu, in, in->rm, in->opsize, cpu->cr0 & x86_mask(in->opsize));
			return 0;
		case 6: { /* lmsw reg */
			need_cpl0(cpu);
			uint64_t v = cpu->gpr[in->rm] & 0xf;
			x86_write_cr(cpu, 0, (cpu->cr0 & ~0xeull) | v | (cpu->cr0 & X86_CR0_PE));
			return X86_EXEC_END_BLOCK;
		}
		case 7:
			if ((in->rm & 7) == 0) { /* swapgs */
				if (cpu->mode != X86_MODE_LONG64)
					ud(cpu);
				need_cpl0(cpu);
				uint64_t t = cpu->seg[X86_GS].base;
				cpu->seg[X86_GS].base = cpu->kernel_gs_base;
				cpu->kernel_gs_base = t;
				return 0;
			}
			if ((in->rm & 7) == 1) { /* rdtscp */
				if ((cpu->cr4 & X86_CR4_TSD) && cpu->cpl)
					gp0(cpu);
				uint64_t t = x86_read_tsc(cpu);
				cpu->gpr[X86_RAX] = (uint32_t)t;
				cpu->gpr[X86_RDX] = t >> 32;
				cpu->gpr[X86_RCX] = (uint32_t)cpu->tsc_aux;
				return 0;
			}
			ud(cpu);
		default:
			ud(cpu);
		}
	}
	uint64_t ea = x86_insn_ea(cpu, in);
	uint64_t ea2 = (ea + 2) & x86_mask(in->addrsize);
	switch (sub) {
	case 0: /* sgdt */
	case 1: { /* sidt */
		const struct x86_dtable *t = sub == 0 ? &cpu->gdtr : &cpu->idtr;
		unsigned bsize = cpu->mode == X86_MODE_LONG64 ? 8 : 4;
		uint8_t buf[10];
		memcpy(buf, &t->limit, 2);
		memcpy(buf + 2, &t->base, 8);
		x86_write_mem(cpu, in->seg, ea, buf, 2 + bsize);
		return 0;
	}
	case 2: /* lgdt */
	case 3: { /* lidt */
		need_cpl0(cpu);
		unsigned bsize = cpu->mode == X86_MODE_LONG64 ? 8 : 4;
		uint16_t limit = (uint16_t)x86_mem_read(cpu, in->seg, ea, 2);
		uint64_t base = x86_mem_read(cpu, in->seg, ea2, bsize);
		if (bsize == 4 && in->opsize == 2)
			base &= 0xffffff;
		if (bsize == 8 && !x86_canonical(base))
			gp0(cpu);
		struct x86_dtable *t = sub == 2 ? &cpu->gdtr : &cpu->idtr;
		t->base = base;
		t->limit = limit;
		return 0;
	}
	case 4: /* smsw mem */
		x86_mem_write(cpu, in->seg, ea, 2, cpu->cr0 & 0xffff);
		return 0;
	case 6: { /* lmsw mem */
		need_cpl0(cpu);
		uint64_t v = x86_mem_read(cpu, in->seg, ea, 2) & 0xf;
		x86_write_cr(cpu, 0, (cpu->cr0 & ~0xeull) | v | (cpu->cr0 & X86_CR0_PE));
		return X86_EXEC_END_BLOCK;
	}
	case 7: { /* invlpg */
		need_cpl0(cpu);
		x86_tlb_flush_page(cpu, x86_lin_unchecked(cpu, in->seg, ea));
		return X86_EXEC_END_BLOCK;
	}
	default:
		ud(cpu);
	}
}

/* ---- fast system calls ---- */

static void flat_seg(struct x86_segment *s, uint16_t sel, bool code, bool l, unsigned dpl)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->type = code ? 0xb : 0x3;
	s->s = 1;
	s->dpl = (uint8_t)dpl;
	s->present = 1;
	s->g = 1;
	s->l = l;
	s->db = !l;
}

static int do_syscall(struct x86_cpu *cpu)
{
	if (!(cpu->efer & X86_EFER_SCE) || cpu->mode != X86_MODE_LONG64)
		ud(cpu);
	uint16_t sel = (uint16_t)(cpu->star >> 32);
	cpu->gpr[X86_RCX] = cpu->next_rip;
	uint64_t f = x86_cpu_get_rflags(cpu);
	cpu->gpr[X86_R11] = f & ~X86_RFLAGS_RF;
	x86_cpu_set_rflags(cpu, f & ~cpu->sfmask & ~X86_RFLAGS_RF);
	flat_seg(&cpu->seg[X86_CS], sel & 0xfffc, true, true, 0);
	flat_seg(&cpu->seg[X86_SS], (sel + 8) & 0xfffc, false, false, 0);
	cpu->cpl = 0;
	x86_update_mode(cpu);
	cpu->next_rip = cpu->lstar;
	return X86_EXEC_END_BLOCK;
}

static int do_sysret(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (!(cpu->efer & X86_EFER_SCE) || cpu->mode != X86_MODE_LONG64)
		ud(cpu);
	need_cpl0(cpu);
	uint16_t sel = (uint16_t)(cpu->star >> 48);
	bool to64 = in->rex & X86_REX_W;
	if (to64 && !x86_canonical(cpu->gpr[X86_RCX]))
		gp0(cpu);
	if (to64)
		flat_seg(&cpu->seg[X86_CS], (uint16_t)((sel + 16) | 3), true, true, 3);
	else
		flat_seg(&cpu->seg[X86_CS], (uint16_t)(sel | 3), true, false, 3);
	flat_seg(&cpu->seg[X86_SS], (uint16_t)((sel + 8) | 3), false, false, 3);
	x86_cpu_set_rflags(cpu, (cpu->gpr[X86_R11] & 0x3c7fd7ull) | X86_RFLAGS_FIXED);
	cpu->cpl = 3;
	x86_update_mode(cpu);
	cpu->next_rip = to64 ? cpu->gpr[X86_RCX] : (uint32_t)cpu->gpr[X86_RCX];
	return X86_EXEC_END_BLOCK;
}

static int do_sysenter(struct x86_cpu *cpu)
{
	if (!(cpu->cr0 & X86_CR0_PE) || (cpu->sysenter_cs & 0xfffc) == 0)
		gp0(cpu);
	uint16_t sel = (uint16_t)cpu->sysenter_cs;
	bool lm = x86_long_mode(cpu);
	cpu->rflags &= ~(X86_RFLAGS_VM | X86_RFLAGS_IF | X86_RFLAGS_RF);
	flat_seg(&cpu->seg[X86_CS], sel & 0xfffc, true, lm, 0);
	flat_seg(&cpu->seg[X86_SS], (sel + 8) & 0xfffc, false, false, 0);
	cpu->cpl = 0;
	x86_update_mode(cpu);
	cpu->gpr[X86_RSP] = lm ? cpu->sysenter_esp : (uint32_t)cpu->sysenter_esp;
	cpu->next_rip = lm ? cpu->sysenter_eip : (uint32_t)cpu->sysenter_eip;
	return X86_EXEC_END_BLOCK;
}

static int do_sysexit(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (!x86_prot_mode(cpu) || cpu->cpl != 0 || (cpu->sysenter_cs & 0xfffc) == 0)
		gp0(cpu);
	uint16_t sel = (uint16_t)cpu->sysenter_cs;
	bool to64 = in->rex & X86_REX_W;
	if (to64) {
		if (!x86_canonical(cpu->gpr[X86_RDX]) || !x86_canonical(cpu->gpr[X86_RCX]))
			gp0(cpu);
		flat_seg(&cpu->seg[X86_CS], (uint16_t)((sel + 32) | 3), true, true, 3);
		flat_seg(&cpu->seg[X86_SS], (uint16_t)((sel + 40) | 3), false, false, 3);
	} else {
		flat_seg(&cpu->seg[X86_CS], (uint16_t)((sel + 16) | 3), true, false, 3);
		flat_seg(&cpu->seg[X86_SS], (uint16_t)((sel + 24) | 3), false, false, 3);
	}
	cpu->cpl = 3;
	x86_update_mode(cpu);
	cpu->gpr[X86_RSP] = to64 ? cpu->gpr[X86_RCX] : (uint32_t)cpu->gpr[X86_RCX];
	cpu->next_rip = to64 ? cpu->gpr[X86_RDX] : (uint32_t)cpu->gpr[X86_RDX];
	return X86_EXEC_END_BLOCK;
}

static void lar_lsl(struct x86_cpu *cpu, const struct x86_insn *in, bool lsl)
{
	need_prot(cpu);
	uint16_t sel = (uint16_t)(in->mod == 3 ? cpu->gpr[in->rm] :
				  x86_mem_read(cpu, in->seg, x86_insn_ea(cpu, in), 2));
	struct x86_desc d;
	bool ok = desc_visible(cpu, sel, &d, lsl, !lsl);
	if (ok && lsl && !((d.hi >> 12) & 1)) {
		unsigned t = (d.hi >> 8) & 15;
		ok = t == 1 || t == 2 || t == 3 || t == 9 || t == 11;
	}
	if (ok) {
		uint64_t v;
		if (lsl) {
			struct x86_segment s;
			x86_desc_to_seg(&d, sel, &s);
			v = s.limit;
		} else {
			v = d.hi & 0x00f0ff00u;
		}
		x86_set_reg(cpu, in, in->reg, in->opsize, v);
	}
	uint64_t f = x86_compute_arith_flags(cpu) & ~X86_RFLAGS_ZF;
	x86_set_arith_flags(cpu, f | (ok ? X86_RFLAGS_ZF : 0));
}

int x86_exec_system(struct x86_cpu *cpu, const struct x86_insn *in)
{
	switch (in->opcode) {
	case 0x00: return group6(cpu, in);
	case 0x01: return group7(cpu, in);
	case 0x02: lar_lsl(cpu, in, false); return 0;
	case 0x03: lar_lsl(cpu, in, true); return 0;
	case 0x05: return do_syscall(cpu);
	case 0x06: /* clts */
		need_cpl0(cpu);
		cpu->cr0 &= ~X86_CR0_TS;
		return 0;
	case 0x07: return do_sysret(cpu, in);
	case 0x08: /* invd */
	case 0x09: /* wbinvd */
		need_cpl0(cpu);
		return 0;
	case 0x20: /* mov r, crN */
	case 0x22: { /* mov crN, r */
		need_cpl0(cpu);
		unsigned cr = in->reg;
		if (in->prefixes & X86_PFX_LOCK)
			cr |= 8;	/* AMD's alternative encoding of CR8 */
		if (in->opcode == 0x20) {
			uint64_t v = read_cr(cpu, cr);
			x86_set_reg(cpu, in, in->rm, in->opsize, v);
			return 0;
		}
		if (cr != 0 && cr != 2 && cr != 3 && cr != 4 && cr != 8)
			ud(cpu);
		x86_write_cr(cpu, cr, x86_get_reg(cpu, in, in->rm, in->opsize));
		return X86_EXEC_END_BLOCK;
	}
	case 0x21: /* mov r, drN */
		need_cpl0(cpu);
		x86_set_reg(cpu, in, in->rm, in->opsize, x86_debug_read_dr(cpu, in->reg));
		return 0;
	case 0x23: /* mov drN, r */
		need_cpl0(cpu);
		x86_debug_write_dr(cpu, in->reg, x86_get_reg(cpu, in, in->rm, in->opsize));
		/* a breakpoint armed now applies from the next instruction on,
		 * which must run where breakpoints are checked (debug.c) */
		return X86_EXEC_END_BLOCK;
	case 0x30: { /* wrmsr */
		need_cpl0(cpu);
		uint64_t v = (cpu->gpr[X86_RAX] & 0xffffffffull) | (cpu->gpr[X86_RDX] << 32);
		if (x86_write_msr(cpu, (uint32_t)cpu->gpr[X86_RCX], v) < 0)
			gp0(cpu);
		return X86_EXEC_END_BLOCK;
	}
	case 0x31: { /* rdtsc */
		if ((cpu->cr4 & X86_CR4_TSD) && cpu->cpl)
			gp0(cpu);
		uint64_t t = x86_read_tsc(cpu);
		cpu->gpr[X86_RAX] = (uint32_t)t;
		cpu->gpr[X86_RDX] = t >> 32;
		return 0;
	}
	case 0x32: { /* rdmsr */
		need_cpl0(cpu);
		uint64_t v;
		if (x86_read_msr(cpu, (uint32_t)cpu->gpr[X86_RCX], &v) < 0)
			gp0(cpu);
		cpu->gpr[X86_RAX] = (uint32_t)v;
		cpu->gpr[X86_RDX] = v >> 32;
		return 0;
	}
	case 0x33: /* rdpmc: no counters */
		gp0(cpu);
	case 0x34: return do_sysenter(cpu);
	case 0x35: return do_sysexit(cpu, in);
	case 0xa2: { /* cpuid */
		uint32_t r[4];
		x86_cpuid(cpu, (uint32_t)cpu->gpr[X86_RAX], (uint32_t)cpu->gpr[X86_RCX], r);
		cpu->gpr[X86_RAX] = r[0];
		cpu->gpr[X86_RBX] = r[1];
		cpu->gpr[X86_RCX] = r[2];
		cpu->gpr[X86_RDX] = r[3];
		return 0;
	}
	case 0xae: { /* group 15 */
		unsigned sub = in->reg & 7;
		if (in->mod == 3) {
			if (sub >= 5 && !in->mandatory)
				return 0;	/* lfence, mfence, sfence */
			ud(cpu);
		}
		if (sub < 4) {
			int ret = x86_exec_sse(cpu, in);
			if (ret < 0)
				ud(cpu);
			return ret;
		}
		if (sub == 7 && (in->mandatory == 0 || in->mandatory == 0x66)) {
			/* clflush, clflushopt: the address must be valid */
			x86_mem_read(cpu, in->seg, x86_insn_ea(cpu, in), 1);
			return 0;
		}
		ud(cpu);
	}
	default:
		ud(cpu);
	}
}
