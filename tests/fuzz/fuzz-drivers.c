/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the sensor drivers' pure decoders: every byte sequence must be
 * either rejected with an error or decoded into finite values within the reading's
 * bounds. The first input byte picks the decoder; the rest is its input. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ads1115.h"
#include "bh1750.h"
#include "bme280.h"
#include "ds18b20.h"
#include "macro.h"
#include "reading.h"
#include "sht3x.h"
#include "sysfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reading(int r, const struct reading *out, size_t n) {
        if (r < 0)
                return;
        if (r != 0 || out->n != n || n > READING_MAX)
                __builtin_trap();
        for (size_t i = 0; i < out->n; i++)
                if (!isfinite(out->value[i]))
                        __builtin_trap();
}

static void fuzz_bme280(const uint8_t *data, size_t size) {
        uint8_t raw[BME280_DATA_LEN] = {};
        struct bme280_calib calib;
        struct reading out = {};
        size_t calib_len;
        int r;

        /* Calibration block (with or without humidity), then the data registers. */
        if (size < 1)
                return;
        calib_len = data[0] & 1 ? BME280_CALIB_LEN : BME280_CALIB_TP_LEN;
        data++, size--;
        if (size < calib_len) {
                (void) bme280_parse_calib(data, size, &calib);
                return;
        }
        r = bme280_parse_calib(data, calib_len, &calib);
        if (r < 0)
                return;
        data += calib_len, size -= calib_len;
        memcpy(raw, data, MIN(size, sizeof(raw)));
        r = bme280_compensate(&calib, raw, &out);
        check_reading(r, &out, calib.has_humidity ? 3 : 2);
        if (r == 0 && calib.has_humidity && (out.value[1] < 0.0 || out.value[1] > 100.0))
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct reading out = {};
        double v;
        int r;

        if (size < 1)
                return 0;

        switch (data[0] % 6) {
        case 0:
                fuzz_bme280(data + 1, size - 1);
                break;
        case 1:
                r = sht3x_decode(data + 1, size - 1, &out);
                check_reading(r, &out, 2);
                break;
        case 2:
                r = bh1750_decode(data + 1, size - 1, &out);
                check_reading(r, &out, 1);
                break;
        case 3:
                if (size < 2)
                        break;
                r = ads1115_decode(data + 2, size - 2, data[1] & 7, &v);
                if (r == 0 && (!isfinite(v) || fabs(v) > 6.144))
                        __builtin_trap();
                break;
        case 4:
                r = ds18b20_decode((const char *) data + 1, size - 1, &out);
                check_reading(r, &out, 1);
                if (r == 0 && (out.value[0] < -55.0 || out.value[0] > 125.0))
                        __builtin_trap();
                break;
        case 5:
                r = sysfs_parse_number((const char *) data + 1, size - 1, &v);
                if (r == 0 && !isfinite(v))
                        __builtin_trap();
                break;
        }
        return 0;
}
