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
 *
 * This file: nghttp2's callbacks, the event loop, the connection, the
 * server, the client's streams and main(); peer-h2.h says which file has
 * the rest.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>
#include <sys/socket.h>

#include "peer-h2.h"

static bool use_tls;		/* h2-tls: "tls" on the command line */

/* ---- streams --------------------------------------------------------- */

static struct stream *stream_new(struct conn *c)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (!s)
		h2_die("out of memory");
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
void h2_stream_kick(struct conn *c, struct stream *s)
{
	int rv;

	if (!s->deferred)
		return;
	s->deferred = false;
	rv = nghttp2_session_resume_data(c->ss, s->id);
	if (rv)
		h2_die("stream %d: resume: %s", s->id, nghttp2_strerror(rv));
}

/* ---- output: nghttp2 -> out buffer -> socket ------------------------- */

static ssize_t send_cb(nghttp2_session *ss, const uint8_t *data, size_t len,
		       int flags, void *user)
{
	struct conn *c = user;
	size_t room = h2_out_room(c);

	(void)ss;
	(void)flags;
	if (!room)
		return NGHTTP2_ERR_WOULDBLOCK;
	if (len > room)
		len = room;
	h2_out_put(c, data, len);
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
		h2_die("stream %d: unexpected DATA frame layout", s->id);
	if (h2_out_room(c) < 9 + length)
		return NGHTTP2_ERR_WOULDBLOCK;
	h2_out_put(c, framehd, 9);
	switch (s->src) {
	case SRC_ROLE:
		h2_out_put(c, &s->role, 1);
		s->role_pending = false;
		break;
	case SRC_BUF:
		h2_out_put(c, s->ob.p + s->ob.off, length);
		h2_buf_take(&s->ob, length);
		s->tx += length;
		if (c->server && s->role != 'S') {
			/* echoed: now the client may send that much more */
			s->unconsumed -= length;
			rv = nghttp2_session_consume(ss, s->id, length);
			if (rv)
				h2_die("consume: %s", nghttp2_strerror(rv));
		}
		break;
	case SRC_GEN:
		h2_out_put(c, s->gen + (s->chunk - s->chunk_left), length);
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
		h2_die("stream %d: request ended without a role byte", s->id);
	if (s->role == 'S') {
		for (int i = 0; i < 8; i++)
			be[i] = (uint8_t)(s->rx >> (56 - 8 * i));
		h2_buf_put(&s->ob, be, 8);
	}
	s->fin = true;
	h2_stream_kick(c, s);
}

/* Client: the response ended; check it against what was sent. */
static void response_end(struct conn *c, struct stream *s)
{
	uint64_t got = 0;

	if (s->role == 'S') {
		if (s->ngot != 8)
			h2_die("stream %d: short count (%u bytes)", s->id, s->ngot);
		for (int i = 0; i < 8; i++)
			got = got << 8 | s->cnt[i];
		if (got != s->tx)
			h2_die("stream %d: server read %llu bytes, sent %llu", s->id,
			    (unsigned long long)got, (unsigned long long)s->tx);
		c->sunk += got;
	} else if (s->rx != s->tx || s->ib.len) {
		h2_die("stream %d: echoed %llu bytes of %llu", s->id,
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
		h2_die("stream %d: set user data", s->id);
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
		h2_die("stream %d: status %.*s", frame->hd.stream_id,
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
		h2_die("server sent GOAWAY: %s",
		    nghttp2_http2_strerror(frame->goaway.error_code));
	if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
		return 0;
	s = nghttp2_session_get_stream_user_data(ss, frame->hd.stream_id);
	if (!s)
		h2_die("frame on unknown stream %d", frame->hd.stream_id);
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
				h2_die("stream %d: submit response: %s", s->id,
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
		h2_die("DATA on unknown stream %d", id);
	if (!len)
		return 0;
	if (c->server) {
		if (!s->role) {
			s->role = (char)data[0];
			if (s->role != 'S' && s->role != 'E' && s->role != 'I')
				h2_die("stream %d: bad role byte 0x%02x", id, data[0]);
			data++;
			len--;
			rv = nghttp2_session_consume(ss, id, 1);
		}
		s->rx += len;
		if (s->role == 'S') {
			if (!rv && len)
				rv = nghttp2_session_consume(ss, id, len);
		} else if (len) {
			h2_buf_put(&s->ob, data, len);
			s->unconsumed += len;
			h2_stream_kick(c, s);
		}
		if (rv)
			h2_die("consume: %s", nghttp2_strerror(rv));
		return 0;
	}
	s->rx += len;
	switch (s->role) {
	case 'S':
		if (s->ngot + len > 8)
			h2_die("stream %d: more than 8 bytes back", id);
		memcpy(s->cnt + s->ngot, data, len);
		s->ngot += (uint8_t)len;
		break;
	case 'E':
		if (s->rx > s->tx)
			h2_die("stream %d: echo of bytes never sent", id);
		h2_buf_put(&s->ib, data, len);
		break;
	case 'I':
		for (size_t i = 0; i < len; i++)
			if (data[i] != 'x')
				h2_die("stream %d: idle echo mismatch", id);
		if (s->rx > s->tx)
			h2_die("stream %d: echo of bytes never sent", id);
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
			h2_die("stream %d reset: %s", id,
			    nghttp2_http2_strerror(error));
		if (!c->server && !s->done)
			h2_die("stream %d closed before its response ended", id);
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
			h2_die("nghttp2_session_send: %s", nghttp2_strerror(rv));
		if (!c->olen)
			return;
		h2_out_flush(c);
		if (c->olen)
			return;		/* socket full: wait for POLLOUT */
	}
}

static void pump_in(struct conn *c)
{
	for (int i = 0; i < 8; i++) {
		ssize_t n = h2_io_recv(c, c->rbuf, IO), rv;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			h2_die("recv:");
		}
		if (n == 0) {
			c->eof = true;
			return;
		}
		rv = nghttp2_session_mem_recv(c->ss, c->rbuf, (size_t)n);
		if (rv != n)
			h2_die("nghttp2_session_mem_recv: %s",
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
bool h2_run_once(struct conn *c, int extra)
{
	struct pollfd p[2] = {
		{ .fd = c->fd, .events = POLLIN },
		{ .fd = extra, .events = POLLIN },
	};

	pump_out(c);
	if (c->olen)
		p[0].events |= POLLOUT;
	if (poll(p, extra >= 0 ? 2 : 1, h2_io_pending(c) ? 0 : -1) < 0) {
		if (errno == EINTR)
			return false;
		h2_die("poll:");
	}
	if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) || h2_io_pending(c))
		pump_in(c);
	if (p[0].revents & POLLOUT)
		h2_out_flush(c);
	if (c->eof && !c->server && !c->closing)
		h2_die("server closed the connection");
	return extra >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR));
}

void h2_run_until(struct conn *c, const uint64_t *value, uint64_t target)
{
	while (*value < target)
		h2_run_once(c, -1);
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
		h2_die("socket options:");
	if (use_tls)
		h2_tls_start(c);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
		h2_die("socket options:");
	c->out = h2_xmalloc(OUT_CAP);
	c->rbuf = h2_xmalloc(IO);
	if (nghttp2_session_callbacks_new(&cb) || nghttp2_option_new(&opt))
		h2_die("out of memory");
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
		h2_die("nghttp2 session: %s", nghttp2_strerror(rv));
	rv = nghttp2_submit_settings(c->ss, NGHTTP2_FLAG_NONE, iv, server ? 2 : 3);
	if (!rv)
		rv = nghttp2_session_set_local_window_size(c->ss, NGHTTP2_FLAG_NONE,
							   0, CONN_WINDOW);
	if (rv)
		h2_die("nghttp2 settings: %s", nghttp2_strerror(rv));
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
		h2_die("listen on port %d:", port);
	printf("ready\n");
	fflush(stdout);
	do
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		h2_die("accept:");
	close(lfd);
	conn_init(&c, fd, true, NULL, 0);
	while (!c.eof)
		h2_run_once(&c, -1);
	conn_free(&c);
	return 0;
}

/* ---- client ---------------------------------------------------------- */

struct stream *h2_open_stream(struct conn *c, char role)
{
	struct stream *s = stream_new(c);
	nghttp2_data_provider prd = { .source.ptr = s, .read_callback = read_cb };

	s->role = role;
	s->role_pending = true;
	s->id = nghttp2_submit_request(c->ss, NULL, c->hdrs, 4, &prd, s);
	if (s->id < 0)
		h2_die("submit request: %s", nghttp2_strerror(s->id));
	return s;
}

/* GOAWAY, then end the TCP connection and wait for the server to end it. */
void h2_client_close(struct conn *c)
{
	struct pollfd p = { .fd = c->fd };
	ssize_t n;
	int rv;

	c->closing = true;
	rv = nghttp2_session_terminate_session(c->ss, NGHTTP2_NO_ERROR);
	if (rv)
		h2_die("GOAWAY: %s", nghttp2_strerror(rv));
	for (pump_out(c); c->olen; pump_out(c)) {
		p.events = POLLOUT;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			h2_die("poll:");
	}
	if (c->ssl)
		SSL_shutdown(c->ssl);	/* close_notify, non-blocking */
	if (shutdown(c->fd, SHUT_WR))
		h2_die("shutdown:");
	for (;;) {
		n = h2_io_recv(c, c->rbuf, IO);
		if (n == 0)
			break;
		if (n > 0 || errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			h2_die("recv:");
		p.events = POLLIN;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			h2_die("poll:");
	}
}

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
	for (size_t i = 0; i < h2_nworkloads; i++) {
		if (strcmp(h2_workloads[i].name, argv[4]))
			continue;
		port = atoi(argv[3]);
		sin.sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, argv[2], &sin.sin_addr) != 1)
			h2_die("bad IPv4 address %s", argv[2]);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
			h2_die("connect to %s:%d:", argv[2], port);
		conn_init(&c, fd, false, argv[2], port);
		h2_workloads[i].run(&c, argc - 5, argv + 5);
		conn_free(&c);
		fflush(stdout);
		return 0;
	}
	usage();
}
