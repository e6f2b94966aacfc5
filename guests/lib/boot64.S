/* Entry for the 64-bit C guests.  Multiboot leaves us in flat 32-bit
 * protected mode with paging off; build identity page tables for the
 * first 4 GiB (2 MiB pages, user-accessible so ring 3 tests can run),
 * turn on PAE, long mode, NX and SSE, and call main() in 64-bit mode. */
#include "gdt.h"

	.section .multiboot, "a"
	.align 4
	.long 0x1badb002, 0, -0x1badb002

	.section .text.boot, "ax"
	.code32
	.globl _start
_start:
	cli
	mov	$boot_stack_top, %esp
	mov	%eax, mb_magic
	mov	%ebx, mb_info

	/* mask both PICs: firmware may have left the timer unmasked */
	mov	$0xff, %al
	out	%al, $0x21
	out	%al, $0xa1

	/* pml4[0] -> pdpt; pdpt[0..3] -> pd0..3; pdN[i] -> 2 MiB pages */
	mov	$pdpt + 7, %eax
	mov	%eax, pml4
	mov	$pd + 7, %eax
	xor	%ecx, %ecx
1:	mov	%eax, pdpt(, %ecx, 8)
	add	$4096, %eax
	inc	%ecx
	cmp	$4, %ecx
	jne	1b
	mov	$0x87, %eax		/* present, writable, user, 2 MiB */
	xor	%ecx, %ecx
2:	mov	%eax, pd(, %ecx, 8)
	mov	%ecx, %edx
	shr	$11, %edx		/* bits 32+ of the address: entry / 2048 */
	mov	%edx, pd + 4(, %ecx, 8)
	add	$0x200000, %eax
	inc	%ecx
	cmp	$2048, %ecx
	jne	2b

	mov	%cr4, %eax
	or	$(1 << 5) | (1 << 9) | (1 << 10), %eax	/* PAE, OSFXSR, OSXMMEXCPT */
	mov	%eax, %cr4
	mov	$pml4, %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx	/* EFER: long mode, NX */
	rdmsr
	or	$(1 << 8) | (1 << 11), %eax
	wrmsr
	mov	%cr0, %eax
	and	$~(1 << 2), %eax	/* EM off: SSE works */
	or	$(1 << 31) | (1 << 1) | 1, %eax	/* PG, MP, PE */
	mov	%eax, %cr0

	lgdt	gdt_desc
	ljmp	$SEL_KCODE64, $long_entry

	.code64
long_entry:
	mov	$SEL_KDATA, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%ax, %fs
	mov	%ax, %gs
	mov	$boot_stack_top, %rsp
	fninit
	call	main
3:	cli
	hlt
	jmp	3b

	.data
	.align 16
	.globl gdt
gdt:
	.quad 0				/* 0x00 */
	.quad 0x00af9a000000ffff	/* 0x08 kernel code, 64-bit */
	.quad 0x00cf92000000ffff	/* 0x10 kernel data */
	.quad 0x00cffa000000ffff	/* 0x18 user code, 32-bit */
	.quad 0x00cff2000000ffff	/* 0x20 user data */
	.quad 0x00affa000000ffff	/* 0x28 user code, 64-bit */
	.quad 0, 0			/* 0x30 TSS, filled in by tss_init() */
	.quad 0x00cf9a000000ffff	/* 0x40 kernel code, 32-bit */
gdt_end:
	.globl gdt_desc
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	.globl mb_magic, mb_info
mb_magic: .long 0
mb_info: .long 0

	.bss
	.align 4096
	.globl pml4, pdpt, pd
pml4:	.space 4096
pdpt:	.space 4096
pd:	.space 4 * 4096
	.align 16
	.space 16384
boot_stack_top:
