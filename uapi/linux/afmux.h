/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * afmux: many keyed byte streams over one connected TCP socket.
 *
 * The address family number.  Linux has no spare AF_* numbers for an
 * out-of-tree module (AF_MAX is 46 and sock_register() rejects anything
 * above it), so afmux takes a number that the running kernel does not use.
 * By default that is AFMUX_FAMILY_DEFAULT (19, the old AF_ECONET, whose
 * implementation was removed in Linux 3.5).  The module parameter "family"
 * overrides it; the number in use is published in AFMUX_FAMILY_PATH, and
 * userspace must read it from there rather than assume the default.
 *
 * Using it (see docs/protocol.md for the wire format):
 *
 *   mux = socket(family, SOCK_STREAM, 0);
 *   ioctl(mux, AFMUX_IOC_ATTACH, &(struct afmux_attach){ .fd = tcp_fd });
 *   fd = ioctl(mux, AFMUX_IOC_OPEN, &open);     - a new outgoing stream
 *   fd = ioctl(mux, AFMUX_IOC_ACCEPT, &acc);    - the next incoming stream
 *
 * Each stream fd is a bidirectional byte stream (read, write, shutdown,
 * poll, close) until both directions have ended.  After ATTACH the TCP
 * socket belongs to afmux for the rest of its life: read, write, splice,
 * sendfile, shutdown and connect on the TCP fd fail with EBUSY, and
 * getsockopt(TCP_ULP) reads "afmux" (docs/security.md).  Closing it is
 * fine: the mux holds its own reference.
 *
 * A TCP socket carrying kTLS, with keys for both directions, attaches too:
 * the connection then runs inside TLS (afmux(7), "Over TLS";
 * docs/protocol.md section 11), TCP_ULP still reads "tls", and
 * setsockopt(SOL_TLS, ...) on it fails with EBUSY.
 */
#ifndef _UAPI_LINUX_AFMUX_H
#define _UAPI_LINUX_AFMUX_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define AFMUX_FAMILY_DEFAULT	19
#define AFMUX_FAMILY_PATH	"/sys/module/afmux/parameters/family"

/* Longest stream key, in bytes.  Keys are arbitrary bytes; 0 is allowed. */
#define AFMUX_KEY_MAX		1024

/*
 * Receive window of a stream: how many bytes the peer may send on it
 * before the reader consumes any.  It starts at net.afmux.window
 * (AFMUX_WINDOW_DEFAULT unless changed) and grows while the reader keeps
 * up with a window that limits the stream (up to net.afmux.window_max and
 * net.ipv4.tcp_rmem[2]).  Setting it with the AFMUX_WINDOW socket option,
 * within [AFMUX_WINDOW_MIN, AFMUX_WINDOW_MAX], fixes it.
 */
#define AFMUX_WINDOW_DEFAULT	(256 * 1024)
#define AFMUX_WINDOW_MIN	4096
#define AFMUX_WINDOW_MAX	(64 * 1024 * 1024)

/**
 * struct afmux_attach - argument of AFMUX_IOC_ATTACH
 * @fd: a connected TCP socket (IPv4 or IPv6)
 * @flags: 0, or AFMUX_ATTACH_POOL: offer the peer a pool, so that more
 *	TCP connections can join this mux later (AFMUX_IOC_JOIN;
 *	docs/protocol.md section 12).  Without it the connection is a
 *	version 1 connection, byte for byte.
 * @reserved: must be 0
 *
 * Errors: EBADF (@fd not open), ENOTSOCK, EPROTONOSUPPORT (not TCP),
 * ENOTCONN (not connected), EINVAL (listening, or unknown @flags, or
 * nonzero @reserved), EISCONN (this mux socket is already attached), EBUSY (the
 * TCP socket is owned by an upper layer: a ULP other than kTLS, sockmap,
 * KCM, or a mux socket - now or before: a TCP socket once attached stays
 * afmux's; or a kTLS read or write is under way), ENOKEY (kTLS without
 * keys for both directions), EOPNOTSUPP (kTLS with a TLS version other
 * than 1.2 and 1.3, a cipher other than AES-GCM-128/256 and
 * ChaCha20-Poly1305, or offloaded to a device), ENOMEM.  ATTACH never
 * waits for room in TCP: the preface waits in the mux.
 */
struct afmux_attach {
	__s32	fd;
	__u32	flags;
	__u64	reserved;
};

#define AFMUX_ATTACH_POOL	1

/* Flags for the new stream fd in struct afmux_open and afmux_accept. */
#define AFMUX_O_CLOEXEC		02000000	/* == O_CLOEXEC */
#define AFMUX_O_NONBLOCK	00004000	/* == O_NONBLOCK */

/**
 * struct afmux_open - argument of AFMUX_IOC_OPEN
 * @key: user pointer to the key bytes
 * @key_len: length of the key, at most AFMUX_KEY_MAX
 * @flags: AFMUX_O_CLOEXEC, AFMUX_O_NONBLOCK
 * @stream_id: out: the new stream's ID (see docs/protocol.md)
 * @reserved: must be 0
 *
 * Returns the new stream fd.  Errors: ENOTCONN (not attached), EINVAL
 * (unknown flags, nonzero @reserved), EMSGSIZE (@key_len too long),
 * EFAULT, EPIPE (the connection has ended or the peer sent GOAWAY),
 * ENOBUFS (net.afmux.max_streams streams, or no room left for the new
 * stream's window in the connection's receive budget,
 * net.afmux.conn_mem_max), EMFILE/ENFILE, ENOMEM.
 */
struct afmux_open {
	__u64	key;
	__u32	key_len;
	__u32	flags;
	__u32	stream_id;
	__u32	reserved;
};

/**
 * struct afmux_accept - argument of AFMUX_IOC_ACCEPT
 * @key: user pointer to a buffer for the key
 * @key_len: in: size of that buffer; out: length of the key
 * @flags: AFMUX_O_CLOEXEC, AFMUX_O_NONBLOCK
 * @stream_id: out: the stream's ID as the peer assigned it
 * @reserved: must be 0
 *
 * Returns the next incoming stream's fd, waiting for one unless the mux
 * socket is non-blocking (EAGAIN).  If the buffer is too small the stream
 * stays queued, @key_len says how much is needed, and the error is
 * EMSGSIZE.  Other errors: ENOTCONN (not attached), EINVAL, EFAULT, EINTR,
 * the connection's error (ECONNRESET, EPROTO) once nothing is queued, and
 * EPIPE once the connection has ended and nothing is queued; EMFILE,
 * ENFILE and ENOMEM before any stream is taken (the fd and its file are
 * made first, as accept(2) does), so that no failure loses a stream:
 * after any error the stream is still queued - unless the connection
 * ended meanwhile and the stream's END had not arrived (such streams are
 * dropped when the connection ends, as if never queued).
 */
struct afmux_accept {
	__u64	key;
	__u32	key_len;
	__u32	flags;
	__u32	stream_id;
	__u32	reserved;
};

/**
 * struct afmux_join - argument of AFMUX_IOC_JOIN: add a TCP connection
 * to the pool of a mux socket attached with AFMUX_ATTACH_POOL
 * @fd: a connected TCP socket to the same peer (either end may have
 *	connected it; over TLS with its own kTLS keys, as for ATTACH)
 * @flags: must be 0
 * @link: out: the new connection's number in the pool (the first, the
 *	attached one, is 0; joined ones count 1, 2, ..., never reused)
 * @reserved: must be 0
 *
 * Both ends call it, each with its own end of the new TCP connection:
 * each sends a join preface presenting the peer's credentials and checks
 * that the peer's presents its own (docs/protocol.md section 12).  It
 * waits, as connect(2) does (up to SO_SNDTIMEO: then ETIMEDOUT), for the
 * peer's pool credentials on the first connection if they have not come
 * yet (AFMUX_POOL's state PENDING), then for the peer's join preface.
 * On a non-blocking mux socket it fails with EAGAIN while the state is
 * PENDING, and else returns EINPROGRESS (with @link set) as soon as the
 * join preface is queued: AFMUX_POOL's @links counts the connection once
 * it has joined.  New streams then go to whichever
 * connection has the fewest bytes queued and in flight; a stream stays
 * on its connection for life (AFMUX_STREAM_INFO's @link says which).
 *
 * Errors: those of AFMUX_IOC_ATTACH for @fd (the TCP socket is afmux's
 * from then on, joined or not); ENOTCONN (the mux socket is not
 * attached); EINVAL (@flags, @reserved, or not attached with
 * AFMUX_ATTACH_POOL); EOPNOTSUPP (the peer does not pool: it did not
 * attach with AFMUX_ATTACH_POOL, or speaks version 1 only); EPIPE (the
 * mux has ended, or no connection of the pool takes new streams: the
 * peer closed its mux); EMLINK (AFMUX_LINKS_MAX connections in the
 * pool); EACCES (the peer's join preface did not present this pool's
 * credentials: this end refused the connection); ECONNREFUSED (the peer
 * refused it); ETIMEDOUT, EINTR; ECONNRESET and TCP's other errors if the
 * new connection fails first.
 */
struct afmux_join {
	__s32	fd;
	__u32	flags;
	__u32	link;
	__u32	reserved;
};

/* Connections in one pool, the first included, alive or ending. */
#define AFMUX_LINKS_MAX		16

/*
 * The ioctls are extensible: the size in the command number is the size
 * of the caller's struct, and the kernel takes any size from the first
 * version's (AFMUX_*_SIZE_VER0) on, as copy_struct_from_user() does:
 * fields the caller's struct lacks count as 0, and bytes the caller has
 * beyond what the kernel knows must be 0 (else E2BIG).  What the kernel
 * writes back is cut to the caller's size.  A size below VER0, or a
 * wrong direction, is EINVAL; another command number ENOTTY.
 */
#define AFMUX_IOC_ATTACH	_IOW(0xaf, 1, struct afmux_attach)
#define AFMUX_IOC_OPEN		_IOWR(0xaf, 2, struct afmux_open)
#define AFMUX_IOC_ACCEPT	_IOWR(0xaf, 3, struct afmux_accept)
#define AFMUX_IOC_JOIN		_IOWR(0xaf, 4, struct afmux_join)
#define AFMUX_ATTACH_SIZE_VER0	16
#define AFMUX_OPEN_SIZE_VER0	24
#define AFMUX_ACCEPT_SIZE_VER0	24
#define AFMUX_JOIN_SIZE_VER0	16

/* Socket options, level SOL_AFMUX. */
#define SOL_AFMUX		299

/* stream: receive window in bytes (int, get/set) */
#define AFMUX_WINDOW		1
/* stream: struct afmux_stream_info (get) */
#define AFMUX_STREAM_INFO	2
/* mux socket: struct afmux_stats (get) */
#define AFMUX_STATS		3
/* mux socket: struct afmux_keepalive (get/set) */
#define AFMUX_KEEPALIVE		4
/* mux socket: struct afmux_pool_info (get) */
#define AFMUX_POOL		5
/*
 * stream: MSG_ZEROCOPY (int 0 or 1, get/set): SO_ZEROCOPY under another
 * name, for kernels before 6.5, whose core keeps SOL_SOCKET's SO_ZEROCOPY
 * from a stream (EOPNOTSUPP); either sets the same flag
 */
#define AFMUX_ZEROCOPY		6

#define AFMUX_STREAM_F_LOCAL	1	/* this end opened the stream */

/**
 * struct afmux_stream_info - what AFMUX_STREAM_INFO returns
 * @stream_id: the ID the opener assigned
 * @flags: AFMUX_STREAM_F_LOCAL
 * @key_len: length of the key
 * @window: current receive window
 * @key: the key (first @key_len bytes valid)
 * @link: the connection of the pool the stream lives on (0: the first,
 *	attached one; see struct afmux_join)
 * @reserved: 0
 *
 * getsockopt writes min(optlen, sizeof) bytes: a caller built before
 * @link was added gets what it knows.
 */
struct afmux_stream_info {
	__u32	stream_id;
	__u32	flags;
	__u32	key_len;
	__u32	window;
	__u8	key[AFMUX_KEY_MAX];
	__u32	link;
	__u32	reserved;
};

/* struct afmux_pool_info's @state */
#define AFMUX_POOL_OFF		0	/* not offered: attached without POOL */
#define AFMUX_POOL_PENDING	1	/* offered; the peer's answer not in */
#define AFMUX_POOL_READY	2	/* both pool: connections may join */
#define AFMUX_POOL_REFUSED	3	/* the peer does not pool */

/**
 * struct afmux_pool_info - AFMUX_POOL: the mux's pool
 * @state: AFMUX_POOL_*
 * @links: connections of the pool that are alive (not ended), the
 *	first included
 * @next_link: the number the next joined connection will get (so, how
 *	many have joined, plus one)
 * @reserved: 0
 * @pool_id: this end's pool id (docs/protocol.md section 12.2), 0 unless
 *	offered
 * @peer_pool_id: the peer's, 0 until its POOL frame has come
 */
struct afmux_pool_info {
	__u32	state;
	__u32	links;
	__u32	next_link;
	__u32	reserved;
	__u64	pool_id;
	__u64	peer_pool_id;
};

/**
 * struct afmux_keepalive - AFMUX_KEEPALIVE: end a connection whose peer
 * has gone silent
 * @idle_ms: once nothing has come from the peer for this long, send a
 *	PING; 0 turns keepalive off.  At most 3600000 (an hour).
 * @timeout_ms: if nothing comes within this long after that PING, the
 *	connection ends: SO_ERROR ETIMEDOUT, streams ECONNRESET (no GOAWAY:
 *	the peer is not listening).  0 when set: net.afmux.keepalive_timeout_ms.
 *	At most 3600000.  Also how long a connection joining a pool waits
 *	for the peer's join preface (AFMUX_IOC_JOIN: else ETIMEDOUT).
 *
 * A new mux socket starts with net.afmux.keepalive_idle_ms (0: off) and
 * net.afmux.keepalive_timeout_ms.  Set it before or after ATTACH.  Like
 * the ioctls' structs, it is extensible: setsockopt takes any optlen from
 * 4 on (missing fields are 0, unknown ones must be 0: else E2BIG);
 * getsockopt writes min(optlen, sizeof) bytes.
 */
struct afmux_keepalive {
	__u32	idle_ms;
	__u32	timeout_ms;
};

/**
 * struct afmux_stats - counters of one connection (AFMUX_STATS)
 *
 * Error counters say why a connection or stream ended; they only grow.
 */
struct afmux_stats {
	__u64	frames_rx;
	__u64	frames_tx;
	__u64	bytes_rx;		/* stream payload received */
	__u64	bytes_tx;		/* stream payload sent */
	__u64	streams_opened;		/* by this end */
	__u64	streams_accepted;	/* opened by the peer and queued */
	__u64	streams_refused;	/* peer's OPEN refused: backlog, limits */
	__u64	protocol_errors;	/* malformed input; INTERNAL_ERROR ends */
	__u64	resets_rx;
	__u64	resets_tx;
	__u64	pings_rx;
	__u64	data_discarded;		/* bytes for streams already closed */
	__u32	streams_active;
	__u32	last_error;		/* docs/protocol.md error code */
	__u64	bytes_tx_by_ref;	/* sendfile/splice bytes queued as pages */
	__u64	bytes_rx_spliced;	/* of bytes_rx: taken by splice_read */
	__u64	tx_worker_runs;		/* pump runs in tx_work: wake-ups */
	__u64	rx_worker_runs;		/* TCP reads in rx_work: wake-ups */
	__u64	keepalive_pings;	/* PINGs sent by AFMUX_KEEPALIVE */
	__u64	orphans_reset;		/* closed streams reset: timeout, cap */
	__u64	grants_capped;		/* grants cut: conn_mem_max, mem, memcg */
	__u64	rx_credit;		/* receive credit charged now (bytes) */
};

#endif /* _UAPI_LINUX_AFMUX_H */
