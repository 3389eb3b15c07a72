/* See cpapi.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cpapi.h"

#define REPLY_MAX (64u << 20)

static int connect_to(const char *sock, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };
	int fd;

	if (strlen(sock) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", sock);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		snprintf(
			err, errlen,
			"weir-cp is not running (no API at %s: %s); start it with 'weir-cp run'",
			sock, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k <= 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Reads until the peer closes (Connection: close). */
static char *read_all(int fd, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);

	while (buf) {
		ssize_t k;

		if (n + 1 >= cap) {
			char *nb = cap < REPLY_MAX ? realloc(buf, cap * 2) :
						     NULL;

			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		k = recv(fd, buf + n, cap - n - 1, 0);
		if (k < 0) {
			free(buf);
			return NULL;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (buf)
		buf[n] = 0;
	*len = n;
	return buf;
}

int cpapi_call(const char *sock, const char *method, const char *path,
	       const char *body, size_t len, int *status, char **reply,
	       char *err, size_t errlen)
{
	char head[1024], *raw, *sep;
	int fd = connect_to(sock, err, errlen), n;
	size_t rlen = 0;

	if (fd < 0)
		return fd;
	n = snprintf(head, sizeof(head),
		     "%s %s HTTP/1.1\r\nHost: weir\r\nConnection: close\r\n"
		     "Content-Length: %zu\r\n\r\n",
		     method, path, body ? len : 0);
	if (n < 0 || (size_t)n >= sizeof(head) ||
	    send_all(fd, head, (size_t)n) ||
	    (body && send_all(fd, body, len))) {
		snprintf(err, errlen, "weir-cp at %s: cannot send the request",
			 sock);
		close(fd);
		return -EIO;
	}
	raw = read_all(fd, &rlen);
	close(fd);
	sep = raw ? strstr(raw, "\r\n\r\n") : NULL;
	if (!raw || sscanf(raw, "HTTP/1.%*d %d", status) != 1 || !sep) {
		snprintf(err, errlen,
			 "weir-cp at %s: no HTTP answer (timed out?)", sock);
		free(raw);
		return -EPROTO;
	}
	*reply = strdup(sep + 4);
	free(raw);
	return *reply ? 0 : -ENOMEM;
}
