// SPDX-License-Identifier: GPL-2.0
/*
 * pool.c - one mux over several TCP connections (docs/protocol.md §12):
 * the pool a mux socket offers at attach (AFMUX_ATTACH_POOL), the HELLO
 * and POOL frames that set it up on the first connection, joining more
 * TCP connections (AFMUX_IOC_JOIN), and what the mux socket asks of the
 * whole pool: where a new stream goes, whether any connection is left.
 *
 * Each joined TCP connection is a conn of its own - a "link": a kernel
 * AF_MUX socket without an fd, made by the JOIN, attached like a mux
 * socket but with a join preface, and owned by the mux socket's conn
 * (the "head", itself link 0).  Streams live on their link and never see
 * the head; the head's socket answers open, accept and poll for all.  A
 * link forwards its socket wake-ups to the head's, where accept, poll and
 * the JOIN wait.
 */
#include <crypto/algapi.h>
#include <linux/net.h>
#include <linux/random.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <net/sock.h>

#include "afmux.h"
#include "frame.h"

/**
 * afmux_pool_new - a pool for a mux socket about to be attached
 *
 * Its credentials are drawn here.  The attach publishes it in conn->pool
 * together with AFMUX_C_ATTACHED (and frees it if the attach fails before
 * that): readers that take no lock (poll, options) never see a pool that
 * could still go away; once published it lives until the destructor.
 * Return: the pool, or NULL.
 */
struct afmux_pool *afmux_pool_new(void)
{
	struct afmux_pool *pool;

	pool = kzalloc(sizeof(*pool), GFP_KERNEL_ACCOUNT);
	if (!pool)
		return NULL;
	do
		get_random_bytes(&pool->ours.id, sizeof(pool->ours.id));
	while (!pool->ours.id);
	get_random_bytes(pool->ours.token, sizeof(pool->ours.token));
	atomic_set(&pool->next_nr, 1);
	spin_lock_init(&pool->lock);
	INIT_LIST_HEAD(&pool->links);
	pool->next_link = 1;
	return pool;
}

/*
 * @head's pool for a reader that holds no lock: published by the attach
 * with smp_store_release() after it was filled in (pairs with it), never
 * freed before the destructor.
 */
static struct afmux_pool *afmux_head_pool(const struct afmux_conn *head)
{
	/* Pairs with smp_store_release() in afmux_conn_attach(). */
	return smp_load_acquire(&head->pool);
}

/* The destructor's: links were released with the mux fd. */
void afmux_pool_free(struct afmux_conn *conn)
{
	if (conn->head)
		sock_put(&conn->head->sk);
	if (!conn->pool)
		return;
	WARN_ON_ONCE(!list_empty(&conn->pool->links));
	kfree(conn->pool);
}

/*
 * The state AFMUX_POOL reports.  Flags are read without the lock: a
 * snapshot.
 */
static u32 afmux_pool_state(const struct afmux_conn *head)
{
	if (!head->pool)
		return AFMUX_POOL_OFF;
	if (test_bit(AFMUX_C_PEER_POOL_IN, &head->flags))
		return AFMUX_POOL_READY;
	if (test_bit(AFMUX_C_FIRST_FRAME, &head->flags) &&
	    !test_bit(AFMUX_C_PEER_POOLS, &head->flags))
		return AFMUX_POOL_REFUSED;
	return AFMUX_POOL_PENDING;
}

/**
 * afmux_pool_rx_first - the peer's first frame on a head that offered a
 * pool: a HELLO says the peer pools too (§12.1)
 * @conn: the connection; under the TCP socket lock (the receive path)
 * @h: the frame's header
 * @payload: its payload
 *
 * Answered like any PING by the caller.  Wakes a JOIN waiting for the
 * answer either way.
 */
void afmux_pool_rx_first(struct afmux_conn *conn, const struct afmux_hdr *h,
			 const u8 *payload)
{
	bool kick = false;

	lockdep_assert(lockdep_sock_is_held(conn->tsk));
	spin_lock_bh(&conn->lock);
	if (test_and_set_bit(AFMUX_C_FIRST_FRAME, &conn->flags) ||
	    !conn->pool) {
		spin_unlock_bh(&conn->lock);
		return;
	}
	if (afmux_is_hello(h, payload)) {
		set_bit(AFMUX_C_PEER_POOLS, &conn->flags);
		set_bit(AFMUX_C_POOL_WANTED, &conn->flags);
		__afmux_tx_want(conn, NULL);
		kick = true;
	}
	spin_unlock_bh(&conn->lock);
	if (kick)
		afmux_conn_queue_work(conn, &conn->tx_work);
	conn->sk.sk_state_change(&conn->sk);
}

/**
 * afmux_pool_rx_pool - the peer's POOL frame: its credentials (§12.2)
 * @conn: the connection; under the TCP socket lock
 * @payload: AFMUX_POOL_LEN bytes
 *
 * Return: 0, or the parse's error for a POOL §12.2 forbids.
 */
int afmux_pool_rx_pool(struct afmux_conn *conn, const u8 *payload)
{
	struct afmux_pool_id peer;
	enum afmux_bad bad = AFMUX_BAD_NONE;

	lockdep_assert(lockdep_sock_is_held(conn->tsk));
	spin_lock_bh(&conn->lock);
	if (conn->head)
		bad = AFMUX_BAD_POOL;		/* on a joined connection */
	else if (!conn->pool || !test_bit(AFMUX_C_PEER_POOLS, &conn->flags))
		bad = AFMUX_BAD_TYPE;		/* not pooled: unknown */
	else if (test_bit(AFMUX_C_PEER_POOL_IN, &conn->flags) ||
		 afmux_pool_decode(payload, &peer))
		bad = AFMUX_BAD_POOL;		/* a second one; id 0 */
	if (bad == AFMUX_BAD_NONE) {
		conn->pool->peer = peer;
		set_bit(AFMUX_C_PEER_POOL_IN, &conn->flags);
	}
	spin_unlock_bh(&conn->lock);
	if (bad != AFMUX_BAD_NONE) {
		conn->parser.bad = bad;
		return -EPROTO;
	}
	conn->sk.sk_state_change(&conn->sk);
	return 0;
}

/**
 * afmux_pool_rx_join - check the join preface a link received (§12.3)
 * @link: the link; under the TCP socket lock
 * @pf: the preface: it presents the credentials the peer holds for us
 *
 * Return: 0 (the link has joined: JOIN returns, streams may go to it),
 * or -ECONNREFUSED (REFUSED_JOIN): not our credentials, or the pool's
 * mux socket is closed.
 */
int afmux_pool_rx_join(struct afmux_conn *link, const struct afmux_preface *pf)
{
	struct afmux_conn *head = link->head;
	const struct afmux_pool_id *ours = &head->pool->ours;
	bool ok;

	lockdep_assert(lockdep_sock_is_held(link->tsk));
	ok = pf->pool.id == ours->id &&
	     !crypto_memneq(pf->pool.token, ours->token, AFMUX_TOKEN_LEN) &&
	     !test_bit(AFMUX_C_RELEASED, &head->flags);
	if (!ok) {
		link->parser.bad = AFMUX_BAD_JOIN;
		return -ECONNREFUSED;
	}
	spin_lock_bh(&link->lock);
	set_bit(AFMUX_C_JOINED, &link->flags);
	spin_unlock_bh(&link->lock);
	afmux_conn_keepalive_arm(link);		/* the join deadline is off */
	link->sk.sk_state_change(&link->sk);
	return 0;
}

/* May new streams go to @c, the head or a link?  A lockless snapshot. */
static bool afmux_pool_usable(const struct afmux_conn *c)
{
	return test_bit(AFMUX_C_ATTACHED, &c->flags) &&
	       !test_bit(AFMUX_C_FAILED, &c->flags) &&
	       !test_bit(AFMUX_C_PEER_GOAWAY, &c->flags) &&
	       (!c->head || test_bit(AFMUX_C_JOINED, &c->flags));
}

/*
 * Where a connection stands for a new stream (§12.4, afmux_pool_pick()),
 * compared in this order: full (at net.afmux.max_streams: the open would
 * fail there), bytes queued in its streams and in TCP (sent or not,
 * unacked) in 64 KiB steps (an idle connection's few unacked control
 * frames must not outweigh the stream count), then its streams.
 * A lockless snapshot.
 */
struct afmux_pool_rank {
	bool full;
	u64 load;
	unsigned int streams;
};

#define AFMUX_POOL_LOAD_SHIFT	16
static struct afmux_pool_rank afmux_pool_rank(const struct afmux_conn *c,
					      unsigned int max)
{
	unsigned int streams = READ_ONCE(c->nr_streams);

	return (struct afmux_pool_rank){
		.full = streams >= max,
		.load = ((u64)atomic_read(&c->tx_queued) +
			 (u64)READ_ONCE(c->tsk->sk_wmem_queued)) >>
			AFMUX_POOL_LOAD_SHIFT,
		.streams = streams,
	};
}

/* Does @a come before @b?  Ties keep the earlier (lower numbered) one. */
static bool afmux_pool_rank_before(const struct afmux_pool_rank *a,
				   const struct afmux_pool_rank *b)
{
	if (a->full != b->full)
		return !a->full;
	if (a->load != b->load)
		return a->load < b->load;
	return a->streams < b->streams;
}

/**
 * afmux_pool_pick - the connection a new stream goes to (§12.4)
 * @head: the mux socket's conn
 *
 * Without a pool, @head.  Else the usable one (the head or a joined
 * link) with the fewest bytes queued and in flight, counted in 64 KiB
 * steps; then the fewest streams; then the lowest link number.  One
 * with net.afmux.max_streams streams comes after every other (the open
 * would fail there).  NULL if none is usable.
 *
 * Return: the connection, held (sock_put() it), or NULL.
 */
struct afmux_conn *afmux_pool_pick(struct afmux_conn *head)
{
	struct afmux_net *an = afmux_net(sock_net(&head->sk));
	unsigned int max = READ_ONCE(an->max_streams);
	struct afmux_pool *pool = head->pool;
	struct afmux_pool_rank best_rank = {}, rank;
	struct afmux_conn *best = NULL, *c;

	if (!pool) {
		sock_hold(&head->sk);
		return head;
	}
	spin_lock_bh(&pool->lock);
	if (afmux_pool_usable(head)) {
		best = head;
		best_rank = afmux_pool_rank(head, max);
	}
	list_for_each_entry(c, &pool->links, link_node) {
		if (!afmux_pool_usable(c))
			continue;
		rank = afmux_pool_rank(c, max);
		if (!best || afmux_pool_rank_before(&rank, &best_rank)) {
			best = c;
			best_rank = rank;
		}
	}
	if (best)
		sock_hold(&best->sk);
	spin_unlock_bh(&pool->lock);
	return best;
}

/**
 * afmux_pool_each - call @fn on the head, then on each joined link
 * @head: the mux socket's conn
 * @fn: returns nonzero to stop; may take the link's conn->lock, not sleep
 * @arg: for @fn
 *
 * Return: what @fn returned last.
 */
int afmux_pool_each(struct afmux_conn *head,
		    int (*fn)(struct afmux_conn *c, void *arg), void *arg)
{
	struct afmux_pool *pool = afmux_head_pool(head);
	struct afmux_conn *c;
	int ret;

	ret = fn(head, arg);
	if (ret || !pool)
		return ret;
	spin_lock_bh(&pool->lock);
	list_for_each_entry(c, &pool->links, link_node) {
		ret = fn(c, arg);
		if (ret)
			break;
	}
	spin_unlock_bh(&pool->lock);
	return ret;
}

/**
 * afmux_mux_over - has the mux ended: its connection, or every
 * connection of its pool?
 * @head: an attached mux socket's conn
 */
bool afmux_mux_over(const struct afmux_conn *head)
{
	struct afmux_pool *pool = afmux_head_pool(head);

	if (pool)
		return !atomic_read(&pool->alive);
	return test_bit(AFMUX_C_FAILED, &head->flags);
}

/* The errno the mux ended with, once afmux_mux_over(): 0 if clean. */
int afmux_mux_err(const struct afmux_conn *head)
{
	struct afmux_pool *pool = afmux_head_pool(head);

	return pool ? READ_ONCE(pool->err) : READ_ONCE(head->err);
}

/*
 * One connection of @head's mux fewer alive: the last one ends the mux
 * with @err (a single connection always is the last).
 */
static void afmux_pool_put_alive(struct afmux_conn *head, int err)
{
	struct afmux_pool *pool = head->pool;

	if (pool && !atomic_dec_and_test(&pool->alive))
		return;
	if (pool)
		WRITE_ONCE(pool->err, err);
	if (err)
		WRITE_ONCE(head->sk.sk_err, err);
	WRITE_ONCE(head->sk.sk_shutdown, SHUTDOWN_MASK);
}

/**
 * afmux_pool_ended - a connection has ended (afmux_conn_fail())
 * @conn: the head or a link, just marked AFMUX_C_FAILED
 * @err: its error
 *
 * The mux socket reports an error (SO_ERROR, POLLERR) and shuts down
 * only when its last connection has ended: one that ends while others
 * live ends its own streams and no more (§12.5).
 *
 * Context: any; caller holds @conn->lock.
 */
void afmux_pool_ended(struct afmux_conn *conn, int err)
{
	lockdep_assert_held(&conn->lock);
	afmux_pool_put_alive(conn->head ?: conn, err);
}

/* A link's socket wake-ups go to the head's, where everyone waits. */
static void afmux_pool_link_data_ready(struct sock *sk)
{
	struct afmux_conn *head = afmux_conn(sk)->head;

	head->sk.sk_data_ready(&head->sk);
}

static void afmux_pool_link_state_change(struct sock *sk)
{
	struct afmux_conn *head = afmux_conn(sk)->head;

	head->sk.sk_state_change(&head->sk);
}

static void afmux_pool_link_error_report(struct sock *sk)
{
	struct afmux_conn *head = afmux_conn(sk)->head;

	head->sk.sk_error_report(&head->sk);
}

/* A new link for @head, with its settings; not on the list yet. */
static int afmux_pool_link_new(struct afmux_conn *head,
			       struct afmux_conn **linkp)
{
	struct socket *sock;
	struct afmux_conn *link;
	int err;

	err = sock_create_kern(sock_net(&head->sk), afmux_family_nr(),
			       SOCK_STREAM, 0, &sock);
	if (err)
		return err;
	link = afmux_conn(sock->sk);
	sock_hold(&head->sk);		/* put by the link's destructor */
	link->head = head;
	link->link_sock = sock;
	link->window = head->window;
	link->sk.sk_max_ack_backlog = READ_ONCE(head->sk.sk_max_ack_backlog);
	spin_lock_bh(&head->lock);
	link->ka_idle = head->ka_idle;
	link->ka_timeout = head->ka_timeout;
	spin_unlock_bh(&head->lock);
	link->sk.sk_data_ready = afmux_pool_link_data_ready;
	link->sk.sk_state_change = afmux_pool_link_state_change;
	link->sk.sk_error_report = afmux_pool_link_error_report;
	afmux_parser_init(&link->parser, &afmux_rx_ops, true);
	*linkp = link;
	return 0;
}

/*
 * Take ended links (given back their TCP socket) off the list, to make
 * room: released by the caller, outside the lock.
 */
static void afmux_pool_prune(struct afmux_pool *pool, struct list_head *gone)
{
	struct afmux_conn *c, *tmp;

	lockdep_assert_held(&pool->lock);
	list_for_each_entry_safe(c, tmp, &pool->links, link_node) {
		if (!test_bit(AFMUX_C_DETACHED, &c->flags))
			continue;
		list_move_tail(&c->link_node, gone);
		pool->nr_links--;
	}
}

static void afmux_pool_release_list(struct list_head *list)
{
	struct afmux_conn *c, *tmp;

	list_for_each_entry_safe(c, tmp, list, link_node) {
		list_del_init(&c->link_node);
		sock_release(c->link_sock);	/* GOAWAY, as a closed fd */
	}
}

/* Put @link on the pool's list, with its number.  -EMLINK if full. */
static int afmux_pool_link_add(struct afmux_conn *head,
			       struct afmux_conn *link)
{
	struct afmux_pool *pool = head->pool;
	LIST_HEAD(gone);
	int err = 0;

	spin_lock_bh(&pool->lock);
	afmux_pool_prune(pool, &gone);
	if (pool->nr_links + 1 >= AFMUX_LINKS_MAX) {
		err = -EMLINK;
	} else {
		link->link = pool->next_link++;
		list_add_tail(&link->link_node, &pool->links);
		pool->nr_links++;
	}
	spin_unlock_bh(&pool->lock);
	afmux_pool_release_list(&gone);
	return err;
}

/*
 * Take @link, never attached, off the list again and release it.  The
 * peer never heard of it: its number is the next JOIN's (numbers are
 * given under the mux socket lock, which the caller has held since).
 */
static void afmux_pool_unlink(struct afmux_pool *pool, struct afmux_conn *link)
{
	spin_lock_bh(&pool->lock);
	list_del_init(&link->link_node);
	pool->nr_links--;
	if (link->link + 1 == pool->next_link)
		pool->next_link--;
	spin_unlock_bh(&pool->lock);
	sock_release(link->link_sock);
}

/*
 * Is the peer's answer to our offer in (its POOL, or a first frame that
 * was not a HELLO), or the mux over?
 */
static bool afmux_pool_answered(struct afmux_conn *head,
				struct afmux_conn *link)
{
	return afmux_pool_state(head) != AFMUX_POOL_PENDING ||
	       afmux_mux_over(head);
}

/* Has @link's join come to an end, either way? */
static bool afmux_pool_joined(struct afmux_conn *head, struct afmux_conn *link)
{
	return test_bit(AFMUX_C_JOINED, &link->flags) ||
	       test_bit(AFMUX_C_FAILED, &link->flags);
}

/*
 * Wait on the head's socket (links forward their wake-ups to it) until
 * @cond; the caller holds its socket lock, which is let go meanwhile.
 * Return: 0, -ETIMEDOUT, -EAGAIN (non-blocking), or -EINTR/-ERESTARTSYS.
 */
static int afmux_pool_wait(struct afmux_conn *head, long *timeo,
			   bool blocking,
			   bool (*cond)(struct afmux_conn *head,
					struct afmux_conn *link),
			   struct afmux_conn *link)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	struct sock *sk = &head->sk;
	int err = 0;

	add_wait_queue(sk_sleep(sk), &wait);
	while (!cond(head, link)) {
		if (!*timeo) {
			err = blocking ? -ETIMEDOUT : -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			err = sock_intr_errno(*timeo);
			break;
		}
		sk_wait_event(sk, timeo, cond(head, link), &wait);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	return err;
}

/* May a connection still join: is any connection open to new streams? */
static int afmux_pool_open_check(struct afmux_conn *c, void *arg)
{
	return afmux_pool_usable(c);
}

/* May a stream be opened now: on the head, or on any joined link? */
bool afmux_pool_can_open(struct afmux_conn *head)
{
	return afmux_pool_each(head, afmux_pool_open_check, NULL);
}

/**
 * afmux_pool_join - AFMUX_IOC_JOIN: the TCP socket @fd joins @head's pool
 * @head: the mux socket's conn; the caller holds its socket lock
 * @fd: a connected TCP socket
 * @nonblock: the mux fd is non-blocking
 * @linkp: the new link's number
 *
 * Return: 0, or the errno listed for struct afmux_join.
 */
int afmux_pool_join(struct afmux_conn *head, int fd, bool nonblock,
		    u32 *linkp)
{
	long timeo = sock_sndtimeo(&head->sk, nonblock);
	struct afmux_conn *link;
	int err;

	sock_owned_by_me(&head->sk);
	if (!test_bit(AFMUX_C_ATTACHED, &head->flags))
		return -ENOTCONN;
	if (!head->pool || head->head)
		return -EINVAL;
	err = afmux_pool_wait(head, &timeo, !nonblock, afmux_pool_answered,
			      NULL);
	if (err)
		return err;
	if (afmux_pool_state(head) == AFMUX_POOL_REFUSED)
		return -EOPNOTSUPP;
	if (afmux_mux_over(head) || !afmux_pool_can_open(head))
		return -EPIPE;

	err = afmux_pool_link_new(head, &link);
	if (err)
		return err;
	err = afmux_pool_link_add(head, link);
	if (err) {
		sock_release(link->link_sock);
		return err;
	}
	sock_hold(&link->sk);	/* a JOIN at the same time may prune it */
	/* Not after the last connection ended: the mux stays over. */
	if (!atomic_inc_not_zero(&head->pool->alive)) {
		afmux_pool_unlink(head->pool, link);
		sock_put(&link->sk);
		return -EPIPE;
	}
	err = afmux_conn_attach(link, fd, false);
	if (err) {
		/*
		 * Never attached: it cannot end, so it is not alive.  If
		 * the others ended meanwhile, the mux ends here instead.
		 */
		afmux_pool_put_alive(head, READ_ONCE(head->err));
		head->sk.sk_state_change(&head->sk);
		afmux_pool_unlink(head->pool, link);
		sock_put(&link->sk);
		return err;
	}
	*linkp = link->link;
	if (nonblock) {
		err = -EINPROGRESS;
	} else {
		/* What is left of SO_SNDTIMEO: one timeout for the call. */
		err = afmux_pool_wait(head, &timeo, true, afmux_pool_joined,
				      link);
		if (!err && !test_bit(AFMUX_C_JOINED, &link->flags))
			err = -READ_ONCE(link->err) ?: -ECONNRESET;
	}
	sock_put(&link->sk);
	return err;
}

/**
 * afmux_pool_release - the mux fd is closed: close every joined link as
 * if its own fd were (GOAWAY NO_ERROR; its streams carry on)
 * @head: the mux socket's conn
 */
void afmux_pool_release(struct afmux_conn *head)
{
	struct afmux_pool *pool = head->pool;
	LIST_HEAD(gone);

	if (!pool)
		return;
	spin_lock_bh(&pool->lock);
	list_splice_init(&pool->links, &gone);
	pool->nr_links = 0;
	spin_unlock_bh(&pool->lock);
	afmux_pool_release_list(&gone);
}

/* AFMUX_POOL's numbers: count the live connections. */
static int afmux_pool_count_alive(struct afmux_conn *c, void *arg)
{
	if (test_bit(AFMUX_C_ATTACHED, &c->flags) &&
	    !test_bit(AFMUX_C_FAILED, &c->flags) &&
	    (!c->head || test_bit(AFMUX_C_JOINED, &c->flags)))
		(*(u32 *)arg)++;
	return 0;
}

/**
 * afmux_pool_info - what AFMUX_POOL reports
 * @head: the mux socket's conn
 * @info: filled in
 */
void afmux_pool_info(struct afmux_conn *head, struct afmux_pool_info *info)
{
	struct afmux_pool *pool = afmux_head_pool(head);

	memset(info, 0, sizeof(*info));
	info->state = afmux_pool_state(head);
	afmux_pool_each(head, afmux_pool_count_alive, &info->links);
	if (!pool)
		return;
	info->next_link = READ_ONCE(pool->next_link);
	info->pool_id = pool->ours.id;
	spin_lock_bh(&head->lock);
	if (test_bit(AFMUX_C_PEER_POOL_IN, &head->flags))
		info->peer_pool_id = pool->peer.id;
	spin_unlock_bh(&head->lock);
}
