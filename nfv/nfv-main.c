/* nfv-main.c — anet-nfv: one NFV instance (vAF firewall or vAD load
 * balancer) on DPDK, started and configured by the agent (agent/nfv.c).
 *
 *   anet-nfv --name N --kind vaf|vad --port IFACE [--port IFACE2]
 *            --ctl SOCKET [--file-prefix P] [--no-huge] [--log-level L]
 *   anet-nfv ... --vhost SOCKET [--vhost SOCKET2] ...
 *
 * A vAF takes two ports (left, right), a vAD one: either all --port
 * (net_af_packet on an interface) or all --vhost (a vhost-user socket this
 * process serves, for OVS-DPDK's dpdkvhostuserclient; needs hugepages, see
 * nfv-io.h).  The policy arrives on
 * the control socket (nfv-io.h, proto/nfv.proto); SIGTERM exits cleanly.
 */
#include "nfv/nfv-io.h"
#include "lib/log.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
nfv_main_usage__(FILE *f)
{
    fprintf(f, "usage: anet-nfv --name N --kind vaf|vad --port IFACE "
            "[--port IFACE2] --ctl SOCKET\n"
            "       (or --vhost SOCKET [--vhost SOCKET2] instead of "
            "--port: vhost-user,\n"
            "        needs %d MiB of free hugepages)\n", NFV_IO_VHOST_MB);
    fprintf(f, "                [--file-prefix P] [--no-huge] "
            "[--log-level err|warn|info|dbg]\n");
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "name", required_argument, NULL, 'n' },
        { "kind", required_argument, NULL, 'k' },
        { "port", required_argument, NULL, 'p' },
        { "vhost", required_argument, NULL, 'v' },
        { "ctl", required_argument, NULL, 'c' },
        { "file-prefix", required_argument, NULL, 'f' },
        { "no-huge", no_argument, NULL, 'H' },
        { "log-level", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct nfv_io_options opt = { .kind = NFV_KIND_VAF };
    const char *kind = NULL;
    enum log_level level;
    int c, n_af = 0, n_vhost = 0;

    log_set_program("anet-nfv");
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': opt.name = optarg; break;
        case 'k': kind = optarg; break;
        case 'c': opt.ctl = optarg; break;
        case 'f': opt.file_prefix = optarg; break;
        case 'H': opt.no_huge = true; break;
        case 'p':
        case 'v':
            if (opt.n_ports == NFV_IO_MAX_PORTS) {
                fprintf(stderr, "anet-nfv: at most %d ports\n",
                        NFV_IO_MAX_PORTS);
                return 2;
            }
            opt.ports[opt.n_ports++] = optarg;
            if (c == 'v') {
                n_vhost++;
            } else {
                n_af++;
            }
            break;
        case 'l':
            if (log_parse_level(optarg, &level)) {
                fprintf(stderr, "anet-nfv: bad log level %s\n", optarg);
                return 2;
            }
            log_set_level(level);
            break;
        case 'h':
            nfv_main_usage__(stdout);
            return 0;
        default:
            nfv_main_usage__(stderr);
            return 2;
        }
    }
    if (!opt.name || !kind || !opt.ctl || !opt.n_ports || optind < argc) {
        nfv_main_usage__(stderr);
        return 2;
    }
    if (n_af && n_vhost) {
        fprintf(stderr, "anet-nfv: --port and --vhost do not mix\n");
        return 2;
    }
    opt.vhost = n_vhost > 0;
    if (nfv_kind_parse(kind, &opt.kind)) {
        fprintf(stderr, "anet-nfv: --kind must be vaf or vad, not %s\n", kind);
        return 2;
    }
    int want = opt.kind == NFV_KIND_VAF ? 2 : 1;
    if (opt.n_ports != want) {
        fprintf(stderr, "anet-nfv: a %s takes %d port(s), %d given\n", kind,
                want, opt.n_ports);
        return 2;
    }
    return nfv_io_run(&opt);
}
