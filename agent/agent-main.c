/* agent-main.c — the anet-agent program: options, signals, event loop.
 * Everything else lives in agent.c and the datapath back-ends. */
#include "agent/agent.h"
#include "lib/log.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

LOG_MODULE(agent_main);

static void
usage(FILE *f)
{
    fprintf(f,
"Usage: anet-agent --host NAME --controller IP:PORT [OPTION]...\n"
"Per-host anet agent: receives the host's desired state from anet-controller\n"
"and makes Open vSwitch forward accordingly.\n"
"\n"
"  --host NAME              this host's name in the topology (required)\n"
"  --controller IP:PORT     anet-controller's agent endpoint (required)\n"
"  --ovs-rundir DIR         OVS run directory holding db.sock and BRIDGE.mgmt\n"
"                           (default $OVS_RUNDIR or /var/run/openvswitch)\n"
"  --bridge NAME            integration bridge (default br-int)\n"
"  --underlay-bridge NAME   underlay bridge (default br-phy)\n"
"  --datapath ovs|null      datapath back-end (default ovs; null only records\n"
"                           the desired state, for simulations)\n"
"  --log-level LEVEL        err, warn, info (default) or debug\n"
"  --help                   show this help and exit\n"
"  --version                show the version and exit\n");
}

static void
signal_cb(evutil_socket_t sig, short what, void *aux)
{
    struct event_base *base = aux;
    LOG_INFO("caught signal %d, exiting", (int) sig);
    event_base_loopbreak(base);
}

int
main(int argc, char *argv[])
{
    enum { OPT_HOST = 256, OPT_CONTROLLER, OPT_RUNDIR, OPT_BRIDGE,
           OPT_UNDERLAY, OPT_DATAPATH, OPT_LOG_LEVEL, OPT_HELP, OPT_VERSION };
    static const struct option longopts[] = {
        { "host", required_argument, NULL, OPT_HOST },
        { "controller", required_argument, NULL, OPT_CONTROLLER },
        { "ovs-rundir", required_argument, NULL, OPT_RUNDIR },
        { "bridge", required_argument, NULL, OPT_BRIDGE },
        { "underlay-bridge", required_argument, NULL, OPT_UNDERLAY },
        { "datapath", required_argument, NULL, OPT_DATAPATH },
        { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
        { "help", no_argument, NULL, OPT_HELP },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 },
    };
    struct agent_options opt = { .datapath = "ovs" };
    enum log_level level = LOG_LEVEL_INFO;
    int c;

    log_set_program("anet-agent");
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_HOST: opt.host = optarg; break;
        case OPT_CONTROLLER: opt.controller = optarg; break;
        case OPT_RUNDIR: opt.ovs_rundir = optarg; break;
        case OPT_BRIDGE: opt.bridge = optarg; break;
        case OPT_UNDERLAY: opt.underlay_bridge = optarg; break;
        case OPT_DATAPATH: opt.datapath = optarg; break;
        case OPT_LOG_LEVEL:
            if (log_parse_level(optarg, &level)) {
                fprintf(stderr, "anet-agent: unknown log level '%s' (use err, "
                        "warn, info or debug)\n", optarg);
                return 2;
            }
            break;
        case OPT_HELP:
            usage(stdout);
            return 0;
        case OPT_VERSION:
            printf("anet-agent %s\n", ANET_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "anet-agent: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!opt.host || !opt.host[0] || !opt.controller) {
        fprintf(stderr, "anet-agent: --host and --controller are required\n");
        usage(stderr);
        return 2;
    }
    if (strcmp(opt.datapath, "ovs") && strcmp(opt.datapath, "null")) {
        fprintf(stderr, "anet-agent: unknown datapath '%s' (use ovs or "
                "null)\n", opt.datapath);
        return 2;
    }
    log_set_level(level);
    /* A controller that vanishes mid-write must not kill us. */
    signal(SIGPIPE, SIG_IGN);

    struct event_base *base = event_base_new();
    if (!base) {
        fprintf(stderr, "anet-agent: cannot create the event loop\n");
        return 1;
    }
    struct agent *agent = agent_create(base, &opt);
    if (!agent) {
        int err = errno;
        fprintf(stderr, "anet-agent: cannot start: %s%s\n", strerror(err),
                err == EINVAL ? " (check --controller IP:PORT)" : "");
        event_base_free(base);
        return 2;
    }
    struct event *sigint = evsignal_new(base, SIGINT, signal_cb, base);
    struct event *sigterm = evsignal_new(base, SIGTERM, signal_cb, base);
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);

    event_base_dispatch(base);

    event_free(sigint);
    event_free(sigterm);
    agent_destroy(agent);
    event_base_free(base);
    return 0;
}
