/* Floating-point SIMD arithmetic done by the host's own SSE unit.
 *
 * The host is x86-64, so the exact IEEE behaviour the guest expects --
 * rounding mode, DAZ/FTZ, which NaN propagates, the exception flags -- is
 * what the host's instruction gives when run under the guest's MXCSR.
 * Each helper loads the guest's rounding/DAZ/FZ bits with every exception
 * masked, runs one instruction on copies of the operands and returns the
 * exception flags it raised; the group files decide from the guest's
 * masks whether the result is written or #XM is raised.  The host's own
 * MXCSR is put back before returning.  One asm statement per helper, so the compiler
 * cannot move floating-point work across the MXCSR switch.
 *
 * SSE4.1 helpers (round*) need SSE4.1 on the host; every host minivmm
 * targets has it. */
#ifndef MINIVMM_X86_SSE_HOST_H
#define MINIVMM_X86_SSE_HOST_H

#include <stdint.h>

#include "cpu/x86/fpu_internal.h"

/* the guest's MXCSR with all exceptions masked and no flags */
static inline uint32_t sse_host_mxcsr(uint32_t guest)
{
	return (guest & (MXCSR_RC | MXCSR_FZ | MXCSR_DAZ)) | MXCSR_MASKS;
}

/* d = d OP s, both full registers */
#define SSE_HOST_OP2(name, text)                                                          \
	static inline uint32_t host_##name(union xmm_reg *d, const union xmm_reg *s,      \
					   uint32_t mxcsr)                                \
	{                                                                                 \
		uint32_t saved, out, in = sse_host_mxcsr(mxcsr);                          \
		__asm__ volatile("stmxcsr %[saved]\n\t"                                   \
				 "ldmxcsr %[in]\n\t"                                      \
				 "movdqu %[d], %%xmm0\n\t"                                \
				 "movdqu %[s], %%xmm1\n\t" text " %%xmm1, %%xmm0\n\t"     \
				 "movdqu %%xmm0, %[d]\n\t"                                \
				 "stmxcsr %[out]\n\t"                                     \
				 "ldmxcsr %[saved]"                                       \
				 : [d] "+m"(*d), [saved] "=m"(saved), [out] "=m"(out)     \
				 : [s] "m"(*s), [in] "m"(in)                              \
				 : "xmm0", "xmm1");                                       \
		return out & MXCSR_FLAGS;                                                 \
	}

/* xmm = convert(integer in memory) */
#define SSE_HOST_FROM_INT(name, text, type)                                               \
	static inline uint32_t host_##name(union xmm_reg *d, type v, uint32_t mxcsr)      \
	{                                                                                 \
		uint32_t saved, out, in = sse_host_mxcsr(mxcsr);                          \
		__asm__ volatile("stmxcsr %[saved]\n\t"                                   \
				 "ldmxcsr %[in]\n\t"                                      \
				 "movdqu %[d], %%xmm0\n\t" text " %[v], %%xmm0\n\t"       \
				 "movdqu %%xmm0, %[d]\n\t"                                \
				 "stmxcsr %[out]\n\t"                                     \
				 "ldmxcsr %[saved]"                                       \
				 : [d] "+m"(*d), [saved] "=m"(saved), [out] "=m"(out)     \
				 : [v] "m"(v), [in] "m"(in)                               \
				 : "xmm0");                                               \
		return out & MXCSR_FLAGS;                                                 \
	}

/* integer = convert(low element of s) */
#define SSE_HOST_TO_INT(name, text, type)                                                 \
	static inline uint32_t host_##name(type *r, const union xmm_reg *s, uint32_t mxcsr) \
	{                                                                                 \
		uint32_t saved, out, in = sse_host_mxcsr(mxcsr);                          \
		type v;                                                                   \
		__asm__ volatile("stmxcsr %[saved]\n\t"                                   \
				 "ldmxcsr %[in]\n\t"                                      \
				 "movdqu %[s], %%xmm1\n\t" text " %%xmm1, %[v]\n\t"       \
				 "stmxcsr %[out]\n\t"                                     \
				 "ldmxcsr %[saved]"                                       \
				 : [v] "=r"(v), [saved] "=m"(saved), [out] "=m"(out)      \
				 : [s] "m"(*s), [in] "m"(in)                              \
				 : "xmm1");                                               \
		*r = v;                                                                   \
		return out & MXCSR_FLAGS;                                                 \
	}

/* EFLAGS ZF/PF/CF of (u)comiss/sd a, b */
#define SSE_HOST_COMI(name, text)                                                         \
	static inline uint32_t host_##name(const union xmm_reg *a, const union xmm_reg *b, \
					   uint32_t mxcsr, uint64_t *rflags)              \
	{                                                                                 \
		uint32_t saved, out, in = sse_host_mxcsr(mxcsr);                          \
		uint8_t zf, pf, cf;                                                       \
		__asm__ volatile("stmxcsr %[saved]\n\t"                                   \
				 "ldmxcsr %[in]\n\t"                                      \
				 "movdqu %[a], %%xmm0\n\t"                                \
				 "movdqu %[b], %%xmm1\n\t" text " %%xmm1, %%xmm0\n\t"     \
				 "stmxcsr %[out]\n\t"                                     \
				 "ldmxcsr %[saved]"                                       \
				 : "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf), [saved] "=m"(saved), \
				   [out] "=m"(out)                                        \
				 : [a] "m"(*a), [b] "m"(*b), [in] "m"(in)                 \
				 : "xmm0", "xmm1");                                       \
		*rflags = (zf ? 0x40u : 0) | (pf ? 0x04u : 0) | (cf ? 0x01u : 0);         \
		return out & MXCSR_FLAGS;                                                 \
	}

#endif
