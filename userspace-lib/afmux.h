/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * afmux.h - libafmux, the userspace side of AF_MUX.
 *
 * Errors are reported as -1 with errno set.
 */
#ifndef AFMUX_H
#define AFMUX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The address family number the loaded module registered, read from
 * /sys/module/afmux/parameters/family.  -1 with errno ENOENT when the
 * module is not loaded (socket(2) on the default number would autoload
 * it; afmux_socket() tries that).
 */
int afmux_family(void);

/* A new mux socket: socket(afmux_family(), SOCK_STREAM | flags, 0). */
int afmux_socket(int flags);

/*
 * The seed API (one TCP connection carrying many keyed streams):
 *
 * mux_new() attaches the connected TCP socket @tcp_fd to a new mux
 * socket (AFMUX_IOC_ATTACH).  The kernel takes its own reference to the
 * TCP socket: the caller may close @tcp_fd afterwards and must not read
 * or write it any more.  Returns NULL with errno set on failure.
 *
 * mux_send() opens a new outgoing stream under the NUL-terminated @key
 * and returns its fd (close-on-exec): write the payload, then close() it
 * or shutdown(fd, SHUT_WR) to end it.
 *
 * mux_receive() waits for the next incoming stream, copies its key
 * (NUL-terminated; keys containing NUL bytes need mux_accept()) into @key
 * of @keysz bytes and returns its fd (close-on-exec); read until EOF.
 * EMSGSIZE if @keysz is too small, i.e. @keysz <= the key's length: there
 * must be room for the NUL (the stream stays queued; AFMUX_KEY_MAX + 1
 * bytes always suffice).  EINVAL if @keysz is 0.  A key that contains a
 * NUL byte is not an error: the fd is returned, and @key holds all the
 * key's bytes then a NUL, so as a string it ends at the first NUL byte.
 *
 * mux_close() closes the mux socket: no more incoming streams; streams
 * already open carry on; the TCP connection ends after the last one.
 * It frees @m even if close(2) reports an error, and returns close's
 * result.
 *
 * Every function fails with EINVAL when given a NULL struct mux pointer.
 */
struct mux;

struct mux *mux_new(int tcp_fd);

/*
 * mux_new_tls() is mux_new() over TLS: a TLS 1.3 or 1.2 handshake on
 * @tcp_fd (GnuTLS; AES-128-GCM, AES-256-GCM or ChaCha20-Poly1305, no
 * session tickets), the record keys of both directions handed to kernel
 * TLS, then the attach - so every stream is encrypted on the wire and
 * stays an ordinary fd (afmux(7), "Over TLS").  Both ends must use it (or
 * any TLS peer that hands its keys to kTLS and runs a mux on top).
 *
 * @server: this end is the TLS server: @cert and @key are required, and
 *	with @ca the client must present a certificate @ca signed.
 * Otherwise the client: the server's certificate must be valid for
 * @hostname (also sent as SNI) and signed by @ca (PEM file) or, without
 * @ca, by the system's CAs; @insecure skips that check (tests only).
 * @cert and @key (PEM files) are the client's own for mutual TLS.
 *
 * The handshake blocks (on a non-blocking @tcp_fd it polls).  kTLS must
 * be available: "modprobe tls" if setsockopt(TCP_ULP) fails with ENOENT
 * for an unprivileged caller.  Returns NULL with errno set: EKEYREJECTED
 * (the peer's certificate was not accepted), EPROTO (the handshake
 * failed), EOPNOTSUPP (a cipher kTLS does not take was negotiated),
 * ENOENT (a file is missing, or no kTLS), EINVAL (bad options or files),
 * or mux_new()'s errors; mux_tls_error() then says why in a sentence (per
 * thread, until the next call).  @tcp_fd is not closed either way; after
 * a failed handshake it is no use for anything but close().  Needs
 * -lgnutls when linking libafmux statically (pkg-config --static).
 */
struct mux_tls {
	int server;
	const char *cert;
	const char *key;
	const char *ca;
	const char *hostname;
	int insecure;
};

struct mux *mux_new_tls(int tcp_fd, const struct mux_tls *tls);

/*
 * mux_tls_handshake() is the first half of mux_new_tls(): the handshake
 * and the keys handed to kTLS, without the attach.  On success (0)
 * @tcp_fd is a kTLS socket: mux_new() attaches it, or the caller uses it
 * as a plain kTLS socket.  Fails as mux_new_tls() does (-1, errno,
 * mux_tls_error()).
 */
int mux_tls_handshake(int tcp_fd, const struct mux_tls *tls);
const char *mux_tls_error(void);
int mux_send(struct mux *m, const char *key);
int mux_receive(struct mux *m, char *key, size_t keysz);
int mux_close(struct mux *m);

/* Beyond the seed. */

/* The mux socket's fd, for poll/epoll (POLLIN: a stream is waiting). */
int mux_fd(const struct mux *m);

/*
 * Binary keys and fd flags (AFMUX_O_CLOEXEC, AFMUX_O_NONBLOCK, i.e.
 * O_CLOEXEC, O_NONBLOCK).  mux_open() stores the new stream's ID in
 * *@stream_id if that is not NULL.  mux_accept() takes @*key_len as the
 * buffer size and sets it to the key's length; on a non-blocking mux
 * socket (mux_set_nonblock) it fails with EAGAIN when nothing is waiting.
 * With EMSGSIZE (buffer too small; the stream stays queued) it sets
 * *@key_len to the size needed.  EINVAL if @key_len is NULL.
 */
int mux_open(struct mux *m, const void *key, size_t key_len, int flags,
	     uint32_t *stream_id);
int mux_accept(struct mux *m, void *key, size_t *key_len, int flags,
	       uint32_t *stream_id);
int mux_set_nonblock(struct mux *m, int nonblock);

/*
 * A stream fd's ID, whether this end opened it (1) or the peer did (0),
 * and its receive window (AFMUX_STREAM_INFO); NULL pointers are skipped.
 * mux_stream_set_window() sets the receive window (AFMUX_WINDOW), within
 * [AFMUX_WINDOW_MIN, AFMUX_WINDOW_MAX] of <linux/afmux.h>, else EINVAL.
 */
int mux_stream_info(int stream_fd, uint32_t *stream_id, int *local,
		    uint32_t *window);
int mux_stream_set_window(int stream_fd, uint32_t window);

/*
 * Pools: one mux over several TCP connections to the same peer (afmux(7),
 * "Pools"; docs/protocol.md section 12).  mux_new_pool() is mux_new()
 * offering a pool (AFMUX_ATTACH_POOL); for a pool over TLS, run
 * mux_tls_handshake() on each TCP connection first.  mux_join() adds
 * another connected TCP socket to @m's pool (AFMUX_IOC_JOIN): both ends
 * call it, each with its end of the new connection; it waits until the
 * peer has joined it too and returns the connection's number in the pool
 * (1, 2, ...; the first is 0), or -1 with errno (EOPNOTSUPP: the peer did
 * not offer a pool; EACCES, ECONNREFUSED: the new connection's peer is
 * not this mux's; see afmux_join in <linux/afmux.h>).  On a non-blocking
 * mux socket it returns the number at once, the join going on.  As with
 * mux_new(), the caller may close @tcp_fd afterwards.
 *
 * mux_stream_link() is the number of the connection a stream lives on,
 * or -1 with errno.
 */
struct mux *mux_new_pool(int tcp_fd);
int mux_join(struct mux *m, int tcp_fd);
int mux_stream_link(int stream_fd);

/*
 * MSG_ZEROCOPY (afmux(7), "MSG_ZEROCOPY"): mux_zerocopy_enable() lets
 * @fd send with it - SO_ZEROCOPY, or AFMUX_ZEROCOPY where the kernel
 * keeps that from streams (6.1); it works on a TCP socket too.
 * mux_zerocopy_reap() reads the completions waiting on @fd's error queue,
 * waiting up to @timeout_ms for one if none is there (0: no wait), and
 * adds to @zc the numbers completed and, of them, those the kernel copied
 * after all.  Each successful send(..., MSG_ZEROCOPY) takes one number:
 * a caller that counts them knows its buffers are free once @done
 * reaches the count.  Both return 0, or -1 with errno.
 */
struct mux_zerocopy {
	uint32_t done;
	uint32_t copied;
};
int mux_zerocopy_enable(int fd);
int mux_zerocopy_reap(int fd, struct mux_zerocopy *zc, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* AFMUX_H */
