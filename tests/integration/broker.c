/* SPDX-License-Identifier: MIT */
/* A real mosquitto for integration tests, and a small threaded test client. */
#include "broker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"

#define START_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define STOP_TIMEOUT_USEC (5 * USEC_PER_SEC)
#define CLIENT_TIMEOUT_USEC (5 * USEC_PER_SEC)
#define POLL_USEC (10 * USEC_PER_MSEC)

struct test_broker {
        char dir[64];
        bool have_dir;
        char conf[128];
        char binary[256];
        unsigned port;
        pid_t pid;
};

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

static void pause_usec(uint64_t usec) {
        struct timespec ts = {
                .tv_sec = (time_t) (usec / USEC_PER_SEC),
                .tv_nsec = (long) (usec % USEC_PER_SEC * NSEC_PER_USEC),
        };

        nanosleep(&ts, NULL);
}

static int pick_free_port(unsigned *ret) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(sa);
        _cleanup_(closep) int fd = -EBADF;

        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            getsockname(fd, (struct sockaddr *) &sa, &len) < 0)
                return -errno;
        *ret = ntohs(sa.sin_port);
        return 0;
}

static bool port_accepts(unsigned port) {
        struct sockaddr_in sa = {
                .sin_family = AF_INET,
                .sin_port = htons((uint16_t) port),
                .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
        };
        _cleanup_(closep) int fd = -EBADF;

        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return false;
        return connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
}

/* Waits for the child to exit within the deadline; SIGKILL after it. */
static int reap(struct test_broker *b, uint64_t timeout_usec) {
        uint64_t deadline = now_usec() + timeout_usec;

        if (b->pid <= 0)
                return 0;
        for (;;) {
                pid_t p = waitpid(b->pid, NULL, WNOHANG);

                if (p == b->pid || (p < 0 && errno == ECHILD))
                        break;
                if (now_usec() >= deadline) {
                        kill(b->pid, SIGKILL);
                        (void) waitpid(b->pid, NULL, 0);
                        break;
                }
                pause_usec(POLL_USEC);
        }
        b->pid = 0;
        return 0;
}

static int broker_spawn(struct test_broker *b) {
        uint64_t deadline;
        pid_t pid;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR);

                /* Never outlive a crashed test. */
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (null >= 0) {
                        dup2(null, STDIN_FILENO);
                        dup2(null, STDOUT_FILENO);
                        dup2(null, STDERR_FILENO);
                }
                execl(b->binary, "mosquitto", "-c", b->conf, (char *) NULL);
                _exit(127);
        }
        b->pid = pid;

        /* Bounded wait for the listener; a broker that exits (port taken, bad config)
         * is noticed at once. */
        deadline = now_usec() + START_TIMEOUT_USEC;
        for (;;) {
                if (port_accepts(b->port))
                        return 0;
                if (waitpid(b->pid, NULL, WNOHANG) == b->pid) {
                        b->pid = 0;
                        return -EADDRINUSE;
                }
                if (now_usec() >= deadline) {
                        test_broker_kill(b);
                        return -ETIMEDOUT;
                }
                pause_usec(POLL_USEC);
        }
}

int test_broker_start(const char *extra_conf, struct test_broker **ret) {
        struct test_broker *b;
        const char *bin = getenv("IOTGWD_TEST_MOSQUITTO");
        FILE *f;
        int r;

        if (!bin)
                bin = "/usr/sbin/mosquitto";
        if (access(bin, X_OK) < 0)
                return -ENOENT;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        snprintf(b->binary, sizeof(b->binary), "%s", bin);
        snprintf(b->dir, sizeof(b->dir), "/tmp/iotgwd-broker-XXXXXX");
        if (!mkdtemp(b->dir)) {
                r = -errno;
                free(b);
                return r;
        }
        b->have_dir = true;
        snprintf(b->conf, sizeof(b->conf), "%s/mosquitto.conf", b->dir);

        r = pick_free_port(&b->port);
        if (r < 0)
                goto fail;

        f = fopen(b->conf, "we");
        if (!f) {
                r = -errno;
                goto fail;
        }
        fprintf(f,
                "listener %u 127.0.0.1\n"
                "allow_anonymous true\n"
                "persistence false\n"
                /* Used when a test turns persistence on in extra_conf. */
                "persistence_location %s/\n"
                /* Started as root, mosquitto would switch to its own user and could
                 * then read nothing in this private directory. */
                "%s"
                "log_dest file %s/mosquitto.log\n"
                "log_type all\n"
                "%s",
                b->port, b->dir, geteuid() == 0 ? "user root\n" : "", b->dir,
                extra_conf ? extra_conf : "");
        if (fclose(f) != 0) {
                r = -errno;
                goto fail;
        }

        r = broker_spawn(b);
        if (r < 0)
                goto fail;

        *ret = b;
        return 0;
fail:
        test_broker_free(b);
        return r;
}

unsigned test_broker_port(const struct test_broker *b) {
        return b->port;
}

const char *test_broker_dir(const struct test_broker *b) {
        return b->dir;
}

int test_broker_stop(struct test_broker *b) {
        if (b->pid > 0) {
                kill(b->pid, SIGTERM);
                kill(b->pid, SIGCONT);          /* in case it was frozen */
        }
        return reap(b, STOP_TIMEOUT_USEC);
}

int test_broker_kill(struct test_broker *b) {
        if (b->pid > 0)
                kill(b->pid, SIGKILL);
        return reap(b, STOP_TIMEOUT_USEC);
}

int test_broker_freeze(struct test_broker *b) {
        if (b->pid <= 0)
                return -ESRCH;
        return kill(b->pid, SIGSTOP) < 0 ? -errno : 0;
}

int test_broker_restart(struct test_broker *b) {
        if (b->pid > 0)
                return -EBUSY;
        return broker_spawn(b);
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) remove(path);
        return 0;
}

struct test_broker *test_broker_free(struct test_broker *b) {
        if (!b)
                return NULL;
        test_broker_kill(b);
        if (b->have_dir && !getenv("IOTGWD_TEST_KEEP"))
                (void) nftw(b->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(b);
        return NULL;
}

/* the test client */

struct inbox_item {
        struct test_message *msg;
        struct inbox_item *next;
};

struct test_client {
        struct mosquitto *mosq;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int event_fd;
        bool connected;
        bool v5;
        int last_sub_mid, last_pub_mid;
        struct inbox_item *head, **tail;
};

static uint64_t deadline_after(uint64_t usec) {
        return now_usec() + usec;
}

/* Waits on the condition variable until `deadline` (CLOCK_MONOTONIC); lock held. */
static int client_wait_locked(struct test_client *c, uint64_t deadline) {
        struct timespec ts = {
                .tv_sec = (time_t) (deadline / USEC_PER_SEC),
                .tv_nsec = (long) (deadline % USEC_PER_SEC * NSEC_PER_USEC),
        };
        int r = pthread_cond_timedwait(&c->cond, &c->lock, &ts);

        return r == ETIMEDOUT ? -ETIMEDOUT : -r;
}

static void client_on_connect(struct mosquitto *m, void *userdata, int rc) {
        struct test_client *c = userdata;

        pthread_mutex_lock(&c->lock);
        c->connected = rc == 0;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
}

static void client_on_subscribe(struct mosquitto *m, void *userdata, int mid, int n, const int *granted) {
        struct test_client *c = userdata;

        pthread_mutex_lock(&c->lock);
        c->last_sub_mid = mid;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
}

static void client_on_publish(struct mosquitto *m, void *userdata, int mid) {
        struct test_client *c = userdata;

        pthread_mutex_lock(&c->lock);
        c->last_pub_mid = mid;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
}

void test_message_free(struct test_message *m) {
        if (!m)
                return;
        free(m->topic);
        free(m->payload);
        free(m->correlation);
        free(m);
}

static void client_on_message(struct mosquitto *m, void *userdata, const struct mosquitto_message *msg,
                              const mosquitto_property *props) {
        struct test_client *c = userdata;
        struct inbox_item *item;
        struct test_message *tm;
        size_t len = msg->payloadlen > 0 ? (size_t) msg->payloadlen : 0;
        uint64_t one = 1;
        int old;

        /* test_client_free() cancels the loop thread; write() below is a cancellation
         * point, and a cancel there would leak libmosquitto's copy of the message. */
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);

        tm = calloc(1, sizeof(*tm));
        item = calloc(1, sizeof(*item));
        if (!tm || !item) {
                free(tm);
                free(item);
                pthread_setcancelstate(old, NULL);
                return;
        }
        tm->topic = strdup(msg->topic);
        tm->payload = malloc(len + 1);
        if (!tm->topic || !tm->payload) {
                test_message_free(tm);
                free(item);
                pthread_setcancelstate(old, NULL);
                return;
        }
        if (len > 0)
                memcpy(tm->payload, msg->payload, len);
        tm->payload[len] = 0;
        tm->len = len;
        tm->retain = msg->retain;
        {
                void *corr = NULL;
                uint16_t corr_len = 0;

                /* MQTT 5 correlation data, as a string for the tests' convenience. */
                if (mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr,
                                                   &corr_len, false)) {
                        tm->correlation = strndup(corr, corr_len);
                        free(corr);
                }
        }
        item->msg = tm;

        pthread_mutex_lock(&c->lock);
        *c->tail = item;
        c->tail = &item->next;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
        (void) write(c->event_fd, &one, sizeof(one));
        pthread_setcancelstate(old, NULL);
}

int test_client_new(unsigned port, struct test_client **ret) {
        return test_client_new_with(port, NULL, true, false, ret);
}

int test_client_new_with(unsigned port, const char *client_id, bool clean, bool v5,
                         struct test_client **ret) {
        struct test_client *c;
        pthread_condattr_t attr;
        uint64_t deadline;
        int r = 0;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        mosquitto_lib_init();           /* balanced in test_client_free() */
        c->tail = &c->head;
        c->last_sub_mid = c->last_pub_mid = -1;
        pthread_mutex_init(&c->lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&c->cond, &attr);
        pthread_condattr_destroy(&attr);
        c->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (c->event_fd < 0) {
                r = -errno;
                goto fail;
        }

        c->mosq = mosquitto_new(client_id, clean, c);
        if (!c->mosq) {
                r = -ENOMEM;
                goto fail;
        }
        c->v5 = v5;
        if (v5)
                mosquitto_int_option(c->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
        mosquitto_connect_callback_set(c->mosq, client_on_connect);
        mosquitto_subscribe_callback_set(c->mosq, client_on_subscribe);
        mosquitto_publish_callback_set(c->mosq, client_on_publish);
        mosquitto_message_v5_callback_set(c->mosq, client_on_message);

        if (mosquitto_connect(c->mosq, "127.0.0.1", (int) port, 60) != MOSQ_ERR_SUCCESS ||
            mosquitto_loop_start(c->mosq) != MOSQ_ERR_SUCCESS) {
                r = -ECONNREFUSED;
                goto fail;
        }

        deadline = deadline_after(CLIENT_TIMEOUT_USEC);
        pthread_mutex_lock(&c->lock);
        while (!c->connected && r == 0)
                r = client_wait_locked(c, deadline);
        pthread_mutex_unlock(&c->lock);
        if (r < 0)
                goto fail;

        *ret = c;
        return 0;
fail:
        test_client_free(c);
        return r;
}

int test_client_subscribe(struct test_client *c, const char *pattern) {
        uint64_t deadline = deadline_after(CLIENT_TIMEOUT_USEC);
        int mid, r = 0;

        pthread_mutex_lock(&c->lock);
        if (mosquitto_subscribe(c->mosq, &mid, pattern, 1) != MOSQ_ERR_SUCCESS)
                r = -EIO;
        while (r == 0 && c->last_sub_mid != mid)
                r = client_wait_locked(c, deadline);
        pthread_mutex_unlock(&c->lock);
        return r;
}

int test_client_publish(struct test_client *c, const char *topic, const char *payload,
                        int qos, bool retain) {
        return test_client_publish_raw(c, topic, payload, payload ? strlen(payload) : 0, qos, retain);
}

/* Publishes with optional MQTT 5 properties; waits for the PUBACK of QoS > 0. */
static int client_publish_props(struct test_client *c, const char *topic, const void *payload,
                                size_t len, int qos, bool retain, const mosquitto_property *props) {
        uint64_t deadline = deadline_after(CLIENT_TIMEOUT_USEC);
        int mid, r = 0;

        /* Locked across the call so the PUBACK cannot be seen before we wait for it. */
        pthread_mutex_lock(&c->lock);
        if (mosquitto_publish_v5(c->mosq, &mid, topic, (int) len, payload, qos, retain,
                                 props) != MOSQ_ERR_SUCCESS)
                r = -EIO;
        while (r == 0 && qos > 0 && c->last_pub_mid != mid)
                r = client_wait_locked(c, deadline);
        pthread_mutex_unlock(&c->lock);
        return r;
}

int test_client_publish_raw(struct test_client *c, const char *topic, const void *payload,
                            size_t len, int qos, bool retain) {
        return client_publish_props(c, topic, payload, len, qos, retain, NULL);
}

int test_client_request(struct test_client *c, const char *topic, const char *payload,
                        const char *response_topic, const char *correlation) {
        mosquitto_property *props = NULL;
        int r;

        if (!c->v5)
                return -EOPNOTSUPP;
        if (mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, response_topic) ||
            mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, correlation,
                                          (uint16_t) strlen(correlation))) {
                mosquitto_property_free_all(&props);
                return -ENOMEM;
        }
        r = client_publish_props(c, topic, payload, strlen(payload), 1, false, props);
        mosquitto_property_free_all(&props);
        return r;
}

/* Lock held. */
static struct test_message *inbox_take(struct test_client *c, const char *topic, const char *payload) {
        for (struct inbox_item **p = &c->head; *p; p = &(*p)->next) {
                struct inbox_item *item = *p;
                struct test_message *m = item->msg;

                if (!streq(m->topic, topic) || (payload && !streq(m->payload, payload)))
                        continue;
                *p = item->next;
                if (c->tail == &item->next)
                        c->tail = p;
                free(item);
                return m;
        }
        return NULL;
}

int test_client_wait(struct test_client *c, const char *topic, const char *payload,
                     uint64_t timeout_usec, struct test_message **ret) {
        uint64_t deadline = deadline_after(timeout_usec);
        struct test_message *m = NULL;
        int r = 0;

        pthread_mutex_lock(&c->lock);
        while (!(m = inbox_take(c, topic, payload)) && r == 0)
                r = client_wait_locked(c, deadline);
        pthread_mutex_unlock(&c->lock);
        if (!m)
                return r < 0 ? r : -ETIMEDOUT;
        if (ret)
                *ret = m;
        else
                test_message_free(m);
        return 0;
}

int test_client_take(struct test_client *c, const char *topic, const char *payload,
                     struct test_message **ret) {
        struct test_message *m;

        pthread_mutex_lock(&c->lock);
        m = inbox_take(c, topic, payload);
        pthread_mutex_unlock(&c->lock);
        if (!m)
                return -EAGAIN;
        if (ret)
                *ret = m;
        else
                test_message_free(m);
        return 0;
}

int test_client_event_fd(const struct test_client *c) {
        return c->event_fd;
}

struct test_client *test_client_free(struct test_client *c) {
        if (!c)
                return NULL;
        if (c->mosq) {
                mosquitto_disconnect(c->mosq);
                mosquitto_loop_stop(c->mosq, true);
                mosquitto_destroy(c->mosq);
        }
        while (c->head) {
                struct inbox_item *item = c->head;

                c->head = item->next;
                test_message_free(item->msg);
                free(item);
        }
        if (c->event_fd >= 0)
                close(c->event_fd);
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
        free(c);
        mosquitto_lib_cleanup();
        return NULL;
}
