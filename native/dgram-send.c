/*
 * kafka-wire DaemonClient: the sending side of the daemon's UNIX datagram input. Node cannot open
 * an AF_UNIX SOCK_DGRAM socket, so the client writes Dory messages to this process's stdin and it
 * sends each as one datagram. A Dory message starts with its own size (int32, big-endian), which
 * is how the stream is split. Sends block while the receiver's queue is full, so the pipe fills
 * and the client's writes report back-pressure instead of datagrams being dropped.
 * Usage: dgram-send PATH. Startup reports "ready max=N" on stderr once connected (N: the largest
 * datagram the socket can send). Exit codes: 0 stdin ended and everything was sent, 2 usage,
 * 3 nothing receives on PATH, 4 socket error, 5 malformed input.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The header of a Dory message: size, api key, api version. */
#define HEADER_BYTES 8
/* Asked for as the socket's send buffer; the largest datagram is a little below it. */
#define SEND_BUFFER_BYTES (4 << 20)

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: dgram-send PATH\n");
    return 2;
  }
  struct sockaddr_un address;
  if (strlen(argv[1]) >= sizeof(address.sun_path)) {
    fprintf(stderr, "the path must be shorter than %zu bytes\n", sizeof(address.sun_path));
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  memset(&address, 0, sizeof(address));
  address.sun_family = AF_UNIX;
  strcpy(address.sun_path, argv[1]);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fprintf(stderr, "socket: %s\n", strerror(errno));
    return 4;
  }
  if (connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
    int nobody = errno == ENOENT || errno == ECONNREFUSED;
    fprintf(stderr, "connect %s: %s\n", argv[1], strerror(errno));
    return nobody ? 3 : 4;
  }
  int wanted = SEND_BUFFER_BYTES;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &wanted, sizeof(wanted)) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &wanted, sizeof(wanted));
  }
  int granted = 0;
  socklen_t granted_length = sizeof(granted);
  getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &granted, &granted_length);
  /* The kernel refuses a datagram above the send buffer less its own bookkeeping; keep well clear of it. */
  long max_bytes = granted / 2;
  fprintf(stderr, "ready max=%ld\n", max_bytes);

  size_t capacity = (size_t)max_bytes + (1 << 16);
  unsigned char *buffer = malloc(capacity);
  if (buffer == NULL) return 4;
  size_t used = 0;
  for (;;) {
    ssize_t n = read(STDIN_FILENO, buffer + used, capacity - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "read: %s\n", strerror(errno));
      return 4;
    }
    if (n == 0) {
      if (used == 0) return 0;
      fprintf(stderr, "stdin ended inside a message (%zu bytes left)\n", used);
      return 5;
    }
    used += (size_t)n;
    size_t at = 0;
    while (used - at >= 4) {
      const unsigned char *m = buffer + at;
      uint32_t size = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
      if (size < HEADER_BYTES || size > (uint32_t)max_bytes) {
        fprintf(stderr, "a message of %u bytes: not between %d and %ld\n", size, HEADER_BYTES, max_bytes);
        return 5;
      }
      if (used - at < size) break;
      while (send(fd, m, size, 0) < 0) {
        if (errno == EINTR) continue;
        fprintf(stderr, "send: %s\n", strerror(errno));
        return 4;
      }
      at += size;
    }
    memmove(buffer, buffer + at, used - at);
    used -= at;
  }
}
