/* workers: the worker table (MACs, weights) and run-time liveness.
 *
 * The master rendezvous table lives in fe_app under a spinlock. Marking a
 * worker down or up (control socket, telemetry, --down) changes the master
 * and bumps a generation counter; each forwarding lcore compares the
 * counter once per burst and copies the master when it moved. Rendezvous
 * hashing then moves only the dead worker's flows, and restores exactly the
 * first mapping when it comes back.
 */
#ifndef FE_WORKERS_H
#define FE_WORKERS_H

#include <stdbool.h>
#include <string.h>

#include "fe.h"

/* Sets up MACs, weights and initial liveness from the configuration.
 * Returns 0, -EINVAL or -ENOMEM with err set. */
int fe_workers_init(struct fe_app *app, char *err, size_t errlen);

void fe_workers_free(struct fe_app *app);

/* Marks worker `idx` (0-based) live or not. 0, or -EINVAL for an unknown
 * worker. Safe from any thread. */
int fe_workers_set_live(struct fe_app *app, unsigned idx, bool live);

/* Liveness of worker idx as the master table says now. */
bool fe_workers_live(struct fe_app *app, unsigned idx);

/* Lcore side: refreshes `copy` and `table` (app->rdv_table_size bytes)
 * when the master changed since *gen (64 KiB for up to 16 workers;
 * liveness changes are rare). */
static inline void fe_workers_sync(struct fe_app *app, struct sl_rdv *copy,
                                   struct sl_rdv_table *table, uint64_t *gen)
{
    uint64_t g = __atomic_load_n(&app->rdv_gen, __ATOMIC_ACQUIRE);
    if (g == *gen)
        return;
    rte_spinlock_lock(&app->rdv_lock);
    *copy = app->rdv_master;
    memcpy(table, app->rdv_table_master, app->rdv_table_size);
    *gen = app->rdv_gen;
    rte_spinlock_unlock(&app->rdv_lock);
}

/* "02:00:00:00:00:01" into buf (18 bytes). */
char *fe_mac_str(const uint8_t mac[6], char *buf);

#endif
