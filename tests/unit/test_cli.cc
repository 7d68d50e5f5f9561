#include <doctest/doctest.h>

#include "cli/flags.h"
#include "cli/logging.h"
#include "cli/numbers.h"
#include "cli/table.h"

using namespace ocelot;
using cli::FlagDef;

namespace {
const std::vector<FlagDef> kDefs = {{"bundle", "b", FlagDef::Value, ""},
                                    {"detach", "d", FlagDef::Bool, ""},
                                    {"env", "e", FlagDef::Multi, ""},
                                    {"interval", "", FlagDef::Value, ""},
                                    {"all", "a", FlagDef::Bool, ""}};
}

TEST_CASE("flags parse as runc's do") {
  auto f = *cli::parse_flags("run", kDefs, {"--bundle", "/b", "-d", "id1"}, false);
  CHECK(f.get("bundle") == "/b");
  CHECK(f.on("detach"));
  CHECK(f.args == std::vector<std::string>{"id1"});
  auto eq = *cli::parse_flags("events", kDefs, {"--interval=5s", "id"}, false);
  CHECK(eq.get("interval") == "5s");
  auto go = *cli::parse_flags("run", kDefs, {"-bundle", "/x", "-detach", "id"}, false);
  CHECK(go.get("bundle") == "/x");
  CHECK(go.on("detach"));
  auto kill = *cli::parse_flags("kill", kDefs, {"--all", "ID", "9"}, false);
  CHECK(kill.on("all"));
  CHECK(kill.args == std::vector<std::string>{"ID", "9"});
  auto after = *cli::parse_flags("delete", kDefs, {"ID", "--all"}, false);
  CHECK(after.on("all"));
  auto boolf = *cli::parse_flags("run", kDefs, {"--detach=false", "id"}, false);
  CHECK(!boolf.on("detach"));
}

TEST_CASE("exec keeps the workload's own flags") {
  auto f = *cli::parse_flags("exec", kDefs, {"-e", "A=1,2", "--env", "B=2", "ctr", "ls", "-la", "--all"}, true);
  CHECK(f.all("env") == std::vector<std::string>{"A=1,2", "B=2"});
  CHECK(f.args == std::vector<std::string>{"ctr", "ls", "-la", "--all"});
  CHECK(!f.on("all"));
}

TEST_CASE("unknown flags are a clear error") {
  auto r = cli::parse_flags("run", kDefs, {"--frobnicate", "id"}, false);
  REQUIRE(!r.ok());
  CHECK(r.error().msg == "run: Option \"frobnicate\" does not exist");
}

TEST_CASE("Go durations") {
  CHECK(*cli::parse_duration_ms("5s") == 5000);
  CHECK(*cli::parse_duration_ms("1m30s") == 90000);
  CHECK(*cli::parse_duration_ms("250ms") == 250);
  CHECK(*cli::parse_duration_ms("1.5h") == 5400000);
  CHECK(!cli::parse_duration_ms("5").ok());
  CHECK(!cli::parse_duration_ms("fast").ok());
}

TEST_CASE("list table is Go's tabwriter(minwidth 12, padding 3)") {
  auto t = cli::tabwrite({{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"},
                          {"a-long-container-id", "7", "running", "/b", "now", "root"}},
                         12, 3);
  CHECK(t ==
        "ID                    PID         STATUS      BUNDLE      CREATED     OWNER\n"
        "a-long-container-id   7           running     /b          now         root\n");
}

TEST_CASE("json log lines are logrus's") {
  CHECK(cli::log_line_json("error", "boom \"x\"", "2026-01-01T00:00:00Z") ==
        R"({"level":"error","msg":"boom \"x\"","time":"2026-01-01T00:00:00Z"})");
}

TEST_CASE("CLI numbers: every malformed value is an error naming the flag, never an abort") {
  CHECK(!cli::parse_bytes("memory", ".").ok());
  CHECK(cli::parse_bytes("memory", ".").error().msg == "--memory: invalid size \".\"");
  CHECK(!cli::parse_bytes("memory", "").ok());
  CHECK(!cli::parse_bytes("memory", "1..2m").ok());
  CHECK(!cli::parse_bytes("memory", "12q").ok());
  CHECK(!cli::parse_bytes("memory", "99999999999999999999t").ok());
  CHECK(*cli::parse_bytes("memory", "512m") == 512LL << 20);
  CHECK(*cli::parse_bytes("memory", "1.5k") == 1536);
  CHECK(*cli::parse_bytes("memory", "-1") == -1);
  CHECK(!cli::parse_duration_ms(".s").ok());
  CHECK(!cli::parse_duration_ms("s").ok());
  CHECK(!cli::parse_duration_ms("1e400s").ok());
  CHECK(!cli::parse_duration_ms("-1s").ok());
  CHECK(*cli::parse_duration_ms("0.5s") == 500);
  CHECK(cli::parse_int("pids-limit", "abc", -1, 100).error().msg ==
        "--pids-limit: expected a whole number between -1 and 100, got \"abc\"");
  CHECK(!cli::parse_int("blkio-weight", "70000", 0, 1000).ok());
  CHECK(!cli::parse_int("x", "99999999999999999999", 0, 10).ok());
  CHECK(*cli::parse_int("x", "-1", -1, 10) == -1);
}
