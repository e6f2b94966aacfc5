/* Shared between x87/ and sse/: the fxsave image, MMX's use of the x87
 * registers, and the checks both kinds of instructions make. */
#ifndef MINIVMM_X86_FPU_INTERNAL_H
#define MINIVMM_X86_FPU_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/x86/cpu.h"
#include "cpu/x86/fpu_state.h"

#define X87_FSW_IE 0x0001
#define X87_FSW_DE 0x0002
#define X87_FSW_ZE 0x0004
#define X87_FSW_OE 0x0008
#define X87_FSW_UE 0x0010
#define X87_FSW_PE 0x0020
#define X87_FSW_SF 0x0040
#define X87_FSW_ES 0x0080
#define X87_FSW_C0 0x0100
#define X87_FSW_C1 0x0200
#define X87_FSW_C2 0x0400
#define X87_FSW_TOP 0x3800
#define X87_FSW_C3 0x4000
#define X87_FSW_B 0x8000
#define X87_FSW_EXC 0x003f
#define X87_FSW_CC (X87_FSW_C0 | X87_FSW_C1 | X87_FSW_C2 | X87_FSW_C3)

#define X87_TAG_VALID 0
#define X87_TAG_ZERO 1
#define X87_TAG_SPECIAL 2
#define X87_TAG_EMPTY 3

#define MXCSR_FLAGS 0x003f
#define MXCSR_DAZ 0x0040
#define MXCSR_MASKS 0x1f80
#define MXCSR_RC 0x6000
#define MXCSR_FZ 0x8000
/* the bits ldmxcsr/fxrstor accept: everything up to FZ, DAZ included */
#define MXCSR_SUPPORTED 0xffff

/* Power-on / FNINIT values */
#define X87_FCW_INIT 0x037f
#define MXCSR_INIT 0x1f80

/* The tag a value would get when loaded into a register */
static inline unsigned x87_tag_of(const struct x87_reg *r)
{
	unsigned exp = r->sign_exp & 0x7fff;
	if (exp == 0x7fff)
		return X87_TAG_SPECIAL;
	if (exp == 0)
		return r->mantissa ? X87_TAG_SPECIAL : X87_TAG_ZERO;
	return (r->mantissa >> 63) ? X87_TAG_VALID : X87_TAG_SPECIAL;
}

/* FSW as the guest reads it (TOP merged in) */
static inline uint16_t x87_fsw(const struct x86_fpu_state *f)
{
	return (uint16_t)((f->fsw & ~X87_FSW_TOP) | ((f->top & 7) << 11));
}

/* The 512-byte fxsave image; rex_w selects the 64-bit FIP/FDP layout.
 * nxmm is 16 in 64-bit mode, else 8. */
void x86_fpu_fxsave(const struct x86_fpu_state *f, uint8_t img[512], bool rex_w, unsigned nxmm);
/* Returns -1 (caller raises #GP) if the image's MXCSR has reserved bits set */
int x86_fpu_fxrstor(struct x86_fpu_state *f, const uint8_t img[512], bool rex_w, unsigned nxmm);

/* FNINIT state plus MXCSR and XMM reset (power-on) */
void x86_fpu_reset(struct x86_fpu_state *f);

/* x87 instructions and MMX: #NM for CR0.EM/TS, #MF for a pending x87
 * exception.  Raise and do not return. */
void x87_check_pending(struct x86_cpu *cpu);

#endif
