/* The bounded in-memory queue behind the MQTT link: what waits for the broker and
 * what was handed to it but not yet acknowledged. Pure logic, no I/O: all memory is
 * taken once at creation (an entry table and a byte arena), nothing per message.
 *
 * Order of sending is FIFO across classes (by sequence number). When a limit is hit
 * the oldest READING that is not in flight is dropped first, then the oldest STATE;
 * in-flight messages are never dropped. The interface is narrow on purpose (push, peek
 * next unsent, mark in flight, ack, requeue, counts) so that a persistent spool can
 * sit behind it later. */
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
};

/** Both limits must be at least 1; max_bytes counts topic and payload bytes. */
int msg_queue_new(size_t max_messages, size_t max_bytes, struct msg_queue **ret);
struct msg_queue *msg_queue_free(struct msg_queue *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct msg_queue *, msg_queue_free);

/** Appends a copy of the message, dropping old ones to make room. Returns the number of
 * messages dropped (>= 0), -EMSGSIZE if it can never fit, -ENOBUFS if only in-flight
 * messages are left to drop, -EINVAL for a VOLATILE class. */
int msg_queue_push(struct msg_queue *q, enum mqtt_msg_class cls, int qos, bool retain,
                   const char *topic, const void *payload, size_t len);
/** The oldest message not yet in flight, or NULL. */
const struct msg_queue_entry *msg_queue_peek_unsent(const struct msg_queue *q);
/** Marks the entry returned by the last peek as handed to the broker with packet id `mid`. */
void msg_queue_mark_in_flight(struct msg_queue *q, const struct msg_queue_entry *e, int mid);
/** Removes the in-flight message with packet id `mid`: 0, or -ENOENT. */
int msg_queue_ack(struct msg_queue *q, int mid);
/** After a disconnect: every in-flight message becomes unsent again, in its old order. */
void msg_queue_requeue(struct msg_queue *q);

size_t msg_queue_count(const struct msg_queue *q);       /* including in flight */
size_t msg_queue_bytes(const struct msg_queue *q);       /* topic + payload bytes */
size_t msg_queue_in_flight(const struct msg_queue *q);
uint64_t msg_queue_dropped(const struct msg_queue *q);
