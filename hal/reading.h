/* SPDX-License-Identifier: MIT */
/* A sensor reading: up to READING_MAX named quantities, as the drivers decode them. */
#pragma once

#include <stddef.h>

#define READING_MAX 4

/* What a quantity is; names and units are fixed across drivers. */
struct quantity_info {
        const char *name;          /* "temperature", "humidity", "pressure", "illuminance", "voltage0".. */
        const char *unit;          /* "°C", "%", "hPa", "lx", "V" */
        const char *device_class;  /* Home Assistant device class, or NULL */
        int decimals;              /* the sensor's real precision */
};

struct reading {
        size_t n;                  /* quantities filled, in the order of the sensor's quantity_info */
        double value[READING_MAX];
};
