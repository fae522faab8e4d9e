/* SPDX-License-Identifier: GPL-2.0 */
/*
 * trace.h - the afmux: tracepoints (docs/observe.md shows them with perf
 * and bpftrace).  A connection is named by its id, as in /proc/net/afmux;
 * a stream by its connection, the opener's number and whether this end
 * opened it (local), as in /proc/net/afmux_streams.  Fields have plain C
 * types, so bpftrace can read them without BTF (the debug kernel has
 * none).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM afmux

#if !defined(_AFMUX_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _AFMUX_TRACE_H

#include <linux/in6.h>
#include <linux/tracepoint.h>
#include <net/sock.h>

#include "afmux.h"

TRACE_EVENT(afmux_conn_attach,
	TP_PROTO(const struct afmux_conn *conn),
	TP_ARGS(conn),
	TP_STRUCT__entry(
		__field(unsigned long long, conn)
		__array(unsigned char, local, sizeof(struct sockaddr_in6))
		__array(unsigned char, peer, sizeof(struct sockaddr_in6))
	),
	TP_fast_assign(
		__entry->conn = conn->id;
		afmux_sockaddr(conn->tsk, true,
			       (struct sockaddr_in6 *)__entry->local);
		afmux_sockaddr(conn->tsk, false,
			       (struct sockaddr_in6 *)__entry->peer);
	),
	TP_printk("conn=%llu local=%pISpc peer=%pISpc", __entry->conn,
		  __entry->local, __entry->peer)
);

TRACE_EVENT(afmux_conn_error,
	TP_PROTO(const struct afmux_conn *conn, int err, u32 code),
	TP_ARGS(conn, err, code),
	TP_STRUCT__entry(
		__field(unsigned long long, conn)
		__field(int, err)
		__field(unsigned int, code)
	),
	TP_fast_assign(
		__entry->conn = conn->id;
		__entry->err = err;
		__entry->code = code;
	),
	TP_printk("conn=%llu err=%d goaway=%u", __entry->conn, __entry->err,
		  __entry->code)
);

TRACE_EVENT(afmux_conn_detach,
	TP_PROTO(const struct afmux_conn *conn),
	TP_ARGS(conn),
	TP_STRUCT__entry(
		__field(unsigned long long, conn)
		__field(int, err)
		__field(unsigned long long, bytes_tx)
		__field(unsigned long long, bytes_rx)
	),
	TP_fast_assign(
		__entry->conn = conn->id;
		__entry->err = conn->err;
		__entry->bytes_tx = conn->stats.bytes_tx;
		__entry->bytes_rx = conn->stats.bytes_rx;
	),
	TP_printk("conn=%llu err=%d bytes_tx=%llu bytes_rx=%llu",
		  __entry->conn, __entry->err, __entry->bytes_tx,
		  __entry->bytes_rx)
);

DECLARE_EVENT_CLASS(afmux_stream_class,
	TP_PROTO(const struct afmux_stream *st),
	TP_ARGS(st),
	TP_STRUCT__entry(
		__field(unsigned long long, conn)
		__field(unsigned int, stream)
		__field(unsigned char, local)
		__field(unsigned short, key_len)
		__field(unsigned long long, tx_bytes)
		__field(unsigned long long, rx_bytes)
	),
	TP_fast_assign(
		__entry->conn = st->conn->id;
		__entry->stream = st->nr;
		__entry->local = test_bit(AFMUX_ST_LOCAL, &st->flags);
		__entry->key_len = st->key_len;
		__entry->tx_bytes = st->tx_bytes;
		__entry->rx_bytes = st->rx_bytes;
	),
	TP_printk("conn=%llu stream=%u local=%d key_len=%u tx_bytes=%llu rx_bytes=%llu",
		  __entry->conn, __entry->stream, __entry->local,
		  __entry->key_len, __entry->tx_bytes, __entry->rx_bytes)
);

/* We opened a stream (AFMUX_IOC_OPEN). */
DEFINE_EVENT(afmux_stream_class, afmux_stream_open,
	TP_PROTO(const struct afmux_stream *st), TP_ARGS(st));
/* The peer's OPEN was queued for accept. */
DEFINE_EVENT(afmux_stream_class, afmux_stream_incoming,
	TP_PROTO(const struct afmux_stream *st), TP_ARGS(st));
/* AFMUX_IOC_ACCEPT handed it out. */
DEFINE_EVENT(afmux_stream_class, afmux_stream_accept,
	TP_PROTO(const struct afmux_stream *st), TP_ARGS(st));
/* A writer found no credit: it waits (or gets EAGAIN) for WINDOW. */
DEFINE_EVENT(afmux_stream_class, afmux_window_stall,
	TP_PROTO(const struct afmux_stream *st), TP_ARGS(st));

/* END or RESET, sent (rx 0) or received (rx 1); code is RESET's. */
TRACE_EVENT(afmux_stream_end,
	TP_PROTO(const struct afmux_conn *conn, u32 stream, bool local,
		 bool rx, bool reset, u32 code),
	TP_ARGS(conn, stream, local, rx, reset, code),
	TP_STRUCT__entry(
		__field(unsigned long long, conn)
		__field(unsigned int, stream)
		__field(unsigned char, local)
		__field(unsigned char, rx)
		__field(unsigned char, reset)
		__field(unsigned int, code)
	),
	TP_fast_assign(
		__entry->conn = conn->id;
		__entry->stream = stream;
		__entry->local = local;
		__entry->rx = rx;
		__entry->reset = reset;
		__entry->code = code;
	),
	TP_printk("conn=%llu stream=%u local=%d %s %s code=%u",
		  __entry->conn, __entry->stream, __entry->local,
		  __entry->rx ? "rx" : "tx", __entry->reset ? "RESET" : "END",
		  __entry->code)
);

DECLARE_EVENT_CLASS(afmux_frame_class,
	TP_PROTO(const struct afmux_conn *conn, u8 type, u8 flags, u32 len,
		 u32 stream),
	TP_ARGS(conn, type, flags, len, stream),
	TP_STRUCT__entry(
		__field(unsigned long long, conn)
		__field(unsigned char, type)
		__field(unsigned char, flags)
		__field(unsigned int, len)
		__field(unsigned int, stream)
	),
	TP_fast_assign(
		__entry->conn = conn->id;
		__entry->type = type;
		__entry->flags = flags;
		__entry->len = len;
		__entry->stream = stream;
	),
	TP_printk("conn=%llu type=%s flags=%#x len=%u stream=%#x",
		  __entry->conn,
		  __print_symbolic(__entry->type, { 0, "DATA" }, { 1, "OPEN" },
				   { 2, "END" }, { 3, "RESET" },
				   { 4, "WINDOW" }, { 5, "PING" },
				   { 6, "GOAWAY" }),
		  __entry->flags, __entry->len, __entry->stream)
);

/* A frame header, as the parser decoded it (stream: as on the wire). */
DEFINE_EVENT(afmux_frame_class, afmux_frame_rx,
	TP_PROTO(const struct afmux_conn *conn, u8 type, u8 flags, u32 len,
		 u32 stream),
	TP_ARGS(conn, type, flags, len, stream));
/* A frame, once the pump has handed all of it to TCP. */
DEFINE_EVENT(afmux_frame_class, afmux_frame_tx,
	TP_PROTO(const struct afmux_conn *conn, u8 type, u8 flags, u32 len,
		 u32 stream),
	TP_ARGS(conn, type, flags, len, stream));

/* We grant the peer credit up to @limit on a stream (a WINDOW frame). */
TRACE_EVENT(afmux_window_grant,
	TP_PROTO(const struct afmux_stream *st, u32 limit),
	TP_ARGS(st, limit),
	TP_STRUCT__entry(
		__field(unsigned long long, conn)
		__field(unsigned int, stream)
		__field(unsigned char, local)
		__field(unsigned int, limit)
		__field(unsigned int, window)
	),
	TP_fast_assign(
		__entry->conn = st->conn->id;
		__entry->stream = st->nr;
		__entry->local = test_bit(AFMUX_ST_LOCAL, &st->flags);
		__entry->limit = limit;
		__entry->window = st->rx_window;
	),
	TP_printk("conn=%llu stream=%u local=%d limit=%u window=%u",
		  __entry->conn, __entry->stream, __entry->local,
		  __entry->limit, __entry->window)
);

#endif /* _AFMUX_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
