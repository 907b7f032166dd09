/* SPDX-License-Identifier: MIT */
/* The table of sensor drivers, looked up by the name in the configuration. */
#include <string.h>

#include "driver.h"
#include "macro.h"

static const struct sensor_driver *const drivers[] = {
        &sensor_driver_ads1115,
        &sensor_driver_bh1750,
        &sensor_driver_bme280,
        &sensor_driver_bmp280,
        &sensor_driver_ds18b20,
        &sensor_driver_sht3x,
        &sensor_driver_sysfs,
};

const struct sensor_driver *sensor_driver_find(const char *name) {
        if (!name)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(drivers); i++)
                if (streq(drivers[i]->name, name))
                        return drivers[i];
        return NULL;
}
