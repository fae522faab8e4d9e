// SPDX-License-Identifier: GPL-2.0
/*
 * ktls.c - a mux over a kTLS socket.
 *
 * The TLS handshake happened in userspace, which gave kTLS the keys of
 * both directions; afmux then reads decrypted records and writes
 * plaintext through kTLS, which encrypts it.  takeover.c claims the
 * socket; this file is the data path:
 *
 * - Reading runs in rx_work only: kTLS decrypts in process context, under
 *   the socket lock it takes itself.  On 6.12 kTLS's read_sock hands the
 *   parser each decrypted record's skb (DATA payload is cloned from it,
 *   as from TCP's); 6.1's kTLS has only recvmsg, which decrypts into
 *   pages of afmux's own skb (TLS 1.2 straight into them, TLS 1.3 with a
 *   copy unless the user set TLS_RX_EXPECT_NO_PAD), fed to the parser in
 *   turn.  Either way the parser runs under the TCP socket lock, the
 *   receive serialisation of afmux.h.
 * - Records that are not application data end the connection: an alert
 *   (close_notify is the end of the peer's bytes; any other is
 *   ECONNABORTED) or a handshake message (a KeyUpdate is EKEYEXPIRED:
 *   these kernels' kTLS cannot take new keys; a NewSessionTicket is
 *   skipped).  A record that fails to decrypt is kTLS's EBADMSG.
 * - Writing: the pump (tx.c) writes frames with kTLS's sendmsg, headers
 *   copied and DATA payload pages by reference, from process context
 *   without the TCP socket lock (kTLS takes it, after its own tx_lock).
 *   MSG_MORE keeps a record open across frames; afmux_ktls_push() closes
 *   it when no frame follows.
 * - Callbacks: TCP's data_ready goes to kTLS's, which parses records and
 *   calls its record-ready callback - afmux's here - when one is whole;
 *   write_space goes to kTLS's first (it pushes its pending records),
 *   then to the pump's; error_report and state_change wake rx_work.
 */
#include <linux/net.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <linux/tls.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tls.h>

#include "afmux.h"
#include "compat.h"
#include "ktls.h"

/* TLS content and handshake message types (RFC 8446 5.1, 4). */
#define AFMUX_TLS_ALERT			21
#define AFMUX_TLS_HANDSHAKE		22
#define AFMUX_TLS_DATA			23
#define AFMUX_TLS_NEW_SESSION_TICKET	4
#define AFMUX_TLS_KEY_UPDATE		24
#define AFMUX_TLS_CLOSE_NOTIFY		0

/*
 * What one kTLS recvmsg may decrypt at once: a whole record (16 KiB of
 * plaintext at most) and then some, in one order-3 page if there is one.
 */
#define AFMUX_KTLS_RX_LEN	(32 * 1024)
#define AFMUX_KTLS_RX_ORDER	get_order(AFMUX_KTLS_RX_LEN)

/* Reads per rx_work run before it lets others have the CPU. */
#define AFMUX_KTLS_RX_RUNS	64

/* TCP's data_ready: kTLS parses; afmux_conn_wake_rx() hears of records. */
static void afmux_ktls_data_ready(struct sock *tsk)
{
	struct afmux_conn *conn;

	read_lock_bh(&tsk->sk_callback_lock);
	conn = tsk->sk_user_data;
	if (conn) {
		conn->saved.data_ready(tsk);
		/* kTLS's parser gave up on a record header. */
		if (READ_ONCE(tsk->sk_err))
			afmux_conn_queue_work(conn, &conn->rx_work);
	}
	read_unlock_bh(&tsk->sk_callback_lock);
}

static void afmux_ktls_write_space(struct sock *tsk)
{
	struct afmux_conn *conn;

	read_lock_bh(&tsk->sk_callback_lock);
	conn = tsk->sk_user_data;
	if (conn) {
		conn->saved.write_space(tsk);	/* kTLS pushes its records */
		afmux_tx_room(conn, tsk);
	}
	read_unlock_bh(&tsk->sk_callback_lock);
}

const struct afmux_tcp_cbs afmux_ktls_cbs = {
	.data_ready	= afmux_ktls_data_ready,
	.write_space	= afmux_ktls_write_space,
	.state_change	= afmux_conn_wake_rx,
	.error_report	= afmux_conn_wake_rx,
	.record_ready	= afmux_conn_wake_rx,
};

/*
 * Decrypt what kTLS has (one record, or several of one type) into a new
 * skb of pages, in *@skbp, with its TLS content type in *@type.  Returns
 * the bytes, 0 at the end of the peer's stream, -EAGAIN if no record is
 * whole, or kTLS's error.  Context: process, no TCP socket lock held.
 */
static int afmux_ktls_recv(struct afmux_conn *conn, struct sk_buff **skbp,
			   u8 *type)
{
	u8 cbuf[CMSG_SPACE(sizeof(u8))] __aligned(sizeof(size_t)) = {};
	struct cmsghdr *cmsg = (struct cmsghdr *)cbuf;
	struct bio_vec bv[MAX_SKB_FRAGS];
	struct msghdr msg = {
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct sock *tsk = conn->tsk;
	struct sk_buff *skb;
	int err, i, n, addr_len = 0;

	skb = alloc_skb_with_frags(0, AFMUX_KTLS_RX_LEN, AFMUX_KTLS_RX_ORDER,
				   &err, GFP_KERNEL | __GFP_NOWARN);
	if (!skb) {
		afmux_count(conn, AFMUX_MIB_ALLOC_FAILURES);
		return err;
	}
	skb->len = AFMUX_KTLS_RX_LEN;
	skb->data_len = AFMUX_KTLS_RX_LEN;
	for (i = 0; i < skb_shinfo(skb)->nr_frags; i++) {
		const skb_frag_t *frag = &skb_shinfo(skb)->frags[i];

		bvec_set_page(&bv[i], skb_frag_page(frag), skb_frag_size(frag),
			      skb_frag_off(frag));
	}
	iov_iter_bvec(&msg.msg_iter, ITER_DEST, bv, i, AFMUX_KTLS_RX_LEN);
	n = tsk->sk_prot->recvmsg(tsk, &msg, AFMUX_KTLS_RX_LEN, MSG_DONTWAIT,
				  &addr_len);
	if (n <= 0) {
		kfree_skb(skb);
		return n;
	}
	pskb_trim(skb, n);	/* frees pages, never fails: not cloned */
	*type = 0;
	if (cmsg->cmsg_len >= CMSG_LEN(sizeof(u8)) &&
	    cmsg->cmsg_level == SOL_TLS &&
	    cmsg->cmsg_type == TLS_GET_RECORD_TYPE)
		*type = *(u8 *)CMSG_DATA(cmsg);
	*skbp = skb;
	return n;
}

/*
 * A record that is not application data, @len bytes in @skb: 1 to go on
 * reading, 0 for the end of the peer's stream, or the errno to end with.
 */
static int afmux_ktls_control(struct sk_buff *skb, int len, u8 type)
{
	u8 b[2] = {};

	if (skb_copy_bits(skb, 0, b, min(len, 2)))
		return -EPROTO;
	switch (type) {
	case AFMUX_TLS_ALERT:
		if (len >= 2 && b[1] == AFMUX_TLS_CLOSE_NOTIFY)
			return 0;
		return -ECONNABORTED;
	case AFMUX_TLS_HANDSHAKE:
		if (b[0] == AFMUX_TLS_NEW_SESSION_TICKET)
			return 1;
		if (b[0] == AFMUX_TLS_KEY_UPDATE)
			return -EKEYEXPIRED;
		return -EPROTO;
	default:
		return -EPROTO;
	}
}

/* Feed @skb's bytes from @off on to the parser; returns the bytes taken. */
static int afmux_ktls_feed(struct afmux_conn *conn, struct sk_buff *skb,
			   unsigned int off, unsigned int len, bool *over)
{
	read_descriptor_t desc = { .arg.data = conn, .count = 1 };
	int used;

	afmux_tcp_lock(conn);
	used = afmux_rx_actor(&desc, skb, off, len);
	*over = afmux_rx_parsed(conn, desc.error);
	afmux_tcp_unlock(conn);
	return used;
}

#if AFMUX_HAVE_TLS_READ_SOCK
/*
 * Read every whole record with kTLS's read_sock.  Returns the bytes fed,
 * -EAGAIN when there is nothing to read, 0 at the end, -EINVAL when a
 * record that is not data is first (afmux_ktls_read() takes it), or an
 * error.
 */
static int afmux_ktls_read_once(struct afmux_conn *conn, bool *over)
{
	read_descriptor_t desc = { .arg.data = conn, .count = 1 };
	int ret;

	afmux_tcp_lock(conn);
	ret = conn->ktls->base->read_sock(conn->tsk, &desc, afmux_rx_actor);
	*over = afmux_rx_parsed(conn, desc.error);
	afmux_tcp_unlock(conn);
	if (!ret && test_bit(AFMUX_C_RX_PAUSED, &conn->flags))
		return -EAGAIN;		/* the record waits in kTLS */
	return ret;
}
#else
/* The same from 6.1's kTLS, through afmux's own pages. */
static int afmux_ktls_read_once(struct afmux_conn *conn, bool *over)
{
	struct afmux_ktls *kt = conn->ktls;
	struct sk_buff *skb;
	int used;
	u8 type;

	*over = false;
	if (!kt->rx_skb) {
		int n = afmux_ktls_recv(conn, &skb, &type);

		if (n <= 0)
			return n;
		if (type != AFMUX_TLS_DATA) {
			/* The caller asks again: kTLS has it no more. */
			n = afmux_ktls_control(skb, n, type);
			kfree_skb(skb);
			return n;
		}
		kt->rx_skb = skb;
		kt->rx_off = 0;
		kt->rx_len = n;
	}
	used = afmux_ktls_feed(conn, kt->rx_skb, kt->rx_off,
			       kt->rx_len - kt->rx_off, over);
	kt->rx_off += used;
	if (kt->rx_off >= kt->rx_len || *over) {
		consume_skb(kt->rx_skb);
		kt->rx_skb = NULL;
	}
	return used ?: -EAGAIN;		/* 0: replies are full */
}
#endif

/*
 * Read once: the bytes fed (or 1 for a record skipped), -EAGAIN, 0 at
 * the end of the peer's stream, or the errno to end the connection with.
 */
static int afmux_ktls_read(struct afmux_conn *conn, bool *over)
{
	struct sk_buff *skb;
	int ret;
	u8 type;

	ret = afmux_ktls_read_once(conn, over);
	if (ret != -EINVAL || *over)
		return ret;
	/* read_sock leaves a record that is not data to recvmsg. */
	ret = afmux_ktls_recv(conn, &skb, &type);
	if (ret <= 0)
		return ret;
	if (type == AFMUX_TLS_DATA) {
		/* Not what read_sock stopped at: cannot happen. */
		ret = afmux_ktls_feed(conn, skb, 0, ret, over) == ret ?
		      1 : -EPROTO;
	} else {
		ret = afmux_ktls_control(skb, ret, type);
	}
	kfree_skb(skb);
	return ret;
}

/**
 * afmux_ktls_rx - rx_work over kTLS: read, parse, deliver
 * @conn: a connection over kTLS
 *
 * Context: process (rx_work), no lock held.
 */
void afmux_ktls_rx(struct afmux_conn *conn)
{
	bool over = false;
	unsigned int i;
	int ret;

	if (test_bit(AFMUX_C_LINGER, &conn->flags)) {
		if (afmux_ktls_discard(conn))
			afmux_conn_teardown_now(conn);
		return;
	}
	for (i = 0; i < AFMUX_KTLS_RX_RUNS; i++) {
		if (conn->parser.state == AFMUX_PARSE_DEAD ||
		    test_bit(AFMUX_C_FAILED, &conn->flags))
			return;
		ret = afmux_ktls_read(conn, &over);
		if (over || ret == -EAGAIN)
			return;
		if (ret <= 0) {
			/* kTLS's errors and ours, or the end: 0 */
			afmux_rx_ended(conn, -ret);
			return;
		}
	}
	afmux_conn_queue_work(conn, &conn->rx_work);	/* more to come */
}

/**
 * afmux_ktls_sendmsg - write to kTLS
 * @conn: a connection over kTLS
 * @msg: the bytes (a kvec is copied, MSG_SPLICE_PAGES pages referenced)
 * @len: how many
 *
 * Context: process, without the TCP socket lock (kTLS takes it).
 * Return: the bytes kTLS took, or a negative errno if none.
 */
int afmux_ktls_sendmsg(struct afmux_conn *conn, struct msghdr *msg,
		       size_t len)
{
	return conn->tsk->sk_prot->sendmsg(conn->tsk, msg, len);
}

/**
 * afmux_ktls_push - close the record MSG_MORE left open, and send it
 * @conn: a connection over kTLS
 *
 * kTLS hands TCP each record with the flags of the write that closed
 * it, so TCP may still hold the record back for MSG_MORE: the caller
 * pushes TCP after (afmux_tx_push()).
 *
 * Context: process, without the TCP socket lock.
 */
void afmux_ktls_push(struct afmux_conn *conn)
{
	if (conn->ktls->base->splice_eof)
		conn->ktls->base->splice_eof(conn->tcp);
}

/**
 * afmux_ktls_discard - read and drop what kTLS has (after our end)
 * @conn: a connection over kTLS
 *
 * Unread bytes would turn the final close of TCP into a reset.
 * Context: process, without the TCP socket lock.
 * Return: true if the peer's stream has ended (or failed).
 */
bool afmux_ktls_discard(struct afmux_conn *conn)
{
	struct sk_buff *skb;
	int ret;
	u8 type;

	do {
		ret = afmux_ktls_recv(conn, &skb, &type);
		if (ret > 0)
			kfree_skb(skb);
	} while (ret > 0);
	return ret != -EAGAIN;
}

/**
 * afmux_ktls_close_notify - send TLS's close_notify alert
 * @conn: a connection over kTLS whose pump is done
 *
 * It goes before the FIN of a clean end, so that the peer's TLS knows
 * the stream was not cut short.
 * Context: process, without the TCP socket lock.
 */
void afmux_ktls_close_notify(struct afmux_conn *conn)
{
	u8 cbuf[CMSG_SPACE(sizeof(u8))] __aligned(sizeof(size_t)) = {};
	struct cmsghdr *cmsg = (struct cmsghdr *)cbuf;
	u8 alert[2] = { 1, AFMUX_TLS_CLOSE_NOTIFY };	/* warning level */
	struct kvec iov = { .iov_base = alert, .iov_len = sizeof(alert) };
	struct msghdr msg = {
		.msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};

	cmsg->cmsg_level = SOL_TLS;
	cmsg->cmsg_type = TLS_SET_RECORD_TYPE;
	cmsg->cmsg_len = CMSG_LEN(sizeof(u8));
	*(u8 *)CMSG_DATA(cmsg) = AFMUX_TLS_ALERT;
	iov_iter_kvec(&msg.msg_iter, ITER_SOURCE, &iov, 1, sizeof(alert));
	afmux_ktls_sendmsg(conn, &msg, sizeof(alert));
}

/**
 * afmux_ktls_new - what a connection over the kTLS socket @tcp needs
 * @tcp: a TCP socket with kTLS keys both ways (afmux_takeover_is_tls())
 *
 * Context: process; the caller holds @tcp's socket lock.
 * Return: the new struct, or NULL if out of memory.
 */
struct afmux_ktls *afmux_ktls_new(struct socket *tcp)
{
	struct tls_context *ctx = tls_get_ctx(tcp->sk);
	struct afmux_ktls *kt;

	sock_owned_by_me(tcp->sk);
	kt = kzalloc(sizeof(*kt), GFP_KERNEL_ACCOUNT);
	if (!kt)
		return NULL;
	kt->base = READ_ONCE(tcp->ops);	/* kTLS's own */
	kt->version = ctx->prot_info.version;
	kt->cipher = ctx->prot_info.cipher_type;
	return kt;
}

/**
 * afmux_ktls_suite - the TLS version and cipher, for /proc/net/afmux
 * @kt: a connection's kTLS part, or NULL over plain TCP
 * @buf: AFMUX_KTLS_SUITE_LEN bytes
 *
 * Return: @buf: "1.3:aes-gcm-128" and the like, or "-" without kTLS.
 */
const char *afmux_ktls_suite(const struct afmux_ktls *kt, char *buf)
{
	const char *cipher;

	if (!kt)
		return "-";
	switch (kt->cipher) {
	case TLS_CIPHER_AES_GCM_128:
		cipher = "aes-gcm-128";
		break;
	case TLS_CIPHER_AES_GCM_256:
		cipher = "aes-gcm-256";
		break;
	case TLS_CIPHER_CHACHA20_POLY1305:
		cipher = "chacha20-poly1305";
		break;
	default:
		cipher = "?";	/* attach refuses the others */
	}
	snprintf(buf, AFMUX_KTLS_SUITE_LEN, "%s:%s",
		 kt->version == TLS_1_3_VERSION ? "1.3" : "1.2", cipher);
	return buf;
}

void afmux_ktls_free(struct afmux_ktls *kt)
{
	if (!kt)
		return;
	kfree_skb(kt->rx_skb);
	kfree(kt);
}
