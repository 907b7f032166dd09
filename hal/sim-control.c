/* SPDX-License-Identifier: MIT */
/* The simulated board's control socket: a line protocol on an AF_UNIX stream socket
 * through which tests and the demo drive inputs, read outputs and set sensor values.
 * Every byte a client sends is hostile: lines are bounded, tokens checked, and a
 * client that does not read its replies is cut off rather than buffered without end.
 * Only the daemon's own user and root may connect (mode 0600 and SO_PEERCRED), and
 * a client idle for a minute is closed, so idle clients cannot take every slot. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "sim-chips.h"
#include "sim.h"

#define SIM_CONTROL_CLIENTS_MAX 16
#define SIM_CONTROL_OUT_MAX 4096
/* Reads per wake-up, so that one chatty client cannot hold the loop. */
#define SIM_CONTROL_READS_MAX 8
#define SIM_CONTROL_TOKENS_MAX 5
#define SIM_CONTROL_IDLE_USEC (60 * USEC_PER_SEC)

struct sim_client {
        struct sim_control *control;
        struct sim_client *prev, *next;
        int fd;
        sd_event_source *source;
        bool discarding;        /* inside a line that was too long, until its newline */
        bool paused;            /* replies not read: stop reading commands for now */
        bool eof;               /* the client shut down its side: close once flushed */
        uint64_t active_usec;   /* CLOCK_MONOTONIC of its last byte in or out */
        size_t in_len;
        size_t out_len;
        char in[SIM_CONTROL_LINE_MAX];
        char out[SIM_CONTROL_OUT_MAX];
};

struct sim_control {
        struct sim *sim;
        sd_event *event;
        char *path;
        int fd;
        sd_event_source *source;
        struct sim_client *clients;
        unsigned n_clients;
        uint64_t idle_usec;
        sd_event_source *idle_timer;    /* one for all clients: due at the earliest */
        struct log_ratelimit refused_ratelimit;
};

/* commands */

static const char sim_control_help[] =
        "commands: set CHIP LINE 0|1; get CHIP LINE; sensor NAME QUANTITY VALUE; "
        "fail NAME on|off; help; fail CHIP LINE on|off; power NAME off|on; "
        "hold CHIP LINE CONSUMER; release CHIP LINE; i2c smbus-only on|off";

/* Splits at blanks; -E2BIG if there are more tokens than fit. */
static int sim_control_tokenize(char *s, char **tokens, size_t max) {
        size_t n = 0;
        char *save = NULL;

        for (char *t = strtok_r(s, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
                if (n == max)
                        return -E2BIG;
                tokens[n++] = t;
        }
        return (int) n;
}

static int sim_control_parse_level(const char *s, bool *ret) {
        if (streq(s, "0") || streq(s, "1")) {
                *ret = s[0] == '1';
                return 0;
        }
        return -EINVAL;
}

static int sim_control_parse_value(const char *s, double *ret) {
        char *end = NULL;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || *end != '\0' || !isfinite(v))
                return -EINVAL;
        *ret = v;
        return 0;
}

static void sim_control_set(struct sim *sim, char **t, int n, uint64_t now,
                            char *reply, size_t size) {
        bool level;
        int r;

        if (n != 4 || sim_control_parse_level(t[3], &level) < 0) {
                snprintf(reply, size, "error: usage: set CHIP LINE 0|1");
                return;
        }
        r = sim_input_drive(sim, t[1], t[2], level, now);
        if (r == -ENOENT)
                snprintf(reply, size, "error: no input %s %s", t[1], t[2]);
        else if (r < 0)
                snprintf(reply, size, "error: %s", strerror(-r));
        else
                snprintf(reply, size, "ok");
}

static void sim_control_get(struct sim *sim, char **t, int n, char *reply, size_t size) {
        int r;

        if (n != 3) {
                snprintf(reply, size, "error: usage: get CHIP LINE");
                return;
        }
        r = sim_line_level(sim, t[1], t[2]);
        if (r < 0)
                snprintf(reply, size, "error: no line %s %s", t[1], t[2]);
        else
                snprintf(reply, size, "%d", r);
}

static void sim_control_sensor(struct sim *sim, char **t, int n, char *reply, size_t size) {
        struct sim_chip *chip;
        double value;
        int r;

        if (n != 4) {
                snprintf(reply, size, "error: usage: sensor NAME QUANTITY VALUE");
                return;
        }
        chip = sim_find_chip(sim, t[1]);
        if (!chip) {
                snprintf(reply, size, "error: unknown sensor %s", t[1]);
                return;
        }
        if (sim_control_parse_value(t[3], &value) < 0) {
                snprintf(reply, size, "error: bad value %s", t[3]);
                return;
        }
        r = sim_chip_set(chip, t[2], value);
        if (r == -ENOENT)
                snprintf(reply, size, "error: unknown quantity");
        else if (r == -ERANGE)
                snprintf(reply, size, "error: out of range");
        else if (r < 0)
                snprintf(reply, size, "error: %s", strerror(-r));
        else
                snprintf(reply, size, "ok");
}

/* fail CHIP LINE on|off: the line refuses new settings. */
static void sim_control_fail_line(struct sim *sim, char **t, int n, char *reply, size_t size) {
        if (!(streq(t[3], "on") || streq(t[3], "off"))) {
                snprintf(reply, size, "error: usage: fail CHIP LINE on|off");
                return;
        }
        if (sim_line_refuse_config(sim, t[1], t[2], streq(t[3], "on")) < 0)
                snprintf(reply, size, "error: no line %s %s", t[1], t[2]);
        else
                snprintf(reply, size, "ok");
}

static void sim_control_fail(struct sim *sim, char **t, int n, char *reply, size_t size) {
        struct sim_chip *chip;
        bool failing;

        if (n == 4) {
                sim_control_fail_line(sim, t, n, reply, size);
                return;
        }
        if (n != 3 || !(streq(t[2], "on") || streq(t[2], "off"))) {
                snprintf(reply, size, "error: usage: fail NAME on|off");
                return;
        }
        failing = streq(t[2], "on");
        chip = sim_find_chip(sim, t[1]);
        if (!chip) {
                snprintf(reply, size, "error: unknown sensor %s", t[1]);
                return;
        }
        sim_chip_fail(chip, failing);
        snprintf(reply, size, "ok");
}

/* hold CHIP LINE CONSUMER: another program takes the line. */
static void sim_control_hold(struct sim *sim, char **t, int n, char *reply, size_t size) {
        int r;

        if (n != 4) {
                snprintf(reply, size, "error: usage: hold CHIP LINE CONSUMER");
                return;
        }
        r = sim_line_hold(sim, t[1], t[2], t[3]);
        if (r == -EBUSY)
                snprintf(reply, size, "error: line %s %s is in use", t[1], t[2]);
        else if (r < 0)
                snprintf(reply, size, "error: %s", strerror(-r));
        else
                snprintf(reply, size, "ok");
}

static void sim_control_release(struct sim *sim, char **t, int n, char *reply, size_t size) {
        int r;

        if (n != 3) {
                snprintf(reply, size, "error: usage: release CHIP LINE");
                return;
        }
        r = sim_line_unhold(sim, t[1], t[2]);
        if (r == -ENOENT)
                snprintf(reply, size, "error: no line %s %s", t[1], t[2]);
        else if (r == -EBUSY)
                snprintf(reply, size, "error: line %s %s is the daemon's", t[1], t[2]);
        else if (r < 0)
                snprintf(reply, size, "error: %s", strerror(-r));
        else
                snprintf(reply, size, "ok");
}

/* i2c smbus-only on|off: the buses speak SMBus only, as i2c-stub does. */
static void sim_control_i2c(struct sim *sim, char **t, int n, char *reply, size_t size) {
        if (n != 3 || !streq(t[1], "smbus-only") || !(streq(t[2], "on") || streq(t[2], "off"))) {
                snprintf(reply, size, "error: usage: i2c smbus-only on|off");
                return;
        }
        sim_set_smbus_only(sim, streq(t[2], "on"));
        snprintf(reply, size, "ok");
}

/* power NAME off|on: a brownout of the sensor's chip. */
static void sim_control_power(struct sim *sim, char **t, int n, char *reply, size_t size) {
        struct sim_chip *chip;

        if (n != 3 || !(streq(t[2], "on") || streq(t[2], "off"))) {
                snprintf(reply, size, "error: usage: power NAME off|on");
                return;
        }
        chip = sim_find_chip(sim, t[1]);
        if (!chip) {
                snprintf(reply, size, "error: unknown sensor %s", t[1]);
                return;
        }
        if (!sim_chip_i2c(chip)) {
                snprintf(reply, size, "error: %s is not an I2C chip", t[1]);
                return;
        }
        sim_chip_power(chip, streq(t[2], "on"));
        snprintf(reply, size, "ok");
}

int sim_control_execute(struct sim *sim, const char *cmd, size_t len, uint64_t now_usec,
                        char *reply, size_t size) {
        char buf[SIM_CONTROL_LINE_MAX];
        char *t[SIM_CONTROL_TOKENS_MAX];
        int n;

        /* Tolerate the CR of clients that end lines with CRLF. */
        if (len > 0 && cmd[len - 1] == '\r')
                len--;
        if (len >= sizeof(buf)) {
                snprintf(reply, size, "error: line too long");
                return 1;
        }
        /* Control bytes (NUL included) have no place in names, and echoing them back
         * in a reply could forge extra reply lines. */
        for (size_t i = 0; i < len; i++)
                if (((unsigned char) cmd[i] < 0x20 && cmd[i] != '\t') || cmd[i] == 0x7f) {
                        snprintf(reply, size, "error: invalid character");
                        return 1;
                }
        memcpy(buf, cmd, len);
        buf[len] = '\0';

        n = sim_control_tokenize(buf, t, ELEMENTSOF(t));
        if (n == 0)
                return 0;
        if (n < 0) {
                snprintf(reply, size, "error: too many arguments");
                return 1;
        }

        if (streq(t[0], "set"))
                sim_control_set(sim, t, n, now_usec, reply, size);
        else if (streq(t[0], "get"))
                sim_control_get(sim, t, n, reply, size);
        else if (streq(t[0], "sensor"))
                sim_control_sensor(sim, t, n, reply, size);
        else if (streq(t[0], "fail"))
                sim_control_fail(sim, t, n, reply, size);
        else if (streq(t[0], "power"))
                sim_control_power(sim, t, n, reply, size);
        else if (streq(t[0], "hold"))
                sim_control_hold(sim, t, n, reply, size);
        else if (streq(t[0], "release"))
                sim_control_release(sim, t, n, reply, size);
        else if (streq(t[0], "i2c"))
                sim_control_i2c(sim, t, n, reply, size);
        else if (streq(t[0], "help") && n == 1)
                snprintf(reply, size, "%s", sim_control_help);
        else
                snprintf(reply, size, "error: unknown command");
        return 1;
}

/* clients */

static void sim_client_free(struct sim_client *c) {
        struct sim_control *control;

        if (!c)
                return;
        control = c->control;
        c->source = sd_event_source_disable_unref(c->source);
        safe_close(c->fd);
        if (control) {
                if (c->prev)
                        c->prev->next = c->next;
                else
                        control->clients = c->next;
                if (c->next)
                        c->next->prev = c->prev;
                control->n_clients--;
                /* Accepting may have stopped at the client limit or on EMFILE. */
                if (control->source)
                        (void) sd_event_source_set_enabled(control->source, SD_EVENT_ON);
        }
        free(c);
}

static void sim_client_reply(struct sim_client *c, const char *reply) {
        size_t len = strlen(reply);

        /* sim_client_process() keeps SIM_CONTROL_REPLY_MAX free before each command. */
        if (len + 1 > sizeof(c->out) - c->out_len)
                return;
        memcpy(c->out + c->out_len, reply, len);
        c->out[c->out_len + len] = '\n';
        c->out_len += len + 1;
}

/* Runs every complete line in the input buffer, as long as replies fit. */
static void sim_client_process(struct sim_client *c) {
        char reply[SIM_CONTROL_REPLY_MAX];
        uint64_t now = 0;

        /* One timestamp for every command that arrived together: they happened at
         * once, as far as anyone outside can tell. */
        (void) sd_event_now(c->control->event, CLOCK_MONOTONIC, &now);

        for (;;) {
                char *nl;
                size_t len;

                if (sizeof(c->out) - c->out_len < SIM_CONTROL_REPLY_MAX) {
                        c->paused = true;
                        return;
                }

                nl = memchr(c->in, '\n', c->in_len);
                if (!nl) {
                        if (c->in_len == sizeof(c->in)) {
                                if (!c->discarding)
                                        sim_client_reply(c, "error: line too long");
                                c->discarding = true;
                                c->in_len = 0;
                        }
                        return;
                }

                len = (size_t) (nl - c->in);
                if (c->discarding)
                        c->discarding = false;  /* the tail of an overlong line */
                else if (sim_control_execute(c->control->sim, c->in, len, now,
                                             reply, sizeof(reply)) > 0)
                        sim_client_reply(c, reply);

                memmove(c->in, nl + 1, c->in_len - len - 1);
                c->in_len -= len + 1;
        }
}

static uint64_t sim_control_now(struct sim_control *control) {
        uint64_t now = 0;

        (void) sd_event_now(control->event, CLOCK_MONOTONIC, &now);
        return now;
}

/* Sends what it can. Returns 0, or -errno when the client is gone. */
static int sim_client_flush(struct sim_client *c) {
        while (c->out_len > 0) {
                ssize_t k = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (k < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return -errno;
                }
                memmove(c->out, c->out + k, c->out_len - (size_t) k);
                c->out_len -= (size_t) k;
                if (k > 0)
                        c->active_usec = sim_control_now(c->control);
        }
        return 0;
}

/* Reads until the socket is empty, the wake-up's budget is spent, or replies back
 * up. Returns 0, or -errno when the client is gone. */
static int sim_client_read(struct sim_client *c) {
        for (unsigned i = 0; i < SIM_CONTROL_READS_MAX && !c->paused && !c->eof; i++) {
                ssize_t k = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len,
                                 MSG_DONTWAIT);

                if (k < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return -errno;
                }
                if (k == 0) {
                        c->eof = true;
                        /* A last line without newline still counts. */
                        if (c->in_len > 0 && !c->discarding && c->in_len < sizeof(c->in)) {
                                c->in[c->in_len++] = '\n';
                                sim_client_process(c);
                        }
                        return 0;
                }
                c->in_len += (size_t) k;
                c->active_usec = sim_control_now(c->control);
                sim_client_process(c);
        }
        return 0;
}

static int sim_client_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct sim_client *c = userdata;
        uint32_t events;
        int r;

        if (revents & EPOLLIN) {
                r = sim_client_read(c);
                if (r < 0)
                        goto gone;
        }

        r = sim_client_flush(c);
        if (r < 0)
                goto gone;

        /* Replies drained: take up the commands that were left waiting. Until they
         * are all done or the socket is full: paused with nothing left to send, no
         * event would ever wake the client again. */
        while (c->paused && c->out_len == 0) {
                c->paused = false;
                sim_client_process(c);
                r = sim_client_flush(c);
                if (r < 0)
                        goto gone;
        }

        if (c->eof && c->out_len == 0)
                goto gone;
        if (!(revents & EPOLLIN) && (revents & (EPOLLHUP | EPOLLERR)))
                goto gone;

        events = (c->paused || c->eof ? 0 : EPOLLIN) | (c->out_len > 0 ? EPOLLOUT : 0);
        r = sd_event_source_set_io_events(s, events);
        if (r < 0)
                goto gone;
        return 0;

gone:
        sim_client_free(c);
        return 0;
}

static int sim_control_on_idle(sd_event_source *s, uint64_t usec, void *userdata);

/* Arms the idle timer for the client that falls idle first (off without clients).
 * Activity does not move the timer: when it fires early it finds nobody idle and is
 * armed again for the new earliest time. */
static void sim_control_arm_idle(struct sim_control *control) {
        uint64_t deadline = UINT64_MAX;
        int r;

        for (struct sim_client *c = control->clients; c; c = c->next)
                deadline = MIN(deadline, c->active_usec + control->idle_usec);

        if (deadline == UINT64_MAX) {
                (void) sd_event_source_set_enabled(control->idle_timer, SD_EVENT_OFF);
                return;
        }
        if (!control->idle_timer) {
                /* How soon after the minute an idle client goes matters to nobody. */
                r = sd_event_add_time(control->event, &control->idle_timer, CLOCK_MONOTONIC,
                                      deadline, MIN(control->idle_usec, USEC_PER_SEC),
                                      sim_control_on_idle, control);
                if (r >= 0)
                        (void) sd_event_source_set_description(control->idle_timer,
                                                               "sim-control-idle");
        } else {
                r = sd_event_source_set_time(control->idle_timer, deadline);
                if (r >= 0)
                        r = sd_event_source_set_enabled(control->idle_timer, SD_EVENT_ONESHOT);
        }
        if (r < 0)
                log_warning_errno(r, "sim: cannot arm the control clients' idle timer: %m, ignoring");
}

static int sim_control_on_idle(sd_event_source *s, uint64_t usec, void *userdata) {
        struct sim_control *control = userdata;
        uint64_t now = sim_control_now(control);
        struct sim_client *next;

        for (struct sim_client *c = control->clients; c; c = next) {
                next = c->next;
                if (now < c->active_usec + control->idle_usec)
                        continue;
                /* A last word, if it fits; the client is closed either way. */
                c->out_len = 0;
                sim_client_reply(c, "error: idle for too long, closing");
                (void) sim_client_flush(c);
                sim_client_free(c);
        }
        sim_control_arm_idle(control);
        return 0;
}

/* Only the user the daemon runs as, and root. The socket's mode keeps others out
 * already; this holds when the mode was widened or the directory is shared. */
static int sim_control_check_peer(struct sim_control *control, int fd) {
        struct ucred cred = {};
        socklen_t len = sizeof(cred);
        char line[128];
        unsigned suppressed = 0;
        uid_t self = geteuid();

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        if (cred.uid == 0 || cred.uid == self)
                return 0;

        snprintf(line, sizeof(line), "error: permission denied for uid %u\n", (unsigned) cred.uid);
        (void) send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (log_ratelimit_test(&control->refused_ratelimit, sim_control_now(control), &suppressed))
                log_warning("sim: refused a control client with uid %u (pid %d): only root and "
                            "uid %u may drive the board%s", (unsigned) cred.uid, (int) cred.pid,
                            (unsigned) self, suppressed > 0 ? ", and others before" : "");
        return -EPERM;
}

static int sim_control_accept_one(struct sim_control *control, int fd) {
        struct sim_client *c;
        int r;

        r = sim_control_check_peer(control, fd);
        if (r < 0) {
                safe_close(fd);
                return r == -EPERM ? 0 : r;
        }

        c = calloc(1, sizeof(*c));
        if (!c) {
                safe_close(fd);
                return -ENOMEM;
        }
        c->fd = fd;

        r = sd_event_add_io(control->event, &c->source, fd, EPOLLIN, sim_client_on_io, c);
        if (r < 0) {
                sim_client_free(c);
                return r;
        }
        (void) sd_event_source_set_description(c->source, "sim-control-client");

        c->control = control;
        c->active_usec = sim_control_now(control);
        c->next = control->clients;
        if (control->clients)
                control->clients->prev = c;
        control->clients = c;
        control->n_clients++;
        sim_control_arm_idle(control);
        return 0;
}

static int sim_control_on_listen(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct sim_control *control = userdata;

        for (unsigned i = 0; i < SIM_CONTROL_CLIENTS_MAX; i++) {
                int cfd, r;

                if (control->n_clients >= SIM_CONTROL_CLIENTS_MAX) {
                        /* Stop accepting until someone leaves; the backlog waits. */
                        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
                        return 0;
                }

                cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                                return 0;
                        /* Out of fds, most likely: a level-triggered source would spin,
                         * so wait for a client to leave. */
                        log_warning_errno(errno, "sim: accepting a control client failed: %m");
                        if (control->n_clients > 0)
                                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
                        return 0;
                }

                r = sim_control_accept_one(control, cfd);
                if (r < 0)
                        log_warning_errno(r, "sim: cannot serve a control client: %m, ignoring");
        }
        return 0;
}

/* the socket */

/* mkdir -p of the directory that will hold the socket. */
static int sim_control_mkdir_parents(const char *path) {
        _cleanup_(freep) char *p = strdup(path);
        char *slash;

        if (!p)
                return -ENOMEM;
        slash = strrchr(p, '/');
        if (!slash || slash == p)
                return 0;
        *slash = '\0';

        for (char *s = p + 1; ; s++) {
                bool last = *s == '\0';

                if (*s != '/' && !last)
                        continue;
                *s = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                if (last)
                        return 0;
                *s = '/';
        }
}

/* A socket left behind by a previous run is replaced; anything else at the path is
 * somebody's file and stays. */
static int sim_control_remove_stale(const char *path) {
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISSOCK(st.st_mode))
                return -EEXIST;
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

void sim_control_set_idle_timeout(struct sim_control *control, uint64_t usec) {
        if (!control || usec == 0)
                return;
        control->idle_usec = usec;
        sim_control_arm_idle(control);
}

struct sim_control *sim_control_free(struct sim_control *control) {
        if (!control)
                return NULL;

        while (control->clients)
                sim_client_free(control->clients);
        control->idle_timer = sd_event_source_disable_unref(control->idle_timer);
        control->source = sd_event_source_disable_unref(control->source);
        if (control->fd >= 0) {
                safe_close(control->fd);
                if (control->path)
                        (void) unlink(control->path);
        }
        sd_event_unref(control->event);
        free(control->path);
        free(control);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct sim_control *, sim_control_free);

int sim_control_new(struct sim *sim, sd_event *event, const char *path,
                    struct sim_control **ret) {
        _cleanup_(sim_control_freep) struct sim_control *control = NULL;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t len;
        int r;

        len = strlen(path);
        if (len == 0)
                return -EINVAL;
        if (len >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, len);

        control = calloc(1, sizeof(*control));
        if (!control)
                return -ENOMEM;
        control->fd = -EBADF;
        control->sim = sim;
        control->event = sd_event_ref(event);
        control->idle_usec = SIM_CONTROL_IDLE_USEC;
        control->refused_ratelimit = (struct log_ratelimit) LOG_RATELIMIT_INIT(60 * USEC_PER_SEC, 5);

        r = sim_control_mkdir_parents(path);
        if (r < 0)
                return r;
        r = sim_control_remove_stale(path);
        if (r < 0)
                return r;

        control->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (control->fd < 0)
                return -errno;
        /* Linux creates the socket file with the mode of the socket's inode (masked by
         * the umask): set before bind(), the path is never connectable by others, not
         * even for a moment, and the process umask stays untouched. */
        if (fchmod(control->fd, 0600) < 0)
                return -errno;
        if (bind(control->fd, (const struct sockaddr *) &sa,
                 (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len + 1)) < 0)
                return -errno;
        /* Bound: from now on the path is ours to remove. */
        control->path = strdup(path);
        if (!control->path)
                return -ENOMEM;
        if (listen(control->fd, SIM_CONTROL_CLIENTS_MAX) < 0)
                return -errno;

        r = sd_event_add_io(event, &control->source, control->fd, EPOLLIN,
                            sim_control_on_listen, control);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(control->source, "sim-control");

        *ret = TAKE_PTR(control);
        return 0;
}
