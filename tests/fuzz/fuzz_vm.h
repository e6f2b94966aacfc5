/* Shared set-up of the boot-loader fuzz targets: one PC-shaped vm with
 * guest RAM and an accelerator that only keeps the registers the boot CPU
 * set-up writes, plus a scratch file (an initrd or module) that lives as
 * long as the fuzzer.  Each target includes this once. */
#ifndef MINIVMM_FUZZ_VM_H
#define MINIVMM_FUZZ_VM_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/vm.h"
#include "fuzz_no_tcg.h"

static struct vm vm;
static struct x86_regs fuzz_regs;
static struct x86_sregs fuzz_sregs;
static char fuzz_file_path[64];

static int fuzz_get_sregs(struct vcpu *vcpu, struct x86_sregs *s)
{
	(void)vcpu;
	*s = fuzz_sregs;
	return 0;
}

static int fuzz_set_sregs(struct vcpu *vcpu, const struct x86_sregs *s)
{
	(void)vcpu;
	fuzz_sregs = *s;
	return 0;
}

static int fuzz_set_regs(struct vcpu *vcpu, const struct x86_regs *r)
{
	(void)vcpu;
	fuzz_regs = *r;
	return 0;
}

static const struct accel_ops fuzz_accel = {
	.name = "fuzz",
	.get_sregs = fuzz_get_sregs,
	.set_sregs = fuzz_set_sregs,
	.set_regs = fuzz_set_regs,
};

static void fuzz_remove_file(void)
{
	unlink(fuzz_file_path);
}

/* One vCPU and ram bytes of RAM; a file /tmp/minivmm-fuzz-<tag>-<pid>
 * holding contents, named by fuzz_file_path and removed at exit. */
static void fuzz_vm_init(uint64_t ram, const char *tag, const char *contents)
{
	if (guest_mem_init_pc(&vm.mem, ram) < 0)
		abort();
	vm.cfg.ram_size = ram;
	vm.accel = &fuzz_accel;
	vm.nr_vcpus = 1;
	vm.vcpus[0].vm = &vm;
	snprintf(fuzz_file_path, sizeof(fuzz_file_path), "/tmp/minivmm-fuzz-%s-%d", tag,
		 (int)getpid());
	FILE *f = fopen(fuzz_file_path, "w");
	if (!f)
		abort();
	fputs(contents, f);
	fclose(f);
	atexit(fuzz_remove_file);
}

/* A private, writable copy of the input after its skip control bytes (the
 * loaders may not write the fuzzer's buffer; the harness plants fields);
 * NULL if the input is shorter than skip or larger than max. */
static uint8_t *fuzz_input_copy(const uint8_t *data, size_t *size, size_t skip, uint64_t max)
{
	if (*size < skip || *size > max)
		return NULL;
	*size -= skip;
	uint8_t *buf = malloc(*size ? *size : 1);
	if (buf)
		memcpy(buf, data + skip, *size);
	return buf;
}

#endif
