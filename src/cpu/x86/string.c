/* String instructions (movs, cmps, stos, lods, scas, ins, outs) with
 * rep/repe/repne in both directions.  A long rep runs in slices so that
 * interrupts get in: the instruction restarts with the registers it has
 * already advanced, as hardware does. */
#include "cpu/x86/internal.h"

#define REP_SLICE 4096

static void advance(struct x86_cpu *cpu, const struct x86_insn *in, unsigned reg, unsigned size)
{
	uint64_t v = cpu->gpr[reg];
	v = (cpu->rflags & X86_RFLAGS_DF) ? v - size : v + size;
	x86_set_reg(cpu, in, reg, in->addrsize, v);
}

static uint64_t sreg(const struct x86_cpu *cpu, const struct x86_insn *in, unsigned reg)
{
	return cpu->gpr[reg] & x86_mask(in->addrsize);
}

/* seg:off as the linear address of a run of at most *bytes that stays in
 * one page, inside the segment's limits and inside the address size (the
 * offset wraps there); *bytes shortened to that.  false when the run
 * cannot start here: the element-by-element path then raises the fault. */
static bool run_linear(struct x86_cpu *cpu, const struct x86_insn *in, int seg, uint64_t off,
		       bool write, uint64_t *lin, uint64_t *bytes)
{
	uint64_t n = *bytes;
	const uint64_t amask = x86_mask(in->addrsize);
	if (amask != ~0ull && n > amask - off + 1)
		n = amask - off + 1;
	const uint64_t l = x86_lin_unchecked(cpu, seg, off);
	if (cpu->mode == X86_MODE_LONG64) {
		if (!x86_canonical(l))
			return false;	/* (a run inside a canonical page stays canonical) */
	} else {
		uint64_t room = x86_seg_room(cpu, seg, off, write);
		if (n > room)
			n = room;
	}
	uint64_t page_room = 4096 - (l & 0xfff);
	if (n > page_room)
		n = page_room;
	*lin = l;
	*bytes = n;
	return true;
}

/* rep movs/stos forward over RAM: the elements whose source and
 * destination each stay in one page, done at once on host memory.  The
 * pages are translated as the first element would be (source read, then
 * destination write: #PF, A/D bits), so a fault is that element's.
 * Returns the number of elements done; 0 sends the next element down the
 * element-by-element path (page-straddling elements, MMIO, segment
 * limits, DF=1, 16-bit addresses). */
static uint64_t fast_run(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size,
			 uint64_t count)
{
	if ((cpu->rflags & X86_RFLAGS_DF) || in->addrsize == 2 || cpu->dbg_data)
		return 0;	/* (data breakpoints are checked element by element) */
	const bool movs = in->opcode == 0xa4 || in->opcode == 0xa5;
	const bool user = x86_user(cpu);
	uint64_t bytes = (count < 4096 ? count : 4096) * size;
	uint64_t di = sreg(cpu, in, X86_RDI), si = 0, dlin, slin = 0;
	if (!run_linear(cpu, in, X86_ES, di, true, &dlin, &bytes))
		return 0;
	if (movs) {
		si = sreg(cpu, in, X86_RSI);
		if (!run_linear(cpu, in, in->seg, si, false, &slin, &bytes))
			return 0;
	}
	bytes -= bytes % size;
	if (bytes < size * 2u)
		return 0;
	uint8_t *s = NULL;
	if (movs) {
		uint64_t sphys = x86_translate(cpu, slin, X86_ACC_READ, user);
		s = guest_mem_ptr(&cpu->vm->mem, sphys, bytes);
		if (!s)
			return 0;
	}
	uint64_t dphys = x86_translate(cpu, dlin, X86_ACC_WRITE, user);
	uint8_t *d = guest_mem_ptr(&cpu->vm->mem, dphys, bytes);
	if (!d)
		return 0;
	if (movs) {
		if (d > s && d < s + bytes) {
			/* the destination overlaps the source ahead of it: each
			 * element reads what the ones before it wrote, a whole
			 * element at a time */
			for (uint64_t i = 0; i < bytes; i += size)
				x86_store_host(d + i, size, x86_load_host(s + i, size));
		} else {
			/* apart, or behind the source: every element reads bytes
			 * no earlier element wrote */
			memmove(d, s, bytes);
		}
		x86_set_reg(cpu, in, X86_RSI, in->addrsize, si + bytes);
	} else {
		uint64_t v = cpu->gpr[X86_RAX];
		if (size == 1) {
			memset(d, (int)(v & 0xff), bytes);
		} else {
			for (uint64_t i = 0; i < bytes; i += size)
				x86_store_host(d + i, size, v);
		}
	}
	if (x86_is_code_page(cpu->bc, dphys))
		x86_code_written(cpu, dphys, (unsigned)bytes);
	x86_set_reg(cpu, in, X86_RDI, in->addrsize, di + bytes);
	return bytes / size;
}

int x86_exec_string(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const uint8_t op = in->opcode;
	const unsigned size = in->byte_op ? 1 : (op >= 0x6c && op <= 0x6f && in->opsize == 8) ? 4 :
			      in->opsize;
	const bool rep = in->prefixes & (X86_PFX_REP | X86_PFX_REPNE);
	const bool cmp = op == 0xa6 || op == 0xa7 || op == 0xae || op == 0xaf;
	const bool repne = (in->prefixes & X86_PFX_REPNE) && cmp && in->mandatory == 0xf2;
	const uint64_t amask = x86_mask(in->addrsize);
	uint64_t count = rep ? cpu->gpr[X86_RCX] & amask : 1;
	unsigned slice = 0;

	if (op >= 0x6c && op <= 0x6f)
		x86_io_check(cpu, (uint16_t)cpu->gpr[X86_RDX], size);

	while (count) {
		if (rep && slice >= REP_SLICE) {
			/* come back to this instruction after pending events; an
			 * interrupt between iterations pushes RF set, so that the
			 * instruction resumes past its breakpoint (SDM 17.3.1.1) */
			cpu->next_rip = cpu->rip;
			cpu->rflags |= X86_RFLAGS_RF;
			return X86_EXEC_END_BLOCK;
		}
		if (rep && !cmp && (op == 0xa4 || op == 0xa5 || op == 0xaa || op == 0xab)) {
			uint64_t done = fast_run(cpu, in, size, count);
			if (done) {
				count -= done;
				x86_set_reg(cpu, in, X86_RCX, in->addrsize, count);
				slice += (unsigned)done;
				continue;
			}
		}
		switch (op) {
		case 0x6c:
		case 0x6d: { /* ins: the port read happens only if the store can go */
			uint64_t di = sreg(cpu, in, X86_RDI);
			uint64_t lin = x86_seg_linear(cpu, X86_ES, di, size, true);
			x86_translate(cpu, lin, X86_ACC_WRITE, x86_user(cpu));
			if ((lin & 0xfff) + size > 4096)
				x86_translate(cpu, lin + size - 1, X86_ACC_WRITE, x86_user(cpu));
			uint32_t v = x86_io_in(cpu, (uint16_t)cpu->gpr[X86_RDX], size);
			x86_write_lin_u(cpu, lin, size, v, x86_user(cpu));
			advance(cpu, in, X86_RDI, size);
			break;
		}
		case 0x6e:
		case 0x6f: {
			uint64_t v = x86_mem_read(cpu, in->seg, sreg(cpu, in, X86_RSI), size);
			x86_io_out(cpu, (uint16_t)cpu->gpr[X86_RDX], size, (uint32_t)v);
			advance(cpu, in, X86_RSI, size);
			break;
		}
		case 0xa4:
		case 0xa5: {
			uint64_t v = x86_mem_read(cpu, in->seg, sreg(cpu, in, X86_RSI), size);
			x86_mem_write(cpu, X86_ES, sreg(cpu, in, X86_RDI), size, v);
			advance(cpu, in, X86_RSI, size);
			advance(cpu, in, X86_RDI, size);
			break;
		}
		case 0xa6:
		case 0xa7: {
			uint64_t a = x86_mem_read(cpu, in->seg, sreg(cpu, in, X86_RSI), size);
			uint64_t b = x86_mem_read(cpu, X86_ES, sreg(cpu, in, X86_RDI), size);
			x86_set_cc(cpu, X86_CC_SUB, size, a - b, a, b);
			advance(cpu, in, X86_RSI, size);
			advance(cpu, in, X86_RDI, size);
			break;
		}
		case 0xaa:
		case 0xab:
			x86_mem_write(cpu, X86_ES, sreg(cpu, in, X86_RDI), size, cpu->gpr[X86_RAX]);
			advance(cpu, in, X86_RDI, size);
			break;
		case 0xac:
		case 0xad: {
			uint64_t v = x86_mem_read(cpu, in->seg, sreg(cpu, in, X86_RSI), size);
			x86_set_reg(cpu, in, X86_RAX, size, v);
			advance(cpu, in, X86_RSI, size);
			break;
		}
		default: { /* scas */
			uint64_t a = cpu->gpr[X86_RAX] & x86_mask(size);
			uint64_t b = x86_mem_read(cpu, X86_ES, sreg(cpu, in, X86_RDI), size);
			x86_set_cc(cpu, X86_CC_SUB, size, a - b, a, b);
			advance(cpu, in, X86_RDI, size);
			break;
		}
		}
		slice++;
		if (!rep)
			break;
		count--;
		x86_set_reg(cpu, in, X86_RCX, in->addrsize, count);
		if (cmp) {
			bool zf = x86_cond(cpu, 4);
			if (repne ? zf : !zf)
				break;
		}
		if (__builtin_expect(cpu->dbg_hits, 0) && count) {
			/* a data breakpoint hit before the last iteration: the #DB
			 * trap comes with RIP still here and RF set, to resume */
			cpu->next_rip = cpu->rip;
			cpu->rflags |= X86_RFLAGS_RF;
			return X86_EXEC_END_BLOCK;
		}
	}
	return 0;
}
