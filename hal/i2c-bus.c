/* SPDX-License-Identifier: MIT */
/* The helpers of i2c-bus.h: SMBus and plain-I2C transactions expressed through a
 * device's ops table, so drivers never see which transport carries them. */
#include <errno.h>
#include <string.h>

#include "i2c-bus.h"
#include "macro.h"

struct i2c_dev *i2c_dev_close(struct i2c_dev *dev) {
        if (dev && dev->ops->close)
                dev->ops->close(dev);
        return NULL;
}

static int smbus(struct i2c_dev *dev, uint8_t read_write, uint8_t command, uint32_t size,
                 union i2c_smbus_data *data) {
        if (!dev || !dev->ops->smbus)
                return -EOPNOTSUPP;
        return dev->ops->smbus(dev, read_write, command, size, data);
}

int i2c_write_byte(struct i2c_dev *dev, uint8_t value) {
        /* "Send byte": the byte travels in the command field, there is no data. */
        return smbus(dev, I2C_SMBUS_WRITE, value, I2C_SMBUS_BYTE, NULL);
}

int i2c_read_byte_data(struct i2c_dev *dev, uint8_t reg) {
        union i2c_smbus_data data = {};
        int r;

        r = smbus(dev, I2C_SMBUS_READ, reg, I2C_SMBUS_BYTE_DATA, &data);
        if (r < 0)
                return r;
        return data.byte;
}

int i2c_write_byte_data(struct i2c_dev *dev, uint8_t reg, uint8_t value) {
        union i2c_smbus_data data = { .byte = value };

        return smbus(dev, I2C_SMBUS_WRITE, reg, I2C_SMBUS_BYTE_DATA, &data);
}

int i2c_read_word_data(struct i2c_dev *dev, uint8_t reg) {
        union i2c_smbus_data data = {};
        int r;

        r = smbus(dev, I2C_SMBUS_READ, reg, I2C_SMBUS_WORD_DATA, &data);
        if (r < 0)
                return r;
        return data.word;
}

int i2c_write_word_data(struct i2c_dev *dev, uint8_t reg, uint16_t value) {
        union i2c_smbus_data data = { .word = value };

        return smbus(dev, I2C_SMBUS_WRITE, reg, I2C_SMBUS_WORD_DATA, &data);
}

static uint16_t swap16(uint16_t v) {
        return (uint16_t) ((v >> 8) | (v << 8));
}

int i2c_read_word_data_be(struct i2c_dev *dev, uint8_t reg) {
        int r;

        r = i2c_read_word_data(dev, reg);
        if (r < 0)
                return r;
        return swap16((uint16_t) r);
}

int i2c_write_word_data_be(struct i2c_dev *dev, uint8_t reg, uint16_t value) {
        return i2c_write_word_data(dev, reg, swap16(value));
}

int i2c_read_i2c_block_data(struct i2c_dev *dev, uint8_t reg, uint8_t *buf, size_t len) {
        union i2c_smbus_data data = {};
        int r;

        if (len == 0 || len > I2C_SMBUS_BLOCK_MAX)
                return -EINVAL;

        data.block[0] = (uint8_t) len;
        r = smbus(dev, I2C_SMBUS_READ, reg, I2C_SMBUS_I2C_BLOCK_DATA, &data);
        if (r < 0)
                return r;
        /* The transport reports how many bytes it got in block[0]; trust nothing
         * beyond what was asked for. */
        if (data.block[0] < len)
                return -EBADMSG;
        memcpy(buf, data.block + 1, len);
        return (int) len;
}

static int transfer_one(struct i2c_dev *dev, uint16_t flags, uint8_t *buf, size_t len) {
        struct i2c_msg msg;

        if (!dev || !dev->ops->transfer)
                return -EOPNOTSUPP;
        if (len == 0 || len > UINT16_MAX)
                return -EINVAL;

        msg = (struct i2c_msg) {
                .addr = dev->address,
                .flags = flags,
                .len = (uint16_t) len,
                .buf = buf,
        };
        return dev->ops->transfer(dev, &msg, 1);
}

int i2c_write(struct i2c_dev *dev, const uint8_t *buf, size_t len) {
        /* struct i2c_msg has no const buffer; a write message is never written to. */
        return transfer_one(dev, 0, (uint8_t *) buf, len);
}

int i2c_read(struct i2c_dev *dev, uint8_t *buf, size_t len) {
        return transfer_one(dev, I2C_M_RD, buf, len);
}
