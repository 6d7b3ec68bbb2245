/* nfv-config.h — an NFV instance's policy: the protobuf anet.nfv.NfvConfig
 * (proto/nfv.proto) the agent sends, decoded and validated into the plain
 * structs of engine.h that the engines take.
 *
 * What: nfv_config_decode() turns the bytes of one NfvConfig into a
 * struct nfv_config owning every array the engine structs point to (one
 * heap object, freed by nfv_config_destroy()).  Everything a peer could get
 * wrong is checked here, once, so that the engines may trust their input:
 * addresses and CIDRs parse, protocols are 0/1/6/17 (the LB: 6/17), port
 * ranges are ordered and only on TCP/UDP rules, an ICMP type only on ICMP
 * rules, weights and MACs of backends are sane, services are unique, and
 * sizes are bounded (NFV_CONFIG_MAX_*), so a hostile config cannot make the
 * instance allocate without limit.  A rejected config leaves the running
 * policy in place; the error names the field: "fw.rules[2].dst[0]: ...".
 *
 * Defaults: a dport range 0/0 is any port; dport_max 0 means dport_min
 * alone; max_conns 0 is NFV_CONFIG_DEFAULT_CONNS; a weight of 0 is 1.
 *
 * Errors: 0 or negative errno (-EINVAL: invalid, with '*error' set;
 * -EBADMSG: not a decodable NfvConfig).  Thread-safety: none needed (pure
 * functions over caller-owned data).
 */
#ifndef ANET_NFV_CONFIG_H
#define ANET_NFV_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "nfv/engine.h"

struct Anet__Nfv__NfvConfig;

#define NFV_CTL_MAX (4u << 20)              /* control frame cap: 4 MiB */
#define NFV_CONFIG_MAX_RULES 65536
#define NFV_CONFIG_MAX_CIDRS 4096           /* per rule and side */
#define NFV_CONFIG_MAX_SERVICES 4096
#define NFV_CONFIG_MAX_BACKENDS 4096        /* per service */
#define NFV_CONFIG_MAX_CONNS (16u << 20)
#define NFV_CONFIG_DEFAULT_CONNS 65536
#define NFV_CONFIG_MIN_HEALTH_MS 100

enum nfv_kind {
    NFV_KIND_VAF,                           /* stateful firewall */
    NFV_KIND_VAD,                           /* L4 load balancer */
};

/* Returns "vaf" / "vad". */
const char *nfv_kind_name(enum nfv_kind);
/* Parses "vaf" / "vad": 0 or -EINVAL. */
int nfv_kind_parse(const char *s, enum nfv_kind *);

struct nfv_config {
    uint64_t generation;
    enum nfv_kind kind;                     /* which of fw / lb is valid */
    struct nfv_fw_config fw;
    struct nfv_lb_config lb;
    /* Human names, parallel to fw.rules / lb.services ("" when unnamed). */
    char **names;
    size_t n_names;
};

/* Decodes and validates one serialised NfvConfig.  Returns 0 and '*cfgp'
 * (free with nfv_config_destroy()), or -EBADMSG / -EINVAL with '*error'
 * set to a malloc'd message. */
int nfv_config_decode(const uint8_t *buf, size_t len,
                      struct nfv_config **cfgp, char **error);

/* The same from an already unpacked message. */
int nfv_config_from_proto(const struct Anet__Nfv__NfvConfig *,
                          struct nfv_config **cfgp, char **error);

void nfv_config_destroy(struct nfv_config *);           /* NULL-safe */

#endif
