/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The test's guest payloads, embedded in its host binary so that one file
 * per test is all that gets installed (kselftest's install target).
 * PAYLOAD64 and PAYLOAD32 are the image paths, passed with -D.
 */
	.section .rodata.payloads, "a"
	.balign 16
	.globl payload64, payload64_end, payload32, payload32_end
payload64:
	.incbin PAYLOAD64
payload64_end:
	.balign 16
payload32:
	.incbin PAYLOAD32
payload32_end:
	.section .note.GNU-stack, "", @progbits
