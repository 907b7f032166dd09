/* SPDX-License-Identifier: MIT */
/* Unit tests for the link's bounded queue: order, limits, drop policy by class,
 * coalescing, refused pushes, correlation data, in-flight protection, requeue after a
 * disconnect, byte accounting and arena wrap-around. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg-queue.h"

static struct msg_queue *q;

static void teardown(void) {
        q = msg_queue_free(q);
}

static void setup_queue(size_t n, size_t bytes) {
        ck_assert_int_eq(msg_queue_new(n, bytes, &q), 0);
}

static int push(enum mqtt_msg_class cls, const char *topic, const char *payload) {
        return msg_queue_push(q, cls, 1, false, topic, payload, strlen(payload));
}

/* Marks the next unsent message in flight with `mid` and checks its payload. */
static void send_next(const char *payload, int mid) {
        const struct msg_queue_entry *e = msg_queue_peek_unsent(q);

        ck_assert_ptr_nonnull(e);
        ck_assert_uint_eq(e->len, strlen(payload));
        ck_assert(memcmp(e->payload, payload, e->len) == 0);
        msg_queue_mark_in_flight(q, e, mid);
}

static void expect_next(const char *topic, const char *payload) {
        const struct msg_queue_entry *e = msg_queue_peek_unsent(q);

        ck_assert_ptr_nonnull(e);
        ck_assert_str_eq(e->topic, topic);
        ck_assert_uint_eq(e->len, strlen(payload));
        ck_assert(memcmp(e->payload, payload, e->len) == 0);
}

START_TEST(test_fifo_across_classes) {
        const struct msg_queue_entry *e;
        uint64_t last_seq = 0;

        setup_queue(10, 1000);
        ck_assert_int_eq(push(MQTT_MSG_READING, "a/r", "1"), 0);
        ck_assert_int_eq(push(MQTT_MSG_STATE, "a/s", "2"), 0);
        ck_assert_int_eq(push(MQTT_MSG_READING, "a/r", "3"), 0);
        ck_assert_int_eq(msg_queue_push(q, MQTT_MSG_STATE, 0, true, "a/s", "4", 1), 0);
        ck_assert_uint_eq(msg_queue_count(q), 4);

        for (int i = 1; i <= 4; i++) {
                char p[2] = { (char) ('0' + i), 0 };

                e = msg_queue_peek_unsent(q);
                ck_assert_ptr_nonnull(e);
                ck_assert(memcmp(e->payload, p, 1) == 0);
                ck_assert_int_eq(e->cls, i % 2 ? MQTT_MSG_READING : MQTT_MSG_STATE);
                if (i > 1)
                        ck_assert_uint_gt(e->seq, last_seq);
                last_seq = e->seq;
                if (i == 4) {
                        ck_assert_int_eq(e->qos, 0);
                        ck_assert(e->retain);
                }
                msg_queue_mark_in_flight(q, e, 100 + i);
        }
        ck_assert_ptr_null(msg_queue_peek_unsent(q));
        ck_assert_uint_eq(msg_queue_in_flight(q), 4);

        /* Acks may come in any order. */
        ck_assert_int_eq(msg_queue_ack(q, 103), 0);
        ck_assert_int_eq(msg_queue_ack(q, 103), -ENOENT);
        ck_assert_int_eq(msg_queue_ack(q, 101), 0);
        ck_assert_int_eq(msg_queue_ack(q, 104), 0);
        ck_assert_int_eq(msg_queue_ack(q, 102), 0);
        ck_assert_uint_eq(msg_queue_count(q), 0);
        ck_assert_uint_eq(msg_queue_bytes(q), 0);
        ck_assert_uint_eq(msg_queue_in_flight(q), 0);
}
END_TEST

START_TEST(test_rejects) {
        setup_queue(4, 10);
        ck_assert_int_eq(push((enum mqtt_msg_class) 17, "t", "x"), -EINVAL);
        ck_assert_uint_eq(msg_queue_dropped(q), 0);
        /* Too large for the queue: refused and counted. */
        ck_assert_int_eq(push(MQTT_MSG_READING, "topic", "123456"), -EMSGSIZE);
        ck_assert_uint_eq(msg_queue_dropped(q), 1);
        ck_assert_int_eq(msg_queue_push_correlated(q, MQTT_MSG_VOLATILE, 0, false, "topic", "1234", 4,
                                                   "cd", 2), -EMSGSIZE);
        ck_assert_uint_eq(msg_queue_dropped(q), 2);
        ck_assert_int_eq(push(MQTT_MSG_READING, "topic", "12345"), 0);
        ck_assert_uint_eq(msg_queue_bytes(q), 10);
        ck_assert_int_eq(msg_queue_new(0, 10, &(struct msg_queue *){ NULL }), -EINVAL);
}
END_TEST

START_TEST(test_drop_readings_first) {
        setup_queue(4, 1000);
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "s1"), 0);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "r1"), 0);
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "s2"), 0);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "r2"), 0);

        /* Full by count: r1 goes, then r2, then the oldest STATE. */
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "s3"), 1);
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "s4"), 1);
        ck_assert_uint_eq(msg_queue_dropped(q), 2);
        expect_next("s", "s1");

        /* Only STATE left: a new reading does not displace a state, it is dropped
         * itself (and counted). */
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "r3"), -ENOBUFS);
        ck_assert_uint_eq(msg_queue_dropped(q), 3);
        ck_assert_uint_eq(msg_queue_count(q), 4);
        /* A new state displaces the oldest one. */
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "s5"), 1);
        ck_assert_uint_eq(msg_queue_dropped(q), 4);

        send_next("s2", 1);
        send_next("s3", 2);
        send_next("s4", 3);
        send_next("s5", 4);
        ck_assert_uint_eq(msg_queue_count(q), 4);
}
END_TEST

START_TEST(test_drop_by_bytes) {
        setup_queue(100, 12);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "aaa"), 0);    /* 4 bytes */
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "bbb"), 0);      /* 8 */
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "ccc"), 0);    /* 12 */
        ck_assert_uint_eq(msg_queue_bytes(q), 12);

        /* Needs 6 bytes: both readings go, the state stays. */
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "ddddd"), 2);
        ck_assert_uint_eq(msg_queue_bytes(q), 10);
        expect_next("s", "bbb");
        send_next("bbb", 7);
        expect_next("r", "ddddd");
}
END_TEST

START_TEST(test_in_flight_never_dropped) {
        setup_queue(3, 1000);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "r1"), 0);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "r2"), 0);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "r3"), 0);
        send_next("r1", 11);
        send_next("r2", 12);

        /* r3 is the only unsent one. */
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "r4"), 1);
        expect_next("r", "r4");
        send_next("r4", 14);

        /* Everything in flight: nothing may be dropped, nothing changes. */
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "s1"), -ENOBUFS);
        ck_assert_uint_eq(msg_queue_count(q), 3);
        /* The refused one counts. */
        ck_assert_uint_eq(msg_queue_dropped(q), 2);

        ck_assert_int_eq(msg_queue_ack(q, 12), 0);
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "s1"), 0);
        ck_assert_int_eq(msg_queue_ack(q, 11), 0);
        ck_assert_int_eq(msg_queue_ack(q, 14), 0);
        expect_next("s", "s1");
}
END_TEST

START_TEST(test_in_flight_bytes_never_dropped) {
        setup_queue(10, 10);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "1234"), 0);
        send_next("1234", 1);
        /* 5 in flight + 6 > 10 even with every unsent message gone. */
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "12345"), -ENOBUFS);
        ck_assert_uint_eq(msg_queue_dropped(q), 1);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "1234"), 0);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "1"), 1);
        ck_assert_uint_eq(msg_queue_bytes(q), 7);
        ck_assert_uint_eq(msg_queue_dropped(q), 2);
}
END_TEST

START_TEST(test_requeue) {
        setup_queue(10, 1000);
        for (int i = 0; i < 5; i++) {
                char p[8];

                snprintf(p, sizeof(p), "m%d", i);
                ck_assert_int_eq(push(i == 2 ? MQTT_MSG_STATE : MQTT_MSG_READING, "t", p), 0);
        }
        send_next("m0", 1);
        send_next("m1", 2);
        send_next("m2", 3);
        ck_assert_int_eq(msg_queue_ack(q, 2), 0);

        /* Disconnect: m0 and m2 are unsent again, ahead of m3, in their old order. */
        msg_queue_requeue(q);
        ck_assert_uint_eq(msg_queue_in_flight(q), 0);
        ck_assert_uint_eq(msg_queue_count(q), 4);
        ck_assert_int_eq(msg_queue_ack(q, 1), -ENOENT);

        send_next("m0", 1);
        send_next("m2", 2);
        send_next("m3", 3);
        send_next("m4", 4);
        ck_assert_ptr_null(msg_queue_peek_unsent(q));

        /* Requeued messages are droppable again. */
        msg_queue_requeue(q);
        for (int i = 0; i < 6; i++)
                ck_assert_int_eq(push(MQTT_MSG_READING, "t", "x"), 0);
        ck_assert_int_eq(push(MQTT_MSG_READING, "t", "y"), 1);
        expect_next("t", "m2");
}
END_TEST

START_TEST(test_wrap_around) {
        char topic[32], payload[64];
        int next_push = 0;

        /* Tiny arena, many messages of varying sizes, acks out of order: data must
         * survive compaction byte for byte. */
        setup_queue(8, 200);
        for (int round = 0; round < 2000; round++) {
                int r;

                snprintf(topic, sizeof(topic), "t/%d", next_push);
                memset(payload, 'a' + next_push % 26, sizeof(payload));
                r = msg_queue_push(q, MQTT_MSG_STATE, 1, false, topic, payload,
                                   (size_t) (next_push * 7) % 40);
                if (r == -ENOBUFS) {
                        /* All in flight: a disconnect makes them droppable again. */
                        msg_queue_requeue(q);
                        continue;
                }
                ck_assert_int_ge(r, 0);
                next_push++;

                if (round % 3 == 0) {
                        const struct msg_queue_entry *e = msg_queue_peek_unsent(q);
                        int n;

                        ck_assert_ptr_nonnull(e);
                        ck_assert_int_eq(sscanf(e->topic, "t/%d", &n), 1);
                        ck_assert_uint_eq(e->len, (size_t) (n * 7) % 40);
                        for (size_t k = 0; k < e->len; k++)
                                ck_assert_int_eq(((const char *) e->payload)[k], 'a' + n % 26);
                        msg_queue_mark_in_flight(q, e, n);
                        /* Ack every other one right away, the rest later. */
                        if (n % 2 == 0)
                                ck_assert_int_eq(msg_queue_ack(q, n), 0);
                }
                if (round % 50 == 0)
                        msg_queue_requeue(q);
                ck_assert_uint_le(msg_queue_bytes(q), 200);
                ck_assert_uint_le(msg_queue_count(q), 8);
        }
        ck_assert_uint_gt(msg_queue_dropped(q), 0);
}
END_TEST

START_TEST(test_byte_accounting) {
        setup_queue(10, 1000);
        ck_assert_int_eq(msg_queue_push(q, MQTT_MSG_READING, 0, false, "abc", NULL, 0), 0);
        ck_assert_uint_eq(msg_queue_bytes(q), 3);
        ck_assert_int_eq(push(MQTT_MSG_STATE, "de", "12345"), 0);
        ck_assert_uint_eq(msg_queue_bytes(q), 10);
        send_next("", 1);
        ck_assert_int_eq(msg_queue_ack(q, 1), 0);
        ck_assert_uint_eq(msg_queue_bytes(q), 7);
        ck_assert_uint_eq(msg_queue_count(q), 1);
}
END_TEST

START_TEST(test_drop_order_by_class) {
        setup_queue(4, 1000);
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "s1"), 0);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "r1"), 0);
        ck_assert_int_eq(push(MQTT_MSG_REFRESH, "f", "f1"), 0);
        ck_assert_int_eq(push(MQTT_MSG_VOLATILE, "v", "v1"), 0);

        /* VOLATILE goes first, then REFRESH, then READING, the STATE last. */
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "s2"), 1);
        expect_next("s", "s1");
        send_next("s1", 1);
        expect_next("r", "r1");
        msg_queue_requeue(q);
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "s3"), 1);
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "s4"), 1);
        ck_assert_uint_eq(msg_queue_dropped(q), 3);
        send_next("s1", 1);
        send_next("s2", 2);
        send_next("s3", 3);
        send_next("s4", 4);
        ck_assert_ptr_null(msg_queue_peek_unsent(q));
}
END_TEST

START_TEST(test_volatile_only_displaces_volatile) {
        setup_queue(3, 1000);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "r1"), 0);
        ck_assert_int_eq(push(MQTT_MSG_REFRESH, "f", "f1"), 0);
        ck_assert_int_eq(push(MQTT_MSG_VOLATILE, "v/1", "v1"), 0);

        /* Full: a new VOLATILE may only take the place of an older VOLATILE. */
        ck_assert_int_eq(push(MQTT_MSG_VOLATILE, "v/2", "v2"), 1);
        ck_assert_uint_eq(msg_queue_dropped(q), 1);
        send_next("r1", 1);
        send_next("f1", 2);
        send_next("v2", 3);
        ck_assert_int_eq(push(MQTT_MSG_VOLATILE, "v/3", "v3"), -ENOBUFS);
        ck_assert_uint_eq(msg_queue_dropped(q), 2);
        ck_assert_int_eq(msg_queue_ack(q, 3), 0);

        /* A REFRESH displaces the VOLATILE before any READING. */
        msg_queue_requeue(q);
        ck_assert_int_eq(push(MQTT_MSG_VOLATILE, "v/4", "v4"), 0);
        ck_assert_int_eq(push(MQTT_MSG_REFRESH, "f/2", "f2"), 1);
        send_next("r1", 1);
        send_next("f1", 2);
        send_next("f2", 3);
        /* A READING may displace a REFRESH, not a STATE. */
        msg_queue_requeue(q);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "r2"), 1);
        send_next("r1", 1);
        send_next("f2", 2);
        send_next("r2", 3);
}
END_TEST

START_TEST(test_coalesce_volatile_and_refresh) {
        setup_queue(10, 1000);
        ck_assert_int_eq(push(MQTT_MSG_VOLATILE, "ha/led/config", "c1"), 0);
        ck_assert_int_eq(push(MQTT_MSG_VOLATILE, "base/error", "e1"), 0);
        ck_assert_int_eq(push(MQTT_MSG_REFRESH, "base/led", "OFF"), 0);
        /* Same class, same topic, unsent: replaced, not added. */
        for (int i = 0; i < 100; i++) {
                ck_assert_int_eq(push(MQTT_MSG_VOLATILE, "base/error", "e2"), 0);
                ck_assert_int_eq(push(MQTT_MSG_REFRESH, "base/led", "ON"), 0);
                ck_assert_int_eq(push(MQTT_MSG_VOLATILE, "ha/led/config", "c22"), 0);
        }
        ck_assert_uint_eq(msg_queue_count(q), 3);
        ck_assert_uint_eq(msg_queue_bytes(q), strlen("base/error" "e2" "base/led" "ON") +
                                              strlen("ha/led/config" "c22"));
        ck_assert_uint_eq(msg_queue_dropped(q), 0);
        /* Same topic, other class: a message of its own. */
        ck_assert_int_eq(push(MQTT_MSG_REFRESH, "base/error", "f"), 0);
        ck_assert_uint_eq(msg_queue_count(q), 4);

        /* Shorter ones keep their place; the longer one went to the end. */
        expect_next("base/error", "e2");
        send_next("e2", 1);
        expect_next("base/led", "ON");
        send_next("ON", 2);
        /* In flight: no longer replaced. */
        ck_assert_int_eq(push(MQTT_MSG_VOLATILE, "base/error", "e3"), 0);
        ck_assert_uint_eq(msg_queue_count(q), 5);
        expect_next("ha/led/config", "c22");
        send_next("c22", 3);
        send_next("f", 4);
        send_next("e3", 5);
        ck_assert_ptr_null(msg_queue_peek_unsent(q));
}
END_TEST

START_TEST(test_no_coalescing_for_state_and_reading) {
        setup_queue(10, 1000);
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "ON"), 0);
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "OFF"), 0);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "1"), 0);
        ck_assert_int_eq(push(MQTT_MSG_READING, "r", "2"), 0);
        ck_assert_uint_eq(msg_queue_count(q), 4);
        send_next("ON", 1);
        send_next("OFF", 2);
        send_next("1", 3);
        send_next("2", 4);
}
END_TEST

START_TEST(test_correlation_data) {
        const struct msg_queue_entry *e;

        setup_queue(10, 40);
        ck_assert_int_eq(msg_queue_push_correlated(q, MQTT_MSG_VOLATILE, 0, false, "resp", "ok", 2,
                                                   "id-1", 4), 0);
        ck_assert_uint_eq(msg_queue_bytes(q), 10);
        /* Another request's reply on the same response topic is another message. */
        ck_assert_int_eq(msg_queue_push_correlated(q, MQTT_MSG_VOLATILE, 0, false, "resp", "ok", 2,
                                                   "id-2", 4), 0);
        /* The same request answered again replaces it. */
        ck_assert_int_eq(msg_queue_push_correlated(q, MQTT_MSG_VOLATILE, 0, false, "resp", "no", 2,
                                                   "id-1", 4), 0);
        ck_assert_int_eq(push(MQTT_MSG_VOLATILE, "resp", "plain"), 0);
        ck_assert_uint_eq(msg_queue_count(q), 3);
        ck_assert_uint_eq(msg_queue_bytes(q), 29);

        e = msg_queue_peek_unsent(q);
        ck_assert_ptr_nonnull(e);
        ck_assert_str_eq(e->topic, "resp");
        ck_assert_uint_eq(e->correlation_len, 4);
        ck_assert(memcmp(e->correlation_data, "id-1", 4) == 0);
        ck_assert(memcmp(e->payload, "no", 2) == 0);
        msg_queue_mark_in_flight(q, e, 1);
        e = msg_queue_peek_unsent(q);
        ck_assert_uint_eq(e->correlation_len, 4);
        ck_assert(memcmp(e->correlation_data, "id-2", 4) == 0);
        msg_queue_mark_in_flight(q, e, 2);
        e = msg_queue_peek_unsent(q);
        ck_assert_ptr_null(e->correlation_data);
        ck_assert_uint_eq(e->correlation_len, 0);
        ck_assert(memcmp(e->payload, "plain", 5) == 0);
        msg_queue_mark_in_flight(q, e, 3);

        /* Correlation data survives compaction. */
        ck_assert_int_eq(msg_queue_ack(q, 1), 0);
        ck_assert_int_eq(msg_queue_ack(q, 3), 0);
        for (int i = 0; i < 20; i++) {
                char corr[8];
                const struct msg_queue_entry *f;

                snprintf(corr, sizeof(corr), "c%d", i);
                ck_assert_int_ge(msg_queue_push_correlated(q, MQTT_MSG_VOLATILE, 0, false, "x",
                                                           "p", 1, corr, strlen(corr)), 0);
                f = msg_queue_peek_unsent(q);
                ck_assert_ptr_nonnull(f);
                msg_queue_mark_in_flight(q, f, 10 + i);
                ck_assert_str_eq(f->topic, "x");
                ck_assert_uint_eq(f->correlation_len, strlen(corr));
                ck_assert(memcmp(f->correlation_data, corr, strlen(corr)) == 0);
                ck_assert(memcmp(f->payload, "p", 1) == 0);
                ck_assert_int_eq(msg_queue_ack(q, 10 + i), 0);
        }
}
END_TEST

START_TEST(test_drop_class) {
        setup_queue(10, 1000);
        ck_assert_int_eq(push(MQTT_MSG_VOLATILE, "v/1", "1"), 0);
        ck_assert_int_eq(push(MQTT_MSG_STATE, "s", "s"), 0);
        ck_assert_int_eq(push(MQTT_MSG_VOLATILE, "v/2", "2"), 0);
        ck_assert_int_eq(push(MQTT_MSG_REFRESH, "f", "f"), 0);
        send_next("1", 1);
        ck_assert_uint_eq(msg_queue_drop_class(q, MQTT_MSG_VOLATILE), 1);
        ck_assert_uint_eq(msg_queue_dropped(q), 1);
        msg_queue_requeue(q);
        ck_assert_uint_eq(msg_queue_drop_class(q, MQTT_MSG_VOLATILE), 1);
        ck_assert_uint_eq(msg_queue_count(q), 2);
        ck_assert_uint_eq(msg_queue_bytes(q), 4);
        ck_assert_uint_eq(msg_queue_dropped(q), 2);
        send_next("s", 1);
        send_next("f", 2);
}
END_TEST

static Suite *msg_queue_suite(void) {
        Suite *s = suite_create("msg-queue");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, NULL, teardown);
        tcase_add_test(tc, test_fifo_across_classes);
        tcase_add_test(tc, test_rejects);
        tcase_add_test(tc, test_drop_readings_first);
        tcase_add_test(tc, test_drop_by_bytes);
        tcase_add_test(tc, test_in_flight_never_dropped);
        tcase_add_test(tc, test_in_flight_bytes_never_dropped);
        tcase_add_test(tc, test_requeue);
        tcase_add_test(tc, test_wrap_around);
        tcase_add_test(tc, test_byte_accounting);
        tcase_add_test(tc, test_drop_order_by_class);
        tcase_add_test(tc, test_volatile_only_displaces_volatile);
        tcase_add_test(tc, test_coalesce_volatile_and_refresh);
        tcase_add_test(tc, test_no_coalescing_for_state_and_reading);
        tcase_add_test(tc, test_correlation_data);
        tcase_add_test(tc, test_drop_class);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(msg_queue_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
