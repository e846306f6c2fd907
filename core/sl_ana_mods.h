/* sl_ana_mods: plugs the Zeek policy modules into the analyzer (sl_ana):
 * DNS (sl_dns: dns.log, its weirds, the "dns" service, DNS role flips),
 * known hosts/services (sl_known), scan detection (sl_scan), notices
 * (sl_notice: notice.log with exact suppression) and stats/capture loss
 * (sl_stats).
 *
 * Standalone: sl_ana_mods_attach() runs everything in the process: the
 * authoritative known sets, the scan aggregator and the notice table are
 * local and their records go out through sl_ana_write(). It is the
 * sl_ana_module entry {"zeek", sl_ana_mods_attach, sl_ana_mods_detach}.
 *
 * Cluster worker: sl_ana_mods_attach_cfg() with the found/obs/notice sinks
 * set sends what the proxies and the manager decide to them instead; the
 * worker keeps its local known caches (sl_ana_mods_known() to feed back what
 * the ring distributes, or to clear on a proxy change).
 *
 * Hooks used: conn_new/removed (DNS state, stats counters, known services
 * at removal), conn_established (known hosts), conn_flipped, udp_payload,
 * tcp_data, tcp_closed (DNS), conn_event (scan.zeek's connection_attempt,
 * _rejected, _reset, _pending handlers), tick/finish (timers, stats).
 * known_services also runs when DNS confirms; Zeek runs it at every
 * analyzer's confirmation, sl_ana only tells of DNS's (others are checked
 * at removal, which only changes the record's ts).
 */
#ifndef SL_ANA_MODS_H
#define SL_ANA_MODS_H

#include <stdbool.h>
#include <stdint.h>

#include "sl_ana.h"
#include "sl_known.h"
#include "sl_notice.h"
#include "sl_scan.h"

struct sl_ana_mods_cfg {
    bool dns, known, scan, stats; /* modules to run (default: all) */
    const char *notice_peer;      /* notice.log peer_descr (a cluster node); NULL = unset */
    void *ctx;
    /* Cluster sinks; NULL = decided here (standalone). */
    void (*host_found)(void *ctx, const struct sl_known_host *h);
    void (*service_found)(void *ctx, const struct sl_known_service *s);
    void (*scan_obs)(void *ctx, const struct sl_scan_obs *o);
    void (*notice)(void *ctx, const struct sl_notice *n);
    /* Live capture counters for stats.log (received, dropped, link);
     * false or NULL = reading a file. */
    bool (*live_stats)(void *ctx, uint64_t *recvd, uint64_t *dropped, uint64_t *link);
};

void sl_ana_mods_cfg_default(struct sl_ana_mods_cfg *cfg);

/* Registers the modules with a (before its first packet). *state gets the
 * modules' state for sl_ana_mods_detach(). Returns 0 or -errno. */
int sl_ana_mods_attach_cfg(struct sl_ana *a, const struct sl_ana_mods_cfg *cfg, void **state);

/* sl_ana_module attach/detach with the standalone defaults. */
int sl_ana_mods_attach(struct sl_ana *a, void **state);
void sl_ana_mods_detach(void *state);

/* The worker's known caches (learn/clear), NULL when not running. */
struct sl_known *sl_ana_mods_known(void *state);

#endif
