/* lab_live: up and down under the journal. See lab_live.h. */
#include "lab_live.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lab_net.h"
#include "lab_proc.h"

/* One netlink socket per namespace, opened on first use. */
struct nl_cache_ns {
    char ns[LAB_NS_NAME_MAX];
    struct lab_nl *nl;
};

struct socks {
    struct nl_cache_ns v[LAB_TOPO_MAX_HOSTS + 4];
    unsigned n;
};

static struct lab_nl *sock_for(struct socks *s, const char *ns)
{
    for (unsigned i = 0; i < s->n; i++)
        if (strcmp(s->v[i].ns, ns) == 0)
            return s->v[i].nl;
    if (s->n == sizeof(s->v) / sizeof(s->v[0])) {
        errno = ENOSPC;
        return NULL;
    }
    struct lab_nl *nl = lab_nl_open(ns);
    if (!nl)
        return NULL;
    snprintf(s->v[s->n].ns, sizeof(s->v[s->n].ns), "%s", ns);
    s->v[s->n++].nl = nl;
    return nl;
}

static void socks_close(struct socks *s)
{
    for (unsigned i = 0; i < s->n; i++)
        lab_nl_close(s->v[i].nl);
    s->n = 0;
}

static void ent_of(struct lab_ent *e, enum lab_ent_kind kind, const char *ns, const char *name)
{
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    snprintf(e->ns, sizeof(e->ns), "%s", ns);
    snprintf(e->name, sizeof(e->name), "%s", name);
}

static int do_act(const struct lab_act *a, struct lab_run *run, struct socks *s)
{
    struct lab_ent e;
    struct lab_nl *nl = NULL;
    int rc;
    if (a->kind == LAB_ACT_NS) {
        ent_of(&e, LAB_ENT_NS, a->ns, run->tag);
        if ((rc = lab_run_record(run, &e)) < 0)
            return rc;
        rc = lab_ns_create(a->ns, run->tag);
        if (rc == -EEXIST)
            lab_run_forget(run, &e); /* someone else's: never ours to remove */
        return rc;
    }
    if (!(nl = sock_for(s, a->ns)))
        return -errno;
    switch (a->kind) {
    case LAB_ACT_VETH:
    case LAB_ACT_BRIDGE:
        ent_of(&e, LAB_ENT_LINK, a->ns, a->name);
        if ((rc = lab_run_record(run, &e)) < 0)
            return rc;
        if (a->kind == LAB_ACT_BRIDGE)
            return lab_bridge_add(nl, a->name);
        return lab_veth_add(nl, a->name, *a->mac ? a->mac : NULL, a->peer_ns, a->peer,
                            *a->peer_mac ? a->peer_mac : NULL, 9000);
    case LAB_ACT_TBF:
        ent_of(&e, LAB_ENT_QDISC, a->ns, a->name);
        if ((rc = lab_run_record(run, &e)) < 0)
            return rc;
        return lab_tbf_add(nl, a->name, a->rate);
    case LAB_ACT_PORT:
        return lab_bridge_port(nl, a->arg, a->name, strcmp(a->arg2, "learning") == 0);
    case LAB_ACT_FDB:
        return lab_fdb_add(nl, a->name, a->mac);
    case LAB_ACT_ADDR:
        return lab_addr_add(nl, a->name, a->arg);
    case LAB_ACT_UP:
        return lab_link_up(nl, a->name);
    default:
        return -EINVAL;
    }
}

int lab_live_up(const struct lab_plan *p, struct lab_run *run, FILE *err)
{
    struct lab_ent *ents;
    size_t n_ents;
    int rc = lab_run_load(run, &ents, &n_ents);
    if (rc < 0)
        return rc;
    free(ents);
    if (n_ents) {
        fprintf(err,
                "sluicectl: %s still lists %zu things of an earlier run: run "
                "'sluicectl down' first\n",
                run->dir, n_ents);
        return -EEXIST;
    }
    for (size_t i = 0; i < p->n; i++) {
        if (p->act[i].kind == LAB_ACT_NS && lab_ns_exists(p->act[i].ns)) {
            fprintf(err, "sluicectl: namespace %s exists and is not this lab's: nothing done\n",
                    p->act[i].ns);
            return -EEXIST;
        }
    }
    struct socks *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    for (size_t i = 0; i < p->n; i++) {
        rc = do_act(&p->act[i], run, s);
        if (rc < 0) {
            char d[256];
            lab_act_describe(&p->act[i], d, sizeof(d));
            fprintf(err, "sluicectl: up: %s: %s\n", d, strerror(-rc));
            break;
        }
    }
    socks_close(s);
    free(s);
    if (rc < 0) {
        fprintf(err, "sluicectl: undoing what this up made\n");
        lab_live_down(run, err);
    }
    return rc;
}

static int undo(struct lab_run *run, const struct lab_ent *e, struct socks *s, FILE *out)
{
    int rc = 0;
    switch (e->kind) {
    case LAB_ENT_PROC:
        rc = lab_proc_stop_ent(e, 3000);
        if (rc > 0)
            fprintf(out, "stopped   %s (pid %ld)\n", e->name, (long)e->pid);
        rc = rc < 0 ? rc : 0;
        break;
    case LAB_ENT_QDISC:
    case LAB_ENT_LINK: {
        /* Only inside a namespace that is still ours; a gone namespace took
         * its links and qdiscs with it. */
        if (lab_ns_owned(e->ns, run->tag) != 1)
            break;
        struct lab_nl *nl = sock_for(s, e->ns);
        if (!nl) {
            rc = -errno;
            break;
        }
        if (e->kind == LAB_ENT_LINK && lab_link_exists(nl, e->name)) {
            rc = lab_link_del(nl, e->name);
            if (rc == 0)
                fprintf(out, "removed   link %s@%s\n", e->name, e->ns);
        }
        break;
    }
    case LAB_ENT_NS: {
        bool existed = lab_ns_exists(e->ns);
        rc = lab_ns_delete(e->ns, run->tag);
        if (rc == -EPERM) {
            fprintf(out, "left      namespace %s: not this lab's (no tag %s)\n", e->ns, run->tag);
            rc = 0; /* not ours: forgetting it is right */
        } else if (rc == 0 && existed) {
            fprintf(out, "removed   namespace %s\n", e->ns);
        }
        break;
    }
    default:
        break;
    }
    if (rc == 0)
        lab_run_forget(run, e);
    return rc;
}

int lab_live_down(struct lab_run *run, FILE *out)
{
    struct lab_ent *ents;
    size_t n;
    int rc = lab_run_load(run, &ents, &n);
    if (rc < 0)
        return rc;
    struct socks *s = calloc(1, sizeof(*s));
    if (!s) {
        free(ents);
        return -ENOMEM;
    }
    int left = 0;
    /* Processes first (they hold namespaces and sockets), then the rest in
     * reverse order of creation. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = n; i-- > 0;) {
            if ((ents[i].kind == LAB_ENT_PROC) != (pass == 0))
                continue;
            if (pass == 1 && ents[i].kind == LAB_ENT_NS)
                continue;
            if ((rc = undo(run, &ents[i], s, out)) < 0) {
                fprintf(out, "FAILED    %s %s@%s: %s\n",
                        ents[i].kind == LAB_ENT_PROC ? "process" : "link", ents[i].name, ents[i].ns,
                        strerror(-rc));
                left++;
            }
        }
    }
    socks_close(s); /* our sockets must not keep a namespace alive */
    for (size_t i = n; i-- > 0;) {
        if (ents[i].kind != LAB_ENT_NS)
            continue;
        if ((rc = undo(run, &ents[i], s, out)) < 0) {
            fprintf(out, "FAILED    namespace %s: %s\n", ents[i].ns, strerror(-rc));
            left++;
        }
    }
    socks_close(s);
    free(s);
    free(ents);
    if (!left)
        lab_run_reset(run);
    return left;
}
