/* The command line: the part of qemu-system-x86_64's options that makes
 * sense for a PC booted straight into a kernel.  Options take one dash or
 * two; option values that QEMU writes as "a,key=value" lists are parsed the
 * same way here.  Every problem is one line on err that names the option as
 * the user spelled it, so a script that worked with QEMU fails loudly here
 * rather than running a different machine. */
#include "cli/cli_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <string.h>

#include "core/log.h"
#include "core/version.h"
#include "mem/guest_mem.h"

/* ---- options ---- */

static enum cli_result opt_memory(struct cli *c, const char *arg)
{
	struct kv_iter it = { .p = arg, .implied = "size" };
	struct kv kv;
	bool have_size = false;
	uint64_t size = 0;

	while (kv_next(&it, &kv)) {
		if (kv_key_is(&kv, "size")) {
			int ret = parse_size(kv.val, kv.val_len, &size);
			if (ret == -ERANGE)
				return cli_fail(c, "size '%.*s' is too large", (int)kv.val_len,
						kv.val);
			if (ret < 0)
				return cli_fail(c, "invalid size '%.*s'", (int)kv.val_len, kv.val);
			have_size = true;
		} else if (kv_key_is(&kv, "slots") || kv_key_is(&kv, "maxmem")) {
			return cli_fail(c, "memory hotplug (%.*s=) is not supported",
					(int)kv.key_len, kv.key);
		} else {
			return kv_unknown(c, &kv);
		}
	}
	if (!have_size)
		return cli_fail(c, "missing size");
	if (size == 0)
		return cli_fail(c, "RAM size must not be zero");
	if (size > GUEST_MEM_MAX_SIZE)
		return cli_fail(c, "RAM size %llu MiB is above the limit of %llu MiB",
				(unsigned long long)(size >> 20),
				(unsigned long long)(GUEST_MEM_MAX_SIZE >> 20));
	c->cfg->ram_size = (size + RAM_SIZE_ALIGN - 1) & ~(RAM_SIZE_ALIGN - 1);
	c->ram_size_given = true;
	return CLI_RUN;
}

enum smp_key { SMP_CPUS, SMP_MAXCPUS, SMP_SOCKETS, SMP_DIES, SMP_CLUSTERS, SMP_CORES,
	       SMP_THREADS, SMP_NR_KEYS };

static const char *const smp_keys[SMP_NR_KEYS] = {
	"cpus", "maxcpus", "sockets", "dies", "clusters", "cores", "threads",
};

/* "-smp 4", "-smp cpus=4", "-smp 4,sockets=2,cores=2": the topology is
 * checked as QEMU does, but only the CPU count reaches the machine. */
static enum cli_result opt_smp(struct cli *c, const char *arg)
{
	struct kv_iter it = { .p = arg, .implied = "cpus" };
	struct kv kv;
	uint64_t v[SMP_NR_KEYS] = { 0 };
	bool any = false;

	while (kv_next(&it, &kv)) {
		any = true;
		int k;
		for (k = 0; k < SMP_NR_KEYS; k++)
			if (kv_key_is(&kv, smp_keys[k]))
				break;
		if (k == SMP_NR_KEYS)
			return kv_unknown(c, &kv);
		if (kv_number(c, &kv, &v[k]) != CLI_RUN)
			return CLI_ERROR;
		if (v[k] < 1 || v[k] > VM_MAX_VCPUS)
			return cli_fail(c, "%s=%.*s is outside 1..%d", smp_keys[k],
					(int)kv.val_len, kv.val, VM_MAX_VCPUS);
	}

	if (!any)
		return cli_fail(c, "missing CPU count");

	uint64_t dies = v[SMP_DIES] ? v[SMP_DIES] : 1;
	uint64_t clusters = v[SMP_CLUSTERS] ? v[SMP_CLUSTERS] : 1;
	uint64_t threads = v[SMP_THREADS] ? v[SMP_THREADS] : 1;
	uint64_t sockets = v[SMP_SOCKETS], cores = v[SMP_CORES];
	uint64_t cpus = v[SMP_CPUS], maxcpus = v[SMP_MAXCPUS];

	if (!cpus && !maxcpus) {
		sockets = sockets ? sockets : 1;
		cores = cores ? cores : 1;
		cpus = maxcpus = sockets * dies * clusters * cores * threads;
	} else {
		maxcpus = maxcpus ? maxcpus : cpus;
		cpus = cpus ? cpus : maxcpus;
		/* fill in what is missing; with neither given, one socket of
		 * many cores (QEMU's choice for new machine types) */
		if (!sockets && !cores) {
			sockets = 1;
			cores = maxcpus / (dies * clusters * threads);
		} else if (!cores) {
			cores = maxcpus / (sockets * dies * clusters * threads);
		} else if (!sockets) {
			sockets = maxcpus / (dies * clusters * cores * threads);
		}
	}
	uint64_t product = sockets * dies * clusters * cores * threads;
	if (product != maxcpus)
		return cli_fail(c,
				"sockets (%llu) * dies (%llu) * clusters (%llu) * cores (%llu) * "
				"threads (%llu) is not maxcpus (%llu)",
				(unsigned long long)sockets, (unsigned long long)dies,
				(unsigned long long)clusters, (unsigned long long)cores,
				(unsigned long long)threads, (unsigned long long)maxcpus);
	if (cpus > maxcpus)
		return cli_fail(c, "cpus (%llu) is above maxcpus (%llu)", (unsigned long long)cpus,
				(unsigned long long)maxcpus);
	if (cpus > VM_MAX_VCPUS)
		return cli_fail(c, "%llu CPUs is above the limit of %d", (unsigned long long)cpus,
				VM_MAX_VCPUS);
	c->cfg->smp = (unsigned)cpus;
	return CLI_RUN;
}

static enum cli_result opt_path(struct cli *c, const char *arg, const char **field)
{
	if (!*arg)
		return cli_fail(c, "empty file name");
	*field = arg;
	return CLI_RUN;
}

static enum cli_result opt_kernel(struct cli *c, const char *arg)
{
	return opt_path(c, arg, &c->cfg->kernel);
}

static enum cli_result opt_bios(struct cli *c, const char *arg)
{
	return opt_path(c, arg, &c->cfg->bios);
}

/* -boot [order=]DRIVES[,menu=on|off]: QEMU's letters; a, b (floppies) and
 * n (network) have no device here and are refused */
static enum cli_result opt_boot(struct cli *c, const char *arg)
{
	struct kv_iter it = { .p = arg, .implied = "order" };
	struct kv kv;

	while (kv_next(&it, &kv)) {
		if (kv_key_is(&kv, "order") || kv_key_is(&kv, "once")) {
			if (kv.val_len >= sizeof(c->cfg->boot_order))
				return cli_fail(c, "order=%.*s: too many drives", (int)kv.val_len, kv.val);
			for (size_t i = 0; i < kv.val_len; i++) {
				char d = kv.val[i];
				if (d != 'c' && d != 'd')
					return cli_fail(c, "boot drive '%c' is not supported (c: disk, "
							   "d: CD-ROM)", d);
				if (memchr(kv.val, d, i))
					return cli_fail(c, "boot drive '%c' given twice", d);
			}
			memcpy(c->cfg->boot_order, kv.val, kv.val_len);
			c->cfg->boot_order[kv.val_len] = 0;
		} else if (kv_key_is(&kv, "menu")) {
			if (kv_val_is(&kv, "on"))
				c->cfg->boot_menu = true;
			else if (kv_val_is(&kv, "off"))
				c->cfg->boot_menu = false;
			else
				return cli_fail(c, "menu=%.*s: on or off", (int)kv.val_len, kv.val);
		} else if (kv_key_is(&kv, "strict") || kv_key_is(&kv, "splash-time") ||
			   kv_key_is(&kv, "reboot-timeout")) {
			/* accepted; SeaBIOS' defaults are used */
		} else {
			return cli_fail(c, "unknown parameter '%.*s'", (int)kv.key_len,
					kv.key ? kv.key : kv.val);
		}
	}
	return CLI_RUN;
}

/* -global DRIVER.PROP=VALUE: only isa-debugcon.iobase, which moves the
 * debug console (SeaBIOS' log is on 0x402) */
static enum cli_result opt_global(struct cli *c, const char *arg)
{
	static const char prop[] = "isa-debugcon.iobase=";
	uint64_t port;
	if (strncmp(arg, prop, sizeof(prop) - 1))
		return cli_fail(c, "'%s' is not supported (only isa-debugcon.iobase=PORT)", arg);
	const char *v = arg + sizeof(prop) - 1;
	if (!parse_u64(v, strlen(v), &port) || port > 0xffff)
		return cli_fail(c, "iobase '%s' is not a port number", v);
	c->cfg->debugcon_port = (uint16_t)port;
	return CLI_RUN;
}

static enum cli_result opt_hda(struct cli *c, const char *arg)
{
	return cli_opt_ide_drive(c, arg, 0, false);
}

static enum cli_result opt_hdb(struct cli *c, const char *arg)
{
	return cli_opt_ide_drive(c, arg, 1, false);
}

static enum cli_result opt_hdc(struct cli *c, const char *arg)
{
	return cli_opt_ide_drive(c, arg, 2, false);
}

static enum cli_result opt_hdd(struct cli *c, const char *arg)
{
	return cli_opt_ide_drive(c, arg, 3, false);
}

static enum cli_result opt_cdrom(struct cli *c, const char *arg)
{
	return cli_opt_ide_drive(c, arg, 2, true);
}

static enum cli_result opt_initrd(struct cli *c, const char *arg)
{
	return opt_path(c, arg, &c->cfg->initrd);
}

static enum cli_result opt_append(struct cli *c, const char *arg)
{
	c->cfg->append = arg;
	return CLI_RUN;
}

static enum cli_result opt_logfile(struct cli *c, const char *arg)
{
	return opt_path(c, arg, &c->cfg->debug_logfile);
}

/* Repeated accelerators are tried in order, as in QEMU: "kvm, then tcg"
 * is exactly ACCEL_AUTO; tcg always starts, so nothing after it counts. */
static void cli_add_accel(struct cli *c, enum accel_choice choice)
{
	if (!c->accel_given)
		c->cfg->accel = choice;
	else if (c->cfg->accel == ACCEL_KVM && choice == ACCEL_TCG)
		c->cfg->accel = ACCEL_AUTO;
	c->accel_given = true;
}

static enum cli_result parse_accel_name(struct cli *c, const char *name, size_t len,
					enum accel_choice *choice)
{
	if (len == 3 && !memcmp(name, "kvm", 3))
		*choice = ACCEL_KVM;
	else if (len == 3 && !memcmp(name, "tcg", 3))
		*choice = ACCEL_TCG;
	else
		return cli_fail(c, "unsupported accelerator '%.*s' (kvm or tcg)", (int)len, name);
	return CLI_RUN;
}

static enum cli_result opt_accel(struct cli *c, const char *arg)
{
	struct kv_iter it = { .p = arg, .implied = "accel" };
	struct kv kv;
	enum accel_choice choice = ACCEL_AUTO;
	bool have_name = false;
	const char *tcg_only = NULL, *kvm_only = NULL;

	while (kv_next(&it, &kv)) {
		uint64_t n;
		if (kv_key_is(&kv, "accel")) {
			if (kv_val_is(&kv, "help")) {
				fprintf(c->out, "Accelerators supported: kvm tcg\n");
				return CLI_DONE;
			}
			if (parse_accel_name(c, kv.val, kv.val_len, &choice) != CLI_RUN)
				return CLI_ERROR;
			have_name = true;
		} else if (kv_key_is(&kv, "thread")) {
			/* one thread or several, the guest sees the same machine */
			if (!kv_val_is(&kv, "single") && !kv_val_is(&kv, "multi"))
				return cli_fail(c, "thread=%.*s: expected single or multi",
						(int)kv.val_len, kv.val);
			tcg_only = "thread";
		} else if (kv_key_is(&kv, "tb-size")) {
			/* the translated code buffer, in MiB as QEMU has it */
			if (kv_number(c, &kv, &n) != CLI_RUN)
				return CLI_ERROR;
			if (n < 4 || n > 65536)
				return cli_fail(c, "tb-size=%llu: expected 4 to 65536 (MiB)",
						(unsigned long long)n);
			c->cfg->tcg_tb_size = n << 20;
			tcg_only = "tb-size";
		} else if (kv_key_is(&kv, "jit")) {
			/* off: the interpreter alone, the reference the translator is checked against */
			if (kv_val_is(&kv, "on"))
				c->cfg->tcg_interpret = false;
			else if (kv_val_is(&kv, "off"))
				c->cfg->tcg_interpret = true;
			else
				return cli_fail(c, "jit=%.*s: expected on or off", (int)kv.val_len, kv.val);
			tcg_only = "jit";
		} else if (kv_key_is(&kv, "kernel-irqchip")) {
			/* the KVM engine always keeps the interrupt controllers in the kernel */
			if (!kv_val_is(&kv, "on"))
				return cli_fail(c, "kernel-irqchip=%.*s is not supported (only on)",
						(int)kv.val_len, kv.val);
			kvm_only = "kernel-irqchip";
		} else {
			return kv_unknown(c, &kv);
		}
	}
	if (!have_name)
		return cli_fail(c, "missing accelerator name (kvm or tcg)");
	if (tcg_only && choice != ACCEL_TCG)
		return cli_fail(c, "%s= applies to tcg only", tcg_only);
	if (kvm_only && choice != ACCEL_KVM)
		return cli_fail(c, "%s= applies to kvm only", kvm_only);
	cli_add_accel(c, choice);
	return CLI_RUN;
}

static enum cli_result opt_enable_kvm(struct cli *c, const char *arg)
{
	(void)arg;
	cli_add_accel(c, ACCEL_KVM);
	return CLI_RUN;
}

/* -M microvm's on|off options; QEMU's "auto" is on here */
static enum cli_result microvm_param(struct cli *c, const struct kv *kv)
{
	struct microvm_config *m = &c->cfg->microvm;
	static const struct { const char *key; size_t off; } opts[] = {
		{ "pic", offsetof(struct microvm_config, pic) },
		{ "pit", offsetof(struct microvm_config, pit) },
		{ "rtc", offsetof(struct microvm_config, rtc) },
		{ "acpi", offsetof(struct microvm_config, acpi) },
		{ "isa-serial", offsetof(struct microvm_config, isa_serial) },
		{ "auto-kernel-cmdline", offsetof(struct microvm_config, auto_kernel_cmdline) },
	};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (!kv_key_is(kv, opts[i].key))
			continue;
		bool *flag = (bool *)((char *)m + opts[i].off);
		if (kv_val_is(kv, "auto")) {
			*flag = true;
			return CLI_RUN;
		}
		return kv_bool(c, kv, flag);
	}
	return CLI_DONE;
}

static enum cli_result opt_machine(struct cli *c, const char *arg)
{
	struct kv_iter it = { .p = arg, .implied = "type" };
	struct kv kv;
	const char *microvm_only = NULL;
	size_t microvm_only_len = 0;

	while (kv_next(&it, &kv)) {
		enum cli_result r;
		if (kv_key_is(&kv, "type")) {
			if (kv_val_is(&kv, "help")) {
				fprintf(c->out, "Supported machines are:\n"
						"pc       Standard PC, booting a kernel directly "
						"(default)\n"
						"microvm  microvm (no PCI; virtio-mmio devices)\n");
				return CLI_DONE;
			}
			if (kv_val_is(&kv, "pc"))
				c->cfg->machine = MACHINE_PC;
			else if (kv_val_is(&kv, "microvm"))
				c->cfg->machine = MACHINE_MICROVM;
			else
				return cli_fail(c, "machine type '%.*s' is not supported (pc, microvm)",
						(int)kv.val_len, kv.val);
		} else if (kv_key_is(&kv, "accel")) {
			/* "kvm:tcg": try each in turn */
			const char *p = kv.val, *end = kv.val + kv.val_len;
			while (p <= end) {
				const char *colon = memchr(p, ':', (size_t)(end - p));
				size_t len = (size_t)((colon ? colon : end) - p);
				enum accel_choice choice;
				if (parse_accel_name(c, p, len, &choice) != CLI_RUN)
					return CLI_ERROR;
				cli_add_accel(c, choice);
				p += len + 1;
			}
		} else if (kv_key_is(&kv, "memory-backend")) {
			if (kv_string(c, &kv, &c->memory_backend) != CLI_RUN)
				return CLI_ERROR;
		} else if (kv.key && (r = microvm_param(c, &kv)) != CLI_DONE) {
			if (r == CLI_ERROR)
				return r;
			microvm_only = kv.key;
			microvm_only_len = kv.key_len;
		} else {
			return kv_unknown(c, &kv);
		}
	}
	if (microvm_only && c->cfg->machine != MACHINE_MICROVM)
		return cli_fail(c, "%.*s= is a microvm option (-M microvm,%.*s=...)",
				(int)microvm_only_len, microvm_only, (int)microvm_only_len,
				microvm_only);
	return CLI_RUN;
}

static enum cli_result opt_cpu(struct cli *c, const char *arg)
{
	struct kv_iter it = { .p = arg, .implied = "model" };
	struct kv kv;

	bool have_model = false;

	while (kv_next(&it, &kv)) {
		if (!kv_key_is(&kv, "model")) {
			const char *item = kv.key ? kv.key : kv.val;
			return cli_fail(c, "CPU features ('%.*s') are not supported: the engine "
					   "decides what CPUID shows",
					(int)(kv.val + kv.val_len - item), item);
		}
		if (kv_val_is(&kv, "help")) {
			fprintf(c->out, "Available CPU models:\n"
					"  host     the host CPU (KVM only)\n"
					"  max      everything the engine supports\n"
					"  qemu64   accepted; same as max\n");
			return CLI_DONE;
		}
		if (kv_val_is(&kv, "host"))
			c->cpu_host = true;
		else if (kv_val_is(&kv, "max") || kv_val_is(&kv, "qemu64"))
			c->cpu_host = false;
		else
			return cli_fail(c, "unsupported CPU model '%.*s' (host, max or qemu64)",
					(int)kv.val_len, kv.val);
		have_model = true;
	}
	if (!have_model)
		return cli_fail(c, "missing CPU model");
	return CLI_RUN;
}

static enum cli_result parse_chardev(struct cli *c, const char *arg, struct chardev_config *cd)
{
	if (!strcmp(arg, "stdio") || !strcmp(arg, "mon:stdio")) {
		/* there is no monitor: the Ctrl-A escapes are always on */
		*cd = (struct chardev_config){ .kind = CHARDEV_STDIO };
	} else if (!strcmp(arg, "none")) {
		*cd = (struct chardev_config){ .kind = CHARDEV_NONE };
	} else if (!strcmp(arg, "null")) {
		*cd = (struct chardev_config){ .kind = CHARDEV_FILE, .path = "/dev/null" };
	} else if (!strcmp(arg, "pty")) {
		*cd = (struct chardev_config){ .kind = CHARDEV_PTY };
	} else if (!strncmp(arg, "chardev:", 8)) {
		/* resolved once every -chardev is read (cli_chardevs_finish) */
		if (!arg[8])
			return cli_fail(c, "chardev: needs an id");
		*cd = (struct chardev_config){ .kind = CHARDEV_NONE, .id = arg + 8 };
	} else if (!strncmp(arg, "file:", 5)) {
		if (!arg[5])
			return cli_fail(c, "file: needs a path");
		*cd = (struct chardev_config){ .kind = CHARDEV_FILE, .path = arg + 5 };
	} else {
		return cli_fail(c, "unsupported backend '%s' (stdio, mon:stdio, file:PATH, pty, "
				   "chardev:ID, null or none)",
				arg);
	}
	return CLI_RUN;
}

static enum cli_result opt_serial(struct cli *c, const char *arg)
{
	/* QEMU gives a second -serial to COM2, which this PC does not have */
	if (c->serial_given)
		return cli_fail(c, "only one serial port (COM1) is supported");
	c->serial_given = true;
	return parse_chardev(c, arg, &c->cfg->serial);
}

static enum cli_result opt_debugcon(struct cli *c, const char *arg)
{
	if (c->debugcon_given)
		return cli_fail(c, "only one debug console (port 0xe9) is supported");
	c->debugcon_given = true;
	return parse_chardev(c, arg, &c->cfg->debugcon);
}

static enum cli_result opt_nographic(struct cli *c, const char *arg)
{
	(void)arg;
	/* COM1 on stdio is already the default; there is no window to drop */
	c->cfg->nographic = true;
	return CLI_RUN;
}

static enum cli_result opt_no_reboot(struct cli *c, const char *arg)
{
	(void)arg;
	c->cfg->no_reboot = true;
	return CLI_RUN;
}

static enum cli_result opt_no_shutdown(struct cli *c, const char *arg)
{
	(void)arg;
	c->cfg->no_shutdown = true;
	return CLI_RUN;
}

static enum cli_result opt_nodefaults(struct cli *c, const char *arg)
{
	(void)arg;
	c->cfg->nodefaults = true;
	return CLI_RUN;
}

static enum cli_result opt_display(struct cli *c, const char *arg)
{
	if (strcmp(arg, "none"))
		return cli_fail(c, "display '%s' is not supported (there is no display: use none)",
				arg);
	c->cfg->display_none = true;
	return CLI_RUN;
}

/* -vga, -vnc, -monitor, -parallel: devices this PC never has, so
 * "none" is what the user gets anyway */
static enum cli_result opt_none_only(struct cli *c, const char *arg)
{
	if (strcmp(arg, "none"))
		return cli_fail(c, "'%s' is not supported (only none)", arg);
	return CLI_RUN;
}

static enum cli_result opt_debug(struct cli *c, const char *arg)
{
	const char *bad = NULL;
	int bad_len = 0;
	unsigned mask;

	if (debug_mask_parse(arg, &mask, &bad, &bad_len) < 0) {
		if (bad_len == 4 && !strncmp(bad, "help", 4)) {
			fflush(c->out);
			debug_mask_print_help();
			fflush(stdout);
			return CLI_DONE;
		}
		return cli_fail(c, "unknown log item '%.*s' (-d help lists them)", bad_len, bad);
	}
	/* as in QEMU, the last -d replaces the others */
	c->cfg->debug_mask = mask;
	return CLI_RUN;
}

static enum cli_result opt_help(struct cli *c, const char *arg);

static enum cli_result opt_version(struct cli *c, const char *arg)
{
	(void)arg;
	fprintf(c->out, "minivmm version %s (qemu-compatible command line)\n", MINIVMM_VERSION);
	return CLI_DONE;
}

static const struct cli_option cli_options[] = {
	{ "kernel", NULL, "FILE",
	  "the kernel to boot directly (Linux bzImage, Multiboot, ELF, boot sector or raw "
	  "binary); without it the firmware boots the disks",
	  opt_kernel },
	{ "initrd", NULL, "FILE", "initial ramdisk", opt_initrd },
	{ "bios", NULL, "FILE",
	  "firmware image, mapped below 4 GiB (default without -kernel: "
	  "/usr/share/seabios/bios-256k.bin)",
	  opt_bios },
	{ "boot", NULL, "[order=]c|d|cd|dc[,menu=on|off]",
	  "firmware boot order: c disk, d CD-ROM", opt_boot },
	{ "global", NULL, "isa-debugcon.iobase=PORT", "move the -debugcon port (SeaBIOS logs to 0x402)",
	  opt_global },
	{ "append", NULL, "CMDLINE", "kernel command line", opt_append },
	{ "m", NULL, "[size=]SIZE", "RAM size; suffix B, K, M, G, T (default M), e.g. 512M, 2G",
	  opt_memory },
	{ "smp", NULL, "[cpus=]N[,sockets=,dies=,clusters=,cores=,threads=,maxcpus=]",
	  "number of vCPUs (1-64)", opt_smp },
	{ "accel", NULL, "kvm|tcg[,thread=single|multi][,tb-size=MiB][,jit=on|off][,kernel-irqchip=on]",
	  "the engine; repeat to try in order (default: kvm, else tcg)", opt_accel },
	{ "enable-kvm", NULL, NULL, "same as -accel kvm", opt_enable_kvm },
	{ "machine", "M",
	  "pc|microvm[,accel=kvm|tcg|kvm:tcg][,memory-backend=ID][,pic=,pit=,rtc=,acpi=,isa-serial=,"
	  "auto-kernel-cmdline=on|off]",
	  "machine type: pc (default), or microvm (no PCI; -device virtio-*-device); the "
	  "on|off options are microvm's; memory-backend= puts guest RAM in the -object with that id",
	  opt_machine },
	{ "object", NULL, "memory-backend-memfd,id=ID,size=SIZE[,share=on|off]",
	  "guest RAM in a memfd (for -machine memory-backend=ID); share=on (the default) "
	  "lets vhost-user back-ends map it",
	  cli_opt_object },
	{ "cpu", NULL, "host|max|qemu64", "CPU model (host needs KVM)", opt_cpu },
	{ "nographic", NULL, NULL, "no display; COM1 on stdio (the default anyway)",
	  opt_nographic },
	{ "display", NULL, "none", "no display (the only kind)", opt_display },
	{ "serial", NULL, "stdio|mon:stdio|file:PATH|pty|chardev:ID|null|none",
	  "where COM1 goes (default stdio); none removes COM1", opt_serial },
	{ "debugcon", NULL, "stdio|mon:stdio|file:PATH|pty|chardev:ID|null|none",
	  "debug console on port 0xe9 (default none)", opt_debugcon },
	{ "chardev", NULL, "null|stdio|file|socket|pty,id=ID[,...]|help",
	  "a character back-end for a device's chardev=ID (-chardev help lists the parameters)",
	  cli_opt_chardev },
	{ "device", NULL, "NAME[,KEY=VALUE...]|help",
	  "add a device: isa-debug-exit, pc-testdev, virtio-rng-pci, virtio-blk-pci, "
	  "virtio-net-pci, vhost-user-blk-pci, virtio-serial-pci, virtconsole, virtserialport, "
	  "virtio-rng-device, virtio-blk-device, virtio-net-device (-device help lists their properties)",
	  opt_device },
	{ "drive", NULL,
	  "file=F[,if=ide|virtio|none][,media=disk|cdrom][,index=N][,id=ID][,format=raw|qcow2][,readonly=on|off][,cache=MODE]"
	  "[,aio=threads|io_uring][,discard=unmap|ignore][,detect-zeroes=off|on|unmap][,serial=S]",
	  "a disk image (a file, block device or nbd:// URI); cache=writeback (default), none, "
	  "writethrough, directsync or unsafe",
	  opt_drive },
	{ "hda", NULL, "FILE", "IDE disk, primary master (-drive file=FILE,index=0)", opt_hda },
	{ "hdb", NULL, "FILE", "IDE disk, primary slave", opt_hdb },
	{ "hdc", NULL, "FILE", "IDE disk, secondary master", opt_hdc },
	{ "hdd", NULL, "FILE", "IDE disk, secondary slave", opt_hdd },
	{ "cdrom", NULL, "FILE", "IDE CD-ROM (read-only image), secondary master", opt_cdrom },
	{ "nodefaults", NULL, NULL, "no default devices: no COM1 unless -serial is given",
	  opt_nodefaults },
	{ "no-reboot", NULL, NULL, "exit instead of rebooting", opt_no_reboot },
	{ "no-shutdown", NULL, NULL, "on guest power-off stop the vCPUs and stay (Ctrl-A x quits)", opt_no_shutdown },
	{ "vga", NULL, "none", "accepted: there is no VGA", opt_none_only },
	{ "vnc", NULL, "none", "accepted: there is no VNC server", opt_none_only },
	{ "monitor", NULL, "none", "accepted: there is no monitor (Ctrl-A h for keys)",
	  opt_none_only },
	{ "parallel", NULL, "none", "accepted: there is no parallel port", opt_none_only },
	{ "netdev", NULL, "user|tap|stream|socket|dgram,id=ID[,...]|help",
	  "a network back-end for a network card's netdev=ID (-netdev help lists the "
	  "parameters)",
	  cli_opt_netdev },
	{ "nic", NULL, "TYPE[,model=virtio-net-pci][,mac=ADDR][,id=ID][,...]|none",
	  "a network card and its back-end; TYPE and its parameters as for -netdev",
	  cli_opt_nic },
	{ "net", NULL, "none", "no network (for one, use -nic or -netdev)", cli_opt_net },
	{ "smbios", NULL, "type=0|1|2|3|4|11[,KEY=VALUE...]",
	  "SMBIOS strings: type=0 vendor,version,date,release=M.N,uefi=on|off; type=1 "
	  "manufacturer,product,version,serial,uuid,sku,family; type=2 manufacturer,product,"
	  "version,serial,asset,location; type=3 manufacturer,version,serial,asset,sku; type=4 "
	  "manufacturer,version,serial,asset,part; type=11 value=STRING",
	  cli_opt_smbios },
	{ "uuid", NULL, "UUID", "the system UUID (SMBIOS, fw_cfg)", cli_opt_uuid },
	{ "d", NULL, "ITEM[,...]", "debug output (-d help lists the items)", opt_debug },
	{ "D", NULL, "FILE", "messages of the run (-d logs, run-time errors) go to FILE", opt_logfile },
	{ "help", "h", NULL, "print this help and exit", opt_help },
	{ "version", NULL, NULL, "print the version and exit", opt_version },
};

#define CLI_NR_OPTIONS (sizeof(cli_options) / sizeof(cli_options[0]))

static enum cli_result opt_help(struct cli *c, const char *arg)
{
	(void)arg;
	fprintf(c->out, "usage: minivmm [options] [-kernel FILE]\n"
			"Runs a virtual x86-64 PC on KVM or on a software CPU; the options are "
			"a subset of qemu-system-x86_64's.\n"
			"Options take one dash or two (-m or --m).\n\n");
	for (size_t i = 0; i < CLI_NR_OPTIONS; i++) {
		const struct cli_option *o = &cli_options[i];
		char head[128];
		snprintf(head, sizeof(head), "-%s%s%s%s%s", o->name, o->alias ? ", -" : "",
			 o->alias ? o->alias : "", o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(c->out, "  %s\n        %s\n", head, o->help);
	}
	fprintf(c->out, "\nDuring emulation: Ctrl-A x quits, Ctrl-A h lists the keys.\n");
	return CLI_DONE;
}

static const struct cli_option *cli_find_option(const char *name)
{
	for (size_t i = 0; i < CLI_NR_OPTIONS; i++) {
		const struct cli_option *o = &cli_options[i];
		if (!strcmp(name, o->name) || (o->alias && !strcmp(name, o->alias)))
			return o;
	}
	return NULL;
}

/* What only the whole command line can tell */
static enum cli_result cli_finish(struct cli *c)
{
	struct vm_config *cfg = c->cfg;

	if (c->cpu_host && cfg->accel == ACCEL_TCG) {
		c->opt = "-cpu";
		return cli_fail(c, "CPU model 'host' needs KVM, not -accel tcg");
	}
	if (!cfg->kernel && cfg->machine == MACHINE_MICROVM) {
		/* nothing there for firmware to boot from: qboot loads -kernel */
		fprintf(c->err, "minivmm: -M microvm needs -kernel (its firmware, qboot, boots only that)\n");
		return CLI_ERROR;
	}
	if (!cfg->kernel && (cfg->initrd || cfg->append)) {
		fprintf(c->err, "minivmm: -initrd and -append need -kernel\n");
		return CLI_ERROR;
	}
	if (cfg->nodefaults && !c->serial_given)
		cfg->serial = (struct chardev_config){ .kind = CHARDEV_NONE };
	enum cli_result r = cli_chardevs_finish(c);
	if (r != CLI_RUN)
		return r;
	r = cli_objects_finish(c);
	if (r != CLI_RUN)
		return r;
	r = cli_drives_finish(c);
	if (r != CLI_RUN)
		return r;
	return cli_devices_finish(c);
}

enum cli_result cli_parse(int argc, char **argv, struct vm_config *cfg, FILE *out, FILE *err)
{
	struct cli c = { .cfg = cfg, .out = out, .err = err };

	vm_config_defaults(cfg);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		c.opt = a;
		if (a[0] != '-' || a[1] == '\0') {
			fprintf(err, "minivmm: unexpected argument '%s' (a disk image is given "
				     "with -hda FILE or -drive file=...)\n",
				a);
			return CLI_ERROR;
		}
		const char *name = a[1] == '-' ? a + 2 : a + 1;
		const struct cli_option *o = cli_find_option(name);
		if (!o) {
			fprintf(err, "minivmm: unknown option '%s' (-help lists them)\n", a);
			return CLI_ERROR;
		}
		const char *arg = NULL;
		if (o->arg) {
			if (i + 1 >= argc)
				return cli_fail(&c, "missing argument (%s)", o->arg);
			arg = argv[++i];
		}
		enum cli_result r = o->parse(&c, arg);
		if (r != CLI_RUN)
			return r;
	}
	return cli_finish(&c);
}
