// A slow disk for the faults suite, preloaded (LD_PRELOAD) into the harness and every process it
// starts (brokers, the daemon): writes and fsyncs of files under a chosen directory are delayed,
// in the real system calls of a real JVM or Node process, while everything else runs at full speed.
//
// The rules live in the file named by KW_SLOW_DISK_CONTROL, one per line:
//   <directory> <microseconds per write> <microseconds per fsync>
// and are re-read when the file changes (checked at most every 100 ms); no file, no delays.
// Each delayed call resolves its descriptor's path through /proc/self/fd, so sockets and pipes
// (whose links are not paths) are never delayed.

#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_RULES 16
#define MAX_PATH 4096
#define RELOAD_NS 100000000L

struct rule {
  char dir[MAX_PATH];
  size_t length;
  long write_us;
  long sync_us;
};

struct rules {
  int count;
  struct rule rule[MAX_RULES];
};

static struct rules *volatile current; // replaced whole on reload; the old set is leaked (reloads are few)
static pthread_mutex_t reloading = PTHREAD_MUTEX_INITIALIZER;
static long last_check_ns;
static struct timespec last_mtime;
static off_t last_size = -1;

static long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
  return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void reload_if_due(void) {
  const char *control = getenv("KW_SLOW_DISK_CONTROL");
  if (control == NULL) return;
  long now = now_ns();
  if (now - __atomic_load_n(&last_check_ns, __ATOMIC_RELAXED) < RELOAD_NS) return;
  if (pthread_mutex_trylock(&reloading) != 0) return;
  last_check_ns = now;
  struct stat seen;
  if (stat(control, &seen) != 0) {
    if (last_size != -1) {
      current = NULL;
      last_size = -1;
    }
  } else if (seen.st_size != last_size || seen.st_mtim.tv_sec != last_mtime.tv_sec || seen.st_mtim.tv_nsec != last_mtime.tv_nsec) {
    struct rules *next = calloc(1, sizeof *next);
    FILE *file = next ? fopen(control, "r") : NULL;
    if (file != NULL) {
      char line[MAX_PATH + 64];
      while (next->count < MAX_RULES && fgets(line, sizeof line, file) != NULL) {
        struct rule *rule = &next->rule[next->count];
        if (sscanf(line, "%4095s %ld %ld", rule->dir, &rule->write_us, &rule->sync_us) == 3) {
          rule->length = strlen(rule->dir);
          next->count++;
        }
      }
      fclose(file);
      current = next->count > 0 ? next : NULL;
      last_size = seen.st_size;
      last_mtime = seen.st_mtim;
    }
  }
  pthread_mutex_unlock(&reloading);
}

/** The rule whose directory holds fd's file, or NULL. */
static const struct rule *rule_for(int fd) {
  reload_if_due();
  struct rules *rules = current;
  if (rules == NULL) return NULL;
  char link[64], path[MAX_PATH];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t length = readlink(link, path, sizeof path - 1);
  if (length <= 0) return NULL;
  path[length] = '\0';
  for (int i = 0; i < rules->count; i++) {
    const struct rule *rule = &rules->rule[i];
    if (strncmp(path, rule->dir, rule->length) == 0 && (path[rule->length] == '/' || path[rule->length] == '\0')) return rule;
  }
  return NULL;
}

static void delay_write(int fd) {
  const struct rule *rule = rule_for(fd);
  if (rule != NULL && rule->write_us > 0) usleep((useconds_t)rule->write_us);
}

static void delay_sync(int fd) {
  const struct rule *rule = rule_for(fd);
  if (rule != NULL && rule->sync_us > 0) usleep((useconds_t)rule->sync_us);
}

#define NEXT(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

ssize_t write(int fd, const void *buffer, size_t count) {
  static __typeof__(&write) real;
  if (!real) real = NEXT(write);
  delay_write(fd);
  return real(fd, buffer, count);
}

ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) {
  static __typeof__(&pwrite) real;
  if (!real) real = NEXT(pwrite);
  delay_write(fd);
  return real(fd, buffer, count, offset);
}

ssize_t pwrite64(int fd, const void *buffer, size_t count, off64_t offset) {
  static __typeof__(&pwrite64) real;
  if (!real) real = NEXT(pwrite64);
  delay_write(fd);
  return real(fd, buffer, count, offset);
}

ssize_t writev(int fd, const struct iovec *vector, int count) {
  static __typeof__(&writev) real;
  if (!real) real = NEXT(writev);
  delay_write(fd);
  return real(fd, vector, count);
}

ssize_t pwritev(int fd, const struct iovec *vector, int count, off_t offset) {
  static __typeof__(&pwritev) real;
  if (!real) real = NEXT(pwritev);
  delay_write(fd);
  return real(fd, vector, count, offset);
}

ssize_t pwritev64(int fd, const struct iovec *vector, int count, off64_t offset) {
  static __typeof__(&pwritev64) real;
  if (!real) real = NEXT(pwritev64);
  delay_write(fd);
  return real(fd, vector, count, offset);
}

int fsync(int fd) {
  static __typeof__(&fsync) real;
  if (!real) real = NEXT(fsync);
  delay_sync(fd);
  return real(fd);
}

int fdatasync(int fd) {
  static __typeof__(&fdatasync) real;
  if (!real) real = NEXT(fdatasync);
  delay_sync(fd);
  return real(fd);
}
