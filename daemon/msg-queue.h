/* SPDX-License-Identifier: MIT */
/* The bounded in-memory queue behind the MQTT link: what waits for the broker and
 * what was handed to it but not yet acknowledged. Pure logic, no I/O: all memory is
 * taken once at creation (an entry table and a byte arena), nothing per message.
 *
 * Order of sending is FIFO across classes (by sequence number). When a limit is hit,
 * messages that are not in flight are dropped by class, oldest first within a class:
 * VOLATILE, then REFRESH, then READING, then STATE. A new message only ever displaces
 * messages of its own class or of a class dropped before it: when only more valuable
 * messages are left, the new one is refused (and counted as dropped) instead. In-flight
 * messages are never dropped.
 *
 * VOLATILE and REFRESH messages are coalesced: a new one replaces a still-unsent one of
 * the same class with the same topic (and the same correlation data), so a flood keeps
 * at most one pending per topic. The replacement keeps the old one's place in the line
 * when it fits in the old one's space, and goes to the end otherwise.
 *
 * The interface is narrow on purpose (push, peek next unsent, mark in flight, ack,
 * requeue, counts) so that a persistent spool can sit behind it later. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "mqtt-link.h"

struct msg_queue;

/* A queued message as seen by the sender. The pointers stay valid until the next
 * msg_queue_push() (which may compact the arena) or until the entry is acked. */
struct msg_queue_entry {
        uint64_t seq;
        enum mqtt_msg_class cls;
        int qos;
        bool retain;
        const char *topic;              /* NUL-terminated */
        const void *payload;
        size_t len;
        const void *correlation_data;   /* MQTT 5 correlation data; NULL when absent */
        size_t correlation_len;
};

/** Both limits must be at least 1; max_bytes counts topic, correlation data and payload
 * bytes. */
int msg_queue_new(size_t max_messages, size_t max_bytes, struct msg_queue **ret);
struct msg_queue *msg_queue_free(struct msg_queue *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct msg_queue *, msg_queue_free);

/** Appends a copy of the message (or replaces an unsent one it coalesces with), dropping
 * old ones to make room. Returns the number of messages dropped (>= 0), -EMSGSIZE if it
 * can never fit, -ENOBUFS if only in-flight messages or messages of classes that are
 * dropped after this one are left to drop, -EINVAL for an unknown class. Both refusals
 * count as a dropped message. */
int msg_queue_push(struct msg_queue *q, enum mqtt_msg_class cls, int qos, bool retain,
                   const char *topic, const void *payload, size_t len);
/** Like msg_queue_push(), with MQTT 5 correlation data (copied into the queue too; part of
 * what identifies a message for coalescing). */
int msg_queue_push_correlated(struct msg_queue *q, enum mqtt_msg_class cls, int qos, bool retain,
                              const char *topic, const void *payload, size_t len,
                              const void *correlation_data, size_t correlation_len);
/** The oldest message not yet in flight, or NULL. */
const struct msg_queue_entry *msg_queue_peek_unsent(const struct msg_queue *q);
/** Marks the entry returned by the last peek as handed to the broker with packet id `mid`. */
void msg_queue_mark_in_flight(struct msg_queue *q, const struct msg_queue_entry *e, int mid);
/** The in-flight message with packet id `mid`, or NULL. */
const struct msg_queue_entry *msg_queue_find_in_flight(const struct msg_queue *q, int mid);
/** Removes the in-flight message with packet id `mid`: 0, or -ENOENT. */
int msg_queue_ack(struct msg_queue *q, int mid);
/** After a disconnect: every in-flight message becomes unsent again, in its old order. */
void msg_queue_requeue(struct msg_queue *q);
/** Drops every message of class `cls` that is not in flight (counted as dropped);
 * returns how many. */
size_t msg_queue_drop_class(struct msg_queue *q, enum mqtt_msg_class cls);

size_t msg_queue_count(const struct msg_queue *q);       /* including in flight */
size_t msg_queue_bytes(const struct msg_queue *q);       /* topic + payload bytes */
size_t msg_queue_in_flight(const struct msg_queue *q);
/* Messages dropped to make room, refused by push, or dropped by msg_queue_drop_class(). */
uint64_t msg_queue_dropped(const struct msg_queue *q);
