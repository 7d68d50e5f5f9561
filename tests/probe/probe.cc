// ocelot-probe: a static program the integration tests copy into a container's rootfs. It reports
// from inside what the kernel really gave the process, one "key: value" line each, and has small
// actions (read/write/open a path, allocate memory, fork, sleep, exit with a code) that tests use
// to check limits and protections. No libc is needed in the rootfs.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static void print_file_lines(const char* path, const char* const* keys) {
  FILE* f = fopen(path, "r");
  if (!f) return;
  char line[4096];
  while (fgets(line, sizeof line, f))
    for (const char* const* k = keys; *k; ++k)
      if (strncmp(line, *k, strlen(*k)) == 0 && line[strlen(*k)] == ':') fputs(line, stdout);
  fclose(f);
}

static void report() {
  static const char* const ns[] = {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts", nullptr};
  for (const char* const* n = ns; *n; ++n) {
    char path[64], target[128];
    snprintf(path, sizeof path, "/proc/self/ns/%s", *n);
    ssize_t len = readlink(path, target, sizeof target - 1);
    if (len > 0) {
      target[len] = 0;
      printf("ns.%s: %s\n", *n, target);
    }
  }
  static const char* const keys[] = {"Uid",    "Gid",    "Groups",     "CapInh",  "CapPrm", "CapEff",
                                     "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Umask",  nullptr};
  print_file_lines("/proc/self/status", keys);
  printf("pid: %d\n", getpid());
  static const struct {
    const char* name;
    int res;
  } rl[] = {{"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_CORE", RLIMIT_CORE},
            {"RLIMIT_STACK", RLIMIT_STACK},   {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_CPU", RLIMIT_CPU}};
  for (auto& r : rl) {
    struct rlimit l;
    getrlimit(r.res, &l);
    printf("rlimit.%s: %llu %llu\n", r.name, (unsigned long long)l.rlim_cur, (unsigned long long)l.rlim_max);
  }
  struct utsname u;
  uname(&u);
  printf("hostname: %s\n", u.nodename);
  printf("domainname: %s\n", u.domainname);
  printf("kernel: %s\n", u.release);
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd)) printf("cwd: %s\n", cwd);
  printf("no_new_privs: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
  printf("dumpable: %d\n", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
  for (char** e = environ; *e; ++e) printf("env: %s\n", *e);
  DIR* d = opendir("/proc/self/fd");
  if (d) {
    int dfd = dirfd(d);
    while (struct dirent* e = readdir(d)) {
      if (e->d_name[0] == '.' || atoi(e->d_name) == dfd) continue;
      char path[300], target[4096];
      snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
      ssize_t len = readlink(path, target, sizeof target - 1);
      target[len > 0 ? len : 0] = 0;
      printf("fd: %s %s\n", e->d_name, target);
    }
    closedir(d);
  }
  FILE* m = fopen("/proc/self/mountinfo", "r");
  if (m) {
    char line[4096];
    while (fgets(line, sizeof line, m)) printf("mount: %s", line);
    fclose(m);
  }
}

static int usage() {
  fputs(
      "usage: ocelot-probe report | read PATH | write PATH | open PATH | exists PATH | alloc MIB | fork N |"
      " sleep SECS | exit CODE | echo WORDS... | cat | syscall NR | exes\n",
      stderr);
  return 2;
}

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const char* cmd = argv[1];
  const char* arg = argc > 2 ? argv[2] : "";
  if (!strcmp(cmd, "report")) {
    report();
    return 0;
  }
  if (!strcmp(cmd, "read") || !strcmp(cmd, "write") || !strcmp(cmd, "open")) {
    int flags = !strcmp(cmd, "write") ? O_WRONLY : O_RDONLY;
    int fd = open(arg, flags | O_CLOEXEC);
    if (fd < 0) {
      printf("%s %s: errno %d %s\n", cmd, arg, errno, strerror(errno));
      return 1;
    }
    if (!strcmp(cmd, "read")) {
      char buf[256];
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0) {
        printf("read %s: errno %d %s\n", arg, errno, strerror(errno));
        return 1;
      }
      printf("read %s: %zd bytes\n", arg, n);
    } else if (!strcmp(cmd, "write")) {
      ssize_t n = write(fd, "1", 1);
      if (n < 0) {
        printf("write %s: errno %d %s\n", arg, errno, strerror(errno));
        return 1;
      }
      printf("write %s: ok\n", arg);
    } else {
      printf("open %s: ok\n", arg);
    }
    return 0;
  }
  if (!strcmp(cmd, "exes")) {
    // Every other process we can see: what its /proc/PID/exe points at, and whether it opens
    // for writing (CVE-2019-5736: the runtime's binary must never be reachable that way).
    DIR* d = opendir("/proc");
    if (!d) return 1;
    while (struct dirent* e = readdir(d)) {
      int pid = atoi(e->d_name);
      if (pid <= 0 || pid == getpid()) continue;
      char link[64], target[4096];
      snprintf(link, sizeof link, "/proc/%d/exe", pid);
      ssize_t n = readlink(link, target, sizeof target - 1);
      if (n < 0) {
        printf("exe %d: errno %d\n", pid, errno);
        continue;
      }
      target[n] = 0;
      int fd = open(link, O_WRONLY | O_CLOEXEC);
      printf("exe %d %s: %s\n", pid, target, fd >= 0 ? "writable" : strerror(errno));
      if (fd >= 0) close(fd);
    }
    closedir(d);
    return 0;
  }
  if (!strcmp(cmd, "exists")) {
    struct stat st;
    if (lstat(arg, &st) != 0) {
      printf("exists %s: no\n", arg);
      return 1;
    }
    printf("exists %s: mode %o uid %u gid %u rdev %u:%u\n", arg, st.st_mode, st.st_uid, st.st_gid, major(st.st_rdev),
           minor(st.st_rdev));
    return 0;
  }
  if (!strcmp(cmd, "alloc")) {
    size_t mib = strtoull(arg, nullptr, 10);
    for (size_t i = 0; i < mib; ++i) {
      char* p = (char*)mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) {
        printf("alloc failed at %zu MiB\n", i);
        return 1;
      }
      memset(p, 1, 1 << 20);
    }
    printf("allocated %zu MiB\n", mib);
    return 0;
  }
  if (!strcmp(cmd, "fork")) {
    int n = atoi(arg), made = 0;
    for (int i = 0; i < n; ++i) {
      pid_t p = fork();
      if (p < 0) break;
      if (p == 0) {
        pause();
        _exit(0);
      }
      ++made;
    }
    printf("forked %d of %d\n", made, n);
    fflush(stdout);
    kill(0, SIGKILL);
    return 0;
  }
  if (!strcmp(cmd, "syscall")) {  // raw syscall NR with zero arguments: what does the filter say?
    long nr = atol(arg);
    errno = 0;
    long r = syscall(nr, 0, 0, 0, 0, 0, 0);
    printf("syscall %ld: ret %ld errno %d\n", nr, r, r < 0 ? errno : 0);
    return 0;
  }
  if (!strcmp(cmd, "sleep")) {
    sleep((unsigned)atoi(arg));
    return 0;
  }
  if (!strcmp(cmd, "exit")) return atoi(arg);
  if (!strcmp(cmd, "echo")) {
    for (int i = 2; i < argc; ++i) printf("%s%s", argv[i], i + 1 < argc ? " " : "\n");
    return 0;
  }
  if (!strcmp(cmd, "cat")) {
    char buf[4096];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)n, stdout);
    return 0;
  }
  return usage();
}
