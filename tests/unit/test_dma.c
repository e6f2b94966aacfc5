/* Device writes into guest RAM (mem/dma.h): the dirty bitmap, and the
 * software CPU dropping code a device overwrote from another thread
 * before it runs that code again. */
#include "test.h"

#include <errno.h>
#include <pthread.h>

#include "accel/accel.h"
#include "cpu/x86/cpu.h"
#include "cpu/x86/internal.h"
#include "mem/dma.h"
#include "tcg_vm.h"

#define PT_BASE 0x10000ull
#define CODE 0x100000ull
#define DATA 0x200000ull

TEST(dirty_bitmap)
{
	struct guest_mem gm;
	CHECK_EQ(guest_mem_init_pc(&gm, 16ull << 20), 0);
	CHECK(!guest_mem_test_and_clear_dirty(&gm, 0x5000));
	guest_mem_mark_dirty(&gm, 0x4fff, 2);
	CHECK(guest_mem_test_and_clear_dirty(&gm, 0x4000));
	CHECK(guest_mem_test_and_clear_dirty(&gm, 0x5abc));
	CHECK(!guest_mem_test_and_clear_dirty(&gm, 0x5000));	/* taken */
	CHECK(!guest_mem_test_and_clear_dirty(&gm, 0x6000));
	/* bytes past RAM are ignored, the RAM part is marked */
	guest_mem_mark_dirty(&gm, (16ull << 20) - 1, 8192);
	CHECK(guest_mem_test_and_clear_dirty(&gm, (16ull << 20) - 1));
	CHECK(!guest_mem_test_and_clear_dirty(&gm, 16ull << 20));
	guest_mem_mark_dirty(&gm, ~0ull - 10, 100);	/* wraps: nothing */
	CHECK(!guest_mem_test_and_clear_dirty(&gm, 0));
	guest_mem_destroy(&gm);
}

struct patch {
	struct vm *vm;
	uint64_t gpa;
	uint32_t imm;
	int ret;
};

static void *patch_thread(void *arg)
{
	struct patch *p = arg;
	p->ret = dma_write(p->vm, p->gpa, &p->imm, sizeof(p->imm));
	return NULL;
}

/* Run "mov eax, imm32; hlt" at CODE through the engine, as the run loop does */
static uint64_t run_code(struct vm *vm, struct x86_cpu *cpu)
{
	cpu->rip = CODE;
	cpu->halted = false;
	cpu->gpr[X86_RAX] = 0;
	vm->accel->vcpu_run(&vm->vcpus[0]);
	return cpu->gpr[X86_RAX];
}

TEST(device_write_invalidates_code_from_another_thread)
{
	static struct vm vm;
	struct x86_cpu *cpu;
	if (tcg_vm_init(&vm, 32ull << 20, &cpu) < 0)
		SKIP("cannot set up the machine");
	x86_cpu_reset(cpu, true);
	x86_cpu_setup_flat64(cpu, 0, PT_BASE);
	cpu->rflags &= ~X86_RFLAGS_IF;
	static const uint8_t code[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xf4 };	/* mov eax, 1; hlt */
	guest_mem_write(&vm.mem, CODE, code, sizeof(code));
	x86_block_cache_flush(cpu->bc);
	CHECK_EQ(run_code(&vm, cpu), 1);
	CHECK(x86_is_code_page(cpu->bc, CODE));
	uint64_t translated = cpu->blocks_translated;
	CHECK_EQ(run_code(&vm, cpu), 1);
	CHECK_EQ(cpu->blocks_translated, translated);	/* from the cache */

	/* a device on another thread rewrites the immediate */
	struct patch p = { .vm = &vm, .gpa = CODE + 1, .imm = 2 };
	pthread_t t;
	pthread_create(&t, NULL, patch_thread, &p);
	pthread_join(t, NULL);
	CHECK_EQ(p.ret, 0);
	CHECK(atomic_load(&cpu->kick));	/* the vCPU is told to look */
	CHECK(guest_mem_test_and_clear_dirty(&vm.mem, CODE));
	CHECK_EQ(run_code(&vm, cpu), 2);
	CHECK(cpu->blocks_translated > translated);

	/* a page without code: no kick, nothing queued */
	atomic_store(&cpu->kick, false);
	p = (struct patch){ .vm = &vm, .gpa = DATA, .imm = 7 };
	pthread_create(&t, NULL, patch_thread, &p);
	pthread_join(t, NULL);
	CHECK(!atomic_load(&cpu->kick));
	CHECK(guest_mem_test_and_clear_dirty(&vm.mem, DATA));
	/* and outside RAM: refused, nothing written */
	p = (struct patch){ .vm = &vm, .gpa = (32ull << 20) - 2, .imm = 7 };
	patch_thread(&p);
	CHECK_EQ(p.ret, -EFAULT);
	CHECK(!guest_mem_test_and_clear_dirty(&vm.mem, (32ull << 20) - 2));
	vm_destroy(&vm);
}

RUN_TESTS(T(dirty_bitmap), T(device_write_invalidates_code_from_another_thread))
