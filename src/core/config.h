/* What the user asked for: filled by the command line parser, read by the
 * rest of the monitor.  Strings point into argv. */
#ifndef MINIVMM_CONFIG_H
#define MINIVMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define VM_MAX_VCPUS 64
#define VM_DEFAULT_RAM (128ull << 20)

enum accel_choice {
	ACCEL_AUTO,	/* kvm when /dev/kvm opens, else tcg with a notice */
	ACCEL_KVM,
	ACCEL_TCG,
};

/* Where a character stream (serial port, debugcon, virtio console port)
 * goes, and where its input comes from: -serial/-debugcon forms, or a
 * -chardev that a device names by id (core/chardev.h opens it) */
enum chardev_kind {
	CHARDEV_NONE,		/* -serial none: no device at all */
	CHARDEV_STDIO,
	CHARDEV_FILE,
	CHARDEV_SOCKET,		/* a stream socket: unix (path) or tcp (host, port) */
	CHARDEV_PTY,		/* a pseudo-terminal whose name is printed at start */
	CHARDEV_NULL,		/* -chardev null: output vanishes, no input */
};

struct chardev_config {
	enum chardev_kind kind;
	const char *path;	/* FILE; a unix SOCKET */
	const char *id;		/* -chardev id=; NULL for the -serial/-debugcon forms */
	/* SOCKET */
	bool tcp;		/* host and port, else path */
	const char *host;	/* tcp: a name or numeric address; "" is any (server) */
	uint16_t port;
	bool server;		/* server=on: listen for one client at a time */
	bool wait;		/* server: wait for the first client before starting */
	bool nodelay;		/* tcp: TCP_NODELAY */
	/* FILE */
	bool append;		/* append=on: keep what the file holds */
	/* STDIO */
	bool signal;		/* signal=on (default): Ctrl-C stops minivmm */
};

/* -chardev: back-ends that devices name by id */
#define VM_MAX_CHARDEV_CONFIGS 8

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
	bool cdrom;		/* media=cdrom (read-only) */
	int index;		/* if=ide: 0-3 (primary master, slave, secondary ...); -1 unset */
};


/* ---- networking: -netdev (a back-end, src/net/net.h opens it) and -nic ----
 * A network device finds its back-end by id: -device virtio-net-pci,netdev=ID
 * (and the device half of a -nic) name a -netdev's id, which
 * vm_config_find_netdev looks up.  A back-end serves one device: a second
 * device naming the same id is a command-line error, as in QEMU. */
#define VM_MAX_NETDEVS 8
#define VM_MAX_NICS VM_MAX_NETDEVS
#define NETDEV_MAX_QUEUES 16		/* tap queues=N */
#define NETDEV_MAX_HOSTFWD 16
#define NETDEV_MAX_GUESTFWD 8
#define NETDEV_MAX_DNSSEARCH 8
#define NETDEV_TEXT_SIZE 2048		/* room for a netdev's strings */

enum netdev_type {
	NETDEV_USER,	/* libslirp */
	NETDEV_TAP,
	NETDEV_STREAM,	/* stream, and socket with listen=/connect= */
	NETDEV_DGRAM,	/* dgram, and socket with udp=/mcast= */
};

/* A socket address as given; names are resolved when the back-end opens */
enum netdev_addr_type {
	NETDEV_ADDR_NONE,
	NETDEV_ADDR_INET,
	NETDEV_ADDR_UNIX,
	NETDEV_ADDR_FD,		/* a socket minivmm inherited */
};

struct netdev_addr {
	enum netdev_addr_type type;
	const char *host;	/* INET: name or numeric address; "" is any (listen) */
	uint16_t port;		/* INET */
	const char *path;	/* UNIX */
	int fd;			/* FD */
};

/* hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT; IPv4 in host
 * byte order */
struct netdev_hostfwd {
	bool udp;
	uint32_t host_addr;	/* 0: every address */
	uint16_t host_port;	/* 0: any free port */
	uint32_t guest_addr;	/* 0: the first DHCP address */
	uint16_t guest_port;
};

enum netdev_guestfwd_kind {
	NETDEV_GUESTFWD_CMD,	/* cmd:COMMAND, run by /bin/sh for each connection */
	NETDEV_GUESTFWD_UNIX,	/* unix:PATH, a Unix socket connected to for each one */
};

/* guestfwd=tcp:[ADDR]:PORT-cmd:COMMAND|unix:PATH */
struct netdev_guestfwd {
	uint32_t addr;		/* 0: the fourth address of the network (10.0.2.4) */
	uint16_t port;
	enum netdev_guestfwd_kind kind;
	const char *target;
};

struct netdev_user {
	bool restricted;	/* restrict=on: only the forwarded ports */
	bool ipv4, ipv6;
	/* IPv4 in host byte order; net/mask given or 10.0.2.0/24, the rest
	 * derived from them as QEMU does when not given */
	uint32_t net, mask, host, dhcp_start, dns;
	uint8_t ipv6_prefix[16], ipv6_host[16], ipv6_dns[16];
	unsigned ipv6_prefix_len;
	const char *hostname, *domainname, *tftp, *bootfile, *tftp_server_name;
	const char *dnssearch[NETDEV_MAX_DNSSEARCH + 1];	/* NULL-terminated */
	unsigned nr_hostfwd, nr_guestfwd;
	struct netdev_hostfwd hostfwd[NETDEV_MAX_HOSTFWD];
	struct netdev_guestfwd guestfwd[NETDEV_MAX_GUESTFWD];
};

enum netdev_vnet_hdr {
	NETDEV_VNET_HDR_AUTO,	/* on when the kernel offers it (QEMU's default) */
	NETDEV_VNET_HDR_ON,
	NETDEV_VNET_HDR_OFF,
};

struct netdev_tap {
	const char *ifname;	/* NULL: the kernel picks tapN */
	int fds[NETDEV_MAX_QUEUES];	/* fd=/fds=: open taps, one per queue */
	unsigned nr_fds;
	const char *script;	/* run with the interface name after creation; NULL: none */
	const char *downscript;	/* run the same way at exit; NULL: none */
	enum netdev_vnet_hdr vnet_hdr;
	unsigned queues;	/* 1 unless queues=N or fds= */
	bool vhost;		/* vhost=on: the device moves the data path to /dev/vhost-net */
	int vhostfds[NETDEV_MAX_QUEUES];	/* vhostfd=/vhostfds=: open /dev/vhost-net */
	unsigned nr_vhostfds;
};

struct netdev_stream {
	bool server;		/* listen for one peer at a time; else connect */
	struct netdev_addr addr;
};

struct netdev_dgram {
	struct netdev_addr local;	/* NONE: any port */
	/* where frames go; a multicast group is joined (and received from)
	 * with local.host as the interface */
	struct netdev_addr remote;
};

struct netdev_config {
	const char *id;
	enum netdev_type type;
	const char *type_name;	/* as the user wrote it: "socket" or "stream" */
	union {
		struct netdev_user user;
		struct netdev_tap tap;
		struct netdev_stream stream;
		struct netdev_dgram dgram;
	};
	char text[NETDEV_TEXT_SIZE];	/* the strings above point here */
	unsigned text_used;
};

/* The device half of -nic TYPE,...,model=M,mac=A: a network card of model
 * joined to the netdev the same -nic created (whose id is the -nic's id=,
 * or "#nicN" that no -device can name). */
struct nic_config {
	const char *netdev;	/* a netdevs[] id */
	const char *model;	/* "virtio-net-pci" */
	bool has_mac;
	uint8_t mac[6];		/* has_mac: a unicast address */
};

/* -device virtio-*-pci: what every virtio device takes */
struct virtio_common_config {
	bool packed;		/* packed=: offer VIRTIO_F_RING_PACKED (default on) */
	bool event_idx;		/* event_idx=: VIRTIO_F_EVENT_IDX (default on) */
	bool indirect_desc;	/* indirect_desc=: VIRTIO_F_INDIRECT_DESC (default on) */
	int vectors;		/* vectors=: MSI-X vectors, 0 for none; -1: the device's default */
};

/* -device virtio-rng-pci: QEMU's rate limit, max_bytes per period_ms */
struct virtio_rng_config {
	uint64_t max_bytes;	/* UINT64_MAX: no limit */
	uint64_t period_ms;
};

#define VIRTIO_PCI_MAX_VECTORS 128
#define VIRTIO_BLK_MAX_QUEUES 64
#define VIRTIO_BLK_DEFAULT_QUEUE_SIZE 256
#define VIRTIO_BLK_MAX_QUEUE_SIZE 1024
#define VIRTIO_BLK_SERIAL_MAX 20	/* the bytes GET_ID returns */

/* -device virtio-blk-pci, or a -drive if=virtio */
struct virtio_blk_config {
	const char *drive_id;	/* drive= */
	unsigned drive;		/* index into vm_config.drives, set once parsed */
	unsigned num_queues;	/* 0: one per vCPU */
	unsigned queue_size;
	const char *serial;	/* serial=, else the drive's */
	bool discard;		/* discard=: VIRTIO_BLK_F_DISCARD (writable drives) */
	bool write_zeroes;	/* write-zeroes=: VIRTIO_BLK_F_WRITE_ZEROES */
	bool discard_given, write_zeroes_given;
	int bootindex;		/* bootindex=: firmware boot order; -1: none */
};

#define VIRTIO_NET_DEFAULT_QUEUE_SIZE 256
#define VIRTIO_NET_MAX_QUEUE_SIZE 1024

/* -device virtio-net-pci, or the card of a -nic */
struct virtio_net_config {
	const char *netdev_id;	/* netdev= */
	unsigned netdev;	/* index into vm_config.netdevs, set once parsed */
	bool has_mac;
	uint8_t mac[6];		/* mac=, else QEMU's 52:54:00:12:34:56 + the card's index */
	bool mq;		/* mq=on: a queue pair per back-end queue (tap queues=N) */
	unsigned rx_queue_size, tx_queue_size;
	uint64_t features_off;	/* VIRTIO_NET_F_* bits turned off (csum=off, mrg_rxbuf=off, ...) */
};

/* -device vhost-user-blk-pci */
struct vhost_user_blk_config {
	const char *chardev_id;	/* chardev= */
	const char *path;	/* that -chardev socket's path, set once parsed */
	unsigned num_queues;	/* 0: one per vCPU, at most what the back-end has */
	unsigned queue_size;
};

/* -device virtio-serial-pci: a bus of console ports (virtio-console
 * with VIRTIO_CONSOLE_F_MULTIPORT) */
#define VIRTIO_SERIAL_MAX_PORTS 31	/* QEMU's default max_ports; 64 queues */
#define VM_MAX_SERIAL_PORTS 32

struct virtio_serial_config {
	unsigned max_ports;	/* max_ports=: ports the guest sets up (1-31) */
};

/* -device virtconsole / virtserialport: a port on a virtio-serial bus */
struct virtio_serial_port_config {
	unsigned bus;		/* index into vm_config.virtio of its virtio-serial-pci */
	const char *bus_id;	/* bus=ID.0, as given; NULL: the last one before it */
	unsigned nr;		/* port number, set once parsed (nr= or the first free) */
	bool nr_given;
	bool console;		/* virtconsole: the guest makes it a console (hvc) */
	const char *chardev_id;	/* chardev=; NULL: a port with no back-end */
	int chardev;		/* index into vm_config.chardevs, set once parsed; -1: none */
	const char *name;	/* name=: what the guest sees (/dev/virtio-ports/NAME) */
};

/* Which transport carries a virtio device: -device virtio-*-pci or
 * virtio-*-device */
enum virtio_transport {
	VIRTIO_TRANSPORT_PCI,
	VIRTIO_TRANSPORT_MMIO,
};

enum virtio_device_type {
	VIRTIO_DEVICE_RNG,
	VIRTIO_DEVICE_BLK,
	VIRTIO_DEVICE_NET,
	VIRTIO_DEVICE_VHOST_USER_BLK,
	VIRTIO_DEVICE_SERIAL,
	VIRTIO_DEVICE_NR_TYPES,
};

#define VM_MAX_VIRTIO_DEVICES 24
#define VIRTIO_MMIO_MAX_DEVICES 8	/* -M microvm's transports, as QEMU's */

struct virtio_device_config {
	enum virtio_device_type type;
	enum virtio_transport transport;
	const char *id;		/* id= */
	struct virtio_common_config common;
	union {
		struct virtio_rng_config rng;
		struct virtio_blk_config blk;
		struct virtio_net_config net;
		struct vhost_user_blk_config vhost_user_blk;
		struct virtio_serial_config serial;
	};
};

/* -M / -machine */
enum machine_type {
	MACHINE_PC,		/* the default */
	MACHINE_MICROVM,	/* no PCI; virtio-mmio (hw/microvm.c) */
};

/* -M microvm's options, QEMU's names; each on unless turned off */
struct microvm_config {
	bool pic, pit, rtc;	/* i8259 pair, i8254, MC146818 */
	bool acpi;		/* ACPI tables; off: none at all */
	bool isa_serial;	/* COM1 */
	bool auto_kernel_cmdline;	/* virtio_mmio.device= for each transport */
};

/* -smbios type=0|1|2|3|4|11,...: the strings a user gave (NULL: the
 * default, boot/smbios.c), by table and field */
enum smbios_field {
	SMBIOS_BIOS_VENDOR, SMBIOS_BIOS_VERSION, SMBIOS_BIOS_DATE,
	SMBIOS_SYS_MANUFACTURER, SMBIOS_SYS_PRODUCT, SMBIOS_SYS_VERSION, SMBIOS_SYS_SERIAL,
	SMBIOS_SYS_SKU, SMBIOS_SYS_FAMILY,
	SMBIOS_BOARD_MANUFACTURER, SMBIOS_BOARD_PRODUCT, SMBIOS_BOARD_VERSION, SMBIOS_BOARD_SERIAL,
	SMBIOS_BOARD_ASSET, SMBIOS_BOARD_LOCATION,
	SMBIOS_CHASSIS_MANUFACTURER, SMBIOS_CHASSIS_VERSION, SMBIOS_CHASSIS_SERIAL,
	SMBIOS_CHASSIS_ASSET, SMBIOS_CHASSIS_SKU,
	SMBIOS_CPU_MANUFACTURER, SMBIOS_CPU_VERSION, SMBIOS_CPU_SERIAL, SMBIOS_CPU_ASSET,
	SMBIOS_CPU_PART,
	SMBIOS_FIELDS
};
#define SMBIOS_MAX_OEM_STRINGS 16

struct smbios_config {
	const char *field[SMBIOS_FIELDS];
	bool bios_release_given;	/* type=0,release=MAJOR.MINOR */
	uint8_t bios_release[2];
	bool uefi;			/* type=0,uefi=on */
	const char *oem_strings[SMBIOS_MAX_OEM_STRINGS];	/* type=11,value=... */
	unsigned nr_oem_strings;
	uint8_t uuid[16];	/* -uuid or type=1,uuid=, as written (big-endian
				 * fields); all zero when not given, as QEMU's */
};

struct vm_config {
	enum machine_type machine;
	struct microvm_config microvm;
	uint64_t ram_size;
	/* -machine memory-backend= naming a memory-backend-memfd: guest RAM
	 * in a memfd, MAP_SHARED when ram_shared (share=on), so its fd can be
	 * handed to a vhost-user back-end */
	bool ram_memfd;
	bool ram_shared;
	unsigned smp;
	const char *kernel;
	const char *initrd;
	const char *append;
	enum accel_choice accel;
	bool tcg_interpret;		/* -accel tcg,jit=off: no translation to host code */
	uint64_t tcg_tb_size;		/* -accel tcg,tb-size=MiB, in bytes; 0: the default */
	bool nographic;
	bool no_reboot;
	bool no_shutdown;
	bool nodefaults;
	bool display_none;
	struct chardev_config serial;	/* COM1 (a copy of the -chardev for chardev:ID) */
	struct chardev_config debugcon;	/* port 0xe9 */
	uint16_t debugcon_port;	/* -global isa-debugcon.iobase=N; 0: 0xe9 */
	/* -bios FILE; NULL: the default firmware when there is no -kernel
	 * (hw/pc_bios.h) */
	const char *bios;
	/* -boot order=...: the drive letters, in order (c: disk, d: CD-ROM,
	 * n: network); "" leaves the order to the firmware */
	char boot_order[8];
	bool boot_menu;		/* -boot menu=on */
	bool debug_exit;
	uint16_t debug_exit_iobase;
	uint16_t debug_exit_iosize;
	bool pc_testdev;
	unsigned debug_mask;	/* enum debug_mask bits from -d */
	const char *debug_logfile;	/* -D */
	struct chardev_config chardevs[VM_MAX_CHARDEV_CONFIGS];	/* -chardev, in order */
	unsigned nr_chardevs;
	struct drive_config drives[VM_MAX_DRIVES];	/* -drive, in order */
	unsigned nr_drives;
	struct netdev_config netdevs[VM_MAX_NETDEVS];	/* -netdev and -nic, in order */
	unsigned nr_netdevs;
	struct nic_config nics[VM_MAX_NICS];	/* -nic */
	unsigned nr_nics;
	/* any of -netdev, -nic, -net given: QEMU adds its default "-nic user"
	 * only when this is false and -nodefaults is not given; whether
	 * minivmm does is the board's choice */
	bool net_configured;
	struct virtio_device_config virtio[VM_MAX_VIRTIO_DEVICES];	/* in PCI slot order */
	unsigned nr_virtio;
	struct virtio_serial_port_config serial_ports[VM_MAX_SERIAL_PORTS];	/* in order */
	unsigned nr_serial_ports;
	struct smbios_config smbios;
	/* where option values that are not whole arguments (ids, serial
	 * numbers out of "a,key=value" lists) are kept, NUL-terminated */
	char strings[8192];
	unsigned strings_used;
};

void vm_config_defaults(struct vm_config *cfg);

/* The -chardev with id=ID, or NULL */
static inline const struct chardev_config *vm_config_find_chardev(const struct vm_config *cfg,
								   const char *id)
{
	for (unsigned i = 0; i < cfg->nr_chardevs; i++)
		if (!strcmp(cfg->chardevs[i].id, id))
			return &cfg->chardevs[i];
	return NULL;
}

static inline const struct netdev_config *vm_config_find_netdev(const struct vm_config *cfg,
								 const char *id)
{
	for (unsigned i = 0; i < cfg->nr_netdevs; i++)
		if (!strcmp(cfg->netdevs[i].id, id))
			return &cfg->netdevs[i];
	return NULL;
}

#endif
