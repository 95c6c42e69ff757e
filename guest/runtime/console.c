// SPDX-License-Identifier: GPL-2.0-only
/*
 * COM1 console and printf.
 *
 * Output is polled: wait for LSR.THRE before each byte, as a 16550 (and
 * QEMU's model of it) requires, with a bound so that a missing or stuck
 * UART cannot hang the test forever. "\n" is sent as is, without "\r": the
 * consumers are logs and scripts, not terminals.
 *
 * The formatter is one routine writing to either the UART or a buffer, so
 * printf and snprintf cannot disagree. It handles the conversions the
 * compiler's format checking lets through: flags "-0+ #", width and
 * precision (also "*"), length hh h l ll z j t, and d i u x X o c s p %.
 */
#include "internal.h"

#define UART_IER	1
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_DLL	0
#define UART_DLM	1
#define LCR_8N1		0x03
#define LCR_DLAB	0x80
#define THRE_SPINS	100000

void console_init(void)
{
	const uint16_t base = PVHC_PORT_COM1;

	outb(base + UART_IER, 0);		/* we poll */
	outb(base + UART_LCR, LCR_DLAB);
	outb(base + UART_DLL, 1);		/* 115200 baud */
	outb(base + UART_DLM, 0);
	outb(base + UART_LCR, LCR_8N1);
	outb(base + UART_FCR, 0x07);		/* FIFOs on and cleared */
	outb(base + UART_MCR, 0x03);		/* DTR, RTS */
}

void serial_putc(char c)
{
	for (unsigned int i = 0; i < THRE_SPINS; i++)
		if (inb(PVHC_PORT_COM1 + PVHC_UART_LSR) & PVHC_UART_LSR_THRE)
			break;
	outb(PVHC_PORT_COM1 + PVHC_UART_THR, (uint8_t)c);
}

struct sink {
	char *buf;		/* NULL: the UART */
	size_t size;
	size_t len;		/* characters produced, also past size */
};

static void emit(struct sink *s, char c)
{
	if (!s->buf)
		serial_putc(c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

/* n / base and n % base without libgcc's 64-bit division in the 32-bit flavour. */
static unsigned int divmod(uint64_t *n, unsigned int base)
{
#ifdef __x86_64__
	unsigned int r = (unsigned int)(*n % base);

	*n /= base;
	return r;
#else
	uint32_t hi = (uint32_t)(*n >> 32), lo = (uint32_t)*n, r;

	r = hi % base;
	hi /= base;
	/* r < base, so the quotient of r:lo fits in 32 bits. */
	__asm__("divl %2" : "+a"(lo), "+d"(r) : "rm"(base));
	*n = ((uint64_t)hi << 32) | lo;
	return r;
#endif
}

struct spec {
	bool left, zero, plus, space, alt, upper;
	int width;
	int prec;		/* -1: none */
};

static void pad(struct sink *s, int n, char c)
{
	while (n-- > 0)
		emit(s, c);
}

static void put_number(struct sink *s, uint64_t v, bool negative, unsigned int base,
		       const struct spec *sp)
{
	const char *digits = sp->upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	const char *prefix = "";
	int n = 0, zeros, len;

	while (v)
		tmp[n++] = digits[divmod(&v, base)];
	if (sp->prec < 0 && n == 0)
		tmp[n++] = '0';
	if (negative)
		prefix = "-";
	else if (sp->plus && base == 10)
		prefix = "+";
	else if (sp->space && base == 10)
		prefix = " ";
	else if (sp->alt && base == 16 && n)
		prefix = sp->upper ? "0X" : "0x";
	else if (sp->alt && base == 8 && (n == 0 || tmp[n - 1] != '0'))
		prefix = "0";

	zeros = sp->prec > n ? sp->prec - n : 0;
	len = (int)strlen(prefix) + zeros + n;
	if (sp->zero && !sp->left && sp->prec < 0 && sp->width > len) {
		zeros += sp->width - len;
		len = sp->width;
	}
	if (!sp->left)
		pad(s, sp->width - len, ' ');
	while (*prefix)
		emit(s, *prefix++);
	pad(s, zeros, '0');
	while (n)
		emit(s, tmp[--n]);
	if (sp->left)
		pad(s, sp->width - len, ' ');
}

static void put_string(struct sink *s, const char *str, const struct spec *sp)
{
	int n = 0;

	if (!str)
		str = "(null)";
	while (str[n] && (sp->prec < 0 || n < sp->prec))
		n++;
	if (!sp->left)
		pad(s, sp->width - n, ' ');
	for (int i = 0; i < n; i++)
		emit(s, str[i]);
	if (sp->left)
		pad(s, sp->width - n, ' ');
}

enum length { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE };

static uint64_t get_unsigned(va_list *ap, enum length l)
{
	switch (l) {
	case LEN_CHAR:
		return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_SHORT:
		return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_LONG:
		return va_arg(*ap, unsigned long);
	case LEN_LLONG:
		return va_arg(*ap, unsigned long long);
	case LEN_SIZE:
		return va_arg(*ap, size_t);
	default:
		return va_arg(*ap, unsigned int);
	}
}

static int64_t get_signed(va_list *ap, enum length l)
{
	switch (l) {
	case LEN_CHAR:
		return (signed char)va_arg(*ap, int);
	case LEN_SHORT:
		return (short)va_arg(*ap, int);
	case LEN_LONG:
		return va_arg(*ap, long);
	case LEN_LLONG:
		return va_arg(*ap, long long);
	case LEN_SIZE:
		return (int64_t)va_arg(*ap, size_t);
	default:
		return va_arg(*ap, int);
	}
}

static void format(struct sink *s, const char *fmt, va_list ap_in)
{
	va_list ap;

	/* Through a pointer so the helpers can advance it (va_list may be an array). */
	va_copy(ap, ap_in);
	for (; *fmt; fmt++) {
		struct spec sp = { .prec = -1 };
		enum length l = LEN_INT;
		bool more = true;

		if (*fmt != '%') {
			emit(s, *fmt);
			continue;
		}
		while (more) {
			switch (*++fmt) {
			case '-':
				sp.left = true;
				break;
			case '0':
				sp.zero = true;
				break;
			case '+':
				sp.plus = true;
				break;
			case ' ':
				sp.space = true;
				break;
			case '#':
				sp.alt = true;
				break;
			default:
				more = false;
				break;
			}
		}
		if (*fmt == '*') {
			sp.width = va_arg(ap, int);
			if (sp.width < 0) {
				sp.left = true;
				sp.width = -sp.width;
			}
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				sp.width = sp.width * 10 + (*fmt++ - '0');
		}
		if (*fmt == '.') {
			sp.prec = 0;
			if (*++fmt == '*') {
				sp.prec = va_arg(ap, int);
				if (sp.prec < 0)
					sp.prec = -1;
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					sp.prec = sp.prec * 10 + (*fmt++ - '0');
			}
		}
		for (more = true; more; ) {
			switch (*fmt) {
			case 'h':
				l = l == LEN_SHORT ? LEN_CHAR : LEN_SHORT;
				fmt++;
				break;
			case 'l':
				l = l == LEN_LONG ? LEN_LLONG : LEN_LONG;
				fmt++;
				break;
			case 'z':
			case 't':
				l = LEN_SIZE;
				fmt++;
				break;
			case 'j':
				l = LEN_LLONG;
				fmt++;
				break;
			default:
				more = false;
				break;
			}
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = get_signed(&ap, l);

			put_number(s, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0, 10, &sp);
			break;
		}
		case 'u':
			put_number(s, get_unsigned(&ap, l), false, 10, &sp);
			break;
		case 'X':
			sp.upper = true;
			/* fall through */
		case 'x':
			put_number(s, get_unsigned(&ap, l), false, 16, &sp);
			break;
		case 'o':
			put_number(s, get_unsigned(&ap, l), false, 8, &sp);
			break;
		case 'p':
			sp.alt = true;
			put_number(s, (uintptr_t)va_arg(ap, void *), false, 16, &sp);
			break;
		case 'c': {
			char c[2] = { (char)va_arg(ap, int), 0 };

			sp.prec = 1;
			if (!c[0]) {	/* a NUL is still one character */
				pad(s, sp.left ? 0 : sp.width - 1, ' ');
				emit(s, 0);
				pad(s, sp.left ? sp.width - 1 : 0, ' ');
			} else {
				put_string(s, c, &sp);
			}
			break;
		}
		case 's':
			put_string(s, va_arg(ap, const char *), &sp);
			break;
		case '%':
			emit(s, '%');
			break;
		case '\0':
			fmt--;		/* a lone '%' at the end */
			break;
		default:		/* unknown: show it rather than guess */
			emit(s, '%');
			emit(s, *fmt);
			break;
		}
	}
	va_end(ap);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	char dummy;
	struct sink s = { .buf = size ? buf : &dummy, .size = size };

	format(&s, fmt, ap);
	if (size)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return (int)s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int vprintf(const char *fmt, va_list ap)
{
	struct sink s = { 0 };
	int locked = console_lock();

	format(&s, fmt, ap);
	console_unlock(locked);
	return (int)s.len;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int putchar(int c)
{
	serial_putc((char)c);
	return (unsigned char)c;
}

int puts(const char *str)
{
	int locked = console_lock();

	while (*str)
		serial_putc(*str++);
	serial_putc('\n');
	console_unlock(locked);
	return 0;
}
