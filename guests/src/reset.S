/* reset: prints the first line of its first Multiboot module (-initrd),
 * then waits for a byte on COM1: 'r' resets the machine through the
 * keyboard controller (0xfe to port 0x64), 'q' leaves through
 * isa-debug-exit with status 33.  A reset must boot the kernel and the
 * module as they were at start-up (tests/guest/reset_images.sh). */
	.section .multiboot, "a"
	.align 4
	.long 0x1badb002, 0, -0x1badb002

	.equ COM1, 0x3f8

	.text
	.code32
	.globl _start
_start:
	mov	%ebx, %ebp		/* the Multiboot information */
	mov	$stack_top, %esp
	mov	$COM1 + 1, %dx; xor %al, %al; out %al, %dx	/* IER: no interrupts */
	mov	$COM1 + 3, %dx; mov $0x03, %al; out %al, %dx	/* LCR: 8N1 */
	mov	$COM1 + 2, %dx; mov $0x07, %al; out %al, %dx	/* FIFOs on, cleared */

	mov	$hello, %esi
	call	puts
	testl	$8, (%ebp)		/* flags bit 3: mods_count and mods_addr */
	jz	2f
	cmpl	$0, 20(%ebp)
	je	2f
	mov	24(%ebp), %eax
	mov	(%eax), %esi		/* module start */
	mov	4(%eax), %edi		/* module end */
1:	cmp	%edi, %esi
	jae	3f
	lodsb
	cmp	$'\n', %al
	je	3f
	call	putc
	jmp	1b
2:	mov	$nomodule, %esi
	call	puts
3:	mov	$'\n', %al
	call	putc

wait:	mov	$COM1 + 5, %dx		/* LSR.DR: a byte came */
	in	%dx, %al
	test	$1, %al
	jz	wait
	mov	$COM1, %dx
	in	%dx, %al
	cmp	$'r', %al
	je	reset
	cmp	$'q', %al
	jne	wait
	mov	$COM1 + 5, %dx		/* the last byte has left (LSR.TEMT) */
4:	in	%dx, %al
	test	$0x40, %al
	jz	4b
	mov	$0x10, %eax		/* isa-debug-exit: status 33 */
	out	%eax, $0xf4
	jmp	halt
reset:	mov	$0xfe, %al		/* pulse the reset line */
	out	%al, $0x64
halt:	cli
	hlt
	jmp	halt

/* putc: AL to COM1 once THR is empty; puts: the string at ESI */
putc:	mov	%al, %bl
	mov	$COM1 + 5, %dx
5:	in	%dx, %al
	test	$0x20, %al
	jz	5b
	mov	$COM1, %dx
	mov	%bl, %al
	out	%al, %dx
	ret
puts:	lodsb
	test	%al, %al
	jz	6f
	call	putc
	jmp	puts
6:	ret

	.section .rodata
hello:	.asciz "reset: the module says: "
nomodule: .asciz "(no module)"

	.bss
	.align 16
	.space 4096
stack_top:
