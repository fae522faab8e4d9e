/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktls.h - a mux over a kTLS socket: reading decrypted records and
 * writing plaintext through kTLS (ktls.c).
 */
#ifndef _AFMUX_KTLS_H
#define _AFMUX_KTLS_H

#include <linux/bvec.h>
#include <linux/skbuff.h>
#include <net/sock.h>

struct afmux_conn;

/*
 * struct afmux_ktls - what a connection over kTLS has besides a plain one
 * @base: kTLS's own socket ops, which afmux calls (read_sock, splice_eof)
 * @version: TLS_1_2_VERSION or TLS_1_3_VERSION, as at attach
 * @cipher: TLS_CIPHER_*, as at attach
 * @rx_skb: a decrypted record the parser has not taken all of (6.1,
 *	where kTLS has no read_sock: it is read into afmux's own pages)
 * @rx_off: how much of it the parser took
 * @rx_len: its length
 *
 * @rx_* belong to rx_work.  Freed with the mux socket.
 */
struct afmux_ktls {
	const struct proto_ops *base;
	u16 version;
	u16 cipher;
	struct sk_buff *rx_skb;
	unsigned int rx_off;
	unsigned int rx_len;
};

extern const struct afmux_tcp_cbs afmux_ktls_cbs;

void afmux_ktls_rx(struct afmux_conn *conn);
int afmux_ktls_sendmsg(struct afmux_conn *conn, struct msghdr *msg,
		       size_t len);
void afmux_ktls_push(struct afmux_conn *conn);
bool afmux_ktls_discard(struct afmux_conn *conn);
void afmux_ktls_close_notify(struct afmux_conn *conn);
struct afmux_ktls *afmux_ktls_new(struct socket *tcp);
/* Room for afmux_ktls_suite()'s "1.3:chacha20-poly1305" and its NUL. */
#define AFMUX_KTLS_SUITE_LEN	24
const char *afmux_ktls_suite(const struct afmux_ktls *kt, char *buf);
void afmux_ktls_free(struct afmux_ktls *kt);

#endif /* _AFMUX_KTLS_H */
