/* SPDX-License-Identifier: MIT */
/* getaddrinfo() off the loop: each lookup is a query object and one short-lived
 * thread that calls getaddrinfo() for it, stores the answer in it and writes to its
 * eventfd, which the loop watches. Reading the answer and calling back happen on the
 * loop; the thread touches nothing but its query.
 *
 * Not getaddrinfo_a(): glibc runs its SIGEV_THREAD notification on a thread with every
 * signal unblocked, and the daemon handles SIGTERM and SIGHUP through a signalfd with
 * those signals blocked, so one arriving just then would kill it. Our thread starts with
 * all signals blocked.
 *
 * A getaddrinfo() that runs cannot be stopped. So the query, with its eventfd, belongs
 * to both sides: the resolver and the thread each hold a reference, and whichever lets
 * go last frees it. A cancelled or freed resolver stops watching the eventfd and drops
 * its reference; the thread finishes on its own and frees the query. */
#include "resolver.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

struct query {
        struct addrinfo *result;
        int gai_error;          /* what getaddrinfo() returned */
        int sys_errno;          /* and errno, for EAI_SYSTEM */
        atomic_bool done;       /* result and gai_error are set */
        int fd;                 /* eventfd: the thread writes, the loop reads */
        atomic_uint refs;       /* the resolver's and the thread's */
        char host[];
};

struct resolver {
        sd_event *event;
        struct query *query;    /* in progress, or NULL */
        sd_event_source *source;        /* watches query->fd */
        resolver_callback_t cb;
        void *userdata;

        char addresses[RESOLVER_MAX_ADDRESSES][INET6_ADDRSTRLEN];
};

static void query_unref(struct query *q) {
        /* acq_rel: the last one sees everything the other one wrote. */
        if (atomic_fetch_sub_explicit(&q->refs, 1, memory_order_acq_rel) != 1)
                return;
        if (q->result)
                freeaddrinfo(q->result);
        if (q->fd >= 0)
                close(q->fd);
        free(q);
}

static bool host_is_localhost(const char *host);

/* RFC 6761: names under "invalid." never exist (6.4), and names under "localhost."
 * are the loopback (6.3, answered by the fallback in resolver_io_handler()): neither
 * is asked of the name servers. Plain "localhost" is asked, so /etc/hosts decides. */
static bool host_is_special(const char *host) {
        size_t len = strlen(host);

        if (len > 0 && host[len - 1] == '.')
                len--;
        if ((len == 7 && strncasecmp(host, "invalid", 7) == 0) ||
            (len > 8 && strncasecmp(host + len - 8, ".invalid", 8) == 0))
                return true;
        return host_is_localhost(host) && len > 9;
}

/* The lookup thread. */
static void *query_run(void *arg) {
        struct query *q = arg;
        struct addrinfo hints = {
                .ai_family = AF_UNSPEC,
                .ai_socktype = SOCK_STREAM,
        };
        uint64_t one = 1;

        if (host_is_special(q->host))
                q->gai_error = EAI_NONAME;
        else {
                q->gai_error = getaddrinfo(q->host, NULL, &hints, &q->result);
                q->sys_errno = errno;
        }
        atomic_store_explicit(&q->done, true, memory_order_release);
        /* Nobody may be watching any more; then the write is harmless. */
        (void) write(q->fd, &one, sizeof(one));
        query_unref(q);
        return NULL;
}

static int gai_error_to_errno(int e, int sys_errno) {
        switch (e) {
        case 0:
                return 0;
        case EAI_SYSTEM:
                return sys_errno > 0 ? -sys_errno : -EIO;
        case EAI_NONAME:
                return -ENXIO;
#ifdef EAI_NODATA
        case EAI_NODATA:
                return -ENODATA;
#endif
#ifdef EAI_ADDRFAMILY
        case EAI_ADDRFAMILY:
                return -ENODATA;
#endif
        case EAI_AGAIN:
                return -EAGAIN;
        case EAI_MEMORY:
                return -ENOMEM;
        case EAI_FAIL:
        default:
                return -EHOSTUNREACH;
        }
}

const char *resolver_strerror(int error) {
        switch (error < 0 ? -error : error) {
        case ENXIO:
                return gai_strerror(EAI_NONAME);
#ifdef EAI_NODATA
        case ENODATA:
                return gai_strerror(EAI_NODATA);
#endif
        case EAGAIN:
                return gai_strerror(EAI_AGAIN);
        case EHOSTUNREACH:
                return gai_strerror(EAI_FAIL);
        default:
                return strerror(error < 0 ? -error : error);
        }
}

/* "localhost", "localhost." and names under it. */
static bool host_is_localhost(const char *host) {
        size_t len = strlen(host);

        if (len > 0 && host[len - 1] == '.')
                len--;
        if (len == 9)
                return strncasecmp(host, "localhost", 9) == 0;
        return len > 10 && strncasecmp(host + len - 10, ".localhost", 10) == 0;
}

/* Stops watching the query in progress and lets go of it. */
static void resolver_drop_query(struct resolver *r) {
        struct query *q = r->query;

        if (!q)
                return;
        r->query = NULL;
        r->source = sd_event_source_disable_unref(r->source);
        /* The thread, if it still runs, lets go of it when it is done. */
        query_unref(q);
}

static int resolver_io_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct resolver *r = userdata;
        struct query *q = r->query;
        uint64_t v;
        size_t n = 0;
        int error;

        (void) read(fd, &v, sizeof(v));
        if (!q || !atomic_load_explicit(&q->done, memory_order_acquire))
                return 0;

        error = gai_error_to_errno(q->gai_error, q->sys_errno);
        if (error == 0) {
                for (const struct addrinfo *ai = q->result;
                     ai && n < RESOLVER_MAX_ADDRESSES; ai = ai->ai_next) {
                        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
                                continue;
                        /* getnameinfo() rather than inet_ntop(): it keeps an IPv6
                         * link-local address's scope ("fe80::1%eth0"). */
                        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, r->addresses[n],
                                        INET6_ADDRSTRLEN, NULL, 0, NI_NUMERICHOST) == 0)
                                n++;
                }
                if (n == 0)
                        error = -ENODATA;
        }
        if (error < 0 && host_is_localhost(q->host)) {
                /* RFC 6761 6.3: localhost names are the loopback addresses, also where
                 * the system has no /etc/hosts entry for them (minimal containers and
                 * chroots), as the default broker is "localhost". */
                snprintf(r->addresses[0], INET6_ADDRSTRLEN, "127.0.0.1");
                snprintf(r->addresses[1], INET6_ADDRSTRLEN, "::1");
                n = 2;
                error = 0;
        }

        /* Done with it before the callback, which may well start the next query. */
        r->query = NULL;
        r->source = sd_event_source_disable_unref(r->source);
        query_unref(q);

        r->cb(r, error, (const char (*)[INET6_ADDRSTRLEN]) r->addresses, n, r->userdata);
        return 0;
}

int resolver_new(sd_event *event, struct resolver **ret) {
        struct resolver *r;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->event = sd_event_ref(event);
        *ret = r;
        return 0;
}

struct resolver *resolver_free(struct resolver *r) {
        if (!r)
                return NULL;
        resolver_drop_query(r);
        sd_event_unref(r->event);
        return mfree(r);
}

int resolver_resolve(struct resolver *r, const char *host, resolver_callback_t cb, void *userdata) {
        sigset_t all, saved;
        pthread_attr_t attr;
        pthread_t thread;
        struct query *q;
        size_t len;
        int e;

        if (!r || !host || !cb)
                return -EINVAL;
        resolver_cancel(r);

        len = strlen(host);
        q = calloc(1, sizeof(*q) + len + 1);
        if (!q)
                return -ENOMEM;
        memcpy(q->host, host, len + 1);
        atomic_init(&q->done, false);
        atomic_init(&q->refs, 1);
        q->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (q->fd < 0) {
                e = -errno;
                query_unref(q);
                return e;
        }

        e = sd_event_add_io(r->event, &r->source, q->fd, EPOLLIN, resolver_io_handler, r);
        if (e < 0) {
                query_unref(q);
                return e;
        }
        (void) sd_event_source_set_description(r->source, "resolver");

        /* The thread's reference, before it can possibly run. */
        atomic_fetch_add_explicit(&q->refs, 1, memory_order_relaxed);

        /* A thread starts with its creator's signal mask: block everything for that
         * moment, so that no signal is ever delivered to it. */
        e = pthread_attr_init(&attr);
        if (e == 0) {
                (void) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                sigfillset(&all);
                (void) pthread_sigmask(SIG_SETMASK, &all, &saved);
                e = pthread_create(&thread, &attr, query_run, q);
                (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);
                (void) pthread_attr_destroy(&attr);
        }
        if (e != 0) {
                r->source = sd_event_source_disable_unref(r->source);
                query_unref(q);         /* the thread's */
                query_unref(q);
                return -e;
        }

        r->query = q;
        r->cb = cb;
        r->userdata = userdata;
        return 0;
}

void resolver_cancel(struct resolver *r) {
        if (r)
                resolver_drop_query(r);
}
