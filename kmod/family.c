// SPDX-License-Identifier: GPL-2.0
/*
 * family.c - the AF_MUX address family: registration and socket creation.
 *
 * socket(AF_MUX, SOCK_STREAM, 0) creates a mux socket.  The family number
 * is chosen at load time (see main.c): afmux_family_register() records
 * it in afmux_family_nr, which sockets take as their sk_family.  The
 * proto_ops table names the default number only as a label.
 */
#include <linux/module.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <net/sock.h>
#include <linux/afmux.h>

#include "afmux.h"

static struct proto afmux_proto = {
	.name		= "AF_MUX",
	.owner		= THIS_MODULE,
	.obj_size	= sizeof(struct sock),
};

static int afmux_release(struct socket *sock)
{
	struct sock *sk = sock->sk;

	if (!sk)
		return 0;
	sock_orphan(sk);
	sock->sk = NULL;
	sock_put(sk);
	return 0;
}

/* Set once by afmux_family_register(); 0 while unregistered. */
static int afmux_family_nr;

static const struct proto_ops afmux_mux_ops = {
	.family		= AFMUX_FAMILY_DEFAULT,
	.owner		= THIS_MODULE,
	.release	= afmux_release,
	.bind		= sock_no_bind,
	.connect	= sock_no_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= sock_no_accept,
	.getname	= sock_no_getname,
	.poll		= datagram_poll,
	.ioctl		= sock_no_ioctl,
	.listen		= sock_no_listen,
	.shutdown	= sock_no_shutdown,
	.sendmsg	= sock_no_sendmsg,
	.recvmsg	= sock_no_recvmsg,
	.mmap		= sock_no_mmap,
};

static int afmux_create(struct net *net, struct socket *sock, int protocol,
			int kern)
{
	struct sock *sk;

	if (sock->type != SOCK_STREAM)
		return -ESOCKTNOSUPPORT;
	if (protocol != 0)
		return -EPROTONOSUPPORT;

	sk = sk_alloc(net, afmux_family_nr, GFP_KERNEL, &afmux_proto,
		      kern);
	if (!sk)
		return -ENOMEM;
	sock->ops = &afmux_mux_ops;
	sock_init_data(sock, sk);
	return 0;
}

static struct net_proto_family afmux_family_ops __ro_after_init = {
	/* .family is set by afmux_family_register() */
	.create	= afmux_create,
	.owner	= THIS_MODULE,
};

/**
 * afmux_family_check - is @family a number sock_register() could accept?
 * @family: candidate address family number
 *
 * Return: 0, or -EINVAL for AF_UNSPEC, negative numbers and numbers at or
 * above NPROTO.  Whether the number is free is only known to
 * sock_register().
 */
int afmux_family_check(int family)
{
	if (family <= AF_UNSPEC || family >= NPROTO)
		return -EINVAL;
	return 0;
}

/**
 * afmux_family_register - register AF_MUX under number @family
 * @family: a number accepted by afmux_family_check()
 *
 * Context: module init only (writes __ro_after_init data).
 * Return: 0, -EEXIST if @family belongs to another protocol, or another
 * negative errno.
 */
int afmux_family_register(int family)
{
	int err;

	afmux_family_ops.family = family;

	err = proto_register(&afmux_proto, 1);
	if (err)
		return err;
	afmux_family_nr = family;
	err = sock_register(&afmux_family_ops);
	if (err)
		goto err_proto_unregister;
	return 0;

err_proto_unregister:
	afmux_family_nr = 0;
	proto_unregister(&afmux_proto);
	return err;
}

void afmux_family_unregister(int family)
{
	sock_unregister(family);
	afmux_family_nr = 0;
	proto_unregister(&afmux_proto);
}

#ifdef AFMUX_KUNIT
#include "test/family-test.c"
#endif
