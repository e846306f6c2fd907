/* lab_net: namespaces, veths, bridges, FDB, tbf over libnl. See lab_net.h. */
#include "lab_net.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_bridge.h>
#include <linux/neighbour.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <netlink/errno.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>

struct lab_nl {
    struct nl_sock *sk;
};

/* libnl's error codes are its own; the lab speaks -errno. */
static int nlerr(int e)
{
    switch (e < 0 ? -e : e) {
    case 0:
        return 0;
    case NLE_EXIST:
        return -EEXIST;
    case NLE_OBJ_NOTFOUND:
        return -ENOENT;
    case NLE_NODEV:
        return -ENODEV;
    case NLE_PERM:
        return -EPERM;
    case NLE_NOACCESS:
        return -EACCES;
    case NLE_NOMEM:
        return -ENOMEM;
    case NLE_INVAL:
    case NLE_MISSING_ATTR:
        return -EINVAL;
    case NLE_BUSY:
        return -EBUSY;
    case NLE_RANGE:
        return -ERANGE;
    case NLE_OPNOTSUPP:
        return -EOPNOTSUPP;
    case NLE_AF_NOSUPPORT:
        return -EAFNOSUPPORT;
    default:
        return -EIO;
    }
}

const char *lab_net_strerror(int err)
{
    return strerror(err < 0 ? -err : err);
}

static int ns_path(const char *name, char *buf, size_t len)
{
    if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return -EINVAL;
    int n = snprintf(buf, len, "%s/%s", LAB_NETNS_DIR, name);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool lab_ns_exists(const char *name)
{
    char path[PATH_MAX];
    return ns_path(name, path, sizeof(path)) == 0 && access(path, F_OK) == 0;
}

/* /run/netns must be a shared mount point so that bind mounts under it
 * propagate to every mount namespace (what iproute2 does too). */
static int netns_dir_prepare(void)
{
    bool bound = false;
    if (mkdir(LAB_NETNS_DIR, 0755) < 0 && errno != EEXIST)
        return -errno;
    while (mount("", LAB_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
        if (errno != EINVAL || bound)
            return -errno;
        if (mount(LAB_NETNS_DIR, LAB_NETNS_DIR, "none", MS_BIND | MS_REC, NULL) < 0)
            return -errno;
        bound = true;
    }
    return 0;
}

static void write_sysctl(const char *path, const char *val)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return; /* a kernel without IPv6 has nothing to switch off */
    if (write(fd, val, strlen(val)) < 0) {
        /* best effort: the lab works with IPv6 on, only noisier */
    }
    close(fd);
}

/* Loopback up with the tag as ifalias, in the calling process's namespace. */
static int tag_loopback(const char *tag)
{
    struct nl_sock *sk = nl_socket_alloc();
    struct rtnl_link *lo = NULL, *chg = NULL;
    int rc = -ENOMEM;
    if (!sk)
        return -ENOMEM;
    if ((rc = nlerr(nl_connect(sk, NETLINK_ROUTE))) < 0)
        goto out;
    if ((rc = nlerr(rtnl_link_get_kernel(sk, 0, "lo", &lo))) < 0)
        goto out;
    rc = -ENOMEM;
    if (!(chg = rtnl_link_alloc()))
        goto out;
    rtnl_link_set_flags(chg, IFF_UP);
    rtnl_link_set_ifalias(chg, tag);
    rc = nlerr(rtnl_link_change(sk, lo, chg, 0));
out:
    if (chg)
        rtnl_link_put(chg);
    if (lo)
        rtnl_link_put(lo);
    nl_socket_free(sk);
    return rc;
}

/* Runs in a forked child: new namespace, tagged, then published. Returns
 * the errno to exit with. */
static int ns_create_child(const char *path, const char *tag, pid_t parent)
{
    /* Die with the parent: a sluicectl killed with -9 must not leave a
     * helper that goes on creating (and holds the run directory's lock). */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        return ECHILD;
    if (unshare(CLONE_NEWNET) < 0)
        return errno;
    write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
    write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
    int rc = tag_loopback(tag);
    if (rc < 0)
        return -rc;
    int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    close(fd);
    if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0) {
        int e = errno;
        unlink(path);
        return e;
    }
    return 0;
}

int lab_ns_create(const char *name, const char *tag)
{
    char path[PATH_MAX];
    int rc = ns_path(name, path, sizeof(path));
    if (rc < 0)
        return rc;
    if ((rc = netns_dir_prepare()) < 0)
        return rc;
    pid_t parent = getpid(), pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0)
        _exit(ns_create_child(path, tag, parent) & 0xff);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    if (!WIFEXITED(status))
        return -ECHILD;
    return -WEXITSTATUS(status);
}

/* Runs fn(arg) with the calling thread inside namespace `name`, then
 * returns to the namespace it was in. */
static int in_ns(const char *name, int (*fn)(void *), void *arg)
{
    char path[PATH_MAX];
    int rc = ns_path(name, path, sizeof(path));
    if (rc < 0)
        return rc;
    int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home < 0)
        return -errno;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    if (setns(fd, CLONE_NEWNET) < 0) {
        rc = errno == EINVAL ? -ENOTCONN : -errno; /* EINVAL: a file, not a namespace */
        close(fd);
        goto out;
    }
    close(fd);
    rc = fn(arg);
    if (setns(home, CLONE_NEWNET) < 0) {
        /* Staying in the lab's namespace would make every later step lie. */
        perror("sluicectl: cannot return to the original network namespace");
        abort();
    }
out:
    close(home);
    return rc;
}

struct alias_arg {
    char alias[256];
};

static int read_lo_alias(void *p)
{
    struct alias_arg *a = p;
    struct nl_sock *sk = nl_socket_alloc();
    struct rtnl_link *lo = NULL;
    int rc;
    if (!sk)
        return -ENOMEM;
    rc = nlerr(nl_connect(sk, NETLINK_ROUTE));
    if (rc == 0)
        rc = nlerr(rtnl_link_get_kernel(sk, 0, "lo", &lo));
    if (rc == 0) {
        const char *s = rtnl_link_get_ifalias(lo);
        snprintf(a->alias, sizeof(a->alias), "%s", s ? s : "");
        rtnl_link_put(lo);
    }
    nl_socket_free(sk);
    return rc;
}

int lab_ns_owned(const char *name, const char *tag)
{
    char path[PATH_MAX];
    int rc = ns_path(name, path, sizeof(path));
    if (rc < 0)
        return rc;
    if (access(path, F_OK) < 0)
        return errno == ENOENT ? 0 : -errno;
    struct alias_arg a = {{0}};
    rc = in_ns(name, read_lo_alias, &a);
    if (rc == -ENOTCONN)
        return -ENOTCONN; /* a bare file: a creation cut short */
    if (rc < 0)
        return rc;
    return strcmp(a.alias, tag) == 0 ? 1 : -EPERM;
}

int lab_ns_kill_procs(const char *name, unsigned wait_ms)
{
    char path[PATH_MAX];
    struct stat ns_st;
    int rc = ns_path(name, path, sizeof(path));
    if (rc < 0)
        return rc;
    if (stat(path, &ns_st) < 0)
        return errno == ENOENT ? 0 : -errno;
    int signalled = 0;
    for (unsigned waited = 0;; waited += 20) {
        int found = 0;
        DIR *d = opendir("/proc");
        if (!d)
            return -errno;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            char *end;
            long pid = strtol(de->d_name, &end, 10);
            if (*end || pid <= 0 || pid == getpid())
                continue;
            char p[64];
            struct stat st;
            snprintf(p, sizeof(p), "/proc/%ld/ns/net", pid);
            if (stat(p, &st) < 0 || st.st_ino != ns_st.st_ino || st.st_dev != ns_st.st_dev)
                continue;
            found++;
            if (kill((pid_t)pid, SIGKILL) == 0 && waited == 0)
                signalled++;
        }
        closedir(d);
        if (!found || waited >= wait_ms)
            return found ? -ETIMEDOUT : signalled;
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
}

int lab_ns_delete(const char *name, const char *tag)
{
    char path[PATH_MAX];
    int rc = ns_path(name, path, sizeof(path));
    if (rc < 0)
        return rc;
    rc = lab_ns_owned(name, tag);
    if (rc == 0)
        return 0;
    if (rc == -ENOTCONN) {
        /* The name file of a creation that died before its bind mount. */
        return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
    }
    if (rc < 0)
        return rc;
    rc = lab_ns_kill_procs(name, 3000);
    if (rc < 0 && rc != -ETIMEDOUT)
        return rc;
    if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL)
        return -errno;
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

int lab_ns_enter(const char *name)
{
    char path[PATH_MAX];
    int rc = ns_path(name, path, sizeof(path));
    if (rc < 0)
        return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    rc = setns(fd, CLONE_NEWNET) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

static int nl_connect_cb(void *p)
{
    struct lab_nl *nl = p;
    return nlerr(nl_connect(nl->sk, NETLINK_ROUTE));
}

struct lab_nl *lab_nl_open(const char *ns)
{
    struct lab_nl *nl = calloc(1, sizeof(*nl));
    if (!nl || !(nl->sk = nl_socket_alloc())) {
        free(nl);
        errno = ENOMEM;
        return NULL;
    }
    /* The socket stays bound to the namespace it was opened in. */
    int rc = ns ? in_ns(ns, nl_connect_cb, nl) : nl_connect_cb(nl);
    if (rc < 0) {
        nl_socket_free(nl->sk);
        free(nl);
        errno = -rc;
        return NULL;
    }
    return nl;
}

void lab_nl_close(struct lab_nl *nl)
{
    if (!nl)
        return;
    nl_socket_free(nl->sk);
    free(nl);
}

static int get_link(struct lab_nl *nl, const char *name, struct rtnl_link **out)
{
    return nlerr(rtnl_link_get_kernel(nl->sk, 0, name, out));
}

int lab_link_index(struct lab_nl *nl, const char *name)
{
    struct rtnl_link *l;
    int rc = get_link(nl, name, &l);
    if (rc < 0)
        return rc == -ENOENT ? -ENODEV : rc;
    rc = rtnl_link_get_ifindex(l);
    rtnl_link_put(l);
    return rc;
}

bool lab_link_exists(struct lab_nl *nl, const char *name)
{
    return lab_link_index(nl, name) > 0;
}

static int set_mac(struct rtnl_link *l, const char *mac)
{
    struct nl_addr *a;
    if (!mac)
        return 0;
    int rc = nlerr(nl_addr_parse(mac, AF_LLC, &a));
    if (rc < 0)
        return rc;
    rtnl_link_set_addr(l, a);
    nl_addr_put(a);
    return 0;
}

int lab_veth_add(struct lab_nl *nl, const char *name, const char *mac, const char *peer_ns,
                 const char *peer, const char *peer_mac, unsigned mtu)
{
    char path[PATH_MAX];
    int rc = ns_path(peer_ns, path, sizeof(path));
    if (rc < 0)
        return rc;
    if (strlen(name) >= IFNAMSIZ || strlen(peer) >= IFNAMSIZ)
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct rtnl_link *l = rtnl_link_veth_alloc();
    if (!l) {
        close(fd);
        return -ENOMEM;
    }
    struct rtnl_link *p = rtnl_link_veth_get_peer(l);
    rtnl_link_set_name(l, name);
    rtnl_link_set_name(p, peer);
    if (mtu) {
        rtnl_link_set_mtu(l, mtu);
        rtnl_link_set_mtu(p, mtu);
    }
    rtnl_link_set_ns_fd(p, fd);
    rc = set_mac(l, mac);
    if (rc == 0)
        rc = set_mac(p, peer_mac);
    if (rc == 0)
        rc = nlerr(rtnl_link_add(nl->sk, l, NLM_F_CREATE | NLM_F_EXCL));
    rtnl_link_put(p);
    rtnl_link_veth_release(l);
    close(fd);
    return rc;
}

static int link_change(struct lab_nl *nl, const char *name, struct rtnl_link *chg)
{
    struct rtnl_link *l;
    int rc = get_link(nl, name, &l);
    if (rc < 0)
        return rc;
    rc = nlerr(rtnl_link_change(nl->sk, l, chg, 0));
    rtnl_link_put(l);
    return rc;
}

int lab_link_del(struct lab_nl *nl, const char *name)
{
    struct rtnl_link *l;
    int rc = get_link(nl, name, &l);
    if (rc == -ENOENT || rc == -ENODEV)
        return 0;
    if (rc < 0)
        return rc;
    rc = nlerr(rtnl_link_delete(nl->sk, l));
    rtnl_link_put(l);
    return rc == -ENOENT || rc == -ENODEV ? 0 : rc;
}

int lab_link_up(struct lab_nl *nl, const char *name)
{
    struct rtnl_link *chg = rtnl_link_alloc();
    if (!chg)
        return -ENOMEM;
    rtnl_link_set_flags(chg, IFF_UP);
    int rc = link_change(nl, name, chg);
    rtnl_link_put(chg);
    return rc;
}

int lab_bridge_add(struct lab_nl *nl, const char *name)
{
    if (strlen(name) >= IFNAMSIZ)
        return -ENAMETOOLONG;
    return nlerr(rtnl_link_bridge_add(nl->sk, name));
}

/* IFLA_BRPORT_LEARNING and _UNICAST_FLOOD of a bridge port, by a raw
 * RTM_SETLINK (libnl's bridge-flag setters want an AF_BRIDGE link object
 * they can only get from a cache). */
static int brport_flags(struct lab_nl *nl, int port_index, bool on)
{
    struct ifinfomsg ifi = {.ifi_family = AF_BRIDGE, .ifi_index = port_index};
    struct nl_msg *m = nlmsg_alloc_simple(RTM_SETLINK, 0);
    if (!m)
        return -ENOMEM;
    int rc = -ENOMEM;
    if (nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0)
        goto out;
    struct nlattr *pi = nla_nest_start(m, IFLA_PROTINFO | NLA_F_NESTED);
    if (!pi || nla_put_u8(m, IFLA_BRPORT_LEARNING, on) < 0 ||
        nla_put_u8(m, IFLA_BRPORT_UNICAST_FLOOD, on) < 0)
        goto out;
    nla_nest_end(m, pi);
    rc = nlerr(nl_send_sync(nl->sk, m));
    m = NULL; /* nl_send_sync frees it */
out:
    nlmsg_free(m);
    return rc;
}

int lab_bridge_port(struct lab_nl *nl, const char *bridge, const char *port, bool learning)
{
    int br = lab_link_index(nl, bridge), pt = lab_link_index(nl, port);
    if (br < 0)
        return br;
    if (pt < 0)
        return pt;
    int rc = nlerr(rtnl_link_enslave_ifindex(nl->sk, br, pt));
    if (rc < 0)
        return rc;
    /* A switch configured by hand forwards by its static table only:
     * no learning (a frame's source MAC is the tap's, not a host behind the
     * port) and no flooding of unknown unicast to every worker. */
    return brport_flags(nl, pt, learning);
}

int lab_fdb_add(struct lab_nl *nl, const char *port, const char *mac)
{
    int idx = lab_link_index(nl, port);
    if (idx < 0)
        return idx;
    struct rtnl_neigh *n = rtnl_neigh_alloc();
    struct nl_addr *a = NULL;
    if (!n)
        return -ENOMEM;
    int rc = nlerr(nl_addr_parse(mac, AF_LLC, &a));
    if (rc == 0) {
        rtnl_neigh_set_ifindex(n, idx);
        rtnl_neigh_set_family(n, AF_BRIDGE);
        rtnl_neigh_set_lladdr(n, a);
        rtnl_neigh_set_state(n, NUD_NOARP); /* "static": forwarded, not local */
        rtnl_neigh_set_flags(n, NTF_MASTER);
        rc = nlerr(rtnl_neigh_add(nl->sk, n, NLM_F_CREATE | NLM_F_EXCL));
    }
    if (a)
        nl_addr_put(a);
    rtnl_neigh_put(n);
    return rc;
}

int lab_addr_add(struct lab_nl *nl, const char *name, const char *cidr)
{
    int idx = lab_link_index(nl, name);
    if (idx < 0)
        return idx;
    struct rtnl_addr *ad = rtnl_addr_alloc();
    struct nl_addr *a = NULL;
    if (!ad)
        return -ENOMEM;
    int rc = nlerr(nl_addr_parse(cidr, AF_INET, &a));
    if (rc == 0) {
        rtnl_addr_set_ifindex(ad, idx);
        rc = nlerr(rtnl_addr_set_local(ad, a));
    }
    if (rc == 0)
        rc = nlerr(rtnl_addr_add(nl->sk, ad, 0));
    if (a)
        nl_addr_put(a);
    rtnl_addr_put(ad);
    return rc;
}

int lab_tbf_add(struct lab_nl *nl, const char *name, uint64_t bits_per_s)
{
    uint64_t bytes = bits_per_s / 8;
    if (bytes == 0 || bytes > INT_MAX)
        return -ERANGE;
    int idx = lab_link_index(nl, name);
    if (idx < 0)
        return idx;
    struct rtnl_qdisc *q = rtnl_qdisc_alloc();
    if (!q)
        return -ENOMEM;
    rtnl_tc_set_ifindex(TC_CAST(q), idx);
    rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
    rtnl_tc_set_handle(TC_CAST(q), TC_HANDLE(1, 0));
    int rc = nlerr(rtnl_tc_set_kind(TC_CAST(q), "tbf"));
    if (rc == 0) {
        /* Bucket: 10 ms of traffic, never less than one 64 KiB frame (veths
         * carry GSO-sized frames); queue: 50 ms at the rate, like a switch
         * port buffer. */
        uint64_t burst = bytes / 100;
        if (burst < 65536 + 4096)
            burst = 65536 + 4096;
        if (burst > INT_MAX)
            burst = INT_MAX;
        uint64_t limit = bytes / 20;
        if (limit < burst)
            limit = burst;
        if (limit > INT_MAX)
            limit = INT_MAX;
        rtnl_qdisc_tbf_set_rate(q, (int)bytes, (int)burst, 0);
        rtnl_qdisc_tbf_set_limit(q, (int)limit);
        rc = nlerr(rtnl_qdisc_add(nl->sk, q, NLM_F_CREATE | NLM_F_EXCL));
    }
    rtnl_qdisc_put(q);
    return rc;
}

int lab_link_stats(struct lab_nl *nl, const char *name, struct lab_link_stats *st)
{
    struct rtnl_link *l;
    struct nl_cache *qc = NULL;
    memset(st, 0, sizeof(*st));
    int rc = get_link(nl, name, &l);
    if (rc < 0)
        return rc;
    st->rx_packets = rtnl_link_get_stat(l, RTNL_LINK_RX_PACKETS);
    st->rx_bytes = rtnl_link_get_stat(l, RTNL_LINK_RX_BYTES);
    st->rx_dropped = rtnl_link_get_stat(l, RTNL_LINK_RX_DROPPED);
    st->tx_packets = rtnl_link_get_stat(l, RTNL_LINK_TX_PACKETS);
    st->tx_bytes = rtnl_link_get_stat(l, RTNL_LINK_TX_BYTES);
    st->tx_dropped = rtnl_link_get_stat(l, RTNL_LINK_TX_DROPPED);
    int idx = rtnl_link_get_ifindex(l);
    rtnl_link_put(l);
    rc = nlerr(rtnl_qdisc_alloc_cache(nl->sk, &qc));
    if (rc < 0)
        return rc;
    struct rtnl_qdisc *q = rtnl_qdisc_get_by_parent(qc, idx, TC_H_ROOT);
    if (q) {
        const char *kind = rtnl_tc_get_kind(TC_CAST(q));
        /* noqueue/pfifo_fast defaults are not the lab's shaping */
        st->has_qdisc = kind && strcmp(kind, "tbf") == 0;
        st->qdisc_sent = rtnl_tc_get_stat(TC_CAST(q), RTNL_TC_PACKETS);
        st->qdisc_drops = rtnl_tc_get_stat(TC_CAST(q), RTNL_TC_DROPS);
        st->qdisc_overlimits = rtnl_tc_get_stat(TC_CAST(q), RTNL_TC_OVERLIMITS);
        rtnl_qdisc_put(q);
    }
    nl_cache_free(qc);
    return 0;
}
