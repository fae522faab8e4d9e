/* SPDX-License-Identifier: GPL-2.0 */
/*
 * afmux.h - the objects of the afmux module and how they relate.
 *
 * Objects:
 * - struct afmux_conn: an AF_MUX socket ("mux socket") and, once a TCP
 *   socket is attached to it, the multiplexed connection over that TCP
 *   socket.  One per mux fd.
 * - struct afmux_stream: one stream; a socket of its own (its fd comes
 *   from AFMUX_IOC_OPEN or AFMUX_IOC_ACCEPT).
 * - struct afmux_pool: the pool of a mux socket attached with
 *   AFMUX_ATTACH_POOL (pool.c).  Each TCP connection that joins it gets
 *   a conn of its own, a "link": a kernel socket with no fd, owned by the
 *   mux socket's conn (the "head", which is also link 0).  A stream
 *   belongs to the link it lives on (st->conn); the head answers for
 *   the pool (open, accept, poll).
 *
 * References:
 * - a stream holds its conn (sock_hold) from creation to destruction;
 * - the conn's stream tables hold one reference to every stream that is
 *   not over (AFMUX_ST_IN_TABLE); a stream the peer opened and nobody
 *   accepted yet has no other reference;
 * - queued work (rx_work, tx_work, teardown_work) holds a conn reference,
 *   dropped by the work function (or at once if it was already queued);
 * - a link holds its head (sock_hold) until it is destroyed; the head's
 *   pool holds each link's socket (a struct socket of its own) on
 *   pool->links until the mux fd is closed or a JOIN prunes ended links.
 *
 * Lock order (outermost first):
 *   stream socket lock (lock_sock) -> conn->tx_mutex -> TCP socket lock
 *   -> TCP sk_callback_lock -> conn->lock -> stream queue locks;
 *   mux socket lock -> pool->lock -> a link's conn->lock (one at a time).
 * The receive path runs under the TCP socket's lock (bh_lock_sock from
 * the TCP data_ready callback; or lock_sock, in rx_work or in whichever
 * task took it with afmux_tcp_lock() - the pump - as TCP processes its
 * backlog) and takes conn->lock; it never takes a stream socket lock or
 * tx_mutex.
 */
#ifndef _AFMUX_H
#define _AFMUX_H

#include <linux/types.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <net/sock.h>
#include <linux/afmux.h>

#include "compat.h"
#include "counters.h"
#include "frame.h"
#include "parser.h"
#include "state.h"
#include "ktls.h"
#include "takeover.h"

/* conn->flags, changed under conn->lock */
enum {
	AFMUX_C_ATTACHED,	/* a TCP socket is attached */
	AFMUX_C_PEER_READY,	/* the peer's preface arrived */
	AFMUX_C_RELEASED,	/* the mux fd is closed */
	AFMUX_C_FAILED,		/* the connection has ended (conn->err) */
	AFMUX_C_PEER_GOAWAY,	/* no more streams may be opened */
	AFMUX_C_GOAWAY_WANTED,	/* tx: send GOAWAY (conn->goaway_code) */
	AFMUX_C_GOAWAY_SENT,
	AFMUX_C_PING_WANTED,	/* tx: a keepalive PING (conn->ka_data) */
	AFMUX_C_RX_PAUSED,	/* replies are full: TCP is not read */
	AFMUX_C_TX_BLOCKED,	/* tx: TCP was full, wait for write_space */
	AFMUX_C_LINGER,		/* clean end: FIN sent, waiting for the peer's */
	AFMUX_C_DETACHED,	/* teardown done: TCP given back */
	AFMUX_C_HELLO_WANTED,	/* tx: send HELLO (right after the preface) */
	AFMUX_C_POOL_WANTED,	/* tx: send POOL (our credentials) */
	AFMUX_C_FIRST_FRAME,	/* rx: the peer's first frame has come */
	AFMUX_C_PEER_POOLS,	/* rx: it was a HELLO */
	AFMUX_C_PEER_POOL_IN,	/* rx: the peer's POOL has come */
	AFMUX_C_JOINED,		/* a link: its join preface checked */
};

/*
 * struct afmux_net - per network namespace (netns.c): the net.afmux.*
 * sysctls, each an int read with READ_ONCE(), and their registration;
 * the mux sockets of the namespace and its counters, for /proc (proc.c).
 */
struct afmux_net {
	int window;		/* initial receive window of a stream */
	int window_max;		/* autotuning stops there */
	int backlog;		/* a mux socket's accept backlog, and most */
	int max_streams;	/* streams in a connection's tables */
	int keepalive_idle_ms;	/* default of AFMUX_KEEPALIVE; 0: off */
	int keepalive_timeout_ms;
	int orphan_timeout_ms;	/* closed stream waiting for the peer's END */
	int orphans_max;	/* such streams per connection */
	int linger_ms;		/* a clean end waits this long for a FIN */
	int conn_mem_max;	/* receive credit outstanding per connection */
	struct ctl_table_header *sysctl;
	struct afmux_mib __percpu *mib;
	/*
	 * Every mux socket of the namespace, oldest first (by conn->id),
	 * from creation to destruction.  Lock order: conns_lock, then a
	 * conn->lock; never the other way (the destructor takes it alone).
	 */
	spinlock_t conns_lock;
	struct list_head conns;
};

/* Writes up to this size may go to TCP without a write-queue skb. */
#define AFMUX_TX_DIRECT_MAX	256

/*
 * struct afmux_txf - the frame being written to TCP
 *
 * Only the tx pump touches it, under tx_mutex.  @buf holds the header and
 * a control payload or a direct write's data (afmux_tx_direct()); @ext
 * an OPEN frame's key or a small DATA payload (in @skb's linear part);
 * @skb the DATA payload's skb, from a stream's write queue.  @buf is last:
 * afmux_txf_clear() leaves its old bytes.
 */
struct afmux_txf {
	unsigned int buf_len;
	const u8 *ext;
	unsigned int ext_len;
	unsigned int copy_off;		/* bytes of buf + ext sent */
	struct sk_buff *skb;
	unsigned int data_off;		/* next payload byte in skb */
	unsigned int data_left;
	bool more;			/* another frame surely follows */
	bool preface;			/* @buf holds the preface */
	struct afmux_stream *st;	/* holds a reference while set */
	u8 buf[AFMUX_HDR_LEN + AFMUX_TX_DIRECT_MAX];
};

/* No frame: everything but the bytes of @f->buf, which buf_len covers. */
static inline void afmux_txf_clear(struct afmux_txf *f)
{
	memset(f, 0, offsetof(struct afmux_txf, buf));
}

/*
 * How many answers to the peer may wait to be sent.  When they are that
 * many, the receive path stops reading TCP (AFMUX_C_RX_PAUSED) until the
 * pump has sent half of them: a peer that sends PINGs or OPENs to be
 * refused faster than it reads the answers meets TCP's flow control,
 * never an unbounded queue (docs/security.md).
 */
#define AFMUX_REPLIES_MAX	128

/* An answer to the peer: a PING ACK or a RESET of a refused OPEN. */
struct afmux_reply {
	u32 stream;
	u8 type;
	u8 data[AFMUX_PING_LEN];
};

/*
 * struct afmux_pool - a mux socket's pool (pool.c), from an attach with
 * AFMUX_ATTACH_POOL until the head's destruction.
 */
struct afmux_pool {
	/* Constant once set. */
	struct afmux_pool_id ours;	/* our credentials (POOL we send) */
	/*
	 * Under the head's conn->lock: the peer's credentials, valid once
	 * AFMUX_C_PEER_POOL_IN is set on the head.
	 */
	struct afmux_pool_id peer;
	/* Stream numbers we open, one sequence for the pool (§12.4). */
	atomic_t next_nr;
	/* Receive credit charged over the pool (net.afmux.conn_mem_max). */
	atomic_t rx_charged;
	/* Arrival order of the streams queued for accept, pool-wide. */
	atomic_t accept_seq;
	/* Connections attached and not ended, the head included. */
	atomic_t alive;
	int err;		/* the last one's error, once none is */
	/*
	 * Links that joined (not the head), oldest first; how many the list
	 * holds; the number the next one gets.  Under @lock, which nests
	 * inside the mux socket lock and outside any link's conn->lock.
	 */
	spinlock_t lock;
	struct list_head links;
	unsigned int nr_links;
	u32 next_link;
};

struct afmux_conn {
	struct sock sk;			/* the mux socket: must be first */
	u64 id;				/* unique while the module is loaded */
	unsigned long ino;		/* the socket's inode number */
	struct list_head net_node;	/* on afmux_net.conns */
	/* The namespace's counters: it outlives the socket (sk_net ref). */
	struct afmux_mib __percpu *mib;

	/* Set by attach under lock_sock(&sk), constant until teardown. */
	struct file *tcp_file;		/* our reference to the TCP socket */
	struct socket *tcp;
	struct sock *tsk;
	struct afmux_tcp_cbs saved;	/* TCP's own callbacks */
	/* Over kTLS; NULL over plain TCP.  Set before the claim. */
	struct afmux_ktls *ktls;
	/*
	 * Pools (pool.c), set before the attach or join and constant: the
	 * head's pool (NULL unless it offered one); a link's head (held),
	 * NULL for a head; the link's number (0 for the head); its socket
	 * and its place on the head's pool->links (under pool->lock).
	 */
	struct afmux_pool *pool;
	struct afmux_conn *head;
	u32 link;
	struct socket *link_sock;
	struct list_head link_node;

	/* Receive side: under the TCP socket lock (see top of file). */
	struct afmux_parser parser;
	struct afmux_stream *rx_st;	/* current DATA frame's stream, held */
	struct afmux_stream *rx_wake;	/* its reader is owed a wake-up, held */
	u32 rx_last_nr;			/* highest number the peer opened */
	/* The task in afmux_tcp_lock(), which reads TCP in release_sock() */
	struct task_struct *tcp_owner;

	spinlock_t lock;		/* everything below, and stream state */
	unsigned long flags;		/* AFMUX_C_* */
	int err;			/* errno the connection ended with */
	u32 peer_window;		/* from the peer's preface */
	u32 window;			/* initial window we grant */
	/*
	 * Receive credit the peer may hold at once, over all streams: the
	 * sum of the streams' rx_charge, kept within net.afmux.conn_mem_max
	 * (stream.c, stream_room()).
	 */
	u32 rx_charged;
	/*
	 * Above the highest number of a stream we opened here: the next
	 * one's, unless the connection is in a pool (pool->next_nr).
	 */
	u32 next_nr;
	unsigned int nr_streams;	/* in the tables */
	struct xarray local;		/* streams we opened, by number */
	struct xarray remote;		/* streams the peer opened */
	struct list_head accept_q;	/* peer-opened, not yet accepted */
	unsigned int accept_len;
	/*
	 * Streams with frames to send.  A stream that becomes ready joins
	 * tx_new, which the pump serves first, one frame each; then it
	 * takes its turns on tx_ready, round robin, until it has nothing
	 * left (as fq_codel's new and old flows): a stream that sends now
	 * and then (an interactive one) waits for no bulk stream's queue.
	 * A stream whose small DATA frame emptied it leaves at once, so
	 * that its next write is new again (tx.c, afmux_tx_sparse()); and
	 * tx_ready gets a turn at least once per AFMUX_DATA_SEND_MAX bytes
	 * of tx_new's frames (tx_new_sent counts them), so that streams
	 * that keep being new cannot starve it.
	 */
	struct list_head tx_new;
	struct list_head tx_ready;
	u32 tx_new_sent;
	/* Answers to the peer (PING ACK, RESET REFUSED_STREAM), in order. */
	struct afmux_reply replies[AFMUX_REPLIES_MAX];
	unsigned int reply_head;
	unsigned int nr_replies;
	u32 goaway_code;
	struct afmux_stats stats;
	unsigned int nr_orphans;	/* closed streams not over yet */
	/* Keepalive (AFMUX_KEEPALIVE): in jiffies; idle 0 is off. */
	unsigned long ka_idle;
	unsigned long ka_timeout;
	unsigned long ka_sent;		/* when our PING went; 0: none */
	u64 ka_count;			/* PINGs sent: their payload */
	/* A link: when its join must be complete (pool.c); constant. */
	unsigned long join_by;
	unsigned long rx_stamp;		/* when bytes last came; lockless */

	/* Write-queue bytes of its streams (their tx_mem summed). */
	atomic_t tx_queued;

	/* Transmit side. */
	struct mutex tx_mutex;		/* the pump; protects txf */
	bool tx_more;			/* work queued since the pump looked */
	bool tx_in_send;		/* the pump is in TCP's sendmsg */
	/* Under tx_mutex: the TCP_NOTSENT_LOWAT the pump set last, 0 if
	 * the user chose one (afmux_tx_follow_rate()).
	 */
	u32 tx_lowat;
	/* Under tx_mutex: when a failed connection stops waiting for
	 * its GOAWAY to get into TCP (0: not waiting yet).
	 */
	unsigned long flush_deadline;
	struct afmux_txf txf;

	struct work_struct rx_work;	/* read TCP in process context */
	struct work_struct tx_work;	/* run the pump */
	struct delayed_work teardown_work;
	struct timer_list tx_retry;	/* restarts a pump TCP starved */
	struct timer_list ka_timer;	/* keepalive */
};

struct afmux_stream {
	/*
	 * sk.sk_err and sk.sk_shutdown's RCV_SHUTDOWN are set under the
	 * receive queue's lock (__afmux_stream_rx_end()), after the bytes
	 * before them were queued under it.
	 */
	struct sock sk;			/* must be first */
	struct afmux_conn *conn;	/* held */
	u32 nr;				/* the opener's number */
	unsigned long ino;		/* its fd's inode (0: never accepted) */
	u16 key_len;
	u8 *key;
	/*
	 * Truesize of the write queue.  Not sk_wmem_alloc: that would keep
	 * sk_free() from ever destroying a stream whose queue a reset
	 * left behind; the destructor purges the queue instead.
	 */
	atomic_t tx_mem;

	/* Under conn->lock. */
	unsigned long flags;		/* AFMUX_ST_* */
	u32 reset_code;
	u32 tx_accepted;		/* bytes taken from the writer */
	u64 tx_bytes;			/* the same, not wrapping */
	u64 rx_bytes;			/* DATA payload received */
	u32 tx_limit;			/* the peer's grant */
	u32 rx_recvd;			/* DATA bytes received */
	u32 accept_seq;			/* arrival order, in a pool */
	/* Changed under the socket lock and conn->lock: read under either. */
	u32 rx_limit;			/* what we granted */
	u32 rx_window;			/* grown by autotuning */
	/* Under conn->lock: this stream's part of conn->rx_charged, never
	 * less than rx_limit - rx_consumed (stream_charge()).
	 */
	u32 rx_charge;
	/* The reader's: under the socket lock. */
	u32 rx_consumed;		/* read by the reader */
	u32 rx_epoch_consumed;		/* rx_consumed when the epoch began */
	u64 rx_epoch_ns;		/* when the autotuning epoch began */
	struct list_head tx_node;	/* on conn->tx_new or tx_ready */
	struct list_head accept_node;	/* on conn->accept_q */
	struct timer_list orphan_timer;	/* RESET CANCEL when it fires */
};

/*
 * Where a queued receive skb's bytes are (skb->cb): @len bytes from @off.
 * @copy: the skb is ours (a copy), not a clone of TCP's, and may take
 * more bytes at its tail.  Changed under the receive queue's lock.
 */
struct afmux_rx_cb {
	u32 off;
	u32 len;
	bool copy;
};

static inline struct afmux_rx_cb *afmux_rx_cb(struct sk_buff *skb)
{
	BUILD_BUG_ON(sizeof(struct afmux_rx_cb) > sizeof(skb->cb));
	return (struct afmux_rx_cb *)skb->cb;
}

/*
 * How much of a write-queue skb the tx pump has sent (skb->cb); @picked
 * once the pump has taken it for a frame (then nothing may be appended).
 * Changed under conn->lock.
 */
struct afmux_tx_cb {
	u32 sent;
	bool picked;
};

static inline struct afmux_tx_cb *afmux_tx_cb(struct sk_buff *skb)
{
	BUILD_BUG_ON(sizeof(struct afmux_tx_cb) > sizeof(skb->cb));
	return (struct afmux_tx_cb *)skb->cb;
}

static inline void afmux_tx_cb_init(struct sk_buff *skb)
{
	afmux_tx_cb(skb)->sent = 0;
	afmux_tx_cb(skb)->picked = false;
}

static inline struct afmux_conn *afmux_conn(struct sock *sk)
{
	return container_of(sk, struct afmux_conn, sk);
}

static inline struct afmux_stream *afmux_stream(struct sock *sk)
{
	return container_of(sk, struct afmux_stream, sk);
}

/* Count an event in the namespace's /proc/net/afmux_stat; any context. */
static inline void afmux_count(const struct afmux_conn *conn,
			       enum afmux_mib_index i)
{
	afmux_mib_inc(conn->mib, i);
}

/*
 * Change a stream's state bit, WARNing once on a change docs/design.md's
 * state table does not allow (state.h).
 */
static inline void afmux_stream_set(struct afmux_stream *st, unsigned int bit)
{
	WARN_ONCE(!afmux_st_may_set(READ_ONCE(st->flags), bit),
		  "afmux: stream flags %#lx may not gain bit %u\n",
		  st->flags, bit);
	set_bit(bit, &st->flags);
}

static inline void afmux_stream_clear(struct afmux_stream *st,
				      unsigned int bit)
{
	WARN_ONCE(!afmux_st_may_clear(bit),
		  "afmux: stream flag bit %u is never cleared\n", bit);
	clear_bit(bit, &st->flags);
}

/* Nothing more goes out: END or RESET sent, or the peer's RESET. */
static inline bool afmux_stream_tx_done(const struct afmux_stream *st)
{
	return test_bit(AFMUX_ST_END_SENT, &st->flags) ||
	       test_bit(AFMUX_ST_RESET_SENT, &st->flags) ||
	       test_bit(AFMUX_ST_PEER_RESET, &st->flags);
}

/* The stream field of a frame we send about @st. */
static inline u32 afmux_wire_stream(const struct afmux_stream *st)
{
	return test_bit(AFMUX_ST_LOCAL, &st->flags) ? st->nr :
						      st->nr | AFMUX_STREAM_R;
}

/* Nothing more comes in: the peer's END or RESET, or ours sent. */
static inline bool afmux_stream_rx_done(const struct afmux_stream *st)
{
	return test_bit(AFMUX_ST_PEER_END, &st->flags) ||
	       test_bit(AFMUX_ST_PEER_RESET, &st->flags) ||
	       test_bit(AFMUX_ST_RESET_SENT, &st->flags);
}

extern struct workqueue_struct *afmux_wq;
extern struct workqueue_struct *afmux_unbound_wq;

/* memory.c: receive credit charged as the mux socket's memory */
extern atomic_long_t afmux_memory_allocated;
DECLARE_PER_CPU(int, afmux_memory_per_cpu_fw_alloc);
extern long afmux_sysctl_mem[3];
extern int afmux_sysctl_buf[3];
void afmux_memory_init(void);
bool afmux_memory_charge(struct afmux_conn *conn, u32 bytes);
void afmux_memory_uncharge(struct afmux_conn *conn, u32 bytes);
bool afmux_memory_pressure(void);
void afmux_memory_release(struct afmux_conn *conn);

/* netns.c: per-namespace settings */
struct afmux_net *afmux_net(const struct net *net);
int afmux_netns_init(void);
void afmux_netns_exit(void);

/* proc.c: /proc/net/afmux, afmux_streams, afmux_stat */
int afmux_proc_net_init(struct net *net);
void afmux_proc_net_exit(struct net *net);
void afmux_proc_conn_add(struct afmux_conn *conn);
void afmux_proc_conn_del(struct afmux_conn *conn);
struct sockaddr_in6;
void afmux_sockaddr(const struct sock *tsk, bool local,
		    struct sockaddr_in6 *sa);

/* family.c: the AF_MUX socket family */
int afmux_family_check(int family);
int afmux_family_register(int family);
void afmux_family_unregister(int family);
int afmux_family_nr(void);

/* mux.c: the mux socket */
extern struct proto afmux_conn_proto;
extern const struct proto_ops afmux_mux_ops;
void afmux_mux_sock_init(struct sock *sk);

/* The pool @conn is in (its head's), or NULL. */
static inline struct afmux_pool *afmux_conn_pool(const struct afmux_conn *conn)
{
	return conn->head ? conn->head->pool : conn->pool;
}

/*
 * The number the next stream this end opens would get: the pool's
 * sequence in a pool (§12.4), else @conn's own.  Caller holds conn->lock.
 */
static inline u32 afmux_conn_next_nr(const struct afmux_conn *conn)
{
	const struct afmux_pool *pool = afmux_conn_pool(conn);

	lockdep_assert_held(&conn->lock);
	return pool ? (u32)atomic_read(&pool->next_nr) : conn->next_nr;
}

/* conn.c: attaching, failing and tearing down a connection */
void afmux_conn_init(struct afmux_conn *conn);
int afmux_conn_attach(struct afmux_conn *conn, int fd, bool pool);
void afmux_conn_fail(struct afmux_conn *conn, int err, u32 code);
void afmux_conn_maybe_teardown(struct afmux_conn *conn);
void afmux_conn_queue_teardown(struct afmux_conn *conn, unsigned long delay);
void afmux_conn_teardown_now(struct afmux_conn *conn);
void afmux_conn_linger_read(struct afmux_conn *conn);
void afmux_conn_keepalive_arm(struct afmux_conn *conn);
void afmux_conn_queue_work(struct afmux_conn *conn, struct work_struct *w);
void afmux_conn_wake_rx(struct sock *tsk);

/* pool.c: several TCP connections under one mux socket */
struct afmux_pool *afmux_pool_new(void);
void afmux_pool_free(struct afmux_conn *conn);
void afmux_pool_rx_first(struct afmux_conn *conn, const struct afmux_hdr *h,
			 const u8 *payload);
int afmux_pool_rx_pool(struct afmux_conn *conn, const u8 *payload);
int afmux_pool_rx_join(struct afmux_conn *link, const struct afmux_preface *pf);
struct afmux_conn *afmux_pool_pick(struct afmux_conn *head);
int afmux_pool_each(struct afmux_conn *head,
		    int (*fn)(struct afmux_conn *c, void *arg), void *arg);
bool afmux_mux_over(const struct afmux_conn *head);
int afmux_mux_err(const struct afmux_conn *head);
bool afmux_pool_can_open(struct afmux_conn *head);
void afmux_pool_ended(struct afmux_conn *conn, int err);
int afmux_pool_join(struct afmux_conn *head, int fd, bool nonblock,
		    u32 *linkp);
void afmux_pool_release(struct afmux_conn *head);
void afmux_pool_info(struct afmux_conn *head, struct afmux_pool_info *info);

/* rx.c: the receive path */
extern const struct afmux_parser_ops afmux_rx_ops;
void afmux_rx_data_ready(struct sock *tsk);
void afmux_rx_work(struct work_struct *work);
int afmux_rx_actor(read_descriptor_t *desc, struct sk_buff *skb,
		   unsigned int off, size_t len);
bool afmux_rx_parsed(struct afmux_conn *conn, int error);
void afmux_rx_ended(struct afmux_conn *conn, int err);
void afmux_tcp_lock(struct afmux_conn *conn);
void afmux_tcp_unlock(struct afmux_conn *conn);

/* tx_pick.c: what the pump sends next */
void __afmux_tx_want(struct afmux_conn *conn, struct afmux_stream *st);
bool afmux_tx_pick(struct afmux_conn *conn, struct afmux_txf *f);

/* tx_zc.c: MSG_ZEROCOPY pages into TCP */
int afmux_tx_send_zc(struct sock *tsk, struct bio_vec *bv, unsigned int n,
		     size_t size, int flags, struct ubuf_info *uarg);

/* tx.c: the transmit pump */
void afmux_tx_kick(struct afmux_conn *conn);
void afmux_tx_work(struct work_struct *work);
void afmux_tx_write_space(struct sock *tsk);
void afmux_tx_room(struct afmux_conn *conn, struct sock *tsk);
void afmux_tx_retry(struct timer_list *t);
void afmux_tx_drop(struct afmux_conn *conn);
void afmux_tx_lowat_init(struct afmux_conn *conn, struct sock *tsk);
size_t afmux_tx_direct(struct afmux_stream *st, struct iov_iter *from,
		       size_t n);

/* stream.c: stream sockets */
extern struct proto afmux_stream_proto;
extern const struct proto_ops afmux_stream_ops;
struct afmux_stream *afmux_stream_new(struct afmux_conn *conn, u32 nr,
				      bool local, const u8 *key, u16 key_len,
				      gfp_t gfp);
void __afmux_stream_finish(struct afmux_stream *st);
void __afmux_stream_kill(struct afmux_stream *st, int err, bool reset);
struct file *afmux_stream_file_alloc(int flags);
void afmux_stream_graft(struct file *file, struct afmux_stream *st);

/* stream_rx.c: credit, the receive queue, recvmsg and splice_read */
int afmux_stream_rx_queue(struct afmux_stream *st, struct sk_buff *skb,
			  unsigned int off, unsigned int len);
void __afmux_stream_rx_end(struct afmux_stream *st, int err, u8 how);
bool __afmux_stream_admit(struct afmux_stream *st);
void __afmux_stream_uncharge(struct afmux_stream *st);
bool afmux_stream_consumed(struct afmux_stream *st, u32 n);
int afmux_stream_recvmsg(struct socket *sock, struct msghdr *msg,
			 size_t len, int flags);
ssize_t afmux_stream_splice_read(struct socket *sock, loff_t *ppos,
				 struct pipe_inode_info *pipe, size_t len,
				 unsigned int flags);

/* stream_tx.c: sendmsg, sendfile and splice into a stream */
u32 afmux_stream_tx_space(struct afmux_stream *st);
void afmux_stream_write_space(struct sock *sk);
bool afmux_stream_set_nospace(struct sock *sk, struct socket *sock);
int afmux_stream_sendmsg(struct socket *sock, struct msghdr *msg, size_t len);
#if AFMUX_HAVE_SENDPAGE
ssize_t afmux_stream_sendpage(struct socket *sock, struct page *page,
			      int offset, size_t size, int flags);
#endif

#endif /* _AFMUX_H */
