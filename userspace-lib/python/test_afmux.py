# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tests of afmux.py; they need the module loaded (make check runs them in
the 6.1 and 6.12 VMs, tools/test-bindings)."""
import hashlib
import os
import random
import socket
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import afmux  # noqa: E402


def tcp_pair():
    lst = socket.create_server(("127.0.0.1", 0))
    c = socket.create_connection(lst.getsockname())
    s, _ = lst.accept()
    lst.close()
    return c, s


def pair(pool=False):
    c, s = tcp_pair()
    return afmux.Conn(c, pool), afmux.Conn(s, pool)


def read_all(s):
    chunks = []
    while True:
        b = s.recv(1 << 18)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


class TestAfmux(unittest.TestCase):
    def setUp(self):
        self.client, self.server = pair()

    def tearDown(self):
        self.client.close()
        self.server.close()

    def test_case0(self):
        msg = random.Random(1).randbytes(300)
        reply = random.Random(2).randbytes(200)
        w = self.client.send("hello")
        self.assertEqual(w.stream_id, 1)
        w.sendall(msg)
        w.close()
        key, r = self.server.receive()
        self.assertEqual(key, "hello")
        self.assertEqual(r.stream_id, 1)
        self.assertEqual(read_all(r), msg)
        r.close()
        w = self.server.send("reply")
        w.sendall(reply)
        w.close()
        key, r = self.client.receive()
        self.assertEqual((key, read_all(r)), ("reply", reply))
        r.close()

    def transfer(self, frm, to, keys, n):
        sums, got = {}, {}

        def sender(key, seed):
            h = hashlib.sha256()
            rnd = random.Random(seed)
            w = frm.send(key)
            left = n
            while left:
                b = rnd.randbytes(min(left, 1 << 18))
                h.update(b)
                w.sendall(b)
                left -= len(b)
            w.close()
            sums[key] = h.hexdigest()

        def receiver():
            key, r = to.receive()
            h = hashlib.sha256()
            total = 0
            while True:
                b = r.recv(1 << 18)
                if not b:
                    break
                h.update(b)
                total += len(b)
            r.close()
            got[key] = (total, h.hexdigest())

        ts = [threading.Thread(target=sender, args=(k, i))
              for i, k in enumerate(keys)]
        ts += [threading.Thread(target=receiver) for _ in keys]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for k in keys:
            self.assertEqual(got[k], (n, sums[k]), k)

    def test_three_streams_sha256(self):
        n = 20 * 1000 * 1000
        self.transfer(self.client, self.server, ["c2s"], n)
        self.transfer(self.server, self.client, ["s2c 1", "s2c 2"], n)

    def test_binary_key_and_limits(self):
        key = bytes(range(256)) * 4
        w = self.client.open(key)
        w.close()
        got, r = self.server.accept()
        self.assertEqual(got, key)
        r.close()
        with self.assertRaises(ValueError):
            self.client.open(b"x" * (afmux.KEY_MAX + 1))

    def test_pool(self):
        """Both ends join a second TCP connection: streams go to both
        connections (idle ones alternate) and carry their bytes."""
        a, b = pair(pool=True)
        try:
            c, s = tcp_pair()
            got = []
            t = threading.Thread(target=lambda: got.append(b.join(s)))
            t.start()
            self.assertEqual(a.join(c), 1)
            t.join()
            self.assertEqual(got, [1])
            streams = [a.open("p%d" % i) for i in range(4)]
            self.assertEqual([w.link for w in streams], [0, 1, 0, 1])
            for i, w in enumerate(streams):
                w.sendall(b"x" * (i + 1))
                w.close()
            for _ in streams:
                key, r = b.accept()
                i = int(key[1:])
                self.assertEqual(r.link, i % 2)
                self.assertEqual(read_all(r), b"x" * (i + 1))
                r.close()
        finally:
            a.close()
            b.close()

    def test_end(self):
        self.client.close()
        with self.assertRaises(EOFError):
            self.server.receive()


if __name__ == "__main__":
    unittest.main(verbosity=2)
