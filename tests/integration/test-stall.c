/* SPDX-License-Identifier: MIT */
/* Integration tests of delivery when the path to the broker misbehaves: a connection
 * that stops taking data (through the stalling proxy) while commands keep flooding in,
 * and a broker that refuses messages (an ACL, MQTT 5 reason code 135). */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "daemon.h"
#include "stall-proxy.h"

#define WAIT_MS 15000
#define QUEUE_KIB 1024
/* What the daemon may grow beyond its queue while stalled: libmosquitto's few packets,
 * malloc's slack, the pages the queue arena touches. */
#define OVERHEAD_KIB 4096
#define FLOOD_MS 12000

/* Under ASan freed memory stays in quarantine and shadow memory is mapped as it is
 * touched: the daemon's RSS then says nothing about what it keeps. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_CHECKED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_CHECKED 0
#endif
#endif
#ifndef RSS_CHECKED
#define RSS_CHECKED 1
#endif

#define BOARD_WITH(qos)                 \
        "[gateway]\n" \
        "name = t1\n" \
        "hal = sim\n" \
        "sim_socket = @SIMSOCK@\n" \
        "stats_interval = 1h\n" \
        "queue_max_bytes = 1M\n" \
        "queue_max_messages = 2000\n" \
        "[mqtt]\n" \
        "host = 127.0.0.1\n" \
        "port = @PORT@\n" \
        "keepalive = 5\n" \
        "qos = " #qos "\n" \
        "[input door]\n" \
        "chip = gpiochip0\n" \
        "line = GPIO17\n" \
        "[output relay]\n" \
        "chip = gpiochip0\n" \
        "line = GPIO27\n" \
        "[sensor climate]\n" \
        "driver = bme280\n" \
        "address = 0x76\n" \
        "interval = 200ms\n"

static const char *const BOARD = BOARD_WITH(1);
/* QoS 0: nothing waits for an acknowledgement, so the socket buffer fills up. */
static const char *const BOARD_QOS0 = BOARD_WITH(0);

static struct test_broker *broker;
static struct stall_proxy *proxy;
static struct daemon_proc daemon_;
static struct test_client *observer, *flooder, *requester;
static char acl_path[64];

static void teardown(void) {
        daemon_stop(&daemon_);
        observer = test_client_free(observer);
        flooder = test_client_free(flooder);
        requester = test_client_free(requester);
        proxy = stall_proxy_free(proxy);
        broker = test_broker_free(broker);
        if (acl_path[0])
                (void) unlink(acl_path);
        acl_path[0] = '\0';
}

/* Waits in short steps, reading the daemon's notifications in between: its sd_notify()
 * blocks once their queue is full. */
static bool wait_msg(const char *topic, const char *payload) {
        long long deadline = now_ms() + WAIT_MS;

        do {
                daemon_notify_reset(&daemon_);
                if (test_client_wait(observer, topic, payload, 200 * UINT64_C(1000), NULL) == 0)
                        return true;
        } while (now_ms() < deadline);
        return false;
}

static void drain(const char *topic) {
        struct test_message *m;

        while (test_client_take(observer, topic, NULL, &m) == 0)
                test_message_free(m);
}

static void sim(const char *cmd, const char *expect) {
        char reply[256];

        daemon_assert(&daemon_, daemon_sim(&daemon_, cmd, reply, sizeof(reply)) == 0);
        daemon_assert(&daemon_, strcmp(reply, expect) == 0);
}

static void start_observer(const char *const *topics) {
        ck_assert_int_eq(test_client_new(test_broker_port(broker), &observer), 0);
        for (; *topics; topics++)
                ck_assert_int_eq(test_client_subscribe(observer, *topics), 0);
}

/* A link that takes no data while commands flood in: the daemon stays within its queue,
 * declares the connection lost after the keep-alive, reconnects, and states flow again.
 * With QoS 0 the daemon's socket buffer fills up; with QoS 1 the acknowledgements stop
 * coming. */
START_TEST(test_stalled_link_stays_bounded) {
        static const char *const topics[] = { "iotgw/t1/status", "iotgw/t1/door/state", NULL };
        static char big_correlation[30000];
        long base, peak = 0, limit;
        long long deadline;
        unsigned rounds = 0;

        memset(big_correlation, 'c', sizeof(big_correlation) - 1);
        ck_assert_int_eq(test_broker_start(NULL, &broker), 0);
        ck_assert_int_eq(stall_proxy_start(test_broker_port(broker), &proxy), 0);
        ck_assert_int_eq(daemon_init(&daemon_, stall_proxy_port(proxy)), 0);
        ck_assert_int_eq(daemon_write_conf(&daemon_, _i == 0 ? BOARD_QOS0 : BOARD), 0);
        start_observer(topics);
        ck_assert_int_eq(test_client_new(test_broker_port(broker), &flooder), 0);
        ck_assert_int_eq(test_client_new_with(test_broker_port(broker), NULL, true, true, &requester), 0);

        daemon_assert(&daemon_, daemon_start(&daemon_, WAIT_MS) == 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/status", "online"));
        daemon_assert(&daemon_, wait_msg("iotgw/t1/door/state", "OFF"));
        base = daemon_rss_kib(&daemon_);
        ck_assert_int_gt(base, 0);

        daemon_assert(&daemon_, stall_proxy_stall(proxy, true) == 0);
        /* From here, an "online" can only come from a new connection. */
        drain("iotgw/t1/status");

        /* Bad commands (each answered on BASE/error), Home Assistant birth messages, and
         * MQTT 5 requests whose replies carry back large correlation data to a response
         * topic of their own (so that no reply replaces another: these fill the socket
         * even at QoS 0), until the daemon gives up on the connection. */
        deadline = now_ms() + FLOOD_MS;
        while (!daemon_log_contains(&daemon_, "treating the connection as lost") && now_ms() < deadline) {
                long rss;

                for (int i = 0; i < 200; i++)
                        ck_assert_int_eq(test_client_publish(flooder, "iotgw/t1/nosuch/set", "ON", 0, false), 0);
                for (int i = 0; i < 20; i++)
                        ck_assert_int_eq(test_client_publish(flooder, "homeassistant/status", "online", 0, false), 0);
                for (int i = 0; i < 2; i++) {
                        char reply_topic[64];

                        snprintf(reply_topic, sizeof(reply_topic), "iotgw/t1/reply/%u-%d", rounds, i);
                        ck_assert_int_eq(test_client_request(requester, "iotgw/t1/relay/get", "", reply_topic,
                                                             big_correlation), 0);
                }
                /* QoS 1, waited for: the flood goes at the pace the broker takes it. */
                ck_assert_int_eq(test_client_publish(flooder, "flood/pace", "x", 1, false), 0);
                daemon_notify_reset(&daemon_);
                rss = daemon_rss_kib(&daemon_);
                daemon_assert(&daemon_, rss > 0);
                if (rss > peak)
                        peak = rss;
                rounds++;
        }
        limit = base + QUEUE_KIB + OVERHEAD_KIB;
        fprintf(stderr, "stalled link, QoS %d: %u flood rounds, RSS %ld KiB before, peak %ld KiB, limit %ld KiB\n",
                _i == 0 ? 0 : 1, rounds, base, peak, limit);
        if (!RSS_CHECKED)
                fprintf(stderr, "stalled link: RSS not checked under AddressSanitizer\n");
        else if (peak > limit) {
                daemon_dump_log(&daemon_);
                ck_abort_msg("RSS grew from %ld to %ld KiB while stalled (limit %ld KiB)", base, peak, limit);
        }
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "treating the connection as lost", WAIT_MS) == 0);

        /* A new connection through the proxy (not stalled): states flow again. */
        daemon_assert(&daemon_, wait_msg("iotgw/t1/status", "online"));
        ck_assert_uint_ge(stall_proxy_accepted(proxy), 2);
        drain("iotgw/t1/door/state");
        sim("set gpiochip0 GPIO17 1", "ok");
        daemon_assert(&daemon_, wait_msg("iotgw/t1/door/state", "ON"));
}
END_TEST

/* Takes BASE/stats after a BASE/stats/get and returns the value of `"key":`, or -1. */
static long long stats_value(const char *key) {
        struct test_message *m = NULL;
        char needle[64];
        const char *p;
        long long v = -1;

        drain("iotgw/t1/stats");
        ck_assert_int_eq(test_client_publish(flooder, "iotgw/t1/stats/get", "", 1, false), 0);
        daemon_notify_reset(&daemon_);
        if (test_client_wait(observer, "iotgw/t1/stats", NULL, WAIT_MS * UINT64_C(1000), &m) < 0)
                return -1;
        snprintf(needle, sizeof(needle), "\"%s\":", key);
        p = strstr(m->payload, needle);
        if (p)
                v = strtoll(p + strlen(needle), NULL, 10);
        test_message_free(m);
        return v;
}

/* Asks for BASE/stats until `key` has the value `want` (a retained or earlier one may
 * still be on its way); returns the last value seen. */
static long long wait_stats(const char *key, long long want) {
        long long deadline = now_ms() + WAIT_MS, v;

        while ((v = stats_value(key)) != want && now_ms() < deadline)
                ;
        return v;
}

static unsigned log_count(const char *needle) {
        char line[2048];
        unsigned n = 0;
        FILE *f = fopen(daemon_.log_path, "re");

        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                if (strstr(line, needle))
                        n++;
        fclose(f);
        return n;
}

/* An MQTT 5 broker that refuses a message (PUBACK reason 135, not authorised): it is
 * counted as rejected, logged once for its topic, and not sent again. */
START_TEST(test_rejected_by_broker) {
        static const char *const topics[] = { "iotgw/t1/stats", "iotgw/t1/relay/state", NULL };
        char conf[128];
        FILE *f;
        int fd;

        snprintf(acl_path, sizeof(acl_path), "/tmp/iotgwd-acl-XXXXXX");
        fd = mkstemp(acl_path);
        ck_assert_int_ge(fd, 0);
        f = fdopen(fd, "w");
        ck_assert_ptr_nonnull(f);
        fputs("topic readwrite #\n"
              "topic deny iotgw/t1/relay/state\n", f);
        ck_assert_int_eq(fclose(f), 0);
        snprintf(conf, sizeof(conf), "acl_file %s\n", acl_path);

        ck_assert_int_eq(test_broker_start(conf, &broker), 0);
        ck_assert_int_eq(daemon_init(&daemon_, test_broker_port(broker)), 0);
        ck_assert_int_eq(daemon_write_conf(&daemon_, BOARD), 0);
        start_observer(topics);
        ck_assert_int_eq(test_client_new(test_broker_port(broker), &flooder), 0);

        /* The relay's state at start-up is refused. */
        daemon_assert(&daemon_, daemon_start(&daemon_, WAIT_MS) == 0);
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "refused a message on iotgw/t1/relay/state", WAIT_MS) == 0);
        daemon_assert(&daemon_, wait_stats("rejected", 1) == 1);

        /* A second state on the same topic: counted, not logged again. */
        ck_assert_int_eq(test_client_publish(flooder, "iotgw/t1/relay/set", "ON", 1, false), 0);
        daemon_assert(&daemon_, wait_stats("rejected", 2) == 2);

        /* Nothing is retried: nothing waits, and the count stays (stats arrive in
         * order, so from here on none is older than the one that said 2). */
        daemon_assert(&daemon_, wait_stats("queued", 0) == 0);
        sim("set gpiochip0 GPIO17 1", "ok");
        daemon_assert(&daemon_, stats_value("rejected") == 2);
        daemon_assert(&daemon_, log_count("refused a message on iotgw/t1/relay/state") == 1);
        /* The broker really kept it from its subscribers. */
        daemon_assert(&daemon_, test_client_take(observer, "iotgw/t1/relay/state", NULL, NULL) == -EAGAIN);
}
END_TEST

/* SIGTERM while the broker is away: what is still queued is lost, and the log says how
 * much. */
START_TEST(test_stop_while_unreachable) {
        static const char *const topics[] = { "iotgw/t1/door/state", NULL };
        int status;

        ck_assert_int_eq(test_broker_start(NULL, &broker), 0);
        ck_assert_int_eq(daemon_init(&daemon_, test_broker_port(broker)), 0);
        ck_assert_int_eq(daemon_write_conf(&daemon_, BOARD), 0);
        start_observer(topics);
        daemon_assert(&daemon_, daemon_start(&daemon_, WAIT_MS) == 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/door/state", "OFF"));

        ck_assert_int_eq(test_broker_kill(broker), 0);
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "mqtt: disconnected from", WAIT_MS) == 0);
        /* A state change to keep for the broker that does not come back. */
        sim("set gpiochip0 GPIO17 1", "ok");
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "door: ON", WAIT_MS) == 0);

        daemon_assert(&daemon_, daemon_signal(&daemon_, SIGTERM) == 0);
        daemon_assert(&daemon_, daemon_wait_exit(&daemon_, WAIT_MS, &status) == 0);
        daemon_assert(&daemon_, WIFEXITED(status) && WEXITSTATUS(status) == 0);
        daemon_assert(&daemon_, daemon_log_contains(&daemon_, "is unreachable: discarding "));
        daemon_assert(&daemon_, daemon_log_contains(&daemon_, " queued messages ("));
}
END_TEST

static Suite *stall_suite(void) {
        Suite *s = suite_create("stall");
        TCase *tc = tcase_create("link");

        tcase_add_checked_fixture(tc, NULL, teardown);
        tcase_set_timeout(tc, 90);
        tcase_add_loop_test(tc, test_stalled_link_stays_bounded, 0, 2);
        tcase_add_test(tc, test_rejected_by_broker);
        tcase_add_test(tc, test_stop_while_unreachable);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        if (access(getenv("IOTGWD_TEST_MOSQUITTO") ? getenv("IOTGWD_TEST_MOSQUITTO") : "/usr/sbin/mosquitto", X_OK) < 0) {
                fprintf(stderr, "mosquitto not found, skipping\n");
                return 77;
        }
        sr = srunner_create(stall_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
