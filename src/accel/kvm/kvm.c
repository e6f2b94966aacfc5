/* The KVM engine, VM side: /dev/kvm, the VM with its in-kernel interrupt
 * controllers and PIT, guest RAM slots and interrupt lines.  Written to
 * Documentation/virt/kvm/api.rst; each ioctl is used as described there. */
#include "accel/kvm/kvm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/log.h"
#include "core/vm.h"

static bool kvm_available(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* PVM (the kvm_pvm module) offers /dev/kvm on hosts without hardware
 * virtualization, but runs only guest kernels built for it: real mode,
 * for one, does not run (firmware, the boot code's entry, a triple
 * fault's shutdown).  Nothing in the KVM API tells it apart, so the
 * module's presence does. */
static const char *kvm_limitation(void)
{
	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		return "this host's KVM is PVM (module kvm_pvm), which runs only guest kernels built for PVM";
	return NULL;
}

#define CAP(c, why) { c, #c, why }
static const struct {
	int cap;
	const char *name;
	const char *why;
} required_caps[] = {
	CAP(KVM_CAP_USER_MEMORY, "guest RAM in the monitor's memory"),
	CAP(KVM_CAP_IRQCHIP, "the in-kernel PIC, I/O APIC and local APICs"),
	CAP(KVM_CAP_IRQ_ROUTING, "GSI routing to the in-kernel interrupt controllers"),
	CAP(KVM_CAP_HLT, "HLT handled in the kernel"),
	CAP(KVM_CAP_SET_TSS_ADDR, "the TSS KVM needs for real mode on Intel hosts"),
	CAP(KVM_CAP_SET_IDENTITY_MAP_ADDR, "the identity map KVM needs on Intel hosts"),
	CAP(KVM_CAP_EXT_CPUID, "KVM_GET_SUPPORTED_CPUID and KVM_SET_CPUID2"),
	CAP(KVM_CAP_PIT2, "the in-kernel PIT"),
	CAP(KVM_CAP_MP_STATE, "application processors waiting for INIT/SIPI"),
	CAP(KVM_CAP_IMMEDIATE_EXIT, "stopping a running vCPU without a race"),
};

static int check_extension(int fd, int cap)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

static void kvm_kick_signal(int sig)
{
	/* nothing to do: the signal's only purpose is to make KVM_RUN return
	 * EINTR; immediate_exit covers a kick that comes before KVM_RUN */
	(void)sig;
}

/* vcpu_kick's signal must interrupt KVM_RUN, not kill the process nor be
 * restarted: a handler without SA_RESTART. */
static int install_kick_handler(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kvm_kick_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return -errno;
	return 0;
}

static void kvm_engine_free(struct kvm_engine_vm *kvm)
{
	if (!kvm)
		return;
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	pthread_mutex_destroy(&kvm->routes_lock);
	free(kvm->supported_cpuid);
	free(kvm);
}

static int kvm_check_host(struct kvm_engine_vm *kvm)
{
	int version = ioctl(kvm->sys_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		log_error("KVM: /dev/kvm speaks API version %d, minivmm needs %d", version,
			  KVM_API_VERSION);
		return -ENOTSUP;
	}
	int missing = 0;
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (!check_extension(kvm->sys_fd, required_caps[i].cap)) {
			log_error("KVM: this host's KVM lacks %s (%s)", required_caps[i].name,
				  required_caps[i].why);
			missing++;
		}
	}
	if (missing)
		return -ENOTSUP;
	kvm->tsc_deadline = check_extension(kvm->sys_fd, KVM_CAP_TSC_DEADLINE_TIMER);
	kvm->xcrs = check_extension(kvm->sys_fd, KVM_CAP_XCRS);
	kvm->vcpu_events = check_extension(kvm->sys_fd, KVM_CAP_VCPU_EVENTS);
	kvm->debugregs = check_extension(kvm->sys_fd, KVM_CAP_DEBUGREGS);
	kvm->signal_msi = check_extension(kvm->sys_fd, KVM_CAP_SIGNAL_MSI);
	kvm->ioeventfd = check_extension(kvm->sys_fd, KVM_CAP_IOEVENTFD);
	kvm->ioeventfd_any_length = check_extension(kvm->sys_fd, KVM_CAP_IOEVENTFD_ANY_LENGTH);
	kvm->irqfd = check_extension(kvm->sys_fd, KVM_CAP_IRQFD);
	/* KVM_CAP_IRQ_ROUTING tells how many routes (and so GSIs) there are */
	unsigned routes = (unsigned)check_extension(kvm->sys_fd, KVM_CAP_IRQ_ROUTING);
	kvm_routes_init(&kvm->routes, routes < KVM_MSI_GSI_BASE + KVM_MAX_MSI_ROUTES ?
					      routes : KVM_MSI_GSI_BASE + KVM_MAX_MSI_ROUTES);

	int run_size = ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(struct kvm_run)) {
		log_error("KVM: KVM_GET_VCPU_MMAP_SIZE: %s",
			  run_size < 0 ? strerror(errno) : "smaller than struct kvm_run");
		return run_size < 0 ? -errno : -EINVAL;
	}
	kvm->run_size = (size_t)run_size;

	kvm->supported_cpuid = kvm_get_supported_cpuid(kvm->sys_fd);
	if (!kvm->supported_cpuid) {
		int err = errno;
		log_error("KVM: KVM_GET_SUPPORTED_CPUID: %s", strerror(err));
		return -err;
	}
	return 0;
}

/* Order as api.rst asks: the identity map and TSS addresses before any
 * vCPU exists, the PIT only after the irqchip. */
static int kvm_setup_vm(struct kvm_engine_vm *kvm)
{
	uint64_t identity_map = KVM_IDENTITY_MAP_ADDR;
	if (ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity_map) < 0) {
		log_error("KVM: KVM_SET_IDENTITY_MAP_ADDR 0x%lx: %s", KVM_IDENTITY_MAP_ADDR,
			  strerror(errno));
		return -errno;
	}
	if (ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0) {
		log_error("KVM: KVM_SET_TSS_ADDR 0x%lx: %s", KVM_TSS_ADDR, strerror(errno));
		return -errno;
	}
	if (ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		log_error("KVM: KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -errno;
	}
	int ret = kvm_routes_commit(kvm->vm_fd, &kvm->routes);
	if (ret < 0)
		return ret;
	/* flags 0: port 0x61 stays in the kernel next to the PIT, so that
	 * its channel 2 output bit (which Linux's TSC calibration polls)
	 * reflects the in-kernel PIT */
	struct kvm_pit_config pit = { .flags = 0 };
	if (ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		log_error("KVM: KVM_CREATE_PIT2: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int kvm_vm_create(struct vm *vm)
{
	struct kvm_engine_vm *kvm = calloc(1, sizeof(*kvm));
	int ret;

	if (!kvm)
		return -ENOMEM;
	kvm->vm_fd = -1;
	pthread_mutex_init(&kvm->routes_lock, NULL);
	kvm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0) {
		ret = -errno;
		log_error("cannot open /dev/kvm: %s", strerror(errno));
		goto fail;
	}
	ret = kvm_check_host(kvm);
	if (ret < 0)
		goto fail;
	/* api.rst: without KVM_CAP_MAX_VCPUS assume KVM_CAP_NR_VCPUS, and
	 * without that 4 */
	int max_vcpus = check_extension(kvm->sys_fd, KVM_CAP_MAX_VCPUS);
	if (!max_vcpus)
		max_vcpus = check_extension(kvm->sys_fd, KVM_CAP_NR_VCPUS);
	if (!max_vcpus)
		max_vcpus = 4;
	if (vm->cfg.smp > (unsigned)max_vcpus) {
		log_error("-smp %u: this host's KVM runs at most %d vCPUs in one VM", vm->cfg.smp,
			  max_vcpus);
		ret = -EINVAL;
		goto fail;
	}
	do
		kvm->vm_fd = ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);
	while (kvm->vm_fd < 0 && errno == EINTR);
	if (kvm->vm_fd < 0) {
		ret = -errno;
		log_error("KVM: KVM_CREATE_VM: %s", strerror(errno));
		goto fail;
	}
	if (fcntl(kvm->vm_fd, F_SETFD, FD_CLOEXEC) < 0) {
		ret = -errno;
		goto fail;
	}
	ret = kvm_setup_vm(kvm);
	if (ret < 0)
		goto fail;
	ret = install_kick_handler();
	if (ret < 0) {
		log_error("KVM: cannot install the SIGUSR1 handler: %s", strerror(-ret));
		goto fail;
	}
	vm->engine = kvm;
	return 0;
fail:
	kvm_engine_free(kvm);
	return ret;
}

static int kvm_map_ram(struct vm *vm, const struct mem_region *region)
{
	struct kvm_engine_vm *kvm = vm->engine;
	struct kvm_userspace_memory_region mem = {
		.slot = region->slot,
		.flags = 0,
		.guest_phys_addr = region->gpa,
		.memory_size = region->size,
		.userspace_addr = (uint64_t)(uintptr_t)region->hva,
	};
	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &mem) < 0) {
		int err = errno;
		log_error("KVM: KVM_SET_USER_MEMORY_REGION slot %u (guest 0x%llx, %llu MiB): %s",
			  region->slot, (unsigned long long)region->gpa,
			  (unsigned long long)(region->size >> 20), strerror(err));
		return -err;
	}
	return 0;
}

static int kvm_set_irq(struct vm *vm, unsigned gsi, int level)
{
	struct kvm_engine_vm *kvm = vm->engine;
	struct kvm_irq_level irq = { .irq = gsi, .level = level ? 1 : 0 };
	if (!kvm)
		return -ENODEV;
	if (ioctl(kvm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}

/* api.rst 4.71: returns >0 when delivered, 0 when the guest blocked it
 * (a masked or disabled APIC): both are done as far as the device goes */
static int kvm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_engine_vm *kvm = vm->engine;
	if (!kvm || !kvm->signal_msi)
		return -ENOTSUP;
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};
	if (ioctl(kvm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		return -errno;
	return 0;
}

/* api.rst 4.59: an MMIO address (no PIO flag), no data match; with
 * KVM_CAP_IOEVENTFD_ANY_LENGTH len 0 takes writes of any width.  The
 * same fields with DEASSIGN take it away again. */
static int kvm_assign_ioeventfd(struct vm *vm, struct kvm_ioeventfd *io, bool assign)
{
	struct kvm_engine_vm *kvm = vm->engine;
	if (!kvm || !kvm->ioeventfd || (io->len == 0 && !kvm->ioeventfd_any_length))
		return -ENOSYS;
	if (!assign)
		io->flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	if (ioctl(kvm->vm_fd, KVM_IOEVENTFD, io) < 0)
		return -errno;
	return 0;
}

static int kvm_ioeventfd(struct vm *vm, uint64_t addr, unsigned len, int fd, bool assign)
{
	struct kvm_ioeventfd io = { .addr = addr, .len = len, .fd = fd };
	return kvm_assign_ioeventfd(vm, &io, assign);
}

static int kvm_ioeventfd_datamatch(struct vm *vm, uint64_t addr, unsigned len, uint64_t data,
				   int fd, bool assign)
{
	struct kvm_ioeventfd io = { .datamatch = data, .addr = addr, .len = len, .fd = fd,
				    .flags = KVM_IOEVENTFD_FLAG_DATAMATCH };
	return kvm_assign_ioeventfd(vm, &io, assign);
}

/* MSI routes for irqfds.  Each change hands KVM the whole table; when KVM
 * refuses it, the table goes back to what KVM has. */
static int kvm_msi_route(struct vm *vm, int gsi, uint64_t addr, uint32_t data)
{
	struct kvm_engine_vm *kvm = vm->engine;
	if (!kvm || !kvm->irqfd)
		return -ENOSYS;
	pthread_mutex_lock(&kvm->routes_lock);
	struct kvm_gsi_routes *rt = &kvm->routes;
	struct kvm_irq_routing_entry old = { 0 };
	int ret;
	for (unsigned i = 0; i < rt->nr_msi; i++)
		if (gsi >= 0 && rt->msi[i].gsi == (unsigned)gsi)
			old = rt->msi[i];
	ret = gsi < 0 ? kvm_routes_add_msi(rt, addr, data) :
			kvm_routes_set_msi(rt, (unsigned)gsi, addr, data);
	if (ret >= 0) {
		int err = kvm_routes_commit(kvm->vm_fd, rt);
		if (err < 0 && gsi < 0)
			kvm_routes_remove(rt, (unsigned)ret);
		else if (err < 0)
			kvm_routes_set_msi(rt, (unsigned)gsi,
					   old.u.msi.address_lo | (uint64_t)old.u.msi.address_hi << 32,
					   old.u.msi.data);
		if (err < 0)
			ret = err;
		else if (gsi >= 0)
			ret = gsi;
	}
	pthread_mutex_unlock(&kvm->routes_lock);
	return ret;
}

static void kvm_msi_route_release(struct vm *vm, int gsi)
{
	struct kvm_engine_vm *kvm = vm->engine;
	if (!kvm || gsi < 0)
		return;
	pthread_mutex_lock(&kvm->routes_lock);
	if (kvm_routes_remove(&kvm->routes, (unsigned)gsi) == 0)
		kvm_routes_commit(kvm->vm_fd, &kvm->routes);
	pthread_mutex_unlock(&kvm->routes_lock);
}

/* api.rst 4.75: a write to eventfd fd injects gsi; deassign names the
 * same fd and gsi */
static int kvm_irqfd(struct vm *vm, unsigned gsi, int fd, bool assign)
{
	struct kvm_engine_vm *kvm = vm->engine;
	if (!kvm || !kvm->irqfd)
		return -ENOSYS;
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd, .gsi = gsi,
				   .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };
	if (ioctl(kvm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	return 0;
}

static void kvm_vm_destroy(struct vm *vm)
{
	kvm_engine_free(vm->engine);
	vm->engine = NULL;
}

const struct accel_ops kvm_accel_ops = {
	.name = "kvm",
	.available = kvm_available,
	.limitation = kvm_limitation,
	.vm_create = kvm_vm_create,
	.map_ram = kvm_map_ram,
	.vcpu_create = kvm_vcpu_create,
	.vcpu_reset = kvm_vcpu_reset,
	.vcpu_run = kvm_vcpu_run,
	.vcpu_kick = kvm_vcpu_kick,
	.get_regs = kvm_get_regs,
	.set_regs = kvm_set_regs,
	.get_sregs = kvm_get_sregs,
	.set_sregs = kvm_set_sregs,
	.get_msr = kvm_get_msr,
	.set_msr = kvm_set_msr,
	.get_cpuid = kvm_get_cpuid,
	.set_irq = kvm_set_irq,
	.signal_msi = kvm_signal_msi,
	.ioeventfd = kvm_ioeventfd,
	.ioeventfd_datamatch = kvm_ioeventfd_datamatch,
	.msi_route = kvm_msi_route,
	.msi_route_release = kvm_msi_route_release,
	.irqfd = kvm_irqfd,
	.vcpu_destroy = kvm_vcpu_destroy,
	.vm_destroy = kvm_vm_destroy,
	.single_threaded = false,
	/* KVM_CREATE_IRQCHIP and KVM_CREATE_PIT2; INIT/SIPI/NMI are delivered
	 * by the in-kernel local APICs, so there is no vcpu_deliver */
	.kernel_irqchip = true,
};
