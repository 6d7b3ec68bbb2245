/* controller-main.c — the anet-controller program: options, signals, and
 * the event loop around the controller core (controller.h). */
#include "controller/controller.h"
#include "lib/log.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

LOG_MODULE(main);

static void
usage(FILE *f)
{
    fprintf(f,
"Usage: anet-controller [OPTIONS]\n"
"The anet SDN controller: compiles the topology and drives the agents.\n"
"\n"
"  --listen IP:PORT     agents' protobuf endpoint (default %s)\n"
"  --http IP:PORT       HTTP/JSON API and /metrics (default %s)\n"
"  --state-dir DIR      state directory (default %s)\n"
"  --log-level LEVEL    err, warn, info or debug (default info)\n"
"  --help               show this help\n"
"  --version            show the version\n",
            CONTROLLER_DEFAULT_LISTEN, CONTROLLER_DEFAULT_HTTP,
            CONTROLLER_DEFAULT_STATE_DIR);
}

static void
on_signal(evutil_socket_t sig, short what, void *base)
{
    LOG_INFO("caught signal %d, exiting", (int) sig);
    event_base_loopbreak(base);
}

int
main(int argc, char *argv[])
{
    enum { OPT_LISTEN = 256, OPT_HTTP, OPT_STATE, OPT_LOG, OPT_HELP,
           OPT_VERSION };
    static const struct option longopts[] = {
        { "listen", required_argument, NULL, OPT_LISTEN },
        { "http", required_argument, NULL, OPT_HTTP },
        { "state-dir", required_argument, NULL, OPT_STATE },
        { "log-level", required_argument, NULL, OPT_LOG },
        { "help", no_argument, NULL, OPT_HELP },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 },
    };
    struct controller_options opts = {
        .listen = CONTROLLER_DEFAULT_LISTEN,
        .http = CONTROLLER_DEFAULT_HTTP,
        .state_dir = CONTROLLER_DEFAULT_STATE_DIR,
    };
    enum log_level level;
    int c;

    log_set_program("anet-controller");
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_LISTEN:
            opts.listen = optarg;
            break;
        case OPT_HTTP:
            opts.http = optarg;
            break;
        case OPT_STATE:
            opts.state_dir = optarg;
            break;
        case OPT_LOG:
            if (log_parse_level(optarg, &level)) {
                fprintf(stderr, "anet-controller: bad log level '%s'\n",
                        optarg);
                return 2;
            }
            log_set_level(level);
            break;
        case 'h':
        case OPT_HELP:
            usage(stdout);
            return 0;
        case OPT_VERSION:
            printf("anet-controller %s\n", ANET_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "anet-controller: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }

    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    if (!base) {
        fprintf(stderr, "anet-controller: cannot create the event loop\n");
        return 1;
    }
    struct controller *ctl = controller_create(base, &opts);
    if (!ctl) {
        fprintf(stderr, "anet-controller: cannot start: %s\n",
                strerror(errno));
        event_base_free(base);
        return 1;
    }
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    LOG_INFO("anet-controller %s running (generation %llu)", ANET_VERSION,
             (unsigned long long) controller_generation(ctl));

    event_base_dispatch(base);

    event_free(sigterm);
    event_free(sigint);
    controller_destroy(ctl);
    event_base_free(base);
    return 0;
}
