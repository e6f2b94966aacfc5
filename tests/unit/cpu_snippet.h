/* Running a few instruction bytes on the software CPU, for the x87 and
 * SSE unit tests: one VM with 16 MiB, 64-bit flat mode, code at
 * SNIP_CODE and a data page at SNIP_DATA (RBX points there). */
#ifndef MINIVMM_TEST_CPU_SNIPPET_H
#define MINIVMM_TEST_CPU_SNIPPET_H

#include <stdbool.h>
#include <string.h>

#include "core/vm.h"
#include "cpu/x86/cpu.h"
#include "cpu/x86/fpu_internal.h"
#include "tcg_vm.h"

#define SNIP_CODE 0x200000ull
#define SNIP_DATA 0x300000ull
#define SNIP_PT 0xe00000ull

struct snip {
	struct vm vm;
	struct x86_cpu *cpu;
	int vector;		/* exception taken, or -1 */
};

/* Returns 0 or a negative errno */
static inline int snip_init(struct snip *s)
{
	return tcg_vm_init(&s->vm, 16 << 20, &s->cpu);
}

/* CPL3 like a Linux process (CR0.NE/MP, CR4.OSFXSR/OSXMMEXCPT), the FPU
 * as after FNINIT with MXCSR 0x1f80, the data page zeroed */
static inline void snip_reset(struct snip *s)
{
	struct x86_cpu *cpu = s->cpu;
	x86_cpu_setup_flat64(cpu, 3, SNIP_PT);
	x86_fpu_reset(&cpu->fpu);
	memset(cpu->gpr, 0, sizeof(cpu->gpr));
	cpu->gpr[X86_RBX] = SNIP_DATA;
	cpu->gpr[X86_RSP] = SNIP_DATA + 0x800;
	static const uint8_t zero[4096];
	x86_write_lin(cpu, SNIP_DATA, zero, sizeof(zero), false);
}

static inline void snip_mem_write(struct snip *s, uint64_t off, const void *p, unsigned n)
{
	x86_write_lin(s->cpu, SNIP_DATA + off, p, n, false);
}

static inline void snip_mem_read(struct snip *s, uint64_t off, void *p, unsigned n)
{
	guest_mem_read(&s->vm.mem, SNIP_DATA + off, p, n);
}

/* Run the bytes; true when they ran to the end, false when an exception
 * (in s->vector) stopped them with RIP at the faulting instruction */
static inline bool snip_run(struct snip *s, const uint8_t *code, unsigned len)
{
	struct x86_cpu *cpu = s->cpu;
	uint8_t buf[256];
	memset(buf, 0xcc, sizeof(buf));
	memcpy(buf, code, len);
	x86_write_lin(cpu, SNIP_CODE, buf, sizeof(buf), false);
	cpu->rip = SNIP_CODE;
	cpu->stop_rip = SNIP_CODE + len;
	cpu->exit_on_exception = true;
	cpu->exc_vector = -1;
	s->vector = -1;
	enum x86_exit ex = x86_cpu_run(cpu, 64);
	if (ex == X86_EXIT_STOP)
		return true;
	s->vector = ex == X86_EXIT_EXCEPTION ? cpu->exc_vector : -2;
	return false;
}

#define SNIP_RUN(s, code) snip_run((s), (code), sizeof(code))

/* The test program's one VM, made by the first test that needs it and
 * reset for each test */
static struct snip S;
static bool snip_ok;

static inline bool snip_setup(void)
{
	if (!snip_ok) {
		if (snip_init(&S) < 0)
			return false;
		snip_ok = true;
	}
	snip_reset(&S);
	return true;
}

/* in a TEST (test.h): skip it when the VM cannot be made */
#define NEED_CPU()                                    \
	do {                                          \
		if (!snip_setup())                    \
			SKIP("cannot create the VM"); \
	} while (0)

static inline uint32_t f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static inline uint64_t f64_bits(double d)
{
	uint64_t u;
	memcpy(&u, &d, 8);
	return u;
}

static inline double bits_f64(uint64_t u)
{
	double d;
	memcpy(&d, &u, 8);
	return d;
}

static inline float bits_f32(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

#endif
