#include "core/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

void vm_config_defaults(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ram_size = VM_DEFAULT_RAM;
	cfg->smp = 1;
	cfg->accel = ACCEL_AUTO;
	cfg->serial.kind = CHARDEV_STDIO;
	cfg->debug_exit_iobase = 0x501;
	cfg->debug_exit_iosize = 2;
	cfg->microvm = (struct microvm_config){ .pic = true, .pit = true, .rtc = true, .acpi = true,
						.isa_serial = true, .auto_kernel_cmdline = true };
}

int vm_init(struct vm *vm, const struct vm_config *cfg, const struct accel_ops *accel)
{
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = *cfg;
	vm->accel = accel;
	vm->wake_fd[0] = vm->wake_fd[1] = -1;
	atomic_store(&vm->run_state, VM_RUNNING);

	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	/* a device handler may raise an interrupt that reaches another device */
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&vm->dev_lock, &attr);
	pthread_mutexattr_destroy(&attr);
	pthread_mutex_init(&vm->state_lock, NULL);
	pthread_cond_init(&vm->state_cond, NULL);

	io_bus_init(&vm->pio, "pio", &vm->dev_lock);
	io_bus_init(&vm->mmio, "mmio", &vm->dev_lock);
	vm->pio.log_unassigned = vm->mmio.log_unassigned = cfg->debug_mask & DEBUG_UNIMP;

	if (pipe2(vm->wake_fd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	vm->timers.deadline_changed = vm_wake_main_loop;

	ret = cfg->ram_memfd ? guest_mem_init_pc_memfd(&vm->mem, cfg->ram_size, cfg->ram_shared) :
			       guest_mem_init_pc(&vm->mem, cfg->ram_size);
	if (ret < 0) {
		log_error("cannot allocate %llu MiB of guest RAM: %s",
			  (unsigned long long)(cfg->ram_size >> 20), strerror(-ret));
		return ret;
	}
	ret = accel->vm_create(vm);
	if (ret < 0)
		return ret;
	for (int i = 0; i < vm->mem.nr_regions; i++) {
		ret = accel->map_ram(vm, &vm->mem.regions[i]);
		if (ret < 0)
			return ret;
	}
	for (unsigned i = 0; i < cfg->smp; i++) {
		struct vcpu *vcpu = &vm->vcpus[i];
		vcpu->vm = vm;
		vcpu->id = i;
		ret = accel->vcpu_create(vcpu);
		if (ret < 0)
			return ret;
		vm->nr_vcpus++;
	}
	return 0;
}

void vm_destroy(struct vm *vm)
{
	for (int i = vm->nr_devices - 1; i >= 0; i--)
		if (vm->devices[i].destroy)
			vm->devices[i].destroy(vm->devices[i].opaque);
	vm->nr_devices = 0;
	if (vm->accel) {
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			vm->accel->vcpu_destroy(&vm->vcpus[i]);
		if (vm->engine || vm->nr_vcpus)
			vm->accel->vm_destroy(vm);
	}
	vm->nr_vcpus = 0;
	guest_mem_destroy(&vm->mem);
	io_bus_destroy(&vm->pio);
	io_bus_destroy(&vm->mmio);
	for (int i = 0; i < 2; i++)
		if (vm->wake_fd[i] >= 0)
			close(vm->wake_fd[i]);
	pthread_mutex_destroy(&vm->dev_lock);
	pthread_mutex_destroy(&vm->state_lock);
	pthread_cond_destroy(&vm->state_cond);
}

int vm_add_device(struct vm *vm, const char *name, void *opaque, void (*reset)(void *),
		  void (*destroy)(void *))
{
	if (vm->nr_devices == VM_MAX_DEVICES)
		return -ENOSPC;
	vm->devices[vm->nr_devices++] = (struct vm_device){ name, opaque, reset, destroy };
	return 0;
}

void vm_wake_main_loop(struct vm *vm)
{
	char c = 0;
	/* a full pipe already means "wake up" */
	if (write(vm->wake_fd[1], &c, 1) < 0 && errno != EAGAIN)
		log_warn("cannot wake main loop: %s", strerror(errno));
}

static void vm_wake_all(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vm->accel->vcpu_kick(&vm->vcpus[i]);
	pthread_cond_broadcast(&vm->state_cond);
	vm_wake_main_loop(vm);
}

static void vm_request_state(struct vm *vm, int state, int status)
{
	pthread_mutex_lock(&vm->state_lock);
	/* the first request wins: an exit is not undone by a later reset;
	 * only quitting ends a powered-off machine */
	int now = atomic_load(&vm->run_state);
	if (now == VM_RUNNING || (now == VM_POWERED_OFF && state == VM_STOP_EXIT)) {
		vm->exit_status = status;
		atomic_store(&vm->run_state, state);
	}
	pthread_mutex_unlock(&vm->state_lock);
	vm_wake_all(vm);
}

void vm_request_exit(struct vm *vm, int status)
{
	vm_request_state(vm, VM_STOP_EXIT, status);
}

void vm_request_reset(struct vm *vm)
{
	if (vm->cfg.no_reboot)
		vm_request_state(vm, VM_STOP_EXIT, 0);
	else
		vm_request_state(vm, VM_STOP_RESET, 0);
}

void vm_request_poweroff(struct vm *vm)
{
	if (vm->cfg.no_shutdown)
		vm_request_state(vm, VM_POWERED_OFF, 0);
	else
		vm_request_state(vm, VM_STOP_EXIT, 0);
}

bool vm_running(const struct vm *vm)
{
	return atomic_load(&((struct vm *)vm)->run_state) == VM_RUNNING;
}

int vm_set_irq(struct vm *vm, unsigned gsi, int level)
{
	return vm->accel->set_irq(vm, gsi, level);
}

int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	if (vm->accel->signal_msi)
		return vm->accel->signal_msi(vm, addr, data);
	if (!vm->irqchip || !vm->irqchip->send_msi)
		return -ENODEV;
	vm->irqchip->send_msi(vm->irqchip_opaque, addr, data);
	return 0;
}

int vm_ioeventfd(struct vm *vm, uint64_t addr, unsigned len, int fd, bool assign)
{
	return vm->accel->ioeventfd ? vm->accel->ioeventfd(vm, addr, len, fd, assign) : -ENOSYS;
}

int vm_ioeventfd_datamatch(struct vm *vm, uint64_t addr, unsigned len, uint64_t data, int fd,
			   bool assign)
{
	return vm->accel->ioeventfd_datamatch ?
		       vm->accel->ioeventfd_datamatch(vm, addr, len, data, fd, assign) : -ENOSYS;
}

bool vm_has_irqfd(const struct vm *vm)
{
	return vm->accel->msi_route && vm->accel->irqfd;
}

int vm_msi_route(struct vm *vm, int gsi, uint64_t addr, uint32_t data)
{
	return vm->accel->msi_route ? vm->accel->msi_route(vm, gsi, addr, data) : -ENOSYS;
}

void vm_msi_route_release(struct vm *vm, int gsi)
{
	if (vm->accel->msi_route_release)
		vm->accel->msi_route_release(vm, gsi);
}

int vm_irqfd(struct vm *vm, unsigned gsi, int fd, bool assign)
{
	return vm->accel->irqfd ? vm->accel->irqfd(vm, gsi, fd, assign) : -ENOSYS;
}
