/* The 256 exception and interrupt entry stubs, shared by traps32.S and
 * traps64.S, which define TRAP_PUSH (pushl or pushq) and TRAP_PTR (.long or
 * .quad) before including this.  Each stub pushes a zero error code where
 * the CPU pushes none, so that every frame has one, then the vector
 * number, and jumps to that file's trap_common.  trap_stubs[] holds the
 * stub addresses for idt_set_gate(). */
.macro trap_stub n
	.align 16
trap_stub_\n:
	.if (\n == 8) || (\n >= 10 && \n <= 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
	.else
	TRAP_PUSH	$0
	.endif
	TRAP_PUSH	$\n
	jmp	trap_common
.endm

.altmacro
	.text
.set vec, 0
.rept 256
	trap_stub %vec
	.set vec, vec + 1
.endr

.macro stub_addr n
	TRAP_PTR trap_stub_\n
.endm
	.section .rodata
	.p2align 3
	.globl trap_stubs
trap_stubs:
.set vec, 0
.rept 256
	stub_addr %vec
	.set vec, vec + 1
.endr
	.text
