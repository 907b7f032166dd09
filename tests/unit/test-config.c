/* SPDX-License-Identifier: MIT */
/* Unit tests for config_load(): good files and their values, defaults, drop-ins in
 * conf.d, every kind of error with its exact FILE:LINE, the password file checks,
 * and the shipped conf/iotgwd.conf. Each test writes its files into a fresh
 * mkdtemp() directory. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* By directory: the build tree has an autoconf config.h of its own. */
#include "daemon/config.h"
#include "macro.h"

#define SEC(n) ((uint64_t) (n) * USEC_PER_SEC)


static char tmpdir[64];
static char main_path[128];

static void make_dir(void) {
        strcpy(tmpdir, "/tmp/test-config-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        snprintf(main_path, sizeof(main_path), "%s/iotgwd.conf", tmpdir);
}

static void remove_dir(void) {
        char cmd[128];

        /* Test directories only ever hold what these tests wrote. */
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        ck_assert_int_eq(system(cmd), 0);
}

/* Writes `content` to tmpdir/name with `mode`, returns the full path (static buffer). */
static const char *write_file_mode(const char *name, mode_t mode, const char *content) {
        static char path[256];
        FILE *f;
        int fd;

        snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(fchmod(fd, mode), 0);     /* not subject to umask */
        f = fdopen(fd, "w");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fwrite(content, 1, strlen(content), f), strlen(content));
        ck_assert_int_eq(fclose(f), 0);
        return path;
}

static const char *write_file(const char *name, const char *content) {
        return write_file_mode(name, 0644, content);
}

static void make_conf_d(void) {
        char p[256];

        snprintf(p, sizeof(p), "%s/conf.d", tmpdir);
        ck_assert_int_eq(mkdir(p, 0755), 0);
}

static void dump_errors(const struct config_errors *e) {
        for (size_t i = 0; i < e->n; i++)
                fprintf(stderr, "  error: %s\n", e->messages[i]);
}

/* Loads main_path and expects success. */
static struct config *load_ok(void) {
        struct config_errors errors = {};
        struct config *c = NULL;
        int r;

        r = config_load(main_path, &c, &errors);
        if (r != 0)
                dump_errors(&errors);
        ck_assert_int_eq(r, 0);
        ck_assert_uint_eq(errors.n, 0);
        ck_assert_ptr_nonnull(c);
        config_errors_clear(&errors);
        return c;
}

/* Copies `pattern` to buf with every "<TMP>" replaced by tmpdir. */
static void expand_tmp(char *buf, size_t size, const char *pattern) {
        size_t n = 0;

        while (*pattern && n + 1 < size) {
                if (strncmp(pattern, "<TMP>", 5) == 0) {
                        n += (size_t) snprintf(buf + n, size - n, "%s", tmpdir);
                        pattern += 5;
                } else
                        buf[n++] = *pattern++;
        }
        buf[MIN(n, size - 1)] = '\0';
}

/* Loads main_path, expects failure with exactly the given messages, in order.
 * Each expected message is "NAME:LINE: text" with NAME relative to tmpdir; "<TMP>"
 * inside it stands for tmpdir. */
static void load_fails(int expected_r, size_t n, ...) {
        struct config_errors errors = {};
        struct config *c = NULL;
        va_list ap;
        int r;

        r = config_load(main_path, &c, &errors);
        ck_assert_ptr_null(c);
        if (r != expected_r || errors.n != n)
                dump_errors(&errors);
        ck_assert_int_eq(r, expected_r);
        ck_assert_uint_eq(errors.n, n);

        va_start(ap, n);
        for (size_t i = 0; i < n; i++) {
                char want[1024], pattern[1024];

                snprintf(pattern, sizeof(pattern), "<TMP>/%s", va_arg(ap, const char *));
                expand_tmp(want, sizeof(want), pattern);
                ck_assert_str_eq(errors.messages[i], want);
        }
        va_end(ap);
        config_errors_clear(&errors);
        ck_assert_uint_eq(errors.n, 0);
        ck_assert_ptr_null(errors.messages);
}

/* One file, one expected error. */
static void check_one_error(const char *content, const char *message) {
        write_file("iotgwd.conf", content);
        load_fails(-EINVAL, 1, message);
}

static void expected_hostname(char *buf, size_t size) {
        char host[256] = "";

        ck_assert_int_eq(gethostname(host, sizeof(host) - 1), 0);
        host[64] = '\0';
        for (char *p = host; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", *p))
                        *p = '-';
        snprintf(buf, size, "%s", host[0] ? host : "iotgwd");
}

/* good files */

START_TEST(test_defaults) {
        _cleanup_(config_freep) struct config *c = NULL;
        char host[256], client_id[300];

        make_dir();
        write_file("iotgwd.conf", "# nothing but a comment\n\n[gateway]\n[mqtt]\n");
        c = load_ok();

        expected_hostname(host, sizeof(host));
        snprintf(client_id, sizeof(client_id), "iotgwd-%s", host);
        ck_assert_str_eq(c->name, host);
        ck_assert_str_eq(c->topic_prefix, "iotgw");
        ck_assert_str_eq(c->hal, "gpiod");
        ck_assert_str_eq(c->sim_socket, SIM_SOCKET_DEFAULT_PATH);   /* RUNSTATEDIR "/iotgwd/sim.sock" */
        ck_assert(!c->sim_drift);
        ck_assert_uint_eq(c->queue_max_messages, 10000);
        ck_assert_uint_eq(c->queue_max_bytes, 4194304);
        ck_assert_int_eq(c->discovery, DISCOVERY_HOMEASSISTANT);
        ck_assert_str_eq(c->discovery_prefix, "homeassistant");
        ck_assert_uint_eq(c->stats_interval_usec, SEC(60));
        ck_assert_str_eq(c->host, "localhost");
        ck_assert_uint_eq(c->port, 1883);
        ck_assert_str_eq(c->client_id, client_id);
        ck_assert_ptr_null(c->username);
        ck_assert_ptr_null(c->password_file);
        ck_assert_ptr_null(c->password);
        ck_assert_ptr_null(c->tls_ca_file);
        ck_assert_ptr_null(c->tls_cert_file);
        ck_assert_ptr_null(c->tls_key_file);
        ck_assert_uint_eq(c->keepalive, 60);
        ck_assert_int_eq(c->qos, 1);
        ck_assert_int_eq(c->protocol, MQTT_PROTOCOL_5);
        ck_assert_uint_eq(c->n_inputs, 0);
        ck_assert_uint_eq(c->n_outputs, 0);
        ck_assert_uint_eq(c->n_sensors, 0);
        ck_assert_uint_eq(c->n_files, 1);
        ck_assert_str_eq(c->files[0], main_path);
        remove_dir();
}
END_TEST

START_TEST(test_empty_file) {
        _cleanup_(config_freep) struct config *c = NULL;

        make_dir();
        write_file("iotgwd.conf", "");
        c = load_ok();
        ck_assert_str_eq(c->topic_prefix, "iotgw");
        remove_dir();
}
END_TEST

START_TEST(test_entity_defaults) {
        _cleanup_(config_freep) struct config *c = NULL;

        make_dir();
        write_file("iotgwd.conf",
                   "[input door]\nchip = gpiochip0\nline = GPIO17\n"
                   "[output lamp]\nchip = gpiochip0\nline = 27\n"
                   "[sensor room]\ndriver = bme280\n"
                   "[sensor cpu]\ndriver = sysfs\npath = /sys/class/thermal/thermal_zone0/temp\n"
                   "[sensor probe]\ndriver = ds18b20\ndevice = 28-0316a2795bff\n");
        c = load_ok();

        ck_assert_uint_eq(c->n_inputs, 1);
        ck_assert_str_eq(c->inputs[0].name, "door");
        ck_assert_str_eq(c->inputs[0].chip, "gpiochip0");
        ck_assert_str_eq(c->inputs[0].line, "GPIO17");
        ck_assert_int_eq(c->inputs[0].bias, HAL_BIAS_AS_IS);
        ck_assert(!c->inputs[0].active_low);
        ck_assert_int_eq(c->inputs[0].edge, HAL_EDGE_BOTH);
        ck_assert_uint_eq(c->inputs[0].debounce_usec, 0);
        ck_assert(c->inputs[0].ha.discovery);
        ck_assert_ptr_null(c->inputs[0].ha.device_class);
        ck_assert_ptr_null(c->inputs[0].ha.ha_name);
        ck_assert_ptr_null(c->inputs[0].ha.icon);
        ck_assert_str_eq(c->inputs[0].origin.file, main_path);
        ck_assert_uint_eq(c->inputs[0].origin.line, 1);

        ck_assert_uint_eq(c->n_outputs, 1);
        ck_assert_str_eq(c->outputs[0].line, "27");
        ck_assert(!c->outputs[0].initial);
        ck_assert(!c->outputs[0].on_shutdown_keep);
        ck_assert(!c->outputs[0].active_low);
        ck_assert_uint_eq(c->outputs[0].max_pulse_usec, SEC(60));
        ck_assert(c->outputs[0].ha.discovery);
        ck_assert_uint_eq(c->outputs[0].origin.line, 4);

        ck_assert_uint_eq(c->n_sensors, 3);
        ck_assert_str_eq(c->sensors[0].driver, "bme280");
        ck_assert_uint_eq(c->sensors[0].interval_usec, SEC(60));
        ck_assert_int_eq(c->sensors[0].publish, PUBLISH_ALWAYS);
        ck_assert(c->sensors[0].deadband == 0);
        ck_assert_uint_eq(c->sensors[0].max_silence_usec, SEC(15 * 60));
        ck_assert_int_eq(c->sensors[0].decimals, -1);
        ck_assert_str_eq(c->sensors[0].bus, "/dev/i2c-1");
        ck_assert_int_eq(c->sensors[0].address, -1);
        ck_assert_ptr_null(c->sensors[0].quantity);
        ck_assert(c->sensors[0].ha.discovery);

        ck_assert_str_eq(c->sensors[1].path, "/sys/class/thermal/thermal_zone0/temp");
        ck_assert(c->sensors[1].scale == 1);
        ck_assert(c->sensors[1].offset == 0);
        ck_assert_str_eq(c->sensors[1].quantity, "value");
        ck_assert_ptr_null(c->sensors[1].unit);
        ck_assert_ptr_null(c->sensors[1].bus);

        ck_assert_str_eq(c->sensors[2].device, "28-0316a2795bff");
        ck_assert_ptr_null(c->sensors[2].bus);
        remove_dir();
}
END_TEST

START_TEST(test_every_key) {
        _cleanup_(config_freep) struct config *c = NULL;

        make_dir();
        write_file_mode("secret", 0600, "s3cr:t pass\nsecond line\n");
        write_file("iotgwd.conf",
                   "\xEF\xBB\xBF[gateway]\n"
                   "name = gw-1\n"
                   "topic_prefix = site/floor_2\n"
                   "hal = sim\n"
                   "sim_socket = /tmp/sim.sock\n"
                   "sim_drift = yes\n"
                   "queue_max_messages = 50\n"
                   "queue_max_bytes = 64K\n"
                   "discovery = none\n"
                   "discovery_prefix = ha\n"
                   "stats_interval = 5min\n"
                   "\n"
                   "  [mqtt]   ; indented, with a comment\n"
                   "host = broker.example.org\n"
                   "port = 1884\n"
                   "client_id = my-client\n"
                   "username = alice ; inline comment\n"
                   "password_file = SECRET\n"
                   "tls_ca_file = /etc/ssl/ca.pem\n"
                   "tls_cert_file = /etc/ssl/c.pem\n"
                   "tls_key_file: /etc/ssl/k.pem\n"
                   "keepalive = 2min\n"
                   "qos = 2\n"
                   "protocol = 3.1.1\n"
                   "[input door]\n"
                   "chip = pinctrl-rp1\n"
                   "line = GPIO17\n"
                   "bias = pull-up\n"
                   "active_low = true\n"
                   "debounce_ms = 20\n"
                   "edge = falling\n"
                   "device_class = door\n"
                   "name = Front door\n"
                   "icon = mdi:door\n"
                   "discovery = off\n"
                   "[output lamp]\n"
                   "chip = gpiochip0\n"
                   "line = GPIO27\n"
                   "active_low = 1\n"
                   "initial = on\n"
                   "on_shutdown = keep\n"
                   "max_pulse_ms = 86400000\n"
                   "[sensor adc]\n"
                   "gain = 4.096\n"        /* driver keys before the driver */
                   "data_rate = 860\n"
                   "address = 0x49\n"
                   "bus = /dev/i2c-3\n"
                   "driver = ads1115\n"
                   "interval = 100ms\n"
                   "publish = on-change\n"
                   "deadband = 0.05\n"
                   "max_silence = 1h\n"
                   "decimals = 3\n"
                   "[sensor cpu]\n"
                   "driver = sysfs\n"
                   "path = /sys/class/thermal/thermal_zone0/temp\n"
                   "scale = 0.001\n"
                   "offset = -1.5\n"
                   "unit = °C\n"
                   "quantity = temperature\n");
        /* The password file's path depends on tmpdir: patch it in. */
        {
                char conf[4096], secret[256];
                FILE *f = fopen(main_path, "r");
                size_t n;
                char *p;

                ck_assert_ptr_nonnull(f);
                n = fread(conf, 1, sizeof(conf) - 1, f);
                conf[n] = '\0';
                fclose(f);
                p = strstr(conf, "SECRET");
                ck_assert_ptr_nonnull(p);
                snprintf(secret, sizeof(secret), "%s/secret", tmpdir);
                f = fopen(main_path, "w");
                ck_assert_ptr_nonnull(f);
                fprintf(f, "%.*s%s%s", (int) (p - conf), conf, secret, p + strlen("SECRET"));
                fclose(f);
        }
        c = load_ok();

        ck_assert_str_eq(c->name, "gw-1");
        ck_assert_str_eq(c->topic_prefix, "site/floor_2");
        ck_assert_str_eq(c->hal, "sim");
        ck_assert_str_eq(c->sim_socket, "/tmp/sim.sock");
        ck_assert(c->sim_drift);
        ck_assert_uint_eq(c->queue_max_messages, 50);
        ck_assert_uint_eq(c->queue_max_bytes, 65536);
        ck_assert_int_eq(c->discovery, DISCOVERY_NONE);
        ck_assert_str_eq(c->discovery_prefix, "ha");
        ck_assert_uint_eq(c->stats_interval_usec, SEC(300));

        ck_assert_str_eq(c->host, "broker.example.org");
        ck_assert_uint_eq(c->port, 1884);  /* given: no TLS default */
        ck_assert_str_eq(c->client_id, "my-client");
        ck_assert_str_eq(c->username, "alice");
        ck_assert_str_eq(c->password, "s3cr:t pass");
        ck_assert_str_eq(c->tls_ca_file, "/etc/ssl/ca.pem");
        ck_assert_str_eq(c->tls_cert_file, "/etc/ssl/c.pem");
        ck_assert_str_eq(c->tls_key_file, "/etc/ssl/k.pem");
        ck_assert_uint_eq(c->keepalive, 120);
        ck_assert_int_eq(c->qos, 2);
        ck_assert_int_eq(c->protocol, MQTT_PROTOCOL_311);

        ck_assert_uint_eq(c->n_inputs, 1);
        ck_assert_str_eq(c->inputs[0].chip, "pinctrl-rp1");
        ck_assert_int_eq(c->inputs[0].bias, HAL_BIAS_PULL_UP);
        ck_assert(c->inputs[0].active_low);
        ck_assert_uint_eq(c->inputs[0].debounce_usec, 20 * USEC_PER_MSEC);
        ck_assert_int_eq(c->inputs[0].edge, HAL_EDGE_FALLING);
        ck_assert_str_eq(c->inputs[0].ha.device_class, "door");
        ck_assert_str_eq(c->inputs[0].ha.ha_name, "Front door");
        ck_assert_str_eq(c->inputs[0].ha.icon, "mdi:door");
        ck_assert(!c->inputs[0].ha.discovery);
        ck_assert_uint_eq(c->inputs[0].origin.line, 25);

        ck_assert(c->outputs[0].active_low);
        ck_assert(c->outputs[0].initial);
        ck_assert(c->outputs[0].on_shutdown_keep);
        ck_assert_uint_eq(c->outputs[0].max_pulse_usec, SEC(86400));

        ck_assert_str_eq(c->sensors[0].driver, "ads1115");
        ck_assert(c->sensors[0].gain == 4.096);
        ck_assert_int_eq(c->sensors[0].data_rate, 860);
        ck_assert_int_eq(c->sensors[0].address, 0x49);
        ck_assert_str_eq(c->sensors[0].bus, "/dev/i2c-3");
        ck_assert_uint_eq(c->sensors[0].interval_usec, 100 * USEC_PER_MSEC);
        ck_assert_int_eq(c->sensors[0].publish, PUBLISH_ON_CHANGE);
        ck_assert(fabs(c->sensors[0].deadband - 0.05) < 1e-12);
        ck_assert_uint_eq(c->sensors[0].max_silence_usec, SEC(3600));
        ck_assert_int_eq(c->sensors[0].decimals, 3);

        ck_assert(c->sensors[1].scale == 0.001);
        ck_assert(c->sensors[1].offset == -1.5);
        ck_assert_str_eq(c->sensors[1].unit, "°C");
        ck_assert_str_eq(c->sensors[1].quantity, "temperature");
        remove_dir();
}
END_TEST

START_TEST(test_tls_port_default) {
        _cleanup_(config_freep) struct config *c = NULL, *d = NULL;

        make_dir();
        write_file("iotgwd.conf", "[mqtt]\ntls_ca_file = /etc/ssl/certs/ca-certificates.crt\n");
        c = load_ok();
        ck_assert_uint_eq(c->port, 8883);

        write_file("iotgwd.conf", "[mqtt]\ntls_ca_file = /etc/ssl/certs/ca-certificates.crt\nport = 1883\n");
        d = load_ok();
        ck_assert_uint_eq(d->port, 1883);
        remove_dir();
}
END_TEST

START_TEST(test_protocol_311) {
        _cleanup_(config_freep) struct config *c = NULL;

        make_dir();
        write_file("iotgwd.conf", "[mqtt]\nprotocol = 311\nkeepalive = 5\n");
        c = load_ok();
        ck_assert_int_eq(c->protocol, MQTT_PROTOCOL_311);
        ck_assert_uint_eq(c->keepalive, 5);
        remove_dir();
}
END_TEST

START_TEST(test_dropins) {
        _cleanup_(config_freep) struct config *c = NULL;
        char p[256];

        make_dir();
        make_conf_d();
        write_file("iotgwd.conf",
                   "[gateway]\nname = main\ntopic_prefix = a\n"
                   "[input door]\nchip = gpiochip0\nline = GPIO17\n");
        /* Written out of order: the load order must be by name. */
        write_file("conf.d/20-late.conf", "[gateway]\ntopic_prefix = c\n");
        write_file("conf.d/10-early.conf",
                   "[gateway]\ntopic_prefix = b\n"
                   "[input door]\nline = GPIO22\ndebounce_ms = 5\n"
                   "[output lamp]\nchip = gpiochip0\nline = GPIO27\n");
        write_file("conf.d/Z-upper.conf", "[mqtt]\nhost = first\n");
        write_file("conf.d/a-lower.conf", "[mqtt]\nhost = second\n");    /* 'a' > 'Z' in strcmp */
        /* Not drop-ins: */
        write_file("conf.d/30-ignored.conf.disabled", "junk\n");
        write_file("conf.d/.hidden.conf", "junk\n");
        write_file("conf.d/README", "junk\n");
        snprintf(p, sizeof(p), "%s/conf.d/40-dir.conf", tmpdir);
        ck_assert_int_eq(mkdir(p, 0755), 0);

        c = load_ok();
        ck_assert_str_eq(c->name, "main");
        ck_assert_str_eq(c->topic_prefix, "c");
        ck_assert_str_eq(c->host, "second");
        ck_assert_uint_eq(c->n_inputs, 1);
        ck_assert_str_eq(c->inputs[0].chip, "gpiochip0");
        ck_assert_str_eq(c->inputs[0].line, "GPIO22");
        ck_assert_uint_eq(c->inputs[0].debounce_usec, 5 * USEC_PER_MSEC);
        ck_assert_str_eq(c->inputs[0].origin.file, main_path);
        ck_assert_uint_eq(c->n_outputs, 1);
        ck_assert_str_eq(c->outputs[0].name, "lamp");
        ck_assert_uint_eq(c->outputs[0].origin.line, 6);
        ck_assert_str_eq(c->outputs[0].origin.file, c->files[1]);

        ck_assert_uint_eq(c->n_files, 5);
        ck_assert_str_eq(c->files[0], main_path);
        snprintf(p, sizeof(p), "%s/conf.d/10-early.conf", tmpdir);
        ck_assert_str_eq(c->files[1], p);
        snprintf(p, sizeof(p), "%s/conf.d/20-late.conf", tmpdir);
        ck_assert_str_eq(c->files[2], p);
        snprintf(p, sizeof(p), "%s/conf.d/Z-upper.conf", tmpdir);
        ck_assert_str_eq(c->files[3], p);
        snprintf(p, sizeof(p), "%s/conf.d/a-lower.conf", tmpdir);
        ck_assert_str_eq(c->files[4], p);
        remove_dir();
}
END_TEST

START_TEST(test_dropin_driver_override) {
        _cleanup_(config_freep) struct config *c = NULL;

        make_dir();
        make_conf_d();
        write_file("iotgwd.conf", "[sensor t]\ndriver = bme280\naddress = 0x77\n");
        /* A drop-in may change the driver; keys of the old driver then stop fitting. */
        write_file("conf.d/50.conf", "[sensor t]\ndriver = sht3x\n");
        c = load_ok();
        ck_assert_str_eq(c->sensors[0].driver, "sht3x");
        ck_assert_int_eq(c->sensors[0].address, 0x77);

        write_file("conf.d/60.conf", "[sensor t]\ndriver = ds18b20\ndevice = 28-00000000abcd\n");
        load_fails(-EINVAL, 1, "iotgwd.conf:3: key 'address' is not valid for driver 'ds18b20'");
        remove_dir();
}
END_TEST

START_TEST(test_shipped_conf) {
        _cleanup_(config_freep) struct config *c = NULL;
        struct config_errors errors = {};
        int r;

        r = config_load(TOP_SRCDIR "/conf/iotgwd.conf", &c, &errors);
        if (r != 0)
                dump_errors(&errors);
        ck_assert_int_eq(r, 0);
        /* It enables nothing. */
        ck_assert_uint_eq(c->n_inputs, 0);
        ck_assert_uint_eq(c->n_outputs, 0);
        ck_assert_uint_eq(c->n_sensors, 0);
        ck_assert_str_eq(c->hal, "gpiod");
        ck_assert_str_eq(c->host, "localhost");
        config_errors_clear(&errors);
}
END_TEST

/* password file */

START_TEST(test_password_file) {
        _cleanup_(config_freep) struct config *c = NULL;
        char conf[512];

        make_dir();
        write_file_mode("pw", 0640, "hunter2\r\n");
        snprintf(conf, sizeof(conf), "[mqtt]\nusername = u\npassword_file = %s/pw\n", tmpdir);
        write_file("iotgwd.conf", conf);
        c = load_ok();
        ck_assert_str_eq(c->password, "hunter2");
        config_free(TAKE_PTR(c));

        /* No newline at all. */
        write_file_mode("pw", 0600, "hunter3");
        c = load_ok();
        ck_assert_str_eq(c->password, "hunter3");

        remove_dir();
}
END_TEST

START_TEST(test_password_file_bad) {
        static const struct {
                mode_t mode;
                const char *content;
                const char *message;
        } cases[] = {
                { 0644, "pw\n", "password file '<TMP>/pw' is accessible by others (mode 0644): "
                                "remove their access with chmod o-rwx" },
                { 0602, "pw\n", "password file '<TMP>/pw' is accessible by others (mode 0602): "
                                "remove their access with chmod o-rwx" },
                { 0601, "pw\n", "password file '<TMP>/pw' is accessible by others (mode 0601): "
                                "remove their access with chmod o-rwx" },
                { 0600, "\nsecond\n", "password file '<TMP>/pw' has an empty first line" },
                { 0600, "", "password file '<TMP>/pw' has an empty first line" },
        };
        char conf[512], full[600];

        make_dir();
        snprintf(conf, sizeof(conf), "[mqtt]\nusername = u\n\npassword_file = %s/pw\n", tmpdir);
        write_file("iotgwd.conf", conf);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                write_file_mode("pw", cases[i].mode, cases[i].content);
                snprintf(full, sizeof(full), "iotgwd.conf:4: %s", cases[i].message);
                load_fails(-EINVAL, 1, full);
        }

        ck_assert_int_eq(unlink(write_file_mode("pw", 0600, "x")), 0);
        snprintf(full, sizeof(full), "iotgwd.conf:4: cannot open password file '<TMP>/pw': %s",
                 strerror(ENOENT));
        load_fails(-EINVAL, 1, full);
        remove_dir();
}
END_TEST

/* errors */

static const struct {
        const char *content;
        const char *message;            /* after "<tmpdir>/" */
} single_errors[] = {
        /* syntax */
        { "key = 1\n", "iotgwd.conf:1: key 'key' outside of any section" },
        { "[gateway]\nname\n", "iotgwd.conf:2: expected 'key = value'" },
        { "[gateway]\nname ; = x\n", "iotgwd.conf:2: expected 'key = value'" },
        { "[gateway]\n= x\n", "iotgwd.conf:2: missing key name before '='" },
        { "\n\n[gateway\n", "iotgwd.conf:3: section header without closing ']'" },
        { "[gateway] junk\n", "iotgwd.conf:1: unexpected text after section header" },
        { "[input abcdefghijabcdefghijabcdefghijabcdefghijabcd]\n", "iotgwd.conf:1: section header too long" },
        { "[gateway]\nname = a\x01\n", "iotgwd.conf:2: line contains a control character" },
        { "[gateway]\nname = gw\n\xEF\xBB\xBF[mqtt]\n", "iotgwd.conf:3: expected 'key = value'" },
        /* sections */
        { "[foo]\nbar = 1\n", "iotgwd.conf:1: unknown section [foo]" },
        { "[Gateway]\n", "iotgwd.conf:1: unknown section [Gateway]" },
        { "[gateway x]\nname = y\n", "iotgwd.conf:1: section [gateway] takes no name" },
        { "[input]\nchip = a\n", "iotgwd.conf:1: section [input] needs a name, e.g. [input door]" },
        { "[output  ]\n", "iotgwd.conf:1: section [output] needs a name, e.g. [output door]" },
        { "[input my door]\n", "iotgwd.conf:1: invalid name 'my door': use letters, digits, '_' and '-' (at most 40)" },
        { "[sensor a/b]\n", "iotgwd.conf:1: invalid name 'a/b': use letters, digits, '_' and '-' (at most 40)" },
        { "[sensor a+]\n", "iotgwd.conf:1: invalid name 'a+': use letters, digits, '_' and '-' (at most 40)" },
        { "[input abcdefghijabcdefghijabcdefghijabcdefghijk]\n",
          "iotgwd.conf:1: invalid name 'abcdefghijabcdefghijabcdefghijabcdefghijk': use letters, digits, '_' and '-' (at most 40)" },
        { "[input status]\n", "iotgwd.conf:1: name 'status' is reserved for the gateway's own topics" },
        { "[output stats]\n", "iotgwd.conf:1: name 'stats' is reserved for the gateway's own topics" },
        { "[sensor error]\n", "iotgwd.conf:1: name 'error' is reserved for the gateway's own topics" },
        /* unknown keys */
        { "[gateway]\ncolour = red\n", "iotgwd.conf:2: unknown key 'colour' in section [gateway]" },
        { "[mqtt]\nHost = x\n", "iotgwd.conf:2: unknown key 'Host' in section [mqtt]" },
        { "[input a]\nchip = c\nline = 1\ninitial = on\n", "iotgwd.conf:4: unknown key 'initial' in section [input]" },
        { "[output a]\nchip = c\nline = 1\nedge = both\n", "iotgwd.conf:4: unknown key 'edge' in section [output]" },
        /* missing keys */
        { "[input a]\nchip = c\n", "iotgwd.conf:1: [input a]: missing required key 'line'" },
        { "\n[output b]\nline = 4\n", "iotgwd.conf:2: [output b]: missing required key 'chip'" },
        { "[sensor c]\ninterval = 1s\n", "iotgwd.conf:1: [sensor c]: missing required key 'driver'" },
        { "[sensor c]\ndriver = sysfs\n", "iotgwd.conf:1: [sensor c]: driver 'sysfs' needs key 'path'" },
        { "[sensor c]\ndriver = ds18b20\n", "iotgwd.conf:1: [sensor c]: driver 'ds18b20' needs key 'device'" },
        /* gateway values */
        { "[gateway]\nname = a.b\n", "iotgwd.conf:2: invalid value 'a.b' for 'name': expected letters, digits, '_' and '-' (at most 64)" },
        { "[gateway]\ntopic_prefix = a//b\n", "iotgwd.conf:2: invalid value 'a//b' for 'topic_prefix': expected MQTT topic levels separated by '/', without '+', '#', blanks, empty levels or a leading '$'" },
        { "[gateway]\ntopic_prefix = /a\n", "iotgwd.conf:2: invalid value '/a' for 'topic_prefix': expected MQTT topic levels separated by '/', without '+', '#', blanks, empty levels or a leading '$'" },
        { "[gateway]\ntopic_prefix = a/\n", "iotgwd.conf:2: invalid value 'a/' for 'topic_prefix': expected MQTT topic levels separated by '/', without '+', '#', blanks, empty levels or a leading '$'" },
        { "[gateway]\ntopic_prefix = a/+\n", "iotgwd.conf:2: invalid value 'a/+' for 'topic_prefix': expected MQTT topic levels separated by '/', without '+', '#', blanks, empty levels or a leading '$'" },
        { "[gateway]\ntopic_prefix = a#\n", "iotgwd.conf:2: invalid value 'a#' for 'topic_prefix': expected MQTT topic levels separated by '/', without '+', '#', blanks, empty levels or a leading '$'" },
        { "[gateway]\ndiscovery_prefix = $SYS\n", "iotgwd.conf:2: invalid value '$SYS' for 'discovery_prefix': expected MQTT topic levels separated by '/', without '+', '#', blanks, empty levels or a leading '$'" },
        { "[gateway]\ntopic_prefix =\n", "iotgwd.conf:2: invalid value '' for 'topic_prefix': expected MQTT topic levels separated by '/', without '+', '#', blanks, empty levels or a leading '$'" },
        { "[gateway]\nhal = gpio\n", "iotgwd.conf:2: invalid value 'gpio' for 'hal': expected one of gpiod sim" },
        { "[gateway]\nsim_socket = sim.sock\n", "iotgwd.conf:2: invalid value 'sim.sock' for 'sim_socket': expected an absolute path" },
        { "[gateway]\nsim_drift = maybe\n", "iotgwd.conf:2: invalid value 'maybe' for 'sim_drift': expected a boolean (yes/no, true/false, on/off, 1/0)" },
        { "[gateway]\nqueue_max_messages = 0\n", "iotgwd.conf:2: invalid value '0' for 'queue_max_messages': expected an integer from 1 to 10000000" },
        { "[gateway]\nqueue_max_messages = 10x\n", "iotgwd.conf:2: invalid value '10x' for 'queue_max_messages': expected an integer from 1 to 10000000" },
        { "[gateway]\nqueue_max_bytes = 4095\n", "iotgwd.conf:2: invalid value '4095' for 'queue_max_bytes': expected a size in bytes from 4096 to 1073741824, optionally with K, M or G" },
        { "[gateway]\nqueue_max_bytes = 2G\n", "iotgwd.conf:2: invalid value '2G' for 'queue_max_bytes': expected a size in bytes from 4096 to 1073741824, optionally with K, M or G" },
        { "[gateway]\nqueue_max_bytes = 4MB\n", "iotgwd.conf:2: invalid value '4MB' for 'queue_max_bytes': expected a size in bytes from 4096 to 1073741824, optionally with K, M or G" },
        { "[gateway]\ndiscovery = yes\n", "iotgwd.conf:2: invalid value 'yes' for 'discovery': expected one of homeassistant none" },
        { "[gateway]\nstats_interval = 500ms\n", "iotgwd.conf:2: invalid value '500ms' for 'stats_interval': expected a duration from 1s to 1d (e.g. 500ms, 10s, 5min)" },
        { "[gateway]\nstats_interval = -1\n", "iotgwd.conf:2: invalid value '-1' for 'stats_interval': expected a duration from 1s to 1d (e.g. 500ms, 10s, 5min)" },
        /* mqtt values */
        { "[mqtt]\nhost = a b\n", "iotgwd.conf:2: invalid value 'a b' for 'host': expected a non-empty string without blanks" },
        { "[mqtt]\nhost =\n", "iotgwd.conf:2: invalid value '' for 'host': expected a non-empty string without blanks" },
        { "[mqtt]\nport = 0\n", "iotgwd.conf:2: invalid value '0' for 'port': expected an integer from 1 to 65535" },
        { "[mqtt]\nport = 65536\n", "iotgwd.conf:2: invalid value '65536' for 'port': expected an integer from 1 to 65535" },
        { "[mqtt]\nport = 99999999999999999999999\n", "iotgwd.conf:2: invalid value '99999999999999999999999' for 'port': expected an integer from 1 to 65535" },
        { "[mqtt]\nusername =\n", "iotgwd.conf:2: invalid value '' for 'username': expected a non-empty string" },
        { "[mqtt]\npassword_file = pw\n", "iotgwd.conf:2: invalid value 'pw' for 'password_file': expected an absolute path" },
        { "[mqtt]\ntls_cert_file = /c.pem\n", "iotgwd.conf:2: tls_cert_file needs tls_key_file as well" },
        { "[mqtt]\n\ntls_key_file = /k.pem\n", "iotgwd.conf:3: tls_key_file needs tls_cert_file as well" },
        { "[mqtt]\nkeepalive = 4\n", "iotgwd.conf:2: invalid value '4' for 'keepalive': expected a duration from 5s to 1h in whole seconds (e.g. 500ms, 10s, 5min)" },
        { "[mqtt]\nkeepalive = 3601\n", "iotgwd.conf:2: invalid value '3601' for 'keepalive': expected a duration from 5s to 1h in whole seconds (e.g. 500ms, 10s, 5min)" },
        { "[mqtt]\nkeepalive = 5500ms\n", "iotgwd.conf:2: invalid value '5500ms' for 'keepalive': expected a duration from 5s to 1h in whole seconds (e.g. 500ms, 10s, 5min)" },
        { "[mqtt]\nqos = 3\n", "iotgwd.conf:2: invalid value '3' for 'qos': expected an integer from 0 to 2" },
        { "[mqtt]\nprotocol = 3\n", "iotgwd.conf:2: invalid value '3' for 'protocol': expected 5 or 3.1.1" },
        { "[mqtt]\nretained_commands = apply\n", "iotgwd.conf:2: invalid value 'apply' for 'retained_commands': expected one of ignore apply-once" },
        { "[mqtt]\nresponse_topic_prefix = a/+/b\n", "iotgwd.conf:2: invalid value 'a/+/b' for 'response_topic_prefix': expected a topic prefix without wildcards, \"#\" for any topic, or nothing to disable replies" },
        { "[mqtt]\nresponse_topic_prefix = a/#\n", "iotgwd.conf:2: invalid value 'a/#' for 'response_topic_prefix': expected a topic prefix without wildcards, \"#\" for any topic, or nothing to disable replies" },
        { "[mqtt]\nresponse_topic_prefix = $SYS/\n", "iotgwd.conf:2: invalid value '$SYS/' for 'response_topic_prefix': expected a topic prefix without wildcards, \"#\" for any topic, or nothing to disable replies" },
        /* input/output values */
        { "[input a]\nchip = c\nline = 1\nbias = up\n", "iotgwd.conf:4: invalid value 'up' for 'bias': expected one of as-is disable pull-up pull-down" },
        { "[input a]\nchip = c\nline = 1\nedge = any\n", "iotgwd.conf:4: invalid value 'any' for 'edge': expected one of both rising falling" },
        { "[input a]\nchip = c\nline = 1\ndebounce_ms = 60001\n", "iotgwd.conf:4: invalid value '60001' for 'debounce_ms': expected an integer from 0 to 60000" },
        { "[input a]\nchip = c\nline = 1\nactive_low = 2\n", "iotgwd.conf:4: invalid value '2' for 'active_low': expected a boolean (yes/no, true/false, on/off, 1/0)" },
        { "[input a]\nchip = c\nline = 1\ndevice_class = Door\n", "iotgwd.conf:4: invalid value 'Door' for 'device_class': expected a Home Assistant device class such as 'door' ([a-z_]+)" },
        { "[input a]\nchip = c\nline = 1\nicon = mdi door\n", "iotgwd.conf:4: invalid value 'mdi door' for 'icon': expected a non-empty string without blanks" },
        { "[input a]\nchip = c\nline = 1\nname =\n", "iotgwd.conf:4: invalid value '' for 'name': expected a non-empty string" },
        { "[input a]\nchip = c\nline = 1\ndiscovery = none\n", "iotgwd.conf:4: invalid value 'none' for 'discovery': expected a boolean (yes/no, true/false, on/off, 1/0)" },
        { "[output a]\nchip = c\nline = 1\ninitial = high\n", "iotgwd.conf:4: invalid value 'high' for 'initial': expected a boolean (yes/no, true/false, on/off, 1/0)" },
        { "[output a]\nchip = c\nline = 1\non_shutdown = on\n", "iotgwd.conf:4: invalid value 'on' for 'on_shutdown': expected one of off keep" },
        { "[output a]\nchip = c\nline = 1\nmax_pulse_ms = 0\n", "iotgwd.conf:4: invalid value '0' for 'max_pulse_ms': expected an integer from 1 to 86400000" },
        { "[output a]\nchip = c\nline = 1\nmax_pulse_ms = 86400001\n", "iotgwd.conf:4: invalid value '86400001' for 'max_pulse_ms': expected an integer from 1 to 86400000" },
        /* sensor values */
        { "[sensor s]\ndriver = lm75\n", "iotgwd.conf:2: invalid value 'lm75' for 'driver': expected one of sysfs ds18b20 bme280 bmp280 sht3x bh1750 ads1115" },
        { "[sensor s]\ndriver = bme280\ninterval = 99ms\n", "iotgwd.conf:3: invalid value '99ms' for 'interval': expected a duration from 100ms to 7d (e.g. 500ms, 10s, 5min)" },
        { "[sensor s]\ndriver = bme280\npublish = sometimes\n", "iotgwd.conf:3: invalid value 'sometimes' for 'publish': expected one of always on-change" },
        { "[sensor s]\ndriver = bme280\ndeadband = -0.1\n", "iotgwd.conf:3: invalid value '-0.1' for 'deadband': expected a decimal number >= 0" },
        { "[sensor s]\ndriver = bme280\ndeadband = nan\n", "iotgwd.conf:3: invalid value 'nan' for 'deadband': expected a decimal number >= 0" },
        { "[sensor s]\ndriver = bme280\nmax_silence = 0\n", "iotgwd.conf:3: invalid value '0' for 'max_silence': expected a duration from 1s to 7d (e.g. 500ms, 10s, 5min)" },
        { "[sensor s]\ndriver = bme280\ndecimals = 7\n", "iotgwd.conf:3: invalid value '7' for 'decimals': expected an integer from 0 to 6" },
        { "[sensor s]\ndriver = bme280\naddress = 0x78\n", "iotgwd.conf:3: invalid value '0x78' for 'address': expected a 7-bit I2C address from 0x03 to 0x77" },
        { "[sensor s]\ndriver = bme280\naddress = 2\n", "iotgwd.conf:3: invalid value '2' for 'address': expected a 7-bit I2C address from 0x03 to 0x77" },
        { "[sensor s]\ndriver = bme280\nbus = i2c-1\n", "iotgwd.conf:3: invalid value 'i2c-1' for 'bus': expected an absolute path" },
        { "[sensor s]\ndriver = ads1115\ngain = 2\n", "iotgwd.conf:3: invalid value '2' for 'gain': expected one of 6.144 4.096 2.048 1.024 0.512 0.256" },
        { "[sensor s]\ndriver = ads1115\ndata_rate = 100\n", "iotgwd.conf:3: invalid value '100' for 'data_rate': expected one of 8 16 32 64 128 250 475 860" },
        { "[sensor s]\ndriver = ds18b20\ndevice = 10-0316a2795bff\n", "iotgwd.conf:3: invalid value '10-0316a2795bff' for 'device': expected '28-' followed by 12 lower-case hex digits" },
        { "[sensor s]\ndriver = ds18b20\ndevice = 28-0316A2795BFF\n", "iotgwd.conf:3: invalid value '28-0316A2795BFF' for 'device': expected '28-' followed by 12 lower-case hex digits" },
        { "[sensor s]\ndriver = ds18b20\ndevice = 28-0316a2795bf\n", "iotgwd.conf:3: invalid value '28-0316a2795bf' for 'device': expected '28-' followed by 12 lower-case hex digits" },
        { "[sensor s]\ndriver = sysfs\npath = /x\nquantity = Temp\n", "iotgwd.conf:4: invalid value 'Temp' for 'quantity': expected lower-case letters, digits and '_'" },
        { "[sensor s]\ndriver = sysfs\npath = /x\nscale = 1e999\n", "iotgwd.conf:4: invalid value '1e999' for 'scale': expected a decimal number" },
        { "[sensor s]\ndriver = sysfs\npath = x\n", "iotgwd.conf:3: invalid value 'x' for 'path': expected an absolute path" },
        /* driver keys for the wrong driver, also when they come first */
        { "[sensor s]\ngain = 2.048\ndriver = bme280\n", "iotgwd.conf:2: key 'gain' is not valid for driver 'bme280'" },
        { "[sensor s]\ndriver = sysfs\npath = /x\naddress = 0x40\n", "iotgwd.conf:4: key 'address' is not valid for driver 'sysfs'" },
        { "[sensor s]\ndriver = bme280\ndevice = 28-0316a2795bff\n", "iotgwd.conf:3: key 'device' is not valid for driver 'bme280'" },
        { "[sensor s]\ndriver = ds18b20\ndevice = 28-0316a2795bff\nunit = V\n", "iotgwd.conf:4: key 'unit' is not valid for driver 'ds18b20'" },
        /* one name, two kinds */
        { "[input x]\nchip = c\nline = 1\n[output x]\nchip = c\n",
          "iotgwd.conf:4: name 'x' is already used by [input x] at <TMP>/iotgwd.conf:1" },
};

/* files a configuration names (config_check_files) */

static void check_files_fail(const char *content, const char *message) {
        _cleanup_(config_freep) struct config *c = NULL;
        struct config_errors errors = {};
        char want[1024], pattern[1024];

        write_file("iotgwd.conf", content);
        c = load_ok();
        ck_assert_int_eq(config_check_files(c, &errors), -EINVAL);
        if (errors.n != 1)
                dump_errors(&errors);
        ck_assert_uint_eq(errors.n, 1);
        snprintf(pattern, sizeof(pattern), "<TMP>/%s", message);
        expand_tmp(want, sizeof(want), pattern);
        /* OpenSSL's own words vary between versions: compare up to them. */
        ck_assert_msg(strncmp(errors.messages[0], want, strlen(want)) == 0, "got '%s', want '%s...'",
                      errors.messages[0], want);
        config_errors_clear(&errors);
}

/* A CA, a client certificate and key from it, and a second key that matches nothing. */
static void make_tls_files(void) {
        char cmd[2048];

        snprintf(cmd, sizeof(cmd),
                 "cd '%s' && "
                 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                 "-keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca 2>/dev/null && "
                 "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                 "-keyout client.key -out client.csr -subj /CN=client 2>/dev/null && "
                 "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
                 "-out client.crt -days 2 2>/dev/null && "
                 "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out other.key 2>/dev/null && "
                 "mkfifo fifo.pem && echo garbage > junk.pem",
                 tmpdir);
        ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_tls_files) {
        _cleanup_(config_freep) struct config *c = NULL;
        struct config_errors errors = {};
        char conf[1024];

        make_dir();
        make_tls_files();

        snprintf(conf, sizeof(conf), "[mqtt]\ntls_ca_file = %s/ca.crt\ntls_cert_file = %s/client.crt\n"
                 "tls_key_file = %s/client.key\n", tmpdir, tmpdir, tmpdir);
        write_file("iotgwd.conf", conf);
        c = load_ok();
        ck_assert_int_eq(config_check_files(c, &errors), 0);
        ck_assert_uint_eq(errors.n, 0);

        /* No TLS at all: nothing to check. */
        write_file("iotgwd.conf", "[mqtt]\nhost = localhost\n");
        c = config_free(c);
        c = load_ok();
        ck_assert_int_eq(config_check_files(c, &errors), 0);

        snprintf(conf, sizeof(conf), "[mqtt]\n\ntls_ca_file = %s/missing.crt\n", tmpdir);
        check_files_fail(conf, "iotgwd.conf:3: tls_ca_file '<TMP>/missing.crt': No such file or directory");
        snprintf(conf, sizeof(conf), "[mqtt]\ntls_ca_file = %s/fifo.pem\n", tmpdir);
        check_files_fail(conf, "iotgwd.conf:2: tls_ca_file '<TMP>/fifo.pem' is not a regular file");
        snprintf(conf, sizeof(conf), "[mqtt]\ntls_ca_file = %s\n", tmpdir);
        check_files_fail(conf, "iotgwd.conf:2: tls_ca_file '<TMP>' is not a regular file");
        snprintf(conf, sizeof(conf), "[mqtt]\ntls_ca_file = %s/junk.pem\n", tmpdir);
        check_files_fail(conf, "iotgwd.conf:2: tls_ca_file '<TMP>/junk.pem' holds no usable CA certificate: ");
        snprintf(conf, sizeof(conf), "[mqtt]\ntls_ca_file = %s/ca.crt\ntls_cert_file = %s/junk.pem\n"
                 "tls_key_file = %s/client.key\n", tmpdir, tmpdir, tmpdir);
        check_files_fail(conf, "iotgwd.conf:3: tls_cert_file '<TMP>/junk.pem' holds no usable certificate: ");
        snprintf(conf, sizeof(conf), "[mqtt]\ntls_ca_file = %s/ca.crt\ntls_cert_file = %s/client.crt\n"
                 "tls_key_file = %s/other.key\n", tmpdir, tmpdir, tmpdir);
        check_files_fail(conf, "iotgwd.conf:4: tls_key_file '<TMP>/other.key' ");
        snprintf(conf, sizeof(conf), "[mqtt]\ntls_ca_file = %s/ca.crt\ntls_cert_file = %s/client.crt\n"
                 "tls_key_file = %s/junk.pem\n", tmpdir, tmpdir, tmpdir);
        check_files_fail(conf, "iotgwd.conf:4: tls_key_file '<TMP>/junk.pem' cannot be used with tls_cert_file '<TMP>/client.crt': ");
        remove_dir();
}
END_TEST

/* A sensor file that is a FIFO or a directory would hang or fail every read. */
START_TEST(test_sensor_paths) {
        _cleanup_(config_freep) struct config *c = NULL;
        struct config_errors errors = {};
        char conf[1024], cmd[256];

        make_dir();
        snprintf(cmd, sizeof(cmd), "cd '%s' && mkfifo fifo && echo 42 > value", tmpdir);
        ck_assert_int_eq(system(cmd), 0);

        /* A regular file, and one that does not exist yet: fine. */
        snprintf(conf, sizeof(conf), "[sensor a]\ndriver = sysfs\npath = %s/value\n"
                 "[sensor b]\ndriver = sysfs\npath = %s/later\n", tmpdir, tmpdir);
        write_file("iotgwd.conf", conf);
        c = load_ok();
        ck_assert_int_eq(config_check_files(c, &errors), 0);
        ck_assert_uint_eq(errors.n, 0);

        snprintf(conf, sizeof(conf), "[sensor a]\ndriver = sysfs\npath = %s/fifo\n", tmpdir);
        check_files_fail(conf, "iotgwd.conf:1: [sensor a]: <TMP>/fifo is ");
        snprintf(conf, sizeof(conf), "\n[sensor d]\ndriver = sysfs\npath = %s\n", tmpdir);
        check_files_fail(conf, "iotgwd.conf:2: [sensor d]: <TMP> is ");
        remove_dir();
}
END_TEST

START_TEST(test_mqtt_reply_and_retained_keys) {
        _cleanup_(config_freep) struct config *c = NULL;

        make_dir();
        write_file("iotgwd.conf", "[mqtt]\nhost = localhost\n");
        c = load_ok();
        ck_assert_int_eq(c->retained_commands, RETAINED_COMMANDS_IGNORE);
        ck_assert_ptr_null(c->response_topic_prefix);
        c = config_free(c);

        write_file("iotgwd.conf", "[mqtt]\nretained_commands = apply-once\nresponse_topic_prefix =\n");
        c = load_ok();
        ck_assert_int_eq(c->retained_commands, RETAINED_COMMANDS_APPLY_ONCE);
        ck_assert_str_eq(c->response_topic_prefix, "");
        c = config_free(c);

        write_file("iotgwd.conf", "[mqtt]\nresponse_topic_prefix = #\n");
        c = load_ok();
        ck_assert_str_eq(c->response_topic_prefix, "#");
        c = config_free(c);

        write_file("iotgwd.conf", "[mqtt]\nresponse_topic_prefix = replies/gw1/\n");
        c = load_ok();
        ck_assert_str_eq(c->response_topic_prefix, "replies/gw1/");
        remove_dir();
}
END_TEST

START_TEST(test_single_error) {
        make_dir();
        check_one_error(single_errors[_i].content, single_errors[_i].message);
        remove_dir();
}
END_TEST

START_TEST(test_long_line) {
        char conf[600];
        int n;

        make_dir();
        /* inih's line buffer is 200 bytes: a line of 197 characters still fits. */
        n = snprintf(conf, sizeof(conf), "[mqtt]\nhost = ");
        memset(conf + n, 'h', 197 - 7);
        strcpy(conf + n + 197 - 7, "\nport = 1\n");
        write_file("iotgwd.conf", conf);
        config_free(load_ok());

        strcpy(conf + n + 197 - 7, "h\nport = 0\n");
        write_file("iotgwd.conf", conf);
        load_fails(-EINVAL, 2, "iotgwd.conf:2: line too long (at most 197 characters)",
                   "iotgwd.conf:3: invalid value '0' for 'port': expected an integer from 1 to 65535");
        remove_dir();
}
END_TEST

START_TEST(test_nul_byte) {
        static const char conf[] = "[mqtt]\nhost = a\0b\nport = 0\n";
        char p[256];
        FILE *f;

        make_dir();
        snprintf(p, sizeof(p), "%s/iotgwd.conf", tmpdir);
        f = fopen(p, "w");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(conf, 1, sizeof(conf) - 1, f), sizeof(conf) - 1);
        fclose(f);
        load_fails(-EINVAL, 2, "iotgwd.conf:2: line contains a NUL byte",
                   "iotgwd.conf:3: invalid value '0' for 'port': expected an integer from 1 to 65535");
        remove_dir();
}
END_TEST

START_TEST(test_many_errors) {
        make_dir();
        make_conf_d();
        write_file("iotgwd.conf",
                   "[gateway]\n"
                   "name = bad name\n"           /* 2 */
                   "bogus = 1\n"                 /* 3 */
                   "[mqtt]\n"
                   "port = 0\n"                  /* 5 */
                   "qos = 1\n"
                   "[input door]\n"              /* 7: no line */
                   "chip = gpiochip0\n"
                   "debounce_ms = 10x\n"         /* 9 */
                   "[nonsense]\n"                /* 10 */
                   "ignored = because the section is unknown\n"
                   "[sensor t]\n"                /* 12 */
                   "gain = 1.024\n"              /* 13: wrong driver */
                   "driver = bme280\n");
        write_file("conf.d/10-a.conf",
                   "[output door]\n"             /* 1: name taken */
                   "chip = x\n"
                   "[output lamp]\n"             /* 3: no chip */
                   "line = 4\n"
                   "[mqtt]\n"
                   "keepalive = 1\n");           /* 6 */
        load_fails(-EINVAL, 10,
                   "iotgwd.conf:2: invalid value 'bad name' for 'name': expected letters, digits, '_' and '-' (at most 64)",
                   "iotgwd.conf:3: unknown key 'bogus' in section [gateway]",
                   "iotgwd.conf:5: invalid value '0' for 'port': expected an integer from 1 to 65535",
                   "iotgwd.conf:9: invalid value '10x' for 'debounce_ms': expected an integer from 0 to 60000",
                   "iotgwd.conf:10: unknown section [nonsense]",
                   "conf.d/10-a.conf:1: name 'door' is already used by [input door] at <TMP>/iotgwd.conf:7",
                   "conf.d/10-a.conf:6: invalid value '1' for 'keepalive': expected a duration from 5s to 1h in whole seconds (e.g. 500ms, 10s, 5min)",
                   "iotgwd.conf:7: [input door]: missing required key 'line'",
                   "conf.d/10-a.conf:3: [output lamp]: missing required key 'chip'",
                   "iotgwd.conf:13: key 'gain' is not valid for driver 'bme280'");
        remove_dir();
}
END_TEST

START_TEST(test_missing_file) {
        struct config_errors errors = {};
        struct config *c = NULL;
        char want[256];

        make_dir();
        ck_assert_int_eq(config_load(main_path, &c, &errors), -ENOENT);
        ck_assert_ptr_null(c);
        ck_assert_uint_eq(errors.n, 1);
        snprintf(want, sizeof(want), "%s:0: cannot open: %s", main_path, strerror(ENOENT));
        ck_assert_str_eq(errors.messages[0], want);
        config_errors_clear(&errors);

        /* A directory is not a configuration file. */
        ck_assert_int_eq(mkdir(main_path, 0755), 0);
        ck_assert_int_eq(config_load(main_path, &c, &errors), -EISDIR);
        ck_assert_ptr_null(c);
        config_errors_clear(&errors);
        ck_assert_int_eq(rmdir(main_path), 0);
        remove_dir();
}
END_TEST

START_TEST(test_dropin_unreadable_dir) {
        char p[256];

        make_dir();
        write_file("iotgwd.conf", "[gateway]\n");
        /* conf.d as a plain file: as good as missing. */
        write_file("conf.d", "not a directory\n");
        config_free(load_ok());
        snprintf(p, sizeof(p), "%s/conf.d", tmpdir);
        ck_assert_int_eq(unlink(p), 0);

        /* A dangling symlink in conf.d is a problem worth stopping for. */
        make_conf_d();
        snprintf(p, sizeof(p), "%s/conf.d/10-gone.conf", tmpdir);
        ck_assert_int_eq(symlink("/nonexistent/iotgwd-test.conf", p), 0);
        {
                struct config_errors errors = {};
                struct config *c = NULL;
                char want[512];

                ck_assert_int_eq(config_load(main_path, &c, &errors), -ENOENT);
                ck_assert_ptr_null(c);
                ck_assert_uint_eq(errors.n, 1);
                snprintf(want, sizeof(want), "%s:0: cannot open: %s", p, strerror(ENOENT));
                ck_assert_str_eq(errors.messages[0], want);
                config_errors_clear(&errors);
        }
        remove_dir();
}
END_TEST

START_TEST(test_hostname_fallback_name) {
        _cleanup_(config_freep) struct config *c = NULL;

        make_dir();
        /* An explicit name also names the default client id. */
        write_file("iotgwd.conf", "[gateway]\nname = pi_7\n");
        c = load_ok();
        ck_assert_str_eq(c->client_id, "iotgwd-pi_7");
        remove_dir();
}
END_TEST

static Suite *config_suite(void) {
        Suite *s = suite_create("config");
        TCase *tc = tcase_create("good");

        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_empty_file);
        tcase_add_test(tc, test_entity_defaults);
        tcase_add_test(tc, test_every_key);
        tcase_add_test(tc, test_tls_port_default);
        tcase_add_test(tc, test_protocol_311);
        tcase_add_test(tc, test_dropins);
        tcase_add_test(tc, test_dropin_driver_override);
        tcase_add_test(tc, test_shipped_conf);
        tcase_add_test(tc, test_hostname_fallback_name);
        tcase_add_test(tc, test_mqtt_reply_and_retained_keys);
        tcase_add_test(tc, test_tls_files);
        tcase_add_test(tc, test_sensor_paths);
        suite_add_tcase(s, tc);

        tc = tcase_create("password");
        tcase_add_test(tc, test_password_file);
        tcase_add_test(tc, test_password_file_bad);
        suite_add_tcase(s, tc);

        tc = tcase_create("errors");
        tcase_add_loop_test(tc, test_single_error, 0, ELEMENTSOF(single_errors));
        tcase_add_test(tc, test_long_line);
        tcase_add_test(tc, test_nul_byte);
        tcase_add_test(tc, test_many_errors);
        tcase_add_test(tc, test_missing_file);
        tcase_add_test(tc, test_dropin_unreadable_dir);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(config_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
