/* SPDX-License-Identifier: GPL-2.0-only */
/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32), for migration sections. */
#ifndef PVHC_CRC32_H
#define PVHC_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: start with crc = 0. */
uint32_t crc32_update(uint32_t crc, const void *buf, size_t len);

#endif /* PVHC_CRC32_H */
