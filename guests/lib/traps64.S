/* Exception and interrupt entry for the 64-bit guests: one stub per
 * vector (trap_stubs.h) pushes a zero error code when the CPU pushes none,
 * then the vector number, and joins trap_common, which saves the general registers
 * as a struct trap_frame (cpu64.h) and calls trap_dispatch(frame). */
#include "gdt.h"

	.text
	.code64

#define TRAP_PUSH pushq
#define TRAP_PTR .quad
#include "trap_stubs.h"

trap_common:
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rdi
	cld
	call	trap_dispatch
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rbx
	pop	%rax
	add	$16, %rsp		/* vector and error code */
	iretq

/* enter_user(rip, rsp): run ring-3 code at rip on stack rsp until it calls
 * leave_user() from a kernel handler; returns the value given to it. */
	.text
	.globl enter_user
enter_user:
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, kernel_resume_rsp
	pushq	$SEL_UDATA | 3
	push	%rsi
	pushq	$0x202			/* IF on: every interrupt source is masked */
	pushq	$SEL_UCODE64 | 3
	push	%rdi
	iretq

	.globl leave_user
leave_user:
	mov	kernel_resume_rsp, %rsp
	mov	%rdi, %rax
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	ret

/* SYSCALL lands here in ring 0 still on the user stack: switch to the
 * kernel stack, call syscall_dispatch(nr, arg), SYSRET with its result. */
	.globl syscall_entry
syscall_entry:
	mov	%rsp, syscall_user_rsp
	mov	syscall_kernel_rsp, %rsp
	push	%rcx			/* user RIP */
	push	%r11			/* user RFLAGS */
	mov	%rdi, %rsi
	mov	%rax, %rdi
	call	syscall_dispatch
	pop	%r11
	pop	%rcx
	mov	syscall_user_rsp, %rsp
	sysretq

	.data
	.align 8
kernel_resume_rsp: .quad 0
syscall_user_rsp: .quad 0
	.globl syscall_kernel_rsp
syscall_kernel_rsp: .quad 0
