/* A pause for ocelot's critest tier (tests/conformance/critest_images.py): a pod's sandbox holds
 * its namespaces with one process that does nothing, ends on SIGINT or SIGTERM and reaps
 * whatever is reparented to it (it is the pod's pid-namespace init when the pod shares one).
 * One process on purpose: critest looks for its own processes with pgrep in shared pid
 * namespaces, so the sandbox must not run anything else. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_exit_signal(int sig) { _exit(128 + sig); }

static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction exit_action = {.sa_handler = on_exit_signal};
  struct sigaction child_action = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
  sigaction(SIGINT, &exit_action, NULL);
  sigaction(SIGTERM, &exit_action, NULL);
  sigaction(SIGCHLD, &child_action, NULL);
  for (;;) pause();
}
