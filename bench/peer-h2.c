// SPDX-License-Identifier: GPL-2.0
/*
 * peer-h2.c - the "h2" contender of docs/benchmarks.md: the server and
 * client of its command-line contract over HTTP/2 (nghttp2), nothing else.
 *
 *   peer-h2 [tls] server PORT
 *   peer-h2 [tls] client HOST PORT WORKLOAD [key=value ...]   (HOST: IPv4)
 *
 * One TCP connection (TCP_NODELAY on both ends) carries cleartext HTTP/2
 * with prior knowledge: the client sends the connection preface at once,
 * no TLS, no Upgrade.  A contract stream is one request stream, POST /:
 * its request body is the client's bytes (first the role byte S/E/I), its
 * response body the server's bytes, and half-close is END_STREAM.  The
 * server answers a request's HEADERS at once with 200 and a response body
 * that is produced as it goes (full duplex): for E/I it echoes each DATA
 * chunk as it arrives, for S it sends the 8-byte big-endian count after
 * the request's END_STREAM, then ends the response.
 *
 * Both ends: one thread, one poll() loop, nghttp2 driven through
 * nghttp2_session_send()/nghttp2_session_mem_recv().  Settings, both ends:
 *   SETTINGS_INITIAL_WINDOW_SIZE     262144 (the 256 KiB per-stream window)
 *   SETTINGS_MAX_CONCURRENT_STREAMS  1 << 20 (room for 100000 idle streams)
 *   SETTINGS_MAX_FRAME_SIZE          16384, the protocol default (kept)
 *   connection receive window        64 MiB (nghttp2_session_set_local_
 *       window_size): 4 x 64 streams x 256 KiB, so it never binds before
 *       the per-stream windows do (as smux's MaxReceiveBuffer in peer-go)
 * RFC 7540 priorities (nghttp2's default): all streams weight 16 under
 * the root, so nghttp2 serves DATA frames round-robin among streams.
 *
 * Data path: the application's writes are handed to nghttp2 with
 * NGHTTP2_DATA_FLAG_NO_COPY, one write never shares a DATA frame with the
 * next (a 64 KiB bulk write is four 16 KiB frames, a 256-byte small
 * message one frame), and frames are gathered in a 64-128 KiB output
 * buffer that is written to the socket with one send() when full or when
 * nghttp2 has nothing more to say.  Reads are 64 KiB.  The server returns
 * flow-control credit (nghttp2_session_consume) for S bytes when they
 * arrive and for E/I bytes once it has echoed them, so an echo stream's
 * window covers its echo backlog; the client uses automatic WINDOW_UPDATE.
 *
 * With "tls" (the h2-tls contender): the same inside TLS 1.3 with
 * TLS_AES_128_GCM_SHA256, in userspace (OpenSSL; no kTLS, no session
 * tickets), the server's certificate and key from the PEM files
 * $MUXBENCH_CERT and $MUXBENCH_KEY, not checked by the client (as every
 * TLS contender of bench/run).  The handshake runs before the socket turns
 * non-blocking; afterwards each read gathers decrypted records up to 64
 * KiB, and what OpenSSL holds decrypted counts as readable.  bulk's
 * result line names the cipher (cipher=).
 *
 * Deviations from the contract: bulk wants bytes divisible by streams (as
 * peer-go); idle "closes everything" with one GOAWAY and the end of the
 * TCP connection rather than stream by stream.  Any error, short count or
 * mismatch ends the process with status 1 and a message on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define IO		(64 * 1024)	/* socket reads; bulk writes */
#define STREAM_WINDOW	(256 * 1024)
#define CONN_WINDOW	(64 << 20)
#define MAX_STREAMS	(1u << 20)
#define OUT_FLUSH	(64 * 1024)	/* send() once this much is gathered */
#define OUT_CAP		(128 * 1024)	/* > OUT_FLUSH + one DATA frame */
#define IDLE_BATCH	1000		/* idle: streams awaiting their echo */

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	fputs("peer-h2: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (fmt[0] && fmt[strlen(fmt) - 1] == ':')
		fprintf(stderr, " %s", strerror(err));
	fputc('\n', stderr);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		die("out of memory");
	return p;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A byte queue; its memory is released whenever it runs empty. */
struct buf {
	uint8_t *p;
	size_t off, len, cap;
};

static void buf_put(struct buf *b, const void *data, size_t n)
{
	if (b->off + b->len + n > b->cap) {
		if (b->off) {
			memmove(b->p, b->p + b->off, b->len);
			b->off = 0;
		}
		if (b->len + n > b->cap) {
			size_t cap = b->cap ? b->cap : 64;

			while (cap < b->len + n)
				cap *= 2;
			b->p = realloc(b->p, cap);
			if (!b->p)
				die("out of memory");
			b->cap = cap;
		}
	}
	memcpy(b->p + b->off + b->len, data, n);
	b->len += n;
}

static void buf_take(struct buf *b, size_t n)
{
	b->off += n;
	b->len -= n;
	if (!b->len) {
		free(b->p);
		*b = (struct buf){ 0 };
	}
}

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

static struct stream *stream_new(struct conn *c)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (!s)
		die("out of memory");
	s->next = c->streams;
	if (s->next)
		s->next->prev = s;
	c->streams = s;
	return s;
}

static void stream_free(struct conn *c, struct stream *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		c->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s->ob.p);
	free(s->ib.p);
	free(s);
}

/* The stream has something new to send: wake its data provider. */
static void stream_kick(struct conn *c, struct stream *s)
{
	int rv;

	if (!s->deferred)
		return;
	s->deferred = false;
	rv = nghttp2_session_resume_data(c->ss, s->id);
	if (rv)
		die("stream %d: resume: %s", s->id, nghttp2_strerror(rv));
}

/* ---- output: nghttp2 -> out buffer -> socket ------------------------- */

/* ---- the socket, or TLS over it --------------------------------------- */

static bool use_tls;

static void __attribute__((noreturn)) tls_die(const char *what)
{
	die("TLS %s: %s", what, ERR_error_string(ERR_get_error(), NULL));
}

/* The handshake on the still blocking @c->fd. */
static void tls_start(struct conn *c)
{
	SSL_CTX *ctx = SSL_CTX_new(c->server ? TLS_server_method() :
				   TLS_client_method());

	if (!ctx ||
	    !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256") ||
	    !SSL_CTX_set_num_tickets(ctx, 0))
		tls_die("context");
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (c->server) {
		const char *cert = getenv("MUXBENCH_CERT");
		const char *key = getenv("MUXBENCH_KEY");

		if (!cert || !key)
			die("tls: set MUXBENCH_CERT and MUXBENCH_KEY");
		if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
			tls_die("certificate");
	}
	c->ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);		/* the SSL holds a reference */
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd))
		tls_die("session");
	if ((c->server ? SSL_accept(c->ssl) : SSL_connect(c->ssl)) != 1)
		tls_die("handshake");
}

/* send(2), or SSL_write: -1 with EAGAIN when it would block. */
static ssize_t io_send(struct conn *c, const void *p, size_t n)
{
	size_t done;
	int r;

	if (!c->ssl)
		return send(c->fd, p, n, MSG_NOSIGNAL);
	r = SSL_write_ex(c->ssl, p, n, &done);
	if (r > 0)
		return (ssize_t)done;
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	}
	tls_die("write");
}

/*
 * recv(2), or SSL_read until @n bytes or no more for now: one SSL_read
 * returns one record (16 KiB at most).  0 at the peer's end.
 */
static ssize_t io_recv(struct conn *c, void *p, size_t n)
{
	size_t got = 0, k;
	int r;

	if (!c->ssl)
		return recv(c->fd, p, n, 0);
	while (got < n) {
		r = SSL_read_ex(c->ssl, (uint8_t *)p + got, n - got, &k);
		if (r > 0) {
			got += k;
			continue;
		}
		switch (SSL_get_error(c->ssl, r)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			if (got)
				return (ssize_t)got;
			errno = EAGAIN;
			return -1;
		case SSL_ERROR_ZERO_RETURN:	/* stays: returns 0 again */
			return (ssize_t)got;
		}
		tls_die("read");
	}
	return (ssize_t)got;
}

/* Decrypted bytes wait in OpenSSL: readable without the socket. */
static bool io_pending(struct conn *c)
{
	return c->ssl && SSL_has_pending(c->ssl);
}

static void out_flush(struct conn *c)
{
	while (c->olen) {
		ssize_t n = io_send(c, c->out + c->ooff, c->olen);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			die("send:");
		}
		c->ooff += (size_t)n;
		c->olen -= (size_t)n;
	}
	if (!c->olen)
		c->ooff = 0;
}

/* Room left in the out buffer; 0 once OUT_FLUSH bytes wait for a full socket. */
static size_t out_room(struct conn *c)
{
	if (c->olen >= OUT_FLUSH)
		out_flush(c);
	if (c->olen >= OUT_FLUSH)
		return 0;
	if (c->ooff) {
		memmove(c->out, c->out + c->ooff, c->olen);
		c->ooff = 0;
	}
	return OUT_CAP - c->olen;
}

static void out_put(struct conn *c, const void *data, size_t n)
{
	memcpy(c->out + c->ooff + c->olen, data, n);
	c->olen += n;
}

static ssize_t send_cb(nghttp2_session *ss, const uint8_t *data, size_t len,
		       int flags, void *user)
{
	struct conn *c = user;
	size_t room = out_room(c);

	(void)ss;
	(void)flags;
	if (!room)
		return NGHTTP2_ERR_WOULDBLOCK;
	if (len > room)
		len = room;
	out_put(c, data, len);
	return (ssize_t)len;
}

/*
 * Data provider of every stream (request and response bodies alike): the
 * role byte, then queued bytes, then generated writes; never more than one
 * write per frame.  Only decides the length (NO_COPY); send_data_cb copies.
 */
static ssize_t read_cb(nghttp2_session *ss, int32_t id, uint8_t *buf,
		       size_t length, uint32_t *flags,
		       nghttp2_data_source *source, void *user)
{
	struct stream *s = source->ptr;
	size_t n = 0;
	bool more;

	(void)ss;
	(void)id;
	(void)buf;
	(void)user;
	if (s->role_pending) {
		s->src = SRC_ROLE;
		n = 1;
	} else if (s->ob.len) {
		s->src = SRC_BUF;
		n = s->ob.len < length ? s->ob.len : length;
	} else {
		if (!s->chunk_left && s->gen_left) {
			s->chunk = s->gen_left < s->gen_io ? s->gen_left : s->gen_io;
			s->chunk_left = s->chunk;
			s->gen_left -= s->chunk;
		}
		s->src = s->chunk_left ? SRC_GEN : SRC_NONE;
		n = s->chunk_left < length ? s->chunk_left : length;
	}
	if (s->src == SRC_NONE && !s->fin) {
		s->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	more = (s->src != SRC_BUF && s->ob.len) ||
	       (s->src == SRC_BUF && s->ob.len > n) ||
	       s->chunk_left > (s->src == SRC_GEN ? n : 0) || s->gen_left;
	if (s->fin && !more)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	*flags |= NGHTTP2_DATA_FLAG_NO_COPY;
	s->src_len = n;
	return (ssize_t)n;
}

static int send_data_cb(nghttp2_session *ss, nghttp2_frame *frame,
			const uint8_t *framehd, size_t length,
			nghttp2_data_source *source, void *user)
{
	struct conn *c = user;
	struct stream *s = source->ptr;
	int rv;

	if (frame->data.padlen || length != s->src_len)
		die("stream %d: unexpected DATA frame layout", s->id);
	if (out_room(c) < 9 + length)
		return NGHTTP2_ERR_WOULDBLOCK;
	out_put(c, framehd, 9);
	switch (s->src) {
	case SRC_ROLE:
		out_put(c, &s->role, 1);
		s->role_pending = false;
		break;
	case SRC_BUF:
		out_put(c, s->ob.p + s->ob.off, length);
		buf_take(&s->ob, length);
		s->tx += length;
		if (c->server && s->role != 'S') {
			/* echoed: now the client may send that much more */
			s->unconsumed -= length;
			rv = nghttp2_session_consume(ss, s->id, length);
			if (rv)
				die("consume: %s", nghttp2_strerror(rv));
		}
		break;
	case SRC_GEN:
		out_put(c, s->gen + (s->chunk - s->chunk_left), length);
		s->chunk_left -= length;
		s->tx += length;
		break;
	}
	s->src = SRC_NONE;
	return 0;
}

/* ---- input: socket -> nghttp2 callbacks ------------------------------ */

/* Server: the request body ended; S answers its count, E/I end the echo. */
static void request_end(struct conn *c, struct stream *s)
{
	uint8_t be[8];

	if (!s->role)
		die("stream %d: request ended without a role byte", s->id);
	if (s->role == 'S') {
		for (int i = 0; i < 8; i++)
			be[i] = (uint8_t)(s->rx >> (56 - 8 * i));
		buf_put(&s->ob, be, 8);
	}
	s->fin = true;
	stream_kick(c, s);
}

/* Client: the response ended; check it against what was sent. */
static void response_end(struct conn *c, struct stream *s)
{
	uint64_t got = 0;

	if (s->role == 'S') {
		if (s->ngot != 8)
			die("stream %d: short count (%u bytes)", s->id, s->ngot);
		for (int i = 0; i < 8; i++)
			got = got << 8 | s->cnt[i];
		if (got != s->tx)
			die("stream %d: server read %llu bytes, sent %llu", s->id,
			    (unsigned long long)got, (unsigned long long)s->tx);
		c->sunk += got;
	} else if (s->rx != s->tx || s->ib.len) {
		die("stream %d: echoed %llu bytes of %llu", s->id,
		    (unsigned long long)s->rx, (unsigned long long)s->tx);
	}
	s->done = true;
	c->completed++;
}

static int begin_headers_cb(nghttp2_session *ss, const nghttp2_frame *frame,
			    void *user)
{
	struct conn *c = user;
	struct stream *s;

	if (!c->server || frame->hd.type != NGHTTP2_HEADERS ||
	    frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	s = stream_new(c);
	s->id = frame->hd.stream_id;
	if (nghttp2_session_set_stream_user_data(ss, s->id, s))
		die("stream %d: set user data", s->id);
	return 0;
}

static int header_cb(nghttp2_session *ss, const nghttp2_frame *frame,
		     const uint8_t *name, size_t namelen, const uint8_t *value,
		     size_t valuelen, uint8_t flags, void *user)
{
	(void)ss;
	(void)flags;
	(void)user;
	if (frame->hd.type == NGHTTP2_HEADERS &&
	    frame->headers.cat == NGHTTP2_HCAT_RESPONSE && namelen == 7 &&
	    !memcmp(name, ":status", 7) &&
	    (valuelen != 3 || memcmp(value, "200", 3)))
		die("stream %d: status %.*s", frame->hd.stream_id,
		    (int)valuelen, (const char *)value);
	return 0;
}

static int frame_recv_cb(nghttp2_session *ss, const nghttp2_frame *frame,
			 void *user)
{
	struct conn *c = user;
	struct stream *s;
	bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
	int rv;

	if (frame->hd.type == NGHTTP2_GOAWAY && !c->server &&
	    frame->goaway.error_code != NGHTTP2_NO_ERROR)
		die("server sent GOAWAY: %s",
		    nghttp2_http2_strerror(frame->goaway.error_code));
	if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
		return 0;
	s = nghttp2_session_get_stream_user_data(ss, frame->hd.stream_id);
	if (!s)
		die("frame on unknown stream %d", frame->hd.stream_id);
	if (c->server) {
		if (frame->hd.type == NGHTTP2_HEADERS &&
		    frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
			static const nghttp2_nv status = {
				(uint8_t *)":status", (uint8_t *)"200", 7, 3,
				NGHTTP2_NV_FLAG_NONE
			};
			nghttp2_data_provider prd = {
				.source.ptr = s, .read_callback = read_cb
			};

			rv = nghttp2_submit_response(ss, s->id, &status, 1, &prd);
			if (rv)
				die("stream %d: submit response: %s", s->id,
				    nghttp2_strerror(rv));
		}
		if (end)
			request_end(c, s);
	} else {
		if (frame->hd.type == NGHTTP2_HEADERS &&
		    frame->headers.cat == NGHTTP2_HCAT_RESPONSE)
			s->got_headers = true;
		if (end)
			response_end(c, s);
	}
	return 0;
}

static int data_chunk_cb(nghttp2_session *ss, uint8_t flags, int32_t id,
			 const uint8_t *data, size_t len, void *user)
{
	struct conn *c = user;
	struct stream *s = nghttp2_session_get_stream_user_data(ss, id);
	int rv = 0;

	(void)flags;
	if (!s)
		die("DATA on unknown stream %d", id);
	if (!len)
		return 0;
	if (c->server) {
		if (!s->role) {
			s->role = (char)data[0];
			if (s->role != 'S' && s->role != 'E' && s->role != 'I')
				die("stream %d: bad role byte 0x%02x", id, data[0]);
			data++;
			len--;
			rv = nghttp2_session_consume(ss, id, 1);
		}
		s->rx += len;
		if (s->role == 'S') {
			if (!rv && len)
				rv = nghttp2_session_consume(ss, id, len);
		} else if (len) {
			buf_put(&s->ob, data, len);
			s->unconsumed += len;
			stream_kick(c, s);
		}
		if (rv)
			die("consume: %s", nghttp2_strerror(rv));
		return 0;
	}
	s->rx += len;
	switch (s->role) {
	case 'S':
		if (s->ngot + len > 8)
			die("stream %d: more than 8 bytes back", id);
		memcpy(s->cnt + s->ngot, data, len);
		s->ngot += (uint8_t)len;
		break;
	case 'E':
		if (s->rx > s->tx)
			die("stream %d: echo of bytes never sent", id);
		buf_put(&s->ib, data, len);
		break;
	case 'I':
		for (size_t i = 0; i < len; i++)
			if (data[i] != 'x')
				die("stream %d: idle echo mismatch", id);
		if (s->rx > s->tx)
			die("stream %d: echo of bytes never sent", id);
		if (s->rx == 1)
			c->ready++;
		break;
	}
	return 0;
}

static int stream_close_cb(nghttp2_session *ss, int32_t id, uint32_t error,
			   void *user)
{
	struct conn *c = user;
	struct stream *s = nghttp2_session_get_stream_user_data(ss, id);

	if (!s)
		return 0;
	if (!c->closing) {
		if (error != NGHTTP2_NO_ERROR)
			die("stream %d reset: %s", id,
			    nghttp2_http2_strerror(error));
		if (!c->server && !s->done)
			die("stream %d closed before its response ended", id);
	}
	if (c->server && s->unconsumed)
		nghttp2_session_consume_connection(ss, s->unconsumed);
	stream_free(c, s);
	return 0;
}

/* ---- the event loop -------------------------------------------------- */

/* Hand nghttp2's output to the socket until both are done or it is full. */
static void pump_out(struct conn *c)
{
	for (;;) {
		int rv = nghttp2_session_send(c->ss);

		if (rv)
			die("nghttp2_session_send: %s", nghttp2_strerror(rv));
		if (!c->olen)
			return;
		out_flush(c);
		if (c->olen)
			return;		/* socket full: wait for POLLOUT */
	}
}

static void pump_in(struct conn *c)
{
	for (int i = 0; i < 8; i++) {
		ssize_t n = io_recv(c, c->rbuf, IO), rv;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			die("recv:");
		}
		if (n == 0) {
			c->eof = true;
			return;
		}
		rv = nghttp2_session_mem_recv(c->ss, c->rbuf, (size_t)n);
		if (rv != n)
			die("nghttp2_session_mem_recv: %s",
			    rv < 0 ? nghttp2_strerror((int)rv) : "short");
		pump_out(c);	/* WINDOW_UPDATEs, echoes, counts */
		if (n < IO)
			return;
	}
}

/*
 * One turn of the loop: send what there is, wait for the socket (and
 * `extra` for input, if >= 0), feed what arrived to nghttp2.  Returns
 * whether `extra` is readable.
 */
static bool run_once(struct conn *c, int extra)
{
	struct pollfd p[2] = {
		{ .fd = c->fd, .events = POLLIN },
		{ .fd = extra, .events = POLLIN },
	};

	pump_out(c);
	if (c->olen)
		p[0].events |= POLLOUT;
	if (poll(p, extra >= 0 ? 2 : 1, io_pending(c) ? 0 : -1) < 0) {
		if (errno == EINTR)
			return false;
		die("poll:");
	}
	if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) || io_pending(c))
		pump_in(c);
	if (p[0].revents & POLLOUT)
		out_flush(c);
	if (c->eof && !c->server && !c->closing)
		die("server closed the connection");
	return extra >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR));
}

static void run_until(struct conn *c, const uint64_t *value, uint64_t target)
{
	while (*value < target)
		run_once(c, -1);
}

static void conn_init(struct conn *c, int fd, bool server, const char *host,
		      int port)
{
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;
	nghttp2_settings_entry iv[3] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, MAX_STREAMS },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW },
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },	/* client only */
	};
	int one = 1, rv;

	*c = (struct conn){ .fd = fd, .server = server };
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		die("socket options:");
	if (use_tls)
		tls_start(c);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
		die("socket options:");
	c->out = xmalloc(OUT_CAP);
	c->rbuf = xmalloc(IO);
	if (nghttp2_session_callbacks_new(&cb) || nghttp2_option_new(&opt))
		die("out of memory");
	nghttp2_session_callbacks_set_send_callback(cb, send_cb);
	nghttp2_session_callbacks_set_send_data_callback(cb, send_data_cb);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, frame_recv_cb);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb,
								  data_chunk_cb);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb,
							       stream_close_cb);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb,
								begin_headers_cb);
	nghttp2_session_callbacks_set_on_header_callback(cb, header_cb);
	/* closed streams need not linger for the priority tree */
	nghttp2_option_set_no_closed_streams(opt, 1);
	if (server) {
		nghttp2_option_set_no_auto_window_update(opt, 1);
		rv = nghttp2_session_server_new2(&c->ss, cb, c, opt);
	} else {
		rv = nghttp2_session_client_new2(&c->ss, cb, c, opt);
	}
	nghttp2_session_callbacks_del(cb);
	nghttp2_option_del(opt);
	if (rv)
		die("nghttp2 session: %s", nghttp2_strerror(rv));
	rv = nghttp2_submit_settings(c->ss, NGHTTP2_FLAG_NONE, iv, server ? 2 : 3);
	if (!rv)
		rv = nghttp2_session_set_local_window_size(c->ss, NGHTTP2_FLAG_NONE,
							   0, CONN_WINDOW);
	if (rv)
		die("nghttp2 settings: %s", nghttp2_strerror(rv));
	if (!server) {
		snprintf(c->authority, sizeof(c->authority), "%s:%d", host, port);
#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), \
		   NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE }
		nghttp2_nv h[4] = {
			NV(":method", "POST"), NV(":scheme", "http"),
			NV(":authority", c->authority), NV(":path", "/"),
		};
#undef NV
		memcpy(c->hdrs, h, sizeof(h));
	}
}

static void conn_free(struct conn *c)
{
	nghttp2_session_del(c->ss);	/* frees its streams without callbacks */
	while (c->streams)
		stream_free(c, c->streams);
	SSL_free(c->ssl);
	close(c->fd);
	free(c->out);
	free(c->rbuf);
}

/* ---- server ---------------------------------------------------------- */

static int server(int port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_ANY),
	};
	struct conn c;
	int lfd, fd, one = 1;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 16))
		die("listen on port %d:", port);
	printf("ready\n");
	fflush(stdout);
	do
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		die("accept:");
	close(lfd);
	conn_init(&c, fd, true, NULL, 0);
	while (!c.eof)
		run_once(&c, -1);
	conn_free(&c);
	return 0;
}

/* ---- client ---------------------------------------------------------- */

static struct stream *open_stream(struct conn *c, char role)
{
	struct stream *s = stream_new(c);
	nghttp2_data_provider prd = { .source.ptr = s, .read_callback = read_cb };

	s->role = role;
	s->role_pending = true;
	s->id = nghttp2_submit_request(c->ss, NULL, c->hdrs, 4, &prd, s);
	if (s->id < 0)
		die("submit request: %s", nghttp2_strerror(s->id));
	return s;
}

/* GOAWAY, then end the TCP connection and wait for the server to end it. */
static void client_close(struct conn *c)
{
	struct pollfd p = { .fd = c->fd };
	ssize_t n;
	int rv;

	c->closing = true;
	rv = nghttp2_session_terminate_session(c->ss, NGHTTP2_NO_ERROR);
	if (rv)
		die("GOAWAY: %s", nghttp2_strerror(rv));
	for (pump_out(c); c->olen; pump_out(c)) {
		p.events = POLLOUT;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			die("poll:");
	}
	if (c->ssl)
		SSL_shutdown(c->ssl);	/* close_notify, non-blocking */
	if (shutdown(c->fd, SHUT_WR))
		die("shutdown:");
	for (;;) {
		n = io_recv(c, c->rbuf, IO);
		if (n == 0)
			break;
		if (n > 0 || errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			die("recv:");
		p.events = POLLIN;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			die("poll:");
	}
}

struct param {
	const char *key;
	uint64_t val;
};

static void parse_params(struct param *p, int argc, char **argv,
			 const char *workload)
{
	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		struct param *q;
		char *end;

		for (q = p; q->key && eq; q++)
			if (strlen(q->key) == (size_t)(eq - argv[i]) &&
			    !strncmp(q->key, argv[i], (size_t)(eq - argv[i])))
				break;
		if (!eq || !q->key)
			die("%s: unknown parameter %s", workload, argv[i]);
		errno = 0;
		q->val = strtoull(eq + 1, &end, 0);
		if (errno || end == eq + 1 || *end)
			die("%s: bad value in %s", workload, argv[i]);
	}
}

static void w_bulk(struct conn *c, int argc, char **argv)
{
	struct param p[] = { { "streams", 1 }, { "bytes", 1ull << 30 },
			     { "io", IO }, { NULL, 0 } };
	uint64_t streams, bytes, per;
	uint8_t *buf;
	double t0, secs;

	parse_params(p, argc, argv, "bulk");
	streams = p[0].val;
	bytes = p[1].val;
	if (!streams || streams > MAX_STREAMS || !p[2].val || p[2].val > 1 << 30 ||
	    !bytes || bytes % streams)
		die("bulk: want 0 < streams <= %u dividing bytes, 0 < io <= 1 GiB",
		    MAX_STREAMS);
	per = bytes / streams;
	buf = xmalloc(p[2].val);
	memset(buf, 'x', p[2].val);

	t0 = now();
	for (uint64_t i = 0; i < streams; i++) {
		struct stream *s = open_stream(c, 'S');

		s->gen = buf;
		s->gen_io = p[2].val;
		s->gen_left = per;
		s->fin = true;
	}
	run_until(c, &c->completed, streams);
	secs = now() - t0;
	if (c->sunk != bytes)
		die("bulk: server counted %llu bytes in all",
		    (unsigned long long)c->sunk);
	client_close(c);
	free(buf);
	printf("result bulk seconds=%.6f bytes=%llu%s%s\n", secs,
	       (unsigned long long)bytes, c->ssl ? " cipher=" : "",
	       c->ssl ? SSL_get_cipher_name(c->ssl) : "");
}

static void w_small(struct conn *c, int argc, char **argv)
{
	struct param p[] = { { "streams", 1000 }, { "msgs", 100 },
			     { "size", 256 }, { NULL, 0 } };
	uint64_t streams, msgs, size;
	uint8_t *msg;
	double t0, secs;

	parse_params(p, argc, argv, "small");
	streams = p[0].val;
	msgs = p[1].val;
	size = p[2].val;
	if (!streams || streams > MAX_STREAMS || !size || size > (1 << 24))
		die("small: want 0 < streams <= %u, 0 < size <= 16 MiB",
		    MAX_STREAMS);
	msg = xmalloc(size);
	memset(msg, 'm', size);

	t0 = now();
	for (uint64_t i = 0; i < streams; i++) {
		struct stream *s = open_stream(c, 'S');

		s->gen = msg;		/* msgs writes of size bytes */
		s->gen_io = size;
		s->gen_left = msgs * size;
		s->fin = true;
	}
	run_until(c, &c->completed, streams);
	secs = now() - t0;
	if (c->sunk != streams * msgs * size)
		die("small: server counted %llu bytes in all",
		    (unsigned long long)c->sunk);
	client_close(c);
	free(msg);
	printf("result small seconds=%.6f msgs=%llu\n", secs,
	       (unsigned long long)(streams * msgs));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void w_pingpong(struct conn *c, int argc, char **argv)
{
	struct param p[] = { { "count", 2000 }, { "size", 64 }, { "bulk", 0 },
			     { NULL, 0 } };
	uint64_t count, size, nbulk, skip, n;
	struct stream *es, **bs;
	uint8_t *out, *bulkbuf;
	double *lat, sum = 0;

	parse_params(p, argc, argv, "pingpong");
	count = p[0].val;
	size = p[1].val;
	nbulk = p[2].val;
	skip = count / 10;
	if (count < 2 || count > 1u << 30 || !size || size > IO || nbulk > 1024)
		die("pingpong: want 2 <= count <= 2^30, 0 < size <= 64 KiB, "
		    "bulk <= 1024");
	out = xmalloc(size);
	bulkbuf = xmalloc(IO);
	lat = xmalloc(count * sizeof(*lat));
	bs = xmalloc((nbulk + 1) * sizeof(*bs));
	memset(bulkbuf, 'b', IO);

	es = open_stream(c, 'E');
	for (uint64_t i = 0; i < nbulk; i++) {
		bs[i] = open_stream(c, 'S');
		bs[i]->gen = bulkbuf;	/* 64 KiB writes until stopped */
		bs[i]->gen_io = IO;
		bs[i]->gen_left = UINT64_MAX;
		bs[i]->fin = true;
	}
	while (!es->got_headers)	/* the server has the streams */
		run_once(c, -1);
	for (uint64_t i = 0; i < count; i++) {
		double t;

		for (uint64_t k = 0; k < size; k++)
			out[k] = (uint8_t)(i + k);
		t = now();
		buf_put(&es->ob, out, size);
		stream_kick(c, es);
		while (es->ib.len < size)
			run_once(c, -1);
		lat[i] = (now() - t) * 1e6;
		if (es->ib.len != size || memcmp(es->ib.p + es->ib.off, out, size))
			die("echo: data mismatch at round trip %llu",
			    (unsigned long long)i);
		buf_take(&es->ib, size);
	}
	/* Stop the bulk streams after their current write, end the echo
	 * stream, and check every count (streams are freed as they close). */
	for (uint64_t i = 0; i < nbulk; i++) {
		bs[i]->gen_left = 0;
		stream_kick(c, bs[i]);
	}
	es->fin = true;
	stream_kick(c, es);
	run_until(c, &c->completed, nbulk + 1);
	client_close(c);

	n = count - skip;
	for (uint64_t i = skip; i < count; i++)
		sum += lat[i];
	qsort(lat + skip, n, sizeof(*lat), cmp_double);
	printf("result pingpong p50_us=%.1f p99_us=%.1f mean_us=%.1f\n",
	       lat[skip + n * 50 / 100], lat[skip + n * 99 / 100],
	       sum / (double)n);
	free(out);
	free(bulkbuf);
	free(lat);
	free(bs);
}

static void w_openclose(struct conn *c, int argc, char **argv)
{
	struct param p[] = { { "count", 2000 }, { "parallel", 8 }, { NULL, 0 } };
	uint64_t count, par, opened = 0;
	double t0, secs;

	parse_params(p, argc, argv, "openclose");
	count = p[0].val;
	par = p[1].val;
	if (!count || !par || par > MAX_STREAMS)
		die("openclose: want count > 0, 0 < parallel <= %u", MAX_STREAMS);

	t0 = now();
	while (c->completed < count) {
		/* `par` requests outstanding: S, END_STREAM, count (0) back */
		while (opened < count && opened - c->completed < par) {
			open_stream(c, 'S')->fin = true;
			opened++;
		}
		run_once(c, -1);
	}
	secs = now() - t0;
	client_close(c);
	printf("result openclose seconds=%.6f streams=%llu\n", secs,
	       (unsigned long long)count);
}

static void w_idle(struct conn *c, int argc, char **argv)
{
	struct param p[] = { { "streams", 10000 }, { NULL, 0 } };
	uint64_t streams, opened = 0;
	char buf[256];

	parse_params(p, argc, argv, "idle");
	streams = p[0].val;
	if (streams > MAX_STREAMS)
		die("idle: want streams <= %u", MAX_STREAMS);
	while (c->ready < streams) {
		/* IDLE_BATCH at a time: I, x, wait for x */
		while (opened < streams && opened - c->ready < IDLE_BATCH) {
			buf_put(&open_stream(c, 'I')->ob, "x", 1);
			opened++;
		}
		run_once(c, -1);
	}
	printf("ready streams=%llu\n", (unsigned long long)streams);
	fflush(stdout);
	for (;;) {	/* keep serving the connection until stdin's EOF */
		if (run_once(c, 0)) {
			ssize_t n = read(0, buf, sizeof(buf));

			if (n == 0)
				break;
			if (n < 0 && errno != EINTR && errno != EAGAIN)
				die("stdin:");
		}
	}
	client_close(c);
	printf("result idle streams=%llu\n", (unsigned long long)streams);
}

static const struct {
	const char *name;
	void (*run)(struct conn *c, int argc, char **argv);
} workloads[] = {
	{ "bulk", w_bulk }, { "small", w_small }, { "pingpong", w_pingpong },
	{ "openclose", w_openclose }, { "idle", w_idle },
};

static void __attribute__((noreturn)) usage(void)
{
	fputs("usage: peer-h2 [tls] server PORT\n"
	      "       peer-h2 [tls] client HOST PORT WORKLOAD [key=value ...]\n"
	      "WORKLOAD: bulk small pingpong openclose idle (docs/benchmarks.md)\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct conn c;
	int fd, port;

	if (argc > 1 && !strcmp(argv[1], "tls")) {
		use_tls = true;
		argc--;
		argv++;
	}
	if (argc == 3 && !strcmp(argv[1], "server"))
		return server(atoi(argv[2]));
	if (argc < 5 || strcmp(argv[1], "client"))
		usage();
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		if (strcmp(workloads[i].name, argv[4]))
			continue;
		port = atoi(argv[3]);
		sin.sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, argv[2], &sin.sin_addr) != 1)
			die("bad IPv4 address %s", argv[2]);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
			die("connect to %s:%d:", argv[2], port);
		conn_init(&c, fd, false, argv[2], port);
		workloads[i].run(&c, argc - 5, argv + 5);
		conn_free(&c);
		fflush(stdout);
		return 0;
	}
	usage();
}
