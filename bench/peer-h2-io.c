// SPDX-License-Identifier: GPL-2.0
/*
 * peer-h2-io.c - peer-h2's plumbing: die, xmalloc, now, the byte queue
 * (struct buf), and the connection's bytes: the socket or the OpenSSL TLS
 * session over it (handshake, send, receive) and the out buffer that
 * gathers nghttp2's frames for one send().
 */
#include <stdarg.h>
#include <time.h>
#include <sys/socket.h>

#include <openssl/err.h>

#include "peer-h2.h"

void h2_die(const char *fmt, ...)
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

void *h2_xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		h2_die("out of memory");
	return p;
}

double h2_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the byte queue (struct buf) ------------------------------------ */

void h2_buf_put(struct buf *b, const void *data, size_t n)
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
				h2_die("out of memory");
			b->cap = cap;
		}
	}
	memcpy(b->p + b->off + b->len, data, n);
	b->len += n;
}

void h2_buf_take(struct buf *b, size_t n)
{
	b->off += n;
	b->len -= n;
	if (!b->len) {
		free(b->p);
		*b = (struct buf){ 0 };
	}
}

/* ---- the socket, or TLS over it --------------------------------------- */

static void __attribute__((noreturn)) tls_die(const char *what)
{
	h2_die("TLS %s: %s", what, ERR_error_string(ERR_get_error(), NULL));
}

/* The handshake on the still blocking @c->fd. */
void h2_tls_start(struct conn *c)
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
			h2_die("tls: set MUXBENCH_CERT and MUXBENCH_KEY");
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
ssize_t h2_io_recv(struct conn *c, void *p, size_t n)
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
bool h2_io_pending(struct conn *c)
{
	return c->ssl && SSL_has_pending(c->ssl);
}

void h2_out_flush(struct conn *c)
{
	while (c->olen) {
		ssize_t n = io_send(c, c->out + c->ooff, c->olen);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			h2_die("send:");
		}
		c->ooff += (size_t)n;
		c->olen -= (size_t)n;
	}
	if (!c->olen)
		c->ooff = 0;
}

/* Room left in the out buffer; 0 once OUT_FLUSH bytes wait for a full socket. */
size_t h2_out_room(struct conn *c)
{
	if (c->olen >= OUT_FLUSH)
		h2_out_flush(c);
	if (c->olen >= OUT_FLUSH)
		return 0;
	if (c->ooff) {
		memmove(c->out, c->out + c->ooff, c->olen);
		c->ooff = 0;
	}
	return OUT_CAP - c->olen;
}

void h2_out_put(struct conn *c, const void *data, size_t n)
{
	memcpy(c->out + c->ooff + c->olen, data, n);
	c->olen += n;
}
