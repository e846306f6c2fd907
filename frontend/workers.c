/* workers: see workers.h. */
#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>

int fe_workers_init(struct fe_app *app, char *err, size_t errlen)
{
    const struct fe_conf *c = app->conf;
    app->n_workers = c->n_workers;
    memcpy(app->mac, c->mac, sizeof(app->mac));
    rte_spinlock_init(&app->rdv_lock);
    if (sl_rdv_init(&app->rdv_master, c->n_workers) < 0) {
        snprintf(err, errlen, "cannot set up %u workers", c->n_workers);
        return -EINVAL;
    }
    for (unsigned i = 0; i < c->n_workers; i++) {
        if (sl_rdv_set_weight(&app->rdv_master, i, c->weight[i]) < 0) {
            snprintf(err, errlen, "worker %u: bad weight %g", i + 1, c->weight[i]);
            return -EINVAL;
        }
        if (c->down[i])
            sl_rdv_set_live(&app->rdv_master, i, false);
    }
    app->rdv_table_size = sl_rdv_table_size(&app->rdv_master);
    app->rdv_table_master = rte_zmalloc("fe_rdv_table", app->rdv_table_size, RTE_CACHE_LINE_SIZE);
    app->rdv_table_next = rte_zmalloc("fe_rdv_table", app->rdv_table_size, RTE_CACHE_LINE_SIZE);
    if (app->rdv_table_master == NULL || app->rdv_table_next == NULL) {
        snprintf(err, errlen, "out of memory for the worker table (give EAL more memory: -m MB)");
        return -ENOMEM;
    }
    pthread_mutex_init(&app->rdv_change_lock, NULL);
    sl_rdv_table_build(app->rdv_table_master, &app->rdv_master);
    app->rdv_gen = 1;
    return 0;
}

int fe_workers_set_live(struct fe_app *app, unsigned idx, bool live)
{
    if (idx >= app->n_workers)
        return -EINVAL;
    /* The table is built outside rdv_lock: it takes 0.5 ms for 8 workers
     * but up to 2 s for 256 weighted ones, and readers (lcores picking up a
     * change, stats) must not wait for that; changers wait for each other. */
    pthread_mutex_lock(&app->rdv_change_lock);
    struct sl_rdv next;
    rte_spinlock_lock(&app->rdv_lock);
    next = app->rdv_master;
    rte_spinlock_unlock(&app->rdv_lock);
    int rc = 0;
    if (next.live[idx] != live && (rc = sl_rdv_set_live(&next, idx, live)) == 0) {
        sl_rdv_table_build(app->rdv_table_next, &next);
        rte_spinlock_lock(&app->rdv_lock);
        app->rdv_master = next;
        memcpy(app->rdv_table_master, app->rdv_table_next, app->rdv_table_size);
        __atomic_store_n(&app->rdv_gen, app->rdv_gen + 1, __ATOMIC_RELEASE);
        rte_spinlock_unlock(&app->rdv_lock);
    }
    pthread_mutex_unlock(&app->rdv_change_lock);
    return rc;
}

void fe_workers_free(struct fe_app *app)
{
    rte_free(app->rdv_table_master);
    rte_free(app->rdv_table_next);
    app->rdv_table_master = app->rdv_table_next = NULL;
}

bool fe_workers_live(struct fe_app *app, unsigned idx)
{
    bool live;
    if (idx >= app->n_workers)
        return false;
    rte_spinlock_lock(&app->rdv_lock);
    live = app->rdv_master.live[idx];
    rte_spinlock_unlock(&app->rdv_lock);
    return live;
}

char *fe_mac_str(const uint8_t mac[6], char *buf)
{
    snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
    return buf;
}
