/* The decoded block cache.  A block is a run of decoded instructions that
 * starts at a guest-physical address and ends at a branch, at a page end
 * or after X86_BLOCK_MAX_INSNS.  Blocks are found through a small per-CPU
 * jump cache by linear RIP, then a hash by physical address.  Pages
 * holding decoded code are marked in a bitmap over guest RAM; the MMU
 * never caches a write translation for such a page, so every store there
 * comes to x86_code_written, which drops the blocks it overlaps. */
#include "cpu/x86/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "cpu/x86/jit/jit.h"

#define MAX_BLOCKS 65536

int x86_block_cache_init(struct x86_block_cache *bc, uint64_t phys_limit)
{
	memset(bc, 0, sizeof(*bc));
	bc->nr_pages = (phys_limit + 4095) >> 12;
	bc->page_blocks = calloc(bc->nr_pages, sizeof(*bc->page_blocks));
	bc->code_bitmap = calloc((bc->nr_pages + 7) / 8, 1);
	if (!bc->page_blocks || !bc->code_bitmap) {
		free(bc->page_blocks);
		free(bc->code_bitmap);
		bc->page_blocks = NULL;
		bc->code_bitmap = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void free_chain(struct x86_block *b)
{
	while (b) {
		struct x86_block *n = b->free_next;
		free(b);
		b = n;
	}
}

void x86_block_cache_reap(struct x86_block_cache *bc)
{
	free_chain(bc->dead);
	bc->dead = NULL;
}

/* What an empty jump cache slot holds: no lookup matches it */
struct x86_block x86_no_block = { .lin = X86_NO_LIN, .page2 = ~0ull };

void x86_jmp_cache_clear(struct x86_cpu *cpu)
{
	for (unsigned i = 0; i < X86_JMP_CACHE_SIZE; i++)
		cpu->jmp_cache[i] = &x86_no_block;
}

static void flush_jmp_caches(struct x86_block_cache *bc)
{
	for (unsigned i = 0; i < bc->nr_cpus; i++)
		x86_jmp_cache_clear(bc->cpus[i]);
}

void x86_block_cache_flush(struct x86_block_cache *bc)
{
	for (unsigned i = 0; i < X86_BLOCK_HASH_SIZE; i++) {
		struct x86_block *b = bc->hash[i];
		while (b) {
			struct x86_block *n = b->hash_next;
			free(b);
			b = n;
		}
		bc->hash[i] = NULL;
	}
	x86_block_cache_reap(bc);
	jit_reset(bc);
	if (bc->page_blocks)
		memset(bc->page_blocks, 0, bc->nr_pages * sizeof(*bc->page_blocks));
	if (bc->code_bitmap)
		memset(bc->code_bitmap, 0, (bc->nr_pages + 7) / 8);
	bc->nr_blocks = 0;
	bc->generation++;
	flush_jmp_caches(bc);
}

void x86_block_cache_destroy(struct x86_block_cache *bc)
{
	x86_block_cache_flush(bc);
	free(bc->page_blocks);
	free(bc->code_bitmap);
	bc->page_blocks = NULL;
	bc->code_bitmap = NULL;
}

static unsigned hash_phys(uint64_t phys, uint32_t key)
{
	uint64_t h = (phys ^ (phys >> 14) ^ ((uint64_t)key << 7)) * 0x9e3779b97f4a7c15ull;
	return (unsigned)(h >> 48) & (X86_BLOCK_HASH_SIZE - 1);
}

/* With the translator a block is for one linear address too (its code
 * holds it): lin goes into the hash, so that the blocks of one page
 * mapped at many addresses (a program's text in every process) do not
 * share a chain; the interpreter's blocks follow their page anywhere. */
static unsigned hash_block(const struct x86_block_cache *bc, uint64_t phys, uint64_t lin,
			   uint32_t key)
{
	if (bc->jit)
		phys ^= (lin & ~0xfffull) * 31;
	return hash_phys(phys, key);
}


static inline struct x86_block **page_link(struct x86_block *b, uint64_t pn)
{
	return (b->phys >> 12) == pn ? &b->page_next[0] : &b->page_next[1];
}

static void page_list_remove(struct x86_block_cache *bc, uint64_t pn, struct x86_block *b)
{
	if (pn >= bc->nr_pages)
		return;
	struct x86_block **pp = &bc->page_blocks[pn];
	while (*pp) {
		if (*pp == b) {
			*pp = *page_link(b, pn);
			break;
		}
		pp = page_link(*pp, pn);
	}
	/* atomic: tcg_memory_written reads the bitmap from other threads */
	if (!bc->page_blocks[pn])
		__atomic_fetch_and(&bc->code_bitmap[pn >> 3], (uint8_t)~(1u << (pn & 7)), __ATOMIC_RELAXED);
}

static void block_remove(struct x86_block_cache *bc, struct x86_block *b)
{
	struct x86_block **pp = &bc->hash[hash_block(bc, b->phys, b->lin, b->key)];
	while (*pp) {
		if (*pp == b) {
			*pp = b->hash_next;
			break;
		}
		pp = &(*pp)->hash_next;
	}
	page_list_remove(bc, b->phys >> 12, b);
	if (b->page2 != ~0ull)
		page_list_remove(bc, b->page2 >> 12, b);
	/* the one jump cache slot each CPU could hold it in */
	for (unsigned i = 0; i < bc->nr_cpus; i++) {
		struct x86_block **jc = &bc->cpus[i]->jmp_cache[x86_jc_index(b->lin)];
		if (*jc == b)
			*jc = &x86_no_block;
	}
	jit_block_removed(bc, b);
	b->invalid = true;
	b->free_next = bc->dead;
	bc->dead = b;
	bc->nr_blocks--;
}

static void mark_code_page(struct x86_block_cache *bc, uint64_t pn)
{
	uint8_t bit = (uint8_t)(1u << (pn & 7));
	if (bc->code_bitmap[pn >> 3] & bit)
		return;
	__atomic_fetch_or(&bc->code_bitmap[pn >> 3], bit, __ATOMIC_RELAXED);
	/* stores to this page must now take the slow path */
	for (unsigned i = 0; i < bc->nr_cpus; i++) {
		for (int user = 0; user < 2; user++) {
			struct x86_tlb_entry *e = bc->cpus[i]->tlb[user][X86_ACC_WRITE];
			for (unsigned j = 0; j < X86_TLB_SIZE; j++)
				if (e[j].phys == (pn << 12))
					e[j].tag = X86_TLB_EMPTY;
		}
	}
}

static void page_list_add(struct x86_block_cache *bc, uint64_t pn, struct x86_block *b)
{
	*page_link(b, pn) = bc->page_blocks[pn];
	bc->page_blocks[pn] = b;
	mark_code_page(bc, pn);
}

void x86_code_written(struct x86_cpu *cpu, uint64_t phys, unsigned len)
{
	struct x86_block_cache *bc = cpu->bc;
	uint64_t pn = phys >> 12;
	bool any = false;
	if (!bc || pn >= bc->nr_pages)
		return;
	struct x86_block *b = bc->page_blocks[pn];
	while (b) {
		struct x86_block *next = *page_link(b, pn);
		/* the bytes a block covers on this page */
		uint64_t start = b->phys, end = b->phys_end;
		if ((start >> 12) != pn) {
			start = pn << 12;	/* its second page */
		} else if (end > ((pn + 1) << 12)) {
			end = (pn + 1) << 12;
		}
		if (phys < end && phys + len > start) {
			for (unsigned i = 0; i < bc->nr_cpus; i++)
				if (b == bc->cpus[i]->cur_block)
					bc->cpus[i]->block_dirty = true;
			block_remove(bc, b);
			any = true;
		}
		b = next;
	}
	if (any)
		bc->generation++;
}

void x86_block_cache_invalidate_range(struct x86_block_cache *bc, uint64_t gpa, uint64_t len)
{
	if (!bc->nr_cpus || !len)
		return;
	/* the CPU that runs next: none is inside a block now */
	struct x86_cpu *cpu = bc->cpus[0];
	uint64_t end = gpa + len;
	for (uint64_t p = gpa & ~0xfffull; p < end && (p >> 12) < bc->nr_pages; p += 4096) {
		if (!x86_is_code_page(bc, p))
			continue;
		uint64_t s = p > gpa ? p : gpa;
		uint64_t e = p + 4096 < end ? p + 4096 : end;
		x86_code_written(cpu, s, (unsigned)(e - s));
	}
}

/* Bytes of code at linear lin, up to 15, as far as they can be fetched */
static size_t fetch_bytes(struct x86_cpu *cpu, uint64_t lin, uint64_t phys, uint8_t *buf,
			  bool user, uint64_t *phys2, bool *fault2)
{
	size_t n = 4096 - (lin & 0xfff);
	if (n > 15)
		n = 15;
	const uint8_t *p = guest_mem_ptr(&cpu->vm->mem, phys, n);
	if (p)
		memcpy(buf, p, n);
	else
		return 0;
	*fault2 = false;
	if (n < 15) {
		uint64_t next = lin + n;
		if (cpu->mode != X86_MODE_LONG64)
			next = (uint32_t)next;
		/* probe the next page; a fault matters only if the instruction
		 * really extends there */
		struct x86_tlb_entry *e = x86_tlb_entry(cpu, X86_ACC_FETCH, user, next);
		uint64_t ph;
		if (e->tag == x86_tlb_tag(next)) {
			ph = e->phys;
		} else {
			/* translate may raise #PF: do it only on demand */
			*fault2 = true;
			return n;
		}
		const uint8_t *q = guest_mem_ptr(&cpu->vm->mem, ph, 15 - n);
		if (!q) {
			*fault2 = true;
			return n;
		}
		memcpy(buf + n, q, 15 - n);
		*phys2 = ph;
		n = 15;
	}
	return n;
}

static bool ends_block(const struct x86_insn *in)
{
	uint8_t op = in->opcode;
	if (in->map == X86_MAP_1B) {
		switch (op) {
		case 0x70 ... 0x7f: case 0x9a: case 0xc2: case 0xc3: case 0xca ... 0xcf:
		case 0xe0 ... 0xe3: case 0xe8 ... 0xeb: case 0xf4:
			return true;
		case 0xff:
			return (in->reg & 7) >= 2 && (in->reg & 7) <= 5;
		default:
			return false;
		}
	}
	if (in->map == X86_MAP_0F)
		return (op >= 0x80 && op <= 0x8f) || op == 0x05 || op == 0x07 || op == 0x34 ||
		       op == 0x35 || op == 0x0b;
	return false;
}

static uint64_t rip_mask(const struct x86_cpu *cpu)
{
	return cpu->mode == X86_MODE_LONG64 ? ~0ull : cpu->mode == X86_MODE_PROT32 ? 0xffffffffull :
									  0xffffull;
}

/* Decode one instruction at RIP for an uncached block or the block's
 * first instruction: faults are raised */
static void decode_at(struct x86_cpu *cpu, uint64_t rip, uint64_t lin, uint64_t phys, bool user,
		      struct x86_insn *in, uint64_t *phys2_out)
{
	uint8_t buf[16];
	uint64_t phys2 = ~0ull;
	bool fault2 = false;
	size_t n = fetch_bytes(cpu, lin, phys, buf, user, &phys2, &fault2);
	if (n == 0) {
		/* not RAM: fetch through the MMU byte by byte (ROM, MMIO) */
		n = 0;
		while (n < 15) {
			uint64_t l = lin + n;
			if (cpu->mode != X86_MODE_LONG64)
				l = (uint32_t)l;
			if (n && !(l & 0xfff)) {
				/* stop at a page end unless needed */
				int r = x86_decode(buf, n, (enum x86_cpu_mode)cpu->mode, in);
				if (r != X86_DECODE_SHORT)
					break;
			}
			uint64_t ph = x86_translate(cpu, l, X86_ACC_FETCH, user);
			x86_read_lin(cpu, l, &buf[n], 1, user);
			(void)ph;
			n++;
		}
	}
	int r = x86_decode(buf, n, (enum x86_cpu_mode)cpu->mode, in);
	if (r == X86_DECODE_SHORT && fault2) {
		uint64_t next = lin + n;
		if (cpu->mode != X86_MODE_LONG64)
			next = (uint32_t)next;
		phys2 = x86_translate(cpu, next, X86_ACC_FETCH, user);
		const uint8_t *q = guest_mem_ptr(&cpu->vm->mem, phys2, 15 - n);
		if (q) {
			memcpy(buf + n, q, 15 - n);
		} else {
			for (size_t i = n; i < 15; i++) {
				uint64_t l = lin + i;
				x86_read_lin(cpu, cpu->mode != X86_MODE_LONG64 ? (uint32_t)l : l, &buf[i], 1,
					     user);
			}
		}
		phys2 &= ~0xfffull;
		n = 15;
		r = x86_decode(buf, n, (enum x86_cpu_mode)cpu->mode, in);
	}
	if (r < 0)
		x86_raise_exception(cpu, X86_EXC_UD, 0);
	if (cpu->mode != X86_MODE_LONG64 && ((rip + in->len - 1) & 0xffffffffull) > cpu->seg[X86_CS].limit)
		x86_raise_exception(cpu, X86_EXC_GP, 0);
	*phys2_out = (lin & 0xfff) + in->len > 4096 ? phys2 : ~0ull;
}

static struct x86_block *translate(struct x86_cpu *cpu, uint64_t lin, uint64_t phys, uint32_t key,
				   bool user)
{
	struct x86_block_cache *bc = cpu->bc;
	struct x86_block *b = malloc(sizeof(*b) + X86_BLOCK_MAX_INSNS * sizeof(struct x86_op));
	if (!b)
		abort();
	memset(b, 0, sizeof(*b));
	b->phys = phys;
	b->lin = lin;
	b->key = key;
	b->page2 = ~0ull;
	b->jit_key = ~0u;
	bool ram = guest_mem_ptr(&cpu->vm->mem, phys, 1) != NULL;
	b->uncached = !ram || !bc || (phys >> 12) >= bc->nr_pages;

	/* the first instruction: faults are the guest's */
	uint64_t p2;
	decode_at(cpu, cpu->rip, lin, phys, user, &b->ops[0].in, &p2);
	b->ops[0].fn = x86_select_exec(&b->ops[0].in);
	b->n = 1;
	uint64_t off = b->ops[0].in.len;
	if (p2 != ~0ull)
		b->page2 = p2 & ~0xfffull;
	uint64_t rip = cpu->rip;
	const uint64_t mask = rip_mask(cpu);

	/* more instructions while they stay in this page */
	while (!b->uncached && b->n < X86_BLOCK_MAX_INSNS && b->page2 == ~0ull &&
	       !ends_block(&b->ops[b->n - 1].in)) {
		uint64_t l = lin + off;
		if ((l & ~0xfffull) != (lin & ~0xfffull))
			break;
		uint64_t r = (rip + off) & mask;
		if (cpu->mode != X86_MODE_LONG64 && r > cpu->seg[X86_CS].limit)
			break;
		if (r == cpu->stop_rip)
			break;	/* a test stops there: end the block, translated or not */
		uint8_t buf[16];
		uint64_t ph2 = ~0ull;
		bool fault2 = false;
		size_t n = fetch_bytes(cpu, l, phys + off, buf, user, &ph2, &fault2);
		struct x86_insn *in = &b->ops[b->n].in;
		int len = x86_decode(buf, n, (enum x86_cpu_mode)cpu->mode, in);
		if (len < 0)
			break;	/* decoded again, with its fault, when reached */
		if (cpu->mode != X86_MODE_LONG64 && r + (uint64_t)len - 1 > cpu->seg[X86_CS].limit)
			break;
		if ((l & 0xfff) + (uint64_t)len > 4096)
			b->page2 = ph2 & ~0xfffull;
		off += (uint64_t)len;
		b->ops[b->n].fn = x86_select_exec(in);
		b->n++;
	}
	b->phys_end = phys + off;
	struct x86_block *nb = realloc(b, sizeof(*b) + b->n * sizeof(struct x86_op));
	if (nb)
		b = nb;
	cpu->blocks_translated++;
	if (cpu->debug_mask & DEBUG_IN_ASM) {
		char hex[3 * 16 + 1];
		const uint8_t *p = guest_mem_ptr(&cpu->vm->mem, phys, 1);
		unsigned n = 0, len = (unsigned)(off < 16 ? off : 16);
		for (unsigned i = 0; p && i < len && (phys & 0xfff) + i < 4096; i++)
			n += (unsigned)snprintf(hex + n, sizeof(hex) - n, "%02x ", p[i]);
		hex[n] = 0;
		log_debug("cpu%u: decoded %#llx (phys %#llx): %u insns, %llu bytes: %s%s", cpu->id,
			  (unsigned long long)lin, (unsigned long long)phys, b->n,
			  (unsigned long long)off, hex, off > 16 ? "..." : "");
	}
	if (b->uncached)
		return b;

	if (bc->nr_blocks >= MAX_BLOCKS)
		x86_block_cache_flush(bc);
	unsigned h = hash_block(bc, phys, lin, key);
	b->hash_next = bc->hash[h];
	bc->hash[h] = b;
	page_list_add(bc, phys >> 12, b);
	if (b->page2 != ~0ull && (b->page2 >> 12) < bc->nr_pages)
		page_list_add(bc, b->page2 >> 12, b);
	bc->nr_blocks++;
	return b;
}

/* The jump cache missed (x86_get_block in internal.h): the hash by
 * physical address, else a new translation */
struct x86_block *x86_get_block_slow(struct x86_cpu *cpu, uint64_t lin, uint32_t key,
				     struct x86_block **jc)
{
	const bool user = x86_user(cpu);
	struct x86_block *b;
	/* Blocks die only in x86_code_written, which takes them out of the
	 * hash and the jump caches: a lookup that comes here is between
	 * blocks, with none of the dead running, so this is where they are
	 * freed */
	if (cpu->bc && cpu->bc->dead)
		x86_block_cache_reap(cpu->bc);
	if (cpu->mode == X86_MODE_LONG64 && !x86_canonical(lin))
		x86_raise_exception(cpu, X86_EXC_GP, 0);
	uint64_t phys = x86_translate(cpu, lin, X86_ACC_FETCH, user);
	struct x86_block_cache *bc = cpu->bc;
	if (bc) {
		for (b = bc->hash[hash_block(bc, phys, lin, key)]; b; b = b->hash_next) {
			if (b->phys != phys || b->key != key)
				continue;
			if (b->page2 != ~0ull) {
				uint64_t l2 = (lin & ~0xfffull) + 4096;
				if (cpu->mode != X86_MODE_LONG64)
					l2 = (uint32_t)l2;
				if ((x86_translate(cpu, l2, X86_ACC_FETCH, user) & ~0xfffull) != b->page2)
					continue;
			}
			if (b->lin != lin) {
				/* translated code holds its linear addresses: an alias
				 * gets a block of its own */
				if (bc->jit)
					continue;
				b->lin = lin;
			}
			*jc = b;
			return b;
		}
	}
	b = translate(cpu, lin, phys, key, user);
	if (!b->uncached)
		*jc = b;
	return b;
}
