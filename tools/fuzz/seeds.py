#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""tools/fuzz/seeds.py: write the codec fuzzer's seed corpus (corpus/codec)
from docs/protocol.md: a preface, then frames of every type, valid and
at every field's edge.  Each seed starts with the fuzzer's 4 control
bytes (cuts, pauses, which callback fails)."""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "codec")


def preface(window=262144, max_streams=16, version=1, flags=0, rsv=0,
            magic=b"AFMUX\r\n\0"):
    return magic + struct.pack(">HHIII", version, flags, window,
                               max_streams, rsv)


def frame(ftype, stream, payload=b"", flags=0, rsv=0, length=None):
    n = len(payload) if length is None else length
    return struct.pack(">BBHII", ftype, flags, rsv, n, stream) + payload


DATA, OPEN, END, RESET, WINDOW, PING, GOAWAY, POOL = range(8)
R = 1 << 31
HELLO = b"AFMUX\0\0\2"
CRED = struct.pack(">Q", 0x0102030405060708) + bytes(range(16))


def join_preface(flags=1, version=2, cred=CRED, **kw):
    return preface(version=version, flags=flags, **kw) + cred


seeds = {
    "valid-mix": preface() + frame(OPEN, 1, b"key") +
    frame(DATA, 1, b"hello" * 40) + frame(WINDOW, R | 1, b"\0\4\0\0") +
    frame(PING, 0, b"12345678") + frame(PING, 0, b"abcdefgh", flags=1) +
    frame(END, 1) + frame(RESET, 1, b"\0\0\0\4") +
    frame(GOAWAY, 0, b"\0\0\0\1\0\0\0\0"),
    "big-key": preface() + frame(OPEN, 7, b"k" * 1024) +
    frame(DATA, 7, bytes(range(256)) * 64),
    "key-too-long": preface() + frame(OPEN, 1, b"k" * 1025),
    "data-zero": preface() + frame(DATA, 1),
    "data-max-header": preface() + frame(DATA, 1, length=16 * 1024 * 1024),
    "data-too-long": preface() + frame(DATA, 1, length=16 * 1024 * 1024 + 1),
    "bad-type": preface() + frame(7, 1),
    "bad-flags": preface() + frame(PING, 0, b"12345678", flags=2),
    "bad-reserved": preface() + frame(END, 1, rsv=1),
    "ping-on-stream": preface() + frame(PING, 3, b"12345678"),
    "open-r-bit": preface() + frame(OPEN, R | 1),
    "stream-zero": preface() + frame(DATA, 0, b"x"),
    "preface-version": preface(version=2),
    "preface-window-low": preface(window=4095),
    "preface-window-high": preface(window=64 * 1024 * 1024 + 1),
    "preface-no-streams": preface(max_streams=0),
    "preface-magic": preface(magic=b"AFMUX\r\n\1"),
    "ping-flood": preface() + frame(PING, 0, b"pingping") * 200,
    "open-flood": preface() + b"".join(frame(OPEN, i) for i in range(1, 300)),
    "short": preface()[:10],
    "hello-pool": preface() + frame(PING, 0, HELLO) + frame(POOL, 0, CRED) +
    frame(OPEN, 1, b"k"),
    "pool-bad-length": preface() + frame(PING, 0, HELLO) +
    frame(POOL, 0, CRED[:23]),
}
# Seeds read with a join preface expected (§12.3): control bit 0x20.
join_seeds = {
    "join-valid": join_preface() + frame(OPEN, 5, b"j") +
    frame(DATA, 5, b"x" * 100),
    "join-v1-preface": preface() + frame(OPEN, 1),
    "join-flags": join_preface(flags=3),
    "join-version-3": join_preface(version=3),
    "join-id-zero": join_preface(cred=bytes(24)),
    "join-short": join_preface()[:40],
}
os.makedirs(out, exist_ok=True)
for i, (name, stream) in enumerate(sorted(seeds.items())):
    ctl = struct.pack(">I", (i * 2654435761) & 0xffffffdf)
    with open(os.path.join(out, name), "wb") as f:
        f.write(ctl + stream)
for i, (name, stream) in enumerate(sorted(join_seeds.items())):
    ctl = struct.pack(">I", ((i + 100) * 2654435761) & 0xffffffff | 0x20)
    with open(os.path.join(out, name), "wb") as f:
        f.write(ctl + stream)
