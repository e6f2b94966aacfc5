/* realmode: real mode the way a BIOS and boot loaders use it.  From the
 * Multiboot entry it drops to real mode (code copied below 1 MiB) and
 * checks: big real mode (FS keeps a 4 GiB limit from protected mode), the
 * A20 gate (the keyboard controller's output port and port 0x92), the PICs programmed as a BIOS does (vectors
 * 0x08 and 0x70) with the PIT's IRQ 0 and the RTC's periodic IRQ 8 (through
 * the cascade) dispatched through the IVT, exceptions through the IVT
 * (#DE, #UD and BOUND's #BR saving the faulting IP; INT3 and INTO the IP
 * after them), INT to a handler in another segment, a far CALL with RETF
 * imm16, PUSHA's image, and a 16-bit string copy whose SI wraps at 64 KiB.
 * Each check leaves AX = 0 for pass; result16 prints the line (with "not "
 * on failure).  Then back to protected mode for the summary. */

#define COM1 0x3f8
	.equ TRAMP, 0x8000		/* where the real-mode code runs */
#define LOW(x) ((x) - tramp_start + TRAMP)

	.equ SEL_CODE32, 0x08
	.equ SEL_DATA32, 0x10
	.equ SEL_CODE16, 0x18
	.equ SEL_DATA16, 0x20
	.equ SEL_BIG16, 0x28		/* data, base 0, 4 GiB: big real mode */

	.section .multiboot, "a"
	.align 4
	.long 0x1badb002, 0, -0x1badb002

	.text
	.code32
	.globl _start
_start:
	cli
	mov	$stack_top, %esp
	call	serial_init
	mov	$s_start, %esi
	call	puts32
	lgdt	gdt_desc
	ljmp	$SEL_CODE32, $1f
1:	mov	$SEL_DATA32, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%ax, %fs
	mov	%ax, %gs
	lidt	rm_idt_desc		/* the IVT at 0 */
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
	mov	$s_summary, %esi
	call	puts32
	movzwl	LOW(rm_passes), %eax
	call	putdec32
	mov	$s_passed, %esi
	call	puts32
	movzwl	LOW(rm_failures), %eax
	call	putdec32
	mov	$s_failed, %esi
	call	puts32
	mov	$COM1 + 5, %dx		/* until the UART has sent everything */
2:	in	%dx, %al
	test	$0x40, %al
	jz	2b
	mov	$0x10, %eax		/* isa-debug-exit: pass 0x10, fail 0x11 */
	cmpw	$0, LOW(rm_failures)
	je	3f
	inc	%eax
3:	mov	$0xf4, %dx
	out	%eax, %dx
4:	cli
	hlt
	jmp	4b

#define SERIAL32
#include "../lib/serial_asm.inc"
putdec32:			/* eax, below 100 */
	xor	%edx, %edx
	mov	$10, %ecx
	div	%ecx
	test	%eax, %eax
	jz	1f
	add	$'0', %al
	call	putc32
1:	mov	%dl, %al
	add	$'0', %al
	jmp	putc32

/* Copied to TRAMP and run there: every absolute address goes through LOW() */
	.code16
tramp_start:
pm16:				/* 16-bit protected mode, CS base 0 */
	mov	$SEL_DATA16, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%ax, %gs
	mov	$SEL_BIG16, %ax
	mov	%ax, %fs		/* not reloaded in real mode below */
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

	/* 1: big real mode: FS reaches 2 MiB with a 32-bit offset */
	mov	$0x200000, %edi
	movl	$0x5aa5c33c, %fs:(%edi)
	movl	$0x11111111, %fs:4(%edi)
	mov	%fs:(%edi), %eax
	xor	$0x5aa5c33c, %eax
	mov	%eax, %ebx
	shr	$16, %ebx
	or	%bx, %ax
	mov	$LOW(s_big), %si
	call	result16

	/* 2: A20 off at both of its inputs, the keyboard controller's output
	 * port and port 0x92: FFFF:0610 is linear 0x600; port 0x92 alone
	 * turns it on again: 0x100600 */
	mov	$0xd1, %al		/* write the output port: A20 off, no reset */
	call	kbc_write_cmd
	mov	$0xdd, %al
	call	kbc_write_data
	in	$0x92, %al
	and	$~2, %al
	out	%al, $0x92
	movb	$0x11, 0x600
	mov	$0xffff, %ax
	mov	%ax, %es
	movb	$0x22, %es:0x610
	mov	0x600, %cl		/* 0x22: the write wrapped */
	in	$0x92, %al
	or	$2, %al
	out	%al, $0x92
	movb	$0x33, %es:0x610
	mov	0x600, %ch		/* still 0x22 */
	mov	$0xd1, %al		/* the controller's A20 back on */
	call	kbc_write_cmd
	mov	$0xdf, %al
	call	kbc_write_data
	xor	%ax, %ax
	mov	%ax, %es
	mov	%cx, %ax
	xor	$0x2222, %ax
	mov	$LOW(s_a20), %si
	call	result16

	/* 3: the PICs as a BIOS leaves them: IRQ 0-7 at 0x08, 8-15 at 0x70 */
	mov	$0x11, %al
	out	%al, $0x20
	out	%al, $0xa0
	mov	$0x08, %al
	out	%al, $0x21
	mov	$0x70, %al
	out	%al, $0xa1
	mov	$0x04, %al
	out	%al, $0x21
	mov	$0x02, %al
	out	%al, $0xa1
	mov	$0x01, %al
	out	%al, $0x21
	out	%al, $0xa1
	mov	$0xfe, %al		/* IRQ 0 only */
	out	%al, $0x21
	mov	$0xff, %al
	out	%al, $0xa1
	movw	$LOW(irq0), 0x08 * 4
	movw	$0, 0x08 * 4 + 2
	mov	$0x34, %al		/* PIT channel 0, mode 2, about 100 Hz */
	out	%al, $0x43
	mov	$(11932 & 0xff), %al
	out	%al, $0x40
	mov	$(11932 >> 8), %al
	out	%al, $0x40
	sti
1:	hlt
	cmpw	$3, LOW(ticks)
	jb	1b
	cli
	mov	$0xff, %al
	out	%al, $0x21
	mov	LOW(if_inside), %ax	/* IF was clear in the handler */
	mov	$LOW(s_pit), %si
	call	result16

	/* 4: the RTC's periodic interrupt: IRQ 8 through the cascade, 0x70 */
	movw	$LOW(irq8), 0x70 * 4
	movw	$0, 0x70 * 4 + 2
	mov	$0x8a, %al		/* register A: 1024 Hz */
	out	%al, $0x70
	mov	$0x26, %al
	out	%al, $0x71
	mov	$0x8b, %al		/* register B: periodic interrupts on */
	out	%al, $0x70
	in	$0x71, %al
	or	$0x40, %al
	mov	%al, %ah
	mov	$0x8b, %al
	out	%al, $0x70
	mov	%ah, %al
	out	%al, $0x71
	mov	$0x0c, %al		/* register C: nothing left pending */
	out	%al, $0x70
	in	$0x71, %al
	mov	$0xfb, %al		/* the cascade */
	out	%al, $0x21
	mov	$0xfe, %al		/* IRQ 8 */
	out	%al, $0xa1
	sti
1:	hlt
	cmpw	$3, LOW(rtc_ticks)
	jb	1b
	cli
	mov	$0xff, %al
	out	%al, $0x21
	out	%al, $0xa1
	mov	$0x8b, %al
	out	%al, $0x70
	in	$0x71, %al
	and	$~0x40, %al
	mov	%al, %ah
	mov	$0x8b, %al
	out	%al, $0x70
	mov	%ah, %al
	out	%al, $0x71
	xor	%ax, %ax
	mov	$LOW(s_rtc), %si
	call	result16

	/* exceptions through the IVT: one handler for vectors 0, 3, 4, 5, 6 */
	mov	$LOW(exc), %ax
	mov	%ax, 0 * 4
	mov	%ax, 3 * 4
	mov	%ax, 4 * 4
	mov	%ax, 5 * 4
	mov	%ax, 6 * 4
	xor	%ax, %ax
	mov	%ax, 0 * 4 + 2
	mov	%ax, 3 * 4 + 2
	mov	%ax, 4 * 4 + 2
	mov	%ax, 5 * 4 + 2
	mov	%ax, 6 * 4 + 2

	/* 5: #DE saves the IP of the DIV */
	movw	$LOW(de_done), LOW(resume_ip)
	movw	$0, LOW(exc_count)
	mov	$1, %ax
	xor	%bl, %bl
de_at:	div	%bl
de_done:
	mov	$LOW(de_at), %ax
	call	one_exception
	mov	$LOW(s_de), %si
	call	result16

	/* 6: #UD saves the IP of UD2 */
	movw	$LOW(ud_done), LOW(resume_ip)
	movw	$0, LOW(exc_count)
ud_at:	ud2
ud_done:
	mov	$LOW(ud_at), %ax
	call	one_exception
	mov	$LOW(s_ud), %si
	call	result16

	/* 7: BOUND out of range: #BR saves the IP of the BOUND */
	movw	$LOW(br_done), LOW(resume_ip)
	movw	$0, LOW(exc_count)
	mov	$9, %ax
br_at:	bound	%ax, LOW(bounds)
br_done:
	mov	$LOW(br_at), %ax
	call	one_exception
	mov	$LOW(s_br), %si
	call	result16

	/* 8: INT3 and INTO (OF set) are traps: the IP after them */
	movw	$0, LOW(resume_ip)
	movw	$0, LOW(exc_count)
	int3
bp_after:
	mov	$LOW(bp_after), %ax
	call	one_exception
	mov	%ax, %dx
	movw	$0, LOW(exc_count)
	mov	$0x7f, %al
	add	$1, %al			/* OF */
	into
of_after:
	mov	$LOW(of_after), %ax
	call	one_exception
	or	%dx, %ax
	mov	$LOW(s_traps), %si
	call	result16

	/* 9: INT n to a handler in segment 0x0800, which sees its CS and
	 * IF clear; IRET restores CS and FLAGS */
	movw	$LOW(int31) - 0x8000, 0x31 * 4
	movw	$0x0800, 0x31 * 4 + 2
	sti
	int	$0x31
	pushf
	pop	%bx
	cli
	mov	LOW(seen_cs), %ax
	xor	$0x0800, %ax
	or	LOW(if_inside), %ax
	mov	%cs, %cx
	or	%cx, %ax
	and	$0x200, %bx
	xor	$0x200, %bx
	or	%bx, %ax
	mov	$LOW(s_int), %si
	call	result16

	/* 10: a far CALL into segment 0x0800 and RETF 2 dropping its argument */
	mov	%sp, %bx
	push	$0x1234
	lcall	$0x0800, $LOW(far_fn) - 0x8000
	mov	%sp, %ax
	sub	%bx, %ax		/* the argument went with RETF 2 */
	mov	LOW(seen_cs), %cx
	xor	$0x0800, %cx
	or	%cx, %ax
	mov	LOW(seen_arg), %cx
	xor	$0x1234, %cx
	or	%cx, %ax
	mov	$LOW(s_far), %si
	call	result16

	/* 11: PUSHA pushes SP as it was before the first push */
	mov	%sp, %bx
	mov	$0xa1a1, %ax
	mov	$0xc1c1, %cx
	pusha
	mov	%sp, %bp
	mov	6(%bp), %ax		/* SP's slot */
	xor	%bx, %ax
	mov	14(%bp), %dx		/* AX's slot */
	xor	$0xa1a1, %dx
	or	%dx, %ax
	mov	%ax, LOW(scratch)
	popa
	mov	LOW(scratch), %ax
	mov	$LOW(s_pusha), %si
	call	result16

	/* 12: MOVSB with SI at 0xFFFF: the next byte comes from offset 0 */
	mov	$0x1000, %ax
	mov	%ax, %ds
	mov	$0x2000, %ax
	mov	%ax, %es
	movb	$'A', 0xffff
	movb	$'B', 0x0000
	mov	$0xffff, %si
	mov	$0x100, %di
	mov	$2, %cx
	cld
	rep movsb
	mov	%es:0x100, %ax
	xor	%bx, %bx
	mov	%bx, %ds
	mov	%bx, %es
	xor	$('B' << 8 | 'A'), %ax
	or	%si, %ax		/* SI wrapped to 1 */
	xor	$1, %ax
	mov	$LOW(s_wrap), %si
	call	result16

	mov	%cr0, %eax		/* back to protected mode */
	or	$1, %eax
	mov	%eax, %cr0
	ljmpl	$SEL_CODE32, $pm_back

/* al to the keyboard controller's command or data port, once its input
 * buffer is empty */
kbc_write_cmd:
	call	kbc_wait
	out	%al, $0x64
	ret
kbc_write_data:
	call	kbc_wait
	out	%al, $0x60
	ret
kbc_wait:
	push	%ax
	push	%cx
	mov	$0xffff, %cx
1:	in	$0x64, %al
	test	$2, %al
	loopnz	1b
	pop	%cx
	pop	%ax
	ret

/* ax: the IP the exception should have saved; returns ax = 0 when there
 * was exactly one exception and it saved that IP */
one_exception:
	xor	LOW(saved_ip), %ax
	cmpw	$1, LOW(exc_count)
	je	1f
	or	$1, %ax
1:	ret

exc:
	push	%bp
	mov	%sp, %bp
	push	%ax
	mov	2(%bp), %ax
	mov	%ax, LOW(saved_ip)
	mov	LOW(resume_ip), %ax
	test	%ax, %ax
	jz	1f
	mov	%ax, 2(%bp)		/* past the faulting instruction */
1:	incw	LOW(exc_count)
	pop	%ax
	pop	%bp
	iret

irq0:
	push	%ax
	pushf
	pop	%ax
	and	$0x200, %ax
	or	%ax, LOW(if_inside)
	incw	LOW(ticks)
	mov	$0x20, %al
	out	%al, $0x20
	pop	%ax
	iret

irq8:
	push	%ax
	incw	LOW(rtc_ticks)
	mov	$0x0c, %al		/* reading register C acknowledges */
	out	%al, $0x70
	in	$0x71, %al
	mov	$0x20, %al
	out	%al, $0xa0
	out	%al, $0x20
	pop	%ax
	iret

int31:				/* runs with CS = 0x0800 */
	push	%ax
	mov	%cs, %ax
	mov	%ax, LOW(seen_cs)
	pushf
	pop	%ax
	and	$0x200, %ax
	mov	%ax, LOW(if_inside)
	pop	%ax
	iret

far_fn:				/* CS = 0x0800; the argument is above CS:IP */
	push	%bp
	mov	%sp, %bp
	mov	%cs, %ax
	mov	%ax, LOW(seen_cs)
	mov	6(%bp), %ax
	mov	%ax, LOW(seen_arg)
	pop	%bp
	lret	$2

#define SERIAL16
#include "../lib/serial_asm.inc"

ticks:		.word 0
rtc_ticks:	.word 0
if_inside:	.word 0
exc_count:	.word 0
saved_ip:	.word 0
resume_ip:	.word 0
seen_cs:	.word 0
seen_arg:	.word 0
scratch:	.word 0
bounds:		.word 0, 8
s_big:		.asciz "ok 1 - big real mode: FS keeps its 4 GiB limit, a 32-bit offset reaches 2 MiB\n"
s_a20:		.asciz "ok 2 - A20 off at the keyboard controller and port 0x92: FFFF:0610 wraps; port 0x92 on: no wrap\n"
s_pit:		.asciz "ok 3 - PICs at 0x08/0x70: the PIT's IRQ 0 through IVT entry 8, IF clear inside\n"
s_rtc:		.asciz "ok 4 - the RTC's periodic IRQ 8 through the cascade and IVT entry 0x70\n"
s_de:		.asciz "ok 5 - #DE through the IVT saves the IP of the DIV\n"
s_ud:		.asciz "ok 6 - #UD through the IVT saves the IP of UD2\n"
s_br:		.asciz "ok 7 - BOUND out of range: #BR saves the IP of the BOUND\n"
s_traps:	.asciz "ok 8 - INT3 and INTO are traps: the IP after them\n"
s_int:		.asciz "ok 9 - INT n to another segment: its CS, IF clear; IRET restores CS and IF\n"
s_far:		.asciz "ok 10 - far CALL to another segment, RETF 2 drops the argument\n"
s_pusha:	.asciz "ok 11 - PUSHA pushes SP as it was before\n"
s_wrap:		.asciz "ok 12 - REP MOVSB: SI wraps from 0xFFFF to 0 within the segment\n"
tramp_end:

	.section .rodata
s_start:	.asciz "realmode: start\n"
s_summary:	.asciz "summary: "
s_passed:	.asciz " passed, "
s_failed:	.asciz " failed\n"

	.data
	.align 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x10 32-bit data */
	.quad 0x00009a000000ffff	/* 0x18 16-bit code, 64 KiB */
	.quad 0x000092000000ffff	/* 0x20 16-bit data, 64 KiB */
	.quad 0x008f92000000ffff	/* 0x28 16-bit data, 4 GiB */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
rm_idt_desc:
	.word 0x3ff
	.long 0

	.bss
	.align 16
	.space 8192
stack_top:
