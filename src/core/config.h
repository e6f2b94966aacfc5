/* What the user asked for: filled by the command line parser, read by the
 * rest of the monitor.  Strings point into argv. */
#ifndef MINIVMM_CONFIG_H
#define MINIVMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define VM_MAX_VCPUS 64
#define VM_DEFAULT_RAM (128ull << 20)

enum accel_choice {
	ACCEL_AUTO,	/* kvm when /dev/kvm opens, else tcg with a notice */
	ACCEL_KVM,
	ACCEL_TCG,
};

/* Where a character stream (serial port, debugcon) goes */
enum chardev_kind {
	CHARDEV_NONE,
	CHARDEV_STDIO,
	CHARDEV_FILE,
};

struct chardev_config {
	enum chardev_kind kind;
	const char *path;	/* CHARDEV_FILE */
};

struct vm_config {
	uint64_t ram_size;
	unsigned smp;
	const char *kernel;
	const char *initrd;
	const char *append;
	enum accel_choice accel;
	bool nographic;
	bool no_reboot;
	bool no_shutdown;
	bool nodefaults;
	bool display_none;
	struct chardev_config serial;	/* COM1 */
	struct chardev_config debugcon;	/* port 0xe9 */
	bool debug_exit;
	uint16_t debug_exit_iobase;
	uint16_t debug_exit_iosize;
	bool pc_testdev;
	unsigned debug_mask;	/* enum debug_mask bits from -d */
	const char *debug_logfile;	/* -D */
};

void vm_config_defaults(struct vm_config *cfg);

#endif
