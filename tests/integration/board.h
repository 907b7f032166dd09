/* SPDX-License-Identifier: MIT */
/* The simulated board the whole-daemon tests run on, and what each of them needs: a
 * real mosquitto on a free loopback port, the real iotgwd binary, and a real MQTT
 * client as the user. */
#pragma once

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

#include "broker.h"
#include "daemon.h"

#define WAIT_MS 15000

extern const char *const BOARD;
extern struct test_broker *broker;
extern struct daemon_proc daemon_;
extern struct test_client *client;

/* Per test: a broker, the daemon's directory with BOARD as its configuration, and a
 * client subscribed to iotgw/#. */
void setup(void);
void teardown(void);
void start_daemon(void);
/** Takes the oldest message on topic (with payload, unless NULL) from the inbox. */
bool wait_msg(const char *topic, const char *payload);
struct test_message *wait_take(struct test_client *c, const char *topic, const char *payload);
/** Drops everything received on topic so far. */
void drain(const char *topic);
int publish(const char *topic, const char *payload);
/** Replaces the client by an MQTT 5 one (for request/response) subscribed to pattern. */
void use_v5_client(const char *pattern);
/** One command to the simulated board, and the reply it must give. */
void sim(const char *cmd, const char *expect);
/** One case per test, so CK_RUN_CASE=test_name runs just that one. */
void add_case(Suite *s, const char *name, const TTest *test);
/** Runs the suite; the exit status for main(). */
int run_suite(Suite *s);
