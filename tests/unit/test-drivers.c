/* SPDX-License-Identifier: MIT */
/* Sensor drivers: the pure decoders against datasheet examples, every failure mode
 * of the bus I/O, and round trips through the simulated chips (value set on the chip,
 * read back by the real driver through hal_sensor_*). The HAL here is a minimal
 * struct hal whose backend hands out one simulated chip or one scripted device. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ads1115.h"
#include "bh1750.h"
#include "bme280.h"
#include "driver.h"
#include "ds18b20.h"
#include "file-read.h"
#include "hal-backend.h"
#include "hal.h"
#include "i2c-bus.h"
#include "log.h"
#include "sht3x.h"
#include "sim-chips.h"
#include "sysfs.h"

#define ck_assert_near(a, b, tol) \
        ck_assert_msg(fabs((double) (a) - (double) (b)) <= (tol), \
                      "%s = %.6f, expected %.6f +- %g", #a, (double) (a), (double) (b), (double) (tol))

/* a scripted I2C device for faults the simulated chips never make */

struct script_dev {
        struct i2c_dev dev;
        const uint8_t *read_data;    /* what plain reads and block reads return */
        size_t read_len;
        int smbus_byte;              /* what byte reads return ... */
        const uint8_t *regs;         /* ... unless there is a register map */
        unsigned transfers;
};

static int script_smbus(struct i2c_dev *dev, uint8_t rw, uint8_t command, uint32_t size,
                        union i2c_smbus_data *data) {
        struct script_dev *s = (struct script_dev *) dev;

        s->transfers++;
        if (rw == I2C_SMBUS_WRITE)
                return 0;
        if (size == I2C_SMBUS_BYTE_DATA) {
                data->byte = s->regs ? s->regs[command] : (uint8_t) s->smbus_byte;
                return 0;
        }
        if (size == I2C_SMBUS_I2C_BLOCK_DATA) {
                /* Returns fewer bytes than asked for when the script is short. */
                size_t n = MIN((size_t) data->block[0], s->read_len);

                memcpy(data->block + 1, s->read_data, n);
                data->block[0] = (uint8_t) n;
                return 0;
        }
        return -EIO;
}

static int script_transfer(struct i2c_dev *dev, struct i2c_msg *msgs, size_t n) {
        struct script_dev *s = (struct script_dev *) dev;

        s->transfers++;
        for (size_t i = 0; i < n; i++)
                if (msgs[i].flags & I2C_M_RD) {
                        if (msgs[i].len > s->read_len)
                                return -EIO;
                        memcpy(msgs[i].buf, s->read_data, msgs[i].len);
                }
        return 0;
}

static void script_close(struct i2c_dev *dev) {
}

static const struct i2c_dev_ops script_ops = {
        .smbus = script_smbus,
        .transfer = script_transfer,
        .close = script_close,
};

/* the minimal HAL */

struct board {
        struct sim_chip *chip;
        struct i2c_dev *dev;          /* overrides the chip's I2C face when set */
        const char *file_text;        /* overrides the chip's file when set */
        unsigned i2c_opens;
        uint8_t last_address;
};

static int board_i2c_open(void *state, const char *bus, uint8_t address,
                          const struct hal_sensor_config *config, struct i2c_dev **ret) {
        struct board *b = state;
        struct i2c_dev *dev = b->dev ? b->dev : sim_chip_i2c(b->chip);

        b->i2c_opens++;
        b->last_address = address;
        if (!dev)
                return -ENODEV;
        if (dev->address != address)
                return -ENXIO;
        *ret = dev;
        return 0;
}

static int board_file_read(void *state, const char *path, const struct hal_sensor_config *config,
                           char *buf, size_t size) {
        struct board *b = state;

        if (b->file_text) {
                int n = snprintf(buf, size, "%s", b->file_text);

                return (size_t) n >= size ? -EFBIG : n;
        }
        return sim_chip_read_file(b->chip, path, buf, size);
}

static const struct hal_backend_ops board_ops = {
        .name = "test",
        .i2c_open = board_i2c_open,
        .file_read = board_file_read,
};

static struct board board;
static struct hal test_hal = { .ops = &board_ops, .state = &board };

static struct hal_sensor_config cfg(const char *driver) {
        return (struct hal_sensor_config) {
                .name = "probe",
                .driver = driver,
                .bus = "/dev/i2c-1",
                .address = -1,
                .decimals = -1,
                .scale = 1.0,
                .device = "28-0316a2795bff",
        };
}

static void setup(void) {
        log_set_max_level(LOG_EMERG);   /* the failure tests would fill the output */
        memset(&board, 0, sizeof(board));
}

static void teardown(void) {
        board.chip = sim_chip_free(board.chip);
}

static struct hal_sensor *open_sim(const struct hal_sensor_config *c) {
        struct hal_sensor *s = NULL;
        int r;

        ck_assert_int_eq(sim_chip_new(c, &board.chip), 0);
        r = hal_sensor_open(&test_hal, c, &s);
        ck_assert_msg(r == 0, "open %s: %s", c->driver, strerror(-r));
        return s;
}

/* Reads until the reading completes, as the daemon's timer would; a pending
 * conversion must always come with a wait. */
static int read_full(struct hal_sensor *s, struct reading *out) {
        for (unsigned i = 0; i < 20; i++) {
                uint64_t retry = 0;
                int r;

                r = hal_sensor_read(s, out, &retry);
                if (r != 0)
                        return r;
                ck_assert_uint_gt(retry, 0);
                ck_assert_uint_lt(retry, 2 * USEC_PER_SEC);
        }
        ck_abort_msg("reading never completed");
        return -ETIMEDOUT;
}

/* BME280 / BMP280 decoding */

/* The worked example of the BMP280 datasheet, section 3.12. */
static const struct bme280_calib example_calib = {
        .t1 = 27504, .t2 = 26435, .t3 = -1000,
        .p1 = 36477, .p2 = -10685, .p3 = 3024, .p4 = 2855, .p5 = 140,
        .p6 = -7, .p7 = 15500, .p8 = -14600, .p9 = 6000,
};

static void put_le(uint8_t *p, int v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) ((unsigned) v >> 8);
}

START_TEST(test_bme280_parse_calib) {
        uint8_t buf[BME280_CALIB_LEN] = {};
        const int tp[] = { 27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000 };
        struct bme280_calib c;

        for (size_t i = 0; i < ELEMENTSOF(tp); i++)
                put_le(buf + 2 * i, tp[i]);
        buf[25] = 75;                 /* H1 at 0xA1 */
        put_le(buf + 26, 362);        /* H2 at 0xE1 */
        buf[28] = 7;                  /* H3 */
        /* H4 = 0x13 << 4 | 0x1 = 305, H5 = 0x03 << 4 | 0x2 = 50, sharing 0xE5 = 0x21 */
        buf[29] = 0x13;
        buf[30] = 0x21;
        buf[31] = 0x03;
        buf[32] = 0xe2;               /* H6 = -30 */

        ck_assert_int_eq(bme280_parse_calib(buf, BME280_CALIB_LEN, &c), 0);
        ck_assert_int_eq(c.t1, 27504);
        ck_assert_int_eq(c.t3, -1000);
        ck_assert_int_eq(c.p1, 36477);
        ck_assert_int_eq(c.p6, -7);
        ck_assert_int_eq(c.p9, 6000);
        ck_assert_int_eq(c.h1, 75);
        ck_assert_int_eq(c.h2, 362);
        ck_assert_int_eq(c.h3, 7);
        ck_assert_int_eq(c.h4, 305);
        ck_assert_int_eq(c.h5, 50);
        ck_assert_int_eq(c.h6, -30);
        ck_assert(c.has_humidity);

        /* Negative 12-bit H4/H5: 0xE4 = 0xFF, low nibble 0xF gives -1. */
        buf[29] = 0xff;
        buf[30] = 0xff;
        buf[31] = 0x80;
        ck_assert_int_eq(bme280_parse_calib(buf, BME280_CALIB_LEN, &c), 0);
        ck_assert_int_eq(c.h4, -1);
        ck_assert_int_eq(c.h5, -2048 + 15);

        ck_assert_int_eq(bme280_parse_calib(buf, BME280_CALIB_TP_LEN, &c), 0);
        ck_assert(!c.has_humidity);

        /* Lengths other than the two blocks, and erased NVM. */
        ck_assert_int_eq(bme280_parse_calib(buf, 25, &c), -EBADMSG);
        ck_assert_int_eq(bme280_parse_calib(buf, 32, &c), -EBADMSG);
        ck_assert_int_eq(bme280_parse_calib(buf, 0, &c), -EBADMSG);
        memset(buf, 0, sizeof(buf));
        ck_assert_int_eq(bme280_parse_calib(buf, BME280_CALIB_LEN, &c), -EBADMSG);
        memset(buf, 0xff, sizeof(buf));
        ck_assert_int_eq(bme280_parse_calib(buf, BME280_CALIB_LEN, &c), -EBADMSG);
}
END_TEST

START_TEST(test_bme280_worked_example) {
        /* adc_T = 519888 = 0x7EED0, adc_P = 415148 = 0x655AC: T = 25.08 °C,
         * p = 100653.27 Pa in the datasheet. */
        const uint8_t raw[BME280_DATA_LEN] = { 0x65, 0x5a, 0xc0, 0x7e, 0xed, 0x00, 0x80, 0x00 };
        struct reading out = {};
        int32_t t_fine;

        ck_assert_near(bme280_compensate_temperature(&example_calib, 519888, &t_fine), 25.08, 0.005);
        ck_assert_int_eq(t_fine, 128422);

        ck_assert_int_eq(bme280_compensate(&example_calib, raw, &out), 0);
        ck_assert_uint_eq(out.n, 2);
        ck_assert_near(out.value[0], 25.08, 0.005);
        ck_assert_near(out.value[1], 1006.5327, 0.0005);
}
END_TEST

/* The datasheet's integer humidity formula (4.2.3), as an independent reference for
 * the floating-point one the driver uses. */
static double humidity_int32(const struct bme280_calib *c, int32_t adc_h, int32_t t_fine) {
        int32_t v = t_fine - 76800;

        v = (((((adc_h << 14) - (((int32_t) c->h4) << 20) - (((int32_t) c->h5) * v)) + 16384) >> 15) *
             (((((((v * ((int32_t) c->h6)) >> 10) * (((v * ((int32_t) c->h3)) >> 11) + 32768)) >> 10) +
                2097152) * ((int32_t) c->h2) + 8192) >> 14));
        v = v - (((((v >> 15) * (v >> 15)) >> 7) * ((int32_t) c->h1)) >> 4);
        v = v < 0 ? 0 : v;
        v = v > 419430400 ? 419430400 : v;
        return (double) (v >> 12) / 1024.0;
}

START_TEST(test_bme280_humidity) {
        struct bme280_calib c = example_calib;
        const int32_t t_fines[] = { -40 * 5120, 128422, 60 * 5120 };

        c.h1 = 75, c.h2 = 362, c.h3 = 0, c.h4 = 313, c.h5 = 50, c.h6 = 30;
        c.has_humidity = true;

        for (size_t i = 0; i < ELEMENTSOF(t_fines); i++)
                for (int32_t adc = 20000; adc <= 40000; adc += 1000) {
                        double h = bme280_compensate_humidity(&c, adc, t_fines[i]);

                        ck_assert_near(h, humidity_int32(&c, adc, t_fines[i]), 0.02);
                }

        /* Clamped to 0..100 %. */
        ck_assert_near(bme280_compensate_humidity(&c, 0, 128422), 0.0, 0.0);
        ck_assert_near(bme280_compensate_humidity(&c, 65535, 128422), 100.0, 0.0);
}
END_TEST

START_TEST(test_bme280_bad_data) {
        struct bme280_calib c = example_calib;
        /* Measurement skipped / never made: 0x80000 and 0x8000. */
        uint8_t raw[BME280_DATA_LEN] = { 0x80, 0x00, 0x00, 0x7e, 0xed, 0x00, 0x80, 0x00 };
        struct reading out;

        ck_assert_int_eq(bme280_compensate(&c, raw, &out), -EBADMSG);
        raw[0] = 0x65;
        raw[3] = 0x80, raw[4] = 0x00;
        ck_assert_int_eq(bme280_compensate(&c, raw, &out), -EBADMSG);
        raw[3] = 0x7e, raw[4] = 0xed;
        c.has_humidity = true;
        c.h2 = 362;
        ck_assert_int_eq(bme280_compensate(&c, raw, &out), -EBADMSG);   /* H skipped */
        raw[6] = 0x70;
        ck_assert_int_eq(bme280_compensate(&c, raw, &out), 0);
        ck_assert_uint_eq(out.n, 3);

        /* All ones off a stuck bus decode to 187 °C: not a measurement. */
        memset(raw, 0xff, sizeof(raw));
        ck_assert_int_eq(bme280_compensate(&c, raw, &out), -EBADMSG);
}
END_TEST

/* SHT3x */

START_TEST(test_sht3x_crc) {
        /* Datasheet 4.12: CRC of 0xBEEF is 0x92. */
        ck_assert_uint_eq(sht3x_crc8((const uint8_t[]) { 0xbe, 0xef }, 2), 0x92);
        ck_assert_uint_eq(sht3x_crc8(NULL, 0), 0xff);
}
END_TEST

START_TEST(test_sht3x_decode) {
        /* 0x6666 = 0.4 * 65535 -> 25 °C; 0x3333 = 0.2 * 65535 -> 20 %RH. */
        uint8_t buf[6] = { 0x66, 0x66, 0, 0x33, 0x33, 0 };
        struct reading out;

        buf[2] = sht3x_crc8(buf, 2);
        buf[5] = sht3x_crc8(buf + 3, 2);
        ck_assert_int_eq(sht3x_decode(buf, 6, &out), 0);
        ck_assert_uint_eq(out.n, 2);
        ck_assert_near(out.value[0], 25.0, 1e-9);
        ck_assert_near(out.value[1], 20.0, 1e-9);

        /* The ends of the scale: -45 °C / 0 %, 130 °C / 100 %. */
        ck_assert_int_eq(sht3x_decode((const uint8_t[]) { 0, 0, 0x81, 0xff, 0xff, 0xac }, 6, &out), 0);
        ck_assert_near(out.value[0], -45.0, 1e-9);
        ck_assert_near(out.value[1], 100.0, 1e-9);

        /* A flipped bit in either word, and short or long data. */
        buf[1] ^= 0x01;
        ck_assert_int_eq(sht3x_decode(buf, 6, &out), -EBADMSG);
        buf[1] ^= 0x01;
        buf[5] ^= 0x80;
        ck_assert_int_eq(sht3x_decode(buf, 6, &out), -EBADMSG);
        buf[5] ^= 0x80;
        ck_assert_int_eq(sht3x_decode(buf, 5, &out), -EBADMSG);
        ck_assert_int_eq(sht3x_decode(buf, 3, &out), -EBADMSG);
        ck_assert_int_eq(sht3x_decode(buf, 0, &out), -EBADMSG);
}
END_TEST

/* BH1750 */

START_TEST(test_bh1750_decode) {
        struct reading out;

        /* Datasheet p. 7 example: 1000_0011_1001_0000 = 33680 counts = 28067 lx. */
        ck_assert_int_eq(bh1750_decode((const uint8_t[]) { 0x83, 0x90 }, 2, &out), 0);
        ck_assert_uint_eq(out.n, 1);
        ck_assert_near(out.value[0], 28067.0, 0.5);
        ck_assert_int_eq(bh1750_decode((const uint8_t[]) { 0x00, 0x78 }, 2, &out), 0);
        ck_assert_near(out.value[0], 100.0, 1e-9);
        ck_assert_int_eq(bh1750_decode((const uint8_t[]) { 0x00, 0x00 }, 2, &out), 0);
        ck_assert_near(out.value[0], 0.0, 0.0);
        ck_assert_int_eq(bh1750_decode((const uint8_t[]) { 0xff, 0xff }, 2, &out), 0);
        ck_assert_near(out.value[0], 54612.5, 1e-9);
        ck_assert_int_eq(bh1750_decode((const uint8_t[]) { 0xff }, 1, &out), -EBADMSG);
        ck_assert_int_eq(bh1750_decode((const uint8_t[]) { 1, 2, 3 }, 3, &out), -EBADMSG);
}
END_TEST

/* ADS1115 */

START_TEST(test_ads1115_decode) {
        double v;

        ck_assert_int_eq(ads1115_pga_from_gain(6.144), 0);
        ck_assert_int_eq(ads1115_pga_from_gain(4.096), 1);
        ck_assert_int_eq(ads1115_pga_from_gain(2.048), 2);
        ck_assert_int_eq(ads1115_pga_from_gain(0.256), 5);
        ck_assert_int_eq(ads1115_pga_from_gain(5.0), -EINVAL);
        ck_assert_int_eq(ads1115_pga_from_gain(0.0), -EINVAL);
        ck_assert_int_eq(ads1115_dr_from_rate(8), 0);
        ck_assert_int_eq(ads1115_dr_from_rate(128), 4);
        ck_assert_int_eq(ads1115_dr_from_rate(860), 7);
        ck_assert_int_eq(ads1115_dr_from_rate(100), -EINVAL);

        /* OS | MUX 100 | PGA 001 | MODE | DR 100 | COMP_QUE 11 */
        ck_assert_uint_eq(ads1115_config_single(0, 1, 4), 0xc383);
        ck_assert_uint_eq(ads1115_config_single(3, 5, 7), 0xfbe3);

        /* Datasheet table 8-3: 7FFFh is +FS * (2^15 - 1) / 2^15, 8000h is -FS. */
        ck_assert_int_eq(ads1115_decode((const uint8_t[]) { 0x7f, 0xff }, 2, 1, &v), 0);
        ck_assert_near(v, 4.096 * 32767.0 / 32768.0, 1e-12);
        ck_assert_int_eq(ads1115_decode((const uint8_t[]) { 0x80, 0x00 }, 2, 1, &v), 0);
        ck_assert_near(v, -4.096, 1e-12);
        ck_assert_int_eq(ads1115_decode((const uint8_t[]) { 0xff, 0xff }, 2, 0, &v), 0);
        ck_assert_near(v, -0.0001875, 1e-12);
        ck_assert_int_eq(ads1115_decode((const uint8_t[]) { 0x00, 0x01 }, 2, 5, &v), 0);
        ck_assert_near(v, 0.256 / 32768.0, 1e-15);
        ck_assert_int_eq(ads1115_decode((const uint8_t[]) { 0x40, 0x00 }, 2, 2, &v), 0);
        ck_assert_near(v, 1.024, 1e-12);

        ck_assert_int_eq(ads1115_decode((const uint8_t[]) { 0x40 }, 1, 2, &v), -EBADMSG);
        ck_assert_int_eq(ads1115_decode((const uint8_t[]) { 0x40, 0, 0 }, 3, 2, &v), -EBADMSG);
        ck_assert_int_eq(ads1115_decode((const uint8_t[]) { 0x40, 0 }, 2, 8, &v), -EINVAL);
}
END_TEST

/* DS18B20 */

#define W1_GOOD "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"

static int ds_decode(const char *text, struct reading *out) {
        return ds18b20_decode(text, strlen(text), out);
}

START_TEST(test_ds18b20_decode) {
        struct reading out;

        ck_assert_uint_eq(ds18b20_crc8((const uint8_t[]) { 0x72, 0x01, 0x4b, 0x46, 0x7f, 0xff, 0x0e, 0x10 }, 8), 0x57);

        ck_assert_int_eq(ds_decode(W1_GOOD, &out), 0);
        ck_assert_uint_eq(out.n, 1);
        ck_assert_near(out.value[0], 23.125, 1e-9);

        /* Below zero: 0xFF5E = -162 sixteenths = -10.125 °C. */
        ck_assert_int_eq(ds_decode("5e ff 4b 46 7f ff 0c 10 6a : crc=6a YES\n"
                                   "5e ff 4b 46 7f ff 0c 10 6a t=-10125\n", &out), 0);
        ck_assert_near(out.value[0], -10.125, 1e-9);

        /* No final newline is fine too. */
        ck_assert_int_eq(ds18b20_decode(W1_GOOD, strlen(W1_GOOD) - 1, &out), 0);
}
END_TEST

START_TEST(test_ds18b20_bad) {
        struct reading out;

        /* The kernel's CRC check failed. */
        ck_assert_int_eq(ds_decode("72 01 4b 46 7f ff 0e 10 58 : crc=57 NO\n"
                                   "72 01 4b 46 7f ff 0e 10 58 t=23125\n", &out), -EBADMSG);
        /* "YES" but the bytes do not match their CRC, or the lines disagree. */
        ck_assert_int_eq(ds_decode("72 01 4b 46 7f ff 0e 11 57 : crc=57 YES\n"
                                   "72 01 4b 46 7f ff 0e 11 57 t=23125\n", &out), -EBADMSG);
        ck_assert_int_eq(ds_decode("72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n"
                                   "73 01 4b 46 7f ff 0e 10 57 t=23125\n", &out), -EBADMSG);
        /* The power-on value 85 °C, with a perfectly good CRC. */
        ck_assert_int_eq(ds_decode("50 05 4b 46 7f ff 0c 10 1c : crc=1c YES\n"
                                   "50 05 4b 46 7f ff 0c 10 1c t=85000\n", &out), -EBADMSG);
        /* Garbage, truncation, trailing junk, out of range, empty. */
        ck_assert_int_eq(ds_decode("hello world\n", &out), -EBADMSG);
        ck_assert_int_eq(ds_decode("", &out), -EBADMSG);
        ck_assert_int_eq(ds18b20_decode(W1_GOOD, 50, &out), -EBADMSG);
        ck_assert_int_eq(ds18b20_decode(W1_GOOD, strlen(W1_GOOD) - 3, &out), 0);  /* "t=231" */
        ck_assert_near(out.value[0], 0.231, 1e-9);
        ck_assert_int_eq(ds18b20_decode(W1_GOOD, strlen(W1_GOOD) - 6, &out), -EBADMSG); /* "t=" */
        ck_assert_int_eq(ds_decode(W1_GOOD "x", &out), -EBADMSG);
        ck_assert_int_eq(ds_decode("72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n"
                                   "72 01 4b 46 7f ff 0e 10 57 t=23125x\n", &out), -EBADMSG);
        ck_assert_int_eq(ds_decode("72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n"
                                   "72 01 4b 46 7f ff 0e 10 57 t=130000\n", &out), -EBADMSG);
        ck_assert_int_eq(ds_decode("72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n"
                                   "72 01 4b 46 7f ff 0e 10 57 t=99999999\n", &out), -EBADMSG);
}
END_TEST

/* sysfs numbers */

static int parse(const char *text, double *v) {
        return sysfs_parse_number(text, strlen(text), v);
}

START_TEST(test_sysfs_parse) {
        double v;

        ck_assert_int_eq(parse("48000\n", &v), 0);
        ck_assert_near(v, 48000.0, 0.0);
        ck_assert_int_eq(parse("  -12.5 \n", &v), 0);
        ck_assert_near(v, -12.5, 1e-12);
        ck_assert_int_eq(parse("+3", &v), 0);
        ck_assert_near(v, 3.0, 0.0);
        ck_assert_int_eq(parse("0.125", &v), 0);
        ck_assert_near(v, 0.125, 1e-12);
        ck_assert_int_eq(parse(".5", &v), 0);
        ck_assert_near(v, 0.5, 1e-12);
        ck_assert_int_eq(parse("7.", &v), 0);
        ck_assert_near(v, 7.0, 0.0);

        ck_assert_int_eq(parse("", &v), -EBADMSG);
        ck_assert_int_eq(parse(" \n", &v), -EBADMSG);
        ck_assert_int_eq(parse("-", &v), -EBADMSG);
        ck_assert_int_eq(parse(".", &v), -EBADMSG);
        ck_assert_int_eq(parse("12abc", &v), -EBADMSG);
        ck_assert_int_eq(parse("1e3", &v), -EBADMSG);
        ck_assert_int_eq(parse("0x10", &v), -EBADMSG);
        ck_assert_int_eq(parse("nan", &v), -EBADMSG);
        ck_assert_int_eq(parse("inf", &v), -EBADMSG);
        ck_assert_int_eq(parse("1 2", &v), -EBADMSG);
        ck_assert_int_eq(parse("1,5", &v), -EBADMSG);
        ck_assert_int_eq(parse("--1", &v), -EBADMSG);
        ck_assert_int_eq(sysfs_parse_number("12\0", 3, &v), -EBADMSG);
        ck_assert_int_eq(sysfs_parse_number("123", 2, &v), 0);      /* only len counts */
        ck_assert_near(v, 12.0, 0.0);
}
END_TEST

/* round trips through the simulated chips */

START_TEST(test_roundtrip_bme280) {
        struct hal_sensor_config c = cfg("bme280");
        struct hal_sensor *s = open_sim(&c);
        const struct quantity_info *q;
        struct reading out;
        size_t n;

        ck_assert_uint_eq(board.last_address, 0x76);
        q = hal_sensor_quantities(s, &n);
        ck_assert_uint_eq(n, 3);
        ck_assert_str_eq(q[0].name, "temperature");
        ck_assert_str_eq(q[1].name, "humidity");
        ck_assert_str_eq(q[2].name, "pressure");
        ck_assert_str_eq(q[2].unit, "hPa");
        ck_assert_str_eq(q[2].device_class, "atmospheric_pressure");

        /* The chip's initial values. */
        ck_assert_int_eq(read_full(s, &out), 1);
        ck_assert_uint_eq(out.n, 3);
        ck_assert_near(out.value[0], 21.5, 0.005);
        ck_assert_near(out.value[1], 45.0, 0.05);
        ck_assert_near(out.value[2], 1013.25, 0.005);

        for (double t = -40.0; t <= 85.0; t += 12.5)
                for (double h = 0.0; h <= 100.0; h += 12.5)
                        for (double p = 300.0; p <= 1100.0; p += 100.0) {
                                ck_assert_int_eq(sim_chip_set(board.chip, "temperature", t), 0);
                                ck_assert_int_eq(sim_chip_set(board.chip, "humidity", h), 0);
                                ck_assert_int_eq(sim_chip_set(board.chip, "pressure", p), 0);
                                ck_assert_int_eq(read_full(s, &out), 1);
                                ck_assert_near(out.value[0], t, 0.005);
                                ck_assert_near(out.value[1], h, 0.05);
                                ck_assert_near(out.value[2], p, 0.005);
                        }

        ck_assert_int_eq(sim_chip_set(board.chip, "temperature", 85.1), -ERANGE);
        ck_assert_int_eq(sim_chip_set(board.chip, "temperature", -40.1), -ERANGE);
        ck_assert_int_eq(sim_chip_set(board.chip, "humidity", 100.5), -ERANGE);
        ck_assert_int_eq(sim_chip_set(board.chip, "pressure", 299.0), -ERANGE);
        ck_assert_int_eq(sim_chip_set(board.chip, "pressure", NAN), -ERANGE);
        ck_assert_int_eq(sim_chip_set(board.chip, "illuminance", 1.0), -ENOENT);
        hal_sensor_free(s);
}
END_TEST

START_TEST(test_roundtrip_bmp280) {
        struct hal_sensor_config c = cfg("bmp280");
        struct hal_sensor *s;
        struct reading out;
        size_t n;

        c.address = 0x77;
        s = open_sim(&c);
        ck_assert_uint_eq(board.last_address, 0x77);
        hal_sensor_quantities(s, &n);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(sim_chip_set(board.chip, "humidity", 50.0), -ENOENT);

        for (double t = -40.0; t <= 85.0; t += 5.0) {
                ck_assert_int_eq(sim_chip_set(board.chip, "temperature", t), 0);
                ck_assert_int_eq(sim_chip_set(board.chip, "pressure", 950.0 + t), 0);
                ck_assert_int_eq(read_full(s, &out), 1);
                ck_assert_uint_eq(out.n, 2);
                ck_assert_near(out.value[0], t, 0.005);
                ck_assert_near(out.value[1], 950.0 + t, 0.005);
        }
        hal_sensor_free(s);
}
END_TEST

START_TEST(test_roundtrip_sht3x) {
        struct hal_sensor_config c = cfg("sht3x");
        struct hal_sensor *s = open_sim(&c);
        struct reading out;
        uint64_t retry = 0;

        ck_assert_uint_eq(board.last_address, 0x44);
        /* The first call starts the conversion and asks for about 15 ms. */
        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), 0);
        ck_assert_uint_ge(retry, 15 * USEC_PER_MSEC);
        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), 1);
        ck_assert_near(out.value[0], 21.5, 0.003);
        ck_assert_near(out.value[1], 45.0, 0.002);

        for (double t = -40.0; t <= 125.0; t += 2.5)
                for (double h = 0.0; h <= 100.0; h += 5.0) {
                        ck_assert_int_eq(sim_chip_set(board.chip, "temperature", t), 0);
                        ck_assert_int_eq(sim_chip_set(board.chip, "humidity", h), 0);
                        ck_assert_int_eq(read_full(s, &out), 1);
                        ck_assert_near(out.value[0], t, 175.0 / 65535.0);
                        ck_assert_near(out.value[1], h, 100.0 / 65535.0);
                }
        ck_assert_int_eq(sim_chip_set(board.chip, "temperature", 126.0), -ERANGE);
        ck_assert_int_eq(sim_chip_set(board.chip, "humidity", -1.0), -ERANGE);
        hal_sensor_free(s);
}
END_TEST

START_TEST(test_roundtrip_bh1750) {
        struct hal_sensor_config c = cfg("bh1750");
        struct hal_sensor *s = open_sim(&c);
        struct reading out;
        uint64_t retry = 0;

        ck_assert_uint_eq(board.last_address, 0x23);
        /* Continuous mode needs one conversion time before the first result only. */
        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), 0);
        ck_assert_uint_ge(retry, 120 * USEC_PER_MSEC);
        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), 1);
        ck_assert_near(out.value[0], 120.0, 0.5);

        for (double lux = 0.0; lux <= 54612.0; lux += 1234.5) {
                ck_assert_int_eq(sim_chip_set(board.chip, "illuminance", lux), 0);
                ck_assert_int_eq(hal_sensor_read(s, &out, &retry), 1);
                ck_assert_near(out.value[0], lux, 0.5 / 1.2);
        }
        ck_assert_int_eq(sim_chip_set(board.chip, "illuminance", 60000.0), -ERANGE);
        ck_assert_int_eq(sim_chip_set(board.chip, "illuminance", -1.0), -ERANGE);
        hal_sensor_free(s);
}
END_TEST

static void ads_roundtrip(double gain, int rate) {
        struct hal_sensor_config c = cfg("ads1115");
        struct hal_sensor *s;
        struct reading out;
        double lsb = gain / 32768.0;
        double top = MIN(gain, 5.5);    /* inputs stop at VDD even where the range does not */
        unsigned pending = 0;
        int r;

        c.gain = gain;
        c.data_rate = rate;
        s = open_sim(&c);
        ck_assert_uint_eq(board.last_address, 0x48);

        for (double v = 0.0; v < top; v += top / 7.0) {
                ck_assert_int_eq(sim_chip_set(board.chip, "voltage0", v), 0);
                ck_assert_int_eq(sim_chip_set(board.chip, "voltage1", top - v - lsb), 0);
                ck_assert_int_eq(sim_chip_set(board.chip, "voltage2", v / 2), 0);
                ck_assert_int_eq(sim_chip_set(board.chip, "voltage3", v / 3), 0);

                /* One conversion per input, each with a wait of at least 1/rate. */
                pending = 0;
                for (;;) {
                        uint64_t retry = 0;

                        r = hal_sensor_read(s, &out, &retry);
                        if (r != 0)
                                break;
                        ck_assert_uint_ge(retry, USEC_PER_SEC / (uint64_t) rate);
                        pending++;
                }
                ck_assert_int_eq(r, 1);
                ck_assert_uint_eq(pending, 4);
                ck_assert_uint_eq(out.n, 4);
                ck_assert_near(out.value[0], v, lsb / 2 + 1e-12);
                ck_assert_near(out.value[1], top - v - lsb, lsb / 2 + 1e-12);
                ck_assert_near(out.value[2], v / 2, lsb / 2 + 1e-12);
                ck_assert_near(out.value[3], v / 3, lsb / 2 + 1e-12);
        }

        /* Beyond the full-scale range the code saturates, as on the chip. */
        if (gain < 5.5) {
                ck_assert_int_eq(sim_chip_set(board.chip, "voltage0", MIN(gain * 1.5, 5.5)), 0);
                ck_assert_int_eq(read_full(s, &out), 1);
                ck_assert_near(out.value[0], gain - lsb, 1e-12);
        }
        ck_assert_int_eq(sim_chip_set(board.chip, "voltage0", -0.2), 0);
        ck_assert_int_eq(read_full(s, &out), 1);
        ck_assert_near(out.value[0], MAX(-0.2, -gain), lsb / 2 + 1e-12);

        ck_assert_int_eq(sim_chip_set(board.chip, "voltage0", 6.0), -ERANGE);
        ck_assert_int_eq(sim_chip_set(board.chip, "voltage4", 1.0), -ENOENT);
        hal_sensor_free(s);
        board.chip = sim_chip_free(board.chip);
}

START_TEST(test_roundtrip_ads1115) {
        const struct quantity_info *q;
        struct hal_sensor_config c = cfg("ads1115");
        struct hal_sensor *s;
        size_t n;

        ads_roundtrip(6.144, 860);
        ads_roundtrip(4.096, 128);
        ads_roundtrip(2.048, 8);
        ads_roundtrip(0.256, 250);

        s = open_sim(&c);      /* defaults: 2.048 V, 128 SPS */
        q = hal_sensor_quantities(s, &n);
        ck_assert_uint_eq(n, 4);
        ck_assert_str_eq(q[3].name, "voltage3");
        ck_assert_str_eq(q[3].unit, "V");
        ck_assert_int_eq(q[3].decimals, 4);
        hal_sensor_free(s);
        board.chip = sim_chip_free(board.chip);

        /* A configured precision overrides the driver's. */
        c.decimals = 2;
        s = open_sim(&c);
        q = hal_sensor_quantities(s, &n);
        for (size_t i = 0; i < n; i++)
                ck_assert_int_eq(q[i].decimals, 2);
        hal_sensor_free(s);
}
END_TEST

START_TEST(test_ads1115_bad_config) {
        struct hal_sensor_config c = cfg("ads1115");
        struct hal_sensor *s = NULL;

        ck_assert_int_eq(sim_chip_new(&c, &board.chip), 0);
        c.gain = 3.0;
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), -EINVAL);
        c.gain = 2.048;
        c.data_rate = 100;
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), -EINVAL);
        ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_roundtrip_ds18b20) {
        struct hal_sensor_config c = cfg("ds18b20");
        struct hal_sensor *s = open_sim(&c);
        const struct quantity_info *q;
        struct reading out;
        uint64_t retry = 0;
        size_t n;

        q = hal_sensor_quantities(s, &n);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(q[0].name, "temperature");
        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), 1);
        ck_assert_near(out.value[0], 21.5, 1e-9);

        for (double t = -55.0; t <= 125.0; t += 0.7) {
                if (fabs(t - 85.0) < 0.1)
                        continue;    /* indistinguishable from the power-on value */
                ck_assert_int_eq(sim_chip_set(board.chip, "temperature", t), 0);
                ck_assert_int_eq(hal_sensor_read(s, &out, &retry), 1);
                ck_assert_near(out.value[0], t, 0.0625 / 2 + 0.001);
        }
        /* The real chip cannot tell 85 °C from "not converted" either. */
        ck_assert_int_eq(sim_chip_set(board.chip, "temperature", 85.0), 0);
        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), -EBADMSG);
        ck_assert_int_eq(sim_chip_set(board.chip, "temperature", 126.0), -ERANGE);

        /* A path that is not this device's. */
        ck_assert_int_eq(sim_chip_read_file(board.chip, "/sys/bus/w1/devices/28-x/w1_slave",
                                            (char[64]) {}, 64), -ENOENT);
        hal_sensor_free(s);
}
END_TEST

START_TEST(test_ds18b20_bad_device) {
        struct hal_sensor_config c = cfg("ds18b20");
        struct hal_sensor *s = NULL;

        c.device = "../../../etc";
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), -EINVAL);
        c.device = NULL;
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), -EINVAL);
        ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_roundtrip_sysfs) {
        struct hal_sensor_config c = cfg("sysfs");
        const struct quantity_info *q;
        struct hal_sensor *s;
        struct reading out;
        uint64_t retry = 0;
        size_t n;

        c.path = "/sys/class/thermal/thermal_zone0/temp";
        c.scale = 0.001;
        c.quantity = "temperature";
        c.unit = "°C";
        s = open_sim(&c);

        q = hal_sensor_quantities(s, &n);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(q[0].name, "temperature");
        ck_assert_str_eq(q[0].unit, "°C");
        ck_assert_str_eq(q[0].device_class, "temperature");
        ck_assert_int_eq(q[0].decimals, 2);

        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), 1);
        ck_assert_near(out.value[0], 48.0, 1e-9);
        for (double t = -20.0; t <= 110.0; t += 3.3) {
                ck_assert_int_eq(sim_chip_set(board.chip, "temperature", t), 0);
                ck_assert_int_eq(hal_sensor_read(s, &out, &retry), 1);
                ck_assert_near(out.value[0], t, 0.0005 + 1e-9);
        }
        ck_assert_int_eq(sim_chip_set(board.chip, "humidity", 1.0), -ENOENT);
        hal_sensor_free(s);
        board.chip = sim_chip_free(board.chip);

        /* A raw value with an offset and a coarse scale, and fixed decimals. */
        c.path = "/sys/bus/iio/devices/iio:device0/in_voltage0_raw";
        c.scale = 0.5;
        c.offset = -10.0;
        c.quantity = "level";
        c.unit = "cm";
        c.decimals = 1;
        s = open_sim(&c);
        q = hal_sensor_quantities(s, &n);
        ck_assert_str_eq(q[0].name, "level");
        ck_assert_ptr_null(q[0].device_class);
        ck_assert_int_eq(q[0].decimals, 1);
        for (double v = -100.0; v <= 100.0; v += 7.3) {
                ck_assert_int_eq(sim_chip_set(board.chip, "level", v), 0);
                ck_assert_int_eq(hal_sensor_read(s, &out, &retry), 1);
                ck_assert_near(out.value[0], v, 0.25 + 1e-9);
        }
        ck_assert_int_eq(sim_chip_set(board.chip, "level", 1e12), -ERANGE);

        /* Junk in the file. */
        board.file_text = "12 degrees\n";
        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), -EBADMSG);
        board.file_text = "";
        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), -EBADMSG);
        board.file_text = "42\n";
        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), 1);
        ck_assert_near(out.value[0], 42 * 0.5 - 10.0, 1e-12);
        hal_sensor_free(s);
}
END_TEST

/* failures */

static const char *const i2c_drivers[] = { "bme280", "bmp280", "sht3x", "bh1750", "ads1115" };

START_TEST(test_no_ack) {
        const char *driver = i2c_drivers[_i];
        struct hal_sensor_config c = cfg(driver);
        struct hal_sensor *s = NULL;
        struct reading out;
        uint64_t retry;

        /* A chip that does not answer at open. */
        ck_assert_int_eq(sim_chip_new(&c, &board.chip), 0);
        sim_chip_fail(board.chip, true);
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), -EIO);
        ck_assert_ptr_null(s);

        /* ... and one that stops answering in the middle of a reading: the reading
         * fails, and once the chip is back the next one starts afresh and works. */
        sim_chip_fail(board.chip, false);
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), 0);
        ck_assert_int_eq(read_full(s, &out), 1);

        for (unsigned step = 0; step < 6; step++) {
                int r = 0;

                for (unsigned i = 0; i < step && r == 0; i++)
                        r = hal_sensor_read(s, &out, &retry);
                if (r != 0)
                        continue;    /* the reading completed before the failure */
                sim_chip_fail(board.chip, true);
                ck_assert_int_eq(hal_sensor_read(s, &out, &retry), -EIO);
                sim_chip_fail(board.chip, false);
                ck_assert_int_eq(read_full(s, &out), 1);
        }
        hal_sensor_free(s);
}
END_TEST


/* A brownout: the chip stops answering, then comes back with its registers at their
 * power-on values (its calibration NVM intact). Readings fail meanwhile; once it is
 * back, a few readings later the driver has set it up again and readings are right. */
START_TEST(test_power_loss) {
        const char *driver = i2c_drivers[_i];
        struct hal_sensor_config c = cfg(driver);
        const char *quantity = streq(driver, "bh1750") ? "illuminance" :
                               streq(driver, "ads1115") ? "voltage0" : "temperature";
        double value = streq(driver, "bh1750") ? 321.0 : streq(driver, "ads1115") ? 1.5 : 30.0;
        struct hal_sensor *s;
        struct reading out;
        unsigned attempts = 0;
        int r;

        s = open_sim(&c);
        ck_assert_int_eq(read_full(s, &out), 1);

        sim_chip_power(board.chip, false);
        for (unsigned i = 0; i < 5; i++)
                ck_assert_int_eq(read_full(s, &out), -EIO);
        ck_assert_int_eq(sim_chip_set(board.chip, quantity, value), 0);
        sim_chip_power(board.chip, true);

        /* Each attempt is one poll of the daemon's. */
        do {
                ck_assert_msg(++attempts <= 5, "%s: no reading since power came back", driver);
                r = read_full(s, &out);
        } while (r != 1);
        for (unsigned i = 0; i < 5; i++) {
                ck_assert_int_eq(read_full(s, &out), 1);
                ck_assert_double_eq_tol(out.value[0], value, value / 100.0);
        }
        hal_sensor_free(s);
}
END_TEST

START_TEST(test_wrong_chip) {
        struct hal_sensor_config chip = cfg("bme280"), c = cfg("bmp280");
        struct hal_sensor *s = NULL;

        /* A BME280 where a BMP280 is configured, and the other way round. */
        ck_assert_int_eq(sim_chip_new(&chip, &board.chip), 0);
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), -ENODEV);
        board.chip = sim_chip_free(board.chip);
        ck_assert_int_eq(sim_chip_new(&c, &board.chip), 0);
        ck_assert_int_eq(hal_sensor_open(&test_hal, &chip, &s), -ENODEV);
        board.chip = sim_chip_free(board.chip);

        /* An ADS1115 configured where a BME280 sits (same bus, address forced). */
        chip.address = 0x48;
        ck_assert_int_eq(sim_chip_new(&chip, &board.chip), 0);
        c = cfg("ads1115");
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), -ENODEV);
        board.chip = sim_chip_free(board.chip);

        /* An SHT3x configured where a BME280 sits. */
        chip.address = 0x44;
        ck_assert_int_eq(sim_chip_new(&chip, &board.chip), 0);
        c = cfg("sht3x");
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), -ENODEV);
        ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_wrong_address) {
        struct hal_sensor_config c = cfg("bh1750");
        struct hal_sensor *s = NULL;

        ck_assert_int_eq(sim_chip_new(&c, &board.chip), 0);
        c.address = 0x5c;
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), -ENXIO);
        c.address = 0x80;
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), -EINVAL);
        c.address = 0x5c;
        c.bus = NULL;
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), -EINVAL);
        ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_sht3x_crc_on_bus) {
        struct hal_sensor_config c = cfg("sht3x");
        uint8_t data[6] = { 0x66, 0x66, 0, 0x33, 0x33, 0 };
        struct script_dev dev = { .dev = { &script_ops, 0x44 } };
        struct hal_sensor *s = NULL;
        struct reading out;
        uint64_t retry;

        data[2] = sht3x_crc8(data, 2);
        data[5] = sht3x_crc8(data + 3, 2);
        dev.read_data = data;
        dev.read_len = 6;
        board.dev = &dev.dev;

        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), 0);
        ck_assert_int_eq(read_full(s, &out), 1);
        ck_assert_near(out.value[0], 25.0, 1e-9);

        data[4] ^= 0x10;
        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), 0);
        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), -EBADMSG);
        /* The next call starts a new measurement rather than re-reading. */
        data[4] ^= 0x10;
        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), 0);
        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), 1);

        /* Short data: the chip stops after two bytes. */
        dev.read_len = 2;
        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), 0);
        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), -EIO);
        hal_sensor_free(s);

        /* A status word with a bad CRC: whatever this is, it is no SHT3x. */
        data[2] ^= 1;
        dev.read_len = 6;
        s = NULL;
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), -ENODEV);
        ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_bme280_short_block) {
        struct hal_sensor_config c = cfg("bme280");
        uint8_t calib[BME280_CALIB_LEN] = { 0x70, 0x6b, [6] = 0x7d, [7] = 0x8e };
        struct script_dev dev = { .dev = { &script_ops, 0x76 }, .smbus_byte = BME280_CHIP_ID };
        struct hal_sensor *s = NULL;

        /* The device answers the id, then returns fewer calibration bytes than asked. */
        dev.read_data = calib;
        dev.read_len = 10;
        board.dev = &dev.dev;
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), -EBADMSG);
        ck_assert_ptr_null(s);
        ck_assert_uint_gt(dev.transfers, 1);

        /* Wrong chip id from an unknown device. */
        dev.smbus_byte = 0x42;
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), -ENODEV);
}
END_TEST

/* A conversion that never finishes: a bounded number of polls, then a fresh start. */
START_TEST(test_bme280_stuck_measuring) {
        struct hal_sensor_config c = cfg("bme280");
        struct sim_chip *chip;
        struct script_dev dev = { .dev = { &script_ops, 0x76 } };
        uint8_t regs[256] = {};
        uint8_t calib[BME280_CALIB_LEN];
        struct hal_sensor *s = NULL;
        struct reading out;
        uint64_t retry = 0;
        unsigned polls = 0;
        int r;

        /* Borrow a plausible calibration block from the simulated chip. */
        ck_assert_int_eq(sim_chip_new(&c, &chip), 0);
        ck_assert_int_eq(i2c_read_i2c_block_data(sim_chip_i2c(chip), BME280_REG_CALIB_TP,
                                                 calib, BME280_CALIB_TP_LEN), BME280_CALIB_TP_LEN);
        ck_assert_int_eq(i2c_read_i2c_block_data(sim_chip_i2c(chip), BME280_REG_CALIB_H,
                                                 calib + BME280_CALIB_TP_LEN, BME280_CALIB_H_LEN),
                         BME280_CALIB_H_LEN);
        sim_chip_free(chip);

        regs[BME280_REG_ID] = BME280_CHIP_ID;
        regs[BME280_REG_STATUS] = BME280_STATUS_MEASURING;
        dev.regs = regs;
        dev.read_data = calib;
        dev.read_len = BME280_CALIB_TP_LEN;   /* the first block; H is read from the same buffer */
        board.dev = &dev.dev;
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), 0);

        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), 0);
        ck_assert_uint_ge(retry, 9300);    /* datasheet 9.1: 9.3 ms at x1 oversampling */
        while ((r = hal_sensor_read(s, &out, &retry)) == 0)
                ck_assert_uint_lt(++polls, 20);
        ck_assert_int_eq(r, -ETIMEDOUT);
        ck_assert_uint_ge(polls, 1);

        /* Starts over: the forced-mode trigger again, with the full wait. */
        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), 0);
        ck_assert_uint_ge(retry, 9300);
        hal_sensor_free(s);
}
END_TEST

START_TEST(test_file_failures) {
        struct hal_sensor_config c = cfg("ds18b20");
        struct hal_sensor *s = open_sim(&c);
        struct reading out;
        uint64_t retry;

        sim_chip_fail(board.chip, true);
        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), -EIO);
        sim_chip_fail(board.chip, false);
        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), 1);

        board.file_text = "72 01 4b 46 7f ff 0e 10 57 : crc=57 NO\n72 01 4b 46 7f ff 0e 10 57 t=23125\n";
        ck_assert_int_eq(hal_sensor_read(s, &out, &retry), -EBADMSG);
        hal_sensor_free(s);
}
END_TEST

START_TEST(test_drivers_known) {
        struct hal_sensor_config c = cfg("bme680");
        struct hal_sensor *s = NULL;
        const char *const known[] = { "sysfs", "ds18b20", "bme280", "bmp280", "sht3x", "bh1750", "ads1115" };

        for (size_t i = 0; i < ELEMENTSOF(known); i++) {
                ck_assert(hal_sensor_driver_known(known[i]));
                ck_assert_str_eq(sensor_driver_find(known[i])->name, known[i]);
        }
        ck_assert(!hal_sensor_driver_known("bme680"));
        ck_assert(!hal_sensor_driver_known(""));
        ck_assert(!hal_sensor_driver_known(NULL));
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), -EINVAL);
        ck_assert_int_eq(sim_chip_new(&c, &board.chip), -EINVAL);
        ck_assert_ptr_null(hal_sensor_free(NULL));
        ck_assert_ptr_null(sim_chip_free(NULL));
}
END_TEST

/* The walk stays within its bounds, is repeatable for a seed, and actually moves. */
START_TEST(test_sim_drift) {
        struct hal_sensor_config c = cfg("bme280");
        struct sim_chip *other = NULL;
        struct hal_sensor *s = open_sim(&c);
        unsigned seed = 42, seed2 = 42;
        double min_t = 1e9, max_t = -1e9;
        struct reading out, out2;
        struct hal_sensor *s2 = NULL;
        struct sim_chip *saved;

        ck_assert_int_eq(sim_chip_new(&c, &other), 0);
        for (unsigned i = 0; i < 2000; i++) {
                sim_chip_drift(board.chip, &seed);
                sim_chip_drift(other, &seed2);
                if (i % 100)
                        continue;
                ck_assert_int_eq(read_full(s, &out), 1);
                min_t = MIN(min_t, out.value[0]);
                max_t = MAX(max_t, out.value[0]);
                ck_assert(out.value[0] >= 16.5 - 0.01 && out.value[0] <= 26.5 + 0.01);
                ck_assert(out.value[1] >= 30.0 - 0.05 && out.value[1] <= 60.0 + 0.05);
                ck_assert(out.value[2] >= 998.25 - 0.01 && out.value[2] <= 1028.25 + 0.01);
        }
        ck_assert(max_t - min_t > 0.1);

        /* Same seed, same walk: read the twin chip through its own sensor. */
        saved = board.chip;
        board.chip = other;
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s2), 0);
        ck_assert_int_eq(read_full(s2, &out2), 1);
        board.chip = saved;
        ck_assert_int_eq(read_full(s, &out), 1);
        for (size_t i = 0; i < 3; i++)
                ck_assert_near(out.value[i], out2.value[i], 1e-9);

        ck_assert_str_eq(sim_chip_name(board.chip), "probe");
        ck_assert_ptr_null(sim_chip_i2c(NULL));
        hal_sensor_free(s2);
        hal_sensor_free(s);
        sim_chip_free(other);
}
END_TEST

/* the real backend's small pieces */

START_TEST(test_read_small_file) {
        char path[] = "/tmp/test-drivers-XXXXXX", buf[8];
        int fd;

        fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "48000\n", 6), 6);
        close(fd);

        ck_assert_int_eq(hal_read_small_file(path, buf, sizeof(buf)), 6);
        ck_assert_str_eq(buf, "48000\n");
        ck_assert_int_eq(hal_read_small_file(path, buf, 7), 6);
        ck_assert_int_eq(hal_read_small_file(path, buf, 6), -EFBIG);
        unlink(path);
        ck_assert_int_eq(hal_read_small_file(path, buf, sizeof(buf)), -ENOENT);
}
END_TEST


/* Sensor files that are no regular file would block the loop (a FIFO without a writer,
 * a character device) or never parse (a directory): refused by name, while a path that
 * does not exist yet is fine (the device may appear later). */
START_TEST(test_check_path) {
        char dir[] = "/tmp/test-drivers-XXXXXX", file[64], fifo[64], sub[64], gone[64], err[256];
        struct hal_sensor_config c = cfg("sysfs");
        struct hal_sensor *s = NULL;
        char buf[16];
        int fd;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(file, sizeof(file), "%s/temp", dir);
        snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
        snprintf(sub, sizeof(sub), "%s/dir", dir);
        snprintf(gone, sizeof(gone), "%s/gone", dir);
        fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "48000\n", 6), 6);
        close(fd);
        ck_assert_int_eq(mkfifo(fifo, 0600), 0);
        ck_assert_int_eq(mkdir(sub, 0700), 0);

        c.path = file;
        ck_assert_int_eq(hal_sensor_check_path(&c, err, sizeof(err)), 0);
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), 0);
        s = hal_sensor_free(s);
        c.path = gone;
        ck_assert_int_eq(hal_sensor_check_path(&c, err, sizeof(err)), 0);
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), 0);
        s = hal_sensor_free(s);

        c.path = fifo;
        ck_assert_int_eq(hal_sensor_check_path(&c, err, sizeof(err)), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, fifo));
        ck_assert_ptr_nonnull(strstr(err, "FIFO"));
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), -EINVAL);
        ck_assert_ptr_null(s);

        c.path = sub;
        ck_assert_int_eq(hal_sensor_check_path(&c, err, sizeof(err)), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "directory"));
        ck_assert_int_eq(hal_sensor_open(&test_hal, &c, &s), -EINVAL);

        c.path = "/dev/null";
        ck_assert_int_eq(hal_sensor_check_path(&c, err, sizeof(err)), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "character device"));

        /* Sensors without a file have nothing to check; a 1-Wire device that is not
         * plugged in yet is a missing path. */
        c = cfg("bme280");
        ck_assert_int_eq(hal_sensor_check_path(&c, err, sizeof(err)), 0);
        c = cfg("ds18b20");
        ck_assert_int_eq(hal_sensor_check_path(&c, err, sizeof(err)), 0);

        /* A path that turns into a FIFO after the sensor was opened: the read is
         * refused instead of waiting for a writer forever. */
        ck_assert_int_eq(hal_read_small_file(fifo, buf, sizeof(buf)), -EINVAL);
        ck_assert_int_eq(hal_read_small_file(sub, buf, sizeof(buf)), -EINVAL);

        ck_assert_int_eq(unlink(file), 0);
        ck_assert_int_eq(unlink(fifo), 0);
        ck_assert_int_eq(rmdir(sub), 0);
        ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_i2c_dev_open_missing) {
        struct i2c_dev *dev = NULL;

        ck_assert_int_eq(i2c_dev_open("/nonexistent/i2c-9", 0x76, &dev), -ENOENT);
        ck_assert_int_eq(i2c_dev_open("/dev/i2c-1", 0x80, &dev), -EINVAL);
        ck_assert_ptr_null(dev);
        ck_assert_ptr_null(i2c_dev_close(NULL));
}
END_TEST

/* The SMBus helpers against a simulated ADS1115: words swap to big-endian. */
START_TEST(test_i2c_helpers) {
        struct hal_sensor_config c = cfg("ads1115");
        struct i2c_dev *dev;
        uint8_t buf[3];

        ck_assert_int_eq(sim_chip_new(&c, &board.chip), 0);
        dev = sim_chip_i2c(board.chip);
        ck_assert_ptr_nonnull(dev);
        /* Power-on values: config 0x8583, hi_thresh 0x7FFF. */
        ck_assert_int_eq(i2c_read_word_data_be(dev, 1), 0x8583);
        ck_assert_int_eq(i2c_read_word_data(dev, 1), 0x8385);
        ck_assert_int_eq(i2c_write_word_data_be(dev, 2, 0x1234), 0);
        ck_assert_int_eq(i2c_read_word_data_be(dev, 2), 0x1234);
        /* The same register through plain I2C: pointer write, then a bare read. */
        ck_assert_int_eq(i2c_write(dev, (const uint8_t[]) { 3 }, 1), 0);
        ck_assert_int_eq(i2c_read(dev, buf, 2), 0);
        ck_assert_uint_eq(buf[0], 0x7f);
        ck_assert_uint_eq(buf[1], 0xff);
        ck_assert_int_eq(i2c_read_i2c_block_data(dev, 0, buf, 0), -EINVAL);
        ck_assert_int_eq(i2c_read_i2c_block_data(dev, 0, buf, 33), -EINVAL);
        sim_chip_fail(board.chip, true);
        ck_assert_int_eq(i2c_read_word_data_be(dev, 1), -EIO);
        ck_assert_int_eq(i2c_read(dev, buf, 2), -EIO);
        /* The chip's face is owned by the chip: closing it does nothing. */
        ck_assert_ptr_null(i2c_dev_close(dev));
}
END_TEST

static Suite *drivers_suite(void) {
        Suite *s = suite_create("drivers");
        TCase *tc;

        tc = tcase_create("decode");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_bme280_parse_calib);
        tcase_add_test(tc, test_bme280_worked_example);
        tcase_add_test(tc, test_bme280_humidity);
        tcase_add_test(tc, test_bme280_bad_data);
        tcase_add_test(tc, test_sht3x_crc);
        tcase_add_test(tc, test_sht3x_decode);
        tcase_add_test(tc, test_bh1750_decode);
        tcase_add_test(tc, test_ads1115_decode);
        tcase_add_test(tc, test_ds18b20_decode);
        tcase_add_test(tc, test_ds18b20_bad);
        tcase_add_test(tc, test_sysfs_parse);
        suite_add_tcase(s, tc);

        tc = tcase_create("roundtrip");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_roundtrip_bme280);
        tcase_add_test(tc, test_roundtrip_bmp280);
        tcase_add_test(tc, test_roundtrip_sht3x);
        tcase_add_test(tc, test_roundtrip_bh1750);
        tcase_add_test(tc, test_roundtrip_ads1115);
        tcase_add_test(tc, test_ads1115_bad_config);
        tcase_add_test(tc, test_roundtrip_ds18b20);
        tcase_add_test(tc, test_ds18b20_bad_device);
        tcase_add_test(tc, test_roundtrip_sysfs);
        tcase_add_test(tc, test_sim_drift);
        suite_add_tcase(s, tc);

        tc = tcase_create("failures");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_loop_test(tc, test_no_ack, 0, ELEMENTSOF(i2c_drivers));
        tcase_add_loop_test(tc, test_power_loss, 0, ELEMENTSOF(i2c_drivers));
        tcase_add_test(tc, test_wrong_chip);
        tcase_add_test(tc, test_wrong_address);
        tcase_add_test(tc, test_sht3x_crc_on_bus);
        tcase_add_test(tc, test_bme280_short_block);
        tcase_add_test(tc, test_bme280_stuck_measuring);
        tcase_add_test(tc, test_file_failures);
        tcase_add_test(tc, test_drivers_known);
        suite_add_tcase(s, tc);

        tc = tcase_create("backend");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_read_small_file);
        tcase_add_test(tc, test_check_path);
        tcase_add_test(tc, test_i2c_dev_open_missing);
        tcase_add_test(tc, test_i2c_helpers);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(drivers_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
