/* Asynchronous host name resolution for the MQTT link: c-ares driven by the caller's
 * sd-event loop (its sockets are I/O sources, its timeouts one timer), so a slow or
 * dead DNS server never blocks the daemon. */
#pragma once

#include <netinet/in.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "macro.h"

#define RESOLVER_MAX_ADDRESSES 8

struct resolver;

/* Called once per resolver_resolve() from the event loop: error 0 and n >= 1 numeric
 * addresses (IPv4 or IPv6 text, in the resolver's order), or a negative errno. */
typedef void (*resolver_callback_t)(struct resolver *r, int error,
                                    const char (*addresses)[INET6_ADDRSTRLEN], size_t n,
                                    void *userdata);

int resolver_new(sd_event *event, struct resolver **ret);
/** Cancels a query in progress (its callback is not called) and frees. NULL-safe. */
struct resolver *resolver_free(struct resolver *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct resolver *, resolver_free);

/** Starts resolving `host` for TCP; a query already in progress is cancelled first. */
int resolver_resolve(struct resolver *r, const char *host, resolver_callback_t cb, void *userdata);
/** Cancels the query in progress, if any, without calling its callback. */
void resolver_cancel(struct resolver *r);
