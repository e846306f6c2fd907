#!/usr/bin/env python3
"""Send garbage to a ZeroMQ TCP endpoint, for the cluster fault tests.

    zpoke.py raw HOST PORT            random bytes on a plain TCP connection
    zpoke.py zmtp HOST PORT TYPE      a correct ZMTP 3.0 handshake as socket
                                      TYPE (DEALER, PUSH, ...), then bad
                                      messages: random bytes, a truncated
                                      sl_wire header, a valid msgpack body of
                                      the wrong shape, and a message with
                                      three frames
    zpoke.py batch HOST PORT NODE SEQ one well-formed sl_wire log batch
                                      (node, seq) of one conn record to a
                                      logger, as a DEALER; waits for the ack

Speaks ZMTP itself (no pyzmq needed): greeting, NULL mechanism, READY.
Exits 0 once everything was written.
"""
import os
import random
import socket
import struct
import sys
import time


def greeting():
    sig = b"\xff" + b"\x00" * 8 + b"\x7f"
    mech = b"NULL".ljust(20, b"\x00")
    return sig + bytes([3, 0]) + mech + b"\x00" + b"\x00" * 31


def command(name, body):
    data = bytes([len(name)]) + name + body
    return bytes([0x04, len(data)]) + data


def prop(name, value):
    return bytes([len(name)]) + name + struct.pack(">I", len(value)) + value


def frame(data, more=False):
    flags = 0x01 if more else 0x00
    if len(data) < 256:
        return bytes([flags, len(data)]) + data
    return bytes([flags | 0x02]) + struct.pack(">Q", len(data)) + data


def mp(v):
    """The msgpack subset sl_wire uses: str, unsigned int, array."""
    if isinstance(v, str):
        b = v.encode()
        return (bytes([0xa0 | len(b)]) if len(b) < 32 else bytes([0xd9, len(b)])) + b
    if isinstance(v, int):
        return bytes([v]) if v < 128 else b"\xcf" + struct.pack(">Q", v)
    assert len(v) < 16
    return bytes([0x90 | len(v)]) + b"".join(mp(x) for x in v)


def read_frame(s):
    head = s.recv(2)
    if len(head) < 2:
        return None
    n = head[1]
    if head[0] & 0x02:
        n = struct.unpack(">Q", head[1:2] + s.recv(7))[0]
    data = b""
    while len(data) < n:
        data += s.recv(n - len(data))
    return head[0], data


def handshake(s, stype, ident):
    """Greeting both ways, then our READY (libzmq wants the greeting read
    before the READY arrives)."""
    s.sendall(greeting())
    got = b""
    while len(got) < 64:
        more = s.recv(64 - len(got))
        if not more:
            raise SystemExit("zpoke: the peer closed the connection during the greeting")
        got += more
    s.sendall(command(b"READY", prop(b"Socket-Type", stype) + prop(b"Identity", ident)))


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(int(os.environ.get("ZPOKE_SEED", "1")))
    s = socket.create_connection((host, port), timeout=5)
    if mode == "raw":
        s.sendall(bytes(rng.randrange(256) for _ in range(4096)))
    elif mode == "zmtp":
        handshake(s, sys.argv[4].encode(), b"zpoke")
        msgs = [
            bytes(rng.randrange(256) for _ in range(300)),  # noise
            b"\x01",                                        # a header cut short
            b"\x01\x07" + b"\x93\xa1x\x01\xa1y",             # ack: 3 elements, wants 4
            b"\x01\x02" + b"\xdd\xff\xff\xff\xff",           # an array claiming 4G elements
            b"\x09\x01\x90",                                # wire version 9
        ]
        for m in msgs:
            s.sendall(frame(m))
        s.sendall(frame(b"a", True) + frame(b"b", True) + frame(b"c"))  # three frames
    elif mode == "batch":
        node, seq = sys.argv[4], int(sys.argv[5])
        handshake(s, b"DEALER", f"zpoke-{os.getpid()}".encode())
        body = mp([node, seq, [["conn", [["ts", 0], ["note", 6]], [["1.5", "from zpoke"]]]]])
        s.sendall(frame(b"\x01\x01" + body))
        while True:  # its READY, then the ack
            f = read_frame(s)
            if f is None:
                print("zpoke: no ack", file=sys.stderr)
                return 1
            if not f[0] & 0x04 and f[1][:2] == b"\x01\x07":
                print("zpoke: acknowledged")
                break
    else:
        print(f"zpoke: unknown mode {mode}", file=sys.stderr)
        return 2
    time.sleep(0.3)  # let the peer read it before the connection closes
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
