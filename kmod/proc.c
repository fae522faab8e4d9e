// SPDX-License-Identifier: GPL-2.0
/*
 * proc.c - what a namespace's /proc/net shows of afmux: afmux (one line
 * per mux socket), afmux_streams (one line per stream in a connection's
 * tables) and afmux_stat (the counters of counters.h, as "Group: names"
 * and "Group: values" line pairs).  docs/observe.md describes every
 * column; muxstat(8) reads them.
 *
 * Both listings hold the namespace's conns_lock from ->start to ->stop
 * (as /proc/net/tcp holds a hash bucket's), so no connection goes away
 * under them, and each line is printed under its connection's lock.
 */
#include <linux/atomic.h>
#include <linux/in6.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "afmux.h"
#include "counters.h"
#include "ktls.h"
#include "window.h"

static atomic64_t afmux_conn_ids = ATOMIC64_INIT(0);

/**
 * afmux_proc_conn_add - list a new mux socket in its namespace
 * @conn: its socket is initialised (sock_init_data)
 *
 * Context: process (socket creation).
 */
void afmux_proc_conn_add(struct afmux_conn *conn)
{
	struct afmux_net *an = afmux_net(sock_net(&conn->sk));

	conn->id = atomic64_inc_return(&afmux_conn_ids);
	conn->ino = conn->sk.sk_socket ?
		    SOCK_INODE(conn->sk.sk_socket)->i_ino : 0;
	conn->mib = an->mib;
	spin_lock_bh(&an->conns_lock);
	list_add_tail(&conn->net_node, &an->conns);
	spin_unlock_bh(&an->conns_lock);
}

/* Context: the socket's destructor (any but hard irq). */
void afmux_proc_conn_del(struct afmux_conn *conn)
{
	struct afmux_net *an = afmux_net(sock_net(&conn->sk));

	spin_lock_bh(&an->conns_lock);
	list_del(&conn->net_node);
	spin_unlock_bh(&an->conns_lock);
}

static const char *afmux_proc_conn_state(const struct afmux_conn *conn)
{
	unsigned long f = conn->flags;

	if (f & BIT(AFMUX_C_DETACHED))
		return "closed";
	if (!(f & BIT(AFMUX_C_ATTACHED)))
		return "unattached";
	if (f & BIT(AFMUX_C_LINGER))
		return "linger";
	if (f & BIT(AFMUX_C_FAILED))
		return conn->err ? "failed" : "ended";
	if (f & (BIT(AFMUX_C_PEER_GOAWAY) | BIT(AFMUX_C_GOAWAY_SENT)))
		return "goaway";
	if (!(f & BIT(AFMUX_C_PEER_READY)))
		return "preface";
	return "open";
}

/**
 * afmux_sockaddr - one end of a TCP socket's connection, as a sockaddr
 * @tsk: the TCP socket
 * @local: this end (else the peer's)
 * @sa: filled in: a sockaddr_in or a sockaddr_in6 (family 0 if neither)
 *
 * For %pISpc, in /proc/net/afmux and the afmux_conn_attach tracepoint.
 */
void afmux_sockaddr(const struct sock *tsk, bool local,
		    struct sockaddr_in6 *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (tsk->sk_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)sa;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = local ? tsk->sk_rcv_saddr :
					       tsk->sk_daddr;
		sin->sin_port = local ? htons(tsk->sk_num) : tsk->sk_dport;
#if IS_ENABLED(CONFIG_IPV6)
	} else if (tsk->sk_family == AF_INET6) {
		sa->sin6_family = AF_INET6;
		sa->sin6_addr = local ? tsk->sk_v6_rcv_saddr :
					tsk->sk_v6_daddr;
		sa->sin6_port = local ? htons(tsk->sk_num) : tsk->sk_dport;
#endif
	}
}

static void afmux_proc_addr(struct seq_file *seq, const struct sock *tsk,
			    bool local)
{
	struct sockaddr_in6 sa;

	afmux_sockaddr(tsk, local, &sa);
	if (sa.sin6_family)
		seq_printf(seq, " %pISpc", &sa);
	else
		seq_puts(seq, " -");
}

static struct afmux_net *afmux_proc_an(struct seq_file *seq)
{
	return afmux_net(seq_file_net(seq));
}

static void *afmux_proc_conns_start(struct seq_file *seq, loff_t *pos)
	__acquires(&an->conns_lock)
{
	struct afmux_net *an = afmux_proc_an(seq);

	spin_lock_bh(&an->conns_lock);
	return seq_list_start_head(&an->conns, *pos);
}

static void *afmux_proc_conns_next(struct seq_file *seq, void *v, loff_t *pos)
{
	return seq_list_next(v, &afmux_proc_an(seq)->conns, pos);
}

static void afmux_proc_conns_stop(struct seq_file *seq, void *v)
	__releases(&an->conns_lock)
{
	spin_unlock_bh(&afmux_proc_an(seq)->conns_lock);
}

static int afmux_proc_conns_show(struct seq_file *seq, void *v)
{
	struct afmux_net *an = afmux_proc_an(seq);
	struct afmux_conn *conn;
	char suite[AFMUX_KTLS_SUITE_LEN];
	bool attached;

	if (v == &an->conns) {
		seq_puts(seq, "id inode uid state err local peer streams opened accepted backlog orphans tx_bytes rx_bytes frames_tx frames_rx rx_credit tls pool\n");
		return 0;
	}
	conn = list_entry(v, struct afmux_conn, net_node);
	spin_lock_bh(&conn->lock);
	attached = test_bit(AFMUX_C_ATTACHED, &conn->flags);
	seq_printf(seq, "%llu %lu %u %s %d", conn->id, conn->ino,
		   from_kuid_munged(seq_user_ns(seq), conn->sk.sk_uid),
		   afmux_proc_conn_state(conn), conn->err);
	if (attached) {
		/* Set before ATTACHED, held until the destructor. */
		afmux_proc_addr(seq, conn->tsk, true);
		afmux_proc_addr(seq, conn->tsk, false);
	} else {
		seq_puts(seq, " - -");
	}
	/* ktls: set before ATTACHED, freed by the destructor. */
	seq_printf(seq, " %u %llu %llu %u %u %llu %llu %llu %llu %u %s",
		   conn->nr_streams, conn->stats.streams_opened,
		   conn->stats.streams_accepted, conn->accept_len,
		   conn->nr_orphans, conn->stats.bytes_tx,
		   conn->stats.bytes_rx, conn->stats.frames_tx,
		   conn->stats.frames_rx, conn->rx_charged,
		   afmux_ktls_suite(attached ? conn->ktls : NULL, suite));
	/* pool, head, link: set before ATTACHED, constant after. */
	if (attached && (conn->pool || conn->head))
		seq_printf(seq, " %llu/%u\n",
			   conn->head ? conn->head->id : conn->id, conn->link);
	else
		seq_puts(seq, " -\n");
	spin_unlock_bh(&conn->lock);
	return 0;
}

static const struct seq_operations afmux_proc_conns_ops = {
	.start	= afmux_proc_conns_start,
	.next	= afmux_proc_conns_next,
	.stop	= afmux_proc_conns_stop,
	.show	= afmux_proc_conns_show,
};

/*
 * The streams listing's place: number @nr of @table (0: local, 1: remote)
 * of connection @conn, at position @pos.  ->show looks the stream up
 * under the connection's lock; a stream gone since is skipped.  A read
 * that goes on where the last stopped resumes from there (by @conn_id),
 * not from the first stream again.
 */
struct afmux_proc_iter {
	struct seq_net_private p;	/* must be first */
	struct afmux_conn *conn;	/* valid under conns_lock */
	loff_t pos;
	u64 conn_id;
	unsigned int table;
	unsigned long nr;
};

static struct xarray *afmux_proc_table(struct afmux_conn *conn,
				       unsigned int table)
{
	return table ? &conn->remote : &conn->local;
}

/*
 * Place @it on the first stream at or after (@table, @nr) in @conn or,
 * if it has none, in the connections after it.  Returns @it, or NULL at
 * the end.
 */
static void *afmux_proc_seek(struct afmux_proc_iter *it, struct afmux_net *an,
			     struct afmux_conn *conn, unsigned int table,
			     unsigned long nr)
{
	lockdep_assert_held(&an->conns_lock);
	list_for_each_entry_from(conn, &an->conns, net_node) {
		for (; table < 2; table++, nr = 0) {
			if (xa_find(afmux_proc_table(conn, table), &nr,
				    ULONG_MAX, XA_PRESENT)) {
				it->conn = conn;
				it->conn_id = conn->id;
				it->table = table;
				it->nr = nr;
				return it;
			}
		}
		table = 0;
		nr = 0;
	}
	return NULL;
}

static void *afmux_proc_streams_start(struct seq_file *seq, loff_t *pos)
	__acquires(&an->conns_lock)
{
	struct afmux_proc_iter *it = seq->private;
	struct afmux_net *an = afmux_proc_an(seq);
	struct afmux_conn *conn;
	void *v;
	loff_t i;

	spin_lock_bh(&an->conns_lock);
	if (!*pos)
		return SEQ_START_TOKEN;
	if (it->pos && *pos == it->pos) {
		list_for_each_entry(conn, &an->conns, net_node) {
			if (conn->id == it->conn_id)
				return afmux_proc_seek(it, an, conn, it->table,
						       it->nr);
			if (conn->id > it->conn_id)	/* that one is gone */
				return afmux_proc_seek(it, an, conn, 0, 0);
		}
		return NULL;
	}
	conn = list_first_entry(&an->conns, struct afmux_conn, net_node);
	v = afmux_proc_seek(it, an, conn, 0, 0);
	for (i = 1; v && i < *pos; i++)
		v = afmux_proc_seek(it, an, it->conn, it->table, it->nr + 1);
	it->pos = v ? *pos : 0;
	return v;
}

static void *afmux_proc_streams_next(struct seq_file *seq, void *v,
				     loff_t *pos)
{
	struct afmux_proc_iter *it = seq->private;
	struct afmux_net *an = afmux_proc_an(seq);

	++*pos;
	if (v == SEQ_START_TOKEN)
		v = afmux_proc_seek(it, an,
				    list_first_entry(&an->conns,
						     struct afmux_conn,
						     net_node), 0, 0);
	else
		v = afmux_proc_seek(it, an, it->conn, it->table, it->nr + 1);
	it->pos = v ? *pos : 0;		/* 0: no place to resume from */
	return v;
}

static void afmux_proc_streams_stop(struct seq_file *seq, void *v)
	__releases(&an->conns_lock)
{
	spin_unlock_bh(&afmux_proc_an(seq)->conns_lock);
}

static const char *afmux_proc_stream_state(unsigned long f)
{
	bool tx_end = f & (BIT(AFMUX_ST_END_SENT) | BIT(AFMUX_ST_END_WANTED));

	if (f & (BIT(AFMUX_ST_RESET_WANTED) | BIT(AFMUX_ST_RESET_SENT) |
		 BIT(AFMUX_ST_PEER_RESET)))
		return "reset";
	if (f & BIT(AFMUX_ST_ACCEPTABLE))
		return "backlog";
	if (f & BIT(AFMUX_ST_OPEN_WANTED))
		return "opening";
	if (tx_end && (f & BIT(AFMUX_ST_PEER_END)))
		return "closed";
	if (tx_end)
		return "half-closed-local";
	if (f & BIT(AFMUX_ST_PEER_END))
		return "half-closed-remote";
	return "open";
}

/* Payload bytes in @st's write queue the pump has not sent yet. */
static u64 afmux_proc_tx_queued(struct afmux_stream *st)
{
	struct sk_buff_head *q = &st->sk.sk_write_queue;
	struct sk_buff *skb;
	u64 n = 0;

	lockdep_assert_held(&st->conn->lock);	/* cb->sent changes under it */
	spin_lock_bh(&q->lock);
	skb_queue_walk(q, skb)
		n += skb->len - afmux_tx_cb(skb)->sent;
	spin_unlock_bh(&q->lock);
	return n;
}

static int afmux_proc_streams_show(struct seq_file *seq, void *v)
{
	struct afmux_proc_iter *it = v;
	struct afmux_conn *conn;
	struct afmux_stream *st;
	unsigned long f;
	unsigned int i;

	if (v == SEQ_START_TOKEN) {
		seq_puts(seq, "conn side id state fd key tx_bytes rx_bytes tx_credit rx_window rx_queued tx_queued inode\n");
		return 0;
	}
	conn = it->conn;
	spin_lock_bh(&conn->lock);
	st = xa_load(afmux_proc_table(conn, it->table), it->nr);
	if (!st) {			/* over since the iterator saw it */
		spin_unlock_bh(&conn->lock);
		return SEQ_SKIP;
	}
	f = st->flags;
	seq_printf(seq, "%llu %s %u %s %s ", conn->id,
		   f & BIT(AFMUX_ST_LOCAL) ? "local" : "peer", st->nr,
		   afmux_proc_stream_state(f),
		   f & BIT(AFMUX_ST_ACCEPTABLE) ? "none" :
		   f & BIT(AFMUX_ST_CLOSED) ? "closed" : "open");
	if (!st->key_len)
		seq_putc(seq, '-');
	for (i = 0; i < st->key_len; i += 64) {
		int n = min_t(int, 64, st->key_len - i);

		seq_printf(seq, "%*phN", n, st->key + i);
	}
	seq_printf(seq, " %llu %llu %u %u %u %llu %lu\n", st->tx_bytes,
		   st->rx_bytes, afmux_credit(st->tx_limit, st->tx_accepted),
		   READ_ONCE(st->rx_window),
		   st->rx_recvd - READ_ONCE(st->rx_consumed),
		   afmux_proc_tx_queued(st), READ_ONCE(st->ino));
	spin_unlock_bh(&conn->lock);
	return 0;
}

static const struct seq_operations afmux_proc_streams_ops = {
	.start	= afmux_proc_streams_start,
	.next	= afmux_proc_streams_next,
	.stop	= afmux_proc_streams_stop,
	.show	= afmux_proc_streams_show,
};

/*
 * The names of counters.h's counters, in its order, in groups: a group
 * is one "Name: fields" and one "Name: values" line.
 */
static const char *const afmux_mib_names[__AFMUX_MIB_MAX] = {
	"InData", "InOpen", "InEnd", "InReset", "InWindow", "InPing",
	"InGoaway", "InPool",
	"OutData", "OutOpen", "OutEnd", "OutReset", "OutWindow", "OutPing",
	"OutGoaway", "OutPool",
	"Preface", "Version", "Type", "Flags", "Reserved", "Length", "Stream",
	"Open", "Unopened", "AfterEnd", "FlowControl", "Pool", "Join",
	"InNoError", "InProtocolError", "InFlowControlError",
	"InRefusedStream", "InCancel", "InInternalError", "InVersionError",
	"InOther",
	"OutNoError", "OutProtocolError", "OutFlowControlError",
	"OutRefusedStream", "OutCancel", "OutInternalError", "OutVersionError",
	"OutOther",
	"Attached", "Failed", "Clean", "KeepaliveTimeouts", "Detached",
	"Opened", "Incoming", "Accepted", "Refused", "OpenFailed",
	"OrphansReset",
	"WindowStalls", "GrantsCapped", "RxPaused",
	"RxCopies", "TxCopies", "AllocFailures",
};

static const struct {
	const char *name;
	unsigned int first;
} afmux_mib_groups[] = {
	{ "Frames", AFMUX_MIB_FRAMES_RX },
	{ "Malformed", AFMUX_MIB_BAD },
	{ "Resets", AFMUX_MIB_RESETS_RX },
	{ "Conns", AFMUX_MIB_CONN_ATTACHED },
	{ "Streams", AFMUX_MIB_STREAMS_OPENED },
	{ "Flow", AFMUX_MIB_WINDOW_STALLS },
	{ "Memory", AFMUX_MIB_RX_COPIES },
};

static int afmux_proc_stat_show(struct seq_file *seq, void *v)
{
	struct afmux_net *an = afmux_net(seq_file_single_net(seq));
	u64 sum[__AFMUX_MIB_MAX] = { };
	unsigned int g, i, end;
	int cpu;

	for_each_possible_cpu(cpu)
		for (i = 0; i < __AFMUX_MIB_MAX; i++)
			sum[i] += READ_ONCE(per_cpu_ptr(an->mib, cpu)->v[i]);
	for (g = 0; g < ARRAY_SIZE(afmux_mib_groups); g++) {
		end = g + 1 < ARRAY_SIZE(afmux_mib_groups) ?
		      afmux_mib_groups[g + 1].first : __AFMUX_MIB_MAX;
		seq_printf(seq, "%s:", afmux_mib_groups[g].name);
		for (i = afmux_mib_groups[g].first; i < end; i++)
			seq_printf(seq, " %s", afmux_mib_names[i]);
		seq_printf(seq, "\n%s:", afmux_mib_groups[g].name);
		for (i = afmux_mib_groups[g].first; i < end; i++)
			seq_printf(seq, " %llu", sum[i]);
		seq_putc(seq, '\n');
	}
	return 0;
}

int afmux_proc_net_init(struct net *net)
{
	struct afmux_net *an = afmux_net(net);

	BUILD_BUG_ON(ARRAY_SIZE(afmux_mib_names) != __AFMUX_MIB_MAX);
	spin_lock_init(&an->conns_lock);
	INIT_LIST_HEAD(&an->conns);
	an->mib = alloc_percpu(struct afmux_mib);
	if (!an->mib)
		return -ENOMEM;
	if (!proc_create_net("afmux", 0444, net->proc_net,
			     &afmux_proc_conns_ops,
			     sizeof(struct seq_net_private)))
		goto err;
	if (!proc_create_net("afmux_streams", 0444, net->proc_net,
			     &afmux_proc_streams_ops,
			     sizeof(struct afmux_proc_iter)))
		goto err_conns;
	if (!proc_create_net_single("afmux_stat", 0444, net->proc_net,
				    afmux_proc_stat_show, NULL))
		goto err_streams;
	return 0;

err_streams:
	remove_proc_entry("afmux_streams", net->proc_net);
err_conns:
	remove_proc_entry("afmux", net->proc_net);
err:
	free_percpu(an->mib);
	return -ENOMEM;
}

void afmux_proc_net_exit(struct net *net)
{
	struct afmux_net *an = afmux_net(net);

	remove_proc_entry("afmux_stat", net->proc_net);
	remove_proc_entry("afmux_streams", net->proc_net);
	remove_proc_entry("afmux", net->proc_net);
	WARN_ON_ONCE(!list_empty(&an->conns));
	free_percpu(an->mib);
}
