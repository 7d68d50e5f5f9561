/* critest's "nonewprivs" image runs a setuid-root program that prints its effective uid: with
 * no_new_privs the setuid bit is ignored and it prints the caller's. ocelot's critest tier builds
 * it into a stand-in image (tests/conformance/critest_images.py). */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("Effective uid: %d\n", (int)geteuid());
  return 0;
}
