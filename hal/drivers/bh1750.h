/* SPDX-License-Identifier: MIT */
/* ROHM BH1750FVI ambient light sensor: pure decoding. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "reading.h"

#define BH1750_DEFAULT_ADDRESS   0x23    /* ADDR low; 0x5C with ADDR high */
#define BH1750_POWER_DOWN        0x00
#define BH1750_POWER_ON          0x01
#define BH1750_RESET             0x07
#define BH1750_CONT_HIGH_RES     0x10
#define BH1750_DATA_LEN          2

/** Decodes the two result bytes (big-endian) of a high-resolution measurement at the
 * default sensitivity: lux = count / 1.2 (datasheet p. 11). -EBADMSG unless len is 2. */
int bh1750_decode(const uint8_t *buf, size_t len, struct reading *out);
