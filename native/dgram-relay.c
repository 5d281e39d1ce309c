/*
 * kafka-wire daemon: the UNIX datagram input. Node cannot open an AF_UNIX SOCK_DGRAM socket, so
 * this small process binds it and hands each datagram to the daemon over its stdout pipe:
 *   uint32 length (big-endian), then the datagram's bytes;
 *   or, for a datagram larger than max_bytes, uint32 0xffffffff then uint32 its real size.
 * It blocks on a full pipe, so a slow daemon makes senders wait (or get EAGAIN) instead of the
 * kernel dropping datagrams: Linux does not drop UNIX datagrams, it refuses to queue more.
 * It dies with the daemon (PR_SET_PDEATHSIG) and when the pipe closes (EPIPE).
 * Usage: dgram-relay PATH MAX_BYTES RCVBUF_BYTES. Exit codes: 2 usage, 3 path in use, 4 socket error.
 * Startup reports "ready rcvbuf=N" on stderr once bound.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int write_all(const unsigned char *data, size_t length) {
  while (length > 0) {
    ssize_t n = write(STDOUT_FILENO, data, length);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data += n;
    length -= (size_t)n;
  }
  return 0;
}

static void put_u32(unsigned char *at, uint32_t value) {
  at[0] = (unsigned char)(value >> 24);
  at[1] = (unsigned char)(value >> 16);
  at[2] = (unsigned char)(value >> 8);
  at[3] = (unsigned char)value;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: dgram-relay PATH MAX_BYTES RCVBUF_BYTES\n");
    return 2;
  }
  const char *path = argv[1];
  long max_bytes = strtol(argv[2], NULL, 10);
  int rcvbuf = (int)strtol(argv[3], NULL, 10);
  struct sockaddr_un address;
  if (max_bytes < 8 || strlen(path) >= sizeof(address.sun_path)) {
    fprintf(stderr, "bad arguments: path must be shorter than %zu bytes, max bytes at least 8\n", sizeof(address.sun_path));
    return 2;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 0; /* the daemon is already gone */
  signal(SIGPIPE, SIG_IGN);

  memset(&address, 0, sizeof(address));
  address.sun_family = AF_UNIX;
  strcpy(address.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fprintf(stderr, "socket: %s\n", strerror(errno));
    return 4;
  }
  if (bind(fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
    if (errno != EADDRINUSE) {
      fprintf(stderr, "bind %s: %s\n", path, strerror(errno));
      return 4;
    }
    /* A socket file is there: in use if something receives on it, else left by a process that died. */
    int probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (probe >= 0 && connect(probe, (struct sockaddr *)&address, sizeof(address)) == 0) {
      fprintf(stderr, "%s is in use: another process receives datagrams on it\n", path);
      return 3;
    }
    if (probe >= 0) close(probe);
    if (unlink(path) < 0 || bind(fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
      fprintf(stderr, "bind %s: %s\n", path, strerror(errno));
      return 4;
    }
  }
  /* As large as allowed (root may pass net.core.rmem_max). */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  }
  int actual = 0;
  socklen_t actual_length = sizeof(actual);
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &actual, &actual_length);
  fprintf(stderr, "ready rcvbuf=%d\n", actual);

  /* Datagrams are gathered while more are waiting (up to BATCH_BYTES), then written in one go:
     a write per datagram would cost as much as the rest of the relay. */
  const size_t BATCH_BYTES = 1 << 20;
  size_t capacity = BATCH_BYTES + (size_t)max_bytes + 8;
  unsigned char *buffer = malloc(capacity);
  if (buffer == NULL) return 4;
  for (;;) {
    size_t used = 0;
    int flags = 0; /* the first receive waits; the rest only take what is already queued */
    while (used < BATCH_BYTES) {
      ssize_t n = recv(fd, buffer + used + 4, (size_t)max_bytes, MSG_TRUNC | flags);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        fprintf(stderr, "recv: %s\n", strerror(errno));
        return 4;
      }
      flags = MSG_DONTWAIT;
      if (n > max_bytes) {
        put_u32(buffer + used, 0xffffffffu);
        put_u32(buffer + used + 4, (uint32_t)n);
        used += 8;
        continue;
      }
      put_u32(buffer + used, (uint32_t)n);
      used += (size_t)n + 4;
    }
    if (write_all(buffer, used) < 0) return 0;
  }
}
