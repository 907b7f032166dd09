/* SPDX-License-Identifier: MIT */
/* The MQTT link: one libmosquitto client driven by the sd-event loop (no mosquitto
 * thread), asynchronous name resolution and connect, reconnect with back-off and
 * jitter, subscriptions renewed on every connect, and a bounded in-memory queue that
 * holds messages while the broker is away and until a QoS>0 message is acknowledged. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct mqtt_link;

/* What a message is, for the drop policy of the link's bounded queue, which every
 * message goes through. When the queue is full, VOLATILE messages are dropped first,
 * then REFRESH, then READING, and STATE changes last; a new message never displaces one
 * of a class dropped after its own (it is dropped itself instead, and counted).
 *
 * VOLATILE (control replies, errors, stats, discovery) are only accepted while connected
 * (-ENOTCONN otherwise) and never kept for a later connection. REFRESH (a re-publication
 * of an entity's current state, such as the answer to BASE/<entity>/get) is kept across
 * a disconnect like READING. A new VOLATILE or REFRESH message replaces a still-unsent
 * one of the same class on the same topic, so a flood keeps at most one per topic. */
enum mqtt_msg_class {
        MQTT_MSG_READING,
        MQTT_MSG_STATE,
        MQTT_MSG_VOLATILE,
        MQTT_MSG_REFRESH,
};

struct mqtt_link_options {
        const char *host;
        unsigned port;
        const char *client_id;
        const char *username;          /* NULL: none */
        const char *password;          /* NULL: none */
        const char *tls_ca_file;       /* non-NULL turns TLS on */
        const char *tls_cert_file;
        const char *tls_key_file;
        unsigned keepalive;            /* seconds */
        bool protocol_v5;              /* false: MQTT 3.1.1 */
        const char *will_topic;        /* BASE/status */
        const char *will_payload;      /* "offline", retained, QoS 1 */
        size_t queue_max_messages;
        size_t queue_max_bytes;
};

struct mqtt_message {
        const char *topic;
        const void *payload;
        size_t len;
        /* MQTT 5 request/response; NULL/0 when absent. */
        const char *response_topic;
        const void *correlation_data;
        size_t correlation_len;
        /* Sent by the broker from its retained store (not a live publish). */
        bool retained;
};

struct mqtt_link_callbacks {
        /* After every CONNACK accepted (subscriptions already renewed by the link). */
        void (*connected)(struct mqtt_link *link, void *userdata);
        /* After the connection is lost or refused; the link retries by itself. */
        void (*disconnected)(struct mqtt_link *link, void *userdata);
        /* A message on a subscribed topic. Everything in it is untrusted input. */
        void (*message)(struct mqtt_link *link, const struct mqtt_message *msg, void *userdata);
};

struct mqtt_link_stats {
        uint64_t sent;                 /* handed to the broker (and acknowledged for QoS>0) */
        uint64_t queued;               /* waiting now, including in flight */
        uint64_t dropped;              /* dropped or refused because the queue was full, too
                                        * large, or VOLATILE and left unsent by a disconnect */
        uint64_t reconnects;           /* successful connects after the first */
        bool connected;
        uint64_t rejected;             /* refused by the broker (MQTT 5 PUBACK reason >= 0x80) */
};

int mqtt_link_new(sd_event *event, const struct mqtt_link_options *options,
                  const struct mqtt_link_callbacks *callbacks, void *userdata,
                  struct mqtt_link **ret);
/** Starts connecting in the background; never blocks. */
int mqtt_link_start(struct mqtt_link *link);
/** Remembers the subscription and renews it on every connect (subscribes now if connected). */
int mqtt_link_subscribe(struct mqtt_link *link, const char *pattern, int qos);
/** Queues a copy of topic and payload and sends it as soon as the link allows. Returns 0,
 * or -ENOTCONN for a VOLATILE message while disconnected, -EMSGSIZE for one larger than
 * the queue, -ENOBUFS when the queue has no room for its class (both counted as dropped). */
int mqtt_link_publish(struct mqtt_link *link, const char *topic, const void *payload,
                      size_t len, int qos, bool retain, enum mqtt_msg_class cls);
/** MQTT 5 reply to a request's response topic with its correlation data (VOLATILE,
 * queued like any other message; coalesced only with a reply carrying the same
 * correlation data). */
int mqtt_link_reply(struct mqtt_link *link, const struct mqtt_message *request,
                    const void *payload, size_t len);
bool mqtt_link_connected(const struct mqtt_link *link);
/** "host:port" of the broker, for status lines. */
const char *mqtt_link_peer(const struct mqtt_link *link);
void mqtt_link_get_stats(const struct mqtt_link *link, struct mqtt_link_stats *ret);
/** Publishes `payload` (retained, QoS 1) on the will topic, waits for queued QoS>0
 * messages up to `timeout_usec`, disconnects cleanly, then calls done(). Messages that
 * could not be sent are discarded, and their number logged. */
int mqtt_link_shutdown(struct mqtt_link *link, const char *final_payload, uint64_t timeout_usec,
                       void (*done)(struct mqtt_link *link, void *userdata));
struct mqtt_link *mqtt_link_free(struct mqtt_link *link);
