/* SPDX-License-Identifier: MIT */
/* Simulated sensor chips (see sim-chips.h). Each I2C model keeps the registers or
 * command state of the real part and answers SMBus and plain transfers the way the
 * chip does on the wire, so the real drivers in hal/drivers/ run against it
 * unchanged. Values set from outside are turned into the raw codes the chip would
 * produce: by the datasheet's conversion formula run backwards where it can be, and
 * for the BME280 by searching the ADC code whose compensated value comes closest
 * (the compensation is monotonic in each ADC value). Conversions finish at once: the
 * drivers' waits are for real hardware and cost nothing here. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ads1115.h"
#include "bh1750.h"
#include "bme280.h"
#include "ds18b20.h"
#include "i2c-bus.h"
#include "log.h"
#include "macro.h"
#include "sht3x.h"
#include "sim-chips.h"

enum sim_model {
        SIM_BME280,
        SIM_BMP280,
        SIM_SHT3X,
        SIM_BH1750,
        SIM_ADS1115,
        SIM_DS18B20,
        SIM_SYSFS,
};

/* A quantity the chip measures: what it can report, where it starts, and how far
 * the demo's random walk may take it from there. */
struct sim_quantity {
        const char *name;
        double min, max;
        double initial;
        double drift_span, drift_step;
};

struct sim_model_info {
        const char *driver;
        enum sim_model model;
        uint8_t default_address;
        const struct sim_quantity *quantities;
        size_t n_quantities;
};

struct sim_chip {
        struct i2c_dev i2c;                  /* first: the I2C ops receive it */
        const struct sim_model_info *info;
        char *name;
        char *path;                          /* file devices */
        char *quantity;                      /* sysfs: the configured quantity name */
        double scale, offset;                /* sysfs */
        bool failing;
        bool off;                            /* powered off: silent like a failing chip */
        bool smbus_only;                     /* behind an adapter that speaks SMBus only */

        struct sim_quantity quantities[READING_MAX];
        size_t n_quantities;
        double value[READING_MAX];

        /* Chips with 8-bit register addresses (BME280) */
        uint8_t regs[256];
        uint8_t pointer;
        struct bme280_calib calib;
        int32_t adc_t, adc_p, adc_h;

        /* SHT3x: the bytes the next read returns */
        uint8_t sht_out[SHT3X_DATA_LEN];
        size_t sht_out_len;

        /* BH1750 */
        bool bh_powered;
        uint8_t bh_mode;                     /* last measurement opcode, 0: none */
        uint16_t bh_data;

        /* ADS1115: conversion, config, lo_thresh, hi_thresh */
        uint16_t ads_regs[4];
        uint8_t ads_pointer;
};

/* quantities and models */

static const struct sim_quantity bme280_quantities[] = {
        { "temperature", -40.0, 85.0, 21.5, 5.0, 0.05 },
        { "humidity", 0.0, 100.0, 45.0, 15.0, 0.2 },
        { "pressure", 300.0, 1100.0, 1013.25, 15.0, 0.1 },
};
static const struct sim_quantity bmp280_quantities[] = {
        { "temperature", -40.0, 85.0, 21.5, 5.0, 0.05 },
        { "pressure", 300.0, 1100.0, 1013.25, 15.0, 0.1 },
};
static const struct sim_quantity sht3x_quantities[] = {
        { "temperature", -40.0, 125.0, 21.5, 5.0, 0.05 },
        { "humidity", 0.0, 100.0, 45.0, 15.0, 0.2 },
};
static const struct sim_quantity bh1750_quantities[] = {
        { "illuminance", 0.0, 65535.0 / 1.2, 120.0, 100.0, 5.0 },
};
/* Inputs may go from 0.3 V below ground to 5.5 V (VDD max, datasheet 7.1); codes
 * saturate beyond the programmed full-scale range as on the chip. */
static const struct sim_quantity ads1115_quantities[] = {
        { "voltage0", -0.3, 5.5, 1.2, 0.2, 0.005 },
        { "voltage1", -0.3, 5.5, 0.8, 0.2, 0.005 },
        { "voltage2", -0.3, 5.5, 2.5, 0.2, 0.005 },
        { "voltage3", -0.3, 5.5, 3.3, 0.2, 0.005 },
};
static const struct sim_quantity ds18b20_quantities[] = {
        { "temperature", -55.0, 125.0, 21.5, 5.0, 0.0625 },
};

static const struct sim_model_info models[] = {
        { "bme280", SIM_BME280, BME280_DEFAULT_ADDRESS, bme280_quantities, ELEMENTSOF(bme280_quantities) },
        { "bmp280", SIM_BMP280, BME280_DEFAULT_ADDRESS, bmp280_quantities, ELEMENTSOF(bmp280_quantities) },
        { "sht3x", SIM_SHT3X, SHT3X_DEFAULT_ADDRESS, sht3x_quantities, ELEMENTSOF(sht3x_quantities) },
        { "bh1750", SIM_BH1750, BH1750_DEFAULT_ADDRESS, bh1750_quantities, ELEMENTSOF(bh1750_quantities) },
        { "ads1115", SIM_ADS1115, ADS1115_DEFAULT_ADDRESS, ads1115_quantities, ELEMENTSOF(ads1115_quantities) },
        { "ds18b20", SIM_DS18B20, 0, ds18b20_quantities, ELEMENTSOF(ds18b20_quantities) },
        { "sysfs", SIM_SYSFS, 0, NULL, 0 },
};

static struct sim_chip *chip_of(struct i2c_dev *dev) {
        return (struct sim_chip *) dev;
}

/* Plain messages must be addressed to the chip; anything else is not ACKed. */
static bool chip_silent(const struct sim_chip *chip) {
        return chip->failing || chip->off;
}

static int check_msgs(const struct sim_chip *chip, const struct i2c_msg *msgs, size_t n) {
        /* An SMBus-only adapter (i2c-stub, many SoC controllers) has no I2C_RDWR: the
         * kernel refuses the transfer before any byte reaches the bus. */
        if (chip->smbus_only)
                return -EOPNOTSUPP;
        if (chip_silent(chip))
                return -EIO;
        for (size_t i = 0; i < n; i++)
                if (msgs[i].addr != chip->i2c.address || (msgs[i].len > 0 && !msgs[i].buf))
                        return -ENXIO;
        return 0;
}

static void sim_close(struct i2c_dev *dev) {
        /* The chip owns its I2C face. */
}

static uint16_t swap16(uint16_t v) {
        return (uint16_t) ((v >> 8) | (v << 8));
}

/* BME280 / BMP280 */

/* Trimming values: temperature and pressure from the BMP280 datasheet's worked
 * example (section 3.12), humidity typical of production BME280 parts. */
static const struct bme280_calib sim_bme280_calib = {
        .t1 = 27504, .t2 = 26435, .t3 = -1000,
        .p1 = 36477, .p2 = -10685, .p3 = 3024, .p4 = 2855, .p5 = 140,
        .p6 = -7, .p7 = 15500, .p8 = -14600, .p9 = 6000,
        .h1 = 75, .h2 = 362, .h3 = 0, .h4 = 313, .h5 = 50, .h6 = 30,
        .has_humidity = true,
};

static void put_le16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
}

static void bme_store_calib(struct sim_chip *chip) {
        const struct bme280_calib *c = &chip->calib;
        uint8_t *tp = chip->regs + BME280_REG_CALIB_TP, *h = chip->regs + BME280_REG_CALIB_H;

        put_le16(tp + 0, c->t1);
        put_le16(tp + 2, (uint16_t) c->t2);
        put_le16(tp + 4, (uint16_t) c->t3);
        put_le16(tp + 6, c->p1);
        put_le16(tp + 8, (uint16_t) c->p2);
        put_le16(tp + 10, (uint16_t) c->p3);
        put_le16(tp + 12, (uint16_t) c->p4);
        put_le16(tp + 14, (uint16_t) c->p5);
        put_le16(tp + 16, (uint16_t) c->p6);
        put_le16(tp + 18, (uint16_t) c->p7);
        put_le16(tp + 20, (uint16_t) c->p8);
        put_le16(tp + 22, (uint16_t) c->p9);
        if (!c->has_humidity)
                return;
        tp[25] = c->h1;
        put_le16(h + 0, (uint16_t) c->h2);
        h[2] = c->h3;
        h[3] = (uint8_t) ((uint16_t) c->h4 >> 4);
        h[4] = (uint8_t) ((c->h4 & 0x0f) | (c->h5 & 0x0f) << 4);
        h[5] = (uint8_t) ((uint16_t) c->h5 >> 4);
        h[6] = (uint8_t) c->h6;
}

typedef double (*compensate_fn)(const struct sim_chip *chip, int32_t adc);

static double bme_t(const struct sim_chip *chip, int32_t adc) {
        return bme280_compensate_temperature(&chip->calib, adc, NULL);
}

static int32_t bme_t_fine(const struct sim_chip *chip) {
        int32_t t_fine;

        (void) bme280_compensate_temperature(&chip->calib, chip->adc_t, &t_fine);
        return t_fine;
}

/* Pressure falls as its ADC code rises: search on the negated value. */
static double bme_p_neg(const struct sim_chip *chip, int32_t adc) {
        return -bme280_compensate_pressure(&chip->calib, adc, bme_t_fine(chip)) / 100.0;
}

static double bme_h(const struct sim_chip *chip, int32_t adc) {
        return bme280_compensate_humidity(&chip->calib, adc, bme_t_fine(chip));
}

/* The code in [lo, hi] whose value under the rising function f is closest to target. */
static int32_t bisect(const struct sim_chip *chip, compensate_fn f, int32_t lo, int32_t hi, double target) {
        int32_t a = lo, b = hi;

        while (a < b) {
                int32_t mid = a + (b - a) / 2;

                if (f(chip, mid) < target)
                        a = mid + 1;
                else
                        b = mid;
        }
        if (a > lo && fabs(f(chip, a - 1) - target) <= fabs(f(chip, a) - target))
                return a - 1;
        return a;
}

static int32_t avoid(int32_t code, int32_t skipped) {
        /* The "measurement skipped" code would make the driver drop the reading. */
        return code == skipped ? code + 1 : code;
}

static void bme_update_codes(struct sim_chip *chip) {
        bool bme = chip->info->model == SIM_BME280;

        chip->adc_t = avoid(bisect(chip, bme_t, 0, 0xfffff, chip->value[0]), BME280_ADC_TP_SKIPPED);
        chip->adc_p = avoid(bisect(chip, bme_p_neg, 0, 0xfffff, -chip->value[bme ? 2 : 1]),
                            BME280_ADC_TP_SKIPPED);
        if (bme)
                chip->adc_h = avoid(bisect(chip, bme_h, 0, 0xffff, chip->value[1]), BME280_ADC_H_SKIPPED);
}

static void bme_set_data(struct sim_chip *chip, bool skipped) {
        uint8_t *d = chip->regs + BME280_REG_DATA;
        uint8_t ctrl = chip->regs[BME280_REG_CTRL_MEAS];
        uint32_t p = chip->adc_p, t = chip->adc_t, h = chip->adc_h;

        /* An oversampling setting of 0 skips that measurement (datasheet 3.3). */
        if (skipped || !(ctrl >> 2 & 7))
                p = BME280_ADC_TP_SKIPPED;
        if (skipped || !(ctrl >> 5 & 7))
                t = BME280_ADC_TP_SKIPPED;
        if (skipped || !(chip->regs[BME280_REG_CTRL_HUM] & 7) || chip->info->model != SIM_BME280)
                h = BME280_ADC_H_SKIPPED;

        d[0] = (uint8_t) (p >> 12);
        d[1] = (uint8_t) (p >> 4);
        d[2] = (uint8_t) (p << 4);
        d[3] = (uint8_t) (t >> 12);
        d[4] = (uint8_t) (t >> 4);
        d[5] = (uint8_t) (t << 4);
        if (chip->info->model == SIM_BME280) {
                d[6] = (uint8_t) (h >> 8);
                d[7] = (uint8_t) h;
        }
}

static void bme_reset(struct sim_chip *chip) {
        chip->regs[BME280_REG_CTRL_HUM] = 0;
        chip->regs[BME280_REG_STATUS] = 0;
        chip->regs[BME280_REG_CTRL_MEAS] = 0;
        chip->regs[BME280_REG_CONFIG] = 0;
        bme_set_data(chip, /* skipped= */ true);
}

static void bme_write_reg(struct sim_chip *chip, uint8_t reg, uint8_t value) {
        switch (reg) {
        case BME280_REG_RESET:
                if (value == BME280_RESET_WORD)
                        bme_reset(chip);
                return;
        case BME280_REG_CTRL_HUM:
                if (chip->info->model == SIM_BME280)
                        chip->regs[reg] = value & 7;
                return;
        case BME280_REG_CONFIG:
                chip->regs[reg] = value;
                return;
        case BME280_REG_CTRL_MEAS:
                chip->regs[reg] = value;
                /* Forced mode (01 or 10) measures once and returns to sleep. */
                if ((value & 3) == 1 || (value & 3) == 2) {
                        bme_set_data(chip, false);
                        chip->regs[reg] = value & ~3;
                }
                return;
        default:
                return;   /* read-only */
        }
}

static uint8_t bme_read_reg(struct sim_chip *chip, uint8_t reg) {
        /* In normal mode the data registers always hold a fresh conversion. */
        if (reg == BME280_REG_DATA && (chip->regs[BME280_REG_CTRL_MEAS] & 3) == 3)
                bme_set_data(chip, false);
        return chip->regs[reg];
}

static int bme_smbus(struct i2c_dev *dev, uint8_t read_write, uint8_t command,
                     uint32_t size, union i2c_smbus_data *data) {
        struct sim_chip *chip = chip_of(dev);

        if (chip_silent(chip))
                return -EIO;

        switch (size) {
        case I2C_SMBUS_QUICK:
                return 0;
        case I2C_SMBUS_BYTE:
                if (read_write == I2C_SMBUS_WRITE)
                        chip->pointer = command;
                else
                        data->byte = bme_read_reg(chip, chip->pointer++);
                return 0;
        case I2C_SMBUS_BYTE_DATA:
                if (read_write == I2C_SMBUS_WRITE)
                        bme_write_reg(chip, command, data->byte);
                else
                        data->byte = bme_read_reg(chip, command);
                return 0;
        case I2C_SMBUS_WORD_DATA:
                if (read_write == I2C_SMBUS_WRITE) {
                        bme_write_reg(chip, command, (uint8_t) data->word);
                        bme_write_reg(chip, (uint8_t) (command + 1), (uint8_t) (data->word >> 8));
                } else {
                        uint8_t lo = bme_read_reg(chip, command);

                        data->word = (uint16_t) (lo | chip->regs[(uint8_t) (command + 1)] << 8);
                }
                return 0;
        case I2C_SMBUS_I2C_BLOCK_DATA:
                if (read_write == I2C_SMBUS_WRITE || data->block[0] == 0 ||
                    data->block[0] > I2C_SMBUS_BLOCK_MAX)
                        return -EINVAL;
                /* Auto-increment from `command`, one conversion's shadowed registers. */
                data->block[1] = bme_read_reg(chip, command);
                for (unsigned i = 1; i < data->block[0]; i++)
                        data->block[1 + i] = chip->regs[(uint8_t) (command + i)];
                return 0;
        default:
                return -EOPNOTSUPP;
        }
}

static int bme_transfer(struct i2c_dev *dev, struct i2c_msg *msgs, size_t n) {
        struct sim_chip *chip = chip_of(dev);
        int r;

        r = check_msgs(chip, msgs, n);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                struct i2c_msg *m = &msgs[i];

                if (m->flags & I2C_M_RD) {
                        for (unsigned j = 0; j < m->len; j++)
                                m->buf[j] = j == 0 ? bme_read_reg(chip, chip->pointer++)
                                                   : chip->regs[chip->pointer++];
                } else if (m->len == 1) {
                        chip->pointer = m->buf[0];
                } else {
                        /* Writes are register/value pairs (datasheet 6.2.1). */
                        for (unsigned j = 0; j + 1 < m->len; j += 2)
                                bme_write_reg(chip, m->buf[j], m->buf[j + 1]);
                }
        }
        return 0;
}

static const struct i2c_dev_ops bme_ops = {
        .smbus = bme_smbus,
        .transfer = bme_transfer,
        .close = sim_close,
};

static void bme_setup(struct sim_chip *chip) {
        chip->calib = sim_bme280_calib;
        if (chip->info->model == SIM_BMP280) {
                chip->calib.has_humidity = false;
                chip->regs[BME280_REG_ID] = BMP280_CHIP_ID;
        } else
                chip->regs[BME280_REG_ID] = BME280_CHIP_ID;
        bme_store_calib(chip);
        bme_reset(chip);
}

/* SHT3x */

static uint16_t clamp_code(double v) {
        long code = lround(v);

        return (uint16_t) (code < 0 ? 0 : code > 0xffff ? 0xffff : code);
}

static void sht_put_word(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) (v >> 8);
        p[1] = (uint8_t) v;
        p[2] = sht3x_crc8(p, 2);
}

static int sht_command(struct sim_chip *chip, uint16_t cmd) {
        chip->sht_out_len = 0;

        /* Single-shot measurements at any repeatability, with or without stretching. */
        if ((cmd >> 8) == 0x24 || (cmd >> 8) == 0x2c) {
                /* Datasheet 4.13, inverted. */
                sht_put_word(chip->sht_out, clamp_code((chip->value[0] + 45.0) * 65535.0 / 175.0));
                sht_put_word(chip->sht_out + 3, clamp_code(chip->value[1] * 65535.0 / 100.0));
                chip->sht_out_len = SHT3X_DATA_LEN;
                return 0;
        }
        switch (cmd) {
        case SHT3X_CMD_READ_STATUS:
                sht_put_word(chip->sht_out, 0x0000);
                chip->sht_out_len = 3;
                return 0;
        case SHT3X_CMD_SOFT_RESET:
        case 0x3041:                    /* clear status */
                return 0;
        default:
                return -EIO;            /* the chip NACKs commands it does not know */
        }
}

static int sht_transfer(struct i2c_dev *dev, struct i2c_msg *msgs, size_t n) {
        struct sim_chip *chip = chip_of(dev);
        int r;

        r = check_msgs(chip, msgs, n);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                struct i2c_msg *m = &msgs[i];

                if (m->flags & I2C_M_RD) {
                        /* Nothing to hand out (no command, or already read): NACK. */
                        if (chip->sht_out_len == 0 || m->len > chip->sht_out_len)
                                return -EIO;
                        memcpy(m->buf, chip->sht_out, m->len);
                        chip->sht_out_len = 0;
                } else {
                        if (m->len != 2)
                                return -EIO;
                        r = sht_command(chip, (uint16_t) (m->buf[0] << 8 | m->buf[1]));
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int sht_smbus(struct i2c_dev *dev, uint8_t read_write, uint8_t command,
                     uint32_t size, union i2c_smbus_data *data) {
        struct sim_chip *chip = chip_of(dev);

        if (chip_silent(chip))
                return -EIO;
        if (size == I2C_SMBUS_QUICK)
                return 0;
        /* 16-bit commands and bare reads do not fit SMBus transactions. */
        return -EIO;
}

static const struct i2c_dev_ops sht_ops = {
        .smbus = sht_smbus,
        .transfer = sht_transfer,
        .close = sim_close,
};

/* BH1750 */

static uint16_t bh_code(const struct sim_chip *chip) {
        /* Datasheet p. 11 inverted: count = lux * 1.2 at the default sensitivity. */
        return clamp_code(chip->value[0] * 1.2);
}

static int bh_opcode(struct sim_chip *chip, uint8_t op) {
        switch (op) {
        case BH1750_POWER_DOWN:
                chip->bh_powered = false;
                return 0;
        case BH1750_POWER_ON:
                chip->bh_powered = true;
                return 0;
        case BH1750_RESET:
                /* Only accepted while powered on (datasheet p. 5). */
                if (chip->bh_powered)
                        chip->bh_data = 0;
                return 0;
        case 0x10: case 0x11: case 0x13:        /* continuous modes */
        case 0x20: case 0x21: case 0x23:        /* one-time modes */
                chip->bh_powered = true;
                chip->bh_mode = op;
                chip->bh_data = bh_code(chip);
                if (op & 0x20) {
                        /* One-time: measure once, then power down. */
                        chip->bh_powered = false;
                        chip->bh_mode = 0;
                }
                return 0;
        default:
                /* Measurement-time register writes (01000_xxx, 011_xxxxx) change the
                 * sensitivity, which this model does not; other opcodes are NACKed. */
                if ((op & 0xf8) == 0x40 || (op & 0xe0) == 0x60)
                        return 0;
                return -EIO;
        }
}

static int bh_smbus(struct i2c_dev *dev, uint8_t read_write, uint8_t command,
                    uint32_t size, union i2c_smbus_data *data) {
        struct sim_chip *chip = chip_of(dev);

        if (chip_silent(chip))
                return -EIO;
        if (size == I2C_SMBUS_QUICK)
                return 0;
        if (size == I2C_SMBUS_BYTE && read_write == I2C_SMBUS_WRITE)
                return bh_opcode(chip, command);
        return -EIO;
}

static int bh_transfer(struct i2c_dev *dev, struct i2c_msg *msgs, size_t n) {
        struct sim_chip *chip = chip_of(dev);
        int r;

        r = check_msgs(chip, msgs, n);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                struct i2c_msg *m = &msgs[i];

                if (m->flags & I2C_M_RD) {
                        if (chip->bh_mode && chip->bh_powered)
                                chip->bh_data = bh_code(chip);
                        for (unsigned j = 0; j < m->len; j++)
                                m->buf[j] = j == 0 ? (uint8_t) (chip->bh_data >> 8) :
                                            j == 1 ? (uint8_t) chip->bh_data : 0xff;
                } else {
                        for (unsigned j = 0; j < m->len; j++) {
                                r = bh_opcode(chip, m->buf[j]);
                                if (r < 0)
                                        return r;
                        }
                }
        }
        return 0;
}

static const struct i2c_dev_ops bh_ops = {
        .smbus = bh_smbus,
        .transfer = bh_transfer,
        .close = sim_close,
};

/* ADS1115 */

static double ads_input(const struct sim_chip *chip, unsigned mux) {
        /* Datasheet 9.6.3: MUX 000..011 differential, 100..111 single-ended. */
        switch (mux) {
        case 0: return chip->value[0] - chip->value[1];
        case 1: return chip->value[0] - chip->value[3];
        case 2: return chip->value[1] - chip->value[3];
        case 3: return chip->value[2] - chip->value[3];
        default: return chip->value[mux - 4];
        }
}

static void ads_convert(struct sim_chip *chip) {
        uint16_t config = chip->ads_regs[ADS1115_REG_CONFIG];
        unsigned mux = (config & ADS1115_CONFIG_MUX_MASK) >> ADS1115_CONFIG_MUX_SHIFT;
        unsigned pga = (config & ADS1115_CONFIG_PGA_MASK) >> ADS1115_CONFIG_PGA_SHIFT;
        long code = lround(ads_input(chip, mux) * 32768.0 / ads1115_full_scale(pga));

        code = code < -32768 ? -32768 : code > 32767 ? 32767 : code;
        chip->ads_regs[ADS1115_REG_CONVERSION] = (uint16_t) (int16_t) code;
}

static void ads_write_reg(struct sim_chip *chip, uint8_t reg, uint16_t value) {
        switch (reg & 3) {
        case ADS1115_REG_CONVERSION:
                return;   /* read-only */
        case ADS1115_REG_CONFIG:
                chip->ads_regs[ADS1115_REG_CONFIG] = value;
                /* A single-shot conversion finishes at once; OS reads 1 (idle) then. */
                if (value & ADS1115_CONFIG_MODE_SINGLE) {
                        if (value & ADS1115_CONFIG_OS)
                                ads_convert(chip);
                        chip->ads_regs[ADS1115_REG_CONFIG] |= ADS1115_CONFIG_OS;
                }
                return;
        default:
                chip->ads_regs[reg & 3] = value;
                return;
        }
}

static uint16_t ads_read_reg(struct sim_chip *chip, uint8_t reg) {
        /* Continuous mode: the conversion register follows the input. */
        if ((reg & 3) == ADS1115_REG_CONVERSION &&
            !(chip->ads_regs[ADS1115_REG_CONFIG] & ADS1115_CONFIG_MODE_SINGLE))
                ads_convert(chip);
        return chip->ads_regs[reg & 3];
}

static int ads_smbus(struct i2c_dev *dev, uint8_t read_write, uint8_t command,
                     uint32_t size, union i2c_smbus_data *data) {
        struct sim_chip *chip = chip_of(dev);

        if (chip_silent(chip))
                return -EIO;
        /* The pointer register has two bits; other register addresses are NACKed. */
        if (size != I2C_SMBUS_QUICK && size != I2C_SMBUS_BYTE && command > 3)
                return -EIO;

        switch (size) {
        case I2C_SMBUS_QUICK:
                return 0;
        case I2C_SMBUS_BYTE:
                if (read_write == I2C_SMBUS_WRITE) {
                        if (command > 3)
                                return -EIO;
                        chip->ads_pointer = command;
                } else
                        data->byte = (uint8_t) (ads_read_reg(chip, chip->ads_pointer) >> 8);
                return 0;
        case I2C_SMBUS_WORD_DATA:
                /* SMBus sends the low byte of the word first; the chip takes the first
                 * byte as the register's high byte. */
                chip->ads_pointer = command;
                if (read_write == I2C_SMBUS_WRITE)
                        ads_write_reg(chip, command, swap16(data->word));
                else
                        data->word = swap16(ads_read_reg(chip, command));
                return 0;
        default:
                return -EIO;
        }
}

static int ads_transfer(struct i2c_dev *dev, struct i2c_msg *msgs, size_t n) {
        struct sim_chip *chip = chip_of(dev);
        int r;

        r = check_msgs(chip, msgs, n);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                struct i2c_msg *m = &msgs[i];

                if (m->flags & I2C_M_RD) {
                        uint16_t v = ads_read_reg(chip, chip->ads_pointer);

                        for (unsigned j = 0; j < m->len; j++)
                                m->buf[j] = j == 0 ? (uint8_t) (v >> 8) : j == 1 ? (uint8_t) v : 0xff;
                } else {
                        if (m->len == 0 || m->buf[0] > 3 || m->len == 2 || m->len > 3)
                                return -EIO;
                        chip->ads_pointer = m->buf[0];
                        if (m->len == 3)
                                ads_write_reg(chip, m->buf[0], (uint16_t) (m->buf[1] << 8 | m->buf[2]));
                }
        }
        return 0;
}

static const struct i2c_dev_ops ads_ops = {
        .smbus = ads_smbus,
        .transfer = ads_transfer,
        .close = sim_close,
};

static void ads_setup(struct sim_chip *chip) {
        /* Power-on register values, datasheet 9.6. */
        chip->ads_regs[ADS1115_REG_CONVERSION] = 0x0000;
        chip->ads_regs[ADS1115_REG_CONFIG] = 0x8583;
        chip->ads_regs[2] = 0x8000;
        chip->ads_regs[3] = 0x7fff;
}

/* file devices */

static int ds18b20_text(const struct sim_chip *chip, char *buf, size_t size) {
        uint8_t pad[DS18B20_SCRATCHPAD_LEN];
        char hex[DS18B20_SCRATCHPAD_LEN * 3 + 1];
        int16_t raw = (int16_t) lround(chip->value[0] * 16.0);
        int n;

        /* The scratchpad of datasheet table 1 (12-bit resolution), then what the
         * kernel's w1_therm prints for it. */
        pad[0] = (uint8_t) raw;
        pad[1] = (uint8_t) ((uint16_t) raw >> 8);
        pad[2] = 0x4b;
        pad[3] = 0x46;
        pad[4] = 0x7f;
        pad[5] = 0xff;
        pad[6] = 0x0c;
        pad[7] = 0x10;
        pad[8] = ds18b20_crc8(pad, 8);
        for (size_t i = 0; i < DS18B20_SCRATCHPAD_LEN; i++)
                snprintf(hex + 3 * i, 4, "%02x ", pad[i]);

        n = snprintf(buf, size, "%s: crc=%02x YES\n%st=%d\n", hex, pad[8], hex, raw * 1000 / 16);
        if (n < 0)
                return -EIO;
        if ((size_t) n >= size)
                return -EFBIG;
        return n;
}

static double sysfs_scale(const struct sim_chip *chip) {
        return chip->scale != 0.0 ? chip->scale : 1.0;
}

static int sysfs_text(const struct sim_chip *chip, char *buf, size_t size) {
        long long raw = llround((chip->value[0] - chip->offset) / sysfs_scale(chip));
        int n;

        n = snprintf(buf, size, "%lld\n", raw);
        if (n < 0)
                return -EIO;
        if ((size_t) n >= size)
                return -EFBIG;
        return n;
}

int sim_chip_read_file(struct sim_chip *chip, const char *path, char *buf, size_t size) {
        if (!chip || !path || !buf || size == 0)
                return -EINVAL;
        if (!chip->path || !streq(chip->path, path))
                return -ENOENT;
        if (chip->failing)
                return -EIO;

        if (chip->info->model == SIM_DS18B20)
                return ds18b20_text(chip, buf, size);
        return sysfs_text(chip, buf, size);
}

/* the chip */

static const struct sim_model_info *model_find(const char *driver) {
        for (size_t i = 0; i < ELEMENTSOF(models); i++)
                if (streq_ptr(models[i].driver, driver))
                        return &models[i];
        return NULL;
}

struct sim_chip *sim_chip_free(struct sim_chip *chip) {
        if (!chip)
                return NULL;
        free(chip->name);
        free(chip->path);
        free(chip->quantity);
        return mfree(chip);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct sim_chip *, sim_chip_free);

static int strdup_opt(const char *s, char **ret) {
        *ret = NULL;
        if (s && !(*ret = strdup(s)))
                return -ENOMEM;
        return 0;
}

/* Re-derives the raw codes after a value changed. */
static void chip_update(struct sim_chip *chip) {
        switch (chip->info->model) {
        case SIM_BME280:
        case SIM_BMP280:
                bme_update_codes(chip);
                /* Normal mode would show it at the next conversion; forced mode at the
                 * next trigger. */
                break;
        default:
                /* The other models derive their codes when asked. */
                break;
        }
}

static int sysfs_setup(struct sim_chip *chip, const struct hal_sensor_config *config) {
        bool temperature = !config->quantity || streq(config->quantity, "temperature");
        double initial = temperature ? 48.0 : 0.0;
        double span = temperature ? 8.0 : 1.0;
        double scale = sysfs_scale(chip);
        /* What a file of 32-bit integers (sysfs' usual attribute) can express. */
        double lo = (double) INT32_MIN * fabs(scale) + chip->offset;
        double hi = (double) INT32_MAX * fabs(scale) + chip->offset;

        if (!config->path)
                return -EINVAL;
        if (strdup_opt(config->path, &chip->path) < 0 ||
            strdup_opt(config->quantity ? config->quantity : "value", &chip->quantity) < 0)
                return -ENOMEM;

        chip->quantities[0] = (struct sim_quantity) {
                .name = chip->quantity,
                .min = lo,
                .max = hi,
                .initial = initial,
                .drift_span = span,
                .drift_step = span / 40.0,
        };
        chip->n_quantities = 1;
        return 0;
}

int sim_chip_new(const struct hal_sensor_config *config, struct sim_chip **ret) {
        _cleanup_(sim_chip_freep) struct sim_chip *chip = NULL;
        const struct sim_model_info *info;
        int r;

        if (!config || !ret)
                return -EINVAL;
        info = model_find(config->driver);
        if (!info)
                return -EINVAL;

        chip = calloc(1, sizeof(*chip));
        if (!chip)
                return -ENOMEM;
        chip->info = info;
        chip->scale = config->scale;
        chip->offset = config->offset;
        if (strdup_opt(config->name ? config->name : info->driver, &chip->name) < 0)
                return -ENOMEM;

        if (info->model == SIM_SYSFS) {
                r = sysfs_setup(chip, config);
                if (r < 0)
                        return r;
        } else {
                memcpy(chip->quantities, info->quantities, info->n_quantities * sizeof(struct sim_quantity));
                chip->n_quantities = info->n_quantities;
        }
        for (size_t i = 0; i < chip->n_quantities; i++)
                chip->value[i] = chip->quantities[i].initial;

        switch (info->model) {
        case SIM_BME280:
        case SIM_BMP280:
                chip->i2c.ops = &bme_ops;
                bme_setup(chip);
                break;
        case SIM_SHT3X:
                chip->i2c.ops = &sht_ops;
                break;
        case SIM_BH1750:
                chip->i2c.ops = &bh_ops;
                break;
        case SIM_ADS1115: {
                double full_scale = config->gain > 0 ? config->gain : 2.048;

                chip->i2c.ops = &ads_ops;
                ads_setup(chip);
                /* Start inside the range the driver will program. */
                for (size_t i = 0; i < chip->n_quantities; i++) {
                        chip->value[i] = MIN(chip->value[i], full_scale * 0.8);
                        chip->quantities[i].initial = chip->value[i];
                        chip->quantities[i].drift_span = MIN(chip->quantities[i].drift_span, full_scale * 0.1);
                }
                break;
        }
        case SIM_DS18B20: {
                char path[256];
                int n;

                if (!config->device || strchr(config->device, '/'))
                        return -EINVAL;
                n = snprintf(path, sizeof(path), DS18B20_W1_DIR "/%s/w1_slave", config->device);
                if (n < 0 || (size_t) n >= sizeof(path))
                        return -ENAMETOOLONG;
                if (strdup_opt(path, &chip->path) < 0)
                        return -ENOMEM;
                break;
        }
        case SIM_SYSFS:
                break;
        }

        if (chip->i2c.ops) {
                if (config->address > 0x7f)
                        return -EINVAL;
                chip->i2c.address = config->address >= 0 ? (uint8_t) config->address : info->default_address;
        }
        chip_update(chip);

        *ret = TAKE_PTR(chip);
        return 0;
}

const char *sim_chip_name(const struct sim_chip *chip) {
        return chip ? chip->name : NULL;
}

struct i2c_dev *sim_chip_i2c(struct sim_chip *chip) {
        if (!chip || !chip->i2c.ops)
                return NULL;
        return &chip->i2c;
}

int sim_chip_set(struct sim_chip *chip, const char *quantity, double value) {
        if (!chip || !quantity)
                return -EINVAL;

        for (size_t i = 0; i < chip->n_quantities; i++) {
                const struct sim_quantity *q = &chip->quantities[i];

                if (!streq(q->name, quantity))
                        continue;
                if (!isfinite(value) || value < q->min || value > q->max)
                        return -ERANGE;
                chip->value[i] = value;
                chip_update(chip);
                return 0;
        }
        return -ENOENT;
}

void sim_chip_fail(struct sim_chip *chip, bool failing) {
        if (chip)
                chip->failing = failing;
}

void sim_chip_smbus_only(struct sim_chip *chip, bool smbus_only) {
        if (chip)
                chip->smbus_only = smbus_only;
}

/* Register state at power-on (datasheets: BME280 5.4, BH1750 p. 5 "power down" at
 * VCC on, ADS1115 9.6, SHT3x idle with nothing to read). */
static void chip_power_on(struct sim_chip *chip) {
        switch (chip->info->model) {
        case SIM_BME280:
        case SIM_BMP280:
                chip->pointer = 0;
                bme_reset(chip);
                break;
        case SIM_SHT3X:
                chip->sht_out_len = 0;
                break;
        case SIM_BH1750:
                chip->bh_powered = false;
                chip->bh_mode = 0;
                chip->bh_data = 0;
                break;
        case SIM_ADS1115:
                chip->ads_pointer = 0;
                ads_setup(chip);
                break;
        case SIM_DS18B20:
        case SIM_SYSFS:
                break;
        }
}

void sim_chip_power(struct sim_chip *chip, bool on) {
        if (!chip || !chip->i2c.ops)
                return;
        if (on && chip->off)
                chip_power_on(chip);
        chip->off = !on;
}

void sim_chip_drift(struct sim_chip *chip, unsigned *seed) {
        if (!chip || !seed)
                return;

        for (size_t i = 0; i < chip->n_quantities; i++) {
                const struct sim_quantity *q = &chip->quantities[i];
                double u = (double) rand_r(seed) / RAND_MAX;       /* 0..1 */
                double v = chip->value[i] + q->drift_step * (2.0 * u - 1.0);
                double lo = MAX(q->min, q->initial - q->drift_span);
                double hi = MIN(q->max, q->initial + q->drift_span);

                chip->value[i] = v < lo ? lo : v > hi ? hi : v;
        }
        chip_update(chip);
}
