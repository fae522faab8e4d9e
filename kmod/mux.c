// SPDX-License-Identifier: GPL-2.0
/*
 * mux.c - the mux socket (the fd socket(AF_MUX) returns): its ioctls
 * ATTACH, OPEN, ACCEPT and JOIN, poll, listen (the accept backlog), its
 * options (AFMUX_STATS, AFMUX_KEEPALIVE, AFMUX_POOL), and release.  With
 * a pool (pool.c) open, accept and poll span every connection of it.
 *
 * The mux socket lock serialises attach, join and accept; the connection
 * state they look at is under conn->lock (afmux.h).
 */
#include <linux/file.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <net/sock.h>

#include "afmux.h"
#include "frame.h"
#include "trace.h"

#define AFMUX_O_MASK	(O_CLOEXEC | O_NONBLOCK)

static void conn_destruct(struct sock *sk)
{
	struct afmux_conn *conn = afmux_conn(sk);

	afmux_proc_conn_del(conn);
	if (conn->tsk)
		sock_put(conn->tsk);
	afmux_ktls_free(conn->ktls);
	afmux_memory_release(conn);
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, -1);
	xa_destroy(&conn->local);
	xa_destroy(&conn->remote);
	mutex_destroy(&conn->tx_mutex);
	/* Last: a link's namespace is its head's (a kernel socket's). */
	afmux_pool_free(conn);
}

/* Receive credit is charged to the mux socket (memory.c). */
struct proto afmux_conn_proto = {
	.name			= "AF_MUX",
	.owner			= THIS_MODULE,
	.obj_size		= sizeof(struct afmux_conn),
	.memory_allocated	= &afmux_memory_allocated,
	.per_cpu_fw_alloc	= &afmux_memory_per_cpu_fw_alloc,
	.sysctl_mem		= afmux_sysctl_mem,
	.sysctl_rmem		= afmux_sysctl_buf,
	.sysctl_wmem		= afmux_sysctl_buf,
};

void afmux_mux_sock_init(struct sock *sk)
{
	struct afmux_conn *conn = afmux_conn(sk);
	struct afmux_net *an = afmux_net(sock_net(sk));

	afmux_conn_init(conn);
	afmux_proc_conn_add(conn);
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, 1);
	sk->sk_destruct = conn_destruct;
	sk->sk_max_ack_backlog = READ_ONCE(an->backlog);
	conn->window = READ_ONCE(an->window);
	conn->ka_idle = msecs_to_jiffies(READ_ONCE(an->keepalive_idle_ms));
	conn->ka_timeout =
		msecs_to_jiffies(READ_ONCE(an->keepalive_timeout_ms));
}

/*
 * Copy an ioctl's struct in: @usize (the command's size) from the first
 * version's @ver0 on, as copy_struct_from_user() takes it.
 */
static int mux_copy_arg(void *dst, size_t ksize, size_t ver0,
			const void __user *uarg, size_t usize)
{
	if (usize < ver0)
		return -EINVAL;
	return copy_struct_from_user(dst, ksize, uarg, usize);
}

static int mux_attach(struct afmux_conn *conn, void __user *uarg,
		      size_t usize)
{
	struct afmux_attach a;
	int err;

	err = mux_copy_arg(&a, sizeof(a), AFMUX_ATTACH_SIZE_VER0, uarg, usize);
	if (err)
		return err;
	if ((a.flags & ~AFMUX_ATTACH_POOL) || a.reserved)
		return -EINVAL;
	return afmux_conn_attach(conn, a.fd, a.flags & AFMUX_ATTACH_POOL);
}

/* A new stream's fd and file, before there is a stream (see callers). */
static int mux_reserve_fd(int flags, struct file **file)
{
	int fd = get_unused_fd_flags(flags & O_CLOEXEC);

	if (fd < 0)
		return fd;
	*file = afmux_stream_file_alloc(flags);
	if (IS_ERR(*file)) {
		put_unused_fd(fd);
		return PTR_ERR(*file);
	}
	return fd;
}

static int mux_open(struct afmux_conn *head, void __user *uarg, size_t usize)
{
	struct afmux_net *an = afmux_net(sock_net(&head->sk));
	struct afmux_conn *conn;
	struct afmux_stream *st;
	struct afmux_pool *pool;
	struct afmux_open a;
	struct file *file;
	u8 *key = NULL;
	u32 nr;
	int fd, err;

	err = mux_copy_arg(&a, sizeof(a), AFMUX_OPEN_SIZE_VER0, uarg, usize);
	if (err)
		return err;
	if (a.reserved || (a.flags & ~AFMUX_O_MASK))
		return -EINVAL;
	if (a.key_len > AFMUX_KEY_MAX)
		return -EMSGSIZE;
	if (!test_bit(AFMUX_C_ATTACHED, &head->flags))
		return -ENOTCONN;
	if (a.key_len) {
		key = memdup_user(u64_to_user_ptr(a.key), a.key_len);
		if (IS_ERR(key))
			return PTR_ERR(key);
	}
	/* Everything that can fail for lack of memory before the peer knows. */
	fd = mux_reserve_fd(a.flags, &file);
	if (fd < 0) {
		kfree(key);
		return fd;
	}
	/* Its connection: in a pool, the least loaded (pool.c). */
	conn = afmux_pool_pick(head);
	if (!conn) {
		kfree(key);
		err = -EPIPE;
		goto err_put_file_head;
	}
	st = afmux_stream_new(conn, 0, true, key, a.key_len, GFP_KERNEL);
	kfree(key);
	if (!st) {
		afmux_count(conn, AFMUX_MIB_ALLOC_FAILURES);
		err = -ENOMEM;
		goto err_put_file;
	}

	pool = afmux_conn_pool(conn);
	spin_lock_bh(&conn->lock);
	err = 0;
	/* One sequence of numbers over a pool (§12.4), rising on each link. */
	nr = afmux_conn_next_nr(conn);
	if (test_bit(AFMUX_C_FAILED, &conn->flags) ||
	    test_bit(AFMUX_C_PEER_GOAWAY, &conn->flags) ||
	    nr > AFMUX_STREAM_NR_MAX)
		err = -EPIPE;
	else if (conn->nr_streams >= READ_ONCE(an->max_streams) ||
		 !__afmux_stream_admit(st))
		err = -ENOBUFS;
	if (!err && pool) {
		nr = (u32)atomic_fetch_inc(&pool->next_nr);
		if (nr > AFMUX_STREAM_NR_MAX)
			err = -EPIPE;
	}
	if (!err && xa_insert(&conn->local, nr, st, GFP_ATOMIC))
		err = -ENOMEM;
	if (err && err != -ENOBUFS && st->rx_charge)
		__afmux_stream_uncharge(st);
	if (!err) {
		st->nr = nr;
		conn->next_nr = nr + 1;
		if (test_bit(AFMUX_C_PEER_READY, &conn->flags))
			st->tx_limit = conn->peer_window;
		afmux_stream_set(st, AFMUX_ST_IN_TABLE);
		afmux_stream_set(st, AFMUX_ST_OPEN_WANTED);
		sock_hold(&st->sk);	/* the table's */
		conn->nr_streams++;
		conn->stats.streams_opened++;
		__afmux_tx_want(conn, st);
		afmux_count(conn, AFMUX_MIB_STREAMS_OPENED);
		trace_afmux_stream_open(st);
	} else if (err == -ENOBUFS) {
		afmux_count(conn, AFMUX_MIB_OPEN_FAILED);
	} else if (err == -ENOMEM) {
		afmux_count(conn, AFMUX_MIB_ALLOC_FAILURES);
	}
	spin_unlock_bh(&conn->lock);
	if (err) {
		sock_put(&st->sk);	/* never numbered: just freed */
		goto err_put_file;
	}

	afmux_stream_graft(file, st);
	a.stream_id = st->nr;
	if (copy_to_user(uarg, &a, min(usize, sizeof(a)))) {
		fput(file);	/* the peer sees an empty stream */
		err = -EFAULT;
		goto err_put_fd;
	}
	fd_install(fd, file);
	afmux_tx_kick(conn);
	sock_put(&conn->sk);
	return fd;

err_put_file:
	fput(file);
err_put_fd:
	put_unused_fd(fd);
	afmux_tx_kick(conn);
	sock_put(&conn->sk);
	return err;

err_put_file_head:
	fput(file);
	put_unused_fd(fd);
	return err;
}

/* Has @c, the head or a link, a stream queued for accept? */
static int mux_acceptable(struct afmux_conn *c, void *arg)
{
	return !list_empty_careful(&c->accept_q);
}

/* Wait for a stream on an accept queue or the end of the mux. */
static int wait_acceptable(struct afmux_conn *conn, long *timeo)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	struct sock *sk = &conn->sk;
	int rc;

	add_wait_queue(sk_sleep(sk), &wait);
	rc = sk_wait_event(sk, timeo,
			   afmux_pool_each(conn, mux_acceptable, NULL) ||
			   afmux_mux_over(conn), &wait);
	remove_wait_queue(sk_sleep(sk), &wait);
	return rc < 0 ? rc : 0;
}

struct mux_dequeue {
	struct afmux_accept *a;
	u8 *key;
	int err;
	struct afmux_stream *st;
};

/* Take the first stream off @c's accept queue, if any; 1 to stop. */
static int mux_dequeue_one(struct afmux_conn *c, void *arg)
{
	struct mux_dequeue *d = arg;
	struct afmux_stream *st;

	spin_lock_bh(&c->lock);
	st = list_first_entry_or_null(&c->accept_q, struct afmux_stream,
				      accept_node);
	if (!st) {
		/* nothing here */
	} else if (st->key_len > d->a->key_len) {
		d->a->key_len = st->key_len;
		d->err = -EMSGSIZE;
	} else {
		list_del_init(&st->accept_node);
		afmux_stream_clear(st, AFMUX_ST_ACCEPTABLE);
		c->accept_len--;
		d->a->key_len = st->key_len;
		d->a->stream_id = st->nr;
		memcpy(d->key, st->key, st->key_len);
		d->st = st;
	}
	spin_unlock_bh(&c->lock);
	return d->st || d->err;
}

/* The connection whose first queued stream came first, held. */
struct mux_oldest {
	struct afmux_conn *c;
	u32 seq;
};

static int mux_oldest_one(struct afmux_conn *c, void *arg)
{
	struct mux_oldest *o = arg;
	struct afmux_stream *st;

	spin_lock_bh(&c->lock);
	st = list_first_entry_or_null(&c->accept_q, struct afmux_stream,
				      accept_node);
	if (st && (!o->c || (s32)(st->accept_seq - o->seq) < 0)) {
		if (o->c)
			sock_put(&o->c->sk);
		sock_hold(&c->sk);
		o->c = c;
		o->seq = st->accept_seq;
	}
	spin_unlock_bh(&c->lock);
	return 0;
}

/*
 * Take the stream that came first off the accept queues (in a pool, of
 * all its connections) into @a/@key, or say why not.  Caller holds the
 * mux socket lock, so only this takes streams off the queues; a
 * connection's end may drop the one it found meanwhile (then the first
 * one anywhere is taken).
 */
static struct afmux_stream *dequeue(struct afmux_conn *conn,
				    struct afmux_accept *a, u8 *key, int *err)
{
	struct mux_dequeue d = { .a = a, .key = key };
	bool over;

	sock_owned_by_me(&conn->sk);
	over = afmux_mux_over(conn);
	/*
	 * Over or not, seen before the queues: a stream queued before the
	 * end (under conn->lock, which the end is set after) is handed out
	 * before the end is reported.
	 */
	smp_rmb();
	if (afmux_conn_pool(conn)) {
		struct mux_oldest o = { NULL };

		afmux_pool_each(conn, mux_oldest_one, &o);
		if (o.c) {
			mux_dequeue_one(o.c, &d);
			sock_put(&o.c->sk);
		}
	}
	if (!d.st && !d.err)
		afmux_pool_each(conn, mux_dequeue_one, &d);
	*err = d.err;
	if (d.st || d.err)
		return d.st;
	if (!test_bit(AFMUX_C_ATTACHED, &conn->flags))
		*err = -ENOTCONN;
	else if (over)
		*err = -afmux_mux_err(conn) ?: -EPIPE;
	else
		*err = -EAGAIN;
	return NULL;
}

/*
 * @st, taken off @conn's accept queue, will never be accepted: refuse it
 * (RESET REFUSED_STREAM while the peer can still hear it).  Caller holds
 * conn->lock and puts the queue's reference.
 */
static void mux_refuse_queued(struct afmux_conn *conn, struct afmux_stream *st)
{
	lockdep_assert_held(&conn->lock);
	afmux_stream_set(st, AFMUX_ST_CLOSED);
	/* Out of the table (over): nothing left to tell the peer. */
	if (test_bit(AFMUX_ST_IN_TABLE, &st->flags) &&
	    !test_bit(AFMUX_C_FAILED, &conn->flags)) {
		st->reset_code = AFMUX_REFUSED_STREAM;
		afmux_stream_set(st, AFMUX_ST_RESET_WANTED);
		__afmux_tx_want(conn, st);
	}
	__afmux_stream_finish(st);
}

/*
 * Put @st back at the head of its accept queue: nothing is lost.  Its
 * connection, a link, may have been released meanwhile (a JOIN pruned
 * it): then it is refused as the release refused the others.
 */
static void requeue(struct afmux_conn *conn, struct afmux_stream *st)
{
	bool kick = false;

	spin_lock_bh(&conn->lock);
	if (test_bit(AFMUX_C_RELEASED, &conn->flags)) {
		mux_refuse_queued(conn, st);
		kick = true;
	} else if (test_bit(AFMUX_ST_IN_TABLE, &st->flags) ||
		   test_bit(AFMUX_ST_PEER_END, &st->flags)) {
		list_add(&st->accept_node, &conn->accept_q);
		afmux_stream_set(st, AFMUX_ST_ACCEPTABLE);
		conn->accept_len++;
		st = NULL;
	}
	spin_unlock_bh(&conn->lock);
	if (kick)
		afmux_tx_kick(conn);
	if (st)
		sock_put(&st->sk);
}

static int mux_accept(struct socket *sock, void __user *uarg, size_t usize)
{
	struct afmux_conn *conn = afmux_conn(sock->sk);
	struct afmux_stream *st = NULL;
	struct afmux_accept a;
	struct file *file;
	long timeo;
	u8 *key;
	int fd, err;

	err = mux_copy_arg(&a, sizeof(a), AFMUX_ACCEPT_SIZE_VER0, uarg, usize);
	if (err)
		return err;
	if (a.reserved || (a.flags & ~AFMUX_O_MASK))
		return -EINVAL;
	key = kmalloc(AFMUX_KEY_MAX, GFP_KERNEL);
	if (!key)
		return -ENOMEM;
	/*
	 * The fd and its file first, as accept(2) does: a stream taken off
	 * the queue must not be lost because they could not be had.
	 */
	fd = mux_reserve_fd(a.flags, &file);
	if (fd < 0) {
		kfree(key);
		return fd;
	}

	lock_sock(&conn->sk);
	timeo = sock_rcvtimeo(&conn->sk, sock->file->f_flags & O_NONBLOCK);
	for (;;) {
		st = dequeue(conn, &a, key, &err);
		if (st || err != -EAGAIN)
			break;
		if (!timeo)
			break;
		if (signal_pending(current)) {
			err = sock_intr_errno(timeo);
			break;
		}
		err = wait_acceptable(conn, &timeo);
		if (err)
			break;
	}
	release_sock(&conn->sk);

	if (err == -EMSGSIZE &&
	    put_user(a.key_len, (u32 __user *)(uarg +
				offsetof(struct afmux_accept, key_len))))
		err = -EFAULT;
	if (st && (copy_to_user(u64_to_user_ptr(a.key), key, a.key_len) ||
		   copy_to_user(uarg, &a, min(usize, sizeof(a))))) {
		err = -EFAULT;
		requeue(st->conn, st);
		st = NULL;
	}
	kfree(key);
	if (!st) {
		fput(file);
		put_unused_fd(fd);
		return err;
	}
	afmux_stream_graft(file, st);
	afmux_count(conn, AFMUX_MIB_STREAMS_ACCEPTED);
	trace_afmux_stream_accept(st);
	fd_install(fd, file);
	return fd;
}

static int mux_join(struct socket *sock, void __user *uarg, size_t usize)
{
	struct afmux_conn *conn = afmux_conn(sock->sk);
	struct afmux_join j;
	int err;

	err = mux_copy_arg(&j, sizeof(j), AFMUX_JOIN_SIZE_VER0, uarg, usize);
	if (err)
		return err;
	if (j.flags || j.reserved)
		return -EINVAL;
	lock_sock(&conn->sk);
	err = afmux_pool_join(conn, j.fd, sock->file->f_flags & O_NONBLOCK,
			      &j.link);
	release_sock(&conn->sk);
	if ((!err || err == -EINPROGRESS) &&
	    put_user(j.link, (u32 __user *)(uarg +
					    offsetof(struct afmux_join, link))))
		return -EFAULT;
	return err;
}

/*
 * The ioctls by number: any struct size (see uapi/linux/afmux.h), the
 * direction their first version has.
 */
static int mux_ioctl(struct socket *sock, unsigned int cmd, unsigned long arg)
{
	struct afmux_conn *conn = afmux_conn(sock->sk);
	void __user *uarg = (void __user *)arg;
	size_t usize = _IOC_SIZE(cmd);

	if (_IOC_TYPE(cmd) != _IOC_TYPE(AFMUX_IOC_ATTACH))
		return -ENOIOCTLCMD;
	switch (_IOC_NR(cmd)) {
	case _IOC_NR(AFMUX_IOC_ATTACH):
		if (_IOC_DIR(cmd) != _IOC_DIR(AFMUX_IOC_ATTACH))
			return -EINVAL;
		return mux_attach(conn, uarg, usize);
	case _IOC_NR(AFMUX_IOC_OPEN):
		if (_IOC_DIR(cmd) != _IOC_DIR(AFMUX_IOC_OPEN))
			return -EINVAL;
		return mux_open(conn, uarg, usize);
	case _IOC_NR(AFMUX_IOC_ACCEPT):
		if (_IOC_DIR(cmd) != _IOC_DIR(AFMUX_IOC_ACCEPT))
			return -EINVAL;
		return mux_accept(sock, uarg, usize);
	case _IOC_NR(AFMUX_IOC_JOIN):
		if (_IOC_DIR(cmd) != _IOC_DIR(AFMUX_IOC_JOIN))
			return -EINVAL;
		return mux_join(sock, uarg, usize);
	default:
		return -ENOIOCTLCMD;
	}
}

static __poll_t mux_poll(struct file *file, struct socket *sock,
			 poll_table *wait)
{
	struct afmux_conn *conn = afmux_conn(sock->sk);
	__poll_t mask = 0;

	sock_poll_wait(file, sock, wait);
	if (READ_ONCE(conn->sk.sk_err))
		mask |= EPOLLERR;
	if (afmux_pool_each(conn, mux_acceptable, NULL))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (afmux_mux_over(conn))
		mask |= EPOLLHUP;
	else if (afmux_pool_can_open(conn))
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

/* listen()'s backlog on the head or a link: every connection of a pool. */
static int mux_backlog_set(struct afmux_conn *c, void *arg)
{
	WRITE_ONCE(c->sk.sk_max_ack_backlog, *(int *)arg);
	return 0;
}

static int mux_listen(struct socket *sock, int backlog)
{
	struct sock *sk = sock->sk;

	backlog = clamp_t(int, backlog, 1,
			  READ_ONCE(afmux_net(sock_net(sk))->backlog));
	afmux_pool_each(afmux_conn(sk), mux_backlog_set, &backlog);
	return 0;
}

/* Copy a sockopt's struct in, as copy_struct_from_user() does. */
static int mux_copy_sockptr(void *dst, size_t ksize, sockptr_t src,
			    size_t usize)
{
	size_t size = min(ksize, usize);

	if (!sockptr_is_kernel(src))
		return copy_struct_from_user(dst, ksize, src.user, usize);
	if (usize > ksize && memchr_inv((u8 *)src.kernel + ksize, 0,
					usize - ksize))
		return -E2BIG;
	memset(dst, 0, ksize);
	memcpy(dst, src.kernel, size);
	return 0;
}

#define AFMUX_KEEPALIVE_MAX_MS	(3600 * 1000)

/* AFMUX_KEEPALIVE on the head or a link: every connection of a pool. */
static int mux_keepalive_set(struct afmux_conn *c, void *arg)
{
	const struct afmux_keepalive *ka = arg;

	spin_lock_bh(&c->lock);
	c->ka_idle = msecs_to_jiffies(ka->idle_ms);
	c->ka_timeout = msecs_to_jiffies(ka->timeout_ms);
	c->ka_sent = 0;
	spin_unlock_bh(&c->lock);
	afmux_conn_keepalive_arm(c);
	return 0;
}

static int mux_setsockopt(struct socket *sock, int level, int optname,
			  sockptr_t optval, unsigned int optlen)
{
	struct afmux_conn *conn = afmux_conn(sock->sk);
	struct afmux_keepalive ka;
	int err;

	if (level != SOL_AFMUX || optname != AFMUX_KEEPALIVE)
		return -ENOPROTOOPT;
	if (optlen < sizeof(ka.idle_ms))
		return -EINVAL;
	err = mux_copy_sockptr(&ka, sizeof(ka), optval, optlen);
	if (err)
		return err;
	if (ka.idle_ms > AFMUX_KEEPALIVE_MAX_MS ||
	    ka.timeout_ms > AFMUX_KEEPALIVE_MAX_MS)
		return -EINVAL;
	if (!ka.timeout_ms)
		ka.timeout_ms = READ_ONCE(afmux_net(sock_net(sock->sk))->
					  keepalive_timeout_ms);
	afmux_pool_each(conn, mux_keepalive_set, &ka);
	return 0;
}

/*
 * AFMUX_STATS of the head or a link, added to @arg: over a pool the
 * counters are the sums, last_error the latest link's that has one.
 */
static int mux_stats_add(struct afmux_conn *c, void *arg)
{
	const size_t mid = offsetof(struct afmux_stats, streams_active);
	const size_t tail = offsetof(struct afmux_stats, bytes_tx_by_ref);
	struct afmux_stats *sum = arg, one;
	u64 *d = (u64 *)sum, *x = (u64 *)&one;
	size_t i;

	BUILD_BUG_ON(mid % 8 || tail % 8 || tail != mid + 8 ||
		     sizeof(one) % 8);
	spin_lock_bh(&c->lock);
	one = c->stats;
	one.streams_active = c->nr_streams;
	one.rx_credit = c->rx_charged;
	spin_unlock_bh(&c->lock);
	for (i = 0; i < mid / 8; i++)
		d[i] += x[i];
	for (i = tail / 8; i < sizeof(one) / 8; i++)
		d[i] += x[i];
	sum->streams_active += one.streams_active;
	if (one.last_error)
		sum->last_error = one.last_error;
	return 0;
}

static int mux_getsockopt(struct socket *sock, int level, int optname,
			  char __user *optval, int __user *optlen)
{
	struct afmux_conn *conn = afmux_conn(sock->sk);
	union {
		struct afmux_stats stats;
		struct afmux_keepalive ka;
		struct afmux_pool_info pool;
	} u;
	unsigned int size;
	int len;

	if (level != SOL_AFMUX)
		return -ENOPROTOOPT;
	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	memset(&u, 0, sizeof(u));
	switch (optname) {
	case AFMUX_STATS:
		afmux_pool_each(conn, mux_stats_add, &u.stats);
		size = sizeof(u.stats);
		break;
	case AFMUX_KEEPALIVE:
		spin_lock_bh(&conn->lock);
		u.ka.idle_ms = jiffies_to_msecs(conn->ka_idle);
		u.ka.timeout_ms = jiffies_to_msecs(conn->ka_timeout);
		spin_unlock_bh(&conn->lock);
		size = sizeof(u.ka);
		break;
	case AFMUX_POOL:
		afmux_pool_info(conn, &u.pool);
		size = sizeof(u.pool);
		break;
	default:
		size = 0;
		break;
	}
	if (!size)
		return -ENOPROTOOPT;
	len = min_t(unsigned int, len, size);
	if (copy_to_user(optval, &u, len))
		return -EFAULT;
	return put_user(len, optlen);
}

static int mux_release(struct socket *sock)
{
	struct sock *sk = sock->sk;
	struct afmux_conn *conn;
	struct afmux_stream *st, *tmp;

	if (!sk)
		return 0;
	conn = afmux_conn(sk);

	lock_sock(sk);
	spin_lock_bh(&conn->lock);
	set_bit(AFMUX_C_RELEASED, &conn->flags);
	if (test_bit(AFMUX_C_ATTACHED, &conn->flags) &&
	    !test_bit(AFMUX_C_FAILED, &conn->flags)) {
		conn->goaway_code = AFMUX_NO_ERROR;
		set_bit(AFMUX_C_GOAWAY_WANTED, &conn->flags);
		__afmux_tx_want(conn, NULL);
	}
	/* Streams nobody accepted: refused after all. */
	list_for_each_entry_safe(st, tmp, &conn->accept_q, accept_node) {
		list_del_init(&st->accept_node);
		afmux_stream_clear(st, AFMUX_ST_ACCEPTABLE);
		conn->accept_len--;
		mux_refuse_queued(conn, st);
		sock_put(&st->sk);	/* the queue's */
	}
	spin_unlock_bh(&conn->lock);
	release_sock(sk);

	afmux_tx_kick(conn);
	afmux_conn_maybe_teardown(conn);
	afmux_pool_release(conn);
	sock_orphan(sk);
	sock->sk = NULL;
	sock_put(sk);
	return 0;
}

const struct proto_ops afmux_mux_ops = {
	.family		= AFMUX_FAMILY_DEFAULT,
	.owner		= THIS_MODULE,
	.release	= mux_release,
	.bind		= sock_no_bind,
	.connect	= sock_no_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= sock_no_accept,
	.getname	= sock_no_getname,
	.poll		= mux_poll,
	.ioctl		= mux_ioctl,
	.listen		= mux_listen,
	.shutdown	= sock_no_shutdown,
	.setsockopt	= mux_setsockopt,
	.getsockopt	= mux_getsockopt,
	.sendmsg	= sock_no_sendmsg,
	.recvmsg	= sock_no_recvmsg,
	.mmap		= sock_no_mmap,
};
