/* SPDX-License-Identifier: MIT */
/* A TCP proxy for integration tests that can stall a connection: it listens on a free
 * loopback port and forwards every accepted connection to a broker on 127.0.0.1. On
 * command it stops reading from the clients connected so far, so that their socket
 * buffers fill up and their writes block, while it keeps forwarding what the broker
 * sends them: the picture of a cellular link or a broker that stopped reading.
 *
 * While a connection is stalled the proxy keeps its broker side alive by sending a
 * PINGREQ of its own every second (it forwards whole MQTT packets only, so it can put
 * one between two), so that neither the broker nor the client library notices the stall
 * by its keep-alive: only the client's own write-progress watch can. Connections accepted
 * after the command are not stalled. Runs in its own thread; every function returns 0
 * or a negative errno. */
#pragma once

#include <stdbool.h>

struct stall_proxy;

/** Listens on 127.0.0.1 (free port) and forwards to 127.0.0.1:upstream_port. */
int stall_proxy_start(unsigned upstream_port, struct stall_proxy **ret);
unsigned stall_proxy_port(const struct stall_proxy *p);
/** Stalls (true) or resumes (false) the connections open now. */
int stall_proxy_stall(struct stall_proxy *p, bool stall);
/** Connections accepted so far. */
unsigned stall_proxy_accepted(struct stall_proxy *p);
/** Stops the thread and closes every socket. NULL-safe. */
struct stall_proxy *stall_proxy_free(struct stall_proxy *p);
