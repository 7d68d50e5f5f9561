/* The last hop before the workload (CVE-2019-5736). The container init and exec'd processes are
 * clones of the ocelot binary; if they execve'd the workload directly, a workload that is (or whose
 * #! interpreter is) /proc/self/exe would run the host's ocelot binary inside the container, where
 * container processes can reach it through /proc/PID/exe. Instead they execveat() this program from
 * a sealed memfd (write-proof), and it execs argv[0] with argv[1..] as the workload's argv.
 * No libc: built -nostdlib -static, a few hundred bytes, embedded into ocelot at build time. */
#include <asm/unistd.h>

static long sys3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}

__attribute__((noreturn, used)) void trampoline_main(long* sp) {
  long argc = sp[0];
  char** argv = (char**)(sp + 1);
  char** envp = argv + argc + 1;
  if (argc >= 2) sys3(__NR_execve, (long)argv[0], (long)(argv + 1), (long)envp);
  for (;;) sys3(__NR_exit_group, 127, 0, 0);
}

__asm__(
    ".text\n"
    ".globl _start\n"
    "_start:\n"
    "  mov %rsp, %rdi\n"
    "  and $-16, %rsp\n"
    "  call trampoline_main\n");
