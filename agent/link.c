/* link.c — network interfaces through rtnetlink (libnl-3 route).
 *
 * The watcher subscribes a non-blocking netlink socket to RTNLGRP_LINK
 * before dumping the existing links, so no change can fall between the dump
 * and the first notification.  It keeps its own small table ifindex -> name
 * (the "cache") and reports differences against it: a new index or a new
 * name for a known index (a rename) is an appearance, RTM_DELLINK or the old
 * name of a rename is a disappearance.  A link counts as existing while the
 * kernel has it, whatever its operational state.  If the socket's receive
 * buffer overflows (ENOBUFS) notifications were lost, so the watcher dumps
 * the links again and reports the difference.
 *
 * The one-shot helpers open a netlink socket per call; they run rarely (when
 * ports are plumbed), so simplicity wins over reuse.
 */
#include "agent/link.h"

#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <linux/rtnetlink.h>
#include <event2/event.h>
#include <netlink/netlink.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/cache.h>
#include <netlink/route/link.h>
#include <netlink/route/addr.h>

#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(link);

struct link_entry {
    int ifindex;
    char name[IFNAMSIZ];
};

struct link_watch {
    struct nl_sock *sock;
    struct event *ev;
    link_watch_cb *cb;
    void *aux;
    struct link_entry *links;
    size_t n, cap;
    bool resync;                /* notifications were lost */
};

/* Maps a libnl error code (negative NLE_*) to a negative errno. */
static int
link_errno__(int nlerr)
{
    switch (nlerr < 0 ? -nlerr : nlerr) {
    case 0: return 0;
    case NLE_INTR: return -EINTR;
    case NLE_BAD_SOCK: return -EBADF;
    case NLE_AGAIN: return -EAGAIN;
    case NLE_NOMEM: return -ENOMEM;
    case NLE_EXIST: return -EEXIST;
    case NLE_INVAL: return -EINVAL;
    case NLE_RANGE: return -ERANGE;
    case NLE_OPNOTSUPP: return -EOPNOTSUPP;
    case NLE_AF_NOSUPPORT: return -EAFNOSUPPORT;
    case NLE_OBJ_NOTFOUND: return -ENOENT;
    case NLE_NOATTR: return -ENOENT;
    case NLE_BUSY: return -EBUSY;
    case NLE_PERM: return -EPERM;
    case NLE_NOACCESS: return -EACCES;
    case NLE_NODEV: return -ENODEV;
    case NLE_NOADDR: return -EADDRNOTAVAIL;
    case NLE_MSGSIZE: return -EMSGSIZE;
    case NLE_PARSE_ERR: return -EPROTO;
    default: return -EIO;
    }
}

static struct nl_sock *
link_connect__(int *retval)
{
    struct nl_sock *sock = nl_socket_alloc();
    if (!sock) {
        *retval = -ENOMEM;
        return NULL;
    }
    int err = nl_connect(sock, NETLINK_ROUTE);
    if (err < 0) {
        nl_socket_free(sock);
        *retval = link_errno__(err);
        return NULL;
    }
    *retval = 0;
    return sock;
}

/* ---- The table ---------------------------------------------------------- */

static struct link_entry *
link_find_index__(struct link_watch *w, int ifindex)
{
    for (size_t i = 0; i < w->n; i++) {
        if (w->links[i].ifindex == ifindex) {
            return &w->links[i];
        }
    }
    return NULL;
}

static void
link_remove__(struct link_watch *w, struct link_entry *e)
{
    char name[IFNAMSIZ];
    memcpy(name, e->name, sizeof name);
    *e = w->links[--w->n];
    w->cb(w->aux, name, false);
}

/* Records that link 'ifindex' is called 'name' and reports the change. */
static void
link_set__(struct link_watch *w, int ifindex, const char *name)
{
    struct link_entry *e = link_find_index__(w, ifindex);
    if (e && !strcmp(e->name, name)) {
        return;
    }
    if (e) {
        link_remove__(w, e);        /* renamed: the old name went away */
    }
    w->links = xgrow(w->links, &w->cap, w->n + 1, sizeof *w->links);
    e = &w->links[w->n++];
    e->ifindex = ifindex;
    snprintf(e->name, sizeof e->name, "%s", name);
    w->cb(w->aux, e->name, true);
}

struct link_dump {
    struct link_entry *links;
    size_t n, cap;
};

static void
link_dump_one__(struct nl_object *obj, void *aux)
{
    struct link_dump *d = aux;
    struct rtnl_link *link = (struct rtnl_link *) obj;
    const char *name = rtnl_link_get_name(link);
    if (name) {
        d->links = xgrow(d->links, &d->cap, d->n + 1, sizeof *d->links);
        d->links[d->n].ifindex = rtnl_link_get_ifindex(link);
        snprintf(d->links[d->n].name, IFNAMSIZ, "%s", name);
        d->n++;
    }
}

/* Dumps the kernel's links and reports the differences with the table. */
static int
link_resync__(struct link_watch *w)
{
    int retval;
    struct nl_sock *sock = link_connect__(&retval);
    if (!sock) {
        return retval;
    }
    struct nl_cache *cache;
    int err = rtnl_link_alloc_cache(sock, AF_UNSPEC, &cache);
    nl_socket_free(sock);
    if (err < 0) {
        return link_errno__(err);
    }
    struct link_dump d = { NULL, 0, 0 };
    nl_cache_foreach(cache, link_dump_one__, &d);
    nl_cache_free(cache);

    for (size_t i = 0; i < w->n; ) {
        bool present = false;
        for (size_t j = 0; j < d.n; j++) {
            present |= d.links[j].ifindex == w->links[i].ifindex
                       && !strcmp(d.links[j].name, w->links[i].name);
        }
        if (present) {
            i++;
        } else {
            link_remove__(w, &w->links[i]);
        }
    }
    for (size_t j = 0; j < d.n; j++) {
        link_set__(w, d.links[j].ifindex, d.links[j].name);
    }
    free(d.links);
    w->resync = false;
    return 0;
}

/* ---- Notifications ------------------------------------------------------ */

static int
link_msg_cb__(struct nl_msg *msg, void *aux)
{
    struct link_watch *w = aux;
    struct nlmsghdr *nlh = nlmsg_hdr(msg);
    if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) {
        return NL_OK;
    }
    struct nlattr *tb[IFLA_MAX + 1];
    if (nlmsg_parse(nlh, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) < 0) {
        LOG_WARN_RL("unparsable link notification");
        return NL_SKIP;
    }
    struct ifinfomsg *ifi = nlmsg_data(nlh);
    if (nlh->nlmsg_type == RTM_DELLINK) {
        struct link_entry *e = link_find_index__(w, ifi->ifi_index);
        if (e) {
            link_remove__(w, e);
        }
    } else if (tb[IFLA_IFNAME]) {
        link_set__(w, ifi->ifi_index, nla_get_string(tb[IFLA_IFNAME]));
    }
    return NL_OK;
}

static void
link_event_cb__(evutil_socket_t fd, short what, void *aux)
{
    struct link_watch *w = aux;
    int err = nl_recvmsgs_default(w->sock);
    if (err == -NLE_NOMEM || err == -NLE_DUMP_INTR) {
        /* The kernel dropped notifications (ENOBUFS maps to NLE_NOMEM). */
        w->resync = true;
    } else if (err < 0 && err != -NLE_AGAIN) {
        LOG_WARN_RL("netlink receive: %s", nl_geterror(err));
    }
    if (w->resync) {
        LOG_INFO("link notifications lost, re-reading all links");
        int retval = link_resync__(w);
        if (retval) {
            LOG_WARN_RL("re-reading links: %s", strerror(-retval));
        }
    }
}

struct link_watch *
link_watch_create(struct event_base *base, link_watch_cb *cb, void *aux)
{
    int retval;
    struct link_watch *w = xzalloc(sizeof *w);
    w->cb = cb;
    w->aux = aux;
    w->sock = nl_socket_alloc();
    if (!w->sock) {
        retval = -ENOMEM;
        goto error;
    }
    nl_socket_disable_seq_check(w->sock);
    nl_socket_modify_cb(w->sock, NL_CB_VALID, NL_CB_CUSTOM, link_msg_cb__, w);
    int err = nl_connect(w->sock, NETLINK_ROUTE);
    if (!err) {
        err = nl_socket_add_membership(w->sock, RTNLGRP_LINK);
    }
    if (!err) {
        err = nl_socket_set_nonblocking(w->sock);
    }
    if (err < 0) {
        retval = link_errno__(err);
        goto error;
    }
    /* Subscribed first, then dumped: nothing falls in between. */
    retval = link_resync__(w);
    if (retval) {
        goto error;
    }
    w->ev = event_new(base, nl_socket_get_fd(w->sock), EV_READ | EV_PERSIST,
                      link_event_cb__, w);
    if (!w->ev || event_add(w->ev, NULL)) {
        retval = -ENOMEM;
        goto error;
    }
    return w;

error:
    link_watch_destroy(w);
    errno = -retval;
    return NULL;
}

void
link_watch_destroy(struct link_watch *w)
{
    if (w) {
        if (w->ev) {
            event_free(w->ev);
        }
        nl_socket_free(w->sock);
        free(w->links);
        free(w);
    }
}

bool
link_watch_exists(const struct link_watch *w, const char *ifname)
{
    for (size_t i = 0; w && i < w->n; i++) {
        if (!strcmp(w->links[i].name, ifname)) {
            return true;
        }
    }
    return false;
}

/* ---- One-shot helpers --------------------------------------------------- */

bool
link_exists(const char *ifname)
{
    return ifname && if_nametoindex(ifname) != 0;
}

int
link_set_up(const char *ifname)
{
    int retval;
    struct nl_sock *sock = link_connect__(&retval);
    if (!sock) {
        return retval;
    }
    struct rtnl_link *link = NULL;
    int err = rtnl_link_get_kernel(sock, 0, ifname, &link);
    if (!err && !(rtnl_link_get_flags(link) & IFF_UP)) {
        struct rtnl_link *change = rtnl_link_alloc();
        rtnl_link_set_flags(change, IFF_UP);
        err = rtnl_link_change(sock, link, change, 0);
        rtnl_link_put(change);
    }
    if (link) {
        rtnl_link_put(link);
    }
    nl_socket_free(sock);
    return link_errno__(err);
}

int
link_add_ipv4(const char *ifname, const char *cidr)
{
    unsigned int ifindex = ifname ? if_nametoindex(ifname) : 0;
    if (!ifindex) {
        return -ENODEV;
    }
    struct nl_addr *local;
    if (!cidr || !strchr(cidr, '/')
        || nl_addr_parse(cidr, AF_INET, &local) < 0) {
        return -EINVAL;
    }
    int retval;
    struct nl_sock *sock = link_connect__(&retval);
    if (!sock) {
        nl_addr_put(local);
        return retval;
    }
    struct rtnl_addr *addr = rtnl_addr_alloc();
    rtnl_addr_set_ifindex(addr, (int) ifindex);
    rtnl_addr_set_family(addr, AF_INET);
    int err = rtnl_addr_set_local(addr, local);
    if (!err) {
        /* Without NLM_F_REPLACE the kernel answers EEXIST for an address
         * that is already there: that is success for us. */
        err = rtnl_addr_add(sock, addr, 0);
        if (err == -NLE_EXIST) {
            err = 0;
        }
    }
    rtnl_addr_put(addr);
    nl_addr_put(local);
    nl_socket_free(sock);
    return link_errno__(err);
}

static int
link_ethtool__(int fd, const char *ifname, struct ethtool_value *ev)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    ifr.ifr_data = (void *) ev;
    return ioctl(fd, SIOCETHTOOL, &ifr) < 0 ? -errno : 0;
}

int
link_disable_tx_offload(const char *ifname)
{
    if (!ifname || strlen(ifname) >= IFNAMSIZ) {
        return -EINVAL;
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    struct ethtool_value ev = { .cmd = ETHTOOL_GTXCSUM };
    int retval = link_ethtool__(fd, ifname, &ev);
    if (!retval && ev.data) {
        ev = (struct ethtool_value) { .cmd = ETHTOOL_STXCSUM, .data = 0 };
        retval = link_ethtool__(fd, ifname, &ev);
    }
    close(fd);
    return retval;
}
