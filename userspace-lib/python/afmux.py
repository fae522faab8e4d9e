# SPDX-License-Identifier: LGPL-2.1-or-later
"""afmux: the AF_MUX socket family of the afmux kernel module, from Python.

Many keyed byte streams over one TCP connection; each stream is an
ordinary socket object (read it, write it, shutdown, close, select).
Standard library only (socket, fcntl.ioctl, struct, array, ctypes)::

    conn = afmux.Conn(tcp_sock)       # attach a connected TCP socket
    s = conn.send("report.pdf")        # a new stream: sendall(), close()
    key, r = conn.receive()            # the next stream the peer opened
    conn.close()                       # no more streams; open ones go on

A pool (several TCP connections under one mux, afmux(7) "Pools"): both
ends make Conn(sock, pool=True), then both call conn.join(sock2) with
their ends of each further TCP connection; stream.link says where a
stream lives.

See afmux(7) for the socket family and libafmux(3) for the C library.
"""
import array
import ctypes
import fcntl
import os
import socket
import struct

FAMILY_PATH = "/sys/module/afmux/parameters/family"
FAMILY_DEFAULT = 19
KEY_MAX = 1024

# <linux/afmux.h> on x86-64
_IOC_ATTACH = 0x4010AF01
_IOC_OPEN = 0xC018AF02
_IOC_ACCEPT = 0xC018AF03
_IOC_JOIN = 0xC010AF04
_ATTACH_POOL = 1
_SOL_AFMUX = 299
_STREAM_INFO = 2
_STREAM_INFO_LEN = 16 + KEY_MAX + 8     # struct afmux_stream_info
_libc = ctypes.CDLL(None, use_errno=True)
_O_CLOEXEC = 0o2000000
_STREAM_ARG = "=QIIII"  # key, key_len, flags, stream_id, reserved


def family():
    """The family number the module registered (19 if not loaded yet:
    creating a socket of that family loads it)."""
    try:
        with open(FAMILY_PATH) as f:
            return int(f.read())
    except (OSError, ValueError):
        return FAMILY_DEFAULT


def _key_bytes(key):
    if isinstance(key, str):
        key = key.encode("utf-8", "surrogateescape")
    key = bytes(key)
    if len(key) > KEY_MAX:
        raise ValueError("afmux: key longer than %d bytes" % KEY_MAX)
    return key


class Stream(socket.socket):
    """One stream: a socket.socket with the stream's key and ID."""

    key = b""
    stream_id = 0

    @property
    def link(self):
        """The number of the pool's TCP connection the stream lives on (0:
        the first, attached one)."""
        # Through libc: socket.getsockopt() takes at most 1024 bytes.
        info = ctypes.create_string_buffer(_STREAM_INFO_LEN)
        size = ctypes.c_uint32(_STREAM_INFO_LEN)
        if _libc.getsockopt(self.fileno(), _SOL_AFMUX, _STREAM_INFO, info,
                            ctypes.byref(size)):
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return struct.unpack_from("=I", info.raw, 16 + KEY_MAX)[0]


def _stream(fd, key, stream_id):
    # Family, type and protocol given: a stream has no name to ask for.
    s = Stream(family(), socket.SOCK_STREAM, 0, fileno=fd)
    s.key = key
    s.stream_id = stream_id
    return s


class Conn:
    """One afmux connection: a mux socket with a TCP connection attached.

    Conn(sock) attaches the connected TCP socket sock and closes it (the
    kernel's mux keeps its own reference; the TCP socket is afmux's from
    then on).  The other end must attach too.  pool=True offers the peer a
    pool (AFMUX_ATTACH_POOL), so that more TCP connections can join.
    """

    def __init__(self, sock, pool=False):
        self._mux = socket.socket(family(), socket.SOCK_STREAM)
        try:
            fcntl.ioctl(self._mux.fileno(), _IOC_ATTACH,
                        struct.pack("=iIQ", sock.fileno(),
                                    _ATTACH_POOL if pool else 0, 0))
        except OSError:
            self._mux.close()
            raise
        sock.close()

    def fileno(self):
        """The mux socket's fd (readable when a stream waits)."""
        return self._mux.fileno()

    def join(self, sock):
        """Add the connected TCP socket sock to the pool (both ends
        attached with pool=True; the peer joins its end of the same TCP
        connection at the same time).  Returns the connection's number in
        the pool; closes sock either way (it is afmux's from then on)."""
        arg = bytearray(struct.pack("=iIII", sock.fileno(), 0, 0, 0))
        try:
            fcntl.ioctl(self._mux.fileno(), _IOC_JOIN, arg, True)
        finally:
            sock.close()
        return struct.unpack("=iIII", arg)[2]

    def open(self, key):
        """A new outgoing stream under key (bytes or str, at most
        KEY_MAX bytes)."""
        key = _key_bytes(key)
        buf = array.array("B", key or b"\0")
        arg = bytearray(struct.pack(_STREAM_ARG, buf.buffer_info()[0],
                                    len(key), _O_CLOEXEC, 0, 0))
        fd = fcntl.ioctl(self._mux.fileno(), _IOC_OPEN, arg, True)
        return _stream(fd, key, struct.unpack(_STREAM_ARG, arg)[3])

    def accept(self):
        """Wait for the next stream the peer opened: (key bytes, Stream).
        After the connection's end, OSError (EPIPE after a clean end)."""
        buf = array.array("B", bytes(KEY_MAX))
        arg = bytearray(struct.pack(_STREAM_ARG, buf.buffer_info()[0],
                                    KEY_MAX, _O_CLOEXEC, 0, 0))
        fd = fcntl.ioctl(self._mux.fileno(), _IOC_ACCEPT, arg, True)
        _, key_len, _, stream_id, _ = struct.unpack(_STREAM_ARG, arg)
        key = buf.tobytes()[:key_len]
        return key, _stream(fd, key, stream_id)

    def send(self, key):
        """The seed API: open a stream under key; write, then close it."""
        return self.open(key)

    def receive(self):
        """The seed API: (key as str, Stream) of the next incoming stream;
        EOFError once the peer ended the connection cleanly."""
        try:
            key, s = self.accept()
        except BrokenPipeError:
            raise EOFError("afmux: the connection has ended") from None
        return key.decode("utf-8", "surrogateescape"), s

    def close(self):
        """No more streams; streams already open carry on."""
        self._mux.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
