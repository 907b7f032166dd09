/* SPDX-License-Identifier: MIT */
/* Integration tests of how the MQTT link connects and reconnects: the back-off and the
 * warning when another client uses the same client id (the real daemon, a real
 * mosquitto and a test client with the daemon's client id), the reason logged when a
 * broker breaks off mid-packet (a scripted fake broker in this process) and when a
 * TLS connect is refused, and names resolved through the system's resolver, including
 * a link freed while its lookup runs. The loop runs until a condition holds or a
 * deadline passes. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-event.h>

#include "broker.h"
#include "daemon.h"
#include "log.h"
#include "macro.h"
#include "mqtt-link.h"

#define WAIT_USEC (10 * USEC_PER_SEC)
#define WAIT_MS 15000

/* the link's log, captured from our own stderr */

static char log_path[64];
static int saved_stderr = -1;

static void log_capture_start(void) {
        int fd;

        saved_stderr = dup(STDERR_FILENO);
        ck_assert_int_ge(saved_stderr, 0);

        snprintf(log_path, sizeof(log_path), "/tmp/iotgwd-test-log.XXXXXX");
        fd = mkstemp(log_path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
        close(fd);
        log_open();
}

static void log_capture_stop(void) {
        if (log_path[0])
                (void) unlink(log_path);
        log_path[0] = '\0';
        if (saved_stderr >= 0) {
                (void) dup2(saved_stderr, STDERR_FILENO);
                close(saved_stderr);
                saved_stderr = -1;
        }
}

static bool log_has(const char *needle) {
        char line[2048];
        bool found = false;
        FILE *f = fopen(log_path, "re");

        if (!f)
                return false;
        while (!found && fgets(line, sizeof(line), f))
                found = strstr(line, needle) != NULL;
        fclose(f);
        return found;
}

static void log_dump(void) {
        char line[2048];
        FILE *f = fopen(log_path, "re");

        if (!f)
                return;
        /* stderr is the log itself: print on the test's own stderr. */
        dprintf(saved_stderr, "---- link log ----\n");
        while (fgets(line, sizeof(line), f))
                dprintf(saved_stderr, "%s", line);
        dprintf(saved_stderr, "---- end of log ----\n");
        fclose(f);
}

#define log_assert(expr) do {                                           \
                if (!(expr)) {                                          \
                        log_dump();                                     \
                        ck_abort_msg("Assertion '%s' failed", #expr);   \
                }                                                       \
        } while (0)

/* ---- a scripted fake broker ----
 *
 * Accepts one connection at a time, reads the CONNECT, writes its script and shuts
 * its side down (FIN: a clean close, not a reset), then waits for the client to close. */

struct fake_broker {
        int listen_fd;
        unsigned port;
        sd_event_source *listen_source, *conn_source;
        int conn_fd;
        uint8_t in[1024];
        size_t in_len;
        const uint8_t *script;
        size_t script_len;
        bool answered;
        unsigned accepted, answers;
};

struct ctx {
        sd_event *event;
        struct mqtt_link *link;
        struct fake_broker fake;
        unsigned connected, disconnected;
};

static struct ctx ctx;

static void fake_close_conn(struct fake_broker *f) {
        f->conn_source = sd_event_source_disable_unref(f->conn_source);
        if (f->conn_fd >= 0)
                close(f->conn_fd);
        f->conn_fd = -1;
}

/* True once in[] holds a whole packet (fixed header, remaining length, body). */
static bool fake_have_packet(const struct fake_broker *f) {
        size_t len = 0, mult = 1, i;

        for (i = 1; i < f->in_len && i <= 4; i++) {
                len += (f->in[i] & 127) * mult;
                mult *= 128;
                if (!(f->in[i] & 128))
                        return f->in_len >= 1 + i + len;
        }
        return false;
}

static int fake_conn_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct fake_broker *f = userdata;
        uint8_t junk[256];
        ssize_t n;

        if (f->answered) {
                /* Whatever the client still says is ignored; its close ends it. */
                n = read(fd, junk, sizeof(junk));
                if (n == 0 || (n < 0 && errno != EAGAIN))
                        fake_close_conn(f);
                return 0;
        }

        n = read(fd, f->in + f->in_len, sizeof(f->in) - f->in_len);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
                fake_close_conn(f);
                return 0;
        }
        if (n < 0)
                return 0;
        f->in_len += (size_t) n;
        if (!fake_have_packet(f))
                return 0;

        ck_assert_uint_eq(f->in[0], 0x10);     /* CONNECT */
        ck_assert_int_eq(write(fd, f->script, f->script_len), (ssize_t) f->script_len);
        ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
        f->answered = true;
        f->answers++;
        return 0;
}

static int fake_accept_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct fake_broker *f = userdata;
        int c;

        c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0)
                return 0;
        fake_close_conn(f);
        f->conn_fd = c;
        f->in_len = 0;
        f->answered = false;
        f->accepted++;
        ck_assert_int_eq(sd_event_add_io(ctx.event, &f->conn_source, c, EPOLLIN,
                                         fake_conn_handler, f), 0);
        return 0;
}

static void fake_start(struct fake_broker *f, const uint8_t *script, size_t len) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sa);

        memset(f, 0, sizeof(*f));
        f->conn_fd = -1;
        f->script = script;
        f->script_len = len;
        f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(f->listen_fd, 0);
        ck_assert_int_eq(bind(f->listen_fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        ck_assert_int_eq(listen(f->listen_fd, 4), 0);
        ck_assert_int_eq(getsockname(f->listen_fd, (struct sockaddr *) &sa, &sl), 0);
        f->port = ntohs(sa.sin_port);
        ck_assert_int_eq(sd_event_add_io(ctx.event, &f->listen_source, f->listen_fd, EPOLLIN,
                                         fake_accept_handler, f), 0);
}

static void fake_stop(struct fake_broker *f) {
        fake_close_conn(f);
        f->listen_source = sd_event_source_disable_unref(f->listen_source);
        if (f->listen_fd > 0)
                close(f->listen_fd);
        f->listen_fd = -1;
}

/* the link */

static void on_connected(struct mqtt_link *link, void *userdata) {
        ctx.connected++;
}

static void on_disconnected(struct mqtt_link *link, void *userdata) {
        ctx.disconnected++;
}

static const struct mqtt_link_callbacks callbacks = {
        .connected = on_connected,
        .disconnected = on_disconnected,
};

static void link_create(const char *host, unsigned port) {
        struct mqtt_link_options o = {
                .host = host,
                .port = port,
                .client_id = "iotgwd-test",
                .keepalive = 30,
                .queue_max_messages = 10,
                .queue_max_bytes = 4096,
        };

        ck_assert_int_eq(mqtt_link_new(ctx.event, &o, &callbacks, NULL, &ctx.link), 0);
}

static void setup(void) {
        memset(&ctx, 0, sizeof(ctx));
        ctx.fake.listen_fd = ctx.fake.conn_fd = -1;
        ck_assert_int_eq(sd_event_new(&ctx.event), 0);
        log_capture_start();
}

static void teardown(void) {
        ctx.link = mqtt_link_free(ctx.link);
        fake_stop(&ctx.fake);
        ctx.event = sd_event_unref(ctx.event);
        log_capture_stop();
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

static bool disconnected_at_least(void *arg) {
        return ctx.disconnected >= *(unsigned *) arg;
}

static bool fake_answered_and_closed(void *arg) {
        return ctx.fake.answers >= *(unsigned *) arg && ctx.fake.conn_fd < 0;
}

static bool log_contains(void *arg) {
        return log_has(arg);
}

/* A CONNACK, then the first 5 of the 12 bytes of a PUBLISH, then the end of the stream. */
static const uint8_t CONNACK_THEN_HALF_PUBLISH[] = {
        0x20, 0x02, 0x00, 0x00,
        0x30, 0x0a, 0x00, 0x03, 'a',
};


/* A lookup that still waits for a DNS answer when the test exits (a name server that
 * never answers, as on a machine without network) holds memory inside glibc's
 * resolver on its own thread: not ours, and not a leak. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
        return "leak:res_context_send\nleak:res_context_query\n";
}

START_TEST(test_broker_closes_mid_packet) {
        unsigned one = 1;
        char needle[128];

        fake_start(&ctx.fake, CONNACK_THEN_HALF_PUBLISH, sizeof(CONNACK_THEN_HALF_PUBLISH));
        link_create("127.0.0.1", ctx.fake.port);
        ck_assert_int_eq(mqtt_link_start(ctx.link), 0);

        log_assert(run_until(disconnected_at_least, &one, WAIT_USEC));
        ck_assert_uint_eq(ctx.connected, 1);
        snprintf(needle, sizeof(needle), "disconnected from 127.0.0.1:%u: connection closed by the broker",
                 ctx.fake.port);
        log_assert(log_has(needle));
        log_assert(!log_has("Bad file descriptor"));
        /* Gone for good, not stuck reading the closed socket. */
        log_assert(run_until(fake_answered_and_closed, &one, WAIT_USEC));
}
END_TEST

/* Half a CONNACK, then the end of the stream. */
static const uint8_t HALF_CONNACK[] = { 0x20, 0x02, 0x00 };

START_TEST(test_broker_closes_before_connack) {
        unsigned one = 1;
        char needle[128];

        fake_start(&ctx.fake, HALF_CONNACK, sizeof(HALF_CONNACK));
        link_create("127.0.0.1", ctx.fake.port);
        ck_assert_int_eq(mqtt_link_start(ctx.link), 0);

        snprintf(needle, sizeof(needle), "cannot reach broker 127.0.0.1:%u: connection closed by the broker",
                 ctx.fake.port);
        log_assert(run_until(log_contains, needle, WAIT_USEC));
        log_assert(!log_has("Bad file descriptor"));
        ck_assert_uint_eq(ctx.connected, 0);
        log_assert(run_until(fake_answered_and_closed, &one, WAIT_USEC));
}
END_TEST

/* A CONNACK, then a packet of the reserved type 0. */
static const uint8_t CONNACK_THEN_GARBAGE[] = {
        0x20, 0x02, 0x00, 0x00,
        0x00, 0x00,
};

START_TEST(test_broker_protocol_error) {
        unsigned one = 1;
        char needle[128];

        fake_start(&ctx.fake, CONNACK_THEN_GARBAGE, sizeof(CONNACK_THEN_GARBAGE));
        link_create("127.0.0.1", ctx.fake.port);
        ck_assert_int_eq(mqtt_link_start(ctx.link), 0);

        log_assert(run_until(disconnected_at_least, &one, WAIT_USEC));
        snprintf(needle, sizeof(needle), "disconnected from 127.0.0.1:%u: ", ctx.fake.port);
        log_assert(log_has(needle));
        log_assert(log_has("protocol error"));
        log_assert(!log_has("Bad file descriptor"));
}
END_TEST

/* TLS to a port nobody listens on */

/* Any CA certificate will do: the handshake never starts. */
static const char *const TEST_CA =
        "-----BEGIN CERTIFICATE-----\n"
        "MIIBiDCCAS+gAwIBAgIUBtoX8r5g6VH5TLgftt7Bbg4ER24wCgYIKoZIzj0EAwIw\n"
        "GTEXMBUGA1UEAwwOaW90Z3dkIHRlc3QgQ0EwIBcNMjYxMjAyMDEyNDA0WhgPMjEy\n"
        "NjExMDgwMTI0MDRaMBkxFzAVBgNVBAMMDmlvdGd3ZCB0ZXN0IENBMFkwEwYHKoZI\n"
        "zj0CAQYIKoZIzj0DAQcDQgAEiZ5uauUYwTfEUunxDj92oMFoFNO8GJIvM3O3mX0p\n"
        "PVW7kpr9Dxk7JDc886S5BwtC5USy4g5GwacfAIdOBzh5c6NTMFEwHQYDVR0OBBYE\n"
        "FCRo0uDb57ZEj/PUqn0NvsDTnP5sMB8GA1UdIwQYMBaAFCRo0uDb57ZEj/PUqn0N\n"
        "vsDTnP5sMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgCQTQ7/Qn\n"
        "A4V7yqW0Y0a0oQ+d4Y8WfFFWQNOUrXKxOlwCIFxys6hudkYyJIw0y2yLa/iTrhOQ\n"
        "l5dFTJlLE2xZA7/e\n"
        "-----END CERTIFICATE-----\n";

START_TEST(test_tls_connection_refused) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sa);
        char ca_path[] = "/tmp/iotgwd-test-ca.XXXXXX", needle[128];
        struct mqtt_link_options o = {
                .host = "127.0.0.1",
                .client_id = "iotgwd-test",
                .keepalive = 30,
                .tls_ca_file = ca_path,
                .queue_max_messages = 10,
                .queue_max_bytes = 4096,
        };
        int fd, port_fd;

        fd = mkstemp(ca_path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, TEST_CA, strlen(TEST_CA)), (ssize_t) strlen(TEST_CA));
        close(fd);

        /* A port that was free a moment ago: nothing listens there. */
        port_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(port_fd, 0);
        ck_assert_int_eq(bind(port_fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        ck_assert_int_eq(getsockname(port_fd, (struct sockaddr *) &sa, &sl), 0);
        o.port = ntohs(sa.sin_port);
        close(port_fd);

        ck_assert_int_eq(mqtt_link_new(ctx.event, &o, &callbacks, NULL, &ctx.link), 0);
        ck_assert_int_eq(mqtt_link_start(ctx.link), 0);

        /* Said at once, not after the 30 s the link allows for a CONNACK (libmosquitto
         * takes the error of a refused connect under TLS for "try again"). */
        snprintf(needle, sizeof(needle), "cannot reach broker 127.0.0.1:%u: ", o.port);
        log_assert(run_until(log_contains, needle, WAIT_USEC));
        /* libmosquitto 2.0.20 and later no longer see the refusal itself. */
        snprintf(needle, sizeof(needle), "cannot reach broker 127.0.0.1:%u: Connection refused", o.port);
        if (!log_has(needle))
                snprintf(needle, sizeof(needle), "cannot reach broker 127.0.0.1:%u: connection refused or reset "
                         "before the TLS handshake", o.port);
        log_assert(log_has(needle));
        ck_assert_uint_eq(ctx.connected, 0);
        unlink(ca_path);
}
END_TEST

/* names */

START_TEST(test_unknown_host) {
        link_create("iotgwd-no-such-host.invalid", 1883);
        ck_assert_int_eq(mqtt_link_start(ctx.link), 0);

        /* Depending on whether a name server answers: "not known" or "temporary
         * failure", in the system's own words, not an errno that means something else. */
        /* Where no name server answers, glibc gives up after 2 x 5 s. */
        log_assert(run_until(log_contains, "cannot resolve iotgwd-no-such-host.invalid: ", 30 * USEC_PER_SEC));
        log_assert(log_has("cannot resolve iotgwd-no-such-host.invalid: Name or service not known") ||
                   log_has("cannot resolve iotgwd-no-such-host.invalid: Temporary failure in name resolution"));
        ck_assert(!mqtt_link_connected(ctx.link));
}
END_TEST

START_TEST(test_link_freed_while_resolving) {
        /* The lookup runs on another thread; freeing the link while it does must
         * neither wait for it nor leave it anything of the link's to write to (ASan
         * checks that). Some of these are still running when freed, some done. */
        for (int i = 0; i < 50; i++) {
                link_create(i % 2 ? "localhost" : "iotgwd-no-such-host.invalid", 1883);
                ck_assert_int_eq(mqtt_link_start(ctx.link), 0);
                if (i % 5 == 0)
                        (void) sd_event_run(ctx.event, 0);
                ctx.link = mqtt_link_free(ctx.link);
        }

        /* Lookups still work afterwards, and no callback of a freed link ever runs. */
        link_create("localhost", 1);
        ck_assert_int_eq(mqtt_link_start(ctx.link), 0);
        log_assert(run_until(log_contains, "cannot reach broker localhost:1", WAIT_USEC));
        ck_assert_uint_eq(ctx.disconnected, 0);
}
END_TEST

/* the daemon against a second client with its client id */

static const char *const DUP_CONF =
        "[gateway]\n"
        "name = raspberrypi\n"
        "hal = sim\n"
        "sim_socket = @SIMSOCK@\n"
        "stats_interval = 1h\n"
        "discovery = none\n"
        "[mqtt]\n"
        "host = 127.0.0.1\n"
        "port = @PORT@\n"
        "keepalive = 30\n"
        "[input door]\n"
        "chip = gpiochip0\n"
        "line = GPIO17\n";

#define CONNECTED "mqtt: connected to"
#define DUPLICATE_WARNING "another client is probably using the same client id \"iotgwd-raspberrypi\""

static struct test_broker *broker;
static struct test_client *intruder;
static struct daemon_proc d;

static void daemon_setup(void) {
        int r;

        r = test_broker_start(NULL, &broker);
        ck_assert_msg(r == 0, "cannot start mosquitto: %s", strerror(-r));
        ck_assert_int_eq(daemon_init(&d, test_broker_port(broker)), 0);
}

static void daemon_teardown(void) {
        intruder = test_client_free(intruder);
        daemon_stop(&d);
        broker = test_broker_free(broker);
}

START_TEST(test_duplicate_client_id) {
        long long t0, elapsed;
        unsigned base;
        int r;

        ck_assert_int_eq(daemon_write_conf(&d, DUP_CONF), 0);
        r = daemon_start(&d, WAIT_MS);
        daemon_assert(&d, r == 0);
        daemon_assert(&d, daemon_wait_log_count(&d, CONNECTED, 1, WAIT_MS) == 0);
        base = daemon_log_count(&d, CONNECTED);

        /* A second gateway with the same name: the broker drops whichever of the two
         * connected first. This one reconnects a second after every loss, which is
         * what iotgwd itself did before. */
        t0 = now_ms();
        ck_assert_int_eq(test_client_new_with(test_broker_port(broker), "iotgwd-raspberrypi",
                                              true, false, &intruder), 0);

        /* Five reconnects of the daemon, each after being thrown off within a second or
         * so: its back-off must have grown to 1 + 1 + 2 + 4 + 8 s at least (the lower
         * ends of the jittered delays), however fast or slow this machine is. Without
         * growth it would be five times about two seconds. */
        daemon_assert(&d, daemon_wait_log_count(&d, CONNECTED, base + 5, 75000) == 0);
        elapsed = now_ms() - t0;
        if (elapsed < 15000) {
                daemon_dump_log(&d);
                ck_abort_msg("5 reconnects in %lld ms: the back-off did not grow", elapsed);
        }

        /* Said once, not at every reconnect. */
        daemon_assert(&d, daemon_log_count(&d, DUPLICATE_WARNING) == 1);
}
END_TEST

static Suite *connection_suite(void) {
        Suite *s = suite_create("connection");
        TCase *tc = tcase_create("link");

        tcase_add_checked_fixture(tc, setup, teardown);
        /* No test may hang: each has a hard limit well above its own deadlines. */
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_broker_closes_mid_packet);
        tcase_add_test(tc, test_broker_closes_before_connack);
        tcase_add_test(tc, test_broker_protocol_error);
        tcase_add_test(tc, test_tls_connection_refused);
        suite_add_tcase(s, tc);

        tc = tcase_create("names");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_unknown_host);
        tcase_add_test(tc, test_link_freed_while_resolving);
        suite_add_tcase(s, tc);

        tc = tcase_create("duplicate-client-id");
        tcase_add_checked_fixture(tc, daemon_setup, daemon_teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_duplicate_client_id);
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
        sr = srunner_create(connection_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
