/* The software MMU: segmentation checks, the page walk for 32-bit, PAE
 * and 4-level paging with the accessed/dirty bits set as hardware sets
 * them, the software TLB, and the way to RAM or MMIO. */
#include "cpu/x86/internal.h"

#include "mem/io_bus.h"

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_U (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_G (1ull << 8)
#define PTE_NX (1ull << 63)

#define X86_MAXPHYADDR 40
#define PHYS_MASK (((1ull << X86_MAXPHYADDR) - 1) & ~0xfffull)

/* ---- segmentation ---- */

static __attribute__((noreturn)) void seg_fault(struct x86_cpu *cpu, int seg)
{
	x86_raise_exception(cpu, seg == X86_SS ? X86_EXC_SS : X86_EXC_GP, 0);
}

uint64_t x86_seg_linear_slow(struct x86_cpu *cpu, int seg, uint64_t off, unsigned size,
			     bool write)
{
	const uint64_t lin = x86_lin_unchecked(cpu, seg, off);
	if (cpu->mode == X86_MODE_LONG64 ? !x86_canonical(lin) :
					   x86_seg_room(cpu, seg, off, write) < size)
		seg_fault(cpu, seg);
	return lin;
}

/* ---- page walk ---- */

__attribute__((noreturn)) void x86_raise_pf(struct x86_cpu *cpu, uint64_t lin, uint32_t err)
{
	cpu->cr2 = lin;
	x86_raise_exception(cpu, X86_EXC_PF, err);
}

static uint64_t *pte_ptr(struct x86_cpu *cpu, uint64_t gpa, unsigned size)
{
	return guest_mem_ptr(&cpu->vm->mem, gpa, size);
}

static uint64_t pte_load(struct x86_cpu *cpu, uint64_t gpa, unsigned size, void **host)
{
	void *p = pte_ptr(cpu, gpa, size);
	*host = p;
	if (p)
		return x86_load_host(p, size);
	uint64_t v = 0;
	io_bus_read(&cpu->vm->mmio, gpa, size, &v);
	return v;
}

struct walk_result {
	uint64_t phys;		/* of the byte at lin */
	bool global;
	bool large;
};

/* Returns 0, or WALK_FAULT | the #PF error code (which may be 0) */
#define WALK_FAULT (1u << 31)
static uint32_t page_walk(struct x86_cpu *cpu, uint64_t lin, enum x86_access acc, bool user,
			  struct walk_result *res)
{
	const bool wr = acc == X86_ACC_WRITE;
	const bool nxe = cpu->efer & X86_EFER_NXE;
	uint32_t err = WALK_FAULT | (wr ? X86_PF_W : 0) | (user ? X86_PF_U : 0);
	void *hosts[5];
	unsigned sizes[5];
	int nh = 0;
	bool allow_w = true, allow_u = true, nx = false;
	uint64_t pte = 0;
	unsigned shift;

	res->global = false;
	res->large = false;
	if (!(cpu->cr0 & X86_CR0_PG)) {
		res->phys = x86_long_mode(cpu) ? lin : (uint32_t)lin;
		return 0;
	}
	if (!(cpu->cr4 & X86_CR4_PAE)) {
		/* 32-bit paging */
		void *h;
		uint64_t pde = pte_load(cpu, (cpu->cr3 & 0xfffff000ull) + ((lin >> 22) & 0x3ff) * 4,
					4, &h);
		if (!(pde & PTE_P))
			return err;
		allow_w &= !!(pde & PTE_W);
		allow_u &= !!(pde & PTE_U);
		hosts[nh] = h;
		sizes[nh++] = 4;
		if ((pde & PTE_PS) && (cpu->cr4 & X86_CR4_PSE)) {
			pte = pde;
			shift = 22;
			res->large = true;
			res->phys = (pde & 0xffc00000ull) | ((pde & 0x1fe000ull) << 19) |
				    (lin & 0x3fffff);
		} else {
			pte = pte_load(cpu, (pde & 0xfffff000ull) + ((lin >> 12) & 0x3ff) * 4, 4, &h);
			if (!(pte & PTE_P))
				return err;
			allow_w &= !!(pte & PTE_W);
			allow_u &= !!(pte & PTE_U);
			hosts[nh] = h;
			sizes[nh++] = 4;
			shift = 12;
			res->phys = (pte & 0xfffff000ull) | (lin & 0xfff);
		}
	} else {
		const bool lma = x86_long_mode(cpu);
		const uint64_t rsvd_hi = ~((1ull << X86_MAXPHYADDR) - 1) & ~PTE_NX & ~(0x7ffull << 52);
		const uint64_t rsvd = rsvd_hi | (nxe ? 0 : PTE_NX);
		uint64_t table;
		int level;
		if (lma) {
			table = cpu->cr3 & PHYS_MASK;
			level = 4;
		} else {
			void *h;
			uint64_t pdpte = pte_load(cpu, (cpu->cr3 & 0xffffffe0ull) + ((lin >> 30) & 3) * 8,
						  8, &h);
			if (!(pdpte & PTE_P))
				return err;
			if (pdpte & (rsvd_hi | 0x1e6ull | PTE_NX))
				return err | X86_PF_P | X86_PF_RSVD;
			table = pdpte & PHYS_MASK;
			level = 2;
		}
		for (;; level--) {
			void *h;
			shift = 12 + 9 * (unsigned)(level - 1);
			pte = pte_load(cpu, table + ((lin >> shift) & 0x1ff) * 8, 8, &h);
			if (!(pte & PTE_P))
				return err;
			if (pte & rsvd)
				return err | X86_PF_P | X86_PF_RSVD;
			if ((pte & PTE_PS) && (level == 4 || (level == 3 && !lma)))
				return err | X86_PF_P | X86_PF_RSVD;
			allow_w &= !!(pte & PTE_W);
			allow_u &= !!(pte & PTE_U);
			if (nxe && (pte & PTE_NX))
				nx = true;
			hosts[nh] = h;
			sizes[nh++] = 8;
			if (level == 1 || (pte & PTE_PS))
				break;
			table = pte & PHYS_MASK;
		}
		if (level > 1) {
			/* the low bits of a large page's address field, but PAT (bit 12) */
			uint64_t low = ((1ull << shift) - 1) & ~0x1fffull;
			if (pte & low & PHYS_MASK)
				return err | X86_PF_P | X86_PF_RSVD;
			res->large = true;
		}
		res->phys = (pte & PHYS_MASK & ~((1ull << shift) - 1)) | (lin & ((1ull << shift) - 1));
		if (acc == X86_ACC_FETCH && nxe)
			err |= X86_PF_I;
	}

	if (user && !allow_u)
		return err | X86_PF_P;
	if (wr && !allow_w && (user || (cpu->cr0 & X86_CR0_WP)))
		return err | X86_PF_P;
	if (acc == X86_ACC_FETCH && nx)
		return err | X86_PF_P;

	/* the walk succeeded: accessed bits on every entry used, dirty on
	 * the last for a write */
	for (int i = 0; i < nh; i++) {
		if (!hosts[i])
			continue;
		uint64_t v = x86_load_host(hosts[i], sizes[i]);
		uint64_t nv = v | PTE_A;
		if (i == nh - 1 && wr)
			nv |= PTE_D;
		if (nv != v)
			x86_store_host(hosts[i], sizes[i], nv);
	}
	res->global = (cpu->cr4 & X86_CR4_PGE) && (pte & PTE_G);
	return 0;
}

bool x86_probe(struct x86_cpu *cpu, uint64_t lin, uint64_t *phys)
{
	/* a supervisor read walk that reports instead of raising #PF */
	struct walk_result r;
	if (page_walk(cpu, lin, X86_ACC_READ, false, &r))
		return false;
	*phys = r.phys & cpu->a20_mask;
	return true;
}

/* ---- TLB ---- */

void x86_tlb_flush(struct x86_cpu *cpu, bool include_global)
{
	cpu->tlb_flushes++;
	struct x86_tlb_entry *e = &cpu->tlb[0][0][0];
	for (unsigned i = 0; i < 2 * X86_ACC_KINDS * X86_TLB_SIZE; i++)
		if (include_global || !e[i].global)
			e[i].tag = X86_TLB_EMPTY;
	if (include_global)
		cpu->tlb_has_large = false;
}

void x86_tlb_flush_page(struct x86_cpu *cpu, uint64_t lin)
{
	if (cpu->tlb_has_large) {
		/* entries of a large page are spread over many slots */
		x86_tlb_flush(cpu, true);
		return;
	}
	for (int user = 0; user < 2; user++) {
		for (int k = 0; k < X86_ACC_KINDS; k++) {
			struct x86_tlb_entry *e = x86_tlb_entry(cpu, k, user, lin);
			if (e->tag == x86_tlb_tag(lin))
				e->tag = X86_TLB_EMPTY;
		}
	}
}

uint64_t x86_translate(struct x86_cpu *cpu, uint64_t lin, enum x86_access acc, bool user)
{
	struct x86_tlb_entry *e = x86_tlb_entry(cpu, acc, user, lin);
	if (e->tag == x86_tlb_tag(lin))
		return e->phys | (lin & 0xfff);
	cpu->tlb_misses++;
	struct walk_result r;
	uint32_t err = page_walk(cpu, lin, acc, user, &r);
	if (err)
		x86_raise_pf(cpu, lin, err & ~WALK_FAULT);
	r.phys &= cpu->a20_mask;
	uint64_t page = r.phys & ~0xfffull;
	if (acc == X86_ACC_WRITE && x86_is_code_page(cpu->bc, page))
		return r.phys;	/* stores to code pages take the slow path */
	if (__builtin_expect(cpu->dbg_data, 0) && acc != X86_ACC_FETCH &&
	    x86_debug_watched_page(cpu, lin))
		return r.phys;	/* so do accesses to a page with a data breakpoint */
	void *host = guest_mem_ptr(&cpu->vm->mem, page, 4096);
	if (!host)
		return r.phys;	/* MMIO is never cached as RAM */
	e->tag = x86_tlb_tag(lin);
	e->addend = (uintptr_t)host - (lin & ~0xfffull);
	e->phys = page;
	e->global = r.global;
	if (r.large)
		cpu->tlb_has_large = true;
	return r.phys;
}

/* ---- physical access ---- */

static void phys_read(struct x86_cpu *cpu, uint64_t phys, void *buf, unsigned n)
{
	void *p = guest_mem_ptr(&cpu->vm->mem, phys, n);
	if (p) {
		memcpy(buf, p, n);
		return;
	}
	uint8_t *b = buf;
	while (n) {
		unsigned sz = (n >= 8 && !(phys & 7)) ? 8 : (n >= 4 && !(phys & 3)) ? 4 :
			      (n >= 2 && !(phys & 1)) ? 2 : 1;
		uint64_t v = ~0ull;
		p = guest_mem_ptr(&cpu->vm->mem, phys, sz);
		if (p)
			memcpy(&v, p, sz);
		else
			io_bus_read(&cpu->vm->mmio, phys, sz, &v);
		memcpy(b, &v, sz);
		b += sz;
		phys += sz;
		n -= sz;
	}
}

static void phys_write(struct x86_cpu *cpu, uint64_t phys, const void *buf, unsigned n)
{
	void *p = guest_mem_ptr(&cpu->vm->mem, phys, n);
	if (p) {
		memcpy(p, buf, n);
		if (x86_is_code_page(cpu->bc, phys))
			x86_code_written(cpu, phys, n);
		return;
	}
	const uint8_t *b = buf;
	while (n) {
		unsigned sz = (n >= 8 && !(phys & 7)) ? 8 : (n >= 4 && !(phys & 3)) ? 4 :
			      (n >= 2 && !(phys & 1)) ? 2 : 1;
		uint64_t v = 0;
		memcpy(&v, b, sz);
		p = guest_mem_ptr(&cpu->vm->mem, phys, sz);
		if (p) {
			memcpy(p, &v, sz);
			if (x86_is_code_page(cpu->bc, phys))
				x86_code_written(cpu, phys, sz);
		} else {
			io_bus_write(&cpu->vm->mmio, phys, sz, v);
			/* an APIC or a device may have raised an interrupt: look
			 * for it after this instruction */
			x86_cpu_irq_notify(cpu);
			cpu->block_dirty = true;
		}
		b += sz;
		phys += sz;
		n -= sz;
	}
}

static uint64_t lin_wrap(const struct x86_cpu *cpu, uint64_t lin)
{
	return x86_long_mode(cpu) ? lin : (uint32_t)lin;
}

void x86_read_lin(struct x86_cpu *cpu, uint64_t lin, void *buf, unsigned size, bool user)
{
	if (__builtin_expect(cpu->dbg_data, 0))
		x86_debug_data(cpu, lin, size, false);
	uint8_t *b = buf;
	while (size) {
		unsigned n = 4096 - (unsigned)(lin & 0xfff);
		if (n > size)
			n = size;
		uint64_t phys = x86_translate(cpu, lin, X86_ACC_READ, user);
		/* the whole access must be translatable before MMIO sees a read */
		if (n < size)
			x86_translate(cpu, lin_wrap(cpu, lin + n), X86_ACC_READ, user);
		phys_read(cpu, phys, b, n);
		b += n;
		size -= n;
		lin = lin_wrap(cpu, lin + n);
	}
}

void x86_write_lin(struct x86_cpu *cpu, uint64_t lin, const void *buf, unsigned size, bool user)
{
	if (__builtin_expect(cpu->dbg_data, 0))
		x86_debug_data(cpu, lin, size, true);
	/* every page is checked before the first byte is written */
	uint64_t l = lin;
	unsigned left = size;
	while (left) {
		unsigned n = 4096 - (unsigned)(l & 0xfff);
		if (n > left)
			n = left;
		x86_translate(cpu, l, X86_ACC_WRITE, user);
		left -= n;
		l = lin_wrap(cpu, l + n);
	}
	const uint8_t *b = buf;
	while (size) {
		unsigned n = 4096 - (unsigned)(lin & 0xfff);
		if (n > size)
			n = size;
		uint64_t phys = x86_translate(cpu, lin, X86_ACC_WRITE, user);
		phys_write(cpu, phys, b, n);
		b += n;
		size -= n;
		lin = lin_wrap(cpu, lin + n);
	}
}

uint64_t x86_read_lin_slow(struct x86_cpu *cpu, uint64_t lin, unsigned size, bool user)
{
	uint64_t v = 0;
	x86_read_lin(cpu, lin, &v, size, user);
	return v;
}

void x86_write_lin_slow(struct x86_cpu *cpu, uint64_t lin, unsigned size, uint64_t val,
			bool user)
{
	x86_write_lin(cpu, lin, &val, size, user);
}

/* ---- by segment:offset ---- */

void x86_read_mem(struct x86_cpu *cpu, int seg, uint64_t offset, void *buf, unsigned size)
{
	uint64_t lin = x86_seg_linear(cpu, seg, offset, size, false);
	x86_read_lin(cpu, lin, buf, size, x86_user(cpu));
}

void x86_write_mem(struct x86_cpu *cpu, int seg, uint64_t offset, const void *buf,
		   unsigned size)
{
	uint64_t lin = x86_seg_linear(cpu, seg, offset, size, true);
	x86_write_lin(cpu, lin, buf, size, x86_user(cpu));
}

uint64_t x86_read_mem_u(struct x86_cpu *cpu, int seg, uint64_t offset, unsigned size)
{
	return x86_mem_read(cpu, seg, offset, size);
}

void x86_write_mem_u(struct x86_cpu *cpu, int seg, uint64_t offset, unsigned size,
		     uint64_t value)
{
	x86_mem_write(cpu, seg, offset, size, value);
}

uint64_t x86_insn_ea(const struct x86_cpu *cpu, const struct x86_insn *in)
{
	return x86_ea(cpu, in);
}
