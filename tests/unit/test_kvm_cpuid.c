/* Per-vCPU CPUID built from a fabricated KVM_GET_SUPPORTED_CPUID table. */
#include <errno.h>
#include <string.h>

#include "accel/kvm/kvm_internal.h"
#include "test.h"

static const char SIG[12] = "KVMKVMKVM\0\0\0";

static unsigned fake_table(struct kvm_cpuid_entry2 *e, bool with_signature)
{
	unsigned n = 0;
	memset(e, 0, 16 * sizeof(*e));
	e[n++] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0x1f, .ebx = 0x756e6547 };
	/* host APIC ID 0x0c in EBX[31:24], 16 logical CPUs, CLFLUSH 8 */
	e[n++] = (struct kvm_cpuid_entry2){ .function = 1, .eax = 0x000806ec,
					    .ebx = 0x0c100800, .ecx = 0x0eda2203, .edx = 0xbfebfbff };
	e[n++] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 0,
					    .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
					    .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 0x0c };
	e[n++] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 1,
					    .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
					    .eax = 4, .ebx = 16, .ecx = 0x201, .edx = 0x0c };
	e[n++] = (struct kvm_cpuid_entry2){ .function = 0x1f, .index = 0,
					    .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
					    .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 0x0c };
	e[n++] = (struct kvm_cpuid_entry2){ .function = 0x8000001e, .eax = 0x0c, .ebx = 0x100 };
	if (with_signature) {
		struct kvm_cpuid_entry2 s = { .function = 0x40000000, .eax = 0x40000001 };
		memcpy(&s.ebx, SIG, 4);
		memcpy(&s.ecx, SIG + 4, 4);
		memcpy(&s.edx, SIG + 8, 4);
		e[n++] = s;
	}
	e[n++] = (struct kvm_cpuid_entry2){ .function = 0x40000001, .eax = 0x01007afb };
	return n;
}

TEST(apic_ids_and_hypervisor_bit)
{
	struct kvm_cpuid_entry2 e[16];
	unsigned n = fake_table(e, true);
	int r = kvm_cpuid_adjust(e, n, 16, 3, false);
	CHECK_EQ(r, (int)n);	/* nothing added: KVM supplied the signature */

	struct kvm_cpuid_entry2 *leaf1 = kvm_cpuid_find(e, n, 1, 0);
	CHECK(leaf1 != NULL);
	CHECK_EQ(leaf1->ebx >> 24, 3);
	CHECK_EQ(leaf1->ebx & 0x00ffffff, 0x100800);	/* the rest of EBX untouched */
	CHECK_EQ(leaf1->eax, 0x000806ec);
	CHECK(leaf1->ecx & (1u << 31));	/* hypervisor present */
	CHECK(!(leaf1->ecx & (1u << 24)));	/* no TSC deadline unless asked */
	CHECK_EQ(leaf1->edx, 0xbfebfbff);

	struct kvm_cpuid_entry2 *b0 = kvm_cpuid_find(e, n, 0xb, 0);
	struct kvm_cpuid_entry2 *b1 = kvm_cpuid_find(e, n, 0xb, 1);
	CHECK(b0 && b1 && b0 != b1);
	CHECK_EQ(b0->edx, 3);
	CHECK_EQ(b1->edx, 3);
	CHECK_EQ(b1->ebx, 16);
	CHECK_EQ(kvm_cpuid_find(e, n, 0x1f, 0)->edx, 3);
	CHECK_EQ(kvm_cpuid_find(e, n, 0x8000001e, 0)->eax, 3);
	CHECK(kvm_cpuid_find(e, n, 0xb, 2) == NULL);

	struct kvm_cpuid_entry2 *sig = kvm_cpuid_find(e, n, 0x40000000, 0);
	CHECK(sig != NULL);
	char name[12];
	memcpy(name, &sig->ebx, 4);
	memcpy(name + 4, &sig->ecx, 4);
	memcpy(name + 8, &sig->edx, 4);
	CHECK(memcmp(name, SIG, 12) == 0);
	CHECK_EQ(sig->eax, 0x40000001);
}

TEST(tsc_deadline_when_the_local_apic_has_it)
{
	struct kvm_cpuid_entry2 e[16];
	unsigned n = fake_table(e, true);
	kvm_cpuid_adjust(e, n, 16, 0, true);
	struct kvm_cpuid_entry2 *leaf1 = kvm_cpuid_find(e, n, 1, 0);
	CHECK(leaf1->ecx & (1u << 24));
	CHECK_EQ(leaf1->ebx >> 24, 0);
}

TEST(missing_signature_leaf_is_added)
{
	struct kvm_cpuid_entry2 e[16];
	unsigned n = fake_table(e, false);
	int r = kvm_cpuid_adjust(e, n, 16, 1, false);
	CHECK_EQ(r, (int)n + 1);
	struct kvm_cpuid_entry2 *sig = kvm_cpuid_find(e, (unsigned)r, 0x40000000, 0);
	CHECK(sig != NULL);
	CHECK_EQ(sig->eax, 0x40000001);	/* the features leaf is there */
	CHECK(memcmp(&sig->ebx, "KVMK", 4) == 0);
	CHECK(memcmp(&sig->ecx, "VMKV", 4) == 0);
	CHECK(memcmp(&sig->edx, "M\0\0\0", 4) == 0);

	/* with no room left it says so rather than write past the table */
	n = fake_table(e, false);
	CHECK_EQ(kvm_cpuid_adjust(e, n, n, 1, false), -ENOSPC);
}

TEST(find_ignores_index_unless_significant)
{
	struct kvm_cpuid_entry2 e[16];
	unsigned n = fake_table(e, true);
	CHECK(kvm_cpuid_find(e, n, 1, 7) == &e[1]);
	CHECK(kvm_cpuid_find(e, n, 0x12345678, 0) == NULL);
	CHECK(kvm_cpuid_find(e, 0, 1, 0) == NULL);
}

RUN_TESTS(T(apic_ids_and_hypervisor_bit), T(tsc_deadline_when_the_local_apic_has_it),
	  T(missing_signature_leaf_is_added), T(find_ignores_index_unless_significant))
