// SPDX-License-Identifier: GPL-2.0-only
/*
 * A 16550 UART as far as polled console output needs it: the guest writes
 * THR after seeing LSR.THRE, the byte goes to the host's stdout at once. The
 * other registers hold what is written to them so that probing drivers read
 * back sensible values; no interrupts are raised.
 */
#include <errno.h>
#include <stdlib.h>

#include <pvhc/ports.h>

#include "dev/devices.h"
#include "vm.h"
#include "vmstate.h"

#define UART_IER 1
#define UART_IIR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_MSR 6
#define UART_SCR 7
#define UART_LCR_DLAB 0x80

struct serial {
	FILE *out;		/* host side: not migrated */
	uint8_t ier, lcr, mcr, scr, dll, dlm;
};

static const struct vmstate_field serial_fields[] = {
	VMSTATE_FIELD(struct serial, ier),
	VMSTATE_FIELD(struct serial, lcr),
	VMSTATE_FIELD(struct serial, mcr),
	VMSTATE_FIELD(struct serial, scr),
	VMSTATE_FIELD(struct serial, dll),
	VMSTATE_FIELD(struct serial, dlm),
	VMSTATE_END,
};

static const struct vmstate serial_vmstate = { "serial", 1, serial_fields };

static uint32_t serial_in(struct vcpu *vcpu, void *opaque, uint16_t port, unsigned int size)
{
	struct serial *u = opaque;

	switch (port - PVHC_PORT_COM1) {
	case PVHC_UART_THR:
		return (u->lcr & UART_LCR_DLAB) ? u->dll : 0;	/* no input */
	case UART_IER:
		return (u->lcr & UART_LCR_DLAB) ? u->dlm : u->ier;
	case UART_IIR:
		return 0x01;	/* no interrupt pending */
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case PVHC_UART_LSR:
		return PVHC_UART_LSR_THRE | PVHC_UART_LSR_TEMT;
	case UART_MSR:
		return 0xb0;	/* CTS, DSR, DCD: a terminal is attached */
	case UART_SCR:
		return u->scr;
	}
	return 0xff;
}

static void serial_out(struct vcpu *vcpu, void *opaque, uint16_t port, unsigned int size,
		       uint32_t value)
{
	struct serial *u = opaque;
	uint8_t v = (uint8_t)value;

	switch (port - PVHC_PORT_COM1) {
	case PVHC_UART_THR:
		if (u->lcr & UART_LCR_DLAB) {
			u->dll = v;
		} else if (u->out) {
			fputc(v, u->out);
			if (v == '\n')
				fflush(u->out);
		}
		break;
	case UART_IER:
		if (u->lcr & UART_LCR_DLAB)
			u->dlm = v;
		else
			u->ier = v & 0x0f;
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & 0x1f;
		break;
	case UART_SCR:
		u->scr = v;
		break;
	}
}

int serial_init(struct vm *vm, FILE *out)
{
	struct serial *u = calloc(1, sizeof(*u));
	int ret;

	if (!u)
		return -ENOMEM;
	u->out = out;
	u->lcr = 0x03;	/* 8N1, as firmware leaves it */
	ret = io_register(&vm->io, &(struct io_handler){
		.base = PVHC_PORT_COM1, .len = 8, .name = "serial",
		.in = serial_in, .out = serial_out, .opaque = u, .vmstate = &serial_vmstate,
	});
	if (ret)
		free(u);
	return ret;
}
