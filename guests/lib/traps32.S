/* Exception entry for the 32-bit guests: as traps64.S, with pusha and a
 * 32-bit iret.  The frame is struct trap_frame32 (cpu32.h). */
	.text
	.code32

#define TRAP_PUSH pushl
#define TRAP_PTR .long
#include "trap_stubs.h"

trap_common:
	pusha
	cld
	push	%esp
	call	trap_dispatch
	add	$4, %esp
	popa
	add	$8, %esp		/* vector and error code */
	iret
