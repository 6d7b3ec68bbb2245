/* test-topo-dpdk.c — OVS-DPDK hosts and vhost-user ports in the topology:
 * the model (dpdk settings with their defaults and normalised masks, port
 * kinds, sockets and vhost_server), and every validation error with its
 * exact position and path, all of them reported in one pass. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/topo.h"
#include "tests/unit/support/topo-test.h"
#include "lib/util.h"

static void
test_valid(void **state)
{
    (void) state;
    struct topo *t = topo_test_load_ok(
        "hosts:\n"
        "  - name: hv1\n"
        "    tunnel_ip: 10.200.0.11/24\n"
        "    dpdk:\n"
        "      socket_mem: 512\n"                                        /* 5 */
        "      pmd_cpu_mask: \"0x2\"\n"
        "      lcore_mask: 0X01\n"
        "      pmd_maxsleep_us: 100\n"
        "      interfaces: system\n"
        "  - name: hv2\n"                                                /* 10 */
        "    tunnel_ip: 10.200.0.12/24\n"
        "    dpdk: {socket_mem: 1024, pmd_cpu_mask: 0006}\n"
        "  - {name: hv3, tunnel_ip: 10.200.0.13/24, dpdk: null}\n"
        "switches:\n"
        "  - {name: web, cidr: 10.1.0.0/24}\n"                          /* 15 */
        "ports:\n"
        "  - {name: vm1, host: hv1, switch: web, kind: vhost-user,\n"
        "     socket: /tmp/anet/vm1.sock}\n"
        "  - {name: vm2, host: hv1, switch: web, kind: vhost-user,\n"
        "     socket: /var/run/openvswitch/vm2, vhost_server: ovs}\n"   /* 20 */
        "  - {name: vm3, host: hv2, switch: web, kind: vhost-user,\n"
        "     socket: /tmp/anet/vm1.sock, vhost_server: vm}\n"
        "  - {name: web1, host: hv2, switch: web}\n"
        "  - {name: web2, host: hv3, switch: web, kind: interface}\n");

    const struct topo_host *hv1 = topo_find_host(t, "hv1");
    const struct topo_host *hv2 = topo_find_host(t, "hv2");
    const struct topo_host *hv3 = topo_find_host(t, "hv3");
    assert_true(hv1->dpdk.enabled);
    assert_int_equal(hv1->dpdk.socket_mem, 512);
    assert_string_equal(hv1->dpdk.pmd_cpu_mask, "0x2");
    assert_string_equal(hv1->dpdk.lcore_mask, "0x1");
    assert_int_equal(hv1->dpdk.pmd_maxsleep_us, 100);
    assert_int_equal(hv1->dpdk.interfaces, TOPO_DPDK_IF_SYSTEM);

    /* Defaults: no lcore mask, 500 us sleep, af_packet interfaces. */
    assert_true(hv2->dpdk.enabled);
    assert_int_equal(hv2->dpdk.socket_mem, 1024);
    assert_string_equal(hv2->dpdk.pmd_cpu_mask, "0x6");
    assert_string_equal(hv2->dpdk.lcore_mask, "");
    assert_int_equal(hv2->dpdk.pmd_maxsleep_us, 500);
    assert_int_equal(hv2->dpdk.interfaces, TOPO_DPDK_IF_AF_PACKET);
    assert_false(topo_dpdk_equal(&hv1->dpdk, &hv2->dpdk));

    /* No dpdk: the plain userspace datapath, all zero. */
    static const struct topo_dpdk none;
    assert_false(hv3->dpdk.enabled);
    assert_true(topo_dpdk_equal(&hv3->dpdk, &none));

    const struct topo_port *vm1 = topo_find_port(t, "vm1");
    const struct topo_port *vm2 = topo_find_port(t, "vm2");
    const struct topo_port *vm3 = topo_find_port(t, "vm3");
    const struct topo_port *web1 = topo_find_port(t, "web1");
    const struct topo_port *web2 = topo_find_port(t, "web2");
    assert_int_equal(vm1->kind, TOPO_PORT_VHOST_USER);
    assert_string_equal(vm1->socket, "/tmp/anet/vm1.sock");
    assert_int_equal(vm1->vhost_server, TOPO_VHOST_SERVER_VM);
    assert_string_equal(vm1->iface, "vm1");
    assert_int_equal(vm2->kind, TOPO_PORT_VHOST_USER);
    assert_int_equal(vm2->vhost_server, TOPO_VHOST_SERVER_OVS);
    assert_string_equal(vm2->socket, "/var/run/openvswitch/vm2");
    /* The same socket path on another host is another socket. */
    assert_string_equal(vm3->socket, "/tmp/anet/vm1.sock");
    assert_int_equal(vm3->host, (size_t) (hv2 - t->hosts));
    assert_int_equal(web1->kind, TOPO_PORT_INTERFACE);
    assert_null(web1->socket);
    assert_int_equal(web2->kind, TOPO_PORT_INTERFACE);
    assert_null(web2->socket);
    topo_destroy(t);
}

static void
test_errors(void **state)
{
    (void) state;
    char long_sock[TOPO_SOCKET_MAX + 2];
    memset(long_sock, 'a', sizeof long_sock);
    long_sock[0] = '/';
    long_sock[sizeof long_sock - 1] = '\0';        /* 108 characters */
    char *yaml = xasprintf(
        "hosts:\n"
        "  - name: hv1\n"
        "    tunnel_ip: 10.200.0.11/24\n"
        "    dpdk: {socket_mem: 0, pmd_cpu_mask: \"0xg\", lcore_mask: \"0x0\", "
        "pmd_maxsleep_us: 10001, interfaces: vfio}\n"
        "  - name: hv2\n"                                                /* 5 */
        "    tunnel_ip: 10.200.0.12/24\n"
        "    dpdk: {pmd_cpu_mask: \"0x2\", hugepages: 4}\n"
        "  - {name: hv3, tunnel_ip: 10.200.0.13/24}\n"
        "  - {name: hv4, tunnel_ip: 10.200.0.14/24, dpdk: yes}\n"
        "switches:\n"                                                    /* 10 */
        "  - {name: web, cidr: 10.1.0.0/24}\n"
        "ports:\n"
        "  - {name: vm1, host: hv3, switch: web, kind: vhost-user, "
        "socket: /tmp/vm1.sock}\n"
        "  - {name: vm2, host: hv1, switch: web, kind: vhost-user}\n"
        "  - {name: vm3, host: hv1, switch: web, kind: vhost-user, "
        "socket: vm3.sock}\n"                                            /* 15 */
        "  - {name: vm4, host: hv1, switch: web, kind: vhost-user, "
        "socket: /tmp/a/x.sock}\n"
        "  - {name: vm5, host: hv1, switch: web, kind: vhost-user, "
        "socket: /tmp/a/x.sock}\n"
        "  - {name: vm6, host: hv1, switch: web, kind: vhost-user, "
        "socket: /tmp/a/vm.sock, vhost_server: ovs}\n"
        "  - {name: vm7, host: hv1, switch: web, kind: tap, "
        "vhost_server: qemu}\n"
        "  - {name: web1, host: hv1, switch: web, socket: /tmp/w.sock, "
        "vhost_server: vm}\n"                                            /* 20 */
        "  - {name: vm8, host: hv1, switch: web, kind: vhost-user, "
        "socket: /tmp/}\n"
        "  - {name: vm9, host: hv1, switch: web, kind: vhost-user, "
        "socket: %s}\n", long_sock);

    struct topo_errors errs;
    topo_errors_init(&errs);
    assert_null(topo_test_load(yaml, &errs));
    free(yaml);

    topo_test_expect_error(&errs, 4, 24, "hosts.hv1.dpdk.socket_mem",
                           "socket_mem '0' out of range");
    topo_test_expect_error(&errs, 4, 41, "hosts.hv1.dpdk.pmd_cpu_mask",
                           "'0xg' is not a hexadecimal CPU mask");
    topo_test_expect_error(&errs, 4, 60, "hosts.hv1.dpdk.lcore_mask",
                           "'0x0' names no CPU");
    topo_test_expect_error(&errs, 4, 84, "hosts.hv1.dpdk.pmd_maxsleep_us",
                           "'10001' out of range; use an integer 0..10000");
    topo_test_expect_error(&errs, 4, 103, "hosts.hv1.dpdk.interfaces",
                           "'vfio' is not af_packet or system");
    topo_test_expect_error(&errs, 7, 11, "hosts.hv2.dpdk",
                           "missing required key 'socket_mem' in dpdk; add "
                           "e.g. 'socket_mem: 512'");
    topo_test_expect_error(&errs, 7, 33, "hosts.hv2.dpdk.hugepages",
                           "unknown key 'hugepages' in dpdk");
    topo_test_expect_error(&errs, 9, 50, "hosts.hv4.dpdk",
                           "'dpdk' must be a mapping of keys, not a scalar");
    topo_test_expect_error(&errs, 13, 47, "ports.vm1.kind",
                           "needs OVS-DPDK on its host: add a dpdk: mapping "
                           "to host hv3 (line 8)");
    topo_test_expect_error(&errs, 14, 47, "ports.vm2.socket",
                           "missing key 'socket' for a vhost-user port; add "
                           "e.g. 'socket: /var/run/anet/vm2.sock'");
    topo_test_expect_error(&errs, 15, 67, "ports.vm3.socket",
                           "'vm3.sock' is not an absolute path");
    topo_test_expect_error(&errs, 17, 67, "ports.vm5.socket",
                           "duplicate socket '/tmp/a/x.sock' on host hv1: "
                           "port vm4 (line 16) already uses it");
    topo_test_expect_error(&errs, 18, 67, "ports.vm6.socket",
                           "the file name must be 'vm6' (not 'vm.sock')");
    topo_test_expect_error(&errs, 19, 47, "ports.vm7.kind",
                           "kind 'tap' is not interface or vhost-user");
    topo_test_expect_error(&errs, 19, 66, "ports.vm7.vhost_server",
                           "vhost_server 'qemu' is not vm or ovs");
    topo_test_expect_error(&errs, 20, 50, "ports.web1.socket",
                           "'socket' applies only to ports of kind "
                           "vhost-user");
    topo_test_expect_error(&errs, 20, 77, "ports.web1.vhost_server",
                           "'vhost_server' applies only to ports of kind "
                           "vhost-user");
    topo_test_expect_error(&errs, 21, 67, "ports.vm8.socket",
                           "'/tmp/' names a directory");
    topo_test_expect_error(&errs, 22, 67, "ports.vm9.socket",
                           "socket path is 108 characters long, longer than "
                           "a unix socket path may be (107)");
    /* Nothing else: exactly these problems. */
    if (errs.n != 19) {
        topo_test_print_errors(&errs);
    }
    assert_int_equal(errs.n, 19);
    topo_errors_destroy(&errs);
}

/* A host whose dpdk: has errors still counts as a DPDK host for its
 * vhost-user ports (one mistake, one message), and a topology without
 * any dpdk: key loads exactly as before. */
static void
test_no_cascade(void **state)
{
    (void) state;
    struct topo_errors errs;
    topo_errors_init(&errs);
    assert_null(topo_test_load(
        "hosts:\n"
        "  - {name: hv1, tunnel_ip: 10.200.0.11/24,\n"
        "     dpdk: {socket_mem: 512, pmd_cpu_mask: \"zz\"}}\n"
        "switches: [{name: web}]\n"
        "ports:\n"
        "  - {name: vm1, host: hv1, switch: web, kind: vhost-user,\n"
        "     socket: /tmp/vm1.sock}\n", &errs));
    assert_int_equal(errs.n, 1);
    topo_test_expect_error(&errs, 3, 44, "hosts.hv1.dpdk.pmd_cpu_mask",
                           "'zz' is not a hexadecimal CPU mask");
    topo_errors_destroy(&errs);

    struct topo *t = topo_test_load_ok(
        "hosts: [{name: hv1, tunnel_ip: 10.200.0.11/24}]\n"
        "switches: [{name: web}]\n"
        "ports: [{name: web1, host: hv1, switch: web}]\n");
    assert_false(t->hosts[0].dpdk.enabled);
    assert_int_equal(t->ports[0].kind, TOPO_PORT_INTERFACE);
    assert_null(t->ports[0].socket);
    topo_destroy(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_no_cascade),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
