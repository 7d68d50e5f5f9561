#include <unistd.h>

#include <cctype>
#include <iostream>
#include <iterator>
#include <limits>

#include "base/fs.h"
#include "cli/commands.h"
#include "cli/numbers.h"
#include "spec/parse.h"

namespace ocelot::cli {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

OCELOT_COMMAND(cmd_update) {
  auto id = OCL_TRY(one_id(f, "update"));
  spec::Resources r;
  if (f.has("resources")) {
    std::string path = f.get("resources");
    std::string text;
    if (path == "-")
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    else
      text = OCL_TRY(fs::read_file(path));
    auto parsed = spec::parse_resources(text);
    if (!parsed) return std::move(parsed).error().wrap("--resources");
    r = std::move(*parsed);
  }
  auto mem = [&]() -> spec::Memory& {
    if (!r.memory) r.memory.emplace();
    return *r.memory;
  };
  auto cpu = [&]() -> spec::Cpu& {
    if (!r.cpu) r.cpu.emplace();
    return *r.cpu;
  };
  if (f.has("memory")) mem().limit = OCL_TRY(parse_bytes("memory", f.get("memory")));
  if (f.has("memory-reservation"))
    mem().reservation = OCL_TRY(parse_bytes("memory-reservation", f.get("memory-reservation")));
  if (f.has("memory-swap")) mem().swap = OCL_TRY(parse_bytes("memory-swap", f.get("memory-swap")));
  if (f.has("kernel-memory")) mem().kernel = OCL_TRY(parse_bytes("kernel-memory", f.get("kernel-memory")));
  if (f.has("kernel-memory-tcp"))
    mem().kernel_tcp = OCL_TRY(parse_bytes("kernel-memory-tcp", f.get("kernel-memory-tcp")));
  if (f.has("cpu-share"))
    cpu().shares = static_cast<uint64_t>(OCL_TRY(parse_int("cpu-share", f.get("cpu-share"), 0, kMax)));
  if (f.has("cpu-quota")) cpu().quota = OCL_TRY(parse_int("cpu-quota", f.get("cpu-quota"), -1, kMax));
  if (f.has("cpu-period"))
    cpu().period = static_cast<uint64_t>(OCL_TRY(parse_int("cpu-period", f.get("cpu-period"), 0, kMax)));
  if (f.has("cpu-burst"))
    cpu().burst = static_cast<uint64_t>(OCL_TRY(parse_int("cpu-burst", f.get("cpu-burst"), 0, kMax)));
  if (f.has("cpu-rt-period"))
    cpu().realtime_period = static_cast<uint64_t>(OCL_TRY(parse_int("cpu-rt-period", f.get("cpu-rt-period"), 0, kMax)));
  if (f.has("cpu-rt-runtime"))
    cpu().realtime_runtime = OCL_TRY(parse_int("cpu-rt-runtime", f.get("cpu-rt-runtime"), -1, kMax));
  if (f.has("cpuset-cpus")) cpu().cpus = f.get("cpuset-cpus");
  if (f.has("cpuset-mems")) cpu().mems = f.get("cpuset-mems");
  if (f.has("pids-limit")) r.pids = spec::Pids{OCL_TRY(parse_int("pids-limit", f.get("pids-limit"), -1, kMax))};
  if (f.has("blkio-weight")) {
    if (!r.block_io) r.block_io.emplace();
    r.block_io->weight = static_cast<uint16_t>(OCL_TRY(parse_int("blkio-weight", f.get("blkio-weight"), 0, 1000)));
  }
  if (f.has("l3-cache-schema") || f.has("mem-bw-schema")) return Error::make("update: intel RDT is not supported");
  OCL_CHECK(OCL_TRY(isolation::for_container(ctx.globals, id))->update(id, r));
  return 0;
}

}  // namespace ocelot::cli
