/* Loading a guest kernel into RAM and putting the boot CPU where that
 * kernel expects to start.  The loaders print one error line naming the
 * problem and return a negative errno; they never trust a field of the
 * image without checking it against the file size and guest RAM. */
#ifndef MINIVMM_BOOT_H
#define MINIVMM_BOOT_H

#include <stdint.h>

struct vm;
struct vcpu;

enum boot_cpu_mode {
	BOOT_MODE_REAL16,	/* CS:IP, flat 64 KiB segments */
	BOOT_MODE_PROT32,	/* flat 4 GiB code and data, paging off (Multiboot, PVH) */
	BOOT_MODE_LONG64,	/* identity-mapped 64-bit mode */
};

struct boot_entry {
	enum boot_cpu_mode mode;
	uint64_t rip;		/* in real mode: CS = rip >> 4 & 0xf000, IP = rest */
	uint64_t gpr[16];	/* initial general registers (enum x86_gpr) */
};

/* Load vm->cfg.kernel (with -initrd and -append) and fill *entry. */
int boot_load(struct vm *vm, struct boot_entry *entry);

/* From now on keep a copy of each file boot_load reads, and let later
 * loads (a reset) use the copy: the machine boots again what it booted
 * at start-up, even if the files changed or went away.  0 or -ENOMEM.
 * boot_files_free drops the copies. */
int boot_keep_files(struct vm *vm);
void boot_files_free(struct vm *vm);

/* Put vcpu into entry->mode at entry->rip: writes a GDT and, for long
 * mode, identity page tables into guest RAM, then sets the registers
 * through the engine. */
int boot_setup_cpu(struct vm *vm, struct vcpu *vcpu, const struct boot_entry *entry);
/* What a BIOS leaves in every vCPU's MTRRs for a directly booted kernel:
 * enabled, all of memory write-back (without it Linux turns PAT off) */
int boot_setup_mtrrs(struct vm *vm);

#endif
