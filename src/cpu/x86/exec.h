/* Instruction executors over a decoded struct x86_insn.  Each returns
 * X86_EXEC_NEXT (0) to go on with the next instruction, or another
 * X86_EXEC_* code (cpu.h) that ends the block; faults go through
 * x86_raise_exception.  cpu->rip is the instruction's address and
 * cpu->next_rip = rip + len when they are called; a branch writes
 * cpu->next_rip.
 *
 * Dispatch (exec.c) sends to:
 *   x86_exec_x87: one-byte opcodes D8-DF and 9B (FWAIT).  The executor has
 *     not checked CR0.EM/TS: x87/ raises #NM/#MF itself.
 *   x86_exec_sse: map 0F opcodes 10-17, 28-2F, 50-7F, C2-C6, D0-FF, the
 *     0F AE group with a memory operand and reg 0-3 (fxsave, fxrstor,
 *     ldmxcsr, stmxcsr), 0F 77 (emms), and all of maps 0F38 and 0F3A except
 *     0F38 F0/F1 (movbe, crc32: exec.c).  0F AE with reg 4 (xsave) and
 *     opcodes fpu leaves out must raise #UD.  CR0.EM/TS, CR4.OSFXSR
 *     checks are sse/'s.
 *
 * A negative return from x86_exec_x87/x86_exec_sse means "not an
 * instruction I implement": the dispatcher raises #UD.
 *
 * CPUID (cpuid.c) reports the SIMD features from simd_features.h
 * (X86_SIMD_HAS_*), which the fpu side keeps truthful.
 */
#ifndef MINIVMM_X86_EXEC_H
#define MINIVMM_X86_EXEC_H

#include "cpu/x86/cpu.h"
#include "cpu/x86/insn.h"

int x86_exec(struct x86_cpu *cpu, const struct x86_insn *insn);
int x86_exec_x87(struct x86_cpu *cpu, const struct x86_insn *insn);
int x86_exec_sse(struct x86_cpu *cpu, const struct x86_insn *insn);

#endif
