/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktls_util.h - kTLS for the selftests: a TCP socket gets the "tls" ULP
 * and fixed record keys for one direction, without a handshake (the
 * kernel path does not care where keys come from; muxcat --tls makes
 * real ones), and records of a given content type are sent and read.
 */
#ifndef AFMUX_SELFTEST_KTLS_UTIL_H
#define AFMUX_SELFTEST_KTLS_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/tls.h>

#ifndef SOL_TLS
#define SOL_TLS		282
#endif

/* TLS content types (RFC 8446 5.1). */
#define TLS_CT_ALERT		21
#define TLS_CT_HANDSHAKE	22
#define TLS_CT_DATA		23

/* A TLS version and cipher, as kTLS names them. */
struct ktls_suite {
	const char *name;
	uint16_t version;	/* TLS_1_2_VERSION, TLS_1_3_VERSION */
	uint16_t cipher;	/* TLS_CIPHER_* */
};

/* Give @fd the kTLS ULP (loading tls.ko if the kernel did not). */
static inline int ktls_ulp(int fd)
{
	if (!setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", 4))
		return 0;
	if (errno != ENOENT || system("modprobe tls 2>/dev/null"))
		return -1;
	return setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", 4);
}

/*
 * Install keys for direction @dir (TLS_TX or TLS_RX) of @fd: every key,
 * IV and salt byte is @seed, the record sequence starts at 0.  The two
 * ends of a connection agree when one's TX seed is the other's RX seed.
 */
static inline int ktls_key(int fd, int dir, const struct ktls_suite *s,
			   uint8_t seed)
{
	union {
		struct tls12_crypto_info_aes_gcm_128 gcm128;
		struct tls12_crypto_info_aes_gcm_256 gcm256;
		struct tls12_crypto_info_aes_ccm_128 ccm128;
		struct tls12_crypto_info_chacha20_poly1305 chacha;
	} u;
	socklen_t len;

	memset(&u, seed, sizeof(u));
	switch (s->cipher) {
	case TLS_CIPHER_AES_GCM_128:
		memset(u.gcm128.rec_seq, 0, sizeof(u.gcm128.rec_seq));
		len = sizeof(u.gcm128);
		break;
	case TLS_CIPHER_AES_GCM_256:
		memset(u.gcm256.rec_seq, 0, sizeof(u.gcm256.rec_seq));
		len = sizeof(u.gcm256);
		break;
	case TLS_CIPHER_AES_CCM_128:
		memset(u.ccm128.rec_seq, 0, sizeof(u.ccm128.rec_seq));
		len = sizeof(u.ccm128);
		break;
	case TLS_CIPHER_CHACHA20_POLY1305:
		memset(u.chacha.rec_seq, 0, sizeof(u.chacha.rec_seq));
		len = sizeof(u.chacha);
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	u.gcm128.info.version = s->version;
	u.gcm128.info.cipher_type = s->cipher;
	return setsockopt(fd, SOL_TLS, dir, &u, len);
}

/* kTLS both ways on a connected pair: @c sends with seed 1, @s with 2. */
static inline int ktls_pair_keys(int c, int s, const struct ktls_suite *st)
{
	if (ktls_ulp(c) || ktls_ulp(s))
		return -1;
	if (ktls_key(c, TLS_TX, st, 1) || ktls_key(s, TLS_RX, st, 1) ||
	    ktls_key(s, TLS_TX, st, 2) || ktls_key(c, TLS_RX, st, 2))
		return -1;
	return 0;
}

/* Send one record of content type @type through @fd's kTLS. */
static inline ssize_t ktls_send_record(int fd, uint8_t type, const void *buf,
				       size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(type))] = { 0 };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_TLS;
	cm->cmsg_type = TLS_SET_RECORD_TYPE;
	cm->cmsg_len = CMSG_LEN(sizeof(type));
	memcpy(CMSG_DATA(cm), &type, sizeof(type));
	return sendmsg(fd, &msg, 0);
}

/*
 * Read from @fd's kTLS, with the record's content type in *@type (data
 * records come as plain reads would; other types one record at a time).
 */
static inline ssize_t ktls_recv_record(int fd, uint8_t *type, void *buf,
				       size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(*type))] = { 0 };
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	ssize_t n = recvmsg(fd, &msg, 0);

	*type = TLS_CT_DATA;
	cm = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (cm && cm->cmsg_level == SOL_TLS &&
	    cm->cmsg_type == TLS_GET_RECORD_TYPE)
		memcpy(type, CMSG_DATA(cm), sizeof(*type));
	return n;
}

#endif /* AFMUX_SELFTEST_KTLS_UTIL_H */
