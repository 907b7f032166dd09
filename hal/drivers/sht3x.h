/* SPDX-License-Identifier: MIT */
/* Sensirion SHT3x (SHT30/31/35) humidity and temperature: pure decoding. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "reading.h"

#define SHT3X_DEFAULT_ADDRESS   0x44
#define SHT3X_CMD_MEASURE_HIGH  0x2400   /* single shot, high repeatability, no clock stretching */
#define SHT3X_CMD_SOFT_RESET    0x30A2
#define SHT3X_CMD_READ_STATUS   0xF32D
#define SHT3X_DATA_LEN          6        /* T msb, lsb, crc, RH msb, lsb, crc */

/** CRC-8 of datasheet 4.12: polynomial 0x31, initial 0xFF, no reflection. */
uint8_t sht3x_crc8(const uint8_t *buf, size_t len);

/** Decodes a measurement: exactly 6 bytes; -EBADMSG on a length or CRC mismatch.
 * out: temperature °C, humidity %RH. */
int sht3x_decode(const uint8_t *buf, size_t len, struct reading *out);
