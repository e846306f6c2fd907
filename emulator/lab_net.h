/* lab_net: the live lab's kernel plumbing, over libnl-3 / libnl-route-3.
 *
 * Network namespaces are made as iproute2 makes them (a bind mount of the
 * namespace under /run/netns/NAME, on a shared mount so other mount
 * namespaces see it), with one difference that makes `down` safe: the new
 * namespace's loopback is given the run's tag as its ifalias, and IPv6 is
 * switched off in it, BEFORE its name appears under /run/netns. A namespace
 * whose loopback does not carry our tag is therefore never ours.
 *
 * Links are always made inside a lab namespace (a veth pair is created from
 * a netlink socket in one namespace with its peer placed straight into the
 * other), so nothing the lab makes ever shows in the caller's namespace, and
 * deleting the namespaces deletes every link, bridge, FDB entry and qdisc.
 *
 * struct lab_nl is a route netlink socket opened inside one namespace; the
 * calling thread's namespace is left as it was.
 */
#ifndef LAB_NET_H
#define LAB_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define LAB_NETNS_DIR "/run/netns"

struct lab_nl;

/* Creates namespace `name` tagged with `tag`, loopback up, IPv6 off.
 * -EEXIST when the name is taken (by anyone). */
int lab_ns_create(const char *name, const char *tag);

/* 1 when /run/netns/name exists and carries `tag`, 0 when it does not exist,
 * -EPERM when it exists but is not ours, other -errno on failure. */
int lab_ns_owned(const char *name, const char *tag);

/* True when /run/netns/name exists (anyone's). */
bool lab_ns_exists(const char *name);

/* SIGKILLs every process inside namespace `name`, waits up to `wait_ms` for
 * them to go. Returns how many were signalled, or -errno. */
int lab_ns_kill_procs(const char *name, unsigned wait_ms);

/* Deletes our namespace: kills what runs in it, unmounts and removes its
 * name. 0 when gone or was never there, -EPERM (untouched) when not ours. */
int lab_ns_delete(const char *name, const char *tag);

/* Moves the calling process into namespace `name` (for a child before exec). */
int lab_ns_enter(const char *name);

/* A route netlink socket inside namespace `ns`. Returns NULL with errno set. */
struct lab_nl *lab_nl_open(const char *ns);
void lab_nl_close(struct lab_nl *nl);

/* ifindex of link `name`, or -ENODEV. */
int lab_link_index(struct lab_nl *nl, const char *name);

/* A veth pair: `name` (MAC `mac`, or kernel-chosen when NULL) in nl's
 * namespace, `peer` (MAC `peer_mac` or NULL) created straight inside
 * namespace `peer_ns`. Both get `mtu` (0 = default). */
int lab_veth_add(struct lab_nl *nl, const char *name, const char *mac, const char *peer_ns,
                 const char *peer, const char *peer_mac, unsigned mtu);

/* A Linux bridge `name` that neither learns nor floods unknown unicast on
 * ports added with lab_bridge_port: it forwards by its static FDB only. */
int lab_bridge_add(struct lab_nl *nl, const char *name);
int lab_bridge_port(struct lab_nl *nl, const char *bridge, const char *port, bool learning);
/* Static FDB entry: frames to `mac` leave through bridge port `port`. */
int lab_fdb_add(struct lab_nl *nl, const char *port, const char *mac);

/* Deletes link `name` (a veth takes its peer with it). 0 when it is gone. */
int lab_link_del(struct lab_nl *nl, const char *name);

/* Sets link `name` up. */
int lab_link_up(struct lab_nl *nl, const char *name);

/* Adds address `cidr` ("198.18.0.2/15") to link `name`. */
int lab_addr_add(struct lab_nl *nl, const char *name, const char *cidr);

/* Root tbf qdisc on `name` shaping egress to `bits_per_s` (at most 17179869176,
 * the tbf rate field's limit: -ERANGE above). */
int lab_tbf_add(struct lab_nl *nl, const char *name, uint64_t bits_per_s);

struct lab_link_stats {
    uint64_t rx_packets, rx_bytes, rx_dropped, tx_packets, tx_bytes, tx_dropped;
    uint64_t qdisc_sent, qdisc_drops, qdisc_overlimits; /* root qdisc, 0 when none */
    bool has_qdisc;
};
int lab_link_stats(struct lab_nl *nl, const char *name, struct lab_link_stats *st);

/* Counts links in nl's namespace whose name matches, for tests and status. */
bool lab_link_exists(struct lab_nl *nl, const char *name);

/* Error text for a -errno or negated libnl error from this module. */
const char *lab_net_strerror(int err);

#endif
