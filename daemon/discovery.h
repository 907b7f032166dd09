/* SPDX-License-Identifier: MIT */
/* Home Assistant MQTT discovery: the config topics and JSON payloads that make the
 * gateway's inputs, outputs, sensor quantities and own statistics appear in Home
 * Assistant as one device. Pure generation: nothing here touches the network; the
 * manager publishes what it is handed, retained, and removes what a reload dropped. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "reading.h"

/** Returns the quantities of sensor number i of the config (the manager answers from
 * the HAL); NULL/0 if unknown. A sensor whose quantities are unknown gets no config,
 * so the manager should answer from the driver even while the device is absent. */
typedef const struct quantity_info *(*discovery_quantities_t)(void *userdata, size_t sensor_index,
                                                               size_t *n);

/** Called once per config topic. payload is NUL-terminated JSON of len bytes, or ""
 * with len 0 for a removal. The receiver must publish it retained (so a Home Assistant
 * that starts later still finds it) and return 0 or -errno. */
typedef int (*discovery_emit_t)(void *userdata, const char *topic, const char *payload, size_t len);

struct discovery_info {
        const struct config *config;
        const char *base;               /* BASE = "<topic_prefix>/<name>" */
        const char *sw_version;         /* PACKAGE_VERSION */
        discovery_quantities_t quantities;
        void *userdata;                 /* for quantities */
};

/** Calls emit for every discovery config of the configuration (nothing when discovery
 * is none; nothing for entities with discovery = false): topic
 * "<discovery_prefix>/<component>/<node_id>/<object_id>/config", payload JSON.
 * Components: inputs binary_sensor, outputs switch, each sensor quantity a sensor, and
 * the gateway's statistics diagnostic sensors. A failing emit does not stop the others;
 * returns 0, the first error emit returned, or -ENOMEM / -EINVAL. */
int discovery_announce(const struct discovery_info *info, discovery_emit_t emit, void *ud);

/** The set of config topics discovery_announce would publish, sorted, strdup'ed, for
 * computing removals on reload; discovery_free_topics frees. *ret is NULL when *n is 0.
 * -ENOTUNIQ if two entities would share a config topic (names that differ only in
 * characters a topic level cannot hold, or an entity clashing with "gateway_<counter>"):
 * the later config would silently replace the earlier one in Home Assistant. */
int discovery_topics(const struct discovery_info *info, char ***ret, size_t *n);
void discovery_free_topics(char **topics, size_t n);

/** Topics in `old` that are not in `new` (both sorted): their configs must be removed
 * with an empty retained payload. Calls emit(topic, "", 0) for each. A failing emit
 * does not stop the others; returns 0 or the first error. */
int discovery_remove_stale(char **old, size_t n_old, char **new, size_t n_new,
                           discovery_emit_t emit, void *ud);

/** True if a message is Home Assistant's birth message ("online" on
 * "<discovery_prefix>/status"), after which every config must be announced again:
 * a restarted Home Assistant has forgotten configs that were not retained. */
bool discovery_is_birth(const struct config *config, const char *topic,
                        const void *payload, size_t len);
