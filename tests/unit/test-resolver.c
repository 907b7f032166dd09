/* SPDX-License-Identifier: MIT */
/* Unit tests for the resolver: names resolve exactly as getaddrinfo() resolves them
 * (localhost, the names in /etc/hosts, this host's own name, numeric addresses),
 * localhost names the system does not know are the loopback, an unknown name fails in
 * the system's words, and cancelled, superseded and freed
 * lookups never call back nor leave anything behind (run under ASan too). */
#include <check.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "resolver.h"

#define WAIT_USEC (20 * USEC_PER_SEC)

struct answer {
        unsigned calls;
        int error;
        size_t n;
        char addresses[RESOLVER_MAX_ADDRESSES][INET6_ADDRSTRLEN];
        /* Resolve this next, from within the callback. */
        const char *then;
};

static sd_event *event;

static void on_answer(struct resolver *r, int error, const char (*addresses)[INET6_ADDRSTRLEN],
                      size_t n, void *userdata) {
        struct answer *a = userdata;

        a->calls++;
        a->error = error;
        a->n = n;
        memcpy(a->addresses, addresses, n * sizeof(addresses[0]));
        if (a->then) {
                const char *host = a->then;

                a->then = NULL;
                ck_assert_int_eq(resolver_resolve(r, host, on_answer, a), 0);
        }
}

static void setup(void) {
        ck_assert_int_eq(sd_event_new(&event), 0);
}

static void teardown(void) {
        event = sd_event_unref(event);
}

/* Runs the loop until `a` got `calls` answers; false when the deadline passed first. */
static bool wait_answers(const struct answer *a, unsigned calls) {
        uint64_t now, deadline;

        ck_assert_int_ge(sd_event_now(event, CLOCK_MONOTONIC, &now), 0);
        deadline = now + WAIT_USEC;
        while (a->calls < calls) {
                ck_assert_int_ge(sd_event_now(event, CLOCK_MONOTONIC, &now), 0);
                if (now >= deadline)
                        return false;
                ck_assert_int_ge(sd_event_run(event, deadline - now), 0);
        }
        return true;
}

/* What getaddrinfo() itself says, in the resolver's format; -errno as the resolver
 * would report it. */
static int system_answer(const char *host, struct answer *ret) {
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
        int e;

        memset(ret, 0, sizeof(*ret));
        e = getaddrinfo(host, NULL, &hints, &res);
        if (e == EAI_NONAME)
                return -ENXIO;
        if (e != 0)
                return -EIO;
        for (struct addrinfo *ai = res; ai && ret->n < RESOLVER_MAX_ADDRESSES; ai = ai->ai_next)
                if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
                    getnameinfo(ai->ai_addr, ai->ai_addrlen, ret->addresses[ret->n],
                                INET6_ADDRSTRLEN, NULL, 0, NI_NUMERICHOST) == 0)
                        ret->n++;
        freeaddrinfo(res);
        return 0;
}

static void resolve(const char *host, struct answer *a) {
        _cleanup_(resolver_freep) struct resolver *r = NULL;

        memset(a, 0, sizeof(*a));
        ck_assert_int_eq(resolver_new(event, &r), 0);
        ck_assert_int_eq(resolver_resolve(r, host, on_answer, a), 0);
        /* Never from within resolver_resolve(): the caller may not be ready. */
        ck_assert_uint_eq(a->calls, 0);
        ck_assert_msg(wait_answers(a, 1), "no answer for %s", host);
        ck_assert_uint_eq(a->calls, 1);
}

/* Whether /etc/hosts names `host`: then the system answers without a name server. */
static bool host_known_locally(const char *host) {
        char line[512];
        bool found = false;
        FILE *f = fopen("/etc/hosts", "re");

        while (f && !found && fgets(line, sizeof(line), f)) {
                char *save = NULL, *tok;

                line[strcspn(line, "#\n")] = '\0';
                tok = strtok_r(line, " \t", &save);             /* the address */
                while (tok && !found && (tok = strtok_r(NULL, " \t", &save)))
                        found = strcasecmp(tok, host) == 0;
        }
        if (f)
                fclose(f);
        return found;
}

/* The resolver answers like getaddrinfo(): same addresses, same order. */
static void check_like_system(const char *host) {
        struct answer a, sys;

        if (system_answer(host, &sys) < 0)
                return;
        resolve(host, &a);
        ck_assert_msg(a.error == 0, "%s: %s", host, resolver_strerror(a.error));
        ck_assert_uint_eq(a.n, sys.n);
        for (size_t i = 0; i < a.n; i++)
                ck_assert_str_eq(a.addresses[i], sys.addresses[i]);
}

static bool has_address(const struct answer *a, const char *address) {
        for (size_t i = 0; i < a->n; i++)
                if (streq(a->addresses[i], address))
                        return true;
        return false;
}


/* A lookup that still waits for a DNS answer when the test exits (a name server that
 * never answers, as on a machine without network) holds memory inside glibc's
 * resolver on its own thread: not ours, and not a leak. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
        return "leak:res_context_send\nleak:res_context_query\n";
}

START_TEST(test_localhost) {
        struct answer a;

        resolve("localhost", &a);
        ck_assert_int_eq(a.error, 0);
        ck_assert_uint_ge(a.n, 1);
        ck_assert(has_address(&a, "127.0.0.1") || has_address(&a, "::1"));
        check_like_system("localhost");
}
END_TEST

/* A name under localhost that the system does not know is still the loopback
 * (RFC 6761), and so is localhost itself where there is no /etc/hosts. */
START_TEST(test_localhost_names) {
        struct answer a;

        /* Not asked of the system (its name servers would get the query). */
        resolve("iotgwd-test.localhost", &a);
        ck_assert_int_eq(a.error, 0);
        ck_assert_uint_eq(a.n, 2);
        ck_assert_str_eq(a.addresses[0], "127.0.0.1");
        ck_assert_str_eq(a.addresses[1], "::1");

        resolve("LocalHost.", &a);
        ck_assert_int_eq(a.error, 0);
        ck_assert(has_address(&a, "127.0.0.1") || has_address(&a, "::1"));

        /* Only whole labels. */
        resolve("iotgwd-notlocalhost.invalid", &a);
        ck_assert_int_ne(a.error, 0);
}
END_TEST

START_TEST(test_numeric) {
        struct answer a;

        resolve("127.0.0.1", &a);
        ck_assert_int_eq(a.error, 0);
        ck_assert_uint_eq(a.n, 1);
        ck_assert_str_eq(a.addresses[0], "127.0.0.1");

        resolve("::1", &a);
        ck_assert_int_eq(a.error, 0);
        ck_assert_uint_eq(a.n, 1);
        ck_assert_str_eq(a.addresses[0], "::1");
}
END_TEST

/* Whatever NSS knows: every name in /etc/hosts, and this host's own name (which
 * nss-myhostname answers on systems that have it). */
START_TEST(test_system_names) {
        char line[512], name[256];
        unsigned checked = 0;
        FILE *f = fopen("/etc/hosts", "re");

        while (f && fgets(line, sizeof(line), f) && checked < 20) {
                char *save = NULL, *tok;

                line[strcspn(line, "#\n")] = '\0';
                tok = strtok_r(line, " \t", &save);             /* the address */
                while (tok && (tok = strtok_r(NULL, " \t", &save)) && checked < 20) {
                        check_like_system(tok);
                        checked++;
                }
        }
        if (f)
                fclose(f);

        /* This host's own name only where the system knows it without a name server
         * (nss-myhostname, /etc/hosts): no test sends a query off this machine. */
        if (gethostname(name, sizeof(name)) == 0 && host_known_locally(name))
                check_like_system(name);
}
END_TEST

START_TEST(test_unknown_name) {
        struct answer a;

        /* Names under "invalid." never exist (RFC 6761): answered without asking a
         * name server, so no test sends a query off this machine. */
        resolve("iotgwd-no-such-host.invalid", &a);
        ck_assert_int_eq(a.error, -ENXIO);
        ck_assert_uint_eq(a.n, 0);
        ck_assert_str_eq(resolver_strerror(a.error), gai_strerror(EAI_NONAME));
        resolve("INVALID.", &a);
        ck_assert_int_eq(a.error, -ENXIO);
}
END_TEST

START_TEST(test_cancel) {
        _cleanup_(resolver_freep) struct resolver *r = NULL;
        struct answer cancelled = {}, a = {};

        ck_assert_int_eq(resolver_new(event, &r), 0);
        ck_assert_int_eq(resolver_resolve(r, "localhost", on_answer, &cancelled), 0);
        resolver_cancel(r);
        resolver_cancel(r);

        /* The resolver still works, and the cancelled lookup never calls back. */
        ck_assert_int_eq(resolver_resolve(r, "127.0.0.1", on_answer, &a), 0);
        ck_assert(wait_answers(&a, 1));
        ck_assert_int_eq(a.error, 0);
        ck_assert_uint_eq(cancelled.calls, 0);
}
END_TEST

START_TEST(test_superseded) {
        _cleanup_(resolver_freep) struct resolver *r = NULL;
        struct answer first = {}, second = {};

        ck_assert_int_eq(resolver_new(event, &r), 0);
        ck_assert_int_eq(resolver_resolve(r, "iotgwd-no-such-host.invalid", on_answer, &first), 0);
        ck_assert_int_eq(resolver_resolve(r, "localhost", on_answer, &second), 0);
        ck_assert(wait_answers(&second, 1));
        ck_assert_int_eq(second.error, 0);
        ck_assert_uint_eq(first.calls, 0);
}
END_TEST

START_TEST(test_resolve_from_callback) {
        _cleanup_(resolver_freep) struct resolver *r = NULL;
        struct answer a = { .then = "127.0.0.1" };

        ck_assert_int_eq(resolver_new(event, &r), 0);
        ck_assert_int_eq(resolver_resolve(r, "localhost", on_answer, &a), 0);
        ck_assert(wait_answers(&a, 2));
        ck_assert_int_eq(a.error, 0);
        ck_assert_str_eq(a.addresses[0], "127.0.0.1");
}
END_TEST

START_TEST(test_free_while_resolving) {
        struct answer never = {}, maybe = {}, a = {};
        struct resolver *r;

        /* Freed at once, after one loop iteration, or while the answer is pending:
         * running and finished lookups both let go cleanly (ASan sees any write into
         * freed memory, LeakSanitizer any query left behind). */
        for (int i = 0; i < 100; i++) {
                ck_assert_int_eq(resolver_new(event, &r), 0);
                /* One loop iteration may deliver the answer before the free. */
                ck_assert_int_eq(resolver_resolve(r, i % 3 ? "localhost" : "iotgwd-no-such-host.invalid",
                                                  on_answer, i % 4 == 0 ? &maybe : &never), 0);
                if (i % 4 == 0)
                        (void) sd_event_run(event, 0);
                r = resolver_free(r);
                ck_assert_ptr_null(r);
        }
        ck_assert_uint_eq(never.calls, 0);

        /* Later lookups, while some of those may still run, work. */
        for (int i = 0; i < 20; i++) {
                memset(&a, 0, sizeof(a));
                ck_assert_int_eq(resolver_new(event, &r), 0);
                ck_assert_int_eq(resolver_resolve(r, "localhost", on_answer, &a), 0);
                ck_assert(wait_answers(&a, 1));
                ck_assert_int_eq(a.error, 0);
                resolver_free(r);
        }
        ck_assert_uint_eq(never.calls, 0);
        ck_assert_ptr_null(resolver_free(NULL));
}
END_TEST

static Suite *resolver_suite(void) {
        Suite *s = suite_create("resolver");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_localhost);
        tcase_add_test(tc, test_localhost_names);
        tcase_add_test(tc, test_numeric);
        tcase_add_test(tc, test_system_names);
        tcase_add_test(tc, test_unknown_name);
        tcase_add_test(tc, test_cancel);
        tcase_add_test(tc, test_superseded);
        tcase_add_test(tc, test_resolve_from_callback);
        tcase_add_test(tc, test_free_while_resolving);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(resolver_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
