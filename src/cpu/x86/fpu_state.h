/* x87, SSE and MXCSR state of the software CPU, kept in the layout the
 * architecture gives it so that fxsave/fxrstor are plain copies. */
#ifndef MINIVMM_X86_FPU_STATE_H
#define MINIVMM_X86_FPU_STATE_H

#include <stdint.h>

/* An 80-bit extended-precision register as stored by fxsave */
struct x87_reg {
	uint64_t mantissa;	/* explicit integer bit in bit 63 */
	uint16_t sign_exp;	/* sign in bit 15, biased exponent in 0..14 */
};

union xmm_reg {
	uint8_t b[16];
	uint16_t w[8];
	uint32_t d[4];
	uint64_t q[2];
	float f[4];
	double f64[2];
} __attribute__((aligned(16)));

struct x86_fpu_state {
	struct x87_reg st[8];	/* physical registers R0..R7; ST(i) = st[(top + i) & 7] */
	uint16_t fcw;		/* control word; 0x37f after FNINIT */
	uint16_t fsw;		/* status word without TOP */
	uint8_t top;
	uint16_t ftw;		/* full tag word, 2 bits per physical register */
	uint16_t fop;
	uint64_t fip, fdp;
	uint16_t fcs, fds;
	union xmm_reg xmm[16];
	uint32_t mxcsr;		/* 0x1f80 at reset */
};

#endif
