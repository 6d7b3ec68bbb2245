/* test-nfv-ct.c — connection tracking: the TCP state machine (handshake,
 * close, reset, invalid packets, port reuse), UDP/ICMP pseudo-connections,
 * timeouts with lazy expiry and the sweep, the per-source and table
 * limits, and a flood of 1M spoofed SYNs that must leave established
 * connections intact and let new legitimate handshakes complete. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "nfv/ct.h"
#include "nfv/nfv-eal.h"

#define CLIENT 0x0a000001u
#define SERVER 0x0a000102u

static struct nfv_pkt
tcp(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t flags,
    uint32_t seq, uint32_t ack)
{
    return (struct nfv_pkt) { .proto = 6, .src = src, .dst = dst,
                              .sport = sport, .dport = dport,
                              .tcp_flags = flags, .tcp_seq = seq,
                              .tcp_ack = ack };
}

static struct nfv_pkt
reverse(const struct nfv_pkt *p, uint8_t flags, uint32_t seq, uint32_t ack)
{
    struct nfv_pkt r = *p;
    r.src = p->dst;
    r.dst = p->src;
    r.sport = p->dport;
    r.dport = p->sport;
    r.tcp_flags = flags;
    r.tcp_seq = seq;
    r.tcp_ack = ack;
    return r;
}

static int32_t
lookup(struct nfv_ct *ct, const struct nfv_pkt *p, uint32_t now)
{
    struct nfv_ct_key k;
    nfv_ct_key_init(&k, p);
    return nfv_ct_lookup(ct, &k, now);
}

static int32_t
create(struct nfv_ct *ct, const struct nfv_pkt *p, uint32_t now)
{
    struct nfv_ct_key k;
    nfv_ct_key_init(&k, p);
    assert_true(nfv_ct_may_create(p));
    return nfv_ct_create(ct, &k, p, 7, now);
}

static enum nfv_ct_verdict
track(struct nfv_ct *ct, const struct nfv_pkt *p, uint32_t now)
{
    int32_t pos = lookup(ct, p, now);
    assert_true(pos >= 0);
    return nfv_ct_track(ct, pos, p, now);
}

static uint8_t
state_of(struct nfv_ct *ct, const struct nfv_pkt *p, uint32_t now)
{
    int32_t pos = lookup(ct, p, now);
    return pos < 0 ? NFV_CT_NONE : nfv_ct_conn(ct, pos)->state;
}

/* A full handshake of 'syn' at 'now'; the server's ISN is 'isn'. */
static void
handshake(struct nfv_ct *ct, const struct nfv_pkt *syn, uint32_t isn,
          uint32_t now)
{
    assert_true(create(ct, syn, now) >= 0);
    struct nfv_pkt sa = reverse(syn, NFV_TCP_SYN | NFV_TCP_ACK, isn,
                                syn->tcp_seq + 1);
    assert_int_equal(track(ct, &sa, now), NFV_CT_FORWARD);
    struct nfv_pkt a = *syn;
    a.tcp_flags = NFV_TCP_ACK;
    a.tcp_seq = syn->tcp_seq + 1;
    a.tcp_ack = isn + 1;
    assert_int_equal(track(ct, &a, now), NFV_CT_FORWARD);
}

static struct nfv_ct *
table(uint32_t max, uint32_t per_source)
{
    struct nfv_ct_params p = { .max_conns = max, .max_per_source = per_source };
    struct nfv_ct *ct = nfv_ct_create_table(&p);
    assert_non_null(ct);
    return ct;
}

static void
test_tcp_lifecycle(void **state)
{
    (void) state;
    struct nfv_ct *ct = table(1024, 0);
    struct nfv_ct_stats st;
    struct nfv_pkt syn = tcp(CLIENT, SERVER, 40000, 80, NFV_TCP_SYN, 100, 0);

    /* Only a pure SYN opens a TCP connection. */
    struct nfv_pkt bad = syn;
    bad.tcp_flags = NFV_TCP_ACK;
    assert_false(nfv_ct_may_create(&bad));
    bad.tcp_flags = NFV_TCP_SYN | NFV_TCP_ACK;
    assert_false(nfv_ct_may_create(&bad));

    assert_true(create(ct, &syn, 0) >= 0);
    assert_int_equal(state_of(ct, &syn, 0), NFV_CT_SYN_SENT);
    /* Both directions find the entry. */
    struct nfv_pkt sa = reverse(&syn, NFV_TCP_SYN | NFV_TCP_ACK, 5000, 101);
    assert_int_equal(lookup(ct, &sa, 0), lookup(ct, &syn, 0));

    /* Data before the handshake, a reply without SYN: invalid. */
    struct nfv_pkt data = syn;
    data.tcp_flags = NFV_TCP_ACK | NFV_TCP_PSH;
    assert_int_equal(track(ct, &data, 1), NFV_CT_INVALID);
    assert_int_equal(track(ct, &syn, 1), NFV_CT_FORWARD);   /* retransmit */
    assert_int_equal(track(ct, &sa, 2), NFV_CT_FORWARD);
    assert_int_equal(state_of(ct, &syn, 2), NFV_CT_SYN_RECV);

    /* A blind ACK with the wrong number does not establish. */
    struct nfv_pkt ack = syn;
    ack.tcp_flags = NFV_TCP_ACK;
    ack.tcp_ack = 4242;
    assert_int_equal(track(ct, &ack, 3), NFV_CT_INVALID);
    assert_int_equal(state_of(ct, &syn, 3), NFV_CT_SYN_RECV);
    nfv_ct_get_stats(ct, &st);
    assert_int_equal(st.n_embryonic, 1);
    assert_int_equal(st.invalid, 2);
    ack.tcp_ack = 5001;
    assert_int_equal(track(ct, &ack, 4), NFV_CT_FORWARD);
    assert_int_equal(state_of(ct, &syn, 4), NFV_CT_ESTABLISHED);
    nfv_ct_get_stats(ct, &st);
    assert_int_equal(st.n_embryonic, 0);
    assert_int_equal(st.by_state[NFV_CT_ESTABLISHED], 1);

    /* Data both ways; a late SYN|ACK retransmit passes; a new SYN not. */
    assert_int_equal(track(ct, &data, 5), NFV_CT_FORWARD);
    struct nfv_pkt rdata = reverse(&syn, NFV_TCP_ACK, 5001, 101);
    assert_int_equal(track(ct, &rdata, 6), NFV_CT_FORWARD);
    assert_int_equal(track(ct, &sa, 6), NFV_CT_FORWARD);
    assert_int_equal(track(ct, &syn, 6), NFV_CT_INVALID);

    /* Established lives an hour from its last packet, not a second more. */
    uint32_t t = 6 + NFV_CT_TIMEOUT_EST_MS - 1;
    assert_int_equal(state_of(ct, &syn, t), NFV_CT_ESTABLISHED);
    assert_int_equal(track(ct, &data, t), NFV_CT_FORWARD);

    /* FIN from the client, then from the server: TIME_WAIT. */
    struct nfv_pkt fin = syn;
    fin.tcp_flags = NFV_TCP_FIN | NFV_TCP_ACK;
    assert_int_equal(track(ct, &fin, t), NFV_CT_FORWARD);
    assert_int_equal(state_of(ct, &syn, t), NFV_CT_FIN_WAIT);
    struct nfv_pkt rfin = reverse(&syn, NFV_TCP_FIN | NFV_TCP_ACK, 1, 1);
    assert_int_equal(track(ct, &rfin, t), NFV_CT_FORWARD);
    assert_int_equal(state_of(ct, &syn, t), NFV_CT_TIME_WAIT);
    assert_int_equal(track(ct, &data, t), NFV_CT_FORWARD);  /* last ACK */

    /* A new SYN on the same 4-tuple restarts the connection. */
    assert_int_equal(track(ct, &syn, t + 1), NFV_CT_RESTART);
    assert_int_equal(lookup(ct, &syn, t + 1), -1);
    assert_true(create(ct, &syn, t + 1) >= 0);

    /* RST closes from any state, and is forwarded. */
    struct nfv_pkt rst = reverse(&syn, NFV_TCP_RST | NFV_TCP_ACK, 0, 101);
    assert_int_equal(track(ct, &rst, t + 2), NFV_CT_FORWARD);
    assert_int_equal(lookup(ct, &syn, t + 2), -1);
    handshake(ct, &syn, 9000, t + 3);
    rst = syn;
    rst.tcp_flags = NFV_TCP_RST;
    assert_int_equal(track(ct, &rst, t + 4), NFV_CT_FORWARD);
    nfv_ct_get_stats(ct, &st);
    assert_int_equal(st.n_conns, 0);
    assert_int_equal(st.n_sources, 0);
    assert_int_equal(st.closed, 3);

    /* Timeouts: an unanswered SYN goes after 30 s; FIN_WAIT after 120 s. */
    assert_true(create(ct, &syn, 1000) >= 0);
    assert_int_equal(state_of(ct, &syn, 1000 + NFV_CT_TIMEOUT_SYN_MS - 1),
                     NFV_CT_SYN_SENT);
    assert_int_equal(lookup(ct, &syn, 1000 + NFV_CT_TIMEOUT_SYN_MS), -1);
    handshake(ct, &syn, 1, 2000);
    assert_int_equal(track(ct, &fin, 2000), NFV_CT_FORWARD);
    assert_int_equal(state_of(ct, &syn, 2000 + NFV_CT_TIMEOUT_FIN_MS - 1),
                     NFV_CT_FIN_WAIT);
    assert_int_equal(lookup(ct, &syn, 2000 + NFV_CT_TIMEOUT_FIN_MS), -1);
    nfv_ct_get_stats(ct, &st);
    assert_int_equal(st.expired, 2);
    assert_int_equal(st.n_conns, 0);
    nfv_ct_destroy(ct);
}

static void
test_udp_icmp_and_sweep(void **state)
{
    (void) state;
    struct nfv_ct *ct = table(1024, 1000);
    struct nfv_pkt u = { .proto = 17, .src = CLIENT, .dst = SERVER,
                         .sport = 5353, .dport = 53 };
    assert_true(create(ct, &u, 0) >= 0);
    assert_int_equal(state_of(ct, &u, 0), NFV_CT_NEW);
    assert_int_equal(lookup(ct, &u, NFV_CT_TIMEOUT_UDP_MS), -1);

    assert_true(create(ct, &u, 100) >= 0);
    struct nfv_pkt r = reverse(&u, 0, 0, 0);
    assert_int_equal(track(ct, &r, 200), NFV_CT_FORWARD);
    assert_int_equal(state_of(ct, &u, 200), NFV_CT_REPLIED);
    assert_int_equal(state_of(ct, &u, 200 + NFV_CT_TIMEOUT_UDP_REPLIED_MS - 1),
                     NFV_CT_REPLIED);

    /* ICMP echo: request and reply share the entry (identifier). */
    struct nfv_pkt ping = { .proto = 1, .src = CLIENT, .dst = SERVER,
                            .sport = 77, .icmp_type = NFV_ICMP_ECHO };
    struct nfv_pkt pong = { .proto = 1, .src = SERVER, .dst = CLIENT,
                            .sport = 77, .icmp_type = NFV_ICMP_ECHO_REPLY };
    assert_true(create(ct, &ping, 300) >= 0);
    assert_int_equal(lookup(ct, &pong, 300), lookup(ct, &ping, 300));
    assert_int_equal(track(ct, &pong, 300), NFV_CT_FORWARD);
    assert_int_equal(state_of(ct, &ping, 300), NFV_CT_REPLIED);
    struct nfv_pkt err = ping;
    err.icmp_type = NFV_ICMP_UNREACH;
    assert_false(nfv_ct_may_create(&err));

    /* The sweep removes expired entries nobody looks up. */
    for (uint16_t i = 0; i < 100; i++) {
        struct nfv_pkt v = u;
        v.sport = (uint16_t) (10000 + i);
        assert_true(create(ct, &v, 300) >= 0);
    }
    struct nfv_ct_stats st;
    nfv_ct_get_stats(ct, &st);
    assert_int_equal(st.n_conns, 102);
    assert_int_equal(nfv_ct_sweep(ct, 300 + NFV_CT_TIMEOUT_UDP_MS - 1, 5000), 0);
    size_t removed = 0;
    for (int i = 0; i < 20; i++) {                  /* 20 x 64 > 1088 slots */
        removed += nfv_ct_sweep(ct, 300 + NFV_CT_TIMEOUT_UDP_MS, 64);
    }
    assert_int_equal(removed, 101);                 /* 100 + the ping */
    nfv_ct_get_stats(ct, &st);
    assert_int_equal(st.n_conns, 1);                /* the replied UDP one */
    assert_int_equal(st.by_state[NFV_CT_REPLIED], 1);
    nfv_ct_destroy(ct);
}

static void
test_limits(void **state)
{
    (void) state;
    struct nfv_ct *ct = table(64, 10);
    struct nfv_ct_stats st;

    /* Per source: the 11th connection from one address is refused, other
     * sources are not affected, and a closed one frees a place. */
    struct nfv_pkt syn = tcp(CLIENT, SERVER, 1, 80, NFV_TCP_SYN, 1, 0);
    for (uint16_t i = 0; i < 10; i++) {
        syn.sport = (uint16_t) (1000 + i);
        handshake(ct, &syn, i, 0);
    }
    syn.sport = 2000;
    assert_int_equal(create(ct, &syn, 0), -EDQUOT);
    struct nfv_pkt other = tcp(CLIENT + 1, SERVER, 2000, 80, NFV_TCP_SYN, 1, 0);
    assert_true(create(ct, &other, 0) >= 0);
    struct nfv_pkt rst = tcp(CLIENT, SERVER, 1000, 80, NFV_TCP_RST, 0, 0);
    assert_int_equal(track(ct, &rst, 0), NFV_CT_FORWARD);
    assert_true(create(ct, &syn, 0) >= 0);
    nfv_ct_get_stats(ct, &st);
    assert_int_equal(st.refused_source, 1);

    /* Fill the table with established connections from many sources. */
    for (uint32_t i = 0; st.by_state[NFV_CT_ESTABLISHED] < 64; i++) {
        struct nfv_pkt s = tcp(0x0b000000 + i, SERVER, 3000, 80, NFV_TCP_SYN,
                               1, 0);
        handshake(ct, &s, 1, 0);
        nfv_ct_get_stats(ct, &st);
    }
    /* 2 embryonic ones were evicted on the way; now it is full of
     * established connections: a new one is refused, none evicted. */
    struct nfv_pkt late = tcp(0x0c000001, SERVER, 1, 80, NFV_TCP_SYN, 1, 0);
    assert_int_equal(create(ct, &late, 0), -ENOSPC);
    nfv_ct_get_stats(ct, &st);
    assert_int_equal(st.n_conns, 64);
    assert_int_equal(st.by_state[NFV_CT_ESTABLISHED], 64);
    assert_int_equal(st.refused_full, 1);
    assert_int_equal(st.evicted_embryonic, 2);
    /* Once they expire there is room again. */
    assert_true(create(ct, &late, NFV_CT_TIMEOUT_EST_MS + 1) >= 0);
    nfv_ct_destroy(ct);
}

static void
test_syn_flood(void **state)
{
    (void) state;
    enum { MAX = 65536, N_EST = 2000, FLOOD = 1000000 };
    struct nfv_ct *ct = table(MAX, 0);
    struct nfv_ct_stats st;
    uint32_t now = 0;

    for (uint32_t i = 0; i < N_EST; i++) {
        struct nfv_pkt s = tcp(0x0a010000 + i, SERVER, 40000, 443, NFV_TCP_SYN,
                               i, 0);
        handshake(ct, &s, i * 7, now);
    }

    uint64_t x = 88172645463325252ULL;
    size_t legit_ok = 0;
    for (uint32_t i = 0; i < FLOOD; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        struct nfv_pkt s = tcp((uint32_t) x, SERVER, (uint16_t) (x >> 32), 443,
                               NFV_TCP_SYN, (uint32_t) (x >> 16), 0);
        if (i % 4 == 0) {
            /* The server answers some; the spoofer cannot finish: its
             * blind ACK carries a guessed number. */
            int32_t pos = create(ct, &s, now);
            assert_true(pos >= 0);
            struct nfv_pkt sa = reverse(&s, NFV_TCP_SYN | NFV_TCP_ACK,
                                        (uint32_t) x * 3, s.tcp_seq + 1);
            assert_int_equal(nfv_ct_track(ct, pos, &sa, now), NFV_CT_FORWARD);
            struct nfv_pkt a = s;
            a.tcp_flags = NFV_TCP_ACK;
            a.tcp_ack = (uint32_t) x;
            assert_int_equal(nfv_ct_track(ct, pos, &a, now), NFV_CT_INVALID);
        } else {
            assert_true(create(ct, &s, now) >= 0);
        }
        if (i % 100000 == 50000) {
            /* A legitimate client in the middle of the flood: its SYN, a
             * thousand spoofed SYNs, the SYN|ACK, its ACK. */
            struct nfv_pkt l = tcp(0x0a020000 + i, SERVER, 50000, 443,
                                   NFV_TCP_SYN, 1, 0);
            int32_t pos = create(ct, &l, now);
            assert_true(pos >= 0);
            for (int j = 0; j < 1000; j++) {
                struct nfv_pkt f = tcp(0x0b000000u + (uint32_t) j * 977 + i,
                                       SERVER, 1, 443, NFV_TCP_SYN, 1, 0);
                assert_true(create(ct, &f, now) >= 0);
            }
            struct nfv_pkt sa = reverse(&l, NFV_TCP_SYN | NFV_TCP_ACK, 99, 2);
            assert_int_equal(track(ct, &sa, now), NFV_CT_FORWARD);
            struct nfv_pkt a = l;
            a.tcp_flags = NFV_TCP_ACK;
            a.tcp_ack = 100;
            assert_int_equal(track(ct, &a, now), NFV_CT_FORWARD);
            assert_int_equal(state_of(ct, &l, now), NFV_CT_ESTABLISHED);
            legit_ok++;
        }
        if (i % 65536 == 0) {
            now++;
        }
    }
    nfv_ct_get_stats(ct, &st);
    assert_int_equal(legit_ok, 10);
    assert_true(st.n_embryonic <= MAX / 4);
    assert_true(st.n_conns <= MAX);
    assert_int_equal(st.by_state[NFV_CT_ESTABLISHED], N_EST + legit_ok);
    assert_true(st.evicted_embryonic >= FLOOD - MAX / 4);
    for (uint32_t i = 0; i < N_EST; i++) {
        struct nfv_pkt d = tcp(0x0a010000 + i, SERVER, 40000, 443, NFV_TCP_ACK,
                               i + 1, i * 7 + 1);
        assert_int_equal(state_of(ct, &d, now), NFV_CT_ESTABLISHED);
        assert_int_equal(track(ct, &d, now), NFV_CT_FORWARD);
    }
    /* And a new client after the flood. */
    struct nfv_pkt n = tcp(0x0a030001, SERVER, 1, 443, NFV_TCP_SYN, 5, 0);
    handshake(ct, &n, 5, now);
    assert_int_equal(state_of(ct, &n, now), NFV_CT_ESTABLISHED);
    nfv_ct_destroy(ct);
}

static int
setup(void **state)
{
    (void) state;
    return nfv_eal_init_for_tests();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_lifecycle),
        cmocka_unit_test(test_udp_icmp_and_sweep),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_syn_flood),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
