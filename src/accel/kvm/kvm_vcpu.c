/* The KVM engine, vCPU side: creation with its CPUID, the power-on state,
 * register access, the KVM_RUN loop and the kick that stops it. */
#include "accel/kvm/kvm_internal.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/log.h"
#include "core/vm.h"

static int vcpu_ioctl_failed(const struct vcpu *vcpu, const char *what)
{
	int err = errno;
	log_error("KVM: vCPU %u: %s: %s", vcpu->id, what, strerror(err));
	return -err;
}

static int kvm_vcpu_set_cpuid(struct vcpu *vcpu, struct kvm_engine_vm *kvm,
			      struct kvm_engine_vcpu *kv)
{
	const struct kvm_cpuid2 *supported = kvm->supported_cpuid;
	unsigned capacity = supported->nent + 1;	/* room for the signature leaf */
	struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) + capacity * sizeof(cpuid->entries[0]));
	int ret;

	if (!cpuid)
		return -ENOMEM;
	memcpy(cpuid->entries, supported->entries, supported->nent * sizeof(cpuid->entries[0]));
	ret = kvm_cpuid_adjust(cpuid->entries, supported->nent, capacity, vcpu->id,
			       kvm->tsc_deadline);
	if (ret >= 0) {
		cpuid->nent = (uint32_t)ret;
		ret = ioctl(kv->fd, KVM_SET_CPUID2, cpuid) < 0 ? vcpu_ioctl_failed(vcpu, "KVM_SET_CPUID2") : 0;
	}
	free(cpuid);
	return ret;
}

void kvm_vcpu_destroy(struct vcpu *vcpu)
{
	struct kvm_engine_vcpu *kv = vcpu->engine;
	if (!kv)
		return;
	if (kv->run && kv->run != MAP_FAILED)
		munmap(kv->run, kv->run_size);
	if (kv->fd >= 0)
		close(kv->fd);
	free(kv);
	vcpu->engine = NULL;
}

int kvm_vcpu_create(struct vcpu *vcpu)
{
	struct kvm_engine_vm *kvm = vcpu->vm->engine;
	struct kvm_engine_vcpu *kv = calloc(1, sizeof(*kv));
	int ret;

	if (!kv)
		return -ENOMEM;
	vcpu->engine = kv;
	kv->run_size = kvm->run_size;
	/* the vCPU id is the APIC ID on x86 */
	kv->fd = ioctl(kvm->vm_fd, KVM_CREATE_VCPU, (unsigned long)vcpu->id);
	if (kv->fd < 0) {
		ret = vcpu_ioctl_failed(vcpu, "KVM_CREATE_VCPU");
		goto fail;
	}
	kv->run = mmap(NULL, kv->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, kv->fd, 0);
	if (kv->run == MAP_FAILED) {
		kv->run = NULL;
		ret = vcpu_ioctl_failed(vcpu, "mmap of kvm_run");
		goto fail;
	}
	ret = kvm_vcpu_set_cpuid(vcpu, kvm, kv);
	if (ret < 0)
		goto fail;
	return 0;
fail:
	kvm_vcpu_destroy(vcpu);
	return ret;
}

int kvm_get_regs(struct vcpu *vcpu, struct x86_regs *regs)
{
	struct kvm_engine_vcpu *kv = vcpu->engine;
	struct kvm_regs kr;
	if (ioctl(kv->fd, KVM_GET_REGS, &kr) < 0)
		return vcpu_ioctl_failed(vcpu, "KVM_GET_REGS");
	kvm_regs_to_x86(regs, &kr);
	return 0;
}

int kvm_set_regs(struct vcpu *vcpu, const struct x86_regs *regs)
{
	struct kvm_engine_vcpu *kv = vcpu->engine;
	struct kvm_regs kr;
	kvm_regs_from_x86(&kr, regs);
	if (ioctl(kv->fd, KVM_SET_REGS, &kr) < 0)
		return vcpu_ioctl_failed(vcpu, "KVM_SET_REGS");
	return 0;
}

int kvm_get_sregs(struct vcpu *vcpu, struct x86_sregs *sregs)
{
	struct kvm_engine_vcpu *kv = vcpu->engine;
	struct kvm_sregs ks;
	if (ioctl(kv->fd, KVM_GET_SREGS, &ks) < 0)
		return vcpu_ioctl_failed(vcpu, "KVM_GET_SREGS");
	kvm_sregs_to_x86(sregs, &ks);
	return 0;
}

int kvm_set_sregs(struct vcpu *vcpu, const struct x86_sregs *sregs)
{
	struct kvm_engine_vcpu *kv = vcpu->engine;
	struct kvm_sregs ks;
	/* read first: interrupt_bitmap (an interrupt the local APIC has
	 * acknowledged but not yet injected) is KVM's, not ours to drop */
	if (ioctl(kv->fd, KVM_GET_SREGS, &ks) < 0)
		return vcpu_ioctl_failed(vcpu, "KVM_GET_SREGS");
	kvm_sregs_from_x86(&ks, sregs);
	if (ioctl(kv->fd, KVM_SET_SREGS, &ks) < 0)
		return vcpu_ioctl_failed(vcpu, "KVM_SET_SREGS");
	return 0;
}

/* struct kvm_msrs with room for one entry */
union kvm_one_msr {
	struct kvm_msrs msrs;
	uint8_t bytes[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
};

/* KVM_GET/SET_MSRS return how many MSRs they handled: 0 means KVM does not
 * know the MSR or refused the value.  That is the caller's to report. */
int kvm_get_msr(struct vcpu *vcpu, uint32_t index, uint64_t *value)
{
	struct kvm_engine_vcpu *kv = vcpu->engine;
	union kvm_one_msr m;
	memset(&m, 0, sizeof(m));
	m.msrs.nmsrs = 1;
	m.msrs.entries[0].index = index;
	int n = ioctl(kv->fd, KVM_GET_MSRS, &m.msrs);
	if (n < 0)
		return -errno;
	if (n != 1)
		return -EINVAL;
	*value = m.msrs.entries[0].data;
	return 0;
}

/* The table KVM_SET_CPUID2 gave the vCPU, as KVM keeps it (KVM_GET_CPUID2
 * says E2BIG while the buffer is too small) */
int kvm_get_cpuid(const struct vcpu *vcpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	const struct kvm_engine_vcpu *kv = vcpu->engine;
	for (unsigned capacity = 64; capacity <= 4096; capacity *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + capacity * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = capacity;
		int ret = ioctl(kv->fd, KVM_GET_CPUID2, c) < 0 ? -errno : 0;
		if (ret == 0) {
			const struct kvm_cpuid_entry2 *e = kvm_cpuid_find(c->entries, c->nent, leaf, subleaf);
			if (e) {
				out[0] = e->eax, out[1] = e->ebx, out[2] = e->ecx, out[3] = e->edx;
			} else {
				out[0] = out[1] = out[2] = out[3] = 0;
			}
		}
		free(c);
		if (ret != -E2BIG)
			return ret;
	}
	return -E2BIG;
}

int kvm_set_msr(struct vcpu *vcpu, uint32_t index, uint64_t value)
{
	struct kvm_engine_vcpu *kv = vcpu->engine;
	union kvm_one_msr m;
	memset(&m, 0, sizeof(m));
	m.msrs.nmsrs = 1;
	m.msrs.entries[0].index = index;
	m.msrs.entries[0].data = value;
	int n = ioctl(kv->fd, KVM_SET_MSRS, &m.msrs);
	if (n < 0)
		return -errno;
	return n == 1 ? 0 : -EINVAL;
}

/* The in-kernel PICs, I/O APIC and PIT back to their power-on state; done
 * once per machine reset, with the boot CPU's reset.  Each is read first
 * so that what describes the board (ELCR mask, I/O APIC address) stays. */
static int kvm_reset_irqchips(struct vcpu *vcpu, struct kvm_engine_vm *kvm)
{
	for (uint32_t chip = 0; chip < KVM_NR_IRQCHIPS; chip++) {
		struct kvm_irqchip ic;
		memset(&ic, 0, sizeof(ic));
		ic.chip_id = chip;
		if (ioctl(kvm->vm_fd, KVM_GET_IRQCHIP, &ic) < 0)
			return vcpu_ioctl_failed(vcpu, "KVM_GET_IRQCHIP");
		if (chip == KVM_IRQCHIP_IOAPIC)
			kvm_power_on_ioapic(&ic.chip.ioapic);
		else
			kvm_power_on_pic(&ic.chip.pic);
		if (ioctl(kvm->vm_fd, KVM_SET_IRQCHIP, &ic) < 0)
			return vcpu_ioctl_failed(vcpu, "KVM_SET_IRQCHIP");
	}
	if (ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_PIT_STATE2) > 0) {
		struct kvm_pit_state2 pit;
		if (ioctl(kvm->vm_fd, KVM_GET_PIT2, &pit) < 0)
			return vcpu_ioctl_failed(vcpu, "KVM_GET_PIT2");
		kvm_power_on_pit(&pit);
		if (ioctl(kvm->vm_fd, KVM_SET_PIT2, &pit) < 0)
			return vcpu_ioctl_failed(vcpu, "KVM_SET_PIT2");
	}
	return 0;
}

/* Power-on state.  The boot CPU (vCPU 0, KVM's default BSP) is runnable
 * in real mode at F000:FFF0; an AP is KVM_MP_STATE_UNINITIALIZED, which
 * api.rst defines as an AP that has not yet received INIT: the in-kernel
 * local APIC starts it on INIT/SIPI from the guest. */
int kvm_vcpu_reset(struct vcpu *vcpu)
{
	struct kvm_engine_vm *kvm = vcpu->vm->engine;
	struct kvm_engine_vcpu *kv = vcpu->engine;
	bool bsp = vcpu->id == 0;
	struct x86_regs regs;
	struct x86_sregs sregs;
	struct kvm_regs kregs;
	struct kvm_sregs ksregs;
	struct kvm_fpu fpu;
	struct kvm_lapic_state lapic;
	int ret;

	if (bsp) {
		ret = kvm_reset_irqchips(vcpu, kvm);
		if (ret < 0)
			return ret;
	}

	kvm_power_on_sregs(&sregs, bsp);
	memset(&ksregs, 0, sizeof(ksregs));	/* no pending interrupt either */
	kvm_sregs_from_x86(&ksregs, &sregs);
	if (ioctl(kv->fd, KVM_SET_SREGS, &ksregs) < 0)
		return vcpu_ioctl_failed(vcpu, "KVM_SET_SREGS");

	const struct kvm_cpuid_entry2 *leaf1 =
		kvm_cpuid_find(kvm->supported_cpuid->entries, kvm->supported_cpuid->nent, 1, 0);
	kvm_power_on_regs(&regs, leaf1 ? leaf1->eax : 0);
	kvm_regs_from_x86(&kregs, &regs);
	if (ioctl(kv->fd, KVM_SET_REGS, &kregs) < 0)
		return vcpu_ioctl_failed(vcpu, "KVM_SET_REGS");

	kvm_power_on_fpu(&fpu);
	if (ioctl(kv->fd, KVM_SET_FPU, &fpu) < 0)
		return vcpu_ioctl_failed(vcpu, "KVM_SET_FPU");

	if (kvm->xcrs) {
		struct kvm_xcrs xcrs;
		memset(&xcrs, 0, sizeof(xcrs));
		xcrs.nr_xcrs = 1;
		xcrs.xcrs[0].xcr = 0;
		xcrs.xcrs[0].value = 1;	/* XCR0: x87 only */
		if (ioctl(kv->fd, KVM_SET_XCRS, &xcrs) < 0)
			return vcpu_ioctl_failed(vcpu, "KVM_SET_XCRS");
	}
	if (kvm->debugregs) {
		struct kvm_debugregs dbg;
		memset(&dbg, 0, sizeof(dbg));
		dbg.dr6 = 0xffff0ff0;
		dbg.dr7 = 0x400;
		if (ioctl(kv->fd, KVM_SET_DEBUGREGS, &dbg) < 0)
			return vcpu_ioctl_failed(vcpu, "KVM_SET_DEBUGREGS");
	}
	if (kvm->vcpu_events) {
		/* drop any exception, interrupt or NMI the guest left pending */
		struct kvm_vcpu_events events;
		memset(&events, 0, sizeof(events));
		events.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
		if (ioctl(kv->fd, KVM_SET_VCPU_EVENTS, &events) < 0)
			return vcpu_ioctl_failed(vcpu, "KVM_SET_VCPU_EVENTS");
	}

	/* after KVM_SET_SREGS: KVM takes the APIC base from the vCPU */
	kvm_power_on_lapic(&lapic, vcpu->id, bsp);
	if (ioctl(kv->fd, KVM_SET_LAPIC, &lapic) < 0)
		return vcpu_ioctl_failed(vcpu, "KVM_SET_LAPIC");

	struct kvm_mp_state mp = {
		.mp_state = bsp ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED,
	};
	if (ioctl(kv->fd, KVM_SET_MP_STATE, &mp) < 0)
		return vcpu_ioctl_failed(vcpu, "KVM_SET_MP_STATE");
	return 0;
}

/* The registers, for a guest that cannot go on */
static void kvm_dump_vcpu(struct vcpu *vcpu)
{
	struct x86_regs regs;
	struct x86_sregs sregs;
	char buf[2048];

	if (kvm_get_regs(vcpu, &regs) < 0 || kvm_get_sregs(vcpu, &sregs) < 0)
		return;
	kvm_format_state(buf, sizeof(buf), &regs, &sregs);
	log_info("vCPU %u registers:", vcpu->id);
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		log_info("  %s", line);
}

/* -d exit: every exit up to a limit, as a guest can make millions */
#define EXIT_LOG_LIMIT 100000

static void kvm_log_exit(struct vcpu *vcpu, struct kvm_engine_vcpu *kv)
{
	char line[128];
	if (kv->exits_logged > EXIT_LOG_LIMIT)
		return;
	if (kv->exits_logged++ == EXIT_LOG_LIMIT) {
		log_debug("vCPU %u: more exits, no longer reported", vcpu->id);
		return;
	}
	kvm_describe_exit(line, sizeof(line), kv->run);
	log_debug("vCPU %u: exit %s", vcpu->id, line);
}

static void kvm_vcpu_enter(struct kvm_engine_vcpu *kv)
{
	kv->thread = pthread_self();
	atomic_store(&kv->in_run, true);
}

static void kvm_vcpu_leave(struct kvm_engine_vcpu *kv)
{
	atomic_store(&kv->in_run, false);
	/* a kick that saw in_run set may still be about to signal this
	 * thread: let it finish before the thread can go away */
	while (atomic_load(&kv->kickers))
		sched_yield();
}

enum vcpu_event kvm_vcpu_run(struct vcpu *vcpu)
{
	struct kvm_engine_vcpu *kv = vcpu->engine;
	enum vcpu_event event;

	kvm_vcpu_enter(kv);
	for (;;) {
		if (ioctl(kv->fd, KVM_RUN, 0) < 0) {
			int err = errno;
			if (err == EINTR) {
				/* kicked (immediate_exit, or the signal inside
				 * the guest): the monitor checks its run state,
				 * and the next KVM_RUN enters the guest again */
				__atomic_store_n(&kv->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				event = VCPU_EVENT_YIELD;
				break;
			}
			if (err == EAGAIN)
				continue;
			errno = err;
			vcpu_ioctl_failed(vcpu, "KVM_RUN");
			event = VCPU_EVENT_ERROR;
			break;
		}
		if (vcpu->vm->cfg.debug_mask & DEBUG_EXIT)
			kvm_log_exit(vcpu, kv);
		enum kvm_exit_action action = kvm_handle_exit(vcpu->vm, kv->run, kv->run_size);
		if (action == KVM_ACTION_CONTINUE)
			continue;
		if (action == KVM_ACTION_ERROR_DUMP)
			kvm_dump_vcpu(vcpu);
		event = kvm_action_to_event(action);
		break;
	}
	kvm_vcpu_leave(kv);
	return event;
}

/* api.rst's way to stop KVM_RUN: immediate_exit makes a KVM_RUN that has
 * not yet started return EINTR at once, and the signal makes one that is
 * running return EINTR.  Only async-signal-safe calls here. */
void kvm_vcpu_kick(struct vcpu *vcpu)
{
	struct kvm_engine_vcpu *kv = vcpu->engine;
	if (!kv || !kv->run)
		return;
	__atomic_store_n(&kv->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	atomic_fetch_add(&kv->kickers, 1);
	if (atomic_load(&kv->in_run))
		pthread_kill(kv->thread, SIGUSR1);
	atomic_fetch_sub(&kv->kickers, 1);
}
