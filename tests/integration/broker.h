/* SPDX-License-Identifier: MIT */
/* Test helpers shared by the integration tests: a real mosquitto broker on a free
 * loopback port, and a small MQTT client to watch and poke it.
 *
 * The broker runs /usr/sbin/mosquitto (override with $IOTGWD_TEST_MOSQUITTO) from a
 * configuration in its own temporary directory, listening on 127.0.0.1 only, anonymous,
 * without persistence. Every function returns 0 or a negative errno. Tests that cannot
 * find mosquitto should skip (exit 77). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct test_broker;

/** Picks a free port, writes the configuration and starts the broker; returns once it
 * accepts TCP connections (bounded: -ETIMEDOUT after a few seconds). -ENOENT when the
 * mosquitto binary is missing. `extra_conf` (may be NULL) is appended to the
 * configuration, e.g. "password_file /path\n". */
int test_broker_start(const char *extra_conf, struct test_broker **ret);
unsigned test_broker_port(const struct test_broker *b);
/** The directory holding the configuration (and free for the test's own files). */
const char *test_broker_dir(const struct test_broker *b);
/** SIGTERM and wait for it to exit. The port stays reserved for restart. */
int test_broker_stop(struct test_broker *b);
/** SIGKILL and wait: a crash, no goodbyes to the clients. */
int test_broker_kill(struct test_broker *b);
/** SIGSTOP: the broker keeps its connections but answers nothing (no PUBACK), so
 * messages stay in flight; test_broker_kill() or test_broker_stop() still work. */
int test_broker_freeze(struct test_broker *b);
/** Starts it again on the same port (after stop or kill) and waits until it accepts. */
int test_broker_restart(struct test_broker *b);
/** Kills the broker if it runs and removes its directory. NULL-safe. */
struct test_broker *test_broker_free(struct test_broker *b);

struct test_client;

/* A message the client received; payload is NUL-terminated for convenience. */
struct test_message {
        char *topic;
        char *payload;
        size_t len;
        bool retain;
        char *correlation;       /* MQTT 5 correlation data, or NULL */
};

/** Connects (MQTT 3.1.1, clean session) to 127.0.0.1:port and starts libmosquitto's
 * own thread; returns once the CONNACK arrived (bounded). */
int test_client_new(unsigned port, struct test_client **ret);
/** Like test_client_new() with a client id (NULL: random), clean session or a
 * persistent one, and MQTT 5 (v5) or 3.1.1. A persistent session survives a broker
 * restart when the broker runs with "persistence true". */
int test_client_new_with(unsigned port, const char *client_id, bool clean, bool v5,
                         struct test_client **ret);
/** Subscribes with QoS 1 and waits for the SUBACK (bounded). */
int test_client_subscribe(struct test_client *c, const char *pattern);
/** Publishes; for QoS > 0 waits until the broker acknowledged it (bounded). */
int test_client_publish(struct test_client *c, const char *topic, const char *payload,
                        int qos, bool retain);
/** Publishes `len` bytes (any content). */
int test_client_publish_raw(struct test_client *c, const char *topic, const void *payload,
                            size_t len, int qos, bool retain);
/** MQTT 5 only: publishes (QoS 1) with a response topic and correlation data. */
int test_client_request(struct test_client *c, const char *topic, const char *payload,
                        const char *response_topic, const char *correlation);
/** Takes the oldest received message on `topic` (and with `payload`, unless NULL) out
 * of the client's inbox, waiting up to timeout_usec for it. -ETIMEDOUT if none came.
 * `ret` may be NULL; otherwise free it with test_message_free(). */
int test_client_wait(struct test_client *c, const char *topic, const char *payload,
                     uint64_t timeout_usec, struct test_message **ret);
/** Like test_client_wait() without waiting: -EAGAIN when nothing matches yet. */
int test_client_take(struct test_client *c, const char *topic, const char *payload,
                     struct test_message **ret);
/** An eventfd that becomes readable when a message arrives, for tests that run their
 * own event loop in this thread (read it to reset). */
int test_client_event_fd(const struct test_client *c);
struct test_client *test_client_free(struct test_client *c);
void test_message_free(struct test_message *m);
