#include "cmd/daemon/chan.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int bv_chan_send(int sock, const struct bv_chan_msg *msg, int fd, int nonblock)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		ctl.h.cmsg_level = SOL_SOCKET;
		ctl.h.cmsg_type = SCM_RIGHTS;
		ctl.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&ctl.h), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL | (nonblock ? MSG_DONTWAIT : 0));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(*msg) ? 0 : -EIO;
}

int bv_chan_send_text(int sock, enum bv_chan_type type, uint32_t arg, const char *text,
		      int nonblock)
{
	struct bv_chan_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = type;
	msg.arg = arg;
	if (text) {
		size_t n = strnlen(text, sizeof(msg.text) - 1);

		memcpy(msg.text, text, n);
	}
	return bv_chan_send(sock, &msg, -1, nonblock);
}

int bv_chan_recv(int sock, struct bv_chan_msg *msg, int *fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} ctl;
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	int got = -1;
	ssize_t n;

	if (fd)
		*fd = -1;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	/* Whatever fds came along are taken out of the message before anything else, so a
	 * bad record cannot leak one. */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t off = 0; off + sizeof(int) <= c->cmsg_len - CMSG_LEN(0);
		     off += sizeof(int)) {
			int one;

			memcpy(&one, CMSG_DATA(c) + off, sizeof(int));
			if (got < 0 && fd)
				got = one;
			else
				close(one);
		}
	}
	if (n != (ssize_t)sizeof(*msg) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    msg->type < BV_CHAN_LOG || msg->type > BV_CHAN_STOP) {
		if (got >= 0)
			close(got);
		return -EBADMSG;
	}
	msg->s1[sizeof(msg->s1) - 1] = '\0';
	msg->s2[sizeof(msg->s2) - 1] = '\0';
	msg->text[sizeof(msg->text) - 1] = '\0';
	if (fd)
		*fd = got;
	return 1;
}
