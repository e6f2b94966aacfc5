/* hello: the classic first kernel.  Multiboot drops us in 32-bit protected
 * mode; program COM1, write one line with `out`, and halt for good. */
	.section .multiboot, "a"
	.align 4
	.long 0x1badb002		/* magic */
	.long 0				/* flags: nothing asked of the loader */
	.long -0x1badb002		/* checksum */

	.equ COM1, 0x3f8

	.text
	.code32
	.globl _start
_start:
	/* 115200 baud (divisor 1), 8 data bits, no parity, 1 stop bit */
	mov	$COM1 + 1, %dx; xor %al, %al; out %al, %dx	/* IER: no interrupts */
	mov	$COM1 + 3, %dx; mov $0x80, %al; out %al, %dx	/* LCR: DLAB on */
	mov	$COM1 + 0, %dx; mov $1, %al; out %al, %dx	/* divisor low */
	mov	$COM1 + 1, %dx; xor %al, %al; out %al, %dx	/* divisor high */
	mov	$COM1 + 3, %dx; mov $0x03, %al; out %al, %dx	/* LCR: 8N1, DLAB off */

	mov	$msg, %esi
1:	lodsb
	test	%al, %al
	jz	2f
	mov	%al, %bl
	mov	$COM1 + 5, %dx		/* wait for THR empty (LSR bit 5) */
3:	in	%dx, %al
	test	$0x20, %al
	jz	3b
	mov	$COM1, %dx
	mov	%bl, %al
	out	%al, %dx
	jmp	1b

2:
#ifdef HELLO_EXIT
	mov	$COM1 + 5, %dx		/* wait until the last byte has left (LSR bit 6) */
5:	in	%dx, %al
	test	$0x40, %al
	jz	5b
	mov	$0xf4, %dx		/* isa-debug-exit: 0x10 -> status 33 */
	mov	$0x10, %eax
	out	%eax, %dx
#endif
	cli
4:	hlt
	jmp	4b

	.section .rodata
msg:	.asciz "Hello, world!\n"
