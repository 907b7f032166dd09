/* SPDX-License-Identifier: MIT */
/* TI ADS1115 16-bit ADC, four single-ended inputs: configuration words and decoding. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define ADS1115_DEFAULT_ADDRESS   0x48
#define ADS1115_REG_CONVERSION    0x00
#define ADS1115_REG_CONFIG        0x01
#define ADS1115_CHANNELS          4

/* Config register fields (datasheet 9.6.3). */
#define ADS1115_CONFIG_OS         0x8000   /* write: start a conversion; read: 1 = idle */
#define ADS1115_CONFIG_MUX_SHIFT  12
#define ADS1115_CONFIG_MUX_MASK   0x7000
#define ADS1115_CONFIG_PGA_SHIFT  9
#define ADS1115_CONFIG_PGA_MASK   0x0e00
#define ADS1115_CONFIG_MODE_SINGLE 0x0100
#define ADS1115_CONFIG_DR_SHIFT   5
#define ADS1115_CONFIG_DR_MASK    0x00e0
#define ADS1115_CONFIG_COMP_OFF   0x0003   /* COMP_QUE = 11: comparator disabled */
#define ADS1115_MUX_SINGLE(ch)    (4u + (ch))   /* AINch against GND */

/** PGA bits for a full-scale range of 6.144, 4.096, 2.048, 1.024, 0.512 or 0.256 V;
 * -EINVAL for anything else. */
int ads1115_pga_from_gain(double full_scale);
/** Full-scale range in volts of PGA bits 0..7 (6, 7 alias 0.256 V). */
double ads1115_full_scale(unsigned pga);
/** DR bits for 8, 16, 32, 64, 128, 250, 475 or 860 samples/s; -EINVAL otherwise. */
int ads1115_dr_from_rate(int samples_per_sec);
int ads1115_rate(unsigned dr);
/** The config word starting one single-shot conversion of AIN`channel`. */
uint16_t ads1115_config_single(unsigned channel, unsigned pga, unsigned dr);

/** Decodes the conversion register (2 bytes, big-endian two's complement) at the
 * given PGA bits into volts. -EBADMSG unless len is 2; -EINVAL for pga > 7. */
int ads1115_decode(const uint8_t *buf, size_t len, unsigned pga, double *ret_volts);
