/* SPDX-License-Identifier: MIT */
/* Integration tests of the MQTT link against a real mosquitto: connect by address and
 * by name (the system resolver), retained publish, subscriptions, queueing while the broker is down,
 * reconnect with resubscription and in-order delivery, in-flight messages surviving a
 * broker crash, the queue's drop policy, keep-alive, MQTT 5 request/reply, a clean
 * shutdown, and TLS verified against the host name. The loop runs until a condition
 * holds or a deadline passes. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-event.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "broker.h"
#include "log.h"
#include "macro.h"
#include "mqtt-link.h"

#define WAIT_USEC (10 * USEC_PER_SEC)

struct ctx {
        sd_event *event;
        struct mqtt_link *link;
        struct test_broker *broker;
        struct test_client *client;
        sd_event_source *client_source;
        unsigned connected, disconnected;
        unsigned n_messages;
        char last_topic[128];
        char last_payload[128];
        char last_response_topic[128];
        char last_correlation[32];
        bool reply;
        unsigned keepalive;
        bool done;
};

static struct ctx ctx;

static void on_connected(struct mqtt_link *link, void *userdata) {
        struct ctx *c = userdata;

        c->connected++;
}

static void on_disconnected(struct mqtt_link *link, void *userdata) {
        struct ctx *c = userdata;

        c->disconnected++;
}

static void on_message(struct mqtt_link *link, const struct mqtt_message *msg, void *userdata) {
        struct ctx *c = userdata;

        c->n_messages++;
        snprintf(c->last_topic, sizeof(c->last_topic), "%s", msg->topic);
        snprintf(c->last_payload, sizeof(c->last_payload), "%.*s", (int) MIN(msg->len, (size_t) 100),
                 (const char *) msg->payload);
        snprintf(c->last_response_topic, sizeof(c->last_response_topic), "%s",
                 msg->response_topic ? msg->response_topic : "");
        snprintf(c->last_correlation, sizeof(c->last_correlation), "%.*s",
                 (int) MIN(msg->correlation_len, (size_t) 30),
                 msg->correlation_data ? (const char *) msg->correlation_data : "");
        if (c->reply)
                ck_assert_int_eq(mqtt_link_reply(link, msg, "pong", 4), 0);
}

static const struct mqtt_link_callbacks callbacks = {
        .connected = on_connected,
        .disconnected = on_disconnected,
        .message = on_message,
};

/* The test client's messages arrive on its own thread; its eventfd wakes our loop. */
static int client_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        uint64_t v;

        (void) read(fd, &v, sizeof(v));
        return 0;
}

static void setup(void) {
        int r;

        memset(&ctx, 0, sizeof(ctx));
        ck_assert_int_eq(sd_event_new(&ctx.event), 0);
        r = test_broker_start(NULL, &ctx.broker);
        ck_assert_msg(r == 0, "cannot start mosquitto: %s", strerror(-r));
}

static void teardown(void) {
        ctx.link = mqtt_link_free(ctx.link);
        ctx.client_source = sd_event_source_disable_unref(ctx.client_source);
        ctx.client = test_client_free(ctx.client);
        ctx.broker = test_broker_free(ctx.broker);
        ctx.event = sd_event_unref(ctx.event);
}

static void client_connect(void) {
        ctx.client_source = sd_event_source_disable_unref(ctx.client_source);
        ctx.client = test_client_free(ctx.client);
        ck_assert_int_eq(test_client_new(test_broker_port(ctx.broker), &ctx.client), 0);
        ck_assert_int_eq(sd_event_add_io(ctx.event, &ctx.client_source,
                                         test_client_event_fd(ctx.client), EPOLLIN,
                                         client_event, NULL), 0);
}

static void link_create(const char *host, bool v5, size_t max_messages) {
        struct mqtt_link_options o = {
                .host = host,
                .port = test_broker_port(ctx.broker),
                .client_id = "iotgwd-test",
                .keepalive = ctx.keepalive ? ctx.keepalive : 30,
                .protocol_v5 = v5,
                .will_topic = "gw/status",
                .will_payload = "lost",
                .queue_max_messages = max_messages,
                .queue_max_bytes = 64 * 1024,
        };

        ck_assert_int_eq(mqtt_link_new(ctx.event, &o, &callbacks, &ctx, &ctx.link), 0);
}

typedef bool (*cond_fn)(void *arg);

/* Runs the loop until cond() holds; false when the deadline passed first. */
static bool run_until(cond_fn cond, void *arg, uint64_t timeout_usec) {
        uint64_t now, deadline;

        ck_assert_int_ge(sd_event_now(ctx.event, CLOCK_MONOTONIC, &now), 0);
        deadline = now + timeout_usec;
        while (!cond(arg)) {
                ck_assert_int_ge(sd_event_now(ctx.event, CLOCK_MONOTONIC, &now), 0);
                if (now >= deadline)
                        return false;
                ck_assert_int_ge(sd_event_run(ctx.event, deadline - now), 0);
        }
        return true;
}

static bool connected_at_least(void *arg) {
        return ctx.connected >= *(unsigned *) arg;
}

static bool disconnected_at_least(void *arg) {
        return ctx.disconnected >= *(unsigned *) arg;
}

static bool queue_empty(void *arg) {
        struct mqtt_link_stats st;

        mqtt_link_get_stats(ctx.link, &st);
        return st.queued == 0;
}

static bool got_messages(void *arg) {
        return ctx.n_messages >= *(unsigned *) arg;
}

struct wanted {
        const char *topic, *payload;
        struct test_message *msg;
};

static bool client_has(void *arg) {
        struct wanted *w = arg;

        return test_client_take(ctx.client, w->topic, w->payload, &w->msg) == 0;
}

static bool is_done(void *arg) {
        return ctx.done;
}

static void wait_connected(unsigned n) {
        ck_assert_msg(run_until(connected_at_least, &n, WAIT_USEC), "link did not connect");
        ck_assert(mqtt_link_connected(ctx.link));
}

static void check_publish_and_subscribe(void) {
        struct test_message *m = NULL;
        unsigned one = 1;
        struct wanted w = { .topic = "cmd/led", .payload = "toggle" };

        ck_assert_int_eq(mqtt_link_subscribe(ctx.link, "cmd/#", 1), 0);
        ck_assert_int_eq(mqtt_link_start(ctx.link), 0);
        wait_connected(1);

        /* Acknowledged after the SUBSCRIBE that went first: the subscription is in place. */
        ck_assert_int_eq(mqtt_link_publish(ctx.link, "gw/led/state", "on", 2, 1, true,
                                           MQTT_MSG_STATE), 0);
        ck_assert(run_until(queue_empty, NULL, WAIT_USEC));

        /* A client that comes later gets the retained state. */
        client_connect();
        ck_assert_int_eq(test_client_subscribe(ctx.client, "gw/led/state"), 0);
        ck_assert_int_eq(test_client_wait(ctx.client, "gw/led/state", "on", WAIT_USEC, &m), 0);
        ck_assert(m->retain);
        test_message_free(m);

        /* The subscription is live: a command reaches the link. */
        ck_assert_int_eq(test_client_publish(ctx.client, "cmd/led", "toggle", 1, false), 0);
        ck_assert(run_until(got_messages, &one, WAIT_USEC));
        ck_assert_str_eq(ctx.last_topic, "cmd/led");
        ck_assert_str_eq(ctx.last_payload, "toggle");

        /* VOLATILE goes out at once while connected. */
        ck_assert_int_eq(test_client_subscribe(ctx.client, "gw/volatile"), 0);
        ck_assert_int_eq(mqtt_link_publish(ctx.link, "gw/volatile", "v", 1, 0, false,
                                           MQTT_MSG_VOLATILE), 0);
        w = (struct wanted) { .topic = "gw/volatile", .payload = "v" };
        ck_assert(run_until(client_has, &w, WAIT_USEC));
        test_message_free(w.msg);
}

START_TEST(test_connect_numeric) {
        char peer[64];

        link_create("127.0.0.1", false, 100);
        snprintf(peer, sizeof(peer), "127.0.0.1:%u", test_broker_port(ctx.broker));
        ck_assert_str_eq(mqtt_link_peer(ctx.link), peer);
        check_publish_and_subscribe();
}
END_TEST

START_TEST(test_connect_localhost_v5) {
        /* "localhost" goes through the system resolver. */
        link_create("localhost", true, 100);
        check_publish_and_subscribe();
}
END_TEST

START_TEST(test_volatile_needs_connection) {
        link_create("127.0.0.1", false, 100);
        ck_assert_int_eq(mqtt_link_publish(ctx.link, "gw/x", "1", 1, 0, false, MQTT_MSG_VOLATILE),
                         -ENOTCONN);
        ck_assert_int_eq(mqtt_link_publish(ctx.link, "gw/+", "1", 1, 0, false, MQTT_MSG_STATE),
                         -EINVAL);
        ck_assert_int_eq(mqtt_link_reply(ctx.link, &(struct mqtt_message) { .response_topic = "r" },
                                         "x", 1), -EOPNOTSUPP);
}
END_TEST

#define N_QUEUED 10

START_TEST(test_reconnect_delivers_queue) {
        unsigned one = 1, two = 2, cmds;
        bool seen[N_QUEUED] = {};
        int next_new = 0;
        struct mqtt_link_stats st;
        link_create("localhost", false, 100);
        ck_assert_int_eq(mqtt_link_subscribe(ctx.link, "cmd/#", 1), 0);
        ck_assert_int_eq(mqtt_link_start(ctx.link), 0);
        wait_connected(1);

        ck_assert_int_eq(test_broker_stop(ctx.broker), 0);
        ck_assert_msg(run_until(disconnected_at_least, &one, WAIT_USEC), "loss not noticed");
        ck_assert(!mqtt_link_connected(ctx.link));

        for (int i = 0; i < N_QUEUED; i++) {
                char p[16];

                snprintf(p, sizeof(p), "%d", i);
                ck_assert_int_eq(mqtt_link_publish(ctx.link, "gw/q", p, strlen(p), 1, false,
                                                   MQTT_MSG_READING), 0);
        }
        mqtt_link_get_stats(ctx.link, &st);
        ck_assert_uint_eq(st.queued, N_QUEUED);

        /* Restart and subscribe before the link's retry timer can fire: it only runs
         * inside sd_event_run(). */
        ck_assert_int_eq(test_broker_restart(ctx.broker), 0);
        client_connect();
        ck_assert_int_eq(test_client_subscribe(ctx.client, "gw/q"), 0);

        ck_assert_msg(run_until(connected_at_least, &two, 30 * USEC_PER_SEC), "no reconnect");

        /* Every message arrives; QoS 1 may repeat after a reconnect, but the first
         * sighting of each comes in order. */
        for (int got = 0; got < N_QUEUED;) {
                struct wanted q = { .topic = "gw/q" };
                int v;

                ck_assert_msg(run_until(client_has, &q, WAIT_USEC), "message %d missing", next_new);
                v = atoi(q.msg->payload);
                test_message_free(q.msg);
                ck_assert_int_ge(v, 0);
                ck_assert_int_lt(v, N_QUEUED);
                if (!seen[v]) {
                        ck_assert_int_eq(v, next_new);
                        seen[v] = true;
                        next_new++;
                        got++;
                }
        }
        ck_assert(run_until(queue_empty, NULL, WAIT_USEC));

        /* Resubscribed by itself. */
        cmds = ctx.n_messages + 1;
        ck_assert_int_eq(test_client_publish(ctx.client, "cmd/after", "x", 1, false), 0);
        ck_assert(run_until(got_messages, &cmds, WAIT_USEC));
        ck_assert_str_eq(ctx.last_topic, "cmd/after");

        mqtt_link_get_stats(ctx.link, &st);
        ck_assert_uint_eq(st.reconnects, 1);
        ck_assert_uint_eq(st.dropped, 0);
        ck_assert(st.connected);
}
END_TEST

START_TEST(test_in_flight_survives_broker_crash) {
        unsigned one = 1, two = 2;
        bool seen[N_QUEUED] = {};
        struct mqtt_link_stats st;
        int next_new = 0;

        link_create("127.0.0.1", false, 100);
        ck_assert_int_eq(mqtt_link_start(ctx.link), 0);
        wait_connected(1);

        /* Frozen: the messages are written to the socket but never acknowledged. */
        ck_assert_int_eq(test_broker_freeze(ctx.broker), 0);
        for (int i = 0; i < N_QUEUED; i++) {
                char p[16];

                snprintf(p, sizeof(p), "%d", i);
                ck_assert_int_eq(mqtt_link_publish(ctx.link, "gw/f", p, strlen(p), 1, false,
                                                   MQTT_MSG_STATE), 0);
        }
        mqtt_link_get_stats(ctx.link, &st);
        ck_assert_uint_eq(st.queued, N_QUEUED);
        ck_assert_uint_eq(st.sent, 0);

        ck_assert_int_eq(test_broker_kill(ctx.broker), 0);
        ck_assert_msg(run_until(disconnected_at_least, &one, WAIT_USEC), "loss not noticed");
        mqtt_link_get_stats(ctx.link, &st);
        ck_assert_uint_eq(st.queued, N_QUEUED);

        ck_assert_int_eq(test_broker_restart(ctx.broker), 0);
        client_connect();
        ck_assert_int_eq(test_client_subscribe(ctx.client, "gw/f"), 0);
        ck_assert_msg(run_until(connected_at_least, &two, 30 * USEC_PER_SEC), "no reconnect");

        for (int got = 0; got < N_QUEUED;) {
                struct wanted q = { .topic = "gw/f" };
                int v;

                ck_assert_msg(run_until(client_has, &q, WAIT_USEC), "message %d lost", next_new);
                v = atoi(q.msg->payload);
                test_message_free(q.msg);
                ck_assert_int_ge(v, 0);
                ck_assert_int_lt(v, N_QUEUED);
                if (!seen[v]) {
                        ck_assert_int_eq(v, next_new);
                        seen[v] = true;
                        next_new++;
                        got++;
                }
        }
        ck_assert(run_until(queue_empty, NULL, WAIT_USEC));
        mqtt_link_get_stats(ctx.link, &st);
        ck_assert_uint_eq(st.sent, N_QUEUED);
}
END_TEST

START_TEST(test_keepalive_detects_dead_broker) {
        unsigned one = 1;

        /* A frozen broker keeps the TCP connection open: only the keep-alive
         * (PINGREQ from the misc timer, then its timeout) can notice. */
        ctx.keepalive = 5;
        link_create("127.0.0.1", false, 100);
        ck_assert_int_eq(mqtt_link_start(ctx.link), 0);
        wait_connected(1);
        ck_assert_int_eq(test_broker_freeze(ctx.broker), 0);
        ck_assert_msg(run_until(disconnected_at_least, &one, 30 * USEC_PER_SEC), "dead broker not noticed");
        ck_assert(!mqtt_link_connected(ctx.link));
}
END_TEST

START_TEST(test_queue_drops_readings_first) {
        static const char *const expected[] = { "s0", "s1", "s2", "r3", "r4" };
        struct mqtt_link_stats st;

        link_create("127.0.0.1", false, 5);
        /* Not started: everything waits in the queue of 5. */
        for (int i = 0; i < 3; i++) {
                char p[8];

                snprintf(p, sizeof(p), "s%d", i);
                ck_assert_int_eq(mqtt_link_publish(ctx.link, "lim/x", p, 2, 1, false, MQTT_MSG_STATE), 0);
        }
        for (int i = 0; i < 5; i++) {
                char p[8];

                snprintf(p, sizeof(p), "r%d", i);
                ck_assert_int_eq(mqtt_link_publish(ctx.link, "lim/x", p, 2, 1, false, MQTT_MSG_READING), 0);
        }
        mqtt_link_get_stats(ctx.link, &st);
        ck_assert_uint_eq(st.queued, 5);
        ck_assert_uint_eq(st.dropped, 3);

        client_connect();
        ck_assert_int_eq(test_client_subscribe(ctx.client, "lim/x"), 0);
        ck_assert_int_eq(mqtt_link_start(ctx.link), 0);
        wait_connected(1);

        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                struct wanted q = { .topic = "lim/x" };

                ck_assert(run_until(client_has, &q, WAIT_USEC));
                ck_assert_str_eq(q.msg->payload, expected[i]);
                test_message_free(q.msg);
        }
}
END_TEST

static bool all_sent(void *arg) {
        struct mqtt_link_stats st;

        mqtt_link_get_stats(ctx.link, &st);
        return st.queued == 0;
}

/* Every refused message counts as dropped; a reading never displaces a state. */
START_TEST(test_queue_refusals_counted) {
        static const char *const expected[] = { "s0", "s1", "s2" };
        static char big[64 * 1024 + 1];
        struct mqtt_link_stats st;

        link_create("127.0.0.1", false, 3);
        for (int i = 0; i < 3; i++) {
                char p[8];

                snprintf(p, sizeof(p), "s%d", i);
                ck_assert_int_eq(mqtt_link_publish(ctx.link, "lim/x", p, 2, 1, false, MQTT_MSG_STATE), 0);
        }
        /* Only states queued: the reading is the one to go. */
        ck_assert_int_eq(mqtt_link_publish(ctx.link, "lim/x", "r0", 2, 1, false, MQTT_MSG_READING), -ENOBUFS);
        ck_assert_int_eq(mqtt_link_publish(ctx.link, "lim/x", "f0", 2, 1, true, MQTT_MSG_REFRESH), -ENOBUFS);
        /* Larger than the whole queue. */
        memset(big, 'x', sizeof(big));
        ck_assert_int_eq(mqtt_link_publish(ctx.link, "lim/big", big, sizeof(big), 1, false, MQTT_MSG_STATE),
                         -EMSGSIZE);
        /* Not connected: refused, but that is no drop. */
        ck_assert_int_eq(mqtt_link_publish(ctx.link, "lim/v", "v", 1, 0, false, MQTT_MSG_VOLATILE), -ENOTCONN);
        mqtt_link_get_stats(ctx.link, &st);
        ck_assert_uint_eq(st.queued, 3);
        ck_assert_uint_eq(st.dropped, 3);

        client_connect();
        ck_assert_int_eq(test_client_subscribe(ctx.client, "lim/#"), 0);
        ck_assert_int_eq(mqtt_link_start(ctx.link), 0);
        wait_connected(1);

        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                struct wanted q = { .topic = "lim/x" };

                ck_assert(run_until(client_has, &q, WAIT_USEC));
                ck_assert_str_eq(q.msg->payload, expected[i]);
                test_message_free(q.msg);
        }
        ck_assert(run_until(all_sent, NULL, WAIT_USEC));
        mqtt_link_get_stats(ctx.link, &st);
        ck_assert_uint_eq(st.sent, 3);
        ck_assert_uint_eq(st.dropped, 3);
        ck_assert_uint_eq(st.rejected, 0);
}
END_TEST

/* An MQTT 5 request with response topic and correlation data, sent by a plain
 * libmosquitto client. */
static void send_v5_request(const char *topic, const char *response_topic, const char *correlation) {
        mosquitto_property *props = NULL;
        struct mosquitto *m;

        m = mosquitto_new(NULL, true, NULL);
        ck_assert_ptr_nonnull(m);
        ck_assert_int_eq(mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5), 0);
        ck_assert_int_eq(mosquitto_connect(m, "127.0.0.1", (int) test_broker_port(ctx.broker), 30), 0);
        ck_assert_int_eq(mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, response_topic), 0);
        ck_assert_int_eq(mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA,
                                                       correlation, (uint16_t) strlen(correlation)), 0);
        /* Not threaded and not in a callback: QoS 0 is written before this returns. */
        ck_assert_int_eq(mosquitto_publish_v5(m, NULL, topic, 4, "ping", 0, false, props), 0);
        mosquitto_property_free_all(&props);
        mosquitto_disconnect(m);
        mosquitto_destroy(m);
}

START_TEST(test_v5_request_reply) {
        unsigned one = 1;
        struct wanted w = { .topic = "resp/1", .payload = "pong" };

        link_create("127.0.0.1", true, 100);
        ctx.reply = true;
        ck_assert_int_eq(mqtt_link_subscribe(ctx.link, "req/#", 0), 0);
        ck_assert_int_eq(mqtt_link_start(ctx.link), 0);
        wait_connected(1);

        /* The link sends SUBSCRIBE first on a connection: once a later PUBACK came
         * back, the broker has the subscription. */
        ck_assert_int_eq(mqtt_link_publish(ctx.link, "gw/x", "1", 1, 1, false, MQTT_MSG_STATE), 0);
        ck_assert(run_until(queue_empty, NULL, WAIT_USEC));

        client_connect();
        ck_assert_int_eq(test_client_subscribe(ctx.client, "resp/1"), 0);
        send_v5_request("req/ping", "resp/1", "abc-123");

        ck_assert(run_until(got_messages, &one, WAIT_USEC));
        ck_assert_str_eq(ctx.last_topic, "req/ping");
        ck_assert_str_eq(ctx.last_response_topic, "resp/1");
        ck_assert_str_eq(ctx.last_correlation, "abc-123");
        ck_assert(run_until(client_has, &w, WAIT_USEC));
        test_message_free(w.msg);
}
END_TEST

static void on_done(struct mqtt_link *link, void *userdata) {
        ctx.done = true;
}

START_TEST(test_shutdown_publishes_final_status) {
        struct wanted w = { .topic = "gw/status", .payload = "offline" };

        link_create("127.0.0.1", true, 100);
        client_connect();
        ck_assert_int_eq(test_client_subscribe(ctx.client, "gw/#"), 0);
        ck_assert_int_eq(mqtt_link_start(ctx.link), 0);
        wait_connected(1);

        ck_assert_int_eq(mqtt_link_publish(ctx.link, "gw/last", "1", 1, 1, false, MQTT_MSG_READING), 0);
        ck_assert_int_eq(mqtt_link_shutdown(ctx.link, "offline", 5 * USEC_PER_SEC, on_done), 0);
        ck_assert(run_until(is_done, NULL, WAIT_USEC));
        ck_assert(!mqtt_link_connected(ctx.link));

        ck_assert(run_until(client_has, &w, WAIT_USEC));
        ck_assert(w.msg->retain == false);      /* live delivery to an existing subscriber */
        test_message_free(w.msg);
        ck_assert_int_eq(test_client_take(ctx.client, "gw/last", "1", NULL), 0);
}
END_TEST

/* TLS: the certificate is checked against the configured host name */

struct tls_setup {
        char dir[64];
        bool have_dir;
        char ca[128];
        struct test_broker *broker;
        unsigned port;
};

static struct tls_setup tls;

static int pick_port(void) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(sa);
        int fd, port = -1;

        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0 &&
            getsockname(fd, (struct sockaddr *) &sa, &len) == 0)
                port = ntohs(sa.sin_port);
        if (fd >= 0)
                close(fd);
        return port;
}

/* A throw-away CA and a server certificate for `name` (DNS name only, no IP). */
static void tls_start(const char *name) {
        char cmd[2048], conf[1024];
        int port;

        snprintf(tls.dir, sizeof(tls.dir), "/tmp/iotgwd-tls-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tls.dir));
        tls.have_dir = true;
        snprintf(cmd, sizeof(cmd),
                 "cd %s && "
                 "printf 'subjectAltName=DNS:%s\\n' > ext.cnf && "
                 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                 "  -keyout ca.key -out ca.crt -days 2 -subj /CN=iotgwd-test-ca && "
                 "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                 "  -keyout srv.key -out srv.csr -subj /CN=%s && "
                 "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
                 "  -out srv.crt -days 2 -extfile ext.cnf",
                 tls.dir, name, name);
        ck_assert_int_eq(system(cmd), 0);
        snprintf(tls.ca, sizeof(tls.ca), "%s/ca.crt", tls.dir);

        port = pick_port();
        ck_assert_int_gt(port, 0);
        tls.port = (unsigned) port;
        snprintf(conf, sizeof(conf),
                 "listener %u 127.0.0.1\n"
                 "cafile %s/ca.crt\ncertfile %s/srv.crt\nkeyfile %s/srv.key\n",
                 tls.port, tls.dir, tls.dir, tls.dir);
        /* The fixture's plain broker is not needed here. */
        ctx.broker = test_broker_free(ctx.broker);
        ck_assert_int_eq(test_broker_start(conf, &ctx.broker), 0);
}

static void tls_teardown(void) {
        char cmd[128];

        if (tls.have_dir) {
                snprintf(cmd, sizeof(cmd), "rm -rf %s", tls.dir);
                (void) system(cmd);
        }
        memset(&tls, 0, sizeof(tls));
        teardown();
}

static void tls_link_create(void) {
        struct mqtt_link_options o = {
                .host = "localhost",
                .port = tls.port,
                .client_id = "iotgwd-tls",
                .tls_ca_file = tls.ca,
                .keepalive = 30,
                .queue_max_messages = 10,
                .queue_max_bytes = 1024,
        };

        ck_assert_int_eq(mqtt_link_new(ctx.event, &o, &callbacks, &ctx, &ctx.link), 0);
}

START_TEST(test_tls_verifies_host_name) {
        struct wanted w = { .topic = "gw/tls", .payload = "secure" };

        tls_start("localhost");
        tls_link_create();
        ck_assert_int_eq(mqtt_link_start(ctx.link), 0);
        wait_connected(1);

        client_connect();
        ck_assert_int_eq(test_client_subscribe(ctx.client, "gw/tls"), 0);
        ck_assert_int_eq(mqtt_link_publish(ctx.link, "gw/tls", "secure", 6, 1, true, MQTT_MSG_STATE), 0);
        ck_assert(run_until(client_has, &w, WAIT_USEC));
        test_message_free(w.msg);
}
END_TEST

/* Counts the connections the broker logged; a second one means the link gave up on
 * the first and retried. */
static int count_in_log(const char *needle) {
        char path[160], line[512];
        FILE *f;
        int n = 0;

        snprintf(path, sizeof(path), "%s/mosquitto.log", test_broker_dir(ctx.broker));
        f = fopen(path, "re");
        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                if (strstr(line, "New connection from") && strstr(line, needle))
                        n++;
        fclose(f);
        return n;
}

static int log_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        /* The log is a file: look again shortly. */
        return sd_event_source_set_time(s, usec + 20 * USEC_PER_MSEC);
}

static bool retried(void *arg) {
        char needle[64];

        /* Only the TLS listener's connections: the helper probes the plain one. */
        snprintf(needle, sizeof(needle), "on port %u.", tls.port);
        return count_in_log(needle) >= 2;
}

START_TEST(test_tls_rejects_wrong_name) {
        sd_event_source *poll = NULL;

        tls_start("not-this-host.example");
        tls_link_create();
        ck_assert_int_eq(sd_event_add_time_relative(ctx.event, &poll, CLOCK_MONOTONIC, 0, 0,
                                                    log_poll, NULL), 0);
        ck_assert_int_eq(sd_event_source_set_enabled(poll, SD_EVENT_ON), 0);
        ck_assert_int_eq(mqtt_link_start(ctx.link), 0);

        /* Seen in the broker's log, which a loaded machine may write late: a retry
         * comes after about a second, the wait allows far more. */
        ck_assert_msg(run_until(retried, NULL, 3 * WAIT_USEC), "link did not retry");
        ck_assert_uint_eq(ctx.connected, 0);
        ck_assert(!mqtt_link_connected(ctx.link));
        sd_event_source_disable_unref(poll);
}
END_TEST

static Suite *mqtt_link_suite(void) {
        Suite *s = suite_create("mqtt-link");
        TCase *tc = tcase_create("broker");

        tcase_add_checked_fixture(tc, setup, teardown);
        /* No test may hang: each has a hard limit well above its own deadlines. */
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_connect_numeric);
        tcase_add_test(tc, test_connect_localhost_v5);
        tcase_add_test(tc, test_volatile_needs_connection);
        tcase_add_test(tc, test_reconnect_delivers_queue);
        tcase_add_test(tc, test_in_flight_survives_broker_crash);
        tcase_add_test(tc, test_queue_drops_readings_first);
        tcase_add_test(tc, test_queue_refusals_counted);
        tcase_add_test(tc, test_keepalive_detects_dead_broker);
        tcase_add_test(tc, test_shutdown_publishes_final_status);
        tcase_add_test(tc, test_v5_request_reply);
        suite_add_tcase(s, tc);

        tc = tcase_create("tls");
        tcase_add_checked_fixture(tc, setup, tls_teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_tls_verifies_host_name);
        tcase_add_test(tc, test_tls_rejects_wrong_name);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        if (access("/usr/sbin/mosquitto", X_OK) < 0 && !getenv("IOTGWD_TEST_MOSQUITTO"))
                return 77;

        if (getenv("IOTGWD_TEST_DEBUG"))
                log_set_max_level(LOG_DEBUG);
        sr = srunner_create(mqtt_link_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
