/* SPDX-License-Identifier: MIT */
/* Unit tests for hal.c on the simulated board: inputs, outputs and debounce driven
 * through the control socket, the way the integration tests and the demo drive them.
 * Every wait runs the event loop until the expected thing happened, with a generous
 * deadline; nothing sleeps. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hal-backend.h"
#include "hal.h"
#include "log.h"
#include "macro.h"
#include "sim.h"

#define DEADLINE_USEC (20 * USEC_PER_SEC)
#define HELP_PREFIX "commands: "

struct recorder {
        unsigned n;
        bool values[64];
        uint64_t timestamps[64];
        struct hal_input *input;
        void *userdata_seen;
};

struct client {
        int fd;
        size_t len;
        char buf[8192];
};

struct ctx {
        sd_event *event;
        struct hal *hal;
        char dir[64];
        char socket[128];
};

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        ck_assert_int_eq(clock_gettime(clock, &ts), 0);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

static void on_change(struct hal_input *input, bool value, uint64_t timestamp_usec, void *userdata) {
        struct recorder *rec = userdata;

        ck_assert_uint_lt(rec->n, ELEMENTSOF(rec->values));
        rec->values[rec->n] = value;
        rec->timestamps[rec->n] = timestamp_usec;
        rec->input = input;
        rec->userdata_seen = userdata;
        rec->n++;
}

static void ctx_open(struct ctx *c, const char *socket_name) {
        struct hal_options o = { .backend = "sim", .consumer = "test" };

        memset(c, 0, sizeof(*c));
        strcpy(c->dir, "/tmp/test-hal-sim.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(c->dir));
        snprintf(c->socket, sizeof(c->socket), "%s/%s", c->dir, socket_name);
        o.sim_socket = c->socket;

        ck_assert_int_eq(sd_event_new(&c->event), 0);
        ck_assert_int_eq(hal_new(c->event, &o, &c->hal), 0);
}

/* Removes the socket's directories; the socket itself is gone with the HAL. */
static void ctx_close(struct ctx *c) {
        char path[256];

        c->hal = hal_free(c->hal);
        ck_assert_int_eq(access(c->socket, F_OK), -1);
        ck_assert_int_eq(errno, ENOENT);

        for (;;) {
                char *slash;

                strcpy(path, c->socket);
                slash = strrchr(path, '/');
                *slash = '\0';
                if (strlen(path) <= strlen(c->dir))
                        break;
                ck_assert_int_eq(rmdir(path), 0);
                strcpy(c->socket, path);
        }
        ck_assert_int_eq(rmdir(c->dir), 0);
        c->event = sd_event_unref(c->event);
}

static void loop_once(struct ctx *c, uint64_t deadline) {
        ck_assert_msg(now_usec(CLOCK_MONOTONIC) < deadline, "timed out waiting");
        ck_assert_int_ge(sd_event_run(c->event, 100 * USEC_PER_MSEC), 0);
}

static void client_connect(struct ctx *c, struct client *cl) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        memset(cl, 0, sizeof(*cl));
        strcpy(sa.sun_path, c->socket);
        cl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ck_assert_int_ge(cl->fd, 0);
        /* A local stream socket connects at once, into the listen backlog. */
        ck_assert_int_eq(connect(cl->fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
}

static void client_close(struct client *cl) {
        close(cl->fd);
        cl->fd = -1;
}

/* Writes everything, running the loop whenever the socket is full. */
static void client_send_len(struct ctx *c, struct client *cl, const char *s, size_t len) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + DEADLINE_USEC;

        while (len > 0) {
                ssize_t k = send(cl->fd, s, len, MSG_NOSIGNAL);

                if (k < 0) {
                        ck_assert_int_eq(errno, EAGAIN);
                        loop_once(c, deadline);
                        continue;
                }
                s += k;
                len -= (size_t) k;
        }
}

static void client_send(struct ctx *c, struct client *cl, const char *s) {
        client_send_len(c, cl, s, strlen(s));
}

/* Takes the next reply line, running the loop until it has arrived. */
static void client_line(struct ctx *c, struct client *cl, char *line, size_t size) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + DEADLINE_USEC;

        for (;;) {
                char *nl = memchr(cl->buf, '\n', cl->len);
                ssize_t k;

                if (nl) {
                        size_t n = (size_t) (nl - cl->buf);

                        ck_assert_uint_lt(n, size);
                        memcpy(line, cl->buf, n);
                        line[n] = '\0';
                        memmove(cl->buf, nl + 1, cl->len - n - 1);
                        cl->len -= n + 1;
                        return;
                }

                ck_assert_uint_lt(cl->len, sizeof(cl->buf));
                k = recv(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - cl->len, 0);
                if (k > 0) {
                        cl->len += (size_t) k;
                        continue;
                }
                ck_assert_msg(k < 0 && errno == EAGAIN, "control socket closed");
                loop_once(c, deadline);
        }
}

static void command(struct ctx *c, struct client *cl, const char *cmd, const char *expect) {
        char line[1024];

        client_send(c, cl, cmd);
        client_send(c, cl, "\n");
        client_line(c, cl, line, sizeof(line));
        ck_assert_str_eq(line, expect);
}

static void run_until_count(struct ctx *c, const struct recorder *rec, unsigned n) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + DEADLINE_USEC;

        while (rec->n < n)
                loop_once(c, deadline);
}

static struct hal_input *request_input(struct ctx *c, const char *line, bool active_low,
                                       enum hal_edge edge, uint64_t debounce_usec,
                                       struct recorder *rec) {
        struct hal_input_config ic = {
                .name = "button",
                .chip = "gpiochip0",
                .line = line,
                .active_low = active_low,
                .edge = edge,
                .debounce_usec = debounce_usec,
        };
        struct hal_input *in = NULL;

        ck_assert_int_eq(hal_input_request(c->hal, &ic, on_change, rec, &in), 0);
        ck_assert_ptr_nonnull(in);
        return in;
}

START_TEST(test_backend_selection) {
        struct hal_options o = { .backend = "nope" };
        sd_event *e = NULL;
        struct hal *hal = NULL;
        int r;

        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(hal_new(e, &o, &hal), -EINVAL);
        ck_assert_ptr_null(hal);

        o.backend = "sim";
        ck_assert_int_eq(hal_new(e, &o, &hal), 0);
        ck_assert_str_eq(hal_backend_name(hal), "sim");
        hal = hal_free(hal);
        ck_assert_ptr_null(hal);

        o.backend = "gpiod";
        r = hal_new(e, &o, &hal);
#if defined(HAVE_GPIOD_V1) || defined(HAVE_GPIOD_V2)
        ck_assert_int_eq(r, 0);
#ifdef HAVE_GPIOD_V2
        ck_assert_str_eq(hal_backend_name(hal), "gpiod-v2");
#else
        ck_assert_str_eq(hal_backend_name(hal), "gpiod-v1");
#endif
        hal = hal_free(hal);
#else
        ck_assert_int_eq(r, -EOPNOTSUPP);
#endif
        sd_event_unref(e);
}
END_TEST

START_TEST(test_input_plain) {
        struct ctx c;
        struct client cl;
        struct recorder rec = {};
        struct hal_input *in;
        uint64_t before, after;

        ctx_open(&c, "sim.sock");
        in = request_input(&c, "17", false, HAL_EDGE_BOTH, 0, &rec);
        ck_assert(!hal_input_value(in));
        ck_assert(!hal_input_kernel_debounce(in));
        client_connect(&c, &cl);

        before = now_usec(CLOCK_REALTIME);
        command(&c, &cl, "set gpiochip0 17 1", "ok");
        run_until_count(&c, &rec, 1);
        after = now_usec(CLOCK_REALTIME);
        ck_assert(rec.values[0]);
        ck_assert(hal_input_value(in));
        ck_assert_ptr_eq(rec.input, in);
        ck_assert_ptr_eq(rec.userdata_seen, &rec);
        /* A wall-clock time of the edge, not of the loop's wake-up; allow for a clock
         * step by a second either way. */
        ck_assert_uint_ge(rec.timestamps[0] + USEC_PER_SEC, before);
        ck_assert_uint_le(rec.timestamps[0], after + USEC_PER_SEC);

        command(&c, &cl, "get gpiochip0 17", "1");
        command(&c, &cl, "set gpiochip0 17 0", "ok");
        run_until_count(&c, &rec, 2);
        ck_assert(!rec.values[1]);
        ck_assert(!hal_input_value(in));
        command(&c, &cl, "get gpiochip0 17", "0");

        /* The same level again is no edge. A later real edge is the next report. */
        command(&c, &cl, "set gpiochip0 17 0", "ok");
        command(&c, &cl, "set gpiochip0 17 1", "ok");
        run_until_count(&c, &rec, 3);
        ck_assert(rec.values[2]);
        ck_assert_uint_eq(rec.n, 3);

        client_close(&cl);
        hal_input_free(in);
        ctx_close(&c);
}
END_TEST

START_TEST(test_input_active_low) {
        struct ctx c;
        struct client cl;
        struct recorder rec = {};
        struct hal_input *in;

        ctx_open(&c, "sim.sock");
        /* Lines start physically low: an active-low input starts logically 1. */
        in = request_input(&c, "GPIO22", true, HAL_EDGE_BOTH, 0, &rec);
        ck_assert(hal_input_value(in));
        client_connect(&c, &cl);

        command(&c, &cl, "get gpiochip0 GPIO22", "0");
        command(&c, &cl, "set gpiochip0 GPIO22 1", "ok");
        run_until_count(&c, &rec, 1);
        ck_assert(!rec.values[0]);
        ck_assert(!hal_input_value(in));
        command(&c, &cl, "get gpiochip0 GPIO22", "1");

        client_close(&cl);
        hal_input_free(in);
        ctx_close(&c);
}
END_TEST

START_TEST(test_input_debounce_bounce) {
        struct ctx c;
        struct client cl;
        struct recorder rec = {};
        struct hal_input *in;
        char line[64];

        ctx_open(&c, "sim.sock");
        in = request_input(&c, "4", false, HAL_EDGE_BOTH, 50 * USEC_PER_MSEC, &rec);
        ck_assert(!hal_input_kernel_debounce(in));
        client_connect(&c, &cl);

        /* A bounce back to the reported level in one burst: nothing to report. */
        client_send(&c, &cl, "set gpiochip0 4 1\nset gpiochip0 4 0\n");
        for (int i = 0; i < 2; i++) {
                client_line(&c, &cl, line, sizeof(line));
                ck_assert_str_eq(line, "ok");
        }

        /* A bouncing press: one change, once the level has held for the window. */
        client_send(&c, &cl, "set gpiochip0 4 1\nset gpiochip0 4 0\nset gpiochip0 4 1\n");
        for (int i = 0; i < 3; i++) {
                client_line(&c, &cl, line, sizeof(line));
                ck_assert_str_eq(line, "ok");
        }
        run_until_count(&c, &rec, 1);
        ck_assert(rec.values[0]);
        ck_assert(hal_input_value(in));

        /* A round trip later nothing more has come. */
        command(&c, &cl, "get gpiochip0 4", "1");
        ck_assert_uint_eq(rec.n, 1);

        client_close(&cl);
        hal_input_free(in);
        ctx_close(&c);
}
END_TEST

START_TEST(test_input_edge_filter) {
        struct ctx c;
        struct client cl;
        struct recorder rec = {};
        struct hal_input *in;
        uint64_t deadline;

        ctx_open(&c, "sim.sock");
        in = request_input(&c, "5", false, HAL_EDGE_RISING, 0, &rec);
        client_connect(&c, &cl);

        command(&c, &cl, "set gpiochip0 5 1", "ok");
        command(&c, &cl, "set gpiochip0 5 0", "ok");
        command(&c, &cl, "set gpiochip0 5 1", "ok");
        run_until_count(&c, &rec, 2);
        ck_assert(rec.values[0]);
        ck_assert(rec.values[1]);

        /* Falling edges are not reported, but the value follows them. */
        command(&c, &cl, "set gpiochip0 5 0", "ok");
        deadline = now_usec(CLOCK_MONOTONIC) + DEADLINE_USEC;
        while (hal_input_value(in))
                loop_once(&c, deadline);
        ck_assert_uint_eq(rec.n, 2);

        client_close(&cl);
        hal_input_free(in);
        ctx_close(&c);
}
END_TEST

START_TEST(test_output) {
        struct ctx c;
        struct client cl;
        struct hal_output_config oc = {
                .name = "relay",
                .chip = "gpiochip1",
                .line = "RELAY1",
                .initial = true,
        };
        struct hal_output *out = NULL, *inv = NULL;

        ctx_open(&c, "sim.sock");
        client_connect(&c, &cl);

        ck_assert_int_eq(hal_output_request(c.hal, &oc, &out), 0);
        ck_assert(hal_output_value(out));
        command(&c, &cl, "get gpiochip1 RELAY1", "1");

        ck_assert_int_eq(hal_output_set(out, false), 0);
        ck_assert(!hal_output_value(out));
        command(&c, &cl, "get gpiochip1 RELAY1", "0");
        ck_assert_int_eq(hal_output_set(out, false), 0);
        command(&c, &cl, "get gpiochip1 RELAY1", "0");
        ck_assert_int_eq(hal_output_set(out, true), 0);
        command(&c, &cl, "get gpiochip1 RELAY1", "1");

        /* Active low: logical 1 drives the line low. */
        oc.line = "7";
        oc.active_low = true;
        ck_assert_int_eq(hal_output_request(c.hal, &oc, &inv), 0);
        command(&c, &cl, "get gpiochip1 7", "0");
        ck_assert_int_eq(hal_output_set(inv, false), 0);
        command(&c, &cl, "get gpiochip1 7", "1");

        /* Outputs are driven by the daemon, not by the test's wire. */
        command(&c, &cl, "set gpiochip1 RELAY1 0", "error: no input gpiochip1 RELAY1");
        command(&c, &cl, "get gpiochip1 RELAY1", "1");

        /* Released lines are gone from the board. */
        out = hal_output_free(out);
        command(&c, &cl, "get gpiochip1 RELAY1", "error: no line gpiochip1 RELAY1");

        client_close(&cl);
        hal_output_free(inv);
        ctx_close(&c);
}
END_TEST

START_TEST(test_busy) {
        struct ctx c;
        struct recorder rec = {};
        struct hal_input *in, *again = NULL;
        struct hal_input_config ic = { .name = "second", .chip = "gpiochip0", .line = "17" };
        struct hal_output_config oc = { .name = "out", .chip = "gpiochip0", .line = "17" };
        struct hal_output *out = NULL;

        ctx_open(&c, "sim.sock");
        in = request_input(&c, "17", false, HAL_EDGE_BOTH, 0, &rec);

        ck_assert_int_eq(hal_input_request(c.hal, &ic, on_change, &rec, &again), -EBUSY);
        ck_assert_ptr_null(again);
        ck_assert_int_eq(hal_output_request(c.hal, &oc, &out), -EBUSY);
        ck_assert_ptr_null(out);

        /* The same offset on another chip is another line. */
        ic.chip = "gpiochip1";
        ck_assert_int_eq(hal_input_request(c.hal, &ic, on_change, &rec, &again), 0);
        again = hal_input_free(again);

        hal_input_free(in);
        ck_assert_int_eq(hal_output_request(c.hal, &oc, &out), 0);
        hal_output_free(out);
        ctx_close(&c);
}
END_TEST

START_TEST(test_bad_commands) {
        struct ctx c;
        struct client cl;
        struct recorder rec = {};
        struct hal_input *in;
        char big[1200], line[1024];

        ctx_open(&c, "sim.sock");
        in = request_input(&c, "17", false, HAL_EDGE_BOTH, 0, &rec);
        client_connect(&c, &cl);

        command(&c, &cl, "frobnicate", "error: unknown command");
        command(&c, &cl, "help me", "error: unknown command");
        command(&c, &cl, "set", "error: usage: set CHIP LINE 0|1");
        command(&c, &cl, "set gpiochip0 17", "error: usage: set CHIP LINE 0|1");
        command(&c, &cl, "set gpiochip0 17 2", "error: usage: set CHIP LINE 0|1");
        command(&c, &cl, "set gpiochip0 17 1 1", "error: usage: set CHIP LINE 0|1");
        command(&c, &cl, "set gpiochip0 17 01", "error: usage: set CHIP LINE 0|1");
        command(&c, &cl, "set gpiochip0 18 1", "error: no input gpiochip0 18");
        command(&c, &cl, "get gpiochip9 17", "error: no line gpiochip9 17");
        command(&c, &cl, "get gpiochip0", "error: usage: get CHIP LINE");
        command(&c, &cl, "a b c d e f g", "error: too many arguments");
        command(&c, &cl, "sensor nosuch temperature 20", "error: unknown sensor nosuch");
        command(&c, &cl, "sensor nosuch temperature", "error: usage: sensor NAME QUANTITY VALUE");
        command(&c, &cl, "fail nosuch on", "error: unknown sensor nosuch");
        command(&c, &cl, "fail nosuch maybe", "error: usage: fail NAME on|off");
        command(&c, &cl, "get\x1b[2J gpiochip0", "error: invalid character");
        client_send_len(&c, &cl, "get gpiochip0\0 17\n", 18);
        client_line(&c, &cl, line, sizeof(line));
        ck_assert_str_eq(line, "error: invalid character");

        /* Blank lines get no reply; CRLF and extra blanks are tolerated. */
        client_send(&c, &cl, "\n   \n\t\n");
        command(&c, &cl, "  get\tgpiochip0   17  \r", "0");
        command(&c, &cl, "help", HELP_PREFIX "set CHIP LINE 0|1; get CHIP LINE; "
                "sensor NAME QUANTITY VALUE; fail NAME on|off; help; fail CHIP LINE on|off; "
                "power NAME off|on; hold CHIP LINE CONSUMER; release CHIP LINE; "
                "i2c smbus-only on|off");

        /* 255 characters and the newline fit the 256-byte line buffer ... */
        memset(big, 'x', 255);
        big[255] = '\0';
        command(&c, &cl, big, "error: unknown command");
        /* ... one more does not. */
        memset(big, 'x', 256);
        big[256] = '\0';
        command(&c, &cl, big, "error: line too long");
        command(&c, &cl, "get gpiochip0 17", "0");

        /* A line far longer than the buffer, sent in pieces: one error, then the
         * rest of it is discarded up to its newline. */
        memset(big, 'y', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        client_send(&c, &cl, big);
        client_send(&c, &cl, big);
        command(&c, &cl, "zzz", "error: line too long");
        command(&c, &cl, "get gpiochip0 17", "0");

        /* Nothing a client sent changed the input. */
        ck_assert_uint_eq(rec.n, 0);

        client_close(&cl);
        hal_input_free(in);
        ctx_close(&c);
}
END_TEST

START_TEST(test_several_clients) {
        struct ctx c;
        struct client a, b, d;
        struct recorder rec = {};
        struct hal_input *in;
        char line[256];

        ctx_open(&c, "sim.sock");
        in = request_input(&c, "3", false, HAL_EDGE_BOTH, 0, &rec);
        client_connect(&c, &a);
        client_connect(&c, &b);
        client_connect(&c, &d);

        /* Commands in flight from several clients at once, each answered in turn. */
        client_send(&c, &a, "set gpiochip0 3 1\n");
        client_send(&c, &b, "get gpiochip0 3\nhelp\n");
        client_send(&c, &d, "get gpiochip0");   /* half a line, for now */
        client_line(&c, &a, line, sizeof(line));
        ck_assert_str_eq(line, "ok");
        client_line(&c, &b, line, sizeof(line));
        /* b's get may have run before or after a's set. */
        ck_assert(streq(line, "0") || streq(line, "1"));
        client_line(&c, &b, line, sizeof(line));
        ck_assert(strncmp(line, HELP_PREFIX, strlen(HELP_PREFIX)) == 0);

        /* One client leaving does not disturb the others. */
        client_close(&a);
        client_send(&c, &d, " 3\n");
        client_line(&c, &d, line, sizeof(line));
        ck_assert_str_eq(line, "1");
        command(&c, &b, "set gpiochip0 3 0", "ok");
        run_until_count(&c, &rec, 2);

        client_close(&b);
        client_close(&d);
        hal_input_free(in);
        ctx_close(&c);
}
END_TEST

START_TEST(test_client_not_reading) {
        struct ctx c;
        struct client cl;
        char line[256];
        const unsigned n = 20000;
        unsigned sent = 0, got = 0;
        uint64_t deadline;

        ctx_open(&c, "sim.sock");
        client_connect(&c, &cl);

        /* Far more replies than the socket buffers hold: the board must stop reading
         * while its replies back up, and lose none of them once they drain. */
        deadline = now_usec(CLOCK_MONOTONIC) + DEADLINE_USEC;
        while (sent < n) {
                if (send(cl.fd, "help\n", 5, MSG_NOSIGNAL) == 5) {
                        sent++;
                        continue;
                }
                ck_assert_int_eq(errno, EAGAIN);
                /* Stuck: read a few replies, as a slow client would. */
                for (int i = 0; i < 100 && got < sent; i++, got++) {
                        client_line(&c, &cl, line, sizeof(line));
                        ck_assert(strncmp(line, HELP_PREFIX, strlen(HELP_PREFIX)) == 0);
                }
                loop_once(&c, deadline);
        }
        for (; got < n; got++) {
                client_line(&c, &cl, line, sizeof(line));
                ck_assert(strncmp(line, HELP_PREFIX, strlen(HELP_PREFIX)) == 0);
        }
        command(&c, &cl, "get gpiochip0 1", "error: no line gpiochip0 1");

        client_close(&cl);
        ctx_close(&c);
}
END_TEST

START_TEST(test_client_half_close) {
        struct ctx c;
        struct client cl;
        char line[256];

        ctx_open(&c, "sim.sock");
        client_connect(&c, &cl);

        /* "printf 'help' | nc -N": the last line has no newline, the client shuts
         * down its side and still gets the reply. */
        client_send(&c, &cl, "frobnicate\nhelp");
        ck_assert_int_eq(shutdown(cl.fd, SHUT_WR), 0);
        client_line(&c, &cl, line, sizeof(line));
        ck_assert_str_eq(line, "error: unknown command");
        client_line(&c, &cl, line, sizeof(line));
        ck_assert(strncmp(line, HELP_PREFIX, strlen(HELP_PREFIX)) == 0);

        client_close(&cl);
        ctx_close(&c);
}
END_TEST

START_TEST(test_free_with_requests_held) {
        struct ctx c;
        struct client cl;
        struct recorder rec = {};
        struct hal_output_config oc = { .name = "led", .chip = "c", .line = "1" };
        struct hal_output *out;

        /* Parent directories are created; everything still held is released by
         * hal_free() (the leak checkers watch this test). */
        ctx_open(&c, "run/iotgwd/sim.sock");
        request_input(&c, "2", false, HAL_EDGE_BOTH, 20 * USEC_PER_MSEC, &rec);
        request_input(&c, "3", true, HAL_EDGE_BOTH, 0, &rec);
        ck_assert_int_eq(hal_output_request(c.hal, &oc, &out), 0);
        client_connect(&c, &cl);
        command(&c, &cl, "set gpiochip0 2 1", "ok");

        ctx_close(&c);
        client_close(&cl);
}
END_TEST

START_TEST(test_socket_path) {
        struct hal_options o = { .backend = "sim" };
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char dir[] = "/tmp/test-hal-sim.XXXXXX", path[128], longpath[200];
        struct hal *hal = NULL;
        sd_event *e = NULL;
        int fd;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        ck_assert_int_eq(sd_event_new(&e), 0);
        snprintf(path, sizeof(path), "%s/sim.sock", dir);
        o.sim_socket = path;

        /* A socket left behind by a crashed run is replaced. */
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        ck_assert_int_ge(fd, 0);
        strcpy(sa.sun_path, path);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        close(fd);
        ck_assert_int_eq(hal_new(e, &o, &hal), 0);
        hal = hal_free(hal);
        ck_assert_int_eq(access(path, F_OK), -1);

        /* Anything else at the path is not ours to remove. */
        fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        close(fd);
        ck_assert_int_eq(hal_new(e, &o, &hal), -EEXIST);
        ck_assert_int_eq(access(path, F_OK), 0);
        ck_assert_int_eq(unlink(path), 0);

        /* Longer than an AF_UNIX address can hold. */
        memset(longpath, 'a', sizeof(longpath) - 1);
        longpath[0] = '/';
        longpath[sizeof(longpath) - 1] = '\0';
        o.sim_socket = longpath;
        ck_assert_int_eq(hal_new(e, &o, &hal), -ENAMETOOLONG);

        ck_assert_int_eq(rmdir(dir), 0);
        sd_event_unref(e);
}
END_TEST

START_TEST(test_backend_edges) {
        struct ctx c;
        struct client cl;
        struct hal_input_config ic = { .name = "raw", .chip = "chip", .line = "9", .active_low = true };
        struct hal_raw_event ev[8];
        struct hal_line *line = NULL;
        void *state = NULL;
        uint64_t before, after;
        bool kernel_debounce = true;
        int fd = -1;

        /* Below hal.c, which would hide a spurious edge behind its debouncer: the
         * board writes one raw event per change of level, none for a repeat. */
        ctx_open(&c, "sim.sock");
        c.hal = hal_free(c.hal);
        {
                struct hal_options o = { .backend = "sim", .sim_socket = c.socket };

                ck_assert_int_eq(hal_backend_sim.init(c.event, &o, &state), 0);
        }
        ck_assert_int_eq(hal_backend_sim.line_request_input(state, &ic, &line, &fd,
                                                            &kernel_debounce), 0);
        ck_assert_int_ge(fd, 0);
        ck_assert(!kernel_debounce);
        ck_assert_int_eq(hal_backend_sim.line_get(line), 1);
        ck_assert_int_eq(hal_backend_sim.line_read_events(line, ev, ELEMENTSOF(ev)), 0);

        client_connect(&c, &cl);
        before = now_usec(CLOCK_MONOTONIC);
        command(&c, &cl, "set chip 9 1", "ok");
        command(&c, &cl, "set chip 9 1", "ok");
        after = now_usec(CLOCK_MONOTONIC);
        ck_assert_int_eq(hal_backend_sim.line_get(line), 0);

        ck_assert_int_eq(hal_backend_sim.line_read_events(line, ev, ELEMENTSOF(ev)), 1);
        ck_assert(!ev[0].value);        /* active low: physical 1 is logical 0 */
        ck_assert_uint_ge(ev[0].timestamp_ns, before * NSEC_PER_USEC);
        ck_assert_uint_le(ev[0].timestamp_ns, after * NSEC_PER_USEC);
        ck_assert_int_eq(hal_backend_sim.line_read_events(line, ev, ELEMENTSOF(ev)), 0);

        command(&c, &cl, "set chip 9 0", "ok");
        command(&c, &cl, "set chip 9 1", "ok");
        ck_assert_int_eq(hal_backend_sim.line_read_events(line, ev, ELEMENTSOF(ev)), 2);
        ck_assert(ev[0].value);
        ck_assert(!ev[1].value);
        ck_assert_uint_le(ev[0].timestamp_ns, ev[1].timestamp_ns);

        client_close(&cl);
        hal_backend_sim.line_release(line);
        hal_backend_sim.done(state);
        ck_assert_int_eq(access(c.socket, F_OK), -1);
        ctx_close(&c);
}
END_TEST

/* One whole reading; the simulated chips convert at once, so no wait between steps. */
static int read_full(struct hal_sensor *sensor, struct reading *out) {
        for (int i = 0; i < 20; i++) {
                uint64_t retry = 0;
                int r = hal_sensor_read(sensor, out, &retry);

                if (r != 0)
                        return r;
        }
        return -ETIMEDOUT;
}

START_TEST(test_sensor_commands) {
        struct hal_options o = { .backend = "sim", .consumer = "test", .sim_drift = true };
        struct hal_sensor_config sc = {
                .name = "climate",
                .driver = "bme280",
                .bus = "/dev/i2c-1",
                .address = -1,
                .decimals = -1,
        };
        struct hal_sensor *sensor = NULL;
        struct reading reading;
        uint64_t retry = 0;
        struct client cl;
        struct ctx c;

        /* The board's sensor devices appear when the daemon opens its sensors. */
        ctx_open(&c, "sim.sock");
        c.hal = hal_free(c.hal);
        o.sim_socket = c.socket;
        ck_assert_int_eq(hal_new(c.event, &o, &c.hal), 0);
        client_connect(&c, &cl);
        command(&c, &cl, "sensor climate temperature 25", "error: unknown sensor climate");

        ck_assert_int_eq(hal_sensor_open(c.hal, &sc, &sensor), 0);
        command(&c, &cl, "sensor climate temperature 25", "ok");
        command(&c, &cl, "sensor climate temperature -12.5e0", "ok");
        command(&c, &cl, "sensor climate humidity 150", "error: out of range");
        command(&c, &cl, "sensor climate illuminance 1", "error: unknown quantity");
        command(&c, &cl, "sensor climate temperature warm", "error: bad value warm");
        command(&c, &cl, "sensor climate temperature nan", "error: bad value nan");
        command(&c, &cl, "sensor climate temperature 1e999", "error: bad value 1e999");
        command(&c, &cl, "fail climate on", "ok");
        ck_assert_int_lt(hal_sensor_read(sensor, &reading, &retry), 0);
        command(&c, &cl, "fail climate off", "ok");

        /* A brownout: readings fail while the chip is off, and come back right a
         * few readings after power returns (the driver sets the chip up again). */
        command(&c, &cl, "power climate off", "ok");
        for (int i = 0; i < 4; i++)
                ck_assert_int_eq(read_full(sensor, &reading), -EIO);
        command(&c, &cl, "sensor climate temperature 25", "ok");
        command(&c, &cl, "power climate on", "ok");
        {
                int r = 0;

                for (int i = 0; i < 5 && r != 1; i++)
                        r = read_full(sensor, &reading);
                ck_assert_int_eq(r, 1);
                /* Within what the demo's drift (on here) could add meanwhile. */
                ck_assert_double_eq_tol(reading.value[0], 25.0, 0.5);
        }
        command(&c, &cl, "power climate maybe", "error: usage: power NAME off|on");
        command(&c, &cl, "power nosuch off", "error: unknown sensor nosuch");

        /* The device outlives the sensor's handle, with what was set. */
        sensor = hal_sensor_free(sensor);
        command(&c, &cl, "sensor climate pressure 990", "ok");

        client_close(&cl);
        ctx_close(&c);
}
END_TEST


/* A second request of a held line, as the next configuration's would be. */
static void assert_held(struct ctx *c, const char *chip, const char *line) {
        struct recorder rec = {};
        struct hal_input_config ic = { .name = "intruder", .chip = chip, .line = line };
        struct hal_output_config oc = { .name = "intruder", .chip = chip, .line = line };
        struct hal_input *in = NULL;
        struct hal_output *out = NULL;

        ck_assert_int_eq(hal_input_request(c->hal, &ic, on_change, &rec, &in), -EBUSY);
        ck_assert_int_eq(hal_output_request(c->hal, &oc, &out), -EBUSY);
        ck_assert_ptr_null(in);
        ck_assert_ptr_null(out);
}

START_TEST(test_input_reconfigure) {
        struct ctx c;
        struct client cl;
        struct recorder rec = {};
        struct hal_input_config ic = { .name = "button", .chip = "gpiochip0", .line = "17" };
        struct hal_input *in;
        char line[64];

        ctx_open(&c, "sim.sock");
        in = request_input(&c, "17", false, HAL_EDGE_BOTH, 0, &rec);
        client_connect(&c, &cl);
        command(&c, &cl, "set gpiochip0 17 1", "ok");
        run_until_count(&c, &rec, 1);
        ck_assert(hal_input_value(in));

        /* active_low: the value flips with no report, the wire stays where it was. */
        ic.active_low = true;
        ck_assert_int_eq(hal_input_reconfigure(in, &ic), 0);
        ck_assert(!hal_input_value(in));
        ck_assert_uint_eq(rec.n, 1);
        command(&c, &cl, "get gpiochip0 17", "1");
        assert_held(&c, "gpiochip0", "17");
        command(&c, &cl, "set gpiochip0 17 0", "ok");
        run_until_count(&c, &rec, 2);
        ck_assert(rec.values[1]);
        ck_assert(hal_input_value(in));

        /* edge: falling edges are no longer reported, but followed. */
        ic.edge = HAL_EDGE_RISING;
        ck_assert_int_eq(hal_input_reconfigure(in, &ic), 0);
        assert_held(&c, "gpiochip0", "17");
        command(&c, &cl, "set gpiochip0 17 1", "ok");
        command(&c, &cl, "get gpiochip0 17", "1");
        {
                uint64_t deadline = now_usec(CLOCK_MONOTONIC) + DEADLINE_USEC;

                while (hal_input_value(in))
                        loop_once(&c, deadline);
        }
        ck_assert_uint_eq(rec.n, 2);
        command(&c, &cl, "set gpiochip0 17 0", "ok");
        run_until_count(&c, &rec, 3);
        ck_assert(rec.values[2]);

        /* debounce: from none to 50 ms, so a bounce now goes unreported ... */
        ic.edge = HAL_EDGE_BOTH;
        ic.debounce_usec = 50 * USEC_PER_MSEC;
        ck_assert_int_eq(hal_input_reconfigure(in, &ic), 0);
        ck_assert_uint_eq(hal_input_timer_accuracy(in), 1 * USEC_PER_MSEC);
        assert_held(&c, "gpiochip0", "17");
        client_send(&c, &cl, "set gpiochip0 17 1\nset gpiochip0 17 0\n");
        for (int i = 0; i < 2; i++) {
                client_line(&c, &cl, line, sizeof(line));
                ck_assert_str_eq(line, "ok");
        }
        /* ... and a held press is reported once it has held. */
        command(&c, &cl, "set gpiochip0 17 1", "ok");
        run_until_count(&c, &rec, 4);
        ck_assert(!rec.values[3]);
        ck_assert(!hal_input_value(in));

        /* bias: taken in place as well. */
        ic.bias = HAL_BIAS_PULL_UP;
        ck_assert_int_eq(hal_input_reconfigure(in, &ic), 0);
        assert_held(&c, "gpiochip0", "17");
        ck_assert(!hal_input_value(in));

        /* Everything back at once, debounce off again. */
        ic = (struct hal_input_config) { .name = "button", .chip = "gpiochip0", .line = "17" };
        ck_assert_int_eq(hal_input_reconfigure(in, &ic), 0);
        ck_assert_uint_eq(hal_input_timer_accuracy(in), 0);
        ck_assert(hal_input_value(in));
        ck_assert_uint_eq(rec.n, 4);
        command(&c, &cl, "set gpiochip0 17 0", "ok");
        run_until_count(&c, &rec, 5);
        ck_assert(!rec.values[4]);
        assert_held(&c, "gpiochip0", "17");

        client_close(&cl);
        hal_input_free(in);
        ctx_close(&c);
}
END_TEST

START_TEST(test_input_reconfigure_queued) {
        struct ctx c;
        struct client cl;
        struct recorder rec = {};
        struct hal_input_config ic = { .name = "button", .chip = "gpiochip0", .line = "8",
                                       .active_low = true };
        struct hal_input *in;

        /* An edge still queued when the settings change happened under the old ones:
         * it is reported as it was, not read back under the new polarity. */
        ctx_open(&c, "sim.sock");
        in = request_input(&c, "8", false, HAL_EDGE_BOTH, 0, &rec);
        client_connect(&c, &cl);
        command(&c, &cl, "set gpiochip0 8 1", "ok");
        ck_assert_uint_eq(rec.n, 0);
        ck_assert_int_eq(hal_input_reconfigure(in, &ic), 0);
        ck_assert_uint_eq(rec.n, 1);
        ck_assert(rec.values[0]);
        ck_assert(!hal_input_value(in));

        /* Nothing else turns up later. */
        command(&c, &cl, "get gpiochip0 8", "1");
        ck_assert_uint_eq(rec.n, 1);

        client_close(&cl);
        hal_input_free(in);
        ctx_close(&c);
}
END_TEST

START_TEST(test_input_reconfigure_fails) {
        struct ctx c;
        struct client cl;
        struct recorder rec = {};
        struct hal_input_config ic = { .name = "button", .chip = "gpiochip0", .line = "6",
                                       .active_low = true, .debounce_usec = 40 * USEC_PER_MSEC };
        struct hal_input *in;

        ctx_open(&c, "sim.sock");
        in = request_input(&c, "6", false, HAL_EDGE_BOTH, 0, &rec);
        client_connect(&c, &cl);

        /* The chip refuses: the old settings stay, the line stays held. */
        command(&c, &cl, "fail gpiochip0 6 on", "ok");
        ck_assert_int_eq(hal_input_reconfigure(in, &ic), -EIO);
        ck_assert(!hal_input_value(in));
        ck_assert(!hal_input_kernel_debounce(in));
        ck_assert_uint_eq(hal_input_timer_accuracy(in), 0);
        assert_held(&c, "gpiochip0", "6");

        /* Old polarity and no debounce: an edge is reported at once, as high. */
        command(&c, &cl, "set gpiochip0 6 1", "ok");
        run_until_count(&c, &rec, 1);
        ck_assert(rec.values[0]);
        ck_assert(hal_input_value(in));

        /* Settings no backend could take are refused before anything is touched. */
        command(&c, &cl, "fail gpiochip0 6 off", "ok");
        ic.bias = (enum hal_bias) 42;
        ck_assert_int_eq(hal_input_reconfigure(in, &ic), -EINVAL);
        ic.bias = HAL_BIAS_AS_IS;
        ic.edge = (enum hal_edge) -1;
        ck_assert_int_eq(hal_input_reconfigure(in, &ic), -EINVAL);
        ck_assert(hal_input_value(in));

        /* Once the chip cooperates, the same change goes through. */
        ic.edge = HAL_EDGE_BOTH;
        ck_assert_int_eq(hal_input_reconfigure(in, &ic), 0);
        ck_assert(!hal_input_value(in));
        ck_assert_uint_eq(rec.n, 1);

        command(&c, &cl, "fail gpiochip0 6 maybe", "error: usage: fail CHIP LINE on|off");
        command(&c, &cl, "fail gpiochip0 99 on", "error: no line gpiochip0 99");

        client_close(&cl);
        hal_input_free(in);
        ctx_close(&c);
}
END_TEST

START_TEST(test_output_reconfigure) {
        struct ctx c;
        struct client cl;
        struct hal_output_config oc = {
                .name = "relay",
                .chip = "gpiochip1",
                .line = "RELAY1",
                .initial = true,
        };
        struct hal_output *out = NULL;

        ctx_open(&c, "sim.sock");
        client_connect(&c, &cl);
        ck_assert_int_eq(hal_output_request(c.hal, &oc, &out), 0);
        command(&c, &cl, "get gpiochip1 RELAY1", "1");

        /* Same polarity, same value: nothing moves. */
        ck_assert_int_eq(hal_output_reconfigure(out, &oc, true), 0);
        command(&c, &cl, "get gpiochip1 RELAY1", "1");
        assert_held(&c, "gpiochip1", "RELAY1");

        /* Same polarity, new value: just the value. */
        ck_assert_int_eq(hal_output_reconfigure(out, &oc, false), 0);
        ck_assert(!hal_output_value(out));
        command(&c, &cl, "get gpiochip1 RELAY1", "0");

        /* New polarity, same logical value: the wire flips. */
        oc.active_low = true;
        ck_assert_int_eq(hal_output_reconfigure(out, &oc, false), 0);
        ck_assert(!hal_output_value(out));
        command(&c, &cl, "get gpiochip1 RELAY1", "1");
        assert_held(&c, "gpiochip1", "RELAY1");
        ck_assert_int_eq(hal_output_set(out, true), 0);
        command(&c, &cl, "get gpiochip1 RELAY1", "0");

        /* New polarity and new value together: the wire stays where it is. */
        oc.active_low = false;
        ck_assert_int_eq(hal_output_reconfigure(out, &oc, false), 0);
        ck_assert(!hal_output_value(out));
        command(&c, &cl, "get gpiochip1 RELAY1", "0");
        assert_held(&c, "gpiochip1", "RELAY1");

        /* Refused: polarity, value and level as they were. */
        command(&c, &cl, "fail gpiochip1 RELAY1 on", "ok");
        oc.active_low = true;
        ck_assert_int_eq(hal_output_reconfigure(out, &oc, true), -EIO);
        ck_assert(!hal_output_value(out));
        command(&c, &cl, "get gpiochip1 RELAY1", "0");
        ck_assert_int_eq(hal_output_set(out, true), 0);
        command(&c, &cl, "get gpiochip1 RELAY1", "1");
        assert_held(&c, "gpiochip1", "RELAY1");
        command(&c, &cl, "fail gpiochip1 RELAY1 off", "ok");

        client_close(&cl);
        hal_output_free(out);
        ctx_close(&c);
}
END_TEST

START_TEST(test_debounce_latency) {
        struct ctx c;
        struct client cl;
        struct recorder rec = {};
        struct hal_input *in;
        const uint64_t window = 30 * USEC_PER_MSEC;
        uint64_t reported[8], lo = UINT64_MAX, hi = 0;

        /* The window is milliseconds, so is the timer's slack (sd-event's default is
         * 250 ms). How late each report comes after its edge is measured from the
         * HAL's own timestamps; only "never early" is a pass criterion, since a
         * loaded machine may always be late. */
        ctx_open(&c, "sim.sock");
        in = request_input(&c, "12", false, HAL_EDGE_BOTH, window, &rec);
        ck_assert_uint_eq(hal_input_timer_accuracy(in), 1 * USEC_PER_MSEC);
        client_connect(&c, &cl);

        for (unsigned i = 0; i < ELEMENTSOF(reported); i++) {
                command(&c, &cl, i % 2 == 0 ? "set gpiochip0 12 1" : "set gpiochip0 12 0", "ok");
                run_until_count(&c, &rec, i + 1);
                reported[i] = now_usec(CLOCK_REALTIME);
                ck_assert(rec.values[i] == (i % 2 == 0));
        }
        for (unsigned i = 0; i < ELEMENTSOF(reported); i++) {
                uint64_t late = reported[i] - rec.timestamps[i];

                /* The edge's time goes through the loop's clock snapshot: a
                 * millisecond of rounding either way. */
                ck_assert_uint_ge(late + USEC_PER_MSEC, window);
                lo = MIN(lo, late);
                hi = MAX(hi, late);
        }
        fprintf(stderr, "debounce %llu ms: reported %.1f..%.1f ms after the edge\n",
                (unsigned long long) (window / USEC_PER_MSEC), (double) lo / 1000.0,
                (double) hi / 1000.0);

        client_close(&cl);
        hal_input_free(in);
        ctx_close(&c);
}
END_TEST

/* Runs the loop until the board has closed the client's connection. */
static void client_wait_eof(struct ctx *c, struct client *cl) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + DEADLINE_USEC;
        char b;

        ck_assert_uint_eq(cl->len, 0);
        for (;;) {
                ssize_t k = recv(cl->fd, &b, 1, 0);

                if (k == 0)
                        return;
                ck_assert_msg(k < 0 && errno == EAGAIN, "unexpected data before close");
                loop_once(c, deadline);
        }
}

START_TEST(test_socket_mode) {
        struct ctx c;
        struct stat st;
        mode_t saved = umask(0);

        /* Whatever the umask, only the owner may connect. */
        ctx_open(&c, "sim.sock");
        umask(saved);
        ck_assert_int_eq(stat(c.socket, &st), 0);
        ck_assert(S_ISSOCK(st.st_mode));
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert_uint_eq(st.st_uid, geteuid());
        ctx_close(&c);
}
END_TEST

START_TEST(test_socket_peer_refused) {
        struct ctx c;
        struct client cl;
        uint64_t deadline;
        pid_t pid;
        int status = -1;

        if (geteuid() != 0) {
                fprintf(stderr, "test_socket_peer_refused: needs root to connect as another user, skipped\n");
                return;
        }

        /* With the socket's mode widened by hand, the peer's credentials still keep
         * other users out. */
        ctx_open(&c, "sim.sock");
        ck_assert_int_eq(chmod(c.dir, 0755), 0);
        ck_assert_int_eq(chmod(c.socket, 0666), 0);

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                struct timeval tv = { .tv_sec = 20 };
                const char expect[] = "error: permission denied for uid 65534\n";
                char buf[128];
                size_t len = 0;
                int fd;

                if (setgid(65534) < 0 || setuid(65534) < 0)
                        _exit(10);
                strcpy(sa.sun_path, c.socket);
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                        _exit(11);
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
                (void) send(fd, "set gpiochip0 1 1\n", 18, MSG_NOSIGNAL);
                for (;;) {
                        ssize_t k = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);

                        /* Closed with our command unread: a reset after the line. */
                        if (k == 0 || (k < 0 && errno == ECONNRESET))
                                break;
                        if (k < 0)
                                _exit(12);
                        len += (size_t) k;
                        if (len == sizeof(buf) - 1)
                                _exit(13);
                }
                buf[len] = '\0';
                _exit(strcmp(buf, expect) == 0 ? 0 : 14);
        }

        deadline = now_usec(CLOCK_MONOTONIC) + DEADLINE_USEC;
        for (;;) {
                pid_t k = waitpid(pid, &status, WNOHANG);

                ck_assert_int_ge(k, 0);
                if (k == pid)
                        break;
                loop_once(&c, deadline);
        }
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);

        /* The daemon's own user is still served. */
        client_connect(&c, &cl);
        command(&c, &cl, "get gpiochip0 1", "error: no line gpiochip0 1");
        client_close(&cl);
        ctx_close(&c);
}
END_TEST

START_TEST(test_idle_clients) {
        struct ctx c;
        struct client cl[17];
        char line[256];

        /* Sixteen clients that connect and say nothing hold every slot, until they
         * have been idle for the limit: then they are told and closed, and the one
         * waiting in the backlog is served. The limit is shortened from a minute. */
        ctx_open(&c, "sim.sock");
        sim_control_set_idle_timeout(sim_get_control(c.hal->state), 200 * USEC_PER_MSEC);
        for (unsigned i = 0; i < ELEMENTSOF(cl); i++)
                client_connect(&c, &cl[i]);
        client_send(&c, &cl[16], "help\n");

        client_line(&c, &cl[16], line, sizeof(line));
        ck_assert(strncmp(line, HELP_PREFIX, strlen(HELP_PREFIX)) == 0);
        for (unsigned i = 0; i < ELEMENTSOF(cl); i++) {
                client_line(&c, &cl[i], line, sizeof(line));
                ck_assert_str_eq(line, "error: idle for too long, closing");
                client_wait_eof(&c, &cl[i]);
                client_close(&cl[i]);
        }

        /* Newcomers are served as before. */
        client_connect(&c, &cl[0]);
        command(&c, &cl[0], "get gpiochip0 1", "error: no line gpiochip0 1");
        client_close(&cl[0]);
        ctx_close(&c);
}
END_TEST

static struct hal_input *request_biased(struct ctx *c, const char *line, enum hal_bias bias,
                                        struct recorder *rec) {
        struct hal_input_config ic = { .name = "contact", .chip = "gpiochip0", .line = line,
                                       .bias = bias };
        struct hal_input *in = NULL;

        ck_assert_int_eq(hal_input_request(c->hal, &ic, on_change, rec, &in), 0);
        return in;
}

START_TEST(test_sim_bias) {
        struct ctx c;
        struct client cl;
        struct recorder rec = {};
        struct hal_input_config ic = { .name = "contact", .chip = "gpiochip0", .line = "21",
                                       .bias = HAL_BIAS_PULL_UP };
        struct hal_input *up, *down, *floating;

        /* As on the kernel, the pull applies at request: an unconnected input with a
         * pull-up reads high. */
        ctx_open(&c, "sim.sock");
        up = request_biased(&c, "20", HAL_BIAS_PULL_UP, &rec);
        down = request_biased(&c, "21", HAL_BIAS_PULL_DOWN, &rec);
        floating = request_biased(&c, "22", HAL_BIAS_AS_IS, &rec);
        client_connect(&c, &cl);
        ck_assert(hal_input_value(up));
        ck_assert(!hal_input_value(down));
        ck_assert(!hal_input_value(floating));
        command(&c, &cl, "get gpiochip0 20", "1");
        command(&c, &cl, "get gpiochip0 21", "0");

        /* A new pull moves a line nothing drives, without a report. */
        ck_assert_int_eq(hal_input_reconfigure(down, &ic), 0);
        ck_assert(hal_input_value(down));
        command(&c, &cl, "get gpiochip0 21", "1");
        ck_assert_uint_eq(rec.n, 0);

        /* Once the wire drives a line, the pull no longer decides its level. */
        command(&c, &cl, "set gpiochip0 20 0", "ok");
        run_until_count(&c, &rec, 1);
        ck_assert(!hal_input_value(up));
        ic.line = "20";
        ic.bias = HAL_BIAS_PULL_UP;
        ck_assert_int_eq(hal_input_reconfigure(up, &ic), 0);
        ck_assert(!hal_input_value(up));
        command(&c, &cl, "get gpiochip0 20", "0");
        ck_assert_uint_eq(rec.n, 1);

        client_close(&cl);
        hal_input_free(up);
        hal_input_free(down);
        hal_input_free(floating);
        ctx_close(&c);
}
END_TEST

START_TEST(test_sim_same_line_twice) {
        struct ctx c;
        struct client cl;
        struct recorder rec = {};
        struct hal_input_config ic = { .name = "alias", .chip = "gpiochip0", .line = "GPIO17" };
        struct hal_output_config oc = { .name = "alias", .chip = "/dev/gpiochip0", .line = "17" };
        struct hal_input *in, *again = NULL;
        struct hal_output *out = NULL;

        /* One line, whether named by offset or by name, on a chip named by name or
         * path: the kernel refuses the second request. */
        ctx_open(&c, "sim.sock");
        in = request_input(&c, "17", false, HAL_EDGE_BOTH, 0, &rec);
        ck_assert_int_eq(hal_input_request(c.hal, &ic, on_change, &rec, &again), -EBUSY);
        ck_assert_int_eq(hal_output_request(c.hal, &oc, &out), -EBUSY);
        ck_assert_ptr_null(again);
        ck_assert_ptr_null(out);

        /* The control socket knows the line under either name, too. */
        client_connect(&c, &cl);
        command(&c, &cl, "set gpiochip0 GPIO17 1", "ok");
        run_until_count(&c, &rec, 1);
        command(&c, &cl, "get /dev/gpiochip0 17", "1");

        /* Names that only look alike are other lines. */
        ic.line = "GPIO017";
        ck_assert_int_eq(hal_input_request(c.hal, &ic, on_change, &rec, &again), 0);
        again = hal_input_free(again);

        client_close(&cl);
        hal_input_free(in);
        ctx_close(&c);
}
END_TEST

START_TEST(test_sim_hold) {
        struct ctx c;
        struct client cl;
        struct recorder rec = {};
        struct hal_input_config ic = { .name = "door", .chip = "gpiochip0", .line = "4" };
        struct hal_input *in = NULL;
        char path[] = "/tmp/test-hal-sim-log.XXXXXX", text[1024];
        int fd, saved;
        ssize_t n;

        ctx_open(&c, "sim.sock");
        client_connect(&c, &cl);
        command(&c, &cl, "hold gpiochip0 GPIO4 otherprog", "ok");
        command(&c, &cl, "hold gpiochip0 4 third", "error: line gpiochip0 4 is in use");
        command(&c, &cl, "set gpiochip0 4 1", "error: no input gpiochip0 4");
        command(&c, &cl, "get gpiochip0 4", "0");

        /* The busy message names the consumer that holds the line. */
        fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        saved = dup(STDERR_FILENO);
        ck_assert_int_ge(saved, 0);
        ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
        log_open();
        ck_assert_int_eq(hal_input_request(c.hal, &ic, on_change, &rec, &in), -EBUSY);
        ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(saved);
        log_open();
        n = pread(fd, text, sizeof(text) - 1, 0);
        ck_assert_int_gt(n, 0);
        text[n] = '\0';
        close(fd);
        unlink(path);
        ck_assert_msg(strstr(text, "door: GPIO line 4 of chip gpiochip0 is in use by \"otherprog\""),
                      "logged: %s", text);
        ck_assert_ptr_null(in);

        /* Released, the line is the daemon's to take; the daemon's own lines are not
         * the control socket's to release. */
        command(&c, &cl, "release gpiochip0 4", "ok");
        ck_assert_int_eq(hal_input_request(c.hal, &ic, on_change, &rec, &in), 0);
        command(&c, &cl, "release gpiochip0 GPIO4", "error: line gpiochip0 GPIO4 is the daemon's");
        command(&c, &cl, "release gpiochip0 9", "error: no line gpiochip0 9");
        command(&c, &cl, "hold gpiochip0 9", "error: usage: hold CHIP LINE CONSUMER");
        command(&c, &cl, "release gpiochip0", "error: usage: release CHIP LINE");

        /* A hold still in place when the board goes away is freed with it. */
        command(&c, &cl, "hold gpiochip1 2 otherprog", "ok");

        client_close(&cl);
        hal_input_free(in);
        ctx_close(&c);
}
END_TEST

/* a backend that replaces the event fd, as libgpiod v1 does */

/* libgpiod v1 cannot change an event request and requests the line again: the old
 * fd is closed and the new one usually gets its number. This backend always gives
 * the new pipe the old number, the case a check of the number alone would miss. */
struct refd_line {
        int fds[2];
        bool active_low;
        bool level;
};

static struct refd_line *refd_line;

static struct refd_line *refd(struct hal_line *l) {
        return (struct refd_line *) l;
}

static int refd_init(sd_event *event, const struct hal_options *options, void **ret_state) {
        *ret_state = NULL;
        return 0;
}

static void refd_done(void *state) {
}

static int refd_request_input(void *state, const struct hal_input_config *config,
                              struct hal_line **ret, int *ret_fd, bool *ret_kernel_debounce) {
        struct refd_line *l = calloc(1, sizeof(*l));

        ck_assert_ptr_nonnull(l);
        ck_assert_int_eq(pipe2(l->fds, O_CLOEXEC | O_NONBLOCK), 0);
        l->active_low = config->active_low;
        refd_line = l;
        *ret = (struct hal_line *) l;
        *ret_fd = l->fds[0];
        *ret_kernel_debounce = false;
        return 0;
}

static int refd_read_events(struct hal_line *line, struct hal_raw_event *events, size_t n) {
        ssize_t k = read(refd(line)->fds[0], events, n * sizeof(*events));

        if (k < 0)
                return errno == EAGAIN ? 0 : -errno;
        return (int) ((size_t) k / sizeof(*events));
}

static int refd_get(struct hal_line *line) {
        return refd(line)->level != refd(line)->active_low;
}

static void refd_release(struct hal_line *line) {
        struct refd_line *l = refd(line);

        close(l->fds[0]);
        close(l->fds[1]);
        if (refd_line == l)
                refd_line = NULL;
        free(l);
}

static int refd_reconfigure_input(struct hal_line *line, const struct hal_input_config *config,
                                  int *ret_fd, bool *ret_new_fd, bool *ret_kernel_debounce) {
        struct refd_line *l = refd(line);
        int old = l->fds[0], fds[2];

        close(l->fds[0]);
        close(l->fds[1]);
        ck_assert_int_eq(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
        if (fds[0] != old) {
                ck_assert_int_eq(dup3(fds[0], old, O_CLOEXEC), old);
                close(fds[0]);
                ck_assert_int_eq(fcntl(old, F_SETFL, O_NONBLOCK), 0);
        }
        l->fds[0] = old;
        l->fds[1] = fds[1];
        l->active_low = config->active_low;
        *ret_fd = old;
        *ret_new_fd = true;
        *ret_kernel_debounce = false;
        return 0;
}

static const struct hal_backend_ops refd_ops = {
        .name = "refd",
        .init = refd_init,
        .done = refd_done,
        .line_request_input = refd_request_input,
        .line_read_events = refd_read_events,
        .line_get = refd_get,
        .line_release = refd_release,
        .line_reconfigure_input = refd_reconfigure_input,
};

static void refd_edge(bool level) {
        struct hal_raw_event ev;

        memset(&ev, 0, sizeof(ev));
        refd_line->level = level;
        ev.value = level != refd_line->active_low;
        ev.timestamp_ns = now_usec(CLOCK_MONOTONIC) * NSEC_PER_USEC;
        ck_assert_int_eq(write(refd_line->fds[1], &ev, sizeof(ev)), (ssize_t) sizeof(ev));
}

START_TEST(test_reconfigure_new_fd) {
        struct hal_options o = { .backend = "refd" };
        struct hal_input_config ic = { .name = "button", .chip = "c", .line = "1" };
        struct recorder rec = {};
        struct hal_input *in = NULL;
        struct ctx c = {};

        ck_assert_int_eq(sd_event_new(&c.event), 0);
        ck_assert_int_eq(hal_new_with_backend(c.event, &refd_ops, &o, &c.hal), 0);
        ck_assert_int_eq(hal_input_request(c.hal, &ic, on_change, &rec, &in), 0);
        refd_edge(true);
        run_until_count(&c, &rec, 1);
        ck_assert(rec.values[0]);

        /* The new fd under the old number is watched: its edges arrive. */
        ic.active_low = true;
        ck_assert_int_eq(hal_input_reconfigure(in, &ic), 0);
        ck_assert(!hal_input_value(in));
        refd_edge(false);
        run_until_count(&c, &rec, 2);
        ck_assert(rec.values[1]);

        /* Twice over, and with a debounce window too. */
        ic.active_low = false;
        ic.debounce_usec = 10 * USEC_PER_MSEC;
        ck_assert_int_eq(hal_input_reconfigure(in, &ic), 0);
        ck_assert(!hal_input_value(in));
        refd_edge(true);
        run_until_count(&c, &rec, 3);
        ck_assert(rec.values[2]);

        hal_input_free(in);
        c.hal = hal_free(c.hal);
        c.event = sd_event_unref(c.event);
}
END_TEST

/* The board's event queue is bounded like the kernel's: a full queue drops its
 * oldest event, and the first one left says how many went before it. */
START_TEST(test_sim_queue_overflow) {
        struct hal_input_config ic = { .name = "fast", .chip = "chip", .line = "3" };
        struct hal_options o = { .backend = "sim" };
        struct hal_raw_event ev[16];
        struct hal_line *line = NULL;
        sd_event *e = NULL;
        void *state = NULL;
        bool kernel_debounce;
        unsigned got = 0, lost = 0;
        bool last = false;
        int fd = -1, k;

        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(hal_backend_sim.init(e, &o, &state), 0);
        ck_assert_int_eq(hal_backend_sim.line_request_input(state, &ic, &line, &fd,
                                                            &kernel_debounce), 0);

        /* 100 edges, nothing read in between: 64 stay, 36 are lost. */
        for (unsigned i = 1; i <= 100; i++)
                ck_assert_int_eq(sim_input_drive(state, "chip", "3", i % 2 == 1, i), 0);
        while ((k = hal_backend_sim.line_read_events(line, ev, ELEMENTSOF(ev))) > 0) {
                for (int i = 0; i < k; i++) {
                        /* Only the first event left after the drops carries them. */
                        ck_assert_uint_eq(ev[i].lost, got == 0 ? 36 : 0);
                        /* The newest survive: edge 37 is the oldest left. */
                        ck_assert_uint_eq(ev[i].timestamp_ns, (37 + got) * NSEC_PER_USEC);
                        lost += ev[i].lost;
                        last = ev[i].value;
                        got++;
                }
        }
        ck_assert_int_eq(k, 0);
        ck_assert_uint_eq(got, 64);
        ck_assert_uint_eq(lost, 36);
        ck_assert(!last);               /* edge 100 went low */

        /* Read in time, nothing is lost; the fd is quiet once the queue is empty. */
        ck_assert_int_eq(sim_input_drive(state, "chip", "3", true, 200), 0);
        ck_assert_int_eq(hal_backend_sim.line_read_events(line, ev, ELEMENTSOF(ev)), 1);
        ck_assert_uint_eq(ev[0].lost, 0);
        ck_assert(ev[0].value);
        ck_assert_int_eq(hal_backend_sim.line_read_events(line, ev, ELEMENTSOF(ev)), 0);
        {
                char b;

                ck_assert_int_eq(read(fd, &b, 1), -1);
                ck_assert_int_eq(errno, EAGAIN);
        }

        hal_backend_sim.line_release(line);
        hal_backend_sim.done(state);
        sd_event_unref(e);
}
END_TEST

static void count_change(struct hal_input *input, bool value, uint64_t timestamp_usec,
                         void *userdata) {
        unsigned *n = userdata;

        (void) input;
        (void) value;
        (void) timestamp_usec;
        (*n)++;
}

/* A burst faster than the reader: every edge is either reported or counted as lost,
 * per input and for the whole HAL (freed inputs included), and the value ends right. */
START_TEST(test_edges_lost) {
        struct hal_input_config ic = { .name = "fast", .chip = "gpiochip0", .line = "GPIO12" };
        const unsigned n = 1000;
        struct hal_input *in = NULL;
        struct ctx c;
        struct client cl;
        char line[64];
        unsigned changes = 0;
        uint64_t deadline;
        _cleanup_(freep) char *burst = NULL;
        size_t len = 0;

        ctx_open(&c, "sim.sock");
        ck_assert_int_eq(hal_input_request(c.hal, &ic, count_change, &changes, &in), 0);
        ck_assert_uint_eq(hal_input_edges_lost(in), 0);
        ck_assert_uint_eq(hal_edges_lost(c.hal), 0);
        client_connect(&c, &cl);

        /* All of it in one go: the board runs a hundred commands per wake-up, more
         * than its queue of 64 holds, before the input's turn comes. */
        burst = malloc(n * 32);
        ck_assert_ptr_nonnull(burst);
        for (unsigned i = 1; i <= n; i++)
                len += (size_t) sprintf(burst + len, "set gpiochip0 12 %u\n", i % 2);
        client_send_len(&c, &cl, burst, len);
        for (unsigned i = 0; i < n; i++) {
                client_line(&c, &cl, line, sizeof(line));
                ck_assert_str_eq(line, "ok");
        }

        deadline = now_usec(CLOCK_MONOTONIC) + DEADLINE_USEC;
        while (changes + hal_input_edges_lost(in) < n)
                loop_once(&c, deadline);
        ck_assert_uint_eq(changes + hal_input_edges_lost(in), n);
        ck_assert_uint_gt(hal_input_edges_lost(in), 0);
        ck_assert(!hal_input_value(in));        /* edge 1000 went low */
        ck_assert_uint_eq(hal_edges_lost(c.hal), hal_input_edges_lost(in));

        /* The HAL's sum keeps what a freed input lost. */
        {
                uint64_t lost = hal_input_edges_lost(in);

                hal_input_free(in);
                ck_assert_uint_eq(hal_edges_lost(c.hal), lost);
        }

        client_close(&cl);
        ctx_close(&c);
}
END_TEST

/* "i2c smbus-only on": the buses behave like i2c-stub's. The drivers that need plain
 * I2C transfers (SHT3x, BH1750) fail with "Operation not supported", as they do on
 * the kernel; the SMBus ones (BME280, ADS1115) go on reading, and a sensor opened
 * meanwhile is behind the same bus. "off" brings the plain transfers back. */
START_TEST(test_sim_smbus_only) {
        const char *const drivers[] = { "bme280", "ads1115", "sht3x", "bh1750" };
        const bool smbus[] = { true, true, false, false };
        struct hal_sensor *sensors[4] = {};
        struct hal_sensor *late = NULL;
        struct reading reading;
        struct client cl;
        struct ctx c;

        ctx_open(&c, "sim.sock");
        client_connect(&c, &cl);
        for (size_t i = 0; i < ELEMENTSOF(drivers); i++) {
                struct hal_sensor_config sc = {
                        .name = drivers[i], .driver = drivers[i], .bus = "/dev/i2c-1",
                        .address = -1, .decimals = -1,
                };

                ck_assert_int_eq(hal_sensor_open(c.hal, &sc, &sensors[i]), 0);
                ck_assert_int_eq(read_full(sensors[i], &reading), 1);
        }

        command(&c, &cl, "i2c smbus-only on", "ok");
        for (size_t i = 0; i < ELEMENTSOF(drivers); i++)
                ck_assert_msg(read_full(sensors[i], &reading) == (smbus[i] ? 1 : -EOPNOTSUPP),
                              "%s", drivers[i]);
        {
                struct hal_sensor_config sc = {
                        .name = "late", .driver = "sht3x", .bus = "/dev/i2c-1",
                        .address = -1, .decimals = -1,
                };
                int r = hal_sensor_open(c.hal, &sc, &late);

                if (r == 0)
                        r = read_full(late, &reading);
                ck_assert_int_eq(r, -EOPNOTSUPP);
                late = hal_sensor_free(late);
        }

        command(&c, &cl, "i2c smbus-only off", "ok");
        for (size_t i = 0; i < ELEMENTSOF(drivers); i++)
                ck_assert_msg(read_full(sensors[i], &reading) == 1, "%s", drivers[i]);

        command(&c, &cl, "i2c smbus-only", "error: usage: i2c smbus-only on|off");
        command(&c, &cl, "i2c smbus-only yes", "error: usage: i2c smbus-only on|off");
        command(&c, &cl, "i2c plain on", "error: usage: i2c smbus-only on|off");

        for (size_t i = 0; i < ELEMENTSOF(sensors); i++)
                hal_sensor_free(sensors[i]);
        client_close(&cl);
        ctx_close(&c);
}
END_TEST

static Suite *hal_sim_suite(void) {
        Suite *s = suite_create("hal-sim");
        TCase *tc = tcase_create("core");

        /* Generous: the waits inside have their own deadline, and a loaded machine
         * under valgrind is slow. */
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_backend_selection);
        tcase_add_test(tc, test_input_plain);
        tcase_add_test(tc, test_input_active_low);
        tcase_add_test(tc, test_input_debounce_bounce);
        tcase_add_test(tc, test_input_edge_filter);
        tcase_add_test(tc, test_output);
        tcase_add_test(tc, test_busy);
        tcase_add_test(tc, test_bad_commands);
        tcase_add_test(tc, test_several_clients);
        tcase_add_test(tc, test_client_not_reading);
        tcase_add_test(tc, test_client_half_close);
        tcase_add_test(tc, test_free_with_requests_held);
        tcase_add_test(tc, test_socket_path);
        tcase_add_test(tc, test_backend_edges);
        tcase_add_test(tc, test_sensor_commands);
        tcase_add_test(tc, test_input_reconfigure);
        tcase_add_test(tc, test_input_reconfigure_queued);
        tcase_add_test(tc, test_input_reconfigure_fails);
        tcase_add_test(tc, test_output_reconfigure);
        tcase_add_test(tc, test_debounce_latency);
        tcase_add_test(tc, test_socket_mode);
        tcase_add_test(tc, test_socket_peer_refused);
        tcase_add_test(tc, test_idle_clients);
        tcase_add_test(tc, test_sim_bias);
        tcase_add_test(tc, test_sim_same_line_twice);
        tcase_add_test(tc, test_sim_hold);
        tcase_add_test(tc, test_reconfigure_new_fd);
        tcase_add_test(tc, test_sim_queue_overflow);
        tcase_add_test(tc, test_edges_lost);
        tcase_add_test(tc, test_sim_smbus_only);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(hal_sim_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
