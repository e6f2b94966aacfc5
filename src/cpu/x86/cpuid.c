/* CPUID: exactly the features this CPU implements.  The SIMD bits come
 * from simd_features.h, which the x87/SSE side keeps truthful. */
#include "cpu/x86/internal.h"
#include "cpu/x86/simd_features.h"
#include "hw/lapic.h"

/* family 6, model 0x3a (a Core generation without AVX), stepping 9 */
#define X86_CPUID_SIGNATURE 0x000306a9u

static void put_str(uint32_t *r, const char *s)
{
	memcpy(r, s, 16);
}

void x86_cpuid(struct x86_cpu *cpu, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	static const char brand[48] = "minivmm software x86-64 CPU";
	r[0] = r[1] = r[2] = r[3] = 0;
	switch (leaf) {
	case 0:
		r[0] = 0x16;
		memcpy(&r[1], "Genu", 4);
		memcpy(&r[3], "ineI", 4);
		memcpy(&r[2], "ntel", 4);
		break;
	case 1:
		r[0] = X86_CPUID_SIGNATURE;
		/* CLFLUSH line 8*8 bytes, one logical processor, initial APIC id */
		r[1] = (8u << 8) | (1u << 16) | (cpu->id << 24);
		r[2] = (X86_SIMD_HAS_SSE3 ? 1u << 0 : 0) | (X86_SIMD_HAS_SSSE3 ? 1u << 9 : 0) |
		       (1u << 13) /* CX16 */ | (X86_SIMD_HAS_SSE41 ? 1u << 19 : 0) |
		       (1u << 22) /* MOVBE */ | (1u << 23) /* POPCNT */ |
		       (1u << 31) /* running under a hypervisor */;
		/* the userspace local APIC.  Its TSC-deadline mode works but is
		 * not offered: Linux then arms the timer per tick, and while the
		 * software CPU lags its ticks Linux judges the TSC unstable; with
		 * the periodic APIC timer it keeps the TSC as its clock. */
		if (cpu->vm && cpu->vm->irq_router)
			r[2] |= (1u << 21) /* x2APIC */;
		r[3] = (X86_SIMD_HAS_FPU ? 1u << 0 : 0) | (1u << 3) /* PSE */ |
		       (1u << 4) /* TSC */ | (1u << 5) /* MSR */ | (1u << 6) /* PAE */ |
		       (1u << 7) /* MCE */ | (1u << 8) /* CX8 */ | (1u << 9) /* APIC */ |
		       (1u << 11) /* SEP */ | (1u << 12) /* MTRR: system.c */ |
		       (1u << 13) /* PGE */ | (1u << 14) /* MCA: banks that never log */ | (X86_SIMD_HAS_CMOV_FCMOV ? 1u << 15 : 0) |
		       (1u << 16) /* PAT */ | (1u << 17) /* PSE-36 */ | (1u << 19) /* CLFSH */ |
		       (X86_SIMD_HAS_MMX ? 1u << 23 : 0) |
		       (X86_SIMD_HAS_FXSR ? 1u << 24 : 0) | (X86_SIMD_HAS_SSE ? 1u << 25 : 0) |
		       (X86_SIMD_HAS_SSE2 ? 1u << 26 : 0);
		break;
	case 7:
		/* IA32_ARCH_CAPABILITIES (x86_arch_capabilities) */
		if (sub == 0)
			r[3] = 1u << 29;
		break;
	case 0x15:
		/* TSC = crystal * EBX / EAX; the crystal is the APIC timer's clock */
		r[0] = 1;
		r[1] = (uint32_t)(X86_TSC_HZ / APIC_BUS_HZ);
		r[2] = (uint32_t)APIC_BUS_HZ;
		break;
	case 0x16:
		r[0] = (uint32_t)(X86_TSC_HZ / 1000000ull);	/* base MHz */
		r[1] = r[0];				/* max MHz */
		r[2] = 100;				/* bus MHz */
		break;
	case 0x80000000:
		r[0] = 0x80000008;
		break;
	case 0x80000001:
		r[2] = (1u << 0) /* LAHF/SAHF in 64-bit mode */ | (1u << 5) /* LZCNT */;
		/* 1 GiB pages: the walk takes them (mmu.c), and offering them
		 * lets Linux map its direct map with them, as on QEMU -cpu max */
		r[3] = (1u << 11) /* SYSCALL */ | (1u << 20) /* NX */ | (1u << 26) /* Page1GB */ |
		       (1u << 27) /* RDTSCP */ | (1u << 29) /* LM */;
		break;
	case 0x80000002:
	case 0x80000003:
	case 0x80000004:
		put_str(r, brand + 16 * (leaf - 0x80000002));
		break;
	case 0x80000008:
		r[0] = 40 | (48 << 8);	/* physical, linear address bits */
		break;
	case 0x40000000:
		/* hypervisor leaf: our name, no paravirtual interfaces */
		r[0] = 0x40000000;
		memcpy(&r[1], "Mini", 4);
		memcpy(&r[2], "VMMs", 4);
		memcpy(&r[3], "oft ", 4);
		break;
	default:
		/* leaves 2..0x14: nothing to report (zeros) */
		break;
	}
}

/* This CPU does not speculate: none of the transient-execution flaws
 * IA32_ARCH_CAPABILITIES can deny applies to it, and saying so spares a
 * guest the mitigations that would cost it most here (page-table
 * isolation's CR3 switch, which empties the TLB on every system call and
 * interrupt; VERW on every return to user mode) */
uint64_t x86_arch_capabilities(void)
{
	return (1ull << 0) /* RDCL_NO: no Meltdown */ | (1ull << 3) /* SKIP_L1DFL_VMENTRY */ |
	       (1ull << 4) /* SSB_NO */ | (1ull << 5) /* MDS_NO */ | (1ull << 6) /* PSCHANGE_MC_NO */ |
	       (1ull << 8) /* TAA_NO */ | (1ull << 13) /* SBDR_SSDP_NO */ |
	       (1ull << 14) /* FBSDP_NO */ | (1ull << 15) /* PSDP_NO */ |
	       (1ull << 24) /* PBRSB_NO */ | (1ull << 26) /* GDS_NO */ | (1ull << 27) /* RFDS_NO */;
}
