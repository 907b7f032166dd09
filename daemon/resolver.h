/* SPDX-License-Identifier: MIT */
/* Asynchronous host name resolution for the MQTT link, the way the system resolves
 * names: getaddrinfo() through NSS (/etc/hosts, DNS as /etc/resolv.conf says at the
 * time of the lookup, mDNS, systemd-resolved, whatever nsswitch.conf lists), run on a
 * thread of its own and reported back to the caller's sd-event loop, so a slow or dead
 * name server never blocks the daemon. */
#pragma once

#include <netinet/in.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "macro.h"

#define RESOLVER_MAX_ADDRESSES 8

struct resolver;

/* Called once per resolver_resolve() from the event loop, never from within
 * resolver_resolve(): error 0 and n >= 1 numeric addresses (IPv4 or IPv6 text, an IPv6
 * link-local one with its %scope, in getaddrinfo()'s order), or a negative errno:
 * -ENXIO name not known, -ENODATA no address for it, -EAGAIN no answer for now (name
 * server unreachable or timed out), -EHOSTUNREACH a permanent failure of the name
 * service, -ENOMEM, or the errno of a system error. resolver_strerror() says it in
 * words. "localhost" and names under it that the system does not know resolve to
 * 127.0.0.1 and ::1 (RFC 6761). */
typedef void (*resolver_callback_t)(struct resolver *r, int error,
                                    const char (*addresses)[INET6_ADDRSTRLEN], size_t n,
                                    void *userdata);

int resolver_new(sd_event *event, struct resolver **ret);
/** Cancels a query in progress (its callback is not called) and frees, without waiting
 * for a lookup that already runs. NULL-safe. */
struct resolver *resolver_free(struct resolver *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct resolver *, resolver_free);

/** Starts resolving `host` for TCP; a query already in progress is cancelled first. */
int resolver_resolve(struct resolver *r, const char *host, resolver_callback_t cb, void *userdata);
/** Cancels the query in progress, if any, without calling its callback. */
void resolver_cancel(struct resolver *r);
/** The system's words for an error passed to the callback ("Name or service not known"). */
const char *resolver_strerror(int error);
