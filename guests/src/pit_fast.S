/* pit-fast: the PIT at its fastest (channel 0, mode 2, count 2: 597 kHz),
 * then halted for good with IF=0.  An idle guest whose timer must not keep
 * a host core busy (tests/guest/pit_rate.sh). */
	.section .multiboot, "a"
	.align 4
	.long 0x1badb002, 0, -0x1badb002

	.text
	.code32
	.globl _start
_start:
	mov	$0x34, %al		/* channel 0, mode 2, both bytes */
	out	%al, $0x43
	mov	$2, %al
	out	%al, $0x40
	xor	%al, %al
	out	%al, $0x40
	cli
1:	hlt
	jmp	1b
