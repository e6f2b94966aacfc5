/* The MC146818 real-time clock and CMOS RAM at ports 0x70-0x71, IRQ 8. */
#ifndef MINIVMM_MC146818_RTC_H
#define MINIVMM_MC146818_RTC_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct mc146818_rtc;

/* Starts at the host's wall-clock time (UTC), with the PC's CMOS bytes
 * (memory sizes, equipment) filled in from vm->mem and vm->cfg */
int mc146818_rtc_create(struct vm *vm, struct mc146818_rtc **out);

/* Bit 7 of the last index written to port 0x70: NMIs are masked */
bool mc146818_rtc_nmi_masked(struct mc146818_rtc *rtc);
/* For the board: a CMOS RAM byte (14-127) as firmware would set it */
void mc146818_rtc_set_cmos(struct mc146818_rtc *rtc, unsigned index, uint8_t value);

#endif
