/* getaddrinfo_a() on sd-event. Each lookup is a query object that glibc's helper thread
 * fills in; glibc then runs our notification function on a thread of its own, which
 * only writes to the query's eventfd, watched by the loop. Everything else, reading the
 * result and calling back, happens on the loop.
 *
 * A lookup that already runs cannot be stopped (gai_cancel() says EAI_NOTCANCELED), and
 * glibc writes its result into the query and notifies afterwards. So the query, with
 * its eventfd, belongs to both sides: the resolver and the notification each hold a
 * reference, and whichever lets go last frees it. A cancelled or freed resolver just
 * stops watching the eventfd and drops its reference; nothing it owns is ever touched
 * by another thread. */
#include "resolver.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

struct query {
        struct gaicb gaicb;
        struct addrinfo hints;
        struct sigevent sigev;
        int fd;                 /* eventfd: the notification writes, the loop reads */
        atomic_uint refs;       /* the resolver's and the notification's */
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

static void query_unref(struct query *q)
{
        /* acq_rel: the last one sees everything the other one wrote. */
        if (atomic_fetch_sub_explicit(&q->refs, 1, memory_order_acq_rel) != 1)
                return;
        if (q->gaicb.ar_result)
                freeaddrinfo(q->gaicb.ar_result);
        if (q->fd >= 0)
                close(q->fd);
        free(q);
}

/* On a thread glibc started for it, once the lookup is done. */
static void query_notify(union sigval value)
{
        struct query *q = value.sival_ptr;
        uint64_t one = 1;

        /* Nobody may read it any more; then the write is harmless. */
        (void) write(q->fd, &one, sizeof(one));
        query_unref(q);
}

static int gai_error_to_errno(int e)
{
        switch (e) {
        case 0:
                return 0;
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
#ifdef EAI_CANCELED
        case EAI_CANCELED:
                return -ECANCELED;
#endif
        case EAI_FAIL:
        default:
                return -EHOSTUNREACH;
        }
}

const char *resolver_strerror(int error)
{
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

/* Stops watching the query in progress and lets go of it. */
static void resolver_drop_query(struct resolver *r)
{
        struct query *q = r->query;

        if (!q)
                return;
        r->query = NULL;
        r->source = sd_event_source_disable_unref(r->source);

        /* Still queued: glibc forgets it and will not notify, so its reference goes
         * too. Running or done: the notification comes (or came) and lets go itself. */
        if (gai_cancel(&q->gaicb) == EAI_CANCELED)
                query_unref(q);
        query_unref(q);
}

static int resolver_io_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct resolver *r = userdata;
        struct query *q = r->query;
        uint64_t v;
        size_t n = 0;
        int error;

        (void) read(fd, &v, sizeof(v));
        if (!q)
                return 0;

        error = gai_error_to_errno(gai_error(&q->gaicb));
        if (error == 0) {
                for (const struct addrinfo *ai = q->gaicb.ar_result;
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

        /* Done with it before the callback, which may well start the next query. */
        r->query = NULL;
        r->source = sd_event_source_disable_unref(r->source);
        query_unref(q);

        r->cb(r, error, (const char (*)[INET6_ADDRSTRLEN]) r->addresses, n, r->userdata);
        return 0;
}

int resolver_new(sd_event *event, struct resolver **ret)
{
        struct resolver *r;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->event = sd_event_ref(event);
        *ret = r;
        return 0;
}

struct resolver *resolver_free(struct resolver *r)
{
        if (!r)
                return NULL;
        resolver_drop_query(r);
        sd_event_unref(r->event);
        return mfree(r);
}

int resolver_resolve(struct resolver *r, const char *host, resolver_callback_t cb, void *userdata)
{
        struct gaicb *list[1];
        struct query *q;
        size_t len;
        int e, q_r;

        if (!r || !host || !cb)
                return -EINVAL;
        resolver_cancel(r);

        len = strlen(host);
        q = calloc(1, sizeof(*q) + len + 1);
        if (!q)
                return -ENOMEM;
        memcpy(q->host, host, len + 1);
        atomic_init(&q->refs, 1);
        q->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (q->fd < 0) {
                q_r = -errno;
                query_unref(q);
                return q_r;
        }

        q_r = sd_event_add_io(r->event, &r->source, q->fd, EPOLLIN, resolver_io_handler, r);
        if (q_r < 0) {
                query_unref(q);
                return q_r;
        }
        (void) sd_event_source_set_description(r->source, "resolver");

        q->hints = (struct addrinfo) {
                .ai_family = AF_UNSPEC,
                .ai_socktype = SOCK_STREAM,
        };
        q->gaicb.ar_name = q->host;
        q->gaicb.ar_request = &q->hints;
        q->sigev.sigev_notify = SIGEV_THREAD;
        q->sigev.sigev_notify_function = query_notify;
        q->sigev.sigev_value.sival_ptr = q;
        list[0] = &q->gaicb;

        /* The notification's reference, before it can possibly run. */
        atomic_fetch_add_explicit(&q->refs, 1, memory_order_relaxed);
        e = getaddrinfo_a(GAI_NOWAIT, list, 1, &q->sigev);
        if (e != 0) {
                /* Could not even queue it. glibc may still notify (it does when nothing
                 * was queued), so the notification keeps its reference; at worst, if
                 * that fails too, one query is never freed. */
                r->source = sd_event_source_disable_unref(r->source);
                query_unref(q);
                return e == EAI_MEMORY ? -ENOMEM : -EAGAIN;
        }

        r->query = q;
        r->cb = cb;
        r->userdata = userdata;
        return 0;
}

void resolver_cancel(struct resolver *r)
{
        if (r)
                resolver_drop_query(r);
}
