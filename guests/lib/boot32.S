/* Entry for the 32-bit C guests: Multiboot leaves us in flat protected
 * mode with paging off.  Load our own GDT (so the segments are known),
 * a stack, keep EBX (the Multiboot information) in boot_info, mask the
 * PICs and call main(). */
	.section .multiboot, "a"
	.align 4
	.long 0x1badb002, 0, -0x1badb002

	.section .text.boot, "ax"
	.code32
	.globl _start
_start:
	cli
	lgdt	gdt32_desc
	ljmp	$0x08, $1f
1:	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%ax, %fs
	mov	%ax, %gs
	mov	$boot_stack_top, %esp
	mov	%ebx, boot_info		/* the Multiboot information */
	mov	$0xff, %al
	out	%al, $0x21
	out	%al, $0xa1
	call	main
2:	cli
	hlt
	jmp	2b

	.data
	.align 8
gdt32:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08 code, flat 4 GiB */
	.quad 0x00cf92000000ffff	/* 0x10 data, flat 4 GiB */
gdt32_end:
gdt32_desc:
	.word gdt32_end - gdt32 - 1
	.long gdt32

	.globl boot_info
	.align 4
boot_info:
	.long 0

	.bss
	.align 16
	.space 16384
boot_stack_top:
