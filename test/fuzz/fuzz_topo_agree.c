/* libFuzzer target: one topology text, three readers (differential).
 *
 * The cluster's reader (sl_topo_parse), the lab's (lab_topo_load) and
 * frontend-dpdk's (--topology, through fe_args_parse) read the same bytes.
 * Wherever all three accept them, they must name the same workers in the
 * same order with the same MACs, and the lab and the frontend must give each
 * the same link rate and weight (test/unit/test_topo_agree.c checks the
 * same on chosen files). A disagreement traps, leaving the input behind.
 * The two file readers take the text through a memfd. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "args.h"
#include "fuzz_common.h"
#include "lab_topo.h"
#include "sl_topo.h"
#include "topo_views.h"

static FILE *devnull;
static int saved_stderr = -1;
static struct lab_topo lab;
/* inputs the cluster accepted; of those, the lab and frontend-dpdk too */
static unsigned long n_cluster, n_all, n_workers;

/* At exit: how much of the run compared anything. */
static void report(void)
{
    fprintf(stderr,
            "fuzz_topo_agree: %lu inputs accepted by the cluster, %lu by all three (%lu "
            "workers compared)\n",
            n_cluster, n_all, n_workers);
}

static void agree(const struct sl_topo *cl, const struct fe_conf *fe)
{
    unsigned n = sl_topo_count(cl, SL_TOPO_WORKER);
    CHECK(lab_topo_n_workers(&lab) == n);
    CHECK(fe->n_macs == n);
    for (unsigned k = 0; k < n; k++) {
        const struct sl_topo_node *c = sl_topo_nth(cl, SL_TOPO_WORKER, k);
        int li = lab_topo_worker(&lab, k);
        CHECK(c != NULL && li >= 0);
        const struct lab_node *l = &lab.nodes[li];
        CHECK(strcmp(c->name, l->name) == 0);
        CHECK(memcmp(c->mac, l->mac, 6) == 0);
        CHECK(memcmp(c->mac, fe->mac[k], 6) == 0);
        CHECK(l->link_rate == fe_topo_rate(fe, k));
        CHECK(l->weight == fe->weight[k]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256], path[64];
    if (devnull == NULL) {
        if ((devnull = fopen("/dev/null", "w")) == NULL || (saved_stderr = dup(STDERR_FILENO)) < 0)
            abort();
        atexit(report);
    }
    struct sl_topo *cl = sl_topo_parse((const char *)data, size, "fuzz.ini", err, sizeof(err));
    if (cl == NULL)
        return 0; /* the other two may accept what the cluster refuses (lab-only keys...) */
    int fd = memfd_create("topo", 0);
    if (fd < 0)
        abort();
    if (size && write(fd, data, size) != (ssize_t)size)
        abort();
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    memset(&lab, 0, sizeof(lab));
    bool lab_ok = lab_topo_load(path, &lab, devnull) == 0;
    struct fe_conf fe;
    memset(&fe, 0, sizeof(fe));
    char *argv[] = {"frontend-dpdk", "--topology", path, NULL};
    /* frontend-dpdk warns about keys it ignores: not this target's output,
     * but libFuzzer's and the sanitizers' must stay on stderr */
    fflush(stderr);
    dup2(fileno(devnull), STDERR_FILENO);
    bool fe_ok = fe_args_parse(&fe, 3, argv, err, sizeof(err)) == 0;
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    n_cluster++;
    if (lab_ok && fe_ok) {
        agree(cl, &fe);
        n_all++;
        n_workers += fe.n_macs;
    }
    sink = mix(sink, (uint64_t)lab_ok << 1 | fe_ok);
    fe_conf_free(&fe);
    close(fd);
    sl_topo_free(cl);
    return 0;
}
