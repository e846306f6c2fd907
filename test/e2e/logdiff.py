#!/usr/bin/env python3
"""Compare two directories of Zeek logs (TSV or JSON) row by row.

    logdiff.py [--logs conn,dns,...] [--show N] DIR_A DIR_B

For each log, the rows of A and B are compared as multisets (order does not
matter) after leaving out what legitimately differs between a standalone
and a cluster run of the same traffic:
  - uid (connection uids are random per process, or seeded per node),
  - peer / peer_descr (the node that wrote the row: "zeek" standalone, the
    worker's name in a cluster),
  - tunnel_parents is compared by the parents' 5-tuples (looked up in the
    same directory's conn.log) instead of their uids; a parent without a
    conn.log row (an IP tunnel) counts as "an IP tunnel".
Two relaxations, for what Zeek itself keeps per node, are options:
  --superset LOG   rows of A must all be in B, B may hold more (weird.log:
                   Zeek's weird de-duplication -- weird_ignore, LOG_ONCE,
                   LOG_PER_ORIG -- is node-local state, so each worker logs
                   its own first occurrence);
  --ignore-note P  notice rows whose note starts with P are left out
                   (CaptureLoss::*: each worker measures its own capture).
Exit 0 when every log matches, 1 when a log differs (the differing rows
are printed), 2 on a usage or read error.
"""
import argparse
import json
import os
import sys
from collections import Counter

DEFAULT_LOGS = "conn,dns,weird,known_hosts,known_services,notice"
DROP = {"uid", "peer", "peer_descr"}


def read_log(path):
    """Returns (fields, rows): rows are dicts of field -> raw value
    (TSV: the escaped text; JSON: the decoded value). Missing file: None."""
    if not os.path.exists(path):
        return None
    rows, fields, types, sep, setsep = [], None, None, "\t", ","
    with open(path, "r", encoding="utf-8", errors="surrogateescape") as f:
        first = f.readline()
        f.seek(0)
        if first.startswith("{"):
            for n, line in enumerate(f, 1):
                line = line.strip()
                if line:
                    try:
                        rows.append(json.loads(line))
                    except ValueError as e:
                        raise SystemExit(f"logdiff: {path}:{n}: bad JSON: {e}")
            return ("json", setsep), rows
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#separator"):
                sep = line.split(" ", 1)[1].encode().decode("unicode_escape")
            elif line.startswith("#set_separator"):
                setsep = line.split(sep, 1)[1]
            elif line.startswith("#fields"):
                fields = line.split(sep)[1:]
            elif line.startswith("#types"):
                types = line.split(sep)[1:]
            elif line.startswith("#"):
                continue
            elif line:
                if fields is None:
                    raise SystemExit(f"logdiff: {path}: data before #fields")
                vals = line.split(sep)
                if len(vals) != len(fields):
                    raise SystemExit(f"logdiff: {path}: a row has {len(vals)} columns, "
                                     f"#fields has {len(fields)}")
                row = dict(zip(fields, vals))
                # sets are unordered: compare their elements sorted
                for f, t in zip(fields, types or []):
                    if t.startswith("set[") and row[f] not in ("-", "(empty)"):
                        row[f] = setsep.join(sorted(row[f].split(setsep)))
                rows.append(row)
    return ("tsv", setsep), rows


def parents_of(value, kind):
    if kind[0] == "json":
        return list(value or [])
    if value in ("-", "(empty)"):
        return []
    return value.split(kind[1])


def conn_tuples(d):
    """uid -> 5-tuple from DIR/conn.log."""
    got = read_log(os.path.join(d, "conn.log"))
    out = {}
    if got is None:
        return out
    _, rows = got
    for r in rows:
        out[r.get("uid")] = (str(r.get("id.orig_h")), str(r.get("id.orig_p")),
                             str(r.get("id.resp_h")), str(r.get("id.resp_p")), str(r.get("proto")))
    return out


def canon(rows, kind, tuples):
    c = Counter()
    for r in rows:
        items = []
        for k in sorted(r):
            if k in DROP:
                continue
            v = r[k]
            if k == "tunnel_parents":
                # IP tunnels (IP-in-IP, GRE) have a uid but no conn.log row:
                # only their number can be compared
                v = tuple(sorted(str(tuples.get(u, "(an IP tunnel)"))
                                 for u in parents_of(v, kind)))
            elif isinstance(v, (list, dict)):
                v = json.dumps(v, sort_keys=True)
            items.append((k, str(v)))
        c[tuple(items)] += 1
    return c


def show(row):
    return "  " + " ".join(f"{k}={v}" for k, v in row)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--logs", default=DEFAULT_LOGS)
    ap.add_argument("--show", type=int, default=10, help="differing rows shown per log")
    ap.add_argument("--superset", action="append", default=[],
                    help="LOG: A's rows must be in B; B may have more")
    ap.add_argument("--ignore-note", action="append", default=[],
                    help="leave out notice rows whose note starts with this")
    ap.add_argument("a")
    ap.add_argument("b")
    args = ap.parse_args()
    for d in (args.a, args.b):
        if not os.path.isdir(d):
            print(f"logdiff: {d}: not a directory", file=sys.stderr)
            return 2
    ta, tb = conn_tuples(args.a), conn_tuples(args.b)
    bad = 0
    for name in args.logs.split(","):
        ga = read_log(os.path.join(args.a, name + ".log"))
        gb = read_log(os.path.join(args.b, name + ".log"))
        ra = ga[1] if ga else []
        rb = gb[1] if gb else []
        if name == "notice" and args.ignore_note:
            keep = lambda r: not any(str(r.get("note", "")).startswith(p)
                                     for p in args.ignore_note)
            ra, rb = [r for r in ra if keep(r)], [r for r in rb if keep(r)]
        ca = canon(ra, ga[0], ta) if ga else Counter()
        cb = canon(rb, gb[0], tb) if gb else Counter()
        only_a, only_b = ca - cb, cb - ca
        if name in args.superset and not only_a:
            print(f"logdiff: {name}: all {sum(ca.values())} rows of {args.a} are in {args.b} "
                  f"({sum(only_b.values())} more there)")
            continue
        na, nb = sum(ca.values()), sum(cb.values())
        if not only_a and not only_b:
            print(f"logdiff: {name}: {na} rows, same")
            continue
        bad += 1
        print(f"logdiff: {name}: DIFFERENT: {na} rows in {args.a}, {nb} in {args.b}; "
              f"{sum(only_a.values())} only in the first, {sum(only_b.values())} only in the "
              f"second")
        for label, only in (("only in " + args.a, only_a), ("only in " + args.b, only_b)):
            for i, row in enumerate(sorted(only.elements())):
                if i == args.show:
                    print(f"  ... ({sum(only.values()) - args.show} more {label})")
                    break
                print(f" {label}:")
                print(show(row))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
