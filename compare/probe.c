/* ocelot-compare-probe: what `ocelot compare` runs inside a container and inside a VM to measure
 * the workload's own costs there, so the user's rootfs needs no tools. Static, no libraries
 * beyond libc; it is bind-mounted read-only into the run and prints "key value" lines:
 *
 *   start_ns         CLOCK_REALTIME at main() (the host subtracts its launch time: boot cost)
 *   kernel_release   uname -r; kernel_version: uname -v; machine: uname -m
 *   syscall_ns       one getppid() round trip
 *   tmpfs_write_mbs, tmpfs_read_mbs     16 MiB through a file on the tmpfs given as argv[2]
 *   rootfs_write_mbs, rootfs_read_mbs   the same in "/" (written, fsync'ed, read, removed),
 *                                       or rootfs_io "read-only" when "/" is read-only
 *   fork_exec_per_s  fork + execve of this program (a static binary) + wait
 *   cpu_mops         a CPU-bound loop (xorshift steps, millions per second)
 *   net_rtt_us       one byte over TCP and back to HOST_ADDR:7001 (an echo server), when given
 *   net_mbs          32 MiB over TCP to HOST_ADDR:7002 (a sink that answers one byte at the end)
 *
 * usage: ocelot-compare-probe measure TMPFS_DIR [HOST_ADDR] | noop | sleep SECS */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define IO_MIB 16

/* Writes IO_MIB MiB to PATH (fsync'ed), reads it back, removes it. 0, or an errno. */
static int file_io(const char* path, double* write_mbs, double* read_mbs) {
  static char buf[1 << 20];
  memset(buf, 'o', sizeof buf);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  double t = now_s();
  for (int i = 0; i < IO_MIB; ++i) {
    if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) {
      int e = errno;
      close(fd);
      unlink(path);
      return e ? e : EIO;
    }
  }
  fsync(fd);
  *write_mbs = IO_MIB / (now_s() - t);
  close(fd);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  t = now_s();
  while (read(fd, buf, sizeof buf) > 0) {
  }
  *read_mbs = IO_MIB / (now_s() - t);
  close(fd);
  unlink(path);
  return 0;
}

/* Millions of xorshift64 steps per second, for 200 ms: the guest's vCPU against the host's CPU. */
static void cpu_loop(void) {
  volatile unsigned long long sink;
  unsigned long long x = 88172645463325252ULL;
  long n = 0;
  double t0 = now_s(), t;
  do {
    for (int i = 0; i < 1000000; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
    }
    n += 1000000;
    t = now_s();
  } while (t - t0 < 0.2);
  sink = x;
  (void)sink;
  printf("cpu_mops %.1f\n", (double)n / (t - t0) / 1e6);
}

static int tcp_connect(const char* addr, int port) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) return -1;
  for (int tries = 0; tries < 50; ++tries) { /* a guest's NIC may take a moment to carry frames */
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    if (connect(s, (struct sockaddr*)&sa, sizeof sa) == 0) {
      int one = 1;
      setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return s;
    }
    close(s);
    usleep(100000);
  }
  return -1;
}

/* Round trips of one byte, for 200 ms and at least 20; then 32 MiB one way. */
static void net(const char* addr) {
  int s = tcp_connect(addr, 7001);
  if (s < 0) {
    printf("net %s\n", strerror(errno));
    return;
  }
  char c = 'o';
  long n = 0;
  double t0 = now_s(), t;
  do {
    if (write(s, &c, 1) != 1 || read(s, &c, 1) != 1) break;
    ++n;
    t = now_s();
  } while (t - t0 < 0.2 || n < 20);
  close(s);
  if (n) printf("net_rtt_us %.1f\n", (t - t0) * 1e6 / (double)n);
  s = tcp_connect(addr, 7002);
  if (s < 0) return;
  static char buf[1 << 16];
  memset(buf, 'o', sizeof buf);
  long left = 32L << 20;
  t0 = now_s();
  while (left > 0) {
    ssize_t w = write(s, buf, sizeof buf);
    if (w <= 0) break;
    left -= w;
  }
  shutdown(s, SHUT_WR);
  if (left <= 0 && read(s, &c, 1) == 1) printf("net_mbs %.1f\n", 32.0 / (now_s() - t0));
  close(s);
}

int main(int argc, char** argv) {
  struct timespec start;
  clock_gettime(CLOCK_REALTIME, &start);
  if (argc >= 2 && !strcmp(argv[1], "noop")) return 0;
  if (argc >= 3 && !strcmp(argv[1], "sleep")) {
    sleep((unsigned)atoi(argv[2]));
    return 0;
  }
  if (argc < 3 || strcmp(argv[1], "measure")) {
    fputs("usage: ocelot-compare-probe measure TMPFS_DIR [HOST_ADDR] | noop | sleep SECS\n", stderr);
    return 2;
  }
  printf("start_ns %lld\n", (long long)start.tv_sec * 1000000000LL + start.tv_nsec);
  struct utsname u;
  if (uname(&u) == 0) printf("kernel_release %s\nkernel_version %s\nmachine %s\n", u.release, u.version, u.machine);

  /* Syscalls: in batches until 100 ms have passed (TCG is 10-100x slower than native). */
  long n = 0;
  double t0 = now_s(), t;
  do {
    for (int i = 0; i < 1000; ++i) getppid();
    n += 1000;
    t = now_s();
  } while (t - t0 < 0.1);
  printf("syscall_ns %.1f\n", (t - t0) * 1e9 / (double)n);

  double w, r;
  char path[4096];
  snprintf(path, sizeof path, "%s/ocelot-compare-io", argv[2]);
  if (file_io(path, &w, &r) == 0) printf("tmpfs_write_mbs %.1f\ntmpfs_read_mbs %.1f\n", w, r);
  int e = file_io("/.ocelot-compare-io", &w, &r);
  if (e == 0)
    printf("rootfs_write_mbs %.1f\nrootfs_read_mbs %.1f\n", w, r);
  else
    printf("rootfs_io %s\n", e == EROFS ? "read-only" : strerror(e));

  /* Process creation: fork + exec of ourselves + wait, until 200 ms and at least 5. */
  n = 0;
  t0 = now_s();
  do {
    pid_t p = fork();
    if (p == 0) {
      execl("/proc/self/exe", argv[0], "noop", (char*)NULL);
      _exit(127);
    }
    if (p < 0) break;
    int st;
    waitpid(p, &st, 0);
    ++n;
    t = now_s();
  } while (t - t0 < 0.2 || n < 5);
  printf("fork_exec_per_s %.1f\n", (double)n / (t - t0));
  cpu_loop();
  if (argc >= 4) net(argv[3]);
  return 0;
}
