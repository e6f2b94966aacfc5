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

#define VM_MAX_DRIVES 16

/* -drive: an image and how to open it (block/block.h opens it) */
enum drive_format {
	DRIVE_FORMAT_PROBE,	/* no format=: look at the file (and warn, as QEMU does) */
	DRIVE_FORMAT_RAW,
	DRIVE_FORMAT_QCOW2,
};

enum drive_interface {
	DRIVE_IF_NONE,		/* if=none: a -device names it with drive=ID */
	DRIVE_IF_VIRTIO,	/* if=virtio: gets a virtio-blk device of its own */
	DRIVE_IF_IDE,		/* the default when if= is missing, as in QEMU */
};

enum drive_cache {
	DRIVE_CACHE_WRITEBACK,	/* host page cache; FLUSH makes it durable (default) */
	DRIVE_CACHE_NONE,	/* O_DIRECT; FLUSH makes it durable */
	DRIVE_CACHE_WRITETHROUGH,	/* every write durable before it completes */
	DRIVE_CACHE_DIRECTSYNC,	/* O_DIRECT and writethrough */
	DRIVE_CACHE_UNSAFE,	/* FLUSH is ignored */
};

enum drive_aio {
	DRIVE_AIO_THREADS,	/* a worker pool (default) */
	DRIVE_AIO_IO_URING,
};

enum drive_discard {
	DRIVE_DISCARD_IGNORE,	/* DISCARD succeeds and does nothing (default) */
	DRIVE_DISCARD_UNMAP,	/* DISCARD frees space in the image */
};

enum drive_detect_zeroes {
	DRIVE_DETECT_ZEROES_OFF,
	DRIVE_DETECT_ZEROES_ON,		/* all-zero writes become write-zeroes */
	DRIVE_DETECT_ZEROES_UNMAP,	/* ... with unmap, when discard=unmap */
};

struct drive_config {
	const char *id;		/* id=, or one made up for if=virtio */
	const char *file;	/* a path, or an nbd:// / nbd+unix:// URI */
	enum drive_format format;
	enum drive_interface interface;
	bool readonly;
	enum drive_cache cache;
	/* what cache= (and cache.direct=, cache.no-flush=) mean, as the
	 * block layer uses them */
	bool direct;		/* O_DIRECT: bypass the host page cache */
	bool no_flush;		/* FLUSH does nothing (unsafe) */
	bool writethrough;	/* every write durable before it completes */
	enum drive_aio aio;
	enum drive_discard discard;
	enum drive_detect_zeroes detect_zeroes;
	const char *serial;	/* serial=: what the guest reads as the disk's ID */
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
	struct drive_config drives[VM_MAX_DRIVES];	/* -drive, in order */
	unsigned nr_drives;
	/* where option values that are not whole arguments (ids, serial
	 * numbers out of "a,key=value" lists) are kept, NUL-terminated */
	char strings[8192];
	unsigned strings_used;
};

void vm_config_defaults(struct vm_config *cfg);

#endif
