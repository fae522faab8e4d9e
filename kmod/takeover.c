// SPDX-License-Identifier: GPL-2.0
/*
 * takeover.c - the TCP socket once afmux owns it.
 *
 * Attaching marks a TCP socket for the rest of its life:
 * - its icsk_ulp_ops is the registered "afmux" ULP, so nothing else (kTLS
 *   or another ULP, sockmap) can be installed on it.  afmux never clears
 *   the pointer: TCP does, and drops the module reference the mark holds,
 *   when it destroys the socket (tcp_cleanup_ulp()), so the lockless
 *   readers of that pointer (getsockopt(TCP_ULP), inet_diag) never see it
 *   change under a live socket;
 * - its sk_prot and socket ops are afmux's copies of TCP's, which refuse
 *   with EBUSY whatever would take bytes from under the mux, add bytes to
 *   its stream or end the connection behind its back: read, write, splice
 *   and sendfile, shutdown, connect (AF_UNSPEC too: tcp_disconnect()),
 *   TCP_ZEROCOPY_RECEIVE and TCP_REPAIR; poll reports only errors and
 *   hang-ups.  Close, getsockopt and the other options work as for TCP.
 * The copies are built once per address family from the first attached
 * socket's own tables, as kTLS builds its own (net/tls/tls_main.c); a
 * socket whose tables differ (another layer replaced them) is refused.
 *
 * A kTLS socket (the "tls" ULP, both directions keyed in software) is
 * taken over too (afmux_takeover_claim_tls()), but kTLS keeps its ULP and
 * its sk_prot: afmux swaps only the socket ops, for a copy of kTLS's own
 * that refuses the same calls and also setsockopt(SOL_TLS) and TCP_ULP.
 * Those copies are built per kTLS ops table met (one per address family
 * while tls.ko stays loaded), hold a module reference per socket that
 * sock_release() puts (ops->owner), and stay for the socket's life too.
 *
 * While the mux runs, the socket's data_ready, write_space, state_change
 * and error_report callbacks, kTLS's record-ready callback and
 * sk_user_data are the connection's (afmux_takeover_claim*()); teardown
 * gives them back (afmux_takeover_unclaim()).  Both under the socket lock
 * and sk_callback_lock, as KCM's syzbot history taught.
 */
#include <linux/module.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/tcp.h>
#include <net/inet_common.h>
#include <net/inet_connection_sock.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tls.h>

#include "compat.h"
#include "takeover.h"

enum {
	AFMUX_TCPV4,
	AFMUX_TCPV6,
	AFMUX_TCP_NUM
};

/*
 * afmux's copies of TCP's tables, one per address family, built by
 * afmux_takeover_build() from the first attached socket's own and
 * constant after: @base_prot is published last (smp_store_release()),
 * and a reader that sees it (smp_load_acquire()) sees the rest.
 */
struct afmux_tcp_table {
	const struct proto *base_prot;
	const struct proto_ops *base_ops;
	struct proto prot;
	struct proto_ops ops;	/* not const: built at run time */
};

static DEFINE_MUTEX(afmux_tcp_build_mutex);
static struct afmux_tcp_table afmux_tcp[AFMUX_TCP_NUM];

static int afmux_tcp_index(const struct sock *tsk)
{
	return tsk->sk_family == AF_INET6 ? AFMUX_TCPV6 : AFMUX_TCPV4;
}

/* setsockopt(TCP_ULP, "afmux"): attaching is AFMUX_IOC_ATTACH's job. */
static int afmux_ulp_init(struct sock *tsk)
{
	return -EOPNOTSUPP;
}

static struct tcp_ulp_ops afmux_ulp = {
	.name	= "afmux",
	.owner	= THIS_MODULE,
	.init	= afmux_ulp_init,
};

static int afmux_tcp_refuse_connect(struct socket *sock,
				    struct sockaddr *addr, int len, int flags)
{
	return -EBUSY;
}

static int afmux_tcp_refuse_shutdown(struct socket *sock, int how)
{
	return -EBUSY;
}

static int afmux_tcp_refuse_sendmsg(struct socket *sock, struct msghdr *m,
				    size_t len)
{
	return -EBUSY;
}

static int afmux_tcp_refuse_recvmsg(struct socket *sock, struct msghdr *m,
				    size_t len, int flags)
{
	return -EBUSY;
}

static ssize_t afmux_tcp_refuse_splice_read(struct socket *sock,
					    loff_t *ppos,
					    struct pipe_inode_info *pipe,
					    size_t len, unsigned int flags)
{
	return -EBUSY;
}

#if AFMUX_HAVE_SENDPAGE
static ssize_t afmux_tcp_refuse_sendpage(struct socket *sock,
					 struct page *page, int offset,
					 size_t size, int flags)
{
	return -EBUSY;
}
#endif

/* Readable and writable mean nothing to the user any more. */
static __poll_t afmux_tcp_poll(struct file *file, struct socket *sock,
			       poll_table *wait)
{
	return tcp_poll(file, sock, wait) & (EPOLLERR | EPOLLHUP | EPOLLRDHUP);
}

static int afmux_tcp_disconnect(struct sock *tsk, int flags)
{
	return -EBUSY;
}

/* Options whose setting would take the connection from under the mux. */
static bool afmux_tcp_opt_refused(int level, int optname)
{
	return level == SOL_TCP &&
	       (optname == TCP_REPAIR || optname == TCP_REPAIR_QUEUE ||
		optname == TCP_QUEUE_SEQ || optname == TCP_REPAIR_OPTIONS ||
		optname == TCP_REPAIR_WINDOW);
}

static int afmux_tcp_getsockopt(struct sock *tsk, int level, int optname,
				char __user *optval, int __user *optlen)
{
	const struct proto *base = afmux_tcp[afmux_tcp_index(tsk)].base_prot;

	if (level == SOL_TCP && optname == TCP_ZEROCOPY_RECEIVE)
		return -EBUSY;
	return base->getsockopt(tsk, level, optname, optval, optlen);
}

static int afmux_tcp_setsockopt(struct sock *tsk, int level, int optname,
				sockptr_t optval, unsigned int optlen)
{
	const struct proto *base = afmux_tcp[afmux_tcp_index(tsk)].base_prot;

	if (afmux_tcp_opt_refused(level, optname))
		return -EBUSY;
	return base->setsockopt(tsk, level, optname, optval, optlen);
}

/* The socket ops calls refused on any socket afmux took over. */
static void afmux_takeover_refuse(struct proto_ops *ops)
{
	ops->connect = afmux_tcp_refuse_connect;
	ops->shutdown = afmux_tcp_refuse_shutdown;
	ops->sendmsg = afmux_tcp_refuse_sendmsg;
	ops->recvmsg = afmux_tcp_refuse_recvmsg;
	ops->splice_read = afmux_tcp_refuse_splice_read;
#if AFMUX_HAVE_SENDPAGE
	ops->sendpage = afmux_tcp_refuse_sendpage;
#endif
	ops->poll = afmux_tcp_poll;
}

/*
 * Make sure the tables for @tsk's family exist and match its own.
 * Returns 0 or -EBUSY (its tables are not plain TCP's).
 */
static int afmux_takeover_build(struct sock *tsk)
{
	const struct proto_ops *ops = READ_ONCE(tsk->sk_socket->ops);
	const struct proto *prot = READ_ONCE(tsk->sk_prot);
	struct afmux_tcp_table *t = &afmux_tcp[afmux_tcp_index(tsk)];

	/* Pairs with the smp_store_release() below. */
	if (smp_load_acquire(&t->base_prot))
		goto check;
	if (prot->close != tcp_close)
		return -EBUSY;
	mutex_lock(&afmux_tcp_build_mutex);
	if (!t->base_prot) {
		t->prot = *prot;
		t->prot.disconnect = afmux_tcp_disconnect;
		t->prot.getsockopt = afmux_tcp_getsockopt;
		t->prot.setsockopt = afmux_tcp_setsockopt;
		t->ops = *ops;
		afmux_takeover_refuse(&t->ops);
		t->base_ops = ops;
		/* The tables are complete before anyone sees base_prot. */
		smp_store_release(&t->base_prot, prot);
	}
	mutex_unlock(&afmux_tcp_build_mutex);
check:
	if (prot != t->base_prot || ops != t->base_ops)
		return -EBUSY;
	return 0;
}

/* Is @tsk in a state a mux can take it in?  0 or the attach errno. */
static int afmux_takeover_check_state(const struct sock *tsk)
{
	if (!tsk->sk_socket)
		return -EBUSY;
	if (tsk->sk_state == TCP_LISTEN)
		return -EINVAL;
	if (!((1 << tsk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)))
		return -ENOTCONN;
	return 0;
}

/*
 * Save @tsk's callbacks in @saved and install @ours, and @owner as
 * sk_user_data, unless someone (KCM, sockmap, another mux) has it.
 * Caller holds sk_callback_lock for writing.
 */
static int afmux_takeover_swap(struct sock *tsk, void *owner,
			       const struct afmux_tcp_cbs *ours,
			       struct afmux_tcp_cbs *saved)
{
	lockdep_assert_held_write(&tsk->sk_callback_lock);
	if (tsk->sk_user_data)
		return -EBUSY;
	saved->data_ready = tsk->sk_data_ready;
	saved->write_space = tsk->sk_write_space;
	saved->state_change = tsk->sk_state_change;
	saved->error_report = tsk->sk_error_report;
	tsk->sk_data_ready = ours->data_ready;
	tsk->sk_write_space = ours->write_space;
	tsk->sk_state_change = ours->state_change;
	if (ours->error_report)
		tsk->sk_error_report = ours->error_report;
	rcu_assign_sk_user_data(tsk, owner);
	return 0;
}

/**
 * afmux_takeover_claim - take the connected TCP socket @tsk over
 * @tsk: the TCP socket
 * @owner: what sk_user_data points to while claimed
 * @ours: the callbacks to install
 * @saved: filled with TCP's callbacks, for afmux_takeover_unclaim()
 *
 * Context: process; the caller holds @tsk's socket lock.
 * Return: 0, -EBUSY (another layer owns it, or afmux did once), -EINVAL
 * (listening) or -ENOTCONN (not connected).
 */
int afmux_takeover_claim(struct sock *tsk, void *owner,
			 const struct afmux_tcp_cbs *ours,
			 struct afmux_tcp_cbs *saved)
{
	struct inet_connection_sock *icsk = inet_csk(tsk);
	int err;

	sock_owned_by_me(tsk);
	if (icsk->icsk_ulp_ops)
		return -EBUSY;
	err = afmux_takeover_check_state(tsk);
	if (err)
		return err;
	err = afmux_takeover_build(tsk);
	if (err)
		return err;

	write_lock_bh(&tsk->sk_callback_lock);
	err = afmux_takeover_swap(tsk, owner, ours, saved);
	if (err)
		goto out;
	saved->record_ready = NULL;
	/* The mark: put by tcp_cleanup_ulp() when TCP destroys @tsk. */
	__module_get(THIS_MODULE);
	icsk->icsk_ulp_ops = &afmux_ulp;
	clear_bit(SOCK_SUPPORT_ZC, &tsk->sk_socket->flags);
	WRITE_ONCE(tsk->sk_prot, &afmux_tcp[afmux_tcp_index(tsk)].prot);
	WRITE_ONCE(tsk->sk_socket->ops, &afmux_tcp[afmux_tcp_index(tsk)].ops);
out:
	write_unlock_bh(&tsk->sk_callback_lock);
	return err;
}

/*
 * afmux's copies of kTLS's socket ops: one per table of kTLS's met (per
 * address family; a tls.ko loaded anew brings new ones).  A slot is
 * written once, under afmux_tcp_build_mutex, and @base published last.
 */
#define AFMUX_TLS_TABLES	8

struct afmux_tls_table {
	const struct proto_ops *base;	/* kTLS's */
	struct proto_ops ops;
};

static struct afmux_tls_table afmux_tls[AFMUX_TLS_TABLES];

/* The kTLS ops @sock had before afmux's copy replaced them. */
const struct proto_ops *afmux_takeover_tls_base(const struct socket *sock)
{
	const struct afmux_tls_table *t;

	t = container_of(READ_ONCE(sock->ops), struct afmux_tls_table, ops);
	return t->base;
}

static int afmux_tls_setsockopt(struct socket *sock, int level, int optname,
				sockptr_t optval, unsigned int optlen)
{
	/* SOL_TLS: keys or record types changed behind the mux's back. */
	if (level == SOL_TLS || afmux_tcp_opt_refused(level, optname))
		return -EBUSY;
	return afmux_takeover_tls_base(sock)->setsockopt(sock, level, optname,
							 optval, optlen);
}

static int afmux_tls_getsockopt(struct socket *sock, int level, int optname,
				char __user *optval, int __user *optlen)
{
	if (level == SOL_TCP && optname == TCP_ZEROCOPY_RECEIVE)
		return -EBUSY;
	return afmux_takeover_tls_base(sock)->getsockopt(sock, level, optname,
							 optval, optlen);
}

static int afmux_tls_refuse_sendmsg_locked(struct sock *sk,
					   struct msghdr *msg, size_t size)
{
	return -EBUSY;
}

/* Is @ops one of afmux's own tables (a socket afmux took before)? */
static bool afmux_takeover_ours(const struct proto_ops *ops)
{
	unsigned int i;

	for (i = 0; i < AFMUX_TLS_TABLES; i++)
		if (ops == &afmux_tls[i].ops)
			return true;
	return ops == &afmux_tcp[AFMUX_TCPV4].ops ||
	       ops == &afmux_tcp[AFMUX_TCPV6].ops;
}

/* afmux's copy of kTLS's @base, built if need be; NULL if all are used. */
static const struct proto_ops *afmux_tls_table(const struct proto_ops *base)
{
	const struct proto_ops *found = NULL;
	unsigned int i;

	for (i = 0; i < AFMUX_TLS_TABLES; i++)	/* pairs with the release */
		if (smp_load_acquire(&afmux_tls[i].base) == base)
			return &afmux_tls[i].ops;
	mutex_lock(&afmux_tcp_build_mutex);
	for (i = 0; i < AFMUX_TLS_TABLES && !found; i++) {
		struct afmux_tls_table *t = &afmux_tls[i];

		if (t->base == base) {
			found = &t->ops;
		} else if (!t->base) {
			t->ops = *base;
			afmux_takeover_refuse(&t->ops);
			t->ops.owner = THIS_MODULE;
			t->ops.setsockopt = afmux_tls_setsockopt;
			t->ops.getsockopt = afmux_tls_getsockopt;
			t->ops.sendmsg_locked = afmux_tls_refuse_sendmsg_locked;
#if AFMUX_HAVE_SENDPAGE
			t->ops.sendpage_locked = NULL;
#endif
			/* 6.1's kTLS parser reads TCP with ops->read_sock:
			 * it stays.
			 */
			smp_store_release(&t->base, base);
			found = &t->ops;
		}
	}
	mutex_unlock(&afmux_tcp_build_mutex);
	return found;
}

/**
 * afmux_takeover_is_tls - does @tsk carry kTLS?
 * @tsk: a TCP socket; its lock held
 */
bool afmux_takeover_is_tls(const struct sock *tsk)
{
	const struct tcp_ulp_ops *ulp = inet_csk(tsk)->icsk_ulp_ops;

	return ulp && !strcmp(ulp->name, "tls");
}

/* Can a mux run over this kTLS socket?  0 or the attach errno. */
static int afmux_takeover_check_tls(struct sock *tsk)
{
	struct tls_context *ctx = tls_get_ctx(tsk);

	if (!ctx || ctx->tx_conf == TLS_BASE || ctx->rx_conf == TLS_BASE)
		return -ENOKEY;		/* a direction has no keys */
	if (ctx->tx_conf != TLS_SW || ctx->rx_conf != TLS_SW)
		return -EOPNOTSUPP;	/* offloaded to a device */
	if (ctx->prot_info.version != TLS_1_2_VERSION &&
	    ctx->prot_info.version != TLS_1_3_VERSION)
		return -EOPNOTSUPP;
	switch (ctx->prot_info.cipher_type) {
	case TLS_CIPHER_AES_GCM_128:
	case TLS_CIPHER_AES_GCM_256:
	case TLS_CIPHER_CHACHA20_POLY1305:
		break;
	default:
		return -EOPNOTSUPP;
	}
	/* Someone in the middle of a TLS read or write. */
	if (READ_ONCE(tls_sw_ctx_rx(ctx)->reader_present) ||
	    mutex_is_locked(&ctx->tx_lock))
		return -EBUSY;
	return 0;
}

/**
 * afmux_takeover_claim_tls - take the kTLS socket @tsk over
 * @tsk: a TCP socket for which afmux_takeover_is_tls() holds
 * @owner: what sk_user_data points to while claimed
 * @ours: the callbacks to install; @ours->record_ready becomes kTLS's
 *	"a record is complete" callback
 * @saved: filled with the callbacks replaced, for afmux_takeover_unclaim()
 *
 * Context: process; the caller holds @tsk's socket lock.
 * Return: 0, -EBUSY (someone else owns it, afmux did once, or a TLS read
 * or write is under way), -ENOKEY (a direction has no keys), -EOPNOTSUPP
 * (offloaded, or a TLS version or cipher afmux does not take), -EINVAL
 * (listening) or -ENOTCONN (not connected).
 */
int afmux_takeover_claim_tls(struct sock *tsk, void *owner,
			     const struct afmux_tcp_cbs *ours,
			     struct afmux_tcp_cbs *saved)
{
	const struct proto_ops *ops;
	struct tls_sw_context_rx *rx;
	int err;

	sock_owned_by_me(tsk);
	err = afmux_takeover_check_state(tsk);
	if (err)
		return err;
	if (afmux_takeover_ours(READ_ONCE(tsk->sk_socket->ops)))
		return -EBUSY;
	err = afmux_takeover_check_tls(tsk);
	if (err)
		return err;
	ops = afmux_tls_table(READ_ONCE(tsk->sk_socket->ops));
	if (!ops)
		return -EBUSY;

	rx = tls_sw_ctx_rx(tls_get_ctx(tsk));
	write_lock_bh(&tsk->sk_callback_lock);
	err = afmux_takeover_swap(tsk, owner, ours, saved);
	if (err)
		goto out;
	saved->record_ready = rx->saved_data_ready;
	rx->saved_data_ready = ours->record_ready;
	/* Put by sock_release() through ops->owner. */
	__module_get(THIS_MODULE);
	clear_bit(SOCK_SUPPORT_ZC, &tsk->sk_socket->flags);
	WRITE_ONCE(tsk->sk_socket->ops, ops);
out:
	write_unlock_bh(&tsk->sk_callback_lock);
	return err;
}

/**
 * afmux_takeover_unclaim - give @tsk's callbacks back
 * @tsk: a socket afmux_takeover_claim*() took
 * @saved: what it saved
 *
 * The mark and the ops stay (see the top of this file).  For kTLS this
 * must come before kTLS's own close, which frees what its callbacks use.
 * Context: process; the caller holds @tsk's socket lock.
 */
void afmux_takeover_unclaim(struct sock *tsk, const struct afmux_tcp_cbs *saved)
{
	sock_owned_by_me(tsk);
	write_lock_bh(&tsk->sk_callback_lock);
	rcu_assign_sk_user_data(tsk, NULL);
	tsk->sk_data_ready = saved->data_ready;
	tsk->sk_write_space = saved->write_space;
	tsk->sk_state_change = saved->state_change;
	tsk->sk_error_report = saved->error_report;
	if (saved->record_ready)
		tls_sw_ctx_rx(tls_get_ctx(tsk))->saved_data_ready =
			saved->record_ready;
	write_unlock_bh(&tsk->sk_callback_lock);
}

/**
 * afmux_takeover_shutdown - shutdown(2) on a socket afmux took, for afmux
 * @tcp: the socket
 * @how: SHUT_WR or SHUT_RDWR
 *
 * The user's shutdown is refused; this is TCP's own.
 * Context: process, no socket lock held.
 */
void afmux_takeover_shutdown(struct socket *tcp, int how)
{
	inet_shutdown(tcp, how);
}

int afmux_takeover_init(void)
{
	return tcp_register_ulp(&afmux_ulp);
}

void afmux_takeover_exit(void)
{
	tcp_unregister_ulp(&afmux_ulp);
}
