/* SPDX-License-Identifier: MIT */
/* One I2C device at one address, whatever carries the bytes: the kernel's i2c-dev
 * character device or a simulated chip. The operations mirror the Linux i2c-dev
 * interface (an SMBus transfer like the I2C_SMBUS ioctl, a combined plain-I2C transfer
 * like I2C_RDWR), so a driver written against these helpers runs unchanged on both.
 * Drivers prefer SMBus transactions wherever the chip allows them: many adapters (and
 * the kernel's i2c-stub) speak SMBus only. */
#pragma once

#include <linux/i2c.h>
#include <stddef.h>
#include <stdint.h>

struct i2c_dev;

struct i2c_dev_ops {
        /** One SMBus transaction: read_write is I2C_SMBUS_READ/WRITE, size one of
         * I2C_SMBUS_BYTE, _BYTE_DATA, _WORD_DATA, _I2C_BLOCK_DATA (block[0] = length).
         * Returns 0 or -errno (-EIO/-ENXIO: no ACK). */
        int (*smbus)(struct i2c_dev *dev, uint8_t read_write, uint8_t command,
                     uint32_t size, union i2c_smbus_data *data);
        /** Plain I2C messages in one transfer with a single STOP, like I2C_RDWR.
         * Returns 0 or -errno. */
        int (*transfer)(struct i2c_dev *dev, struct i2c_msg *msgs, size_t n);
        /** Releases the device (and frees it, for devices that own themselves). */
        void (*close)(struct i2c_dev *dev);
};

/* Embedded as the first member by each implementation. */
struct i2c_dev {
        const struct i2c_dev_ops *ops;
        uint8_t address;          /* 7-bit */
};

/** Closes the device through its ops; NULL-safe; returns NULL. */
struct i2c_dev *i2c_dev_close(struct i2c_dev *dev);
static inline void i2c_dev_closep(struct i2c_dev **dev) {
        i2c_dev_close(*dev);
}

/** Opens /dev/i2c-N ("/dev/i2c-1", "i2c-1" or "1") and selects `address`.
 * -EBUSY (logged) when a kernel driver has claimed the address. Implemented in
 * i2c-dev.c; the real backend's i2c_open op calls it. */
int i2c_dev_open(const char *bus, uint8_t address, struct i2c_dev **ret);

/* SMBus helpers: each returns the value read (>= 0) or 0 for writes, or -errno. */

/** SMBus "send byte": a single byte with no register, e.g. a command opcode. */
int i2c_write_byte(struct i2c_dev *dev, uint8_t value);
int i2c_read_byte_data(struct i2c_dev *dev, uint8_t reg);
int i2c_write_byte_data(struct i2c_dev *dev, uint8_t reg, uint8_t value);
/** SMBus words travel low byte first. */
int i2c_read_word_data(struct i2c_dev *dev, uint8_t reg);
int i2c_write_word_data(struct i2c_dev *dev, uint8_t reg, uint16_t value);
/** The same SMBus transactions for chips whose 16-bit registers go high byte first
 * (ADS1115): the value is byte-swapped so callers see the register as the datasheet
 * shows it. */
int i2c_read_word_data_be(struct i2c_dev *dev, uint8_t reg);
int i2c_write_word_data_be(struct i2c_dev *dev, uint8_t reg, uint16_t value);
/** Reads len (1..32) consecutive registers from `reg` (SMBus "I2C block read").
 * Returns len, or -errno; -EBADMSG if the device returned fewer bytes. */
int i2c_read_i2c_block_data(struct i2c_dev *dev, uint8_t reg, uint8_t *buf, size_t len);

/* Plain I2C, for chips with multi-byte commands and reads without a register
 * (SHT3x, BH1750). Return 0 or -errno. */
int i2c_write(struct i2c_dev *dev, const uint8_t *buf, size_t len);
int i2c_read(struct i2c_dev *dev, uint8_t *buf, size_t len);
