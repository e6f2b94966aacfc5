#include "libg.h"

#include <stdarg.h>

#include "io.h"

static unsigned tests_run, tests_failed;

void serial_init(void)
{
	outb(COM1 + 1, 0x00);	/* no interrupts */
	outb(COM1 + 3, 0x80);	/* DLAB: the next two are the divisor */
	outb(COM1 + 0, 0x01);	/* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);	/* 8 data bits, no parity, 1 stop bit */
	outb(COM1 + 2, 0xc7);	/* FIFO on and cleared */
}

void putc(char c)
{
	while (!(inb(COM1 + 5) & 0x20))	/* transmit holding register empty */
		;
	outb(COM1, c);
}

void puts(const char *s)
{
	while (*s)
		putc(*s++);
}

void put_hex(uint64_t v, int digits)
{
	puts("0x");
	for (int i = digits - 1; i >= 0; i--)
		putc("0123456789abcdef"[(v >> (i * 4)) & 15]);
}

void put_dec(unsigned long v)
{
	char buf[24];
	int n = 0;
	do {
		buf[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (n)
		putc(buf[--n]);
}

void printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			putc(*fmt);
			continue;
		}
		switch (*++fmt) {
		case 's': puts(va_arg(ap, const char *)); break;
		case 'c': putc(va_arg(ap, int)); break;
		case 'u': put_dec(va_arg(ap, unsigned)); break;
		case 'd': {
			int v = va_arg(ap, int);
			if (v < 0) {
				putc('-');
				v = -v;
			}
			put_dec(v);
			break;
		}
		case 'x': put_hex(va_arg(ap, unsigned), 8); break;
		case 'l':
			if (fmt[1] == 'l') {
				fmt++;
				put_hex(va_arg(ap, unsigned long long), 16);
			} else {
				put_hex(va_arg(ap, unsigned long), sizeof(long) * 2);
			}
			fmt++;	/* the x */
			break;
		case '%': putc('%'); break;
		default: putc('?'); break;
		}
	}
	va_end(ap);
}

int check(int cond, const char *what)
{
	tests_run++;
	if (!cond)
		tests_failed++;
	printf("%sok %u - %s\n", cond ? "" : "not ", tests_run, what);
	return cond;
}

void debug_exit(uint32_t code)
{
	/* let the UART finish sending (LSR bit 6, transmitter empty) first */
	for (int i = 0; i < 1000000 && !(inb(COM1 + 5) & 0x40); i++)
		;
	outl(DEBUG_EXIT_PORT, code);
	/* without the device (or if it did not stop us), halt for good */
	for (;;)
		asm volatile("cli; hlt");
}

void finish(void)
{
	printf("summary: %u passed, %u failed\n", tests_run - tests_failed, tests_failed);
	debug_exit(tests_failed || !tests_run ? EXIT_FAIL : EXIT_PASS);
}

void *memset(void *d, int c, unsigned long n)
{
	unsigned char *p = d;
	while (n--)
		*p++ = c;
	return d;
}

void *memcpy(void *d, const void *s, unsigned long n)
{
	unsigned char *p = d;
	const unsigned char *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}
