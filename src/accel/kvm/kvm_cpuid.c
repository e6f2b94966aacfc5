/* The CPUID a vCPU shows: what KVM_GET_SUPPORTED_CPUID says the host and
 * KVM can do, with the per-vCPU identity (APIC IDs) and the hypervisor's
 * presence filled in. */
#include "accel/kvm/kvm_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/* More than KVM ever returns (KVM_MAX_CPUID_ENTRIES is 256) */
#define CPUID_MAX_ENTRIES 4096

#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)

struct kvm_cpuid2 *kvm_get_supported_cpuid(int sys_fd)
{
	for (unsigned nent = 128; nent <= CPUID_MAX_ENTRIES; nent *= 2) {
		struct kvm_cpuid2 *cpuid =
			calloc(1, sizeof(*cpuid) + nent * sizeof(struct kvm_cpuid_entry2));
		if (!cpuid)
			return NULL;
		cpuid->nent = nent;
		if (ioctl(sys_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			return cpuid;
		int err = errno;
		free(cpuid);
		if (err != E2BIG) {
			errno = err;
			return NULL;
		}
	}
	errno = E2BIG;
	return NULL;
}

struct kvm_cpuid_entry2 *kvm_cpuid_find(struct kvm_cpuid_entry2 *entries, unsigned nent,
					uint32_t function, uint32_t index)
{
	for (unsigned i = 0; i < nent; i++) {
		if (entries[i].function != function)
			continue;
		if ((entries[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && entries[i].index != index)
			continue;
		return &entries[i];
	}
	return NULL;
}

static uint32_t sig_word(const char *s)
{
	uint32_t w;
	memcpy(&w, s, 4);
	return w;
}

int kvm_cpuid_adjust(struct kvm_cpuid_entry2 *entries, unsigned nent, unsigned capacity,
		     unsigned apic_id, bool tsc_deadline)
{
	bool have_signature = false, have_features = false;

	for (unsigned i = 0; i < nent; i++) {
		struct kvm_cpuid_entry2 *e = &entries[i];
		switch (e->function) {
		case 1:
			/* initial APIC ID in EBX[31:24] */
			e->ebx = (e->ebx & 0x00ffffffu) | ((apic_id & 0xff) << 24);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			/* KVM reports the TSC deadline timer through
			 * KVM_CAP_TSC_DEADLINE_TIMER only, as it needs the
			 * in-kernel local APIC */
			if (tsc_deadline)
				e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
			break;
		case 0xb:
		case 0x1f:
			/* x2APIC topology: EDX is the x2APIC ID in every sub-leaf */
			e->edx = apic_id;
			break;
		case 0x8000001e:
			/* AMD extended APIC ID */
			e->eax = apic_id;
			break;
		case KVM_CPUID_SIGNATURE_LEAF:
			have_signature = true;
			break;
		case KVM_CPUID_SIGNATURE_LEAF + 1:
			have_features = true;
			break;
		}
	}
	if (!have_signature) {
		/* KVM always supplies it; should one not, the guest still
		 * learns it runs on KVM, with no paravirtual features */
		if (nent >= capacity)
			return -ENOSPC;
		struct kvm_cpuid_entry2 *e = &entries[nent++];
		memset(e, 0, sizeof(*e));
		e->function = KVM_CPUID_SIGNATURE_LEAF;
		e->eax = KVM_CPUID_SIGNATURE_LEAF + have_features;	/* highest hypervisor leaf */
		e->ebx = sig_word("KVMK");
		e->ecx = sig_word("VMKV");
		e->edx = sig_word("M\0\0\0");
	}
	return (int)nent;
}
