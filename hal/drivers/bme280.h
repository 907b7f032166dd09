/* SPDX-License-Identifier: MIT */
/* Bosch BME280 (temperature, humidity, pressure) and BMP280 (no humidity): the pure
 * decoding, shared by the driver, the simulated chip and the tests. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reading.h"

#define BME280_CHIP_ID          0x60
#define BMP280_CHIP_ID          0x58
#define BME280_DEFAULT_ADDRESS  0x76

#define BME280_REG_CALIB_TP     0x88   /* 0x88..0xA1: T1..T3, P1..P9, -, H1 */
#define BME280_REG_CALIB_H      0xE1   /* 0xE1..0xE7: H2..H6 */
#define BME280_REG_ID           0xD0
#define BME280_REG_RESET        0xE0
#define BME280_REG_CTRL_HUM     0xF2
#define BME280_REG_STATUS       0xF3
#define BME280_REG_CTRL_MEAS    0xF4
#define BME280_REG_CONFIG       0xF5
#define BME280_REG_DATA         0xF7   /* 0xF7..0xFE: press[3], temp[3], hum[2] */

#define BME280_RESET_WORD       0xB6
#define BME280_STATUS_MEASURING 0x08
#define BME280_STATUS_IM_UPDATE 0x01

#define BME280_CALIB_TP_LEN     26     /* bytes at 0x88 */
#define BME280_CALIB_H_LEN      7      /* bytes at 0xE1 */
#define BME280_CALIB_LEN        (BME280_CALIB_TP_LEN + BME280_CALIB_H_LEN)
#define BME280_DATA_LEN         8

/* A measurement that was skipped (or never made since reset) reads as these. */
#define BME280_ADC_TP_SKIPPED   0x80000
#define BME280_ADC_H_SKIPPED    0x8000

/* The trimming parameters of datasheet section 4.2.2 (BMP280: 3.11.2). */
struct bme280_calib {
        uint16_t t1;
        int16_t t2, t3;
        uint16_t p1;
        int16_t p2, p3, p4, p5, p6, p7, p8, p9;
        uint8_t h1;
        int16_t h2;
        uint8_t h3;
        int16_t h4, h5;
        int8_t h6;
        bool has_humidity;
};

/** Parses the calibration block: the 26 bytes read at 0x88 (BMP280), optionally
 * followed by the 7 bytes read at 0xE1 (BME280, len 33). -EBADMSG for another length
 * or an erased/implausible block (T1 or P1 zero). */
int bme280_parse_calib(const uint8_t *buf, size_t len, struct bme280_calib *out);

/** Decodes the data registers 0xF7..0xFE: temperature °C, humidity %RH (if the calib
 * has humidity) and pressure hPa into out, in that order. -EBADMSG for a skipped
 * measurement or values no BME280 can produce. */
int bme280_compensate(const struct bme280_calib *c, const uint8_t raw[BME280_DATA_LEN],
                      struct reading *out);

/* The single steps, for the simulated chip that inverts them. */
double bme280_compensate_temperature(const struct bme280_calib *c, int32_t adc_t, int32_t *ret_t_fine);
/** Pa; NAN when the calibration would divide by zero. */
double bme280_compensate_pressure(const struct bme280_calib *c, int32_t adc_p, int32_t t_fine);
double bme280_compensate_humidity(const struct bme280_calib *c, int32_t adc_h, int32_t t_fine);
