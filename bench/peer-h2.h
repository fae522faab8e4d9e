/* SPDX-License-Identifier: GPL-2.0 */
/*
 * peer-h2.h - what peer-h2's files share: the sizes, the connection and
 * stream types, and each file's entry points.  peer-h2.c has the contract
 * (its top comment), nghttp2's callbacks, the event loop, the server and
 * main(); peer-h2-io.c the helpers, the byte queue and the socket or TLS
 * I/O; peer-h2-work.c the client's workloads.
 */
#ifndef PEER_H2_H
#define PEER_H2_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#define IO		(64 * 1024)	/* socket reads; bulk writes */
#define STREAM_WINDOW	(256 * 1024)
#define CONN_WINDOW	(64 << 20)
#define MAX_STREAMS	(1u << 20)
#define OUT_FLUSH	(64 * 1024)	/* send() once this much is gathered */
#define OUT_CAP		(128 * 1024)	/* > OUT_FLUSH + one DATA frame */
#define IDLE_BATCH	1000		/* idle: streams awaiting their echo */

/* A byte queue; its memory is released whenever it runs empty. */
struct buf {
	uint8_t *p;
	size_t off, len, cap;
};

/* Where the DATA frame being sent takes its bytes from. */
enum { SRC_NONE, SRC_ROLE, SRC_BUF, SRC_GEN };

struct stream {
	struct stream *prev, *next;	/* conn's list (freed at the end) */
	int32_t id;
	char role;		/* 'S', 'E' or 'I' (server: once read) */
	bool role_pending;	/* client: role byte not yet sent */
	bool fin;		/* nothing to send after what is queued */
	bool deferred;		/* data provider said NGHTTP2_ERR_DEFERRED */
	bool got_headers;	/* client: response HEADERS seen */
	bool done;		/* client: response ended and was checked */
	uint8_t src;		/* SRC_*: of the frame being sent */
	uint8_t ngot;		/* client S: count bytes received */
	uint8_t cnt[8];		/* client S: the count */
	size_t src_len;		/* length of the frame being sent */
	struct buf ob;		/* bytes to send: echo, count, pings */
	struct buf ib;		/* client E: echoed bytes not yet checked */
	/* Generated writes (client S streams): gen_left bytes more, in
	 * writes of gen_io bytes from gen; chunk_left of the current one. */
	const uint8_t *gen;
	size_t gen_io, chunk, chunk_left;
	uint64_t gen_left;
	uint64_t tx;		/* bytes sent after the role byte */
	uint64_t rx;		/* bytes received (server: after the role) */
	size_t unconsumed;	/* server E/I: received, not yet echoed */
};

struct conn {
	int fd;
	SSL *ssl;		/* h2-tls; NULL: cleartext */
	bool server;
	bool eof;		/* the peer closed the TCP connection */
	bool closing;		/* client: GOAWAY sent */
	nghttp2_session *ss;
	uint8_t *out;		/* gathered frames: out[ooff, ooff + olen) */
	size_t ooff, olen;
	uint8_t *rbuf;
	struct stream *streams;
	uint64_t completed;	/* client: responses ended and checked */
	uint64_t sunk;		/* client: bytes S streams sent, as counted */
	uint64_t ready;		/* client I: streams whose 'x' came back */
	char authority[64];
	nghttp2_nv hdrs[4];
};

/* peer-h2-io.c */
void h2_die(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
void *h2_xmalloc(size_t n);
double h2_now(void);
void h2_buf_put(struct buf *b, const void *data, size_t n);
void h2_buf_take(struct buf *b, size_t n);
void h2_tls_start(struct conn *c);
ssize_t h2_io_recv(struct conn *c, void *p, size_t n);
bool h2_io_pending(struct conn *c);
void h2_out_flush(struct conn *c);
size_t h2_out_room(struct conn *c);
void h2_out_put(struct conn *c, const void *data, size_t n);

/* peer-h2.c */
void h2_stream_kick(struct conn *c, struct stream *s);
bool h2_run_once(struct conn *c, int extra);
void h2_run_until(struct conn *c, const uint64_t *value, uint64_t target);
struct stream *h2_open_stream(struct conn *c, char role);
void h2_client_close(struct conn *c);

/* peer-h2-work.c */
struct h2_workload {
	const char *name;
	void (*run)(struct conn *c, int argc, char **argv);
};
extern const struct h2_workload h2_workloads[];
extern const size_t h2_nworkloads;

#endif
