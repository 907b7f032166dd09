/* SPDX-License-Identifier: MIT */
/* MQTT topic helpers: validating the levels iotgwd builds its topics from, building the
 * topics once at configuration time, and routing incoming command topics. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Validates a topic level (entity name etc.): [A-Za-z0-9_-]+, 1..64 chars. */
bool topic_level_valid(const char *s);
/* Builds "<prefix>/<name>/<suffix...>" into a newly allocated string (configuration
 * time, not the hot path); NULL parts are skipped. -ENOMEM.
 *
 * The list ends at the first NULL argument (so `first` NULL is an empty list); empty
 * parts ("") are skipped, so an unset optional level can be passed as "". A part may
 * itself hold several levels ("home/gw1"). Nothing left to join gives -EINVAL. The
 * compiler checks that the list is NULL-terminated. */
int topic_build(char **ret, const char *first, ...)  /* NULL-terminated list of levels */
        __attribute__((sentinel));
/* If `topic` is "<base>/<entity>/<verb>" with entity one valid level, returns 0 and
 * points entity/verb into topic (lengths given); -EINVAL otherwise. For routing
 * incoming commands.
 *
 * verb must be one valid level too (so "<base>/<entity>/set/x" is refused); it ends
 * with the topic's NUL. An empty base means no prefix ("<entity>/<verb>"), as
 * topic_build() skips empty parts. The outputs are written only on success. */
int topic_split_command(const char *base, const char *topic, const char **entity,
                        size_t *entity_len, const char **verb);
