/* SPDX-License-Identifier: MIT */
/* The real I2C transport: a /dev/i2c-N character device bound to one address. */
#include <errno.h>
#include <fcntl.h>
#include <linux/i2c-dev.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "i2c-bus.h"
#include "log.h"
#include "macro.h"

struct i2c_dev_linux {
        struct i2c_dev dev;       /* first: the ops receive a pointer to it */
        int fd;
};

static struct i2c_dev_linux *linux_dev(struct i2c_dev *dev) {
        return (struct i2c_dev_linux *) dev;
}

static int linux_smbus(struct i2c_dev *dev, uint8_t read_write, uint8_t command,
                       uint32_t size, union i2c_smbus_data *data) {
        struct i2c_smbus_ioctl_data args = {
                .read_write = read_write,
                .command = command,
                .size = size,
                .data = data,
        };

        if (ioctl(linux_dev(dev)->fd, I2C_SMBUS, &args) < 0)
                return -errno;
        return 0;
}

static int linux_transfer(struct i2c_dev *dev, struct i2c_msg *msgs, size_t n) {
        struct i2c_rdwr_ioctl_data args = {
                .msgs = msgs,
                .nmsgs = (uint32_t) n,
        };

        if (n == 0 || n > I2C_RDWR_IOCTL_MAX_MSGS)
                return -EINVAL;
        if (ioctl(linux_dev(dev)->fd, I2C_RDWR, &args) < 0)
                return -errno;
        return 0;
}

static void linux_close(struct i2c_dev *dev) {
        struct i2c_dev_linux *d = linux_dev(dev);

        safe_close(d->fd);
        free(d);
}

static const struct i2c_dev_ops linux_ops = {
        .smbus = linux_smbus,
        .transfer = linux_transfer,
        .close = linux_close,
};

int i2c_dev_open(const char *bus, uint8_t address, struct i2c_dev **ret) {
        _cleanup_(closep) int fd = -EBADF;
        struct i2c_dev_linux *d;
        char path[64];
        int n;

        if (!bus || !ret || address > 0x7f)
                return -EINVAL;

        /* Accept the device path, "i2c-1", or the bare bus number. */
        if (bus[0] == '/')
                n = snprintf(path, sizeof(path), "%s", bus);
        else if (bus[0] >= '0' && bus[0] <= '9')
                n = snprintf(path, sizeof(path), "/dev/i2c-%s", bus);
        else
                n = snprintf(path, sizeof(path), "/dev/%s", bus);
        if (n < 0 || (size_t) n >= sizeof(path))
                return -ENAMETOOLONG;

        /* The caller logs plain failures with the sensor's name; only say which
         * file it was at debug level. */
        fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return log_debug_errno(errno, "Failed to open I2C bus %s: %m", path);

        /* I2C_SLAVE (not _FORCE) refuses an address a kernel driver has bound: the
         * two of us would fight over the chip's registers. */
        if (ioctl(fd, I2C_SLAVE, (unsigned long) address) < 0) {
                if (errno == EBUSY)
                        return log_error_errno(EBUSY,
                                               "I2C address 0x%02x on %s is claimed by a kernel driver "
                                               "(unbind it or remove its device-tree overlay): %m",
                                               address, path);
                return log_debug_errno(errno, "Failed to select I2C address 0x%02x on %s: %m",
                                       address, path);
        }

        d = malloc(sizeof(*d));
        if (!d)
                return -ENOMEM;
        *d = (struct i2c_dev_linux) {
                .dev = { .ops = &linux_ops, .address = address },
                .fd = TAKE_FD(fd),
        };
        *ret = &d->dev;
        return 0;
}
