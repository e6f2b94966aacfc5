/* modes: walk the x86 operating modes, printing a line from each.
 * Multiboot 32-bit protected mode -> own GDT -> 16-bit real mode (code
 * copied below 1 MiB) -> protected mode -> long mode with 4-level paging
 * (2 MiB pages, one 4 KiB page, one 1 GiB page) -> 64-bit mode ->
 * compatibility mode (a 32-bit code segment) -> 64-bit mode -> exit.
 * Each check leaves EAX = 0 for pass and calls result{16,32,64} with the
 * line in SI/ESI/RSI; those print "not " first on failure. */

#define COM1 0x3f8
	.equ TRAMP, 0x8000		/* where the real-mode code runs */
#define LOW(x) ((x) - tramp_start + TRAMP)

	.equ SEL_CODE32, 0x08
	.equ SEL_DATA32, 0x10
	.equ SEL_CODE64, 0x18
	.equ SEL_CODE16, 0x20
	.equ SEL_DATA16, 0x28

	.section .multiboot, "a"
	.align 4
	.long 0x1badb002, 0, -0x1badb002

	.text
	.code32
	.globl _start
_start:
	cli
	mov	$stack_top, %esp
	mov	%eax, %ebp
	call	serial_init
	mov	$s_start, %esi
	call	puts32
	cmp	$0x2badb002, %ebp
	setne	%al
	movzbl	%al, %eax
	mov	$s_mb, %esi
	call	result32

	/* our own GDT, then reload every segment register */
	lgdt	gdt_desc
	ljmp	$SEL_CODE32, $1f
1:	mov	$SEL_DATA32, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%ax, %fs
	mov	%ax, %gs
	mov	%cs, %eax
	xor	$SEL_CODE32, %eax
	mov	$s_gdt, %esi
	call	result32

	/* real mode: copy the 16-bit code below 1 MiB and go there through a
	 * 16-bit protected-mode segment */
	lidt	rm_idt_desc		/* the IVT at 0: the loader leaves IDTR undefined */
	mov	$tramp_start, %esi
	mov	$TRAMP, %edi
	mov	$tramp_end - tramp_start, %ecx
	cld
	rep movsb
	ljmp	$SEL_CODE16, $LOW(pm16)

pm_back:				/* from real mode, CS = SEL_CODE32 */
	mov	$SEL_DATA32, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%ax, %fs
	mov	%ax, %gs
	mov	$stack_top, %esp
	movzwl	LOW(rm_failures), %eax
	add	%eax, failures
	movzwl	LOW(rm_passes), %eax
	add	%eax, passes
	mov	%cr0, %eax
	and	$1, %eax
	xor	$1, %eax
	mov	$s_pm_back, %esi
	call	result32

	/* page tables: pml4[0] -> pdpt; pdpt[0] -> pd (1 GiB identity in
	 * 2 MiB pages, but the first 2 MiB in 4 KiB pages through pt);
	 * pdpt[1] = a 1 GiB page at physical 0.  Aliases of marker_page:
	 * 0x1000 (4 KiB page), 0x3fe00000 + marker (2 MiB), 0x40000000 + marker (1 GiB). */
	movl	$pdpt + 3, pml4
	movl	$pd + 3, pdpt
	movl	$0 + 0x83, pdpt + 8		/* present, writable, 1 GiB page */
	mov	$0x83, %eax
	xor	%ecx, %ecx
2:	mov	%eax, pd(, %ecx, 8)
	add	$0x200000, %eax
	inc	%ecx
	cmp	$512, %ecx
	jne	2b
	movl	$0 + 0x83, pd + 511 * 8		/* 2 MiB page at physical 0 */
	movl	$pt + 3, pd
	mov	$3, %eax
	xor	%ecx, %ecx
3:	mov	%eax, pt(, %ecx, 4 * 2)
	add	$0x1000, %eax
	inc	%ecx
	cmp	$512, %ecx
	jne	3b
	movl	$marker_page + 3, pt + 1 * 8	/* 4 KiB page at 0x1000 */

	mov	%cr4, %eax
	or	$1 << 5, %eax			/* PAE */
	mov	%eax, %cr4
	mov	$pml4, %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx		/* EFER.LME */
	rdmsr
	or	$1 << 8, %eax
	wrmsr
	mov	%cr0, %eax
	or	$1 << 31, %eax
	mov	%eax, %cr0
	/* IA-32e mode now, but CS is still a 32-bit segment: compatibility mode */
	mov	$0xc0000080, %ecx
	rdmsr
	and	$1 << 10, %eax			/* LMA */
	xor	$1 << 10, %eax
	mov	$s_lma, %esi
	call	result32
	ljmp	$SEL_CODE64, $long64

	.code64
long64:
	mov	$stack_top, %rsp
	movabs	$0x123456789abcdef0, %rax
	mov	%rax, %rbx
	shr	$36, %rax
	sub	$0x1234567, %rax		/* 0 if the upper half survived */
	mov	$s_64, %esi
	call	result64

	mov	0x1000, %rax
	movabs	$0x1122334455667788, %rbx
	sub	%rbx, %rax
	mov	$s_4k, %esi
	call	result64
	mov	0x3fe00000 + marker_page, %rax
	sub	%rbx, %rax
	mov	$s_2m, %esi
	call	result64
	mov	0x40000000 + marker_page, %rax
	sub	%rbx, %rax
	mov	$s_1g, %esi
	call	result64

	/* to compatibility mode: a far return to the 32-bit code segment */
	pushq	$SEL_CODE32
	pushq	$compat32
	lretq

	.code32
compat32:
	mov	$5, %eax
	.byte	0x48			/* dec %eax here; a REX prefix in 64-bit mode */
	sub	$4, %eax
	mov	%cs, %ecx
	xor	$SEL_CODE32, %ecx
	or	%ecx, %eax
	mov	$s_compat, %esi
	call	result32
	ljmp	$SEL_CODE64, $back64

	.code64
back64:
	xor	%eax, %eax
	.byte	0x48, 0xff, 0xc8	/* dec %rax: only means that in 64-bit mode */
	inc	%eax			/* eax = 0 and rax = 0 only if 64-bit */
	or	%eax, %eax
	mov	$s_back64, %esi
	call	result64

	mov	$s_summary, %esi
	call	puts64
	mov	passes, %eax
	call	putdec64
	mov	$s_passed, %esi
	call	puts64
	mov	failures, %eax
	call	putdec64
	mov	$s_failed, %esi
	call	puts64
	mov	$COM1 + 5, %dx		/* until the UART has sent everything */
4:	in	%dx, %al
	test	$0x40, %al
	jz	4b
	mov	$0x10, %eax		/* isa-debug-exit: pass 0x10, fail 0x11 */
	cmpl	$0, failures
	je	5f
	inc	%eax
5:	mov	$0xf4, %dx
	out	%eax, %dx
6:	cli
	hlt
	jmp	6b

/* 64-bit helpers */
putc64:				/* al */
	push	%rdx
	push	%rax
	mov	$COM1 + 5, %dx
1:	in	%dx, %al
	test	$0x20, %al
	jz	1b
	pop	%rax
	mov	$COM1, %dx
	out	%al, %dx
	pop	%rdx
	ret
puts64:				/* rsi */
	lodsb
	test	%al, %al
	jz	1f
	call	putc64
	jmp	puts64
1:	ret
result64:			/* eax: 0 = pass; rsi: the line */
	test	%eax, %eax
	jz	1f
	incl	failures
	push	%rsi
	mov	$s_not, %esi
	call	puts64
	pop	%rsi
	decl	passes
1:	incl	passes
	jmp	puts64
putdec64:			/* eax, below 100 */
	xor	%edx, %edx
	mov	$10, %ecx
	div	%ecx
	test	%eax, %eax
	jz	1f
	add	$'0', %al
	call	putc64
1:	mov	%dl, %al
	add	$'0', %al
	jmp	putc64

/* 32-bit helpers (also used in compatibility mode) */
	.code32
#define SERIAL32
#include "../lib/serial_asm.inc"
result32:
	test	%eax, %eax
	jz	1f
	incl	failures
	push	%esi
	mov	$s_not, %esi
	call	puts32
	pop	%esi
	decl	passes
1:	incl	passes
	jmp	puts32

/* Copied to TRAMP and run there: every absolute address goes through LOW() */
	.code16
tramp_start:
pm16:				/* 16-bit protected mode, CS base 0 */
	mov	$SEL_DATA16, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%ax, %fs
	mov	%ax, %gs
	mov	%cr0, %eax
	and	$~1, %eax
	mov	%eax, %cr0
	ljmp	$0, $LOW(rm)
rm:
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0x7000, %sp
	smsw	%ax
	and	$1, %ax			/* PE must be clear */
	mov	$LOW(s_rm), %si
	call	result16

	/* 0x0900:0x0010 and 0x0800:0x1010 are both linear 0x9010 */
	mov	$0x0900, %ax
	mov	%ax, %es
	movw	$0xbeef, %es:0x10
	mov	$0x0800, %ax
	mov	%ax, %fs
	mov	%fs:0x1010, %ax
	xor	$0xbeef, %ax
	mov	$LOW(s_rm_seg), %si
	call	result16

	mov	$0x12345678, %eax	/* operand-size prefix in 16-bit code */
	shr	$16, %eax
	xor	$0x1234, %eax
	mov	$LOW(s_rm_32), %si
	call	result16

	movw	$LOW(rm_int30), 0x30 * 4	/* IVT entry 0x30 -> 0000:rm_int30 */
	movw	$0, 0x30 * 4 + 2
	movw	$0, LOW(rm_int_seen)
	int	$0x30
	mov	LOW(rm_int_seen), %ax
	xor	$0x30, %ax
	mov	$LOW(s_rm_int), %si
	call	result16

	mov	%cr0, %eax		/* back to protected mode */
	or	$1, %eax
	mov	%eax, %cr0
	ljmpl	$SEL_CODE32, $pm_back

rm_int30:
	movw	$0x30, %cs:LOW(rm_int_seen)
	iret

#define SERIAL16
#include "../lib/serial_asm.inc"

rm_int_seen:	.word 0
s_rm:		.asciz "ok 3 - 16-bit real mode (CR0.PE clear): printing with out\n"
s_rm_seg:	.asciz "ok 4 - real mode: segment * 16 + offset addressing\n"
s_rm_32:	.asciz "ok 5 - real mode: 32-bit operand prefix\n"
s_rm_int:	.asciz "ok 6 - real mode: int 0x30 through our own IVT entry\n"
tramp_end:

	.section .rodata
s_start:	.asciz "modes: start\n"
s_not:		.asciz "not "
s_mb:		.asciz "ok 1 - Multiboot: 32-bit protected mode, magic in EAX\n"
s_gdt:		.asciz "ok 2 - own GDT loaded, segments reloaded\n"
s_pm_back:	.asciz "ok 7 - back in 32-bit protected mode\n"
s_lma:		.asciz "ok 8 - paging on with EFER.LME: long mode active, compatibility mode\n"
s_64:		.asciz "ok 9 - 64-bit mode: 64-bit registers\n"
s_4k:		.asciz "ok 10 - 4 KiB page alias reads the marker\n"
s_2m:		.asciz "ok 11 - 2 MiB page alias reads the marker\n"
s_1g:		.asciz "ok 12 - 1 GiB page alias reads the marker\n"
s_compat:	.asciz "ok 13 - compatibility mode: 32-bit code segment under long mode\n"
s_back64:	.asciz "ok 14 - back to 64-bit mode\n"
s_summary:	.asciz "summary: "
s_passed:	.asciz " passed, "
s_failed:	.asciz " failed\n"

	.data
	.align 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x10 32-bit data */
	.quad 0x00af9a000000ffff	/* 0x18 64-bit code */
	.quad 0x00009a000000ffff	/* 0x20 16-bit code, 64 KiB */
	.quad 0x000092000000ffff	/* 0x28 16-bit data, 64 KiB */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
rm_idt_desc:
	.word 0x3ff
	.long 0
passes:		.long 0
failures:	.long 0

	.align 4096
marker_page:
	.quad 0x1122334455667788
	.align 4096

	.bss
	.align 4096
pml4:	.space 4096
pdpt:	.space 4096
pd:	.space 4096
pt:	.space 4096
	.space 8192
stack_top:
