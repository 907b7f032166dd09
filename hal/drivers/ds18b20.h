/* SPDX-License-Identifier: MIT */
/* Maxim DS18B20 1-Wire thermometer, read through the kernel's w1_therm driver. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "reading.h"

#define DS18B20_W1_DIR          "/sys/bus/w1/devices"
#define DS18B20_SCRATCHPAD_LEN  9

/** The 1-Wire CRC-8 (Dallas/Maxim: x^8 + x^5 + x^4 + 1, reflected, initial 0). */
uint8_t ds18b20_crc8(const uint8_t *buf, size_t len);

/** Decodes the text of w1_slave (not necessarily NUL-terminated):
 *   "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n"
 *   "72 01 4b 46 7f ff 0e 10 57 t=23125\n"
 * into temperature °C. -EBADMSG for anything malformed, a CRC failure ("NO", or a
 * CRC byte that does not match the scratchpad), the power-on value 85 °C, or a value
 * outside -55..125 °C. */
int ds18b20_decode(const char *text, size_t len, struct reading *out);
