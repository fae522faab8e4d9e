// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * afmux_tls.c - mux_tls_handshake(): a TLS handshake over a connected
 * TCP socket with GnuTLS, the record keys of both directions handed to
 * kTLS; mux_new_tls(): that, then the socket attached to a mux (afmux(7),
 * "Over TLS").
 *
 * GnuTLS gives the keys, IVs and sequence numbers it would use itself
 * (gnutls_record_get_state()), as the kernel's own handshake daemon
 * (tlshd) takes them.  The session is made so that nothing is left for
 * GnuTLS to do after the handshake: no session tickets either way, and
 * no buffered record (checked).  Only the suites kTLS and afmux take are
 * offered.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/tls.h>
#include <gnutls/gnutls.h>

#include "afmux.h"

#ifndef SOL_TLS
#define SOL_TLS		282
#endif

#define MUX_TLS_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:" \
			 "-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:" \
			 "+CHACHA20-POLY1305"

static __thread char mux_tls_why[256];

const char *mux_tls_error(void)
{
	return mux_tls_why;
}

/* Say why in mux_tls_error(), set errno to @err; returns -1. */
__attribute__((format(printf, 2, 3)))
static int mux_tls_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mux_tls_why, sizeof(mux_tls_why), fmt, ap);
	va_end(ap);
	errno = err;
	return -1;
}

/* Load credentials: our certificate and key, the CAs to trust. */
static int mux_tls_creds(gnutls_certificate_credentials_t cred,
			 const struct mux_tls *t)
{
	int r;

	if (t->cert || t->key) {
		if (!t->cert || !t->key)
			return mux_tls_fail(EINVAL, "a certificate needs its key and the other way round");
		r = gnutls_certificate_set_x509_key_file(cred, t->cert, t->key,
							 GNUTLS_X509_FMT_PEM);
		if (r < 0)
			return mux_tls_fail(r == GNUTLS_E_FILE_ERROR ? ENOENT :
					    EINVAL, "%s, %s: %s", t->cert,
					    t->key, gnutls_strerror(r));
	} else if (t->server) {
		return mux_tls_fail(EINVAL, "a TLS server needs a certificate and its key");
	}
	if (t->ca) {
		r = gnutls_certificate_set_x509_trust_file(cred, t->ca,
							   GNUTLS_X509_FMT_PEM);
		if (r <= 0)
			return mux_tls_fail(r == GNUTLS_E_FILE_ERROR ||
					    r == 0 ? ENOENT : EINVAL,
					    "%s: %s", t->ca, r ? gnutls_strerror(r) :
					    "no certificate in it");
	} else if (!t->server && !t->insecure) {
		r = gnutls_certificate_set_x509_system_trust(cred);
		if (r < 0)
			return mux_tls_fail(ENOENT, "the system's CAs: %s",
					    gnutls_strerror(r));
	}
	return 0;
}

/* The session: suites kTLS takes, no tickets, the peer checked. */
static int mux_tls_session(gnutls_session_t *s,
			   gnutls_certificate_credentials_t cred,
			   const struct mux_tls *t, int fd)
{
	unsigned int flags = t->server ? GNUTLS_SERVER : GNUTLS_CLIENT;
	int r;

	r = gnutls_init(s, flags | GNUTLS_NO_TICKETS);
	if (r < 0)
		return mux_tls_fail(ENOMEM, "%s", gnutls_strerror(r));
	r = gnutls_priority_set_direct(*s, MUX_TLS_PRIORITY, NULL);
	if (r >= 0)
		r = gnutls_credentials_set(*s, GNUTLS_CRD_CERTIFICATE, cred);
	if (r < 0)
		return mux_tls_fail(EINVAL, "%s", gnutls_strerror(r));
	if (t->server && t->ca) {
		/* Mutual TLS: the client must show a certificate we trust. */
		gnutls_certificate_server_set_request(*s, GNUTLS_CERT_REQUIRE);
		gnutls_session_set_verify_cert(*s, NULL, 0);
	} else if (!t->server) {
		if (t->hostname)
			gnutls_server_name_set(*s, GNUTLS_NAME_DNS, t->hostname,
					       strlen(t->hostname));
		if (!t->insecure)
			gnutls_session_set_verify_cert(*s, t->hostname, 0);
	}
	gnutls_transport_set_int(*s, fd);
	do {
		r = gnutls_handshake(*s);
		if (r == GNUTLS_E_AGAIN) {	/* a non-blocking fd: wait */
			struct pollfd p = {
				.fd = fd,
				.events = gnutls_record_get_direction(*s) ?
					  POLLOUT : POLLIN,
			};

			poll(&p, 1, -1);
		}
	} while (r < 0 && !gnutls_error_is_fatal(r));
	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR ||
	    r == GNUTLS_E_CERTIFICATE_ERROR ||
	    r == GNUTLS_E_NO_CERTIFICATE_FOUND ||
	    r == GNUTLS_E_CERTIFICATE_REQUIRED)
		return mux_tls_fail(EKEYREJECTED, "the peer's certificate: %s",
				    gnutls_strerror(r));
	if (r < 0)
		return mux_tls_fail(EPROTO, "TLS handshake: %s",
				    gnutls_strerror(r));
	if (gnutls_record_check_pending(*s))
		return mux_tls_fail(EPROTO, "the peer sent data before the mux");
	return 0;
}

/* One direction's keys (@read: receive) into kTLS's structure. */
static int mux_tls_install(gnutls_session_t s, int fd, unsigned int read)
{
	union {
		struct tls12_crypto_info_aes_gcm_128 gcm128;
		struct tls12_crypto_info_aes_gcm_256 gcm256;
		struct tls12_crypto_info_chacha20_poly1305 chacha;
	} u;
	gnutls_datum_t mac, iv, key;
	unsigned char seq[8];
	int tls13 = gnutls_protocol_get_version(s) == GNUTLS_TLS1_3;
	socklen_t len;
	int r;

	r = gnutls_record_get_state(s, read, &mac, &iv, &key, seq);
	if (r < 0)
		return mux_tls_fail(EPROTO, "record keys: %s",
				    gnutls_strerror(r));
	memset(&u, 0, sizeof(u));
	u.gcm128.info.version = tls13 ? TLS_1_3_VERSION : TLS_1_2_VERSION;
	switch (gnutls_cipher_get(s)) {
	case GNUTLS_CIPHER_AES_128_GCM:
		u.gcm128.info.cipher_type = TLS_CIPHER_AES_GCM_128;
		memcpy(u.gcm128.key, key.data, sizeof(u.gcm128.key));
		memcpy(u.gcm128.salt, iv.data, sizeof(u.gcm128.salt));
		/* TLS 1.2's explicit nonce starts as the sequence number. */
		memcpy(u.gcm128.iv, tls13 ? iv.data + 4 : seq,
		       sizeof(u.gcm128.iv));
		memcpy(u.gcm128.rec_seq, seq, sizeof(seq));
		len = sizeof(u.gcm128);
		break;
	case GNUTLS_CIPHER_AES_256_GCM:
		u.gcm256.info.cipher_type = TLS_CIPHER_AES_GCM_256;
		memcpy(u.gcm256.key, key.data, sizeof(u.gcm256.key));
		memcpy(u.gcm256.salt, iv.data, sizeof(u.gcm256.salt));
		memcpy(u.gcm256.iv, tls13 ? iv.data + 4 : seq,
		       sizeof(u.gcm256.iv));
		memcpy(u.gcm256.rec_seq, seq, sizeof(seq));
		len = sizeof(u.gcm256);
		break;
	case GNUTLS_CIPHER_CHACHA20_POLY1305:
		u.chacha.info.cipher_type = TLS_CIPHER_CHACHA20_POLY1305;
		memcpy(u.chacha.key, key.data, sizeof(u.chacha.key));
		memcpy(u.chacha.iv, iv.data, sizeof(u.chacha.iv));
		memcpy(u.chacha.rec_seq, seq, sizeof(seq));
		len = sizeof(u.chacha);
		break;
	default:
		return mux_tls_fail(EOPNOTSUPP, "cipher %s: not for kTLS",
				    gnutls_cipher_get_name(gnutls_cipher_get(s)));
	}
	r = setsockopt(fd, SOL_TLS, read ? TLS_RX : TLS_TX, &u, len);
	memset(&u, 0, sizeof(u));
	if (r)
		return mux_tls_fail(errno, "kTLS %s keys: %s", read ? "RX" : "TX",
				    strerror(errno));
	return 0;
}

int mux_tls_handshake(int tcp_fd, const struct mux_tls *t)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t s = NULL;
	int err, r = -1;

	mux_tls_why[0] = '\0';
	if (!t)
		return mux_tls_fail(EINVAL, "no TLS options");
	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return mux_tls_fail(ENOMEM, "GnuTLS credentials");
	if (mux_tls_creds(cred, t) || mux_tls_session(&s, cred, t, tcp_fd))
		goto out;
	if (setsockopt(tcp_fd, IPPROTO_TCP, TCP_ULP, "tls", 4)) {
		mux_tls_fail(errno, "kTLS (TCP_ULP \"tls\"): %s%s",
			     strerror(errno), errno == ENOENT ?
			     " (modprobe tls?)" : "");
		goto out;
	}
	if (mux_tls_install(s, tcp_fd, 0) || mux_tls_install(s, tcp_fd, 1))
		goto out;
	r = 0;
out:
	err = errno;
	if (s)
		gnutls_deinit(s);	/* sends nothing: kTLS has the keys */
	gnutls_certificate_free_credentials(cred);
	errno = err;
	return r;
}

struct mux *mux_new_tls(int tcp_fd, const struct mux_tls *t)
{
	struct mux *m;

	if (mux_tls_handshake(tcp_fd, t))
		return NULL;
	m = mux_new(tcp_fd);
	if (!m) {
		int err = errno;

		mux_tls_fail(err, "attach: %s", strerror(err));
	}
	return m;
}
