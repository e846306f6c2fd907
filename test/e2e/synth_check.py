#!/usr/bin/env python3
"""Independent checker for sluice-synth's pcaps (no code shared with it).

Reads a pcap, walks every frame through Ethernet, 802.1Q/802.1ad, MPLS,
PPPoE, IPv4/IPv6 (extension and fragment headers), GRE (incl. TEB), VXLAN,
GENEVE, GTP-U and IP-in-IP down to TCP/UDP/ICMP, and checks what a real
analyzer relies on: record framing, timestamp order, IPv4 header checksums,
TCP/UDP/ICMP/ICMPv6 checksums, IP/UDP lengths against the bytes present,
and TCP sequence/acknowledgement consistency per connection (data never
starts beyond what was sent before, ACKs never acknowledge unsent data).

Prints a JSON summary on stdout. Exit status 0 when it could read the file.
"""
import json
import struct
import sys
from collections import Counter


class Frame:
    pass


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


class Checker:
    def __init__(self):
        self.c = Counter()  # everything counted by name
        self.problems = Counter()  # inconsistencies by name
        self.tcp = {}  # conn key -> {dir: next seq}
        self.samples = {}
        self.frags = {}  # (src, dst, proto, id) -> {offset: (data, more)}
        self.now = 0  # timestamp of the frame being checked
        self.conn_bytes = Counter()  # innermost TCP/UDP 5-tuple (unordered) -> wire bytes
        self.frame_len = 0
        self.syn_dsts = {}  # (src, dport) -> {dst: first time}
        self.syn_ports = {}  # (src, dst) -> {dport}
        self.syn_srcs = {}  # (dst, dport) -> {src}

    def problem(self, name, idx):
        self.problems[name] += 1
        self.samples.setdefault(name, idx)

    # --- L2 -------------------------------------------------------------
    def eth(self, d, idx, depth=0):
        if len(d) < 14:
            return self.problem("truncated_eth", idx)
        et = struct.unpack("!H", d[12:14])[0]
        off = 14
        while et in (0x8100, 0x88A8):
            if len(d) < off + 4:
                return self.problem("truncated_vlan", idx)
            self.c["vlan_0x%04x" % et] += 1
            et = struct.unpack("!H", d[off + 2 : off + 4])[0]
            off += 4
        if et == 0x8847:
            n = 0
            while True:
                if len(d) < off + 4:
                    return self.problem("truncated_mpls", idx)
                w = struct.unpack("!I", d[off : off + 4])[0]
                off += 4
                n += 1
                if w & 0x100:
                    break
            self.c["mpls_labels_%d" % n] += 1
            v = d[off] >> 4 if len(d) > off else 0
            et = 0x0800 if v == 4 else 0x86DD
        if et == 0x8864:
            if len(d) < off + 8:
                return self.problem("truncated_pppoe", idx)
            plen = struct.unpack("!H", d[off + 4 : off + 6])[0]
            if plen != len(d) - off - 6 and not self.padded(d, off + 6 + plen):
                self.problem("pppoe_len", idx)
            proto = struct.unpack("!H", d[off + 6 : off + 8])[0]
            self.c["pppoe"] += 1
            off += 8
            et = {0x21: 0x0800, 0x57: 0x86DD}.get(proto, 0)
        if et == 0x0800:
            return self.ipv4(d[off:], idx, depth)
        if et == 0x86DD:
            return self.ipv6(d[off:], idx, depth)
        self.c["ethertype_0x%04x" % et] += 1

    @staticmethod
    def padded(d, end):
        return len(d) == 60 and end <= 60 and not any(d[end:])

    # --- L3 -------------------------------------------------------------
    def ipv4(self, d, idx, depth):
        if len(d) < 20:
            return self.problem("truncated_ip", idx)
        if d[0] >> 4 != 4:
            return self.problem("ip_version", idx)
        ihl = (d[0] & 15) * 4
        tot = struct.unpack("!H", d[2:4])[0]
        if ihl < 20 or len(d) < ihl:
            return self.problem("bad_ihl", idx)
        if csum(d[:ihl]) != 0xFFFF:
            self.problem("ip_checksum", idx)
        if tot < ihl:
            return self.problem("ip_len_small", idx)
        if tot > len(d):
            return self.problem("ip_len_big", idx)
        if tot < len(d) and any(d[tot:]) and depth == 0:
            self.problem("ip_trailing_bytes", idx)
        d = d[:tot]
        ff = struct.unpack("!H", d[6:8])[0]
        self.c["ipv4"] += 1
        src, dst, proto = d[12:16], d[16:20], d[9]
        payload = d[ihl:]
        if ff & 0x3FFF:
            self.c["ipv4_fragment"] += 1
            payload = self.reassemble((src, dst, proto, d[4:6]), (ff & 0x1FFF) * 8,
                                      bool(ff & 0x2000), payload, idx)
            if payload is None:
                return
        ph = src + dst + struct.pack("!BBH", 0, proto, len(payload))
        self.l4(proto, payload, ph, src, dst, idx, depth, 4)

    def ipv6(self, d, idx, depth):
        if len(d) < 40:
            return self.problem("truncated_ip6", idx)
        plen = struct.unpack("!H", d[4:6])[0]
        if 40 + plen > len(d):
            return self.problem("ip6_len_big", idx)
        if 40 + plen < len(d) and any(d[40 + plen :]) and depth == 0:
            self.problem("ip_trailing_bytes", idx)
        d = d[: 40 + plen]
        self.c["ipv6"] += 1
        nh, off = d[6], 40
        src, dst = d[8:24], d[24:40]
        while nh in (0, 43, 60, 44):
            if len(d) < off + 8:
                return self.problem("truncated_ext", idx)
            if nh == 44:
                self.c["ipv6_fragment"] += 1
                fo = struct.unpack("!H", d[off + 2 : off + 4])[0]
                key = (src, dst, d[off], d[off + 4 : off + 8])
                whole = self.reassemble(key, fo & 0xFFF8, bool(fo & 1), d[off + 8 :], idx)
                if whole is None:
                    return
                nh = d[off]
                d, off = d[:off] + whole, off
                continue
            ln = (d[off + 1] + 1) * 8
            nh, off = d[off], off + ln
        ph = src + dst + struct.pack("!I", len(d) - off) + b"\0\0\0" + bytes([nh])
        self.l4(nh, d[off:], ph, src, dst, idx, depth, 6)

    def reassemble(self, key, off, more, data, idx):
        """Keeps fragments until the datagram is whole; returns it then."""
        if key not in self.frags and off:
            self.c["fragments_out_of_order"] += 1
        parts = self.frags.setdefault(key, {})
        if off in parts:
            self.problem("duplicate_fragment", idx)
        parts[off] = (data, more)
        pos, out = 0, b""
        while pos in parts:
            piece, m = parts[pos]
            out += piece
            if not m:
                del self.frags[key]
                self.c["reassembled"] += 1
                return out
            if not piece:
                return None
            pos += len(piece)
        return None

    # --- L4 and tunnels ---------------------------------------------------
    def l4(self, proto, d, ph, src, dst, idx, depth, ver):
        if proto == 6:
            self.c["tcp"] += 1
            if len(d) < 20 or (d[12] >> 4) < 5 or len(d) < (d[12] >> 4) * 4:
                return self.problem("bad_tcp_header", idx)
            if csum(ph + d) != 0xFFFF:
                self.problem("tcp_checksum", idx)
            self.tcp_track(d, src, dst, idx)
        elif proto == 17:
            self.c["udp"] += 1
            if len(d) < 8:
                return self.problem("truncated_udp", idx)
            ulen = struct.unpack("!H", d[4:6])[0]
            if ulen != len(d):
                return self.problem("udp_len", idx)
            if struct.unpack("!H", d[6:8])[0] and csum(ph + d) != 0xFFFF:
                self.problem("udp_checksum", idx)
            sp, dp = struct.unpack("!HH", d[:4])
            a, b = (src, sp), (dst, dp)
            self.conn_bytes[(min(a, b), max(a, b))] += self.frame_len
            self.udp_tunnel(sp, dp, d[8:], idx, depth)
        elif proto in (1, 58):
            self.c["icmp" if proto == 1 else "icmp6"] += 1
            if len(d) < 8:
                return self.problem("truncated_icmp", idx)
            if csum((ph if proto == 58 else b"") + d) != 0xFFFF:
                self.problem("icmp_checksum", idx)
            if d[0] in (3, 1) and proto == (1 if d[0] == 3 else 58):
                self.c["icmp_unreachable"] += 1
        elif proto == 47:
            self.gre(d, idx, depth)
        elif proto == 4:
            self.c["tun_ipip"] += 1
            self.ipv4(d, idx, depth + 1)
        elif proto == 41:
            self.c["tun_6in4"] += 1
            self.ipv6(d, idx, depth + 1)
        else:
            self.c["ipproto_%d" % proto] += 1

    def gre(self, d, idx, depth):
        if len(d) < 4:
            return self.problem("truncated_gre", idx)
        fl, proto = struct.unpack("!HH", d[:4])
        off = 4 + (4 if fl & 0x8000 else 0) + (4 if fl & 0x2000 else 0) + (4 if fl & 0x1000 else 0)
        if proto == 0x6558:
            self.c["tun_gre_teb"] += 1
            return self.eth(d[off:], idx, depth + 1)
        self.c["tun_gre"] += 1
        if proto == 0x0800:
            return self.ipv4(d[off:], idx, depth + 1)
        if proto == 0x86DD:
            return self.ipv6(d[off:], idx, depth + 1)

    def scan_stats(self):
        """Widest address scan (hosts on one port, and how fast the first
        30 were probed), widest port scan, most SYN sources to one server."""
        best_hosts, within = 0, None
        for dsts in self.syn_dsts.values():
            if len(dsts) > best_hosts:
                best_hosts = len(dsts)
                times = sorted(dsts.values())
                within = times[29] - times[0] if len(times) >= 30 else None
        ports = max((len(p) for p in self.syn_ports.values()), default=0)
        srcs = max((len(s) for s in self.syn_srcs.values()), default=0)
        return {"addr_scan_hosts": best_hosts, "addr_scan_30_hosts_us": within,
                "port_scan_ports": ports, "syn_sources_one_server": srcs}

    def udp_tunnel(self, sp, dp, d, idx, depth):
        if dp == 4789:
            self.c["tun_vxlan"] += 1
            if len(d) < 8:
                return self.problem("truncated_vxlan", idx)
            return self.eth(d[8:], idx, depth + 1)
        if dp == 6081:
            self.c["tun_geneve"] += 1
            if len(d) < 8:
                return self.problem("truncated_geneve", idx)
            off = 8 + (d[0] & 0x3F) * 4
            if off > len(d):
                return self.problem("truncated_geneve", idx)
            proto = struct.unpack("!H", d[2:4])[0]
            if proto == 0x6558:
                return self.eth(d[off:], idx, depth + 1)
            return
        if dp == 2152 and sp == 2152:
            self.c["tun_gtpu"] += 1
            if len(d) < 8:
                return self.problem("truncated_gtpu", idx)
            if struct.unpack("!H", d[2:4])[0] != len(d) - 8:
                self.problem("gtpu_len", idx)
            inner = d[8:]
            if inner and inner[0] >> 4 == 4:
                return self.ipv4(inner, idx, depth + 1)
            if inner and inner[0] >> 4 == 6:
                return self.ipv6(inner, idx, depth + 1)
        if 53 in (sp, dp):
            self.c["dns"] += 1

    def tcp_track(self, d, src, dst, idx):
        sp, dp, seq, ack = struct.unpack("!HHII", d[:12])
        flags = d[13]
        plen = len(d) - (d[12] >> 4) * 4
        a, b = (src, sp), (dst, dp)
        key = (min(a, b), max(a, b))
        self.conn_bytes[key] += self.frame_len
        if flags & 0x12 == 0x02:  # a SYN: who probes whom
            self.syn_dsts.setdefault((src, dp), {}).setdefault(dst, self.now)
            self.syn_ports.setdefault((src, dst), set()).add(dp)
            self.syn_srcs.setdefault((dst, dp), set()).add(src)
        me = 0 if a <= b else 1
        st = self.tcp.get(key)
        self.c["tcp_syn"] += bool(flags & 2 and not flags & 0x10)
        self.c["tcp_rst"] += bool(flags & 4)
        self.c["tcp_fin"] += bool(flags & 1)
        if flags & 2:
            if st is None or not (flags & 0x10):
                st = self.tcp[key] = [None, None]
            st[me] = (seq + 1) & 0xFFFFFFFF
            return
        if st is None or st[me] is None:
            return  # mid-stream (scan RSTs, reset of a half-open connection)
        nxt = st[me]
        delta = (seq - nxt) & 0xFFFFFFFF
        if 0 < delta < 0x80000000:
            self.problem("tcp_seq_gap", idx)
        elif delta == 0:
            st[me] = (seq + plen + (1 if flags & 1 else 0)) & 0xFFFFFFFF
        else:
            self.c["tcp_retransmission"] += plen > 0
        other = st[1 - me]
        if flags & 0x10 and other is not None:
            if 0 < ((ack - other) & 0xFFFFFFFF) < 0x80000000:
                self.problem("tcp_ack_unsent", idx)
        if flags & 4:
            self.tcp.pop(key, None)


def main():
    path = sys.argv[1]
    with open(path, "rb") as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            print(json.dumps({"error": "short file"}))
            return 1
        magic, vmaj, vmin, _, _, snap, link = struct.unpack("<IHHiIII", hdr)
        if magic != 0xA1B2C3D4:
            print(json.dumps({"error": "not a little-endian microsecond pcap"}))
            return 1
        ck = Checker()
        n = 0
        last = 0
        out_of_order = 0
        wire = 0
        first = None
        cut = 0
        sizes = Counter()
        max_len = 0
        while True:
            rh = f.read(16)
            if not rh:
                break
            if len(rh) < 16:
                print(json.dumps({"error": "truncated record header"}))
                return 1
            sec, usec, incl, orig = struct.unpack("<IIII", rh)
            data = f.read(incl)
            if len(data) < incl or usec >= 1000000 or incl > orig or incl > snap:
                print(json.dumps({"error": "bad record %d" % n}))
                return 1
            t = sec * 1000000 + usec
            first = t if first is None else first
            out_of_order += t < last
            last = max(last, t)
            wire += orig
            cut += incl < orig
            sizes["<=64" if orig <= 64 else "<=600" if orig <= 600 else ">600"] += 1
            ck.now, ck.frame_len = t, orig
            max_len = max(max_len, orig)
            if incl == orig:
                ck.eth(data, n)
            else:
                ck.c["snaplen_cut"] += 1
            n += 1
    res = {
        "version": "%d.%d" % (vmaj, vmin),
        "linktype": link,
        "packets": n,
        "wire_bytes": wire,
        "span_us": (last - first) if n else 0,
        "first_ts": first,
        "out_of_order": out_of_order,
        "snaplen_cut": cut,
        "sizes": dict(sizes),
        "max_len": max_len,
        "top3_conn_byte_share": round(sum(b for _, b in ck.conn_bytes.most_common(3)) / wire, 3)
        if wire else 0,
        "scan": ck.scan_stats(),
        "counts": dict(sorted(ck.c.items())),
        "problems": dict(sorted(ck.problems.items())),
        "first_problem_at": ck.samples,
    }
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
