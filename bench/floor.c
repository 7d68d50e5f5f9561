// The floor: the least work any runtime must do to start `ocelot spec`'s config on this host, and
// nothing else. No config parsing, no state, no error reporting beyond a message, no seccomp, no
// masked paths: a yardstick for bench/startup.sh, not a runtime.
//   clone with the spec's six namespaces; join a new cgroup in every hierarchy the host mounts
//   under /sys/fs/cgroup (v1, named and cgroup2); the default mounts (proc, /dev tmpfs, devpts,
//   shm, mqueue, sysfs, the cgroup tree); bind the six default devices; pivot_root; sethostname;
//   exec. The parent waits and removes the cgroups.
//   usage: floor ROOTFS PROGRAM [ARGS...]
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CG "/sys/fs/cgroup"

static char cgroups[16][512];
static int ncgroups;
static const char* rootfs;
static char** argv_child;
static int go[2];

static pid_t child_pid;

static void die(const char* what) {
  fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
  _exit(1);
}

// In the parent: nothing left behind on failure.
static void die_parent(const char* what) {
  int saved = errno;
  if (child_pid > 0) {
    kill(child_pid, SIGKILL);
    waitpid(child_pid, NULL, 0);
  }
  for (int i = 0; i < ncgroups; i++) rmdir(cgroups[i]);
  errno = saved;
  die(what);
}

// cpuset refuses tasks until cpus and mems are set; copy them from the parent, as runtimes do.
static void copy_from_parent(const char* cgroup, const char* file) {
  char src[600], dst[600], buf[256];
  snprintf(src, sizeof src, "%s/../%s", cgroup, file);
  snprintf(dst, sizeof dst, "%s/%s", cgroup, file);
  int fd = open(src, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  if (n < 0) die_parent(src);
  close(fd);
  buf[n] = 0;
  fd = open(dst, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, buf, n) < 0) die_parent(dst);
  close(fd);
}

static void mnt(const char* src, const char* dst, const char* type, unsigned long flags, const char* data) {
  if (mount(src, dst, type, flags, data) != 0) die(dst);
}

// Runs in the child: waits until the parent has put it into its cgroups, then builds the root.
static int child(void* arg) {
  (void)arg;
  char c;
  close(go[1]);
  if (read(go[0], &c, 1) != 1) die("sync");
  if (unshare(CLONE_NEWCGROUP) != 0) die("cgroup namespace");
  mnt(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  mnt(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL);
  if (chdir(rootfs) != 0) die(rootfs);
  mnt("proc", "proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
  mnt("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
  mkdir("dev/pts", 0755);
  mnt("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  mkdir("dev/shm", 01777);
  mnt("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=1777,size=65536k");
  mkdir("dev/mqueue", 0755);
  mnt("mqueue", "dev/mqueue", "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
  mnt("sysfs", "sys", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, NULL);
  // The cgroup tree as the container sees it: a tmpfs holding each hierarchy, read-only.
  mnt("tmpfs", "sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=755");
  for (int i = 0; i < ncgroups; i++) {
    char hier[512], dst[600];  // /sys/fs/cgroup/<hierarchy>/floor-N -> <hierarchy>
    memcpy(hier, cgroups[i], sizeof hier);
    *strrchr(hier, '/') = 0;
    const char* name = strrchr(hier, '/') + 1;
    snprintf(dst, sizeof dst, "sys/fs/cgroup/%s", name);
    mkdir(dst, 0755);
    if (strcmp(name, "unified") == 0)
      mnt("cgroup2", dst, "cgroup2", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, NULL);
    else if (strcmp(name, "systemd") == 0)
      mnt("cgroup", dst, "cgroup", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, "none,name=systemd");
    else
      mnt("cgroup", dst, "cgroup", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, name);
  }
  mnt(NULL, "sys/fs/cgroup", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
  static const char* devices[] = {"null", "zero", "full", "random", "urandom", "tty"};
  for (int i = 0; i < 6; i++) {
    char src[64], dst[64];
    snprintf(src, sizeof src, "/dev/%s", devices[i]);
    snprintf(dst, sizeof dst, "dev/%s", devices[i]);
    int fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) die(dst);
    close(fd);
    mnt(src, dst, NULL, MS_BIND, NULL);
  }
  if (syscall(SYS_pivot_root, ".", ".") != 0) die("pivot_root");
  if (umount2(".", MNT_DETACH) != 0) die("umount old root");
  if (chdir("/") != 0) die("chdir");
  if (sethostname("floor", 5) != 0) die("sethostname");
  execvp(argv_child[0], argv_child);
  die(argv_child[0]);
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: floor ROOTFS PROGRAM [ARGS...]\n");
    return 2;
  }
  rootfs = argv[1];
  argv_child = argv + 2;
  // One new cgroup in every hierarchy under /sys/fs/cgroup (comounts such as cpu,cpuacct are
  // symlinks and are skipped).
  DIR* d = opendir(CG);
  if (!d) die(CG);
  struct dirent* e;
  while ((e = readdir(d)) && ncgroups < 16) {
    if (e->d_name[0] == '.' || e->d_type != DT_DIR) continue;
    snprintf(cgroups[ncgroups], sizeof cgroups[0], CG "/%s/floor-%d", e->d_name, getpid());
    if (mkdir(cgroups[ncgroups], 0755) != 0) die_parent(cgroups[ncgroups]);
    ncgroups++;
    if (strcmp(e->d_name, "cpuset") == 0) {
      copy_from_parent(cgroups[ncgroups - 1], "cpuset.cpus");
      copy_from_parent(cgroups[ncgroups - 1], "cpuset.mems");
    }
  }
  closedir(d);
  if (pipe2(go, O_CLOEXEC) != 0) die_parent("pipe");
  static char stack[64 * 1024];
  int flags = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS | SIGCHLD;
  pid_t pid = clone(child, stack + sizeof stack, flags, NULL);
  if (pid < 0) die_parent("clone");
  child_pid = pid;
  close(go[0]);
  char text[32];
  snprintf(text, sizeof text, "%d", pid);
  for (int i = 0; i < ncgroups; i++) {
    char procs[600];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", cgroups[i]);
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, strlen(text)) < 0) die_parent(procs);
    close(fd);
  }
  if (write(go[1], "x", 1) != 1) die_parent("sync");
  int status = 0;
  waitpid(pid, &status, 0);
  for (int i = 0; i < ncgroups; i++) rmdir(cgroups[i]);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
