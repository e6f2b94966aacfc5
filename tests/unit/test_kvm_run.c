/* The KVM engine against a real /dev/kvm: tiny guests in a 2 MiB VM.
 * Every test skips where /dev/kvm cannot be opened. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "accel/kvm/kvm_internal.h"
#include "boot/boot.h"
#include "core/vm.h"
#include "test.h"

#define CODE_ADDR 0x1000

struct port_log {
	atomic_int n;
	uint8_t bytes[64];
	atomic_int reads;
};

static void port_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct port_log *p = opaque;
	(void)size;
	if (offset != 0)
		return;
	int i = atomic_load(&p->n);
	if (i < 64)
		p->bytes[i] = (uint8_t)value;
	atomic_store(&p->n, i + 1);
}

/* reads count up: 0xa000, 0xa001, ... */
static uint64_t port_read(void *opaque, uint64_t offset, unsigned size)
{
	struct port_log *p = opaque;
	(void)offset, (void)size;
	return 0xa000u + (unsigned)atomic_fetch_add(&p->reads, 1);
}

static const struct io_ops port_ops = { port_read, port_write };

struct mmio_cell {
	atomic_int writes;
	uint64_t last_write;
	unsigned last_size;
};

static uint64_t cell_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque, (void)offset, (void)size;
	return 0x5a;
}

static void cell_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct mmio_cell *c = opaque;
	(void)offset;
	c->last_write = value;
	c->last_size = size;
	atomic_fetch_add(&c->writes, 1);
}

static const struct io_ops cell_ops = { cell_read, cell_write };

static bool kvm_vm_up(struct vm *vm, unsigned smp, struct port_log *log)
{
	struct vm_config cfg;
	vm_config_defaults(&cfg);
	cfg.ram_size = 2ull << 20;
	cfg.smp = smp;
	cfg.accel = ACCEL_KVM;
	if (vm_init(vm, &cfg, &kvm_accel_ops) < 0)
		return false;
	if (log && io_bus_register(&vm->pio, 0x3f8, 8, &port_ops, log, "log") < 0)
		return false;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->accel->vcpu_reset(&vm->vcpus[i]) < 0)
			return false;
	return true;
}

/* In a TEST: skip it without a KVM that runs any PC guest (these start
 * in real mode) */
#define NEED_KVM()						\
	do {							\
		if (!kvm_accel_ops.available())			\
			SKIP("no /dev/kvm");			\
		if (kvm_accel_ops.limitation())			\
			SKIP(kvm_accel_ops.limitation());	\
	} while (0)

/* The same, and fail it when the VM cannot be set up (kvm_vm_up) */
#define NEED_KVM_VM(vm, smp, log)				\
	do {							\
		NEED_KVM();					\
		if (!kvm_vm_up((vm), (smp), (log))) {		\
			CHECK(!"KVM VM set up");		\
			vm_destroy(vm);				\
			return;					\
		}						\
	} while (0)

/* vCPU 0 in real mode at 0000:CODE_ADDR running code */
static bool load_real_mode(struct vm *vm, const uint8_t *code, size_t len)
{
	struct vcpu *v = &vm->vcpus[0];
	struct x86_sregs s;
	struct x86_regs r;
	if (guest_mem_write(&vm->mem, CODE_ADDR, code, len) < 0)
		return false;
	if (vm->accel->get_sregs(v, &s) < 0 || vm->accel->get_regs(v, &r) < 0)
		return false;
	s.seg[X86_CS].selector = 0;
	s.seg[X86_CS].base = 0;
	r.rip = CODE_ADDR;
	return vm->accel->set_sregs(v, &s) == 0 && vm->accel->set_regs(v, &r) == 0;
}

/* The same with a 4 GiB DS limit (unreal mode): [ebx] reaches MMIO */
static bool load_unreal_mode(struct vm *vm, const uint8_t *code, size_t len)
{
	struct x86_sregs s;
	if (!load_real_mode(vm, code, len) || vm->accel->get_sregs(&vm->vcpus[0], &s) < 0)
		return false;
	s.seg[X86_DS].limit = 0xffffffff;
	s.seg[X86_DS].g = 1;
	return vm->accel->set_sregs(&vm->vcpus[0], &s) == 0;
}

struct runner {
	struct vcpu *vcpu;
	enum vcpu_event event;
	atomic_bool done;
};

static void *runner_main(void *arg)
{
	struct runner *r = arg;
	r->event = r->vcpu->vm->accel->vcpu_run(r->vcpu);
	atomic_store(&r->done, true);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* Run vCPU 0 on its own thread until vcpu_run returns, or until *count
 * reaches want (then kick it, as the monitor would), or max_ms pass. */
static enum vcpu_event run_vcpu(struct vm *vm, atomic_int *count, int want, bool *kicked,
				int max_ms)
{
	struct runner r = { .vcpu = &vm->vcpus[0] };
	pthread_t t;
	*kicked = false;
	pthread_create(&t, NULL, runner_main, &r);
	for (int ms = 0; ms < max_ms && !atomic_load(&r.done); ms++) {
		if (count && atomic_load(count) >= want) {
			sleep_ms(50);	/* let it reach the HLT after the write */
			break;
		}
		sleep_ms(1);
	}
	if (!atomic_load(&r.done)) {
		*kicked = true;
		vm->accel->vcpu_kick(&vm->vcpus[0]);
	}
	pthread_join(t, NULL);
	return r.event;
}

static uint32_t mp_state(struct vcpu *v)
{
	struct kvm_engine_vcpu *kv = v->engine;
	struct kvm_mp_state mp = { .mp_state = 0xffff };
	ioctl(kv->fd, KVM_GET_MP_STATE, &mp);
	return mp.mp_state;
}

TEST(real_mode_out_then_hlt)
{
	static const uint8_t code[] = {
		0xba, 0xf8, 0x03,	/* mov dx, 0x3f8 */
		0xb0, 'A',		/* mov al, 'A' */
		0xee,			/* out dx, al */
		0xf4,			/* hlt */
	};
	struct vm vm;
	struct port_log log = { 0 };
	bool kicked;
	NEED_KVM_VM(&vm, 1, &log);
	CHECK(load_real_mode(&vm, code, sizeof(code)));
	enum vcpu_event ev = run_vcpu(&vm, &log.n, 1, &kicked, 10000);
	CHECK_EQ(atomic_load(&log.n), 1);
	CHECK_EQ(log.bytes[0], 'A');
	/* the in-kernel local APIC keeps a halted vCPU inside KVM_RUN until
	 * an interrupt or a kick; the kick makes vcpu_run yield */
	CHECK(kicked);
	CHECK_EQ(ev, VCPU_EVENT_YIELD);
	CHECK_EQ(mp_state(&vm.vcpus[0]), KVM_MP_STATE_HALTED);
	struct x86_regs r;
	CHECK_EQ(vm.accel->get_regs(&vm.vcpus[0], &r), 0);
	CHECK_EQ(r.rip, CODE_ADDR + sizeof(code));
	CHECK_EQ(r.gpr[X86_RAX] & 0xff, 'A');
	struct kvm_engine_vcpu *kv = vm.vcpus[0].engine;
	CHECK_EQ(kv->run->immediate_exit, 0);	/* cleared for the next KVM_RUN */
	CHECK_EQ(vm_set_irq(&vm, 4, 1), 0);
	CHECK_EQ(vm_set_irq(&vm, 4, 0), 0);
	vm_destroy(&vm);
}

TEST(string_io_both_directions)
{
	static const uint8_t code[] = {
		0xbe, 0x00, 0x11,	/* mov si, 0x1100 */
		0xb9, 0x05, 0x00,	/* mov cx, 5 */
		0xba, 0xf8, 0x03,	/* mov dx, 0x3f8 */
		0xfc,			/* cld */
		0xf3, 0x6e,		/* rep outsb */
		0xbf, 0x00, 0x12,	/* mov di, 0x1200 */
		0xb9, 0x03, 0x00,	/* mov cx, 3 */
		0xf3, 0x6d,		/* rep insw */
		0xf4,			/* hlt */
	};
	struct vm vm;
	struct port_log log = { 0 };
	bool kicked;
	NEED_KVM_VM(&vm, 1, &log);
	CHECK_EQ(guest_mem_write(&vm.mem, 0x1100, "hello", 5), 0);
	CHECK(load_real_mode(&vm, code, sizeof(code)));
	run_vcpu(&vm, &log.reads, 3, &kicked, 10000);
	CHECK_EQ(atomic_load(&log.n), 5);
	CHECK(memcmp(log.bytes, "hello", 5) == 0);
	CHECK_EQ(atomic_load(&log.reads), 3);
	uint16_t words[3] = { 0 };
	CHECK_EQ(guest_mem_read(&vm.mem, 0x1200, words, sizeof(words)), 0);
	CHECK_EQ(words[0], 0xa000);
	CHECK_EQ(words[1], 0xa001);
	CHECK_EQ(words[2], 0xa002);
	vm_destroy(&vm);
}

TEST(unreal_mode_mmio_read_and_write)
{
	static const uint8_t code[] = {
		0x66, 0xbb, 0x00, 0x00, 0x00, 0xd0,	/* mov ebx, 0xd0000000 */
		0xb0, 0x42,				/* mov al, 0x42 */
		0x67, 0x88, 0x03,			/* mov [ebx], al */
		0x67, 0x8a, 0x0b,			/* mov cl, [ebx] */
		0x88, 0xc8,				/* mov al, cl */
		0xba, 0xf8, 0x03,			/* mov dx, 0x3f8 */
		0xee,					/* out dx, al */
		0xf4,					/* hlt */
	};
	struct vm vm;
	struct port_log log = { 0 };
	struct mmio_cell cell = { 0 };
	bool kicked;
	NEED_KVM_VM(&vm, 1, &log);
	CHECK_EQ(io_bus_register(&vm.mmio, 0xd0000000ull, 0x1000, &cell_ops, &cell, "cell"), 0);
	CHECK(load_unreal_mode(&vm, code, sizeof(code)));
	run_vcpu(&vm, &log.n, 1, &kicked, 10000);
	CHECK_EQ(atomic_load(&cell.writes), 1);
	CHECK_EQ(cell.last_write, 0x42);
	CHECK_EQ(cell.last_size, 1);
	CHECK_EQ(atomic_load(&log.n), 1);
	CHECK_EQ(log.bytes[0], 0x5a);
	vm_destroy(&vm);
}

/* A write to an address with an ioeventfd signals the eventfd and never
 * reaches the bus; after DEASSIGN it does again.  And KVM_SIGNAL_MSI takes
 * a message for the local APIC. */
TEST(ioeventfd_and_signal_msi)
{
	static const uint8_t code[] = {
		0x66, 0xbb, 0x00, 0x00, 0x00, 0xd0,	/* mov ebx, 0xd0000000 */
		0xb8, 0x00, 0x00,			/* mov ax, 0 */
		0x67, 0x89, 0x03,			/* mov [ebx], ax */
		0xb0, 0x5a,				/* mov al, 0x5a */
		0xba, 0xf8, 0x03,			/* mov dx, 0x3f8 */
		0xee,					/* out dx, al */
		0xf4,					/* hlt */
	};
	struct vm vm;
	struct port_log log = { 0 };
	struct mmio_cell cell = { 0 };
	bool kicked;
	NEED_KVM_VM(&vm, 1, &log);
	CHECK_EQ(io_bus_register(&vm.mmio, 0xd0000000ull, 0x1000, &cell_ops, &cell, "cell"), 0);
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CHECK(fd >= 0);
	int ret = vm_ioeventfd(&vm, 0xd0000000ull, 0, fd, true);
	if (ret == -ENOSYS)
		ret = vm_ioeventfd(&vm, 0xd0000000ull, 2, fd, true);
	CHECK_EQ(ret, 0);
	for (int pass = 0; pass < 2; pass++) {
		CHECK(load_unreal_mode(&vm, code, sizeof(code)));
		CHECK_EQ(run_vcpu(&vm, &log.n, pass + 1, &kicked, 10000), VCPU_EVENT_YIELD);
		CHECK_EQ(atomic_load(&log.n), pass + 1);
		uint64_t count = 0;
		ssize_t n = read(fd, &count, sizeof(count));
		if (pass == 0) {
			CHECK(n == sizeof(count) && count == 1);	/* the eventfd took it */
			CHECK_EQ(atomic_load(&cell.writes), 0);
			/* the same fields with DEASSIGN */
			ret = vm_ioeventfd(&vm, 0xd0000000ull, 0, fd, false);
			if (ret == -ENOSYS)
				ret = vm_ioeventfd(&vm, 0xd0000000ull, 2, fd, false);
			CHECK_EQ(ret, 0);
			/* out of HLT for the second run */
			struct kvm_engine_vcpu *kv = vm.vcpus[0].engine;
			struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
			CHECK_EQ(ioctl(kv->fd, KVM_SET_MP_STATE, &mp), 0);
		} else {
			CHECK(n < 0);	/* nothing signalled */
			CHECK_EQ(atomic_load(&cell.writes), 1);
		}
	}
	close(fd);
	/* fixed, vector 0x40, to APIC ID 0: taken (or blocked), not refused */
	CHECK_EQ(vm_signal_msi(&vm, 0xfee00000ull, 0x40), 0);
	vm_destroy(&vm);
}

TEST(triple_fault_asks_for_reset)
{
	static const uint8_t code[] = {
		0x0f, 0x01, 0x1e, 0x00, 0x11,	/* lidt [0x1100]: limit 0 */
		0xcc,				/* int3: no IDT entry, triple fault */
	};
	static const uint8_t empty_idt[6] = { 0 };
	struct vm vm;
	bool kicked;
	NEED_KVM_VM(&vm, 1, NULL);
	CHECK_EQ(guest_mem_write(&vm.mem, 0x1100, empty_idt, sizeof(empty_idt)), 0);
	CHECK(load_real_mode(&vm, code, sizeof(code)));
	CHECK_EQ(run_vcpu(&vm, NULL, 0, &kicked, 10000), VCPU_EVENT_RESET);
	CHECK(!kicked);
	/* and the reset brings the power-on state back */
	CHECK_EQ(vm.accel->vcpu_reset(&vm.vcpus[0]), 0);
	struct x86_regs r;
	struct x86_sregs s;
	CHECK_EQ(vm.accel->get_regs(&vm.vcpus[0], &r), 0);
	CHECK_EQ(vm.accel->get_sregs(&vm.vcpus[0], &s), 0);
	CHECK_EQ(r.rip, 0xfff0);
	CHECK_EQ(s.seg[X86_CS].selector, 0xf000);
	CHECK_EQ(s.seg[X86_CS].base, 0xffff0000);
	CHECK_EQ(s.idt.limit, 0xffff);
	CHECK_EQ(mp_state(&vm.vcpus[0]), KVM_MP_STATE_RUNNABLE);
	vm_destroy(&vm);
}

TEST(kick_before_run_returns_at_once)
{
	static const uint8_t spin[] = { 0xeb, 0xfe };	/* jmp $ */
	struct vm vm;
	NEED_KVM_VM(&vm, 1, NULL);
	CHECK(load_real_mode(&vm, spin, sizeof(spin)));
	vm.accel->vcpu_kick(&vm.vcpus[0]);
	CHECK_EQ(vm.accel->vcpu_run(&vm.vcpus[0]), VCPU_EVENT_YIELD);
	struct kvm_engine_vcpu *kv = vm.vcpus[0].engine;
	CHECK_EQ(kv->run->immediate_exit, 0);
	/* a spinning guest is stopped by a kick from another thread */
	bool kicked;
	CHECK_EQ(run_vcpu(&vm, NULL, 0, &kicked, 200), VCPU_EVENT_YIELD);
	CHECK(kicked);
	vm_destroy(&vm);
}

TEST(aps_wait_for_init_with_their_own_apic_id)
{
	struct vm vm;
	NEED_KVM_VM(&vm, 2, NULL);
	CHECK_EQ(mp_state(&vm.vcpus[0]), KVM_MP_STATE_RUNNABLE);
	CHECK_EQ(mp_state(&vm.vcpus[1]), KVM_MP_STATE_UNINITIALIZED);
	struct x86_sregs s;
	CHECK_EQ(vm.accel->get_sregs(&vm.vcpus[1], &s), 0);
	CHECK_EQ(s.apic_base, 0xfee00800);

	/* the CPUID the vCPU was given, as KVM keeps it (KVM_GET_CPUID2) */
	uint32_t leaf1[4] = { 0 };
	CHECK_EQ(vm.accel->get_cpuid(&vm.vcpus[1], 1, 0, leaf1), 0);
	CHECK(leaf1[0] != 0);		/* the host's signature */
	CHECK_EQ(leaf1[1] >> 24, 1);	/* initial APIC ID */
	CHECK(leaf1[2] & (1u << 31));	/* hypervisor */

	uint64_t v = 0;
	CHECK_EQ(vm.accel->set_msr(&vm.vcpus[1], MSR_IA32_SYSENTER_CS, 0x10), 0);
	CHECK_EQ(vm.accel->get_msr(&vm.vcpus[1], MSR_IA32_SYSENTER_CS, &v), 0);
	CHECK_EQ(v, 0x10);
	CHECK(vm.accel->get_msr(&vm.vcpus[1], 0xdeadbeef, &v) < 0);
	vm_destroy(&vm);
}

TEST(long_mode_entry_through_the_boot_code)
{
	NEED_KVM();
	static const uint8_t code[] = {
		0x66, 0xba, 0xf8, 0x03,	/* mov dx, 0x3f8 */
		0xb0, 'L',		/* mov al, 'L' */
		0xee,			/* out dx, al */
		0xf4,			/* hlt */
	};
	struct vm vm;
	struct port_log log = { 0 };
	bool kicked;
	NEED_KVM_VM(&vm, 1, &log);
	CHECK_EQ(guest_mem_write(&vm.mem, 0x100000, code, sizeof(code)), 0);
	struct boot_entry entry = { .mode = BOOT_MODE_LONG64, .rip = 0x100000 };
	CHECK_EQ(boot_setup_cpu(&vm, &vm.vcpus[0], &entry), 0);
	run_vcpu(&vm, &log.n, 1, &kicked, 10000);
	CHECK_EQ(atomic_load(&log.n), 1);
	CHECK_EQ(log.bytes[0], 'L');
	struct x86_sregs s;
	CHECK_EQ(vm.accel->get_sregs(&vm.vcpus[0], &s), 0);
	CHECK(s.efer & X86_EFER_LMA);
	CHECK_EQ(s.seg[X86_CS].l, 1);
	vm_destroy(&vm);
}

RUN_TESTS(T(real_mode_out_then_hlt), T(string_io_both_directions), T(unreal_mode_mmio_read_and_write),
	  T(ioeventfd_and_signal_msi), T(triple_fault_asks_for_reset), T(kick_before_run_returns_at_once),
	  T(aps_wait_for_init_with_their_own_apic_id), T(long_mode_entry_through_the_boot_code))
