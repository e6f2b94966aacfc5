/* Which SIMD extensions the software CPU implements.  CPUID reports
 * exactly these, so a bit is 1 only when every instruction of the
 * extension works in x87/ and sse/ (the differential tester,
 * tests/unit/test_difftest.c, checks them against the host).
 *
 * cpuid.c: MMX (leaf 1 EDX bit 23) is implemented too and belongs to the
 * x86-64 baseline that glibc's ISA-level check requires. */
#ifndef MINIVMM_X86_SIMD_FEATURES_H
#define MINIVMM_X86_SIMD_FEATURES_H

#define X86_SIMD_HAS_FPU 1	/* CPUID.1:EDX bit 0 */
#define X86_SIMD_HAS_MMX 1	/* CPUID.1:EDX bit 23 (x86-64 baseline: glibc checks it) */
#define X86_SIMD_HAS_FXSR 1	/* CPUID.1:EDX bit 24 */
#define X86_SIMD_HAS_SSE 1	/* CPUID.1:EDX bit 25 */
#define X86_SIMD_HAS_SSE2 1	/* CPUID.1:EDX bit 26 */
#define X86_SIMD_HAS_SSE3 1	/* CPUID.1:ECX bit 0 */
#define X86_SIMD_HAS_SSSE3 1	/* CPUID.1:ECX bit 9 */
#define X86_SIMD_HAS_SSE41 1	/* CPUID.1:ECX bit 19 */
#define X86_SIMD_HAS_CMOV_FCMOV 1	/* CPUID.1:EDX bit 15 (with FPU: fcmovcc, fcomi) */

#endif
