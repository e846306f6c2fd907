#!/usr/bin/env python3
"""Send every frame of a pcap (Ethernet link type) once out of a network
interface through an AF_PACKET socket; print the number of frames sent.

Usage: pcap_inject.py IFACE PCAP [--gap-every N]
Run inside the namespace that holds IFACE (ip netns exec NS ...). Every
--gap-every frames it pauses a millisecond, so that a receiver's ring is not
overrun by a burst (the test counts frames, not speed). Exit 2 on a pcap it
cannot read, 1 on a short send.
"""
import socket
import struct
import sys
import time


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError("shorter than a pcap header")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError("not a pcap file (magic %s)" % magic.hex())
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0xFFFF
    if linktype != 1:
        raise ValueError("link type %d is not Ethernet" % linktype)
    off = 24
    while off < len(data):
        if off + 16 > len(data):
            raise ValueError("truncated record header at offset %d" % off)
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        if off + caplen > len(data):
            raise ValueError("truncated record at offset %d" % off)
        yield data[off:off + caplen]
        off += caplen


def main(argv):
    if len(argv) not in (3, 5) or (len(argv) == 5 and argv[3] != "--gap-every"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    iface, path = argv[1], argv[2]
    gap = int(argv[4]) if len(argv) == 5 else 64
    try:
        pkts = list(frames(path))
    except (OSError, ValueError) as e:
        print("pcap_inject: %s: %s" % (path, e), file=sys.stderr)
        return 2
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    sent = 0
    for i, p in enumerate(pkts):
        if s.send(p) != len(p):
            print("pcap_inject: short send of frame %d" % i, file=sys.stderr)
            return 1
        sent += 1
        if gap > 0 and sent % gap == 0:
            time.sleep(0.001)
    s.close()
    print(sent)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
