/* A machine on the software CPU for the CPU unit tests: vm_init with
 * the tcg engine, one vCPU and ram_size bytes of RAM, no devices. */
#ifndef MINIVMM_TEST_TCG_VM_H
#define MINIVMM_TEST_TCG_VM_H

#include "accel/accel.h"
#include "core/vm.h"
#include "cpu/x86/cpu.h"

/* *cpu is vCPU 0's software CPU; interpret: -accel tcg,jit=off.  Returns
 * 0, or a negative errno with whatever vm_init got to made undone. */
static inline int tcg_vm_init_mode(struct vm *vm, uint64_t ram_size, struct x86_cpu **cpu,
				   bool interpret)
{
	struct vm_config cfg;
	vm_config_defaults(&cfg);
	cfg.tcg_interpret = interpret;
	cfg.ram_size = ram_size;
	cfg.smp = 1;
	int ret = vm_init(vm, &cfg, &tcg_accel_ops);
	if (ret < 0) {
		vm_destroy(vm);
		return ret;
	}
	*cpu = vm->vcpus[0].engine;
	return 0;
}

/* The default engine: the translator */
static inline int tcg_vm_init(struct vm *vm, uint64_t ram_size, struct x86_cpu **cpu)
{
	return tcg_vm_init_mode(vm, ram_size, cpu, false);
}

#endif
