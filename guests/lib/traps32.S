/* Exception entry for the 32-bit guests: as traps64.S, with pusha and a
 * 32-bit iret.  The frame is struct trap_frame32 (cpu32.h). */
	.text
	.code32

.macro trap_stub n
	.align 16
trap_stub_\n:
	.if (\n == 8) || (\n >= 10 && \n <= 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
	.else
	pushl	$0
	.endif
	pushl	$\n
	jmp	trap_common
.endm

.altmacro
.set vec, 0
.rept 256
	trap_stub %vec
	.set vec, vec + 1
.endr

trap_common:
	pusha
	cld
	push	%esp
	call	trap_dispatch
	add	$4, %esp
	popa
	add	$8, %esp		/* vector and error code */
	iret

.macro stub_addr n
	.long trap_stub_\n
.endm
	.section .rodata
	.align 4
	.globl trap_stubs
trap_stubs:
.set vec, 0
.rept 256
	stub_addr %vec
	.set vec, vec + 1
.endr
