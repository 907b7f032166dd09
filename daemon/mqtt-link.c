/* SPDX-License-Identifier: MIT */
/* The MQTT link: one libmosquitto client per connection attempt, driven by sd-event.
 *
 * libmosquitto runs without a thread: its socket is an I/O source (EPOLLOUT only while
 * it has output pending), mosquitto_loop_misc() runs from a timer for keep-alive, and
 * the host name is resolved by the system's resolver (getaddrinfo() off the loop, see
 * resolver.c) before connecting to a numeric address.
 *
 * Our msg-queue is the only record of what still has to reach the broker, and every
 * message goes through it (replies and discovery too), so its limits and drop policy
 * bound what a flood of commands can cost. A message is handed to libmosquitto only
 * while connected, under the in-flight cap, and only while libmosquitto has no unwritten
 * output: its own queue never grows when the socket does not drain. A socket that takes
 * nothing for a whole keep-alive period is treated as a lost connection. Each attempt
 * gets a fresh client, so nothing libmosquitto kept from an old connection is ever sent
 * twice behind our back; whatever was in flight is resent in order after the next
 * CONNACK (QoS 1 may then be duplicated, never lost).
 *
 * libmosquitto must not be destroyed from inside its own callbacks, so a lost
 * connection is only noted there and handled once the loop call has returned. */
#include "mqtt-link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "backoff.h"
#include "log.h"
#include "macro.h"
#include "msg-queue.h"
#include "resolver.h"

#define BACKOFF_MIN_USEC (1 * USEC_PER_SEC)
#define BACKOFF_MAX_USEC (60 * USEC_PER_SEC)
/* This many connections in a row dropped soon after CONNACK: somebody else is
 * probably logged in under our client id, and the broker keeps the newer one. */
#define DUPLICATE_ID_SUSPECT 3
#define DUPLICATE_ID_WARN_INTERVAL (10 * 60 * USEC_PER_SEC)
/* Our cap on unacknowledged messages; the broker's receive-maximum may lower it. */
#define IN_FLIGHT_MAX 20
#define DEFAULT_KEEPALIVE 60
/* Topics whose refusal by the broker was already logged (a small ring of hashes). */
#define REJECTED_TOPICS_MAX 32

enum link_state {
        LINK_IDLE,              /* not started */
        LINK_RESOLVING,
        LINK_CONNECTING,        /* TCP (and TLS) up or coming, waiting for CONNACK */
        LINK_CONNECTED,
        LINK_WAITING,           /* back-off timer running */
        LINK_STOPPED,           /* after shutdown */
};

struct subscription {
        char *pattern;
        int qos;
};

struct mqtt_link {
        sd_event *event;
        struct mqtt_link_callbacks callbacks;
        void *userdata;

        /* Options, copied. */
        char *host, *client_id, *username, *password;
        char *tls_ca_file, *tls_cert_file, *tls_key_file;
        char *will_topic, *will_payload;
        unsigned port;
        unsigned keepalive;             /* what we ask for */
        unsigned keepalive_active;      /* what the connection uses (MQTT 5 server may lower it) */
        bool protocol_v5;
        char peer[300];

        enum link_state state;
        struct mosquitto *mosq;
        SSL_CTX *ssl_ctx;
        sd_event_source *io;
        sd_event_source *misc_timer;
        sd_event_source *retry_timer;
        sd_event_source *shutdown_timer;
        sd_event_source *done_event;
        struct resolver *resolver;
        struct backoff backoff;
        struct log_ratelimit duplicate_id_rl;

        char addresses[RESOLVER_MAX_ADDRESSES][INET6_ADDRSTRLEN];
        size_t n_addresses, address_index;
        uint64_t connect_deadline;

        struct msg_queue *queue;
        size_t in_flight_max;
        struct subscription *subscriptions;
        size_t n_subscriptions;

        /* Set from libmosquitto callbacks, acted upon after the loop call returns. */
        bool lost;
        int lost_reason;
        int lost_errno;         /* errno right where lost_reason was seen (0: none) */
        bool refused;
        int refused_reason;     /* the last refusal that was logged, -1: none */

        /* A QoS 0 message may be written, and reported, from within mosquitto_publish(). */
        bool in_publish;
        int publishing_mid;
        bool publishing_acked;
        bool pumping;
        bool in_loop;           /* inside mosquitto_loop_*(): do not destroy the client */
        bool lib_initialized;

        bool ever_connected;
        bool was_connected;     /* this attempt got a CONNACK */
        bool down_logged;       /* the loss of the broker was logged since the last connect */
        int attempt_error;      /* why the last address failed, a MOSQ_ERR_* */
        int attempt_errno;      /* and the errno that came with it */
        int connect_errno;      /* a connection error seen while starting this attempt */
        bool shutting_down;
        void (*done)(struct mqtt_link *link, void *userdata);

        uint64_t stalled_since;         /* output outstanding and no progress since; 0: none */
        bool discard_logged;            /* the messages lost at shutdown were counted in the log */

        struct log_ratelimit publish_rl;
        struct log_ratelimit rejected_rl;
        uint32_t rejected_topics[REJECTED_TOPICS_MAX];
        size_t n_rejected_topics;
        struct mqtt_link_stats stats;
};

static void link_connect_next(struct mqtt_link *link);
static void link_schedule_retry(struct mqtt_link *link);
static void link_pump(struct mqtt_link *link);
static void link_check_shutdown(struct mqtt_link *link);

static int mosq_errno(int rc) {
        switch (rc) {
        case MOSQ_ERR_SUCCESS:
                return 0;
        case MOSQ_ERR_NOMEM:
                return -ENOMEM;
        case MOSQ_ERR_NO_CONN:
        case MOSQ_ERR_CONN_LOST:
                return -ENOTCONN;
        case MOSQ_ERR_CONN_REFUSED:
                return -ECONNREFUSED;
        case MOSQ_ERR_PAYLOAD_SIZE:
        case MOSQ_ERR_OVERSIZE_PACKET:
                return -EMSGSIZE;
        case MOSQ_ERR_NOT_SUPPORTED:
        case MOSQ_ERR_QOS_NOT_SUPPORTED:
                return -EOPNOTSUPP;
        case MOSQ_ERR_KEEPALIVE:
                return -ETIMEDOUT;
        case MOSQ_ERR_TLS:
                return -EPROTO;
        case MOSQ_ERR_ERRNO:
                return errno > 0 ? -errno : -EIO;
        case MOSQ_ERR_INVAL:
        case MOSQ_ERR_MALFORMED_UTF8:
        default:
                return -EINVAL;
        }
}

/* Not an errno: what link_reason() is told of a TLS error from the connect call. */
#define EPROTO_BEFORE_HANDSHAKE (-1)

static bool errno_is_connect_error(int e) {
        switch (e) {
        case ECONNREFUSED:
        case ECONNRESET:
        case ENETUNREACH:
        case EHOSTUNREACH:
        case ENETDOWN:
        case EHOSTDOWN:
        case ETIMEDOUT:
                return true;
        default:
                return false;
        }
}

static bool host_is_numeric(const char *host) {
        unsigned char buf[sizeof(struct in6_addr)];

        return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static uint64_t link_now(struct mqtt_link *link) {
        uint64_t now;

        if (sd_event_now(link->event, CLOCK_MONOTONIC, &now) < 0)
                return 0;
        return now;
}

static int arm_timer(sd_event_source *s, uint64_t usec) {
        int r;

        r = sd_event_source_set_time(s, usec);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

/* A timer the link cannot arm leaves it in its state for good (never retrying, never
 * pinging): rather than a gateway that silently stops talking, the loop ends with the
 * error, iotgwd exits non-zero and the service manager restarts it. */
static void link_arm_or_exit(struct mqtt_link *link, sd_event_source *s, uint64_t usec,
                             const char *what) {
        int r;

        r = arm_timer(s, usec);
        if (r >= 0)
                return;
        log_error_errno(r, "mqtt: cannot arm the %s timer: %m; exiting to be restarted", what);
        (void) sd_event_exit(link->event, r);
}

/* How often mosquitto_loop_misc() runs. libmosquitto sends PINGREQ once a keep-alive
 * period passed without output, and the broker gives up after 1.5 periods without
 * input, so checking every quarter period keeps the ping well inside that window. */
static uint64_t misc_interval(const struct mqtt_link *link) {
        return MAX((uint64_t) link->keepalive_active * USEC_PER_SEC / 4, USEC_PER_SEC);
}

/* Why a connection ended or an attempt failed, in words. MOSQ_ERR_ERRNO and
 * MOSQ_ERR_CONN_LOST mean nothing without the errno of the call that failed, saved
 * where it happened: errno is cleared before every call into libmosquitto's loop, so
 * 0 there means read() returned 0, the broker closed the stream (libmosquitto only
 * says MOSQ_ERR_CONN_LOST for that before the first byte of a packet). An MQTT 5
 * broker may say why itself, with a DISCONNECT reason code (0x80 and up), which
 * libmosquitto passes in place of a MOSQ_ERR_*. */
static const char *link_reason(const struct mqtt_link *link, int rc, int error, char *buf, size_t size) {
        switch (rc) {
        case MOSQ_ERR_CONN_LOST:
        case MOSQ_ERR_ERRNO:
                if (error == ECONNRESET)
                        return "connection reset by the broker";
                if (error == 0 || error == EPIPE || rc == MOSQ_ERR_CONN_LOST)
                        return "connection closed by the broker";
                return strerror_r(error, buf, size);
        case MOSQ_ERR_KEEPALIVE:
                return link->state == LINK_CONNECTING ? "timed out" : "keep-alive timeout";
        case MOSQ_ERR_TLS:
                if (errno_is_connect_error(error))
                        return strerror_r(error, buf, size);
                /* libmosquitto 2.0.20 and later write the first handshake bytes from
                 * within the connect call: a TLS error there came before the broker
                 * said anything, so no certificate is to blame. */
                if (error == EPROTO_BEFORE_HANDSHAKE)
                        return "connection refused or reset before the TLS handshake";
                return "TLS handshake failed (certificate not trusted or not issued for this host?)";
        case MOSQ_ERR_PROTOCOL:
                return "protocol error in what the broker sent";
        case MOSQ_ERR_MALFORMED_PACKET:
                return "malformed packet from the broker";
        default:
                if (link->protocol_v5 && rc >= 0x80 && rc <= 0xff) {
                        snprintf(buf, size, "the broker closed the connection: %s",
                                 mosquitto_reason_string(rc));
                        return buf;
                }
                return mosquitto_strerror(rc);
        }
}

/* TLS */

/* libmosquitto puts the address it connects to into SNI; put the host name back
 * before the ClientHello is built, so virtual-hosted brokers pick the right cert. */
static void tls_info_cb(const SSL *ssl, int where, int ret) {
        const struct mqtt_link *link;

        if (!(where & SSL_CB_HANDSHAKE_START))
                return;
        link = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
        if (link && !host_is_numeric(link->host))
                (void) SSL_set_tlsext_host_name((SSL *) ssl, link->host);
}

/* Our own SSL_CTX: libmosquitto verifies the peer against the string passed to
 * connect, which is the resolved address; the context verifies the configured host
 * name instead, and libmosquitto is told to leave the context alone. */
static int link_setup_tls(struct mqtt_link *link) {
        X509_VERIFY_PARAM *param;
        SSL_CTX *ctx;

        ctx = SSL_CTX_new(TLS_client_method());
        if (!ctx)
                return -ENOMEM;
        link->ssl_ctx = ctx;

        if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
                return log_error_errno(EPROTO, "mqtt: cannot restrict TLS versions");
        if (SSL_CTX_load_verify_locations(ctx, link->tls_ca_file, NULL) != 1)
                return log_error_errno(EINVAL, "mqtt: cannot load CA file %s", link->tls_ca_file);
        if (link->tls_cert_file &&
            SSL_CTX_use_certificate_chain_file(ctx, link->tls_cert_file) != 1)
                return log_error_errno(EINVAL, "mqtt: cannot load certificate %s", link->tls_cert_file);
        if (link->tls_key_file &&
            (SSL_CTX_use_PrivateKey_file(ctx, link->tls_key_file, SSL_FILETYPE_PEM) != 1 ||
             SSL_CTX_check_private_key(ctx) != 1))
                return log_error_errno(EINVAL, "mqtt: cannot load key %s", link->tls_key_file);

        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        param = SSL_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (host_is_numeric(link->host)) {
                if (X509_VERIFY_PARAM_set1_ip_asc(param, link->host) != 1)
                        return log_error_errno(EINVAL, "mqtt: cannot verify against %s", link->host);
        } else if (X509_VERIFY_PARAM_set1_host(param, link->host, 0) != 1)
                return log_error_errno(EINVAL, "mqtt: cannot verify against %s", link->host);

        SSL_CTX_set_app_data(ctx, link);
        SSL_CTX_set_info_callback(ctx, tls_info_cb);
        return 0;
}

/* libmosquitto callbacks (run inside mosquitto_loop_*()) */

static void on_connect(struct mosquitto *mosq, void *userdata, int rc, int flags,
                       const mosquitto_property *props) {
        struct mqtt_link *link = userdata;
        uint16_t receive_max = IN_FLIGHT_MAX, server_keepalive = 0;

        if (rc != 0) {
                const char *reason = link->protocol_v5 ? mosquitto_reason_string(rc)
                                                       : mosquitto_connack_string(rc);

                /* Bad credentials would be refused again on every retry: say it once. */
                if (link->refused_reason != rc)
                        log_warning("mqtt: broker %s refused the connection: %s", link->peer, reason);
                link->refused_reason = rc;
                link->refused = true;
                link->lost = true;
                return;
        }

        link->state = LINK_CONNECTED;
        link->was_connected = true;
        link->refused_reason = -1;
        link->down_logged = false;
        /* Not a reset yet: a broker that drops us right away must not turn the
         * back-off into a fixed once-a-second loop (see link_handle_lost()). */
        backoff_connected(&link->backoff, link_now(link));

        (void) mosquitto_property_read_int16(props, MQTT_PROP_RECEIVE_MAXIMUM, &receive_max, false);
        link->in_flight_max = MIN((size_t) MAX(receive_max, 1), (size_t) IN_FLIGHT_MAX);
        /* An MQTT 5 broker may impose a shorter keep-alive; libmosquitto adopts it,
         * and the timer that drives it has to follow. */
        if (mosquitto_property_read_int16(props, MQTT_PROP_SERVER_KEEP_ALIVE, &server_keepalive, false) &&
            server_keepalive > 0)
                link->keepalive_active = server_keepalive;

        log_info("mqtt: connected to %s", link->peer);
        if (link->ever_connected)
                link->stats.reconnects++;
        link->ever_connected = true;

        for (size_t i = 0; i < link->n_subscriptions; i++) {
                int r = mosquitto_subscribe(mosq, NULL, link->subscriptions[i].pattern,
                                            link->subscriptions[i].qos);
                if (r != MOSQ_ERR_SUCCESS)
                        log_warning_errno(mosq_errno(r), "mqtt: cannot subscribe to %s: %m, ignoring",
                                          link->subscriptions[i].pattern);
        }

        /* What was queued while away goes out first, ahead of what the connected
         * callback publishes. */
        link_pump(link);
        if (link->callbacks.connected)
                link->callbacks.connected(link, link->userdata);
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc, const mosquitto_property *props) {
        struct mqtt_link *link = userdata;

        /* libmosquitto calls this right after the read or write that failed (and a
         * close(), which leaves errno alone when it succeeds): the errno is that call's. */
        if (!link->lost) {
                link->lost = true;
                link->lost_reason = rc;
                link->lost_errno = errno;
        }
}

static uint32_t topic_hash(const char *topic) {
        uint32_t h = 2166136261u;

        for (const unsigned char *p = (const unsigned char *) topic; *p; p++)
                h = (h ^ *p) * 16777619u;
        return h;
}

/* Once per topic (as far as a small ring remembers), and rate-limited on top. */
static void link_log_rejected(struct mqtt_link *link, const char *topic, int reason_code) {
        uint32_t h = topic_hash(topic);
        unsigned suppressed = 0;

        for (size_t i = 0; i < MIN(link->n_rejected_topics, (size_t) REJECTED_TOPICS_MAX); i++)
                if (link->rejected_topics[i] == h)
                        return;
        link->rejected_topics[link->n_rejected_topics++ % REJECTED_TOPICS_MAX] = h;

        if (log_ratelimit_test(&link->rejected_rl, link_now(link), &suppressed))
                log_entity_full(LOG_WARNING, 0, NULL, topic,
                                "mqtt: broker %s refused a message on %.128s: %s (reason %d), not retrying "
                                "(%u more suppressed)", link->peer, topic,
                                mosquitto_reason_string(reason_code), reason_code, suppressed);
}

static void on_publish(struct mosquitto *mosq, void *userdata, int mid, int reason_code,
                       const mosquitto_property *props) {
        struct mqtt_link *link = userdata;

        if (link->in_publish && mid == link->publishing_mid) {
                link->publishing_acked = true;
                return;
        }

        /* An acknowledgement (or a QoS 0 message written) is progress. */
        link->stalled_since = 0;

        /* MQTT 5: the broker refused it (not authorised, quota, ...). Retrying would get
         * the same answer; 0x10 "no matching subscribers" is a success. */
        if (reason_code >= 0x80) {
                const struct msg_queue_entry *e = msg_queue_find_in_flight(link->queue, mid);

                if (!e)
                        return;
                link_log_rejected(link, e->topic, reason_code);
                (void) msg_queue_ack(link->queue, mid);
                link->stats.rejected++;
        } else if (msg_queue_ack(link->queue, mid) < 0)
                return;
        else
                link->stats.sent++;
        link_pump(link);
        link_check_shutdown(link);
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *m,
                       const mosquitto_property *props) {
        struct mqtt_link *link = userdata;
        _cleanup_(freep) char *response_topic = NULL;
        _cleanup_(freep) void *correlation = NULL;
        uint16_t correlation_len = 0;
        struct mqtt_message msg;

        if (!link->callbacks.message || !m->topic)
                return;

        if (props) {
                (void) mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC,
                                                      &response_topic, false);
                (void) mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA,
                                                      &correlation, &correlation_len, false);
        }

        msg = (struct mqtt_message) {
                .topic = m->topic,
                .payload = m->payload,
                .len = m->payloadlen > 0 ? (size_t) m->payloadlen : 0,
                .response_topic = response_topic,
                .correlation_data = correlation,
                .correlation_len = correlation ? correlation_len : 0,
                .retained = m->retain,
        };
        link->callbacks.message(link, &msg, link->userdata);
}

/* the socket */

static void link_update_events(struct mqtt_link *link) {
        bool want_write;
        int r;

        if (!link->io || !link->mosq)
                return;
        want_write = mosquitto_want_write(link->mosq);
        /* Outstanding: bytes libmosquitto could not write yet, or messages handed over
         * and not acknowledged (or, for QoS 0, not written). */
        if (!want_write && msg_queue_in_flight(link->queue) == 0)
                link->stalled_since = 0;
        else if (link->stalled_since == 0)
                link->stalled_since = MAX(link_now(link), (uint64_t) 1);
        r = sd_event_source_set_io_events(link->io, EPOLLIN | (want_write ? EPOLLOUT : 0));
        if (r < 0)
                log_warning_errno(r, "mqtt: cannot update socket events: %m, ignoring");
}

/* Drops the client and everything tied to its socket; messages it had in flight
 * become unsent again. Never called from inside a libmosquitto callback. */
static void link_drop_client(struct mqtt_link *link) {
        size_t n;

        /* The source goes before the fd is reused by anybody. */
        link->io = sd_event_source_disable_unref(link->io);
        (void) sd_event_source_set_enabled(link->misc_timer, SD_EVENT_OFF);
        if (link->mosq) {
                mosquitto_destroy(link->mosq);
                link->mosq = NULL;
        }
        msg_queue_requeue(link->queue);
        /* Replies, errors, stats and discovery are about this connection's moment; the
         * next connect announces afresh. */
        n = msg_queue_drop_class(link->queue, MQTT_MSG_VOLATILE);
        if (n > 0)
                log_debug("mqtt: %zu unsent control messages discarded with the connection", n);
        link->stalled_since = 0;
        link->lost = false;
        link->lost_errno = 0;
        link->refused = false;
}

static void link_finish_shutdown(struct mqtt_link *link) {
        if (link->in_loop) {
                /* Inside a libmosquitto callback: the loop handler comes back here
                 * through link_handle_lost() once the client may be destroyed. */
                link->lost = true;
                link->lost_reason = MOSQ_ERR_SUCCESS;
                return;
        }
        link_drop_client(link);
        resolver_cancel(link->resolver);
        (void) sd_event_source_set_enabled(link->retry_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(link->shutdown_timer, SD_EVENT_OFF);
        link->state = LINK_STOPPED;
        link->stats.connected = false;
        /* done() runs from the loop, not from inside whatever brought us here. */
        if (link->done_event)
                (void) sd_event_source_set_enabled(link->done_event, SD_EVENT_ONESHOT);
}

/* The broker keeps dropping us right after accepting us: say what probably happens,
 * once in a while, not at every reconnect. */
static void link_check_duplicate_id(struct mqtt_link *link, unsigned short_lived) {
        if (short_lived < DUPLICATE_ID_SUSPECT)
                return;
        if (!log_ratelimit_test(&link->duplicate_id_rl, link_now(link), NULL))
                return;
        log_warning("mqtt: broker %s dropped the connection %u times in a row within %u s of "
                    "accepting it: another client is probably using the same client id \"%s\"; "
                    "give each gateway its own [mqtt] client_id (or [gateway] name)",
                    link->peer, short_lived, (unsigned) (BACKOFF_SHORT_LIVED_USEC / USEC_PER_SEC),
                    link->client_id ? link->client_id : "(random)");
}

static void link_handle_lost(struct mqtt_link *link) {
        bool was_connected = link->was_connected, refused = link->refused;
        int reason = link->lost_reason, error = link->lost_errno;
        char buf[256];

        link_drop_client(link);
        link->was_connected = false;
        link->stats.connected = false;

        if (link->shutting_down) {
                if (was_connected && reason != MOSQ_ERR_SUCCESS)
                        log_warning("mqtt: connection to %s lost during shutdown", link->peer);
                link_finish_shutdown(link);
                return;
        }

        if (was_connected) {
                log_warning("mqtt: disconnected from %s: %s", link->peer,
                            link_reason(link, reason, error, buf, sizeof(buf)));
                link->down_logged = true;
                link_check_duplicate_id(link, backoff_disconnected(&link->backoff, link_now(link)));
        }

        if (was_connected || refused) {
                if (link->callbacks.disconnected)
                        link->callbacks.disconnected(link, link->userdata);
                link_schedule_retry(link);
                return;
        }

        /* This address did not work out; the next one may. */
        link->attempt_error = reason;
        link->attempt_errno = error;
        link->address_index++;
        link_connect_next(link);
}

/* After every call into libmosquitto that may queue output or lose the connection. */
static void link_after_loop(struct mqtt_link *link) {
        if (link->in_loop)
                return;         /* the loop handler finishes the job */
        /* Output written: the next messages may go. */
        if (!link->lost)
                link_pump(link);
        if (link->lost)
                link_handle_lost(link);
        else
                link_update_events(link);
}

static int link_io_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct mqtt_link *link = userdata;
        int r;

        /* A connect that failed (refused, unreachable), or a peer that hung up before
         * the CONNACK, with nothing left to read. Under TLS libmosquitto takes the
         * socket's error for "handshake not done yet" and returns success, and the
         * level-triggered hang-up would spin the loop until the CONNACK deadline. */
        if ((revents & (EPOLLERR | EPOLLHUP)) && link->state == LINK_CONNECTING && !link->lost) {
                int error = 0, pending = 0;
                socklen_t len = sizeof(error);

                if (ioctl(fd, FIONREAD, &pending) == 0 && pending == 0) {
                        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0 || error == 0)
                                error = link->connect_errno;
                        link->lost = true;
                        link->lost_reason = MOSQ_ERR_ERRNO;
                        link->lost_errno = error;
                        link_after_loop(link);
                        return 0;
                }
        }

        link->in_loop = true;
        /* libmosquitto reads errno after a read() that returned 0, and a stale
         * EAGAIN would make it wait for more of a packet that never comes. */
        if (revents & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                errno = 0;
                r = mosquitto_loop_read(link->mosq, 1);
                if (r != MOSQ_ERR_SUCCESS && !link->lost) {
                        link->lost = true;
                        link->lost_reason = r;
                        link->lost_errno = errno;
                }
        }
        if (!link->lost && (revents & EPOLLOUT)) {
                /* The socket takes data again: that is progress. */
                link->stalled_since = 0;
                errno = 0;
                r = mosquitto_loop_write(link->mosq, 1);
                if (r != MOSQ_ERR_SUCCESS && !link->lost) {
                        link->lost = true;
                        link->lost_reason = r;
                        link->lost_errno = errno;
                }
        }
        link->in_loop = false;
        link_after_loop(link);
        return 0;
}

static int link_misc_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        struct mqtt_link *link = userdata;
        int r;

        if (!link->mosq)
                return 0;

        if (link->state == LINK_CONNECTING && usec >= link->connect_deadline) {
                log_debug("mqtt: no CONNACK from %s in time", link->peer);
                link->lost = true;
                link->lost_reason = MOSQ_ERR_KEEPALIVE;
        } else if (link->state == LINK_CONNECTED && link->stalled_since > 0 &&
                   usec - MIN(usec, link->stalled_since) >=
                   (uint64_t) link->keepalive_active * USEC_PER_SEC) {
                /* A stalled path (a cellular link, a broker that stopped reading) may keep
                 * the TCP connection, and even keep delivering to us; nothing we send
                 * arrives: the socket takes nothing, or nothing is acknowledged. */
                log_warning("mqtt: no progress sending to %s for %llu s (longer than the keep-alive), "
                            "treating the connection as lost",
                            link->peer, (unsigned long long) ((usec - link->stalled_since) / USEC_PER_SEC));
                link->lost = true;
                link->lost_reason = MOSQ_ERR_KEEPALIVE;
        } else {
                link->in_loop = true;
                errno = 0;
                r = mosquitto_loop_misc(link->mosq);
                link->in_loop = false;
                if (r != MOSQ_ERR_SUCCESS && !link->lost) {
                        link->lost = true;
                        link->lost_reason = r;
                        link->lost_errno = errno;
                }
        }

        if (!link->lost) {
                link_arm_or_exit(link, link->misc_timer, usec + misc_interval(link), "keep-alive");
        }
        link_after_loop(link);
        return 0;
}

/* connecting */

static int link_new_client(struct mqtt_link *link, struct mosquitto **ret) {
        struct mosquitto *mosq;
        int r;

        /* clean_start: the broker keeps no session for us; our queue is the session. */
        mosq = mosquitto_new(link->client_id, true, link);
        if (!mosq)
                return errno > 0 ? -errno : -ENOMEM;

        r = mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION,
                                 link->protocol_v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
        if (r == MOSQ_ERR_SUCCESS)
                r = mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
#if LIBMOSQUITTO_VERSION_NUMBER >= 2000012 && defined(MOSQ_OPT_DISABLE_SOCKETPAIR)
        if (r == MOSQ_ERR_SUCCESS)
                r = mosquitto_int_option(mosq, MOSQ_OPT_DISABLE_SOCKETPAIR, 1);
#endif
        if (r == MOSQ_ERR_SUCCESS && link->username)
                r = mosquitto_username_pw_set(mosq, link->username, link->password);
        if (r == MOSQ_ERR_SUCCESS && link->will_topic)
                r = mosquitto_will_set_v5(mosq, link->will_topic,
                                          link->will_payload ? (int) strlen(link->will_payload) : 0,
                                          link->will_payload, 1, true, NULL);
        if (r == MOSQ_ERR_SUCCESS && link->ssl_ctx) {
                r = mosquitto_void_option(mosq, MOSQ_OPT_SSL_CTX, link->ssl_ctx);
                if (r == MOSQ_ERR_SUCCESS)
                        r = mosquitto_int_option(mosq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
                /* Its own check would compare the certificate with the address. */
                if (r == MOSQ_ERR_SUCCESS)
                        r = mosquitto_tls_insecure_set(mosq, true);
        }
        if (r != MOSQ_ERR_SUCCESS) {
                mosquitto_destroy(mosq);
                return mosq_errno(r);
        }

        mosquitto_connect_v5_callback_set(mosq, on_connect);
        mosquitto_disconnect_v5_callback_set(mosq, on_disconnect);
        mosquitto_publish_v5_callback_set(mosq, on_publish);
        mosquitto_message_v5_callback_set(mosq, on_message);

        *ret = mosq;
        return 0;
}

/* Tries the resolved addresses from address_index on; falls back to the back-off
 * timer when none is left. */
static void link_connect_next(struct mqtt_link *link) {
        char buf[256];

        for (; link->address_index < link->n_addresses; link->address_index++) {
                const char *address = link->addresses[link->address_index];
                uint64_t now;
                int r, fd;

                r = link_new_client(link, &link->mosq);
                if (r < 0) {
                        log_warning_errno(r, "mqtt: cannot create client: %m");
                        break;
                }

                errno = 0;
                r = mosquitto_connect_bind_async(link->mosq, address, (int) link->port,
                                                 (int) link->keepalive, NULL);
                /* Under TLS the handshake starts at once, and a refusal shows up
                 * there, consumed and reported as "not done yet". */
                link->connect_errno = errno_is_connect_error(errno) ? errno : 0;
                if (r != MOSQ_ERR_SUCCESS) {
                        link->attempt_error = r;
                        link->attempt_errno = link->connect_errno ?: errno;
                        if (r == MOSQ_ERR_TLS && !link->connect_errno)
                                link->attempt_errno = EPROTO_BEFORE_HANDSHAKE;
                        log_debug("mqtt: cannot connect to %s port %u: %s", address, link->port,
                                  link_reason(link, r, link->attempt_errno, buf, sizeof(buf)));
                        link_drop_client(link);
                        continue;
                }

                fd = mosquitto_socket(link->mosq);
                r = sd_event_add_io(link->event, &link->io, fd, EPOLLIN, link_io_handler, link);
                if (r < 0) {
                        log_warning_errno(r, "mqtt: cannot watch socket: %m");
                        link_drop_client(link);
                        break;
                }
                (void) sd_event_source_set_description(link->io, "mqtt-socket");

                now = link_now(link);
                link->keepalive_active = link->keepalive;
                link->connect_deadline = now + (uint64_t) link->keepalive * USEC_PER_SEC;
                link_arm_or_exit(link, link->misc_timer, now + misc_interval(link), "keep-alive");

                log_debug("mqtt: connecting to %s (%s)", link->peer, address);
                link->state = LINK_CONNECTING;
                link_update_events(link);
                return;
        }

        if (!link->down_logged) {
                log_warning("mqtt: cannot reach broker %s: %s, retrying", link->peer,
                            link->attempt_error == MOSQ_ERR_KEEPALIVE ? "timed out" :
                            link_reason(link, link->attempt_error, link->attempt_errno, buf, sizeof(buf)));
                link->down_logged = true;
        }
        link_schedule_retry(link);
}

static void on_resolved(struct resolver *resolver, int error,
                        const char (*addresses)[INET6_ADDRSTRLEN], size_t n, void *userdata) {
        struct mqtt_link *link = userdata;

        if (error < 0) {
                if (!link->down_logged) {
                        log_warning_errno(error, "mqtt: cannot resolve %s: %s, retrying", link->host,
                                          resolver_strerror(error));
                        link->down_logged = true;
                }
                link_schedule_retry(link);
                return;
        }

        memcpy(link->addresses, addresses, n * sizeof(addresses[0]));
        link->n_addresses = n;
        link->address_index = 0;
        link_connect_next(link);
}

static void link_attempt(struct mqtt_link *link) {
        int r;

        link->attempt_error = MOSQ_ERR_NO_CONN;
        link->attempt_errno = 0;

        if (host_is_numeric(link->host)) {
                snprintf(link->addresses[0], sizeof(link->addresses[0]), "%s", link->host);
                link->n_addresses = 1;
                link->address_index = 0;
                link_connect_next(link);
                return;
        }

        link->state = LINK_RESOLVING;
        /* on_resolved() follows from the loop. */
        r = resolver_resolve(link->resolver, link->host, on_resolved, link);
        if (r < 0) {
                log_warning_errno(r, "mqtt: cannot resolve %s: %m, retrying", link->host);
                link_schedule_retry(link);
        }
}

static int link_retry_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        link_attempt(userdata);
        return 0;
}

static void link_schedule_retry(struct mqtt_link *link) {
        uint64_t delay = backoff_next(&link->backoff);

        link->state = LINK_WAITING;
        log_debug("mqtt: next attempt to reach %s in %llu ms", link->peer,
                  (unsigned long long) (delay / USEC_PER_MSEC));
        link_arm_or_exit(link, link->retry_timer, link_now(link) + delay, "reconnect");
}

/* sending */

/* Errors that will not go away by trying again: the message can never be sent. */
static bool mosq_error_is_permanent(int rc) {
        switch (rc) {
        case MOSQ_ERR_INVAL:
        case MOSQ_ERR_MALFORMED_UTF8:
        case MOSQ_ERR_PAYLOAD_SIZE:
        case MOSQ_ERR_OVERSIZE_PACKET:
        case MOSQ_ERR_QOS_NOT_SUPPORTED:
        case MOSQ_ERR_NOT_SUPPORTED:
                return true;
        default:
                return false;
        }
}

/* Hands queued messages to libmosquitto, oldest first, while connected and below the
 * in-flight cap. */
static void link_pump(struct mqtt_link *link) {
        const struct msg_queue_entry *e;

        if (link->pumping || link->state != LINK_CONNECTED || !link->mosq)
                return;
        link->pumping = true;

        /* One packet at a time while libmosquitto cannot write: what is not handed over
         * stays in our queue, where it is bounded, coalesced and dropped by class. */
        while (msg_queue_in_flight(link->queue) < link->in_flight_max &&
               !mosquitto_want_write(link->mosq) &&
               (e = msg_queue_peek_unsent(link->queue))) {
                mosquitto_property *props = NULL;
                int r, mid = 0;

                if (e->correlation_len > 0) {
                        r = mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA,
                                                          e->correlation_data,
                                                          (uint16_t) e->correlation_len);
                        if (r != MOSQ_ERR_SUCCESS) {
                                log_warning_errno(mosq_errno(r), "mqtt: cannot reply on %s: %m, dropping",
                                                  e->topic);
                                msg_queue_mark_in_flight(link->queue, e, -1);
                                (void) msg_queue_ack(link->queue, -1);
                                link->stats.dropped++;
                                continue;
                        }
                }

                link->in_publish = true;
                link->publishing_acked = false;
                link->publishing_mid = -1;
                /* libmosquitto stores the packet id through the pointer before it
                 * writes, so on_publish() can recognise a QoS 0 message written
                 * from within this call. */
                r = mosquitto_publish_v5(link->mosq, &link->publishing_mid, e->topic, (int) e->len,
                                         e->payload, e->qos, e->retain, props);
                mosquitto_property_free_all(&props);
                link->in_publish = false;
                mid = link->publishing_mid;

                if (r != MOSQ_ERR_SUCCESS && mosq_error_is_permanent(r)) {
                        unsigned suppressed = 0;

                        if (log_ratelimit_test(&link->publish_rl, link_now(link), &suppressed))
                                log_entity_full(LOG_WARNING, mosq_errno(r), NULL, e->topic,
                                                "mqtt: cannot publish to %s: %m, dropping (%u more suppressed)",
                                                e->topic, suppressed);
                        /* Take it out through the normal path and count it as dropped. */
                        msg_queue_mark_in_flight(link->queue, e, mid);
                        (void) msg_queue_ack(link->queue, mid);
                        link->stats.dropped++;
                        continue;
                }

                /* Any other error means the connection is going away; the message is
                 * requeued with the rest when the loss is noticed. */
                msg_queue_mark_in_flight(link->queue, e, mid);
                if (r != MOSQ_ERR_SUCCESS)
                        break;
                if (link->publishing_acked) {
                        (void) msg_queue_ack(link->queue, mid);
                        link->stats.sent++;
                }
        }

        link->pumping = false;
}

/* shutdown */

static void link_check_shutdown(struct mqtt_link *link) {
        int r;

        if (!link->shutting_down || link->state != LINK_CONNECTED || msg_queue_count(link->queue) > 0)
                return;

        /* Everything acknowledged: a normal DISCONNECT, so the broker drops the will. */
        link->state = LINK_STOPPED;
        r = mosquitto_disconnect_v5(link->mosq, MQTT_RC_NORMAL_DISCONNECTION, NULL);
        if (r != MOSQ_ERR_SUCCESS) {
                /* The loss handler finishes the shutdown. */
                link->lost = true;
                link->lost_reason = MOSQ_ERR_SUCCESS;
        }
        /* Otherwise on_disconnect() follows once the DISCONNECT is written. */
}

/* Nothing keeps the queue across a restart yet: say what is lost, once. */
static void link_log_discarded(struct mqtt_link *link, const char *why) {
        size_t n = msg_queue_count(link->queue);

        if (link->discard_logged || n == 0)
                return;
        link->discard_logged = true;
        log_warning("mqtt: %s: discarding %zu queued messages (%zu bytes)", why, n,
                    msg_queue_bytes(link->queue));
}

static int link_shutdown_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        struct mqtt_link *link = userdata;

        log_warning("mqtt: %zu messages not acknowledged by %s at shutdown",
                    msg_queue_count(link->queue), link->peer);
        link_log_discarded(link, "shutting down");
        if (link->mosq && link->was_connected)
                (void) mosquitto_disconnect_v5(link->mosq, MQTT_RC_NORMAL_DISCONNECTION, NULL);
        link_finish_shutdown(link);
        return 0;
}

static int link_done_handler(sd_event_source *s, void *userdata) {
        struct mqtt_link *link = userdata;

        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        if (link->done)
                link->done(link, link->userdata);
        return 0;
}

int mqtt_link_shutdown(struct mqtt_link *link, const char *final_payload, uint64_t timeout_usec,
                       void (*done)(struct mqtt_link *link, void *userdata)) {
        int r;

        if (!link)
                return -EINVAL;
        if (link->shutting_down)
                return -EALREADY;

        link->shutting_down = true;
        link->done = done;

        r = sd_event_add_defer(link->event, &link->done_event, link_done_handler, link);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(link->done_event, SD_EVENT_OFF);

        if (link->state != LINK_CONNECTED) {
                /* Nobody to say goodbye to; the will tells the broker's subscribers. */
                char why[sizeof(link->peer) + 64];

                snprintf(why, sizeof(why), "shutting down while broker %s is unreachable", link->peer);
                link_log_discarded(link, why);
                link_finish_shutdown(link);
                return 0;
        }

        if (link->will_topic && final_payload) {
                r = msg_queue_push(link->queue, MQTT_MSG_STATE, 1, true, link->will_topic,
                                   final_payload, strlen(final_payload));
                if (r < 0)
                        log_warning_errno(r, "mqtt: cannot queue final status: %m, ignoring");
        }

        r = sd_event_add_time_relative(link->event, &link->shutdown_timer, CLOCK_MONOTONIC,
                                       timeout_usec, 0, link_shutdown_timeout, link);
        if (r < 0)
                return r;

        link_pump(link);
        link_check_shutdown(link);
        link_after_loop(link);
        return 0;
}

/* public API */

static int strdup_opt(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static void mqtt_link_freep(struct mqtt_link **l) {
        mqtt_link_free(*l);
}

int mqtt_link_new(sd_event *event, const struct mqtt_link_options *options,
                  const struct mqtt_link_callbacks *callbacks, void *userdata,
                  struct mqtt_link **ret) {
        _cleanup_(mqtt_link_freep) struct mqtt_link *link = NULL;
        uint64_t seed = 0;
        int r;

        if (!event || !options || !options->host || !options->host[0] || !ret)
                return -EINVAL;
        if (options->port == 0 || options->port > 65535)
                return -EINVAL;
        if (options->will_topic && mosquitto_pub_topic_check(options->will_topic) != MOSQ_ERR_SUCCESS)
                return -EINVAL;

        link = calloc(1, sizeof(*link));
        if (!link)
                return -ENOMEM;
        link->event = sd_event_ref(event);
        if (callbacks)
                link->callbacks = *callbacks;
        link->userdata = userdata;
        link->state = LINK_IDLE;
        link->refused_reason = -1;
        link->in_flight_max = IN_FLIGHT_MAX;
        link->port = options->port;
        link->protocol_v5 = options->protocol_v5;
        /* libmosquitto refuses keep-alives below 5 s; 0 would also leave a dead TCP
         * connection undetected. */
        link->keepalive = options->keepalive == 0 ? DEFAULT_KEEPALIVE : MAX(options->keepalive, 5u);
        link->publish_rl = (struct log_ratelimit) LOG_RATELIMIT_INIT(60 * USEC_PER_SEC, 5);
        link->rejected_rl = (struct log_ratelimit) LOG_RATELIMIT_INIT(60 * USEC_PER_SEC, 5);

        if ((r = strdup_opt(options->host, &link->host)) < 0 ||
            (r = strdup_opt(options->client_id, &link->client_id)) < 0 ||
            (r = strdup_opt(options->username, &link->username)) < 0 ||
            (r = strdup_opt(options->password, &link->password)) < 0 ||
            (r = strdup_opt(options->tls_ca_file, &link->tls_ca_file)) < 0 ||
            (r = strdup_opt(options->tls_cert_file, &link->tls_cert_file)) < 0 ||
            (r = strdup_opt(options->tls_key_file, &link->tls_key_file)) < 0 ||
            (r = strdup_opt(options->will_topic, &link->will_topic)) < 0 ||
            (r = strdup_opt(options->will_payload, &link->will_payload)) < 0)
                return r;

        if (strchr(link->host, ':'))
                snprintf(link->peer, sizeof(link->peer), "[%s]:%u", link->host, link->port);
        else
                snprintf(link->peer, sizeof(link->peer), "%s:%u", link->host, link->port);

        r = msg_queue_new(MAX(options->queue_max_messages, (size_t) 1),
                          MAX(options->queue_max_bytes, (size_t) 1), &link->queue);
        if (r < 0)
                return r;

        if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
                seed = (uint64_t) time(NULL) ^ ((uint64_t) getpid() << 32);
        backoff_init(&link->backoff, BACKOFF_MIN_USEC, BACKOFF_MAX_USEC, seed);
        link->duplicate_id_rl = (struct log_ratelimit) LOG_RATELIMIT_INIT(DUPLICATE_ID_WARN_INTERVAL, 1);

        r = mosquitto_lib_init();
        if (r != MOSQ_ERR_SUCCESS)
                return mosq_errno(r);
        link->lib_initialized = true;

        if (link->tls_ca_file) {
                r = link_setup_tls(link);
                if (r < 0)
                        return r;
        }

        r = resolver_new(event, &link->resolver);
        if (r < 0)
                return r;

        r = sd_event_add_time(event, &link->misc_timer, CLOCK_MONOTONIC, UINT64_MAX, 0,
                              link_misc_handler, link);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(link->misc_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(link->misc_timer, "mqtt-keepalive");

        r = sd_event_add_time(event, &link->retry_timer, CLOCK_MONOTONIC, UINT64_MAX, 0,
                              link_retry_handler, link);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(link->retry_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(link->retry_timer, "mqtt-reconnect");

        *ret = TAKE_PTR(link);
        return 0;
}

int mqtt_link_start(struct mqtt_link *link) {
        if (!link)
                return -EINVAL;
        if (link->state != LINK_IDLE)
                return -EALREADY;
        log_info("mqtt: connecting to %s%s", link->peer, link->ssl_ctx ? " with TLS" : "");
        link_attempt(link);
        return 0;
}

int mqtt_link_subscribe(struct mqtt_link *link, const char *pattern, int qos) {
        struct subscription *subs;
        int r;

        if (!link || !pattern || qos < 0 || qos > 2)
                return -EINVAL;
        if (mosquitto_sub_topic_check(pattern) != MOSQ_ERR_SUCCESS)
                return -EINVAL;

        for (size_t i = 0; i < link->n_subscriptions; i++)
                if (streq(link->subscriptions[i].pattern, pattern)) {
                        link->subscriptions[i].qos = qos;
                        goto subscribe_now;
                }

        subs = realloc(link->subscriptions, (link->n_subscriptions + 1) * sizeof(*subs));
        if (!subs)
                return -ENOMEM;
        link->subscriptions = subs;
        subs[link->n_subscriptions].pattern = strdup(pattern);
        if (!subs[link->n_subscriptions].pattern)
                return -ENOMEM;
        subs[link->n_subscriptions].qos = qos;
        link->n_subscriptions++;

subscribe_now:
        if (link->state != LINK_CONNECTED)
                return 0;
        r = mosquitto_subscribe(link->mosq, NULL, pattern, qos);
        link_after_loop(link);
        /* Not connected after all: renewed on the next connect. */
        if (r == MOSQ_ERR_NO_CONN || r == MOSQ_ERR_CONN_LOST)
                return 0;
        return mosq_errno(r);
}

static int link_queue(struct mqtt_link *link, enum mqtt_msg_class cls, const char *topic,
                      const void *payload, size_t len, int qos, bool retain,
                      const void *correlation, size_t correlation_len) {
        int r;

        if (cls == MQTT_MSG_VOLATILE && (link->state != LINK_CONNECTED || link->shutting_down))
                return -ENOTCONN;
        if (len > MQTT_MAX_PAYLOAD) {
                link->stats.dropped++;
                return -EMSGSIZE;
        }

        /* Counts what it drops or refuses itself. */
        r = msg_queue_push_correlated(link->queue, cls, qos, retain, topic, payload, len,
                                      correlation, correlation_len);
        if (r < 0)
                return r;

        link_after_loop(link);
        return 0;
}

int mqtt_link_publish(struct mqtt_link *link, const char *topic, const void *payload,
                      size_t len, int qos, bool retain, enum mqtt_msg_class cls) {
        if (!link || !topic || !topic[0] || (len > 0 && !payload) || qos < 0 || qos > 2)
                return -EINVAL;
        if (cls != MQTT_MSG_READING && cls != MQTT_MSG_STATE && cls != MQTT_MSG_VOLATILE &&
            cls != MQTT_MSG_REFRESH)
                return -EINVAL;
        /* Checked here so that a bad topic never sits in the queue. */
        if (mosquitto_validate_utf8(topic, (int) strlen(topic)) != MOSQ_ERR_SUCCESS ||
            mosquitto_pub_topic_check(topic) != MOSQ_ERR_SUCCESS)
                return -EINVAL;

        return link_queue(link, cls, topic, payload, len, qos, retain, NULL, 0);
}

int mqtt_link_reply(struct mqtt_link *link, const struct mqtt_message *request,
                    const void *payload, size_t len) {
        if (!link || !request || (len > 0 && !payload))
                return -EINVAL;
        if (!link->protocol_v5)
                return -EOPNOTSUPP;
        if (!request->response_topic || !request->response_topic[0] ||
            mosquitto_validate_utf8(request->response_topic, (int) strlen(request->response_topic)) != MOSQ_ERR_SUCCESS ||
            mosquitto_pub_topic_check(request->response_topic) != MOSQ_ERR_SUCCESS)
                return -EINVAL;
        if (request->correlation_len > UINT16_MAX || (request->correlation_len > 0 && !request->correlation_data))
                return -EINVAL;

        return link_queue(link, MQTT_MSG_VOLATILE, request->response_topic, payload, len, 0, false,
                          request->correlation_data,
                          request->correlation_data ? request->correlation_len : 0);
}

bool mqtt_link_connected(const struct mqtt_link *link) {
        return link && link->state == LINK_CONNECTED;
}

const char *mqtt_link_peer(const struct mqtt_link *link) {
        return link ? link->peer : NULL;
}

void mqtt_link_get_stats(const struct mqtt_link *link, struct mqtt_link_stats *ret) {
        *ret = link->stats;
        ret->queued = msg_queue_count(link->queue);
        /* The queue counts its own drops and refusals; the link those it gave up on. */
        ret->dropped = link->stats.dropped + msg_queue_dropped(link->queue);
        ret->connected = link->state == LINK_CONNECTED;
}

struct mqtt_link *mqtt_link_free(struct mqtt_link *link) {
        if (!link)
                return NULL;

        if (link->queue)
                link_log_discarded(link, "link closed");
        link->io = sd_event_source_disable_unref(link->io);
        if (link->mosq)
                mosquitto_destroy(link->mosq);
        link->resolver = resolver_free(link->resolver);
        link->misc_timer = sd_event_source_disable_unref(link->misc_timer);
        link->retry_timer = sd_event_source_disable_unref(link->retry_timer);
        link->shutdown_timer = sd_event_source_disable_unref(link->shutdown_timer);
        link->done_event = sd_event_source_disable_unref(link->done_event);
        if (link->ssl_ctx)
                SSL_CTX_free(link->ssl_ctx);
        msg_queue_free(link->queue);
        if (link->lib_initialized)
                mosquitto_lib_cleanup();

        for (size_t i = 0; i < link->n_subscriptions; i++)
                free(link->subscriptions[i].pattern);
        free(link->subscriptions);
        free(link->host);
        free(link->client_id);
        free(link->username);
        free(link->password);
        free(link->tls_ca_file);
        free(link->tls_cert_file);
        free(link->tls_key_file);
        free(link->will_topic);
        free(link->will_payload);
        sd_event_unref(link->event);
        return mfree(link);
}
