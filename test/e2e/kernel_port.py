#!/usr/bin/env python3
"""Helpers of frontend_kernel.sh (kernel output ports).

kernel_port.py make OUT.pcap
    Writes a pcap of frames at the edges of what a kernel link carries:
    runts (1..13 bytes), 802.1Q / 802.1ad frames of 14..21 bytes, frames
    around MTU + 14 (+ 4 for an 802.1Q tag), a snapped record (caplen <
    len), between ordinary frames.

kernel_port.py check KIND MTU ROOM INPUT.pcap SUMMARY.json CAPTURE.pcap
    KIND is af_packet or tap. From the kernel's rules (written here again,
    independently of core/sl_ktx.h) it works out which frames of INPUT a
    link of that kind loses, and checks that the frontend's summary (its last
    JSON line) counts exactly those per reason, that in = out + drops, and
    that CAPTURE (taken at the far end of the link) holds exactly the other
    frames, in order, each with the worker's MAC as destination.
    MTU 0 / ROOM 0: that limit does not apply. Exit 1 with the reason.

kernel_port.py count CAPTURE.pcap
    Prints the number of frames in a pcap.
"""
import json
import struct
import sys

WORKER_MAC = bytes.fromhex("020000000001")


def read_pcap(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    out, off = [], 24
    while off + 16 <= len(data):
        _, _, cap, wire = struct.unpack(e + "IIII", data[off:off + 16])
        out.append((data[off + 16:off + 16 + cap], wire))
        off += 16 + cap
    return out


def write_pcap(path, recs):
    hdr = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    body = b"".join(struct.pack("<IIII", 1, i, len(f), w) + f for i, (f, w) in enumerate(recs))
    open(path, "wb").write(hdr + body)


def frame(ethertype, total, tag=b""):
    """An IPv4/UDP frame of `total` bytes (cut or zero-filled to size)."""
    hdr = bytes.fromhex("0a0000000001" "0a0000000002") + struct.pack(">H", ethertype) + tag
    n = max(total - len(hdr), 0)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, n, 1, 0, 64, 17, 0, bytes([10, 0, 0, 1]),
                     bytes([10, 0, 0, 2]))
    udp = struct.pack(">HHHH", 1000, 2000, max(n - 20, 0), 0)
    return (hdr + ip + udp + bytes(n))[:total]


def make(path):
    recs = []

    def add(f, wire=None):
        recs.append((f, len(f) if wire is None else wire))

    for n in (60, 100, 1000, 1514):
        add(frame(0x0800, n))
    for n in range(1, 14):  # runts, each followed by a good frame in the same burst
        add(frame(0x0800, n))
        add(frame(0x0800, 64))
    for n in range(14, 22):
        add(frame(0x8100, n))
    add(frame(0x8100, 64))
    for n in (16, 19, 20):
        add(frame(0x88A8, n))
    add(frame(0x9100, 16))  # not a tag the kernel strips
    tag = b"\x00\x05\x08\x00"
    add(frame(0x0800, 1515))
    add(frame(0x0800, 1600))
    add(frame(0x8100, 1518, tag))
    add(frame(0x8100, 1519, tag))
    add(frame(0x88A8, 1515, tag))
    add(frame(0x0800, 100), 200)  # snapped
    add(frame(0x0800, 10), 60)  # a runt, snapped too: the runt counts
    add(frame(0x0800, 64))
    write_pcap(path, recs)


def verdict(kind, mtu, room, f, wire):
    n = len(f)
    if n < 14:
        return "runt"
    et = struct.unpack(">H", f[12:14])[0]
    if et in (0x8100, 0x88A8) and n < 20:
        return "vlan_runt"
    if room and n > room:
        return "oversize"
    if kind == "af_packet" and mtu and n > mtu + 14 + (4 if et == 0x8100 else 0):
        return "oversize"
    if wire > n:
        return "snapped"
    return "ok"


def check(kind, mtu, room, inp, summary, capture):
    s = json.loads([l for l in open(summary) if l.startswith("{")][-1])
    want = {"runt": 0, "vlan_runt": 0, "oversize": 0, "snapped": 0}
    sent = []
    for f, wire in read_pcap(inp):
        v = verdict(kind, mtu, room, f, wire)
        if v == "ok":
            sent.append(WORKER_MAC + f[6:] if len(f) >= 6 else f)
        else:
            want[v] += 1
    got = {k: s["drops"][k] for k in want}
    if got != want:
        return "drops by reason %s, the kernel's rules say %s" % (got, want)
    if s["in"]["packets"] != s["out"]["packets"] + s["drops"]["total"] or not s["balanced"]:
        return "in != out + drops: %s %s %s" % (s["in"], s["out"], s["drops"])
    if s["out"]["packets"] != len(sent):
        return "the frontend sent %d frames, the rules say %d" % (s["out"]["packets"], len(sent))
    link = s["links"][0]
    if not link.get("kernel") or link["refused"] != sum(want.values()):
        return "link not marked kernel or refused miscounted: %s" % link
    if link["mtu"] != mtu or link["room"] != room:
        return "the frontend took the link for mtu %d room %d, not %d %d" % (
            link["mtu"], link["room"], mtu, room)
    if s["workers"][0]["dropped"] != sum(want.values()):
        return "worker's dropped %s, expected %d" % (s["workers"][0], sum(want.values()))
    got_frames = [f for f, _ in read_pcap(capture)]
    if got_frames != sent:
        lens = ([len(f) for f in got_frames], [len(f) for f in sent])
        return "the far end captured other frames than sent: %s vs %s" % lens
    return None


def main(argv):
    if len(argv) == 3 and argv[1] == "make":
        make(argv[2])
        return 0
    if len(argv) == 3 and argv[1] == "count":
        print(len(read_pcap(argv[2])))
        return 0
    if len(argv) == 8 and argv[1] == "check":
        why = check(argv[2], int(argv[3]), int(argv[4]), argv[5], argv[6], argv[7])
        if why:
            print("FAIL: %s %s" % (argv[2], why))
            return 1
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
