/* lab_report: text, JSON and HTML renderings of a replay. See lab_report.h. */
#include "lab_report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lab_json.h"

#define U(x) ((unsigned long long)(x))

void lab_report_drop(struct lab_report *r, const char *stage, const char *where, const char *reason,
                     uint64_t n)
{
    if (r->n_drop == LAB_REPORT_MAX)
        return;
    struct lab_report_drop *d = &r->drop[r->n_drop++];
    snprintf(d->stage, sizeof(d->stage), "%s", stage);
    snprintf(d->where, sizeof(d->where), "%s", where ? where : "");
    snprintf(d->reason, sizeof(d->reason), "%s", reason);
    d->n = n;
}

void lab_report_acct(struct lab_report *r, const char *stage, uint64_t in, uint64_t out,
                     uint64_t dropped)
{
    if (r->n_acct == LAB_REPORT_MAX)
        return;
    struct lab_report_acct *a = &r->acct[r->n_acct++];
    snprintf(a->stage, sizeof(a->stage), "%s", stage);
    a->in = in;
    a->out = out;
    a->dropped = dropped;
    a->ok = in == out + dropped;
}

void lab_report_event(struct lab_report *r, const char *fmt, ...)
{
    if (r->n_events == LAB_REPORT_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->events[r->n_events++], sizeof(r->events[0]), fmt, ap);
    va_end(ap);
}

void lab_report_finish(struct lab_report *r)
{
    uint64_t max = 0, sum = 0;
    for (unsigned i = 0; i < r->n_workers; i++) {
        sum += r->w[i].pkts;
        if (r->w[i].pkts > max)
            max = r->w[i].pkts;
    }
    r->imbalance = sum && r->n_workers ? (double)max * r->n_workers / (double)sum : 0;
    r->accounted = true;
    for (unsigned i = 0; i < r->n_acct; i++)
        r->accounted &= r->acct[i].ok;
}

bool lab_report_ok(const struct lab_report *r)
{
    return r->eq_done && r->eq.equivalent && r->accounted;
}

static void add_note(struct lab_report *r, const char *note, const char *msg)
{
    r->notices++;
    if (r->n_notes < LAB_REPORT_MAX_NOTES)
        snprintf(r->notes[r->n_notes++], sizeof(r->notes[0]), "%s: %s", note ? note : "?",
                 msg ? msg : "");
}

int lab_report_notices(struct lab_report *r, const char *dir)
{
    char path[4096], line[8192];
    snprintf(path, sizeof(path), "%s/notice.log", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : -errno;
    int i_note = -1, i_msg = -1;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '{') {
            struct lab_json *j = lab_json_parse(line, strlen(line));
            if (j)
                add_note(r, lab_json_str(j, "note", NULL), lab_json_str(j, "msg", NULL));
            lab_json_free(j);
            continue;
        }
        char *cols[256];
        int n = 0;
        bool fields = strncmp(line, "#fields\t", 8) == 0;
        if (line[0] == '#' && !fields)
            continue;
        for (char *s = fields ? line + 8 : line; n < 256;) {
            cols[n++] = s;
            char *t = strchr(s, '\t');
            if (!t)
                break;
            *t = '\0';
            s = t + 1;
        }
        if (fields) {
            for (int k = 0; k < n; k++) {
                if (strcmp(cols[k], "note") == 0)
                    i_note = k;
                else if (strcmp(cols[k], "msg") == 0)
                    i_msg = k;
            }
        } else if (line[0]) {
            add_note(r, i_note >= 0 && i_note < n ? cols[i_note] : NULL,
                     i_msg >= 0 && i_msg < n ? cols[i_msg] : NULL);
        }
    }
    fclose(f);
    return 0;
}

/* ---- text ---------------------------------------------------------------- */

/* Live mode, frames left out of the reference: the rows they account for. */
static uint64_t explained_rows(const struct lab_report *r)
{
    uint64_t n = 0;
    for (unsigned i = 0; r->explained_done && i < r->explained.n; i++)
        n += r->explained.logs[i].only_a + r->explained.logs[i].only_b;
    return n;
}

static void print_explained(const struct lab_report *r, FILE *out)
{
    if (!r->explained_done)
        return;
    fprintf(out,
            "\nexplained by counted drops: %llu frames the frontend counted as dropped before the "
            "workers (%s) are left out of the standalone reference; the standalone run over every "
            "frame differs from it by %llu rows:\n",
            U(r->left_out), r->left_out_why, U(explained_rows(r)));
    for (unsigned i = 0; i < r->explained.n; i++) {
        const struct lab_equiv_log *l = &r->explained.logs[i];
        if (!l->only_a && !l->only_b)
            continue;
        fprintf(out, "  %-16s %8llu rows only with those frames, %llu only without them\n", l->path,
                U(l->only_a), U(l->only_b));
        for (unsigned k = 0; k < l->n_ex_a && k < 2; k++)
            fprintf(out, "      e.g. %s\n", l->ex_a[k]);
    }
}

void lab_report_print(const struct lab_report *r, FILE *out)
{
    fprintf(out, "\n== sluice replay report: %s through %s (%s mode, hash %s, speed %s)\n", r->pcap,
            r->topology, r->mode, r->hash, r->speed);
    fprintf(out, "%llu packets in the pcap, replay %.2f s, whole run %.2f s\n", U(r->pcap_pkts),
            r->replay_s, r->wall_s);
    fprintf(out, "\nper-worker load (imbalance max/mean %.3f):\n", r->imbalance);
    fprintf(out, "  %-16s %-17s %12s %14s %12s\n", "worker", "mac", "packets", "bytes",
            "connections");
    for (unsigned i = 0; i < r->n_workers; i++)
        fprintf(out, "  %-16s %-17s %12llu %14llu %12llu%s\n", r->w[i].name, r->w[i].mac,
                U(r->w[i].pkts), U(r->w[i].bytes), U(r->w[i].conns),
                r->w[i].killed ? "  (killed)" : "");
    fprintf(out, "\ndrops by stage and reason:%s\n", r->n_drop ? "" : " none");
    for (unsigned i = 0; i < r->n_drop; i++)
        fprintf(out, "  %-10s %-12s %-14s %llu\n", r->drop[i].stage, r->drop[i].where,
                r->drop[i].reason, U(r->drop[i].n));
    fprintf(out, "\naccounting (in = out + counted drops): %s\n",
            r->accounted ? "every packet accounted for" : "UNCOUNTED LOSS");
    for (unsigned i = 0; i < r->n_acct; i++)
        fprintf(out, "  %-34s in %10llu  out %10llu  dropped %8llu  %s\n", r->acct[i].stage,
                U(r->acct[i].in), U(r->acct[i].out), U(r->acct[i].dropped),
                r->acct[i].ok ? "ok" : "MISMATCH");
    if (r->split_known) {
        fprintf(out, "\nsplit connections (seen by more than one worker): %llu of %llu\n",
                U(r->split_conns), U(r->conns));
        for (unsigned i = 0; i < r->n_ex; i++)
            fprintf(out, "  %s  workers %s  (%llu packets)\n", r->ex[i].conn, r->ex[i].workers,
                    U(r->ex[i].pkts));
    } else {
        fprintf(out, "\nsplit connections: %llu (from duplicate conn.log 5-tuples)\n",
                U(r->split_conns));
    }
    fprintf(out, "\nnotices: %llu\n", U(r->notices));
    for (unsigned i = 0; i < r->n_notes; i++)
        fprintf(out, "  %s\n", r->notes[i]);
    if (r->n_events) {
        fprintf(out, "\nevents:\n");
        for (unsigned i = 0; i < r->n_events; i++)
            fprintf(out, "  %s\n", r->events[i]);
    }
    fputc('\n', out);
    if (r->eq_done)
        lab_equiv_print(&r->eq, "cluster",
                        r->explained_done ? "standalone (delivered frames)" : "standalone", out);
    else
        fprintf(out, "equivalence: not computed\n");
    print_explained(r, out);
    fprintf(out, "\nverdict: %s\n", lab_report_ok(r) ? "OK" : "FAILED");
}

/* ---- JSON ---------------------------------------------------------------- */

static void json_kv_str(FILE *f, const char *k, const char *v, bool comma)
{
    fprintf(f, "%s\"%s\":", comma ? "," : "", k);
    lab_json_write_str(f, v);
}

static void json_equiv(const struct lab_report *r, FILE *f)
{
    fprintf(f, ",\"equivalence\":[");
    for (unsigned i = 0; r->eq_done && i < r->eq.n; i++) {
        const struct lab_equiv_log *l = &r->eq.logs[i];
        fprintf(f, "%s{", i ? "," : "");
        json_kv_str(f, "log", l->path, false);
        fprintf(f,
                ",\"rows_cluster\":%llu,\"rows_standalone\":%llu,\"only_in_cluster\":%llu,"
                "\"only_in_standalone\":%llu,\"columns_differ\":%s,\"examples_cluster\":[",
                U(l->rows_a), U(l->rows_b), U(l->only_a), U(l->only_b),
                l->fields_differ ? "true" : "false");
        for (unsigned k = 0; k < l->n_ex_a; k++) {
            fputs(k ? "," : "", f);
            lab_json_write_str(f, l->ex_a[k]);
        }
        fputs("],\"examples_standalone\":[", f);
        for (unsigned k = 0; k < l->n_ex_b; k++) {
            fputs(k ? "," : "", f);
            lab_json_write_str(f, l->ex_b[k]);
        }
        fputs("]}", f);
    }
    fputc(']', f);
}

static void json_explained(const struct lab_report *r, FILE *f)
{
    json_kv_str(f, "reference", r->explained_done ? "delivered frames" : "all frames", true);
    if (!r->explained_done)
        return;
    fprintf(f, ",\"left_out_frames\":%llu", U(r->left_out));
    json_kv_str(f, "left_out_reasons", r->left_out_why, true);
    fprintf(f, ",\"explained_by_counted_drops\":{\"rows\":%llu,\"logs\":[", U(explained_rows(r)));
    bool first = true;
    for (unsigned i = 0; i < r->explained.n; i++) {
        const struct lab_equiv_log *l = &r->explained.logs[i];
        if (!l->only_a && !l->only_b)
            continue;
        fputs(first ? "{" : ",{", f);
        first = false;
        json_kv_str(f, "log", l->path, false);
        fprintf(f,
                ",\"rows_all_frames\":%llu,\"rows_delivered\":%llu,\"only_with_all_frames\":%llu,"
                "\"only_without\":%llu,\"examples\":[",
                U(l->rows_a), U(l->rows_b), U(l->only_a), U(l->only_b));
        for (unsigned k = 0; k < l->n_ex_a + l->n_ex_b; k++) {
            fputs(k ? "," : "", f);
            lab_json_write_str(f, k < l->n_ex_a ? l->ex_a[k] : l->ex_b[k - l->n_ex_a]);
        }
        fputs("]}", f);
    }
    fputs("]}", f);
}

int lab_report_write_json(const struct lab_report *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fprintf(f, "{\"equivalent\":%s,\"split_connections\":%llu,\"accounted\":%s,\"ok\":%s",
            r->eq_done && r->eq.equivalent ? "true" : "false", U(r->split_conns),
            r->accounted ? "true" : "false", lab_report_ok(r) ? "true" : "false");
    json_kv_str(f, "topology", r->topology, true);
    json_kv_str(f, "pcap", r->pcap, true);
    json_kv_str(f, "mode", r->mode, true);
    json_kv_str(f, "hash", r->hash, true);
    json_kv_str(f, "speed", r->speed, true);
    fprintf(f, ",\"pcap_packets\":%llu,\"replay_s\":%.3f,\"wall_s\":%.3f,\"imbalance\":%.4f",
            U(r->pcap_pkts), r->replay_s, r->wall_s, r->imbalance);
    fprintf(f, ",\"connections\":%llu,\"split_known\":%s,\"workers\":[", U(r->conns),
            r->split_known ? "true" : "false");
    for (unsigned i = 0; i < r->n_workers; i++) {
        fprintf(f, "%s{", i ? "," : "");
        json_kv_str(f, "name", r->w[i].name, false);
        json_kv_str(f, "mac", r->w[i].mac, true);
        fprintf(f, ",\"packets\":%llu,\"bytes\":%llu,\"connections\":%llu,\"killed\":%s}",
                U(r->w[i].pkts), U(r->w[i].bytes), U(r->w[i].conns),
                r->w[i].killed ? "true" : "false");
    }
    fputs("],\"drops\":[", f);
    for (unsigned i = 0; i < r->n_drop; i++) {
        fprintf(f, "%s{", i ? "," : "");
        json_kv_str(f, "stage", r->drop[i].stage, false);
        json_kv_str(f, "where", r->drop[i].where, true);
        json_kv_str(f, "reason", r->drop[i].reason, true);
        fprintf(f, ",\"count\":%llu}", U(r->drop[i].n));
    }
    fputs("],\"accounting\":[", f);
    for (unsigned i = 0; i < r->n_acct; i++) {
        fprintf(f, "%s{", i ? "," : "");
        json_kv_str(f, "stage", r->acct[i].stage, false);
        fprintf(f, ",\"in\":%llu,\"out\":%llu,\"dropped\":%llu,\"ok\":%s}", U(r->acct[i].in),
                U(r->acct[i].out), U(r->acct[i].dropped), r->acct[i].ok ? "true" : "false");
    }
    fputs("],\"split_examples\":[", f);
    for (unsigned i = 0; i < r->n_ex; i++) {
        fprintf(f, "%s{", i ? "," : "");
        json_kv_str(f, "connection", r->ex[i].conn, false);
        json_kv_str(f, "workers", r->ex[i].workers, true);
        fprintf(f, ",\"packets\":%llu}", U(r->ex[i].pkts));
    }
    fprintf(f, "],\"notice_count\":%llu,\"notices\":[", U(r->notices));
    for (unsigned i = 0; i < r->n_notes; i++) {
        fputs(i ? "," : "", f);
        lab_json_write_str(f, r->notes[i]);
    }
    fputs("],\"events\":[", f);
    for (unsigned i = 0; i < r->n_events; i++) {
        fputs(i ? "," : "", f);
        lab_json_write_str(f, r->events[i]);
    }
    fputc(']', f);
    json_equiv(r, f);
    json_explained(r, f);
    fputs("}\n", f);
    return fclose(f) == 0 ? 0 : -errno;
}

/* ---- HTML + SVG ---------------------------------------------------------- */

static void html(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\t':
            fputs("  ", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* ---- the per-worker load chart ---- */

#define SVG_SERIES 3
static const char *const svg_series[SVG_SERIES] = {"packets", "bytes", "connections"};
static const char *const svg_fill[SVG_SERIES] = {"#2e86c1", "#28b463", "#8e44ad"};

enum { SVG_LEFT = 10, SVG_BAR_H = 110, SVG_HEAD = 30, SVG_PANEL = SVG_HEAD + SVG_BAR_H + 16 };

static uint64_t svg_value(const struct lab_report_worker *w, int s)
{
    return s == 0 ? w->pkts : s == 1 ? w->bytes : w->conns;
}

/* One panel: a bar per worker scaled to the panel's own largest value,
 * labelled with its value, and a dashed line at the mean. The figures ride
 * along as data-* attributes for scripts and tests. */
static void svg_panel(const struct lab_report *r, FILE *f, int s, int y0, int pitch, int width)
{
    uint64_t max = 0, sum = 0;
    for (unsigned i = 0; i < r->n_workers; i++) {
        uint64_t v = svg_value(&r->w[i], s);
        sum += v;
        max = v > max ? v : max;
    }
    int base = y0 + SVG_HEAD + SVG_BAR_H, bar_w = pitch - 12;
    fprintf(f, "<g class=\"series\" data-series=\"%s\" data-max=\"%llu\" data-height=\"%d\">\n",
            svg_series[s], U(max), SVG_BAR_H);
    fprintf(f,
            "<text x=\"%d\" y=\"%d\" font-size=\"12\" font-weight=\"bold\">%s per worker "
            "(max %llu)</text>\n",
            SVG_LEFT, y0 + 14, svg_series[s], U(max));
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n", SVG_LEFT, base,
            width - SVG_LEFT, base);
    for (unsigned i = 0; i < r->n_workers; i++) {
        uint64_t v = svg_value(&r->w[i], s);
        int h = max ? (int)((double)v / (double)max * SVG_BAR_H + 0.5) : 0;
        int x = SVG_LEFT + (int)i * pitch + 6;
        fputs("<g class=\"bar\" data-worker=\"", f);
        html(f, r->w[i].name);
        fprintf(f, "\" data-value=\"%llu\"><title>", U(v));
        html(f, r->w[i].name);
        fprintf(f, ": %llu %s%s</title>\n", U(v), svg_series[s], r->w[i].killed ? " (killed)" : "");
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n", x,
                base - h, bar_w, h, r->w[i].killed ? "#c0392b" : svg_fill[s]);
        fprintf(f,
                "<text class=\"value\" x=\"%d\" y=\"%d\" font-size=\"9\" "
                "text-anchor=\"middle\">%llu</text></g>\n",
                x + bar_w / 2, base - h - 3, U(v));
    }
    if (max && r->n_workers) {
        double mean = (double)sum / r->n_workers;
        int y = base - (int)(mean / (double)max * SVG_BAR_H + 0.5);
        fprintf(f,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#e67e22\" "
                "stroke-dasharray=\"4 3\"/>\n<text x=\"%d\" y=\"%d\" font-size=\"10\" "
                "fill=\"#e67e22\" text-anchor=\"end\">mean %.0f</text>\n",
                SVG_LEFT, y, width - SVG_LEFT, y, width - SVG_LEFT, y0 + 14, mean);
    }
    fputs("</g>\n", f);
}

/* Packets, bytes and connections per worker: three panels over the same
 * worker columns, names under the last. A standalone SVG document (its own
 * namespace, size and title), no script. */
static void svg_chart(const struct lab_report *r, FILE *f)
{
    /* a column fits the widest value label (about 6 px a digit at 9 px) */
    int digits = 1;
    for (unsigned i = 0; i < r->n_workers; i++)
        for (int s = 0; s < SVG_SERIES; s++) {
            char num[24];
            int n = snprintf(num, sizeof(num), "%llu", U(svg_value(&r->w[i], s)));
            digits = n > digits ? n : digits;
        }
    int pitch = 6 * digits + 16 > 48 ? 6 * digits + 16 : 48;
    int width = 2 * SVG_LEFT + (int)r->n_workers * pitch + 70; /* room for "mean N" */
    if (width < 340)
        width = 340; /* the panel titles */
    int names_y = SVG_SERIES * SVG_PANEL;
    int height = names_y + 70;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" font-family=\"sans-serif\">\n"
            "<title>Per-worker load: packets, bytes and connections</title>\n",
            width, height, width, height);
    for (int s = 0; s < SVG_SERIES; s++)
        svg_panel(r, f, s, s * SVG_PANEL, pitch, width);
    for (unsigned i = 0; i < r->n_workers; i++) {
        int x = SVG_LEFT + (int)i * pitch + 6;
        fprintf(f,
                "<text class=\"worker\" x=\"%d\" y=\"%d\" font-size=\"10\" "
                "transform=\"rotate(30 %d %d)\">",
                x, names_y + 12, x, names_y + 12);
        html(f, r->w[i].name);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
}

static void html_row(FILE *f, const char *const *cells, unsigned n, bool head)
{
    fputs("<tr>", f);
    for (unsigned i = 0; i < n; i++) {
        fputs(head ? "<th>" : "<td>", f);
        html(f, cells[i]);
        fputs(head ? "</th>" : "</td>", f);
    }
    fputs("</tr>\n", f);
}

static void html_tables(const struct lab_report *r, FILE *f)
{
    char a[32], b[32], c[32], d[32];
    fputs("<h2>Workers</h2>\n<table>\n", f);
    html_row(f, (const char *[]){"worker", "mac", "packets", "bytes", "connections"}, 5, true);
    for (unsigned i = 0; i < r->n_workers; i++) {
        snprintf(a, sizeof(a), "%llu", U(r->w[i].pkts));
        snprintf(b, sizeof(b), "%llu", U(r->w[i].bytes));
        snprintf(c, sizeof(c), "%llu", U(r->w[i].conns));
        html_row(f, (const char *[]){r->w[i].name, r->w[i].mac, a, b, c}, 5, false);
    }
    fprintf(f, "</table>\n<p>Imbalance (max/mean packets): %.3f</p>\n", r->imbalance);
    fputs("<h2>Drops by stage and reason</h2>\n<table>\n", f);
    html_row(f, (const char *[]){"stage", "where", "reason", "count"}, 4, true);
    for (unsigned i = 0; i < r->n_drop; i++) {
        snprintf(a, sizeof(a), "%llu", U(r->drop[i].n));
        html_row(f, (const char *[]){r->drop[i].stage, r->drop[i].where, r->drop[i].reason, a}, 4,
                 false);
    }
    fputs("</table>\n<h2>Accounting</h2>\n<table>\n", f);
    html_row(f, (const char *[]){"stage", "in", "out", "dropped", "balance"}, 5, true);
    for (unsigned i = 0; i < r->n_acct; i++) {
        snprintf(a, sizeof(a), "%llu", U(r->acct[i].in));
        snprintf(b, sizeof(b), "%llu", U(r->acct[i].out));
        snprintf(c, sizeof(c), "%llu", U(r->acct[i].dropped));
        snprintf(d, sizeof(d), "%s", r->acct[i].ok ? "ok" : "MISMATCH");
        html_row(f, (const char *[]){r->acct[i].stage, a, b, c, d}, 5, false);
    }
    fprintf(f, "</table>\n<h2>Split connections: %llu</h2>\n<table>\n", U(r->split_conns));
    html_row(f, (const char *[]){"connection", "workers", "packets"}, 3, true);
    for (unsigned i = 0; i < r->n_ex; i++) {
        snprintf(a, sizeof(a), "%llu", U(r->ex[i].pkts));
        html_row(f, (const char *[]){r->ex[i].conn, r->ex[i].workers, a}, 3, false);
    }
    fprintf(f, "</table>\n<h2>Notices: %llu</h2>\n<ul>\n", U(r->notices));
    for (unsigned i = 0; i < r->n_notes; i++) {
        fputs("<li>", f);
        html(f, r->notes[i]);
        fputs("</li>\n", f);
    }
    fputs("</ul>\n<h2>Events</h2>\n<ul>\n", f);
    for (unsigned i = 0; i < r->n_events; i++) {
        fputs("<li>", f);
        html(f, r->events[i]);
        fputs("</li>\n", f);
    }
    fputs("</ul>\n", f);
}

/* One log's row counts: cluster (or with), standalone (or without), and the
 * rows found on one side only. */
static void html_equiv_row(FILE *f, const struct lab_equiv_log *l)
{
    char a[32], b[32], c[32], d[32];
    snprintf(a, sizeof(a), "%llu", U(l->rows_a));
    snprintf(b, sizeof(b), "%llu", U(l->rows_b));
    snprintf(c, sizeof(c), "%llu", U(l->only_a));
    snprintf(d, sizeof(d), "%llu", U(l->only_b));
    html_row(f, (const char *[]){l->path, a, b, c, d}, 5, false);
}

static void html_equiv(const struct lab_report *r, FILE *f)
{
    fprintf(f, "<h2>Equivalence with a standalone run: %s</h2>\n<table>\n",
            r->eq_done ? (r->eq.equivalent ? "equivalent" : "DIFFERENT") : "not computed");
    html_row(f,
             (const char *[]){"log", "rows (cluster)", "rows (standalone)", "only in cluster",
                              "only in standalone"},
             5, true);
    for (unsigned i = 0; r->eq_done && i < r->eq.n; i++) {
        const struct lab_equiv_log *l = &r->eq.logs[i];
        html_equiv_row(f, l);
    }
    fputs("</table>\n", f);
    for (unsigned i = 0; r->eq_done && i < r->eq.n; i++) {
        const struct lab_equiv_log *l = &r->eq.logs[i];
        if (!l->n_ex_a && !l->n_ex_b)
            continue;
        fprintf(f, "<h3>%s.log: rows on one side only (first %d)</h3>\n<pre>", l->path,
                LAB_EQUIV_EXAMPLES);
        for (unsigned k = 0; k < l->n_ex_a; k++) {
            fputs("cluster only:    ", f);
            html(f, l->ex_a[k]);
            fputc('\n', f);
        }
        for (unsigned k = 0; k < l->n_ex_b; k++) {
            fputs("standalone only: ", f);
            html(f, l->ex_b[k]);
            fputc('\n', f);
        }
        fputs("</pre>\n", f);
    }
}

static void html_explained(const struct lab_report *r, FILE *f)
{
    if (!r->explained_done)
        return;
    fprintf(f,
            "<h2>Explained by counted drops</h2>\n<p>%llu frames the frontend counted as dropped "
            "before the workers (",
            U(r->left_out));
    html(f, r->left_out_why);
    fprintf(f,
            ") are left out of the standalone reference above. The standalone run over every "
            "frame differs from it by %llu rows:</p>\n<table>\n",
            U(explained_rows(r)));
    html_row(f,
             (const char *[]){"log", "rows (every frame)", "rows (delivered)",
                              "only with those frames", "only without them"},
             5, true);
    for (unsigned i = 0; i < r->explained.n; i++) {
        const struct lab_equiv_log *l = &r->explained.logs[i];
        if (!l->only_a && !l->only_b)
            continue;
        html_equiv_row(f, l);
    }
    fputs("</table>\n", f);
}

int lab_report_write_html(const struct lab_report *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<title>sluice replay report</title>\n<style>\n"
          "body{font-family:sans-serif;margin:2em;max-width:70em}"
          "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:2px 8px;"
          "text-align:right}th{background:#eee}pre{background:#f6f6f6;padding:.5em;"
          "overflow-x:auto}.ok{color:#1e8449}.bad{color:#c0392b}\n</style></head><body>\n",
          f);
    fputs("<h1>sluice replay report</h1>\n<p>", f);
    html(f, r->pcap);
    fputs(" through ", f);
    html(f, r->topology);
    fprintf(f, " (%s mode, hash ", r->mode);
    html(f, r->hash);
    fprintf(f, ", speed ");
    html(f, r->speed);
    fprintf(f, "): %llu packets, replay %.2f s.</p>\n", U(r->pcap_pkts), r->replay_s);
    fprintf(f,
            "<p>Verdict: <b class=\"%s\">%s</b> &mdash; equivalent: %s, split connections: "
            "%llu, every packet accounted for: %s.</p>\n",
            lab_report_ok(r) ? "ok" : "bad", lab_report_ok(r) ? "OK" : "FAILED",
            r->eq_done && r->eq.equivalent ? "yes" : "no", U(r->split_conns),
            r->accounted ? "yes" : "no");
    fputs("<h2>Per-worker load: packets, bytes and connections</h2>\n", f);
    svg_chart(r, f);
    html_tables(r, f);
    html_equiv(r, f);
    html_explained(r, f);
    fputs("</body></html>\n", f);
    return fclose(f) == 0 ? 0 : -errno;
}
