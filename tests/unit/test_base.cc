#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "base/fs.h"
#include "base/proc_stat.h"

using namespace ocelot;

TEST_CASE("proc stat: fields after a comm with spaces and parentheses") {
  std::string line = "4242 (a) b (c) S 1 4242 4242 0 -1 4194368 120 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
  auto s = parse_proc_stat(line);
  REQUIRE(s);
  CHECK(s->state == 'S');
  CHECK(s->flags == 4194368UL);
  CHECK(s->start == 987654U);
}

TEST_CASE("proc stat: a short or damaged line is an error") {
  CHECK_FALSE(parse_proc_stat(""));
  CHECK_FALSE(parse_proc_stat("12 (x"));
  CHECK_FALSE(parse_proc_stat("12 (x) Z 1 2"));
  CHECK_FALSE(parse_proc_stat("12 (x) R 1 2 3 4 5 notaflag 7 8 9 10 11 12 13 14 15 16 17 18 19"));
}

TEST_CASE("proc stat: this process, alive and started") {
  auto s = read_proc_stat(::getpid());
  REQUIRE(s);
  CHECK(s->state == 'R');
  CHECK(s->start > 0);
  CHECK_FALSE(read_proc_stat(0));
}

TEST_CASE("remove_tree: removes a tree, never what a symlink in it points to") {
  char tmpl[] = "/tmp/ocelot-unit-XXXXXX";
  std::string root = ::mkdtemp(tmpl);
  std::string outside = root + "-outside";
  REQUIRE(fs::mkdir_p(outside + "/keep"));
  REQUIRE(fs::mkdir_p(root + "/a/b"));
  REQUIRE(fs::write_file(root + "/a/b/f", "x"));
  REQUIRE(::symlink(outside.c_str(), (root + "/a/link").c_str()) == 0);
  CHECK(fs::remove_tree(root));
  CHECK_FALSE(fs::exists(root));
  CHECK(fs::exists(outside + "/keep"));
  CHECK(fs::remove_tree(root));  // gone already: no error
  CHECK(fs::remove_tree(outside));
}
