/* ocelot's init stub: what a container init becomes before it reports "ready".
 *
 * Why it exists (docs/security.md): until it execs, the init is a clone of the host's ocelot
 * binary, and any process that can see it in its pid namespace with CAP_SYS_PTRACE could open its
 * /proc/PID/exe (the host binary) and write it once ocelot exits (the CVE-2019-5736 class). So the
 * init does all of its setup while it is alone in its new pid namespace, then execveat()s this
 * program from a sealed memfd (write-proof) and only then says "ready". From here to the workload
 * it is never the host binary again.
 *
 * What it does, in order (each step is what must wait for `start`, or must come last):
 *   1. clear the parent-death signal (the parent has recorded our pid), send "ready" on the sync fd;
 *   2. block on exec.fifo until `start` writes a byte; keep the fifo open, close-on-exec, so that
 *      `start` sees its last reader go at the workload's execve and runs poststart hooks only then
 *      (a byte written back right before the execve tells it we got there);
 *   3. run the startContainer hooks (in the container, stdin = the state JSON, stdout -> stderr,
 *      each with its timeout), each in a child that first drops the temporary capabilities;
 *   4. set the LSM exec label (AppArmor profile / SELinux label);
 *   5. load the seccomp filter (no_new_privs set by the init, or the temporary CAP_SYS_ADMIN held);
 *   6. drop the temporary capabilities (only ever prctl, capget, capset after the filter);
 *   7. execve the workload.
 * After `start` there is no one to report to: a failure is one line on the container's stderr
 * ("ocelot: ...") and exit status 1 (127 when the workload cannot be executed).
 *
 * Arguments: options, "--", the workload's resolved path, then its argv; envp is the workload's.
 *   sync=FD fifo=FD bpf=FD bpfflags=N state=FD temp=HEX final=BND,INH,AMB (hex masks)
 *   apparmor=FD,PROFILE selinux=FD,LABEL  (FD: the init's own attr directory, opened through its
 *                                         procfs handle: the container's /proc is never used by path)
 *   hook=TIMEOUT,ARGC,ENVC PATH ARG... ENV...      (repeatable; ARGC 0 means argv = [PATH])
 * Built -nostdlib -static: a few KiB, embedded into ocelot at build time. */
#if !defined(__x86_64__)
#error "the init stub is written for x86-64 (syscall numbers and entry code); port stub_syscall() and _start"
#endif

#include <asm/unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>

#define NULL ((void*)0)
#define SIGCHLD 17
#define SIGKILL 9
#define F_SETFD 2
#define FD_CLOEXEC 1
#define O_WRONLY 1
#define SEEK_SET 0
#define SEEK_END 2
#define PROT_READ 1
#define MAP_PRIVATE 2
#define POLLIN 1
#define EINTR 4
#define ENOENT 2
#define EAGAIN 11
#define O_CLOEXEC 02000000
#define PR_SET_PDEATHSIG 1
#define PR_SET_DUMPABLE 4
#define PR_CAPBSET_DROP 24
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_LOWER 3
#define CAP_SETPCAP_BIT 8

struct pollfd_ {
  int fd;
  short events, revents;
};

static long stub_syscall(long n, long a, long b, long c, long d, long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long r;
  __asm__ volatile("syscall"
                   : "=a"(r)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return r;
}
#define SC3(n, a, b, c) stub_syscall((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define SC4(n, a, b, c, d) stub_syscall((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define SC6(n, a, b, c, d, e, f) stub_syscall((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

/* gcc may emit calls to these even with -ffreestanding. */
void* memset(void* d, int c, unsigned long n) {
  unsigned char* p = d;
  while (n--) *p++ = (unsigned char)c;
  return d;
}
void* memcpy(void* d, const void* s, unsigned long n) {
  unsigned char* p = d;
  const unsigned char* q = s;
  while (n--) *p++ = *q++;
  return d;
}

static unsigned long slen(const char* s) {
  unsigned long n = 0;
  while (s[n]) ++n;
  return n;
}
static int prefix(const char* s, const char* p) {
  while (*p)
    if (*s++ != *p++) return 0;
  return 1;
}
static int same(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}

/* Decimal (or hex with base 16) up to a separator; *ok = 0 on anything else. */
static unsigned long long num(const char** s, int base, int* ok) {
  unsigned long long v = 0;
  int digits = 0;
  for (;; ++*s) {
    char c = **s;
    int d = c >= '0' && c <= '9' ? c - '0' : base == 16 && c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) break;
    v = v * (unsigned)base + (unsigned)d;
    ++digits;
  }
  if (!digits) *ok = 0;
  return v;
}

static void put(const char* s) { SC3(__NR_write, 2, s, slen(s)); }

static const char* errtext(long e) {
  switch (e) {
    case 1: return "operation not permitted";
    case 2: return "no such file or directory";
    case 7: return "argument list too long";
    case 8: return "exec format error";
    case 9: return "bad file descriptor";
    case 12: return "cannot allocate memory";
    case 13: return "permission denied";
    case 14: return "bad address";
    case 20: return "not a directory";
    case 21: return "is a directory";
    case 22: return "invalid argument";
    case 26: return "text file busy";
    case 38: return "function not implemented";
    case 40: return "too many levels of symbolic links";
    default: return "system error";
  }
}

static char numbuf[24];
static const char* itoa_(long v) {
  char* p = numbuf + sizeof numbuf - 1;
  int neg = v < 0;
  unsigned long u = neg ? (unsigned long)-v : (unsigned long)v;
  *p = 0;
  do *--p = (char)('0' + u % 10);
  while (u /= 10);
  if (neg) *--p = '-';
  return p;
}

__attribute__((noreturn)) static void leave(int code) {
  for (;;) SC3(__NR_exit_group, code, 0, 0);
}

/* "ocelot: <what> <quoted>: <strerror>" on the container's stderr, then exit. */
__attribute__((noreturn)) static void die(const char* what, const char* arg, long err, int code) {
  put("ocelot: ");
  put(what);
  if (arg) {
    put(" \"");
    put(arg);
    put("\"");
  }
  if (err) {
    put(": ");
    put(errtext(err));
  }
  put("\n");
  leave(code);
}

static void retry_eintr_read(int fd, char* b) {
  long n;
  do n = SC3(__NR_read, fd, b, 1);
  while (n == -EINTR);
  if (n != 1) die("wait for start: read exec.fifo", NULL, n < 0 ? -n : 0, 1);
}

/* The temporary capabilities (held only to load the seccomp filter without no_new_privs) go
 * away again, wherever the final sets do not have them: ambient, bounding, inheritable, and
 * effective/permitted (keeping what the final ambient set needs). */
struct caps_final {
  unsigned long long temp, bounding, inheritable, ambient;
};

static void drop_temp(const struct caps_final* f) {
  unsigned long long temp = f->temp;
  if (!temp) return;
  for (int c = 0; c < 64; ++c)
    if ((temp & ~f->ambient) & (1ULL << c)) SC6(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, c, 0, 0, 0);
  unsigned long long bnd = temp & ~f->bounding;
  for (int c = 0; c < 64; ++c)
    if (c != CAP_SETPCAP_BIT && (bnd & (1ULL << c))) {
      long r = SC6(__NR_prctl, PR_CAPBSET_DROP, c, 0, 0, 0, 0);
      if (r < 0) die("drop the temporary capabilities from the bounding set", NULL, -r, 1);
    }
  if (bnd & (1ULL << CAP_SETPCAP_BIT)) SC6(__NR_prctl, PR_CAPBSET_DROP, CAP_SETPCAP_BIT, 0, 0, 0, 0);
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  if (SC3(__NR_capget, &h, d, 0) < 0) die("read capabilities", NULL, 0, 1);
  unsigned long long ep = temp & ~f->ambient, inh = temp & ~f->inheritable & ~f->ambient;
  for (int i = 0; i < 2; ++i) {
    d[i].effective &= ~(unsigned)(ep >> (32 * i));
    d[i].permitted &= ~(unsigned)(ep >> (32 * i));
    d[i].inheritable &= ~(unsigned)(inh >> (32 * i));
  }
  long r = SC3(__NR_capset, &h, d, 0);
  if (r < 0) die("drop the temporary capabilities", NULL, -r, 1);
}

static void run_hook(char** at, int index, int state_fd, const struct caps_final* caps) {
  const char* spec = at[0] + 5; /* "hook=T,A,E" */
  int ok = 1;
  long timeout = (long)num(&spec, 10, &ok);
  spec += *spec == ',';
  long argc = (long)num(&spec, 10, &ok);
  spec += *spec == ',';
  long envc = (long)num(&spec, 10, &ok);
  char* path = at[1];
  char* argv[argc + 2];
  char* envp[envc + 1];
  if (argc == 0) {
    argv[0] = path;
    argv[1] = NULL;
  } else {
    for (long i = 0; i < argc; ++i) argv[i] = at[2 + i];
    argv[argc] = NULL;
  }
  for (long i = 0; i < envc; ++i) envp[i] = at[2 + argc + i];
  envp[envc] = NULL;
  long pid = SC6(__NR_clone, SIGCHLD, 0, 0, 0, 0, 0);
  if (pid < 0) die("startContainer hook: fork", path, -pid, 1);
  if (pid == 0) {
    drop_temp(caps);
    if (state_fd >= 0) {
      SC3(__NR_dup2, state_fd, 0, 0);
      SC3(__NR_lseek, 0, 0, SEEK_SET);
    }
    SC3(__NR_dup2, 2, 1, 0); /* a hook's output must not mix with the workload's stdout */
    long e = SC3(__NR_execve, path, argv, envp);
    die("startContainer hook: cannot execute", path, -e, 127);
  }
  long pfd = SC3(__NR_pidfd_open, pid, 0, 0);
  if (timeout > 0 && pfd >= 0) {
    struct pollfd_ p = {(int)pfd, POLLIN, 0};
    long n;
    do n = SC3(__NR_poll, &p, 1, timeout * 1000);
    while (n == -EINTR);
    if (n == 0) {
      SC3(__NR_kill, pid, SIGKILL, 0);
      SC6(__NR_wait4, pid, 0, 0, 0, 0, 0);
      put("ocelot: startContainer hook[");
      put(itoa_(index));
      put("] \"");
      put(path);
      put("\" timed out after ");
      put(itoa_(timeout));
      put("s\n");
      leave(1);
    }
  }
  if (pfd >= 0) SC3(__NR_close, pfd, 0, 0);
  int status = 0;
  long r;
  do r = SC6(__NR_wait4, pid, &status, 0, 0, 0, 0);
  while (r == -EINTR);
  if (r < 0) die("startContainer hook: wait", path, -r, 1);
  if (status != 0) {
    put("ocelot: startContainer hook[");
    put(itoa_(index));
    put("] \"");
    put(path);
    if ((status & 0x7f) == 0) {
      put("\" exited with status ");
      put(itoa_((status >> 8) & 0xff));
    } else {
      put("\" killed by signal ");
      put(itoa_(status & 0x7f));
    }
    put("\n");
    leave(1);
  }
}

/* A label file beneath our attr directory. Opened here, not by the init: the kernel lets only the
 * credentials that opened a /proc/PID/attr file write it, and ours changed since (the change of
 * user, the execve of this stub). No symlinks, no mount crossings on the way. */
static long open_attr(long dir_fd, const char* name) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_WRONLY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  long fd;
  do fd = SC4(__NR_openat2, dir_fd, name, &how, sizeof how);
  while (fd == -EAGAIN || fd == -EINTR);
  return fd;
}

/* name, or else (an older kernel without the per-LSM directory) fallback. */
static void write_label(long dir_fd, const char* name, const char* fallback, const char* what, const char* prefix_,
                        const char* label) {
  char buf[4096];
  unsigned long p = slen(prefix_), n = slen(label);
  if (dir_fd < 0) die(what, label, 0, 1);
  if (p + n + 1 > sizeof buf) die(what, "name too long", 0, 1);
  long fd = open_attr(dir_fd, name);
  if (fd == -ENOENT && fallback) fd = open_attr(dir_fd, fallback);
  if (fd < 0) die(what, label, -fd, 1);
  memcpy(buf, prefix_, p);
  memcpy(buf + p, label, n);
  long w = SC3(__NR_write, fd, buf, p + n);
  if (w < 0) die(what, label, -w, 1);
  SC3(__NR_close, fd, 0, 0);
}

static void set_lsm_label(long apparmor_fd, const char* apparmor, long selinux_fd, const char* selinux) {
  if (apparmor) write_label(apparmor_fd, "apparmor/exec", "exec", "set apparmor profile", "exec ", apparmor);
  if (selinux) write_label(selinux_fd, "exec", NULL, "set selinux label", "", selinux);
}

/* What the arguments say (see the top of this file). */
struct plan {
  long sync_fd, fifo_fd, bpf_fd, state_fd, bpf_flags;
  struct caps_final caps;
  const char* apparmor;
  const char* selinux;
  long apparmor_fd, selinux_fd;
  long first_hook; /* index of the first hook=, -1 for none */
  char* exe;
  char** wargv;
};

/* "FD,TEXT" after a prefix: the fd and where the text starts. */
static const char* fd_and_text(const char** a, long* fd, int* ok) {
  *fd = (long)num(a, 10, ok);
  if (**a == ',')
    ++*a;
  else
    *ok = 0;
  const char* text = *a;
  *a += slen(*a);
  return text;
}

/* A hook=TIMEOUT,ARGC,ENVC argument: how many words follow it (its path, args and env). */
static long hook_words(const char* a, int* ok) {
  const char* s = a + 5;
  num(&s, 10, ok);
  s += *s == ',';
  long hargc = (long)num(&s, 10, ok);
  s += *s == ',';
  long henvc = (long)num(&s, 10, ok);
  return 1 + hargc + henvc;
}

static void parse_option(struct plan* p, char** argv, long argc, long* i) {
  const char* a = argv[*i];
  int ok = 1;
  if (prefix(a, "sync="))
    a += 5, p->sync_fd = (long)num(&a, 10, &ok);
  else if (prefix(a, "fifo="))
    a += 5, p->fifo_fd = (long)num(&a, 10, &ok);
  else if (prefix(a, "bpf="))
    a += 4, p->bpf_fd = (long)num(&a, 10, &ok);
  else if (prefix(a, "bpfflags="))
    a += 9, p->bpf_flags = (long)num(&a, 10, &ok);
  else if (prefix(a, "state="))
    a += 6, p->state_fd = (long)num(&a, 10, &ok);
  else if (prefix(a, "temp="))
    a += 5, p->caps.temp = num(&a, 16, &ok);
  else if (prefix(a, "final=")) {
    a += 6;
    p->caps.bounding = num(&a, 16, &ok);
    a += *a == ',';
    p->caps.inheritable = num(&a, 16, &ok);
    a += *a == ',';
    p->caps.ambient = num(&a, 16, &ok);
  } else if (prefix(a, "apparmor=")) {
    a += 9;
    p->apparmor = fd_and_text(&a, &p->apparmor_fd, &ok);
  } else if (prefix(a, "selinux=")) {
    a += 8;
    p->selinux = fd_and_text(&a, &p->selinux_fd, &ok);
  } else if (prefix(a, "hook=")) {
    if (p->first_hook < 0) p->first_hook = *i;
    *i += hook_words(a, &ok);
    if (*i >= argc) die("malformed arguments (hook)", NULL, 0, 1);
    a += slen(a);
  } else {
    die("unknown argument", a, 0, 1);
  }
  if (!ok || *a) die("malformed argument", argv[*i], 0, 1);
}

static void parse(struct plan* p, long argc, char** argv) {
  p->sync_fd = p->fifo_fd = p->bpf_fd = p->state_fd = p->apparmor_fd = p->selinux_fd = p->first_hook = -1;
  long i = 1;
  for (; i < argc; ++i) {
    if (same(argv[i], "--")) {
      ++i;
      break;
    }
    parse_option(p, argv, argc, &i);
  }
  if (i >= argc) die("malformed arguments: no workload after \"--\"", NULL, 0, 1);
  p->exe = argv[i];
  p->wargv = argv + i + 1;
}

/* 1. The parent recorded our pid: from here we must outlive it. Then "ready". */
static void say_ready(const struct plan* p) {
  SC6(__NR_prctl, PR_SET_PDEATHSIG, 0, 0, 0, 0, 0);
  if (p->sync_fd < 0) return;
  unsigned hdr[3] = {4 /* Msg::ready */, 0, 0};
  long w = SC6(__NR_sendto, p->sync_fd, hdr, sizeof hdr, 0x4000 /* MSG_NOSIGNAL */, 0, 0);
  if (w < 0) leave(1); /* the parent is gone: nobody will ever start us */
  SC3(__NR_close, p->sync_fd, 0, 0);
}

/* 2. Wait for `start`. */
static void wait_for_start(const struct plan* p) {
  if (p->fifo_fd < 0) return;
  char b;
  retry_eintr_read((int)p->fifo_fd, &b);
  SC3(__NR_fcntl, p->fifo_fd, F_SETFD, FD_CLOEXEC);
}

/* 3. startContainer hooks, in order. */
static void run_start_hooks(const struct plan* p, long argc, char** argv) {
  if (p->first_hook >= 0) {
    int index = 0;
    for (long k = p->first_hook; k < argc && !same(argv[k], "--");) {
      if (!prefix(argv[k], "hook=")) {
        ++k;
        continue;
      }
      int ok = 1;
      long words = hook_words(argv[k], &ok);
      run_hook(argv + k, index++, (int)p->state_fd, &p->caps);
      k += 1 + words;
    }
  }
  if (p->state_fd >= 0) SC3(__NR_close, p->state_fd, 0, 0);
}

/* 5. The seccomp filter: the last thing before dropping what was kept only to load it. */
static void load_seccomp(const struct plan* p) {
  if (p->bpf_fd < 0) return;
  long size = SC3(__NR_lseek, p->bpf_fd, 0, SEEK_END);
  if (size <= 0 || size % (long)sizeof(struct sock_filter)) die("load seccomp filter: bad program", NULL, 0, 1);
  long mem = SC6(__NR_mmap, 0, size, PROT_READ, MAP_PRIVATE, p->bpf_fd, 0);
  if (mem < 0 && mem > -4096) die("load seccomp filter: map the program", NULL, -mem, 1);
  SC3(__NR_close, p->bpf_fd, 0, 0);
  struct sock_fprog prog = {(unsigned short)(size / (long)sizeof(struct sock_filter)), (struct sock_filter*)mem};
  long r = SC3(__NR_seccomp, SECCOMP_SET_MODE_FILTER, p->bpf_flags, &prog);
  if (r < 0) die("load seccomp filter", NULL, -r, 1);
}

__attribute__((noreturn, used)) void stub_main(long* sp) {
  long argc = sp[0];
  char** argv = (char**)(sp + 1);
  char** envp = argv + argc + 1;
  struct plan p;
  memset(&p, 0, sizeof p);
  parse(&p, argc, argv);
  /* Not dumpable (execve made us dumpable again): no process of the container may read our
   * memory or ptrace us without CAP_SYS_PTRACE while we hold what the workload will not. */
  SC6(__NR_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0, 0);
  say_ready(&p);
  wait_for_start(&p);
  run_start_hooks(&p, argc, argv);
  /* 4. LSM label for the workload's execve; then one byte back into the fifo, which `start`
   *    reads (FIONREAD) once our fifo fd has closed: we reached the execve, we did not die. */
  set_lsm_label(p.apparmor_fd, p.apparmor, p.selinux_fd, p.selinux);
  /* The attr directory (one fd for both LSMs) is the init's, from its private procfs: never the
   * workload's (CRIU cannot dump it, and no fd of the runtime's may reach the container). */
  if (p.apparmor_fd >= 0) SC3(__NR_close, p.apparmor_fd, 0, 0);
  if (p.selinux_fd >= 0 && p.selinux_fd != p.apparmor_fd) SC3(__NR_close, p.selinux_fd, 0, 0);
  if (p.fifo_fd >= 0) SC3(__NR_write, p.fifo_fd, "x", 1);
  load_seccomp(&p);
  /* 6 and 7. */
  drop_temp(&p.caps);
  long e = SC3(__NR_execve, p.exe, p.wargv, envp);
  die("exec", p.exe, -e, 127);
}

__asm__(
    ".text\n"
    ".globl _start\n"
    "_start:\n"
    "  mov %rsp, %rdi\n"
    "  and $-16, %rsp\n"
    "  call stub_main\n");
