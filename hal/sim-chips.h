/* SPDX-License-Identifier: MIT */
/* Simulated sensor devices for the simulated board: each models one real chip closely
 * enough that the real driver runs unchanged against it. An I2C chip serves the raw
 * registers that the driver decodes back to the value set with sim_chip_set() (within
 * the chip's resolution); a sysfs or w1 device serves the file the kernel would. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "hal.h"

struct sim_chip;
struct i2c_dev;

/** A simulated device for the sensor's driver, measuring plausible initial values
 * (e.g. 21.5 °C, 45 %RH, 1013.25 hPa, 120 lx, 48 °C for a CPU thermal zone). */
int sim_chip_new(const struct hal_sensor_config *config, struct sim_chip **ret);
struct sim_chip *sim_chip_free(struct sim_chip *chip);
const char *sim_chip_name(const struct sim_chip *chip);
/** Its I2C face (owned by the chip; its close op does nothing), or NULL for file devices. */
struct i2c_dev *sim_chip_i2c(struct sim_chip *chip);
/** The file a sysfs or w1 device would show at `path`; -ENOENT for others. */
int sim_chip_read_file(struct sim_chip *chip, const char *path, char *buf, size_t size);
/** Sets what the device measures. -ENOENT: no such quantity; -ERANGE: outside what
 * the chip can report. For sysfs the quantity is the configured one. */
int sim_chip_set(struct sim_chip *chip, const char *quantity, double value);
/** A failing device stops answering: I2C transfers fail with -EIO (no ACK), files with -EIO. */
void sim_chip_fail(struct sim_chip *chip, bool failing);
/** Puts the chip behind an SMBus-only adapter (or back behind a full I2C one): plain
 * I2C transfers fail with -EOPNOTSUPP, as the kernel's I2C_RDWR does on such an
 * adapter; SMBus transactions still work. */
void sim_chip_smbus_only(struct sim_chip *chip, bool smbus_only);
/** Power off: the chip stops answering (like a failing one). Power on: it answers
 * again with its registers at their power-on values, as after a brownout; what it
 * measures and its calibration memory are unchanged. No effect on file devices. */
void sim_chip_power(struct sim_chip *chip, bool on);
/** One step of a slow bounded random walk of every quantity, for the demo. */
void sim_chip_drift(struct sim_chip *chip, unsigned *seed);
