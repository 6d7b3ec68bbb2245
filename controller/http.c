/* http.c — the controller's HTTP/JSON API and /metrics, on libevent's
 * evhttp.
 *
 * Routes come from one table (method, path, handler).  Every answer is JSON
 * ({"error": "..."} for failures) except /metrics, which is Prometheus text.
 * Request bodies are limited to CONTROLLER_MAX_BODY: larger ones get 413
 * (from evhttp itself when it sees them first).  The JSON views (show,
 * flows, rules, metrics) are built here from the state server.c keeps;
 * the flow counters of flows and rules are the ones each host's agent
 * last reported in a Heartbeat (per cookie, mapped back to rules through
 * the compiler's provenance), kept when the agent goes away.  acl-log
 * (acl-log.c) lists the packets logged by rules with the log flag.
 */
#include "controller/controller-private.h"
#include "controller/compile.h"
#include "controller/topo.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>

LOG_MODULE(http);

/* ---- JSON views -------------------------------------------------------- */

json_t *
ctl_flow_json(struct compiler *engine, const struct compile_result *r,
              const struct flow *f)
{
    struct compile_provenance prov;
    char cookie[32];
    char *match = flow_format_match(&f->match);
    char *actions = flow_format_actions(f);
    json_t *jprov;

    snprintf(cookie, sizeof cookie, "0x%llx", (unsigned long long) f->cookie);
    bool known = r ? compile_provenance(r, f->cookie, &prov)
                   : engine && compiler_provenance(engine, f->cookie, &prov);
    if (known) {
        jprov = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}",
                          "kind", prov.kind ? prov.kind : "",
                          "object", prov.object ? prov.object : "",
                          "file", prov.file ? prov.file : "",
                          "line", (int) prov.line, "col", (int) prov.col,
                          "rule", prov.rule ? prov.rule : "");
    } else {
        jprov = json_null();
    }
    json_t *j = json_pack("{s:i, s:i, s:s, s:s, s:s, s:o}",
                          "table", (int) f->table,
                          "priority", (int) f->priority,
                          "cookie", cookie, "match", match,
                          "actions", actions, "provenance", jprov);
    free(match);
    free(actions);
    return j;
}

static bool
ctl_port_up__(const struct ctl_session *s, const char *iface)
{
    for (size_t i = 0; s && i < s->n_ports; i++) {
        if (!strcmp(s->ports[i].iface, iface)) {
            return s->ports[i].up;
        }
    }
    return false;
}

static json_t *
ctl_show_ports__(const struct controller *ctl, const struct compiled_host *ch,
                 const struct ctl_session *s)
{
    json_t *ports = json_array();

    for (size_t i = 0; i < ch->n_ports; i++) {
        const struct compiled_port *cp = &ch->ports[i];
        const struct topo_port *tp = topo_find_port(ctl->topo, cp->name);
        const struct topo_switch *sw = tp ? &ctl->topo->switches[tp->sw]
                                          : NULL;
        char mac[ETH_ADDR_STRLEN], ip[IP4_STRLEN], cidr[IP4_STRLEN + 4];

        eth_format(cp->mac, mac);
        cidr[0] = '\0';
        if (tp && tp->ip) {
            ip4_format(tp->ip, ip);
            snprintf(cidr, sizeof cidr, "%s/%u", ip, sw ? sw->plen : 32);
        }
        /* A port that is no topology port is an external network's
         * localnet port (the provider interface on its gateway host); a
         * load balancer's port is kind "nfv" (the agent plumbs it). */
        json_t *groups = json_array();
        for (size_t g = 0; tp && g < tp->n_groups; g++) {
            json_array_append_new(groups, json_string(
                ctl->topo->groups[tp->groups[g]].name));
        }
        json_array_append_new(ports, json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:b, s:b, s:o}",
            "name", cp->name,
            "kind", !tp ? "localnet" : tp->nfv ? "nfv" : "workload",
            "switch", cp->switch_name ? cp->switch_name : "",
            "ip", cidr, "mac", mac, "iface", cp->iface,
            "ofport", (int) cp->ofport, "mtu", sw ? (int) sw->mtu : 0,
            "up", ctl_port_up__(s, cp->iface),
            "dhcp", sw && sw->dhcp.enabled && sw->plen > 0 && tp && tp->ip,
            "security_groups", groups));
    }
    return ports;
}

/* The routers of the running topology: ports and static routes. */
static json_t *
ctl_show_routers__(const struct controller *ctl)
{
    json_t *routers = json_array();
    for (size_t i = 0; ctl->topo && i < ctl->topo->n_routers; i++) {
        const struct topo_router *r = &ctl->topo->routers[i];
        json_t *ports = json_array(), *routes = json_array();
        char ip[IP4_STRLEN], nh[IP4_STRLEN], mac[ETH_ADDR_STRLEN];
        for (size_t k = 0; k < r->n_ports; k++) {
            const struct topo_router_port *p = &r->ports[k];
            ip4_format(p->ip, ip);
            eth_format(p->mac, mac);
            char *cidr = xasprintf("%s/%u", ip, p->plen);
            json_array_append_new(ports, json_pack(
                "{s:s, s:s, s:s}", "switch", ctl->topo->switches[p->sw].name,
                "ip", cidr, "mac", mac));
            free(cidr);
        }
        for (size_t k = 0; k < r->n_routes; k++) {
            const struct topo_route *rt = &r->routes[k];
            ip4_format(rt->prefix, ip);
            ip4_format(rt->next_hop, nh);
            char *prefix = xasprintf("%s/%u", ip, rt->plen);
            json_array_append_new(routes, json_pack(
                "{s:s, s:s}", "prefix", prefix, "next_hop", nh));
            free(prefix);
        }
        json_t *jr = json_pack("{s:s, s:o, s:o}", "name", r->name,
                               "ports", ports, "routes", routes);
        if (r->has_gateway) {
            const struct topo_external *te = &ctl->topo->externals[r->gw_net];
            json_t *fips = json_array(), *fwds = json_array();
            ip4_format(r->gw_ip, ip);
            eth_format(r->gw_mac, mac);
            json_object_set_new(jr, "gateway", json_pack(
                "{s:s, s:s, s:s}", "network", te->name, "ip", ip,
                "mac", mac));
            for (size_t k = 0; k < r->n_fips; k++) {
                ip4_format(r->fips[k].ip, ip);
                json_array_append_new(fips, json_pack(
                    "{s:s, s:s}", "ip", ip,
                    "port", ctl->topo->ports[r->fips[k].port].name));
            }
            for (size_t k = 0; k < r->n_forwards; k++) {
                const struct topo_port_forward *w = &r->forwards[k];
                ip4_format(w->ip, ip);
                json_array_append_new(fwds, json_pack(
                    "{s:s, s:s, s:i, s:s, s:i}", "protocol",
                    w->proto == 17 ? "udp" : "tcp", "ip", ip,
                    "port", (int) w->port, "to", ctl->topo->ports[w->to].name,
                    "to_port", (int) w->to_port));
            }
            json_t *snat = json_array();
            for (size_t k = 0; k < r->n_snat; k++) {
                json_array_append_new(snat, json_string(
                    ctl->topo->switches[r->snat[k]].name));
            }
            json_object_set_new(jr, "snat", snat);
            json_object_set_new(jr, "floating_ips", fips);
            json_object_set_new(jr, "port_forwards", fwds);
        }
        json_array_append_new(routers, jr);
    }
    return routers;
}

/* The external networks of the running topology. */
static json_t *
ctl_show_externals__(const struct controller *ctl)
{
    json_t *nets = json_array();
    for (size_t i = 0; ctl->topo && i < ctl->topo->n_externals; i++) {
        const struct topo_external *e = &ctl->topo->externals[i];
        char net[IP4_STRLEN], gw[IP4_STRLEN], mac[ETH_ADDR_STRLEN];
        ip4_format(e->net, net);
        ip4_format(e->gateway_ip, gw);
        /* The MAC in use: configured, else learned ("gateway_mac_learned"),
         * else "" while it is being resolved. */
        bool learned = false;
        uint64_t m = ctl_gateway_mac(ctl, e, &learned);
        mac[0] = '\0';
        if (m) {
            eth_format(m, mac);
        }
        char *cidr = xasprintf("%s/%u", net, e->plen);
        json_array_append_new(nets, json_pack(
            "{s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "name", e->name,
            "cidr", cidr, "gateway_ip", gw, "gateway_mac", mac,
            "gateway_mac_learned", learned,
            "host", ctl->topo->hosts[e->host].name, "iface", e->iface));
        free(cidr);
    }
    return nets;
}

json_t *
controller_show(const struct controller *ctl)
{
    json_t *hosts = json_array();
    json_t *unknown = json_array();

    for (size_t i = 0; i < ctl->n_hosts; i++) {
        const struct ctl_host *h = &ctl->hosts[i];
        const struct compiled_host *ch = &ctl->view->hosts[i];
        const struct ctl_session *s = ctl_session_find(ctl, h->name);
        char ip[IP4_STRLEN];
        char *tunnel;

        ip4_format(ch->tunnel_ip, ip);
        tunnel = xasprintf("%s/%u", ip, ch->tunnel_plen);
        json_array_append_new(hosts, json_pack(
            "{s:s, s:s, s:s, s:b, s:s, s:I, s:I, s:s, s:I, s:o}",
            "name", h->name, "tunnel_ip", tunnel,
            "underlay_iface", ch->underlay_iface ? ch->underlay_iface : "",
            "connected", s != NULL,
            "agent_version", h->agent_version ? h->agent_version : "",
            "desired_generation", (json_int_t) h->desired_generation,
            "applied_generation", (json_int_t) h->applied_generation,
            "last_error", h->last_error ? h->last_error : "",
            "n_flows",
            (json_int_t) compiler_host_n_flows(ctl->engine, h->name),
            "ports", ctl_show_ports__(ctl, ch, s)));
        free(tunnel);
    }
    for (const struct ctl_session *s = ctl->sessions; s; s = s->next) {
        if (s->hello && !ctl_find_host(ctl, s->host)) {
            json_array_append_new(unknown, json_pack(
                "{s:s, s:s, s:s, s:I}", "name", s->host, "peer", s->peer,
                "agent_version", s->version ? s->version : "",
                "applied_generation", (json_int_t) s->applied_generation));
        }
    }
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o}",
                     "generation", (json_int_t) ctl->generation,
                     "topology_file",
                     ctl->topology_file ? ctl->topology_file : "",
                     "hosts", hosts, "unknown_agents", unknown,
                     "routers", ctl_show_routers__(ctl),
                     "external_networks", ctl_show_externals__(ctl));
}

json_t *
controller_flows(const struct controller *ctl, const char *host)
{
    struct flow_set fs;

    flow_set_init(&fs);
    if (!host || !compiler_host_flows(ctl->engine, host, &fs)) {
        return NULL;
    }
    const struct ctl_host *h = ctl_find_host(ctl, host);
    json_t *flows = json_array();
    for (size_t i = 0; i < fs.n; i++) {
        json_t *jf = ctl_flow_json(ctl->engine, NULL, &fs.flows[i]);
        uint64_t packets = 0, bytes = 0;

        /* The agent reports counters per cookie, summed over the host's
         * flows of that cookie.  Several flows may share a cookie (one
         * rule compiled to many flows): each of them then shows the
         * cookie's total, not its own share.  0 when the host's agent
         * has not reported the cookie; the last report when it is gone. */
        ctl_host_counter(h, fs.flows[i].cookie, &packets, &bytes);
        json_object_set_new(jf, "packets", json_integer(packets));
        json_object_set_new(jf, "bytes", json_integer(bytes));
        json_array_append_new(flows, jf);
    }
    flow_set_destroy(&fs);
    /* Counters of an agent that is gone are its last report: say so. */
    return json_pack("{s:s, s:o, s:b}", "host", host, "flows", flows,
                     "counters_stale", !ctl_session_find(ctl, host)
                                       && h && h->counters_msec);
}

/* One security-group rule's counters, summed over hosts. */
struct ctl_rule_sum {
    char *object, *file, *rule;
    unsigned int line, col;
    uint64_t packets, bytes;
    unsigned int hosts, stale_hosts;
    const struct ctl_host *last;      /* last host counted in 'hosts' */
};

static int
ctl_rule_sum_cmp__(const void *a_, const void *b_)
{
    const struct ctl_rule_sum *a = a_, *b = b_;
    int c = strcmp(a->file, b->file);
    if (c) {
        return c;
    }
    if (a->line != b->line) {
        return a->line < b->line ? -1 : 1;
    }
    if (a->col != b->col) {
        return a->col < b->col ? -1 : 1;
    }
    return strcmp(a->object, b->object);
}

json_t *
ctl_rules_json(const struct controller *ctl)
{
    struct ctl_rule_sum *v = NULL;
    size_t n = 0, cap = 0;

    /* Every cookie each host's agent last reported (also when it is gone
     * now: OVS goes on counting without it), mapped back to the rule it
     * was compiled from; only security-group rules and the ports'
     * default denies are kept, grouped by object path (a rule may own
     * several cookies). */
    for (size_t hi = 0; hi < ctl->n_hosts; hi++) {
        const struct ctl_host *s = &ctl->hosts[hi];
        bool stale = !ctl_session_find(ctl, s->name);
        for (size_t i = 0; i < s->n_counters; i++) {
            const struct ctl_flow_counter *c = &s->counters[i];
            struct compile_provenance prov;
            int deny = compile_cookie_default_deny(c->cookie);

            if (!ctl->engine
                || !compiler_provenance(ctl->engine, c->cookie, &prov)
                || !prov.kind || !prov.object
                || (strcmp(prov.kind, "security_group") && !deny)) {
                continue;
            }
            /* A port's default deny: "ports.web1.default_deny.ingress". */
            char *object = deny ? xasprintf("%s.default_deny.%s",
                                            prov.object, deny == 1
                                            ? "ingress" : "egress")
                                : xstrdup(prov.object);
            size_t k;
            for (k = 0; k < n; k++) {
                if (!strcmp(v[k].object, object)) {
                    break;
                }
            }
            if (k == n) {
                v = xgrow(v, &cap, n + 1, sizeof *v);
                v[n++] = (struct ctl_rule_sum) {
                    .object = xstrdup(object),
                    .file = xstrdup(prov.file ? prov.file : ""),
                    .rule = xstrdup(prov.rule ? prov.rule : ""),
                    .line = prov.line, .col = prov.col,
                };
            }
            v[k].packets += c->packets;
            v[k].bytes += c->bytes;
            if (v[k].last != s) {
                v[k].last = s;
                v[k].hosts++;
                v[k].stale_hosts += stale;
            }
            free(object);
        }
    }
    if (n) {
        qsort(v, n, sizeof *v, ctl_rule_sum_cmp__);
    }
    json_t *rules = json_array();
    for (size_t k = 0; k < n; k++) {
        json_array_append_new(rules, json_pack(
            "{s:s, s:s, s:i, s:i, s:s, s:I, s:I, s:i, s:i}",
            "object", v[k].object, "file", v[k].file,
            "line", (int) v[k].line, "col", (int) v[k].col,
            "rule", v[k].rule,
            "packets", (json_int_t) v[k].packets,
            "bytes", (json_int_t) v[k].bytes,
            "hosts", (int) v[k].hosts,
            "stale_hosts", (int) v[k].stale_hosts));
        free(v[k].object);
        free(v[k].file);
        free(v[k].rule);
    }
    free(v);
    return rules;
}

char *
controller_metrics(const struct controller *ctl)
{
    size_t connected = 0;
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);

    for (const struct ctl_session *s = ctl->sessions; s; s = s->next) {
        connected += s->hello;
    }
    fprintf(f, "# HELP anet_generation Generation of the running topology.\n"
               "# TYPE anet_generation gauge\n"
               "anet_generation %llu\n"
               "# HELP anet_agents_connected Agents that said Hello.\n"
               "# TYPE anet_agents_connected gauge\n"
               "anet_agents_connected %zu\n",
            (unsigned long long) ctl->generation, connected);
    fprintf(f, "# HELP anet_host_applied_generation Generation the host's "
               "agent last applied.\n"
               "# TYPE anet_host_applied_generation gauge\n");
    for (size_t i = 0; i < ctl->n_hosts; i++) {
        fprintf(f, "anet_host_applied_generation{host=\"%s\"} %llu\n",
                ctl->hosts[i].name,
                (unsigned long long) ctl->hosts[i].applied_generation);
    }
    fprintf(f, "# HELP anet_host_flows Flows compiled for the host.\n"
               "# TYPE anet_host_flows gauge\n");
    for (size_t i = 0; i < ctl->n_hosts; i++) {
        fprintf(f, "anet_host_flows{host=\"%s\"} %zu\n", ctl->hosts[i].name,
                compiler_host_n_flows(ctl->engine, ctl->hosts[i].name));
    }
    uint64_t suppressed = 0;
    for (size_t i = 0; i < ctl->n_hosts; i++) {
        suppressed += ctl->hosts[i].acl_log_suppressed;
    }
    fprintf(f, "# HELP anet_acl_log_events_total Packets logged by "
               "security-group rules with the log flag, as reported.\n"
               "# TYPE anet_acl_log_events_total counter\n"
               "anet_acl_log_events_total %llu\n"
               "# HELP anet_acl_log_suppressed Logged packets the agents "
               "dropped over their rate limit (since each agent started).\n"
               "# TYPE anet_acl_log_suppressed gauge\n"
               "anet_acl_log_suppressed %llu\n",
            (unsigned long long) ctl->acl_log.next_seq,
            (unsigned long long) suppressed);
    fclose(f);
    return buf;
}

/* ---- handlers ---------------------------------------------------------- */

static void
ctl_reply_json__(struct evhttp_request *req, int code, json_t *body)
{
    struct evbuffer *out = evbuffer_new();
    char *text = json_dumps(body, JSON_COMPACT);

    evbuffer_add_printf(out, "%s\n", text ? text : "{}");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evhttp_send_reply(req, code, NULL, out);
    evbuffer_free(out);
    free(text);
    json_decref(body);
}

static void
ctl_reply_error__(struct evhttp_request *req, int code, const char *msg)
{
    ctl_reply_json__(req, code, json_pack("{s:s}", "error", msg));
}

/* Copies the request body into a NUL-terminated heap string, or answers
 * 413 and returns NULL. */
static char *
ctl_body__(struct evhttp_request *req, size_t *lenp)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);

    if (len > CONTROLLER_MAX_BODY) {
        ctl_reply_error__(req, 413, "request body too large");
        return NULL;
    }
    char *body = xmalloc(len + 1);
    evbuffer_copyout(in, body, len);
    body[len] = '\0';
    *lenp = len;
    return body;
}

typedef int ctl_yaml_op(struct controller *, const char *, const char *,
                        size_t, json_t **);

static void
ctl_handle_yaml__(struct controller *ctl, struct evhttp_request *req,
                  ctl_yaml_op *op)
{
    size_t len;
    char *body = ctl_body__(req, &len);
    if (!body) {
        return;
    }
    const char *file = evhttp_find_header(
        evhttp_request_get_input_headers(req), "X-Anet-Filename");
    json_t *reply = NULL;
    int error = op(ctl, file, body, len, &reply);
    free(body);
    ctl_reply_json__(req, !error ? 200 : error == -EINVAL ? 400 : 500, reply);
}

static void
ctl_handle_apply__(struct controller *ctl, struct evhttp_request *req)
{
    ctl_handle_yaml__(ctl, req, controller_apply);
}

static void
ctl_handle_plan__(struct controller *ctl, struct evhttp_request *req)
{
    ctl_handle_yaml__(ctl, req, controller_plan);
}

static void
ctl_handle_show__(struct controller *ctl, struct evhttp_request *req)
{
    ctl_reply_json__(req, 200, controller_show(ctl));
}

static void
ctl_handle_flows__(struct controller *ctl, struct evhttp_request *req)
{
    struct evkeyvalq q;
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));

    TAILQ_INIT(&q);
    if (query) {
        evhttp_parse_query_str(query, &q);
    }
    const char *host = evhttp_find_header(&q, "host");
    if (!host) {
        ctl_reply_error__(req, 400, "missing ?host=NAME");
    } else {
        json_t *j = controller_flows(ctl, host);
        if (j) {
            ctl_reply_json__(req, 200, j);
        } else {
            char *msg = xasprintf("host %s is not in the topology", host);
            ctl_reply_error__(req, 404, msg);
            free(msg);
        }
    }
    evhttp_clear_headers(&q);
}

static void
ctl_handle_rules__(struct controller *ctl, struct evhttp_request *req)
{
    ctl_reply_json__(req, 200, ctl_rules_json(ctl));
}

static void
ctl_handle_acl_log__(struct controller *ctl, struct evhttp_request *req)
{
    struct evkeyvalq q;
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    unsigned long long since = 0, limit = CTL_ACL_LOG_KEEP;
    const char *v;
    char *end;

    TAILQ_INIT(&q);
    if (query) {
        evhttp_parse_query_str(query, &q);
    }
    if ((v = evhttp_find_header(&q, "since"))) {
        since = strtoull(v, &end, 10);
        if (!*v || *end) {
            ctl_reply_error__(req, 400, "?since= takes a sequence number");
            goto out;
        }
    }
    if ((v = evhttp_find_header(&q, "limit"))) {
        limit = strtoull(v, &end, 10);
        if (!*v || *end || !limit) {
            ctl_reply_error__(req, 400, "?limit= takes a positive number");
            goto out;
        }
    }
    ctl_reply_json__(req, 200, ctl_acl_log_json(ctl, since, limit));
out:
    evhttp_clear_headers(&q);
}

static void
ctl_handle_nfv__(struct controller *ctl, struct evhttp_request *req)
{
    ctl_reply_json__(req, 200, ctl_nfv_json(ctl));
}

static void
ctl_handle_metrics__(struct controller *ctl, struct evhttp_request *req)
{
    char *text = controller_metrics(ctl);
    struct evbuffer *out = evbuffer_new();

    evbuffer_add(out, text, strlen(text));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4");
    evhttp_send_reply(req, 200, NULL, out);
    evbuffer_free(out);
    free(text);
}

struct ctl_route {
    enum evhttp_cmd_type method;
    const char *path;
    void (*handler)(struct controller *, struct evhttp_request *);
};

static const struct ctl_route ctl_routes__[] = {
    { EVHTTP_REQ_POST, "/api/v1/apply", ctl_handle_apply__ },
    { EVHTTP_REQ_POST, "/api/v1/plan", ctl_handle_plan__ },
    { EVHTTP_REQ_GET, "/api/v1/show", ctl_handle_show__ },
    { EVHTTP_REQ_GET, "/api/v1/flows", ctl_handle_flows__ },
    { EVHTTP_REQ_GET, "/api/v1/rules", ctl_handle_rules__ },
    { EVHTTP_REQ_GET, "/api/v1/acl-log", ctl_handle_acl_log__ },
    { EVHTTP_REQ_GET, "/api/v1/nfv", ctl_handle_nfv__ },
    { EVHTTP_REQ_GET, "/metrics", ctl_handle_metrics__ },
};

static void
ctl_http_cb__(struct evhttp_request *req, void *ctl_)
{
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    bool path_known = false;

    for (size_t i = 0; path && i < ARRAY_SIZE(ctl_routes__); i++) {
        const struct ctl_route *r = &ctl_routes__[i];
        if (strcmp(r->path, path)) {
            continue;
        }
        path_known = true;
        if (r->method == method) {
            r->handler(ctl_, req);
            return;
        }
    }
    if (path_known) {
        ctl_reply_error__(req, 405, "method not allowed");
    } else {
        ctl_reply_error__(req, 404, "no such endpoint");
    }
}

int
ctl_http_start(struct controller *ctl, const struct sockaddr_in *sin)
{
    char ip[INET_ADDRSTRLEN];
    struct evhttp_bound_socket *bs;
    struct sockaddr_in bound;
    socklen_t len = sizeof bound;

    ctl->http = evhttp_new(ctl->base);
    if (!ctl->http) {
        return -ENOMEM;
    }
    /* A little headroom so that our own check answers 413 in JSON for
     * bodies just over the limit. */
    evhttp_set_max_body_size(ctl->http, CONTROLLER_MAX_BODY + 1);
    evhttp_set_gencb(ctl->http, ctl_http_cb__, ctl);
    inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
    bs = evhttp_bind_socket_with_handle(ctl->http, ip, ntohs(sin->sin_port));
    if (!bs) {
        int error = errno ? -errno : -EADDRINUSE;
        LOG_ERR("cannot listen for HTTP on %s:%u: %s", ip,
                ntohs(sin->sin_port), strerror(-error));
        return error;
    }
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *) &bound,
                &len);
    ctl->http_port = ntohs(bound.sin_port);
    LOG_INFO("HTTP API on %s:%u", ip, ctl->http_port);
    return 0;
}

void
ctl_http_stop(struct controller *ctl)
{
    if (ctl->http) {
        evhttp_free(ctl->http);
        ctl->http = NULL;
    }
}

uint16_t
controller_http_port(const struct controller *ctl)
{
    return ctl->http_port;
}
