/* SPDX-License-Identifier: MIT */
/* iotgwd: bridges a board's GPIO pins and sensors to MQTT. This file holds only the
 * command line; the daemon is in manager.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "manager.h"

static const char *arg_config = CONFIG_DEFAULT_PATH;
static bool arg_check;

static void help(void) {
        printf("Usage: iotgwd [OPTIONS]\n"
               "Bridge GPIO pins and sensors to MQTT.\n\n"
               "  -c, --config FILE      configuration file (default %s);\n"
               "                         drop-ins are read from conf.d/*.conf beside it\n"
               "  -n, --check            validate the configuration and exit\n"
               "  -l, --log-level LEVEL  err, warning, notice, info (default) or debug\n"
               "  -h, --help             show this help\n"
               "      --version          show the version\n\n"
               "Signals: SIGHUP reloads the configuration (all or nothing), SIGUSR1 logs the\n"
               "statistics, SIGTERM stops.\n"
               "Exit status: 0 on success, 1 on a runtime error, %d on a configuration error.\n"
               "See iotgwd(8) and iotgwd.conf(5).\n",
               CONFIG_DEFAULT_PATH, EXIT_CONFIG);
}

/* Returns 1 to go on, 0 to exit successfully, -1 on a usage error. */
static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100 };
        static const struct option options[] = {
                { "config",    required_argument, NULL, 'c' },
                { "check",     no_argument,       NULL, 'n' },
                { "log-level", required_argument, NULL, 'l' },
                { "help",      no_argument,       NULL, 'h' },
                { "version",   no_argument,       NULL, ARG_VERSION },
                {}
        };
        int c, level;

        while ((c = getopt_long(argc, argv, "c:nl:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        arg_config = optarg;
                        break;
                case 'n':
                        arg_check = true;
                        break;
                case 'l':
                        level = log_level_from_string(optarg);
                        if (level < 0) {
                                fprintf(stderr, "iotgwd: invalid log level '%s'\n", optarg);
                                return -1;
                        }
                        log_set_max_level(level);
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("iotgwd %s\n", PACKAGE_VERSION);
                        return 0;
                default:
                        return -1;
                }
        if (optind < argc) {
                fprintf(stderr, "iotgwd: unexpected argument '%s'\n", argv[optind]);
                return -1;
        }
        return 1;
}

/* --check: every problem as FILE:LINE: message, or a one-line summary. */
static int run_check(void) {
        struct config_errors errors = {};
        struct config *c = NULL;
        int r;

        r = config_load(arg_config, &c, &errors);
        if (r >= 0)
                r = config_check_files(c, &errors);
        for (size_t i = 0; i < errors.n; i++)
                fprintf(stderr, "%s\n", errors.messages[i]);
        config_errors_clear(&errors);
        if (r < 0) {
                config_free(c);
                return EXIT_FAILURE;
        }

        printf("configuration OK: %s (%zu file%s), gateway %s, %zu inputs, %zu outputs, %zu sensors, broker %s:%u\n",
               arg_config, c->n_files, c->n_files == 1 ? "" : "s", c->name, c->n_inputs,
               c->n_outputs, c->n_sensors, c->host, c->port);
        config_free(c);
        return EXIT_SUCCESS;
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) struct manager *m = NULL;
        int r;

        log_open();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        if (arg_check)
                return run_check();

        r = manager_new(arg_config, &m);
        if (r < 0) {
                log_error_errno(r, "Cannot set up the event loop: %m");
                return EXIT_FAILURE;
        }
        r = manager_start(m);
        if (r < 0 && m->config_invalid) {
                log_error("Configuration %s is invalid, not starting", arg_config);
                return EXIT_CONFIG;
        }
        if (r < 0)
                return EXIT_FAILURE;

        r = manager_run(m);
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                return EXIT_FAILURE;
        }
        log_info("Stopped");
        return EXIT_SUCCESS;
}
