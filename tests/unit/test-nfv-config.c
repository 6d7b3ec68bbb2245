/* test-nfv-config.c — NfvConfig (proto/nfv.proto) to engine structs: what a
 * valid firewall and load-balancer policy become, and that every invalid
 * field is refused with a message naming it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nfv/nfv-config.h"
#include "proto/nfv.pb-c.h"

#define IP(a, b, c, d) ((uint32_t) (a) << 24 | (b) << 16 | (c) << 8 | (d))

/* Packs 'm' and decodes it back through the public entry point, as
 * anet-nfv does with what the agent sends. */
static int
decode(const Anet__Nfv__NfvConfig *m, struct nfv_config **c, char **error)
{
    size_t len = anet__nfv__nfv_config__get_packed_size(m);
    uint8_t *buf = malloc(len ? len : 1);
    anet__nfv__nfv_config__pack(m, buf);
    int r = nfv_config_decode(buf, len, c, error);
    free(buf);
    return r;
}

/* A two-rule firewall: allow tcp/80 from 10.0.1.0/24 (host bits set on
 * purpose) and 10.0.2.7, reject icmp echo to anywhere; default deny. */
struct fw_fixture {
    Anet__Nfv__NfvConfig cfg;
    Anet__Nfv__FwConfig fw;
    Anet__Nfv__FwRule r0, r1;
    Anet__Nfv__FwRule *rules[2];
    char *src0[2];
};

static void
fw_fixture_init(struct fw_fixture *f)
{
    anet__nfv__nfv_config__init(&f->cfg);
    anet__nfv__fw_config__init(&f->fw);
    anet__nfv__fw_rule__init(&f->r0);
    anet__nfv__fw_rule__init(&f->r1);
    f->src0[0] = "10.0.1.9/24";
    f->src0[1] = "10.0.2.7";
    f->r0.src = f->src0;
    f->r0.n_src = 2;
    f->r0.proto = 6;
    f->r0.dport_min = 80;
    f->r0.action = ANET__NFV__FW_ACTION__ALLOW;
    f->r0.log = true;
    f->r0.name = "web";
    f->r1.proto = 1;
    f->r1.match_icmp_type = true;
    f->r1.icmp_type = 8;
    f->r1.action = ANET__NFV__FW_ACTION__REJECT;
    f->rules[0] = &f->r0;
    f->rules[1] = &f->r1;
    f->fw.rules = f->rules;
    f->fw.n_rules = 2;
    f->fw.default_action = ANET__NFV__FW_ACTION__DENY;
    f->fw.max_conns = 1000;
    f->cfg.generation = 42;
    f->cfg.policy_case = ANET__NFV__NFV_CONFIG__POLICY_FW;
    f->cfg.fw = &f->fw;
}

static void
test_fw_valid(void **state)
{
    struct fw_fixture f;
    struct nfv_config *c = NULL;
    char *error = NULL;

    fw_fixture_init(&f);
    assert_int_equal(decode(&f.cfg, &c, &error), 0);
    assert_null(error);
    assert_non_null(c);
    assert_int_equal(c->generation, 42);
    assert_int_equal(c->kind, NFV_KIND_VAF);
    assert_int_equal(c->fw.n_rules, 2);
    const struct nfv_fw_rule *r = &c->fw.rules[0];
    assert_int_equal(r->n_src, 2);
    assert_int_equal(r->src[0].net, IP(10, 0, 1, 0));   /* host bits cleared */
    assert_int_equal(r->src[0].plen, 24);
    assert_int_equal(r->src[1].net, IP(10, 0, 2, 7));
    assert_int_equal(r->src[1].plen, 32);
    assert_int_equal(r->n_dst, 0);
    assert_int_equal(r->proto, 6);
    assert_int_equal(r->dport_min, 80);                 /* max 0: single */
    assert_int_equal(r->dport_max, 80);
    assert_int_equal(r->icmp_type, -1);
    assert_int_equal(r->action, NFV_FW_ALLOW);
    assert_true(r->log);
    r = &c->fw.rules[1];
    assert_int_equal(r->proto, 1);
    assert_int_equal(r->icmp_type, 8);
    assert_int_equal(r->dport_min, 0);                  /* no ports: any */
    assert_int_equal(r->dport_max, 65535);
    assert_int_equal(r->action, NFV_FW_REJECT);
    assert_int_equal(c->fw.default_action, NFV_FW_DENY);
    assert_int_equal(c->fw.max_conns, 1000);
    assert_int_equal(c->n_names, 2);
    assert_string_equal(c->names[0], "web");
    assert_string_equal(c->names[1], "");
    nfv_config_destroy(c);

    /* Defaults: max_conns 0 is the documented default. */
    f.fw.max_conns = 0;
    assert_int_equal(decode(&f.cfg, &c, &error), 0);
    assert_int_equal(c->fw.max_conns, NFV_CONFIG_DEFAULT_CONNS);
    nfv_config_destroy(c);
}

/* Each mutation of the valid fixture must be refused, naming 'field'. */
static void
expect_fw_error(void (*mutate)(struct fw_fixture *), const char *field)
{
    struct fw_fixture f;
    struct nfv_config *c = (void *) 1;
    char *error = NULL;

    fw_fixture_init(&f);
    mutate(&f);
    assert_int_equal(decode(&f.cfg, &c, &error), -EINVAL);
    assert_null(c);
    assert_non_null(error);
    if (!strstr(error, field)) {
        fail_msg("error \"%s\" does not name %s", error, field);
    }
    free(error);
}

static void m_bad_cidr(struct fw_fixture *f) { f->src0[1] = "10.0.2.300"; }
static void m_bad_plen(struct fw_fixture *f) { f->src0[0] = "10.0.0.0/33"; }
static void m_bad_proto(struct fw_fixture *f) { f->r0.proto = 47; }
static void m_port_icmp(struct fw_fixture *f) { f->r1.dport_min = 5; }
static void m_port_order(struct fw_fixture *f) { f->r0.dport_max = 79; }
static void m_port_big(struct fw_fixture *f) { f->r0.dport_max = 70000; }
static void m_icmp_tcp(struct fw_fixture *f) { f->r0.match_icmp_type = 1; }
static void m_icmp_big(struct fw_fixture *f) { f->r1.icmp_type = 256; }
static void m_action(struct fw_fixture *f) { f->r1.action = 7; }
static void m_default(struct fw_fixture *f) { f->fw.default_action = 9; }
static void m_per_src(struct fw_fixture *f) { f->fw.max_conns_per_source = 2000; }
static void m_conns(struct fw_fixture *f) { f->fw.max_conns = 1u << 30; }
static void m_none(struct fw_fixture *f)
{
    f->cfg.policy_case = ANET__NFV__NFV_CONFIG__POLICY__NOT_SET;
}

static void
test_fw_invalid(void **state)
{
    expect_fw_error(m_bad_cidr, "fw.rules[0].src[1]");
    expect_fw_error(m_bad_plen, "fw.rules[0].src[0]");
    expect_fw_error(m_bad_proto, "fw.rules[0].proto");
    expect_fw_error(m_port_icmp, "fw.rules[1]: a destination port");
    expect_fw_error(m_port_order, "dport range 80-79");
    expect_fw_error(m_port_big, "dport range 80-70000");
    expect_fw_error(m_icmp_tcp, "fw.rules[0]: an ICMP type needs");
    expect_fw_error(m_icmp_big, "fw.rules[1].icmp_type");
    expect_fw_error(m_action, "fw.rules[1].action");
    expect_fw_error(m_default, "fw.default_action");
    expect_fw_error(m_per_src, "fw.max_conns_per_source");
    expect_fw_error(m_conns, "fw.max_conns");
    expect_fw_error(m_none, "no policy");
}

struct lb_fixture {
    Anet__Nfv__NfvConfig cfg;
    Anet__Nfv__LbConfig lb;
    Anet__Nfv__LbService s0;
    Anet__Nfv__LbService *svcs[1];
    Anet__Nfv__LbBackend b[2];
    Anet__Nfv__LbBackend *bp[2];
};

static void
lb_fixture_init(struct lb_fixture *f)
{
    anet__nfv__nfv_config__init(&f->cfg);
    anet__nfv__lb_config__init(&f->lb);
    anet__nfv__lb_service__init(&f->s0);
    for (int i = 0; i < 2; i++) {
        anet__nfv__lb_backend__init(&f->b[i]);
        f->bp[i] = &f->b[i];
    }
    f->b[0].ip = "10.0.0.11";
    f->b[0].port = 8080;
    f->b[0].weight = 3;
    f->b[0].mac = "02:00:00:00:00:0b";
    f->b[1].ip = "10.0.0.12";
    f->b[1].port = 8080;
    f->b[1].mac = "02:00:00:00:00:0c";
    f->s0.vip = "10.0.0.100";
    f->s0.port = 80;
    f->s0.proto = 6;
    f->s0.backends = f->bp;
    f->s0.n_backends = 2;
    f->s0.health_interval_ms = 500;
    f->s0.name = "web";
    f->svcs[0] = &f->s0;
    f->lb.self_ip = "10.0.0.2";
    f->lb.self_mac = "02:00:00:00:00:02";
    f->lb.services = f->svcs;
    f->lb.n_services = 1;
    f->cfg.generation = 7;
    f->cfg.policy_case = ANET__NFV__NFV_CONFIG__POLICY_LB;
    f->cfg.lb = &f->lb;
}

static void
test_lb(void **state)
{
    struct lb_fixture f;
    struct nfv_config *c = NULL;
    char *error = NULL;

    lb_fixture_init(&f);
    assert_int_equal(decode(&f.cfg, &c, &error), 0);
    assert_int_equal(c->kind, NFV_KIND_VAD);
    assert_int_equal(c->lb.self_ip, IP(10, 0, 0, 2));
    assert_int_equal(c->lb.self_mac, 0x020000000002ULL);
    assert_int_equal(c->lb.n_services, 1);
    const struct nfv_lb_service *s = &c->lb.services[0];
    assert_int_equal(s->vip, IP(10, 0, 0, 100));
    assert_int_equal(s->port, 80);
    assert_int_equal(s->proto, 6);
    assert_int_equal(s->health_interval_ms, 500);
    assert_int_equal(s->n_backends, 2);
    assert_int_equal(s->backends[0].weight, 3);
    assert_int_equal(s->backends[1].weight, 1);          /* 0 -> 1 */
    assert_int_equal(s->backends[1].mac, 0x02000000000cULL);
    assert_int_equal(c->lb.max_conns, NFV_CONFIG_DEFAULT_CONNS);
    assert_string_equal(c->names[0], "web");
    nfv_config_destroy(c);

    static const struct { int what; const char *field; } bad[] = {
        { 0, "lb.self_ip" }, { 1, "lb.self_mac" },
        { 2, "lb.services[0].vip" }, { 3, "lb.services[0].proto" },
        { 4, "lb.services[0].backends[1].port" },
        { 5, "lb.services[0].backends[0].mac" },
        { 6, "lb.services[0].health_interval_ms" },
        { 7, "lb.services[0].backends[1]: 10.0.0.11:8080 is already" },
        { 8, "lb.services[0].backends[0].weight" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lb_fixture_init(&f);
        switch (bad[i].what) {
        case 0: f.lb.self_ip = "10.0.0"; break;
        case 1: f.lb.self_mac = "01:00:5e:00:00:01"; break;  /* multicast */
        case 2: f.s0.vip = ""; break;
        case 3: f.s0.proto = 1; break;
        case 4: f.b[1].port = 0; break;
        case 5: f.b[0].mac = "nope"; break;
        case 6: f.s0.health_interval_ms = 10; break;
        case 7: f.b[1].ip = "10.0.0.11"; break;
        case 8: f.b[0].weight = 70000; break;
        }
        c = NULL;
        error = NULL;
        assert_int_equal(decode(&f.cfg, &c, &error), -EINVAL);
        assert_null(c);
        assert_non_null(error);
        if (!strstr(error, bad[i].field)) {
            fail_msg("case %zu: error \"%s\" does not name %s", i, error,
                     bad[i].field);
        }
        free(error);
    }
}

static void
test_garbage(void **state)
{
    static const uint8_t junk[] = { 0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 1 };
    struct nfv_config *c = NULL;
    char *error = NULL;

    assert_int_equal(nfv_config_decode(junk, sizeof junk, &c, &error),
                     -EBADMSG);
    assert_null(c);
    assert_non_null(error);
    free(error);

    enum nfv_kind k;
    assert_int_equal(nfv_kind_parse("vad", &k), 0);
    assert_int_equal(k, NFV_KIND_VAD);
    assert_string_equal(nfv_kind_name(k), "vad");
    assert_int_equal(nfv_kind_parse("vxx", &k), -EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fw_valid),
        cmocka_unit_test(test_fw_invalid),
        cmocka_unit_test(test_lb),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
