#include "cgroups/device_filter.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/unique_fd.h"
#include "cgroups/plan.h"

namespace ocelot::cgroups {

namespace {

// Registers of the program: r1 = ctx; r2 = device type, r3 = requested access, r4 = major,
// r5 = minor, r6 = scratch, r0 = the verdict.
struct bpf_insn ins(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  struct bpf_insn i;
  std::memset(&i, 0, sizeof i);
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

uint32_t access_bits(const std::string& a) {
  if (a.empty()) return BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
  uint32_t v = 0;
  for (char c : a) {
    if (c == 'r') v |= BPF_DEVCG_ACC_READ;
    if (c == 'w') v |= BPF_DEVCG_ACC_WRITE;
    if (c == 'm') v |= BPF_DEVCG_ACC_MKNOD;
  }
  return v;
}

}  // namespace

std::vector<spec::DeviceCgroup> effective_device_rules(const std::vector<spec::DeviceCgroup>& rules,
                                                       const std::vector<spec::DeviceCgroup>& extra_allowed) {
  std::vector<spec::DeviceCgroup> all = rules;
  for (auto& x : default_allowed_devices()) all.push_back(x);
  for (auto& x : extra_allowed) all.push_back(x);
  return all;
}

std::vector<struct bpf_insn> compile_device_filter(const std::vector<spec::DeviceCgroup>& rules) {
  std::vector<struct bpf_insn> p;
  // struct bpf_cgroup_dev_ctx { u32 access_type (type | access << 16); u32 major; u32 minor; }
  p.push_back(ins(BPF_LDX | BPF_W | BPF_MEM, 2, 1, 0, 0));
  p.push_back(ins(BPF_ALU64 | BPF_MOV | BPF_X, 3, 2, 0, 0));
  p.push_back(ins(BPF_ALU64 | BPF_AND | BPF_K, 2, 0, 0, 0xffff));
  p.push_back(ins(BPF_ALU64 | BPF_RSH | BPF_K, 3, 0, 0, 16));
  p.push_back(ins(BPF_LDX | BPF_W | BPF_MEM, 4, 1, 4, 0));
  p.push_back(ins(BPF_LDX | BPF_W | BPF_MEM, 5, 1, 8, 0));
  // Last match wins: test the rules from the last to the first, and stop at the first match.
  for (size_t k = rules.size(); k-- > 0;) {
    const auto& r = rules[k];
    std::vector<struct bpf_insn> b;  // jumps with off = -1 mean "to the next rule", fixed below
    if (!r.type.empty() && r.type != "a")
      b.push_back(ins(BPF_JMP32 | BPF_JNE | BPF_K, 2, 0, -1, r.type == "b" ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
    if (r.major)
      b.push_back(ins(BPF_JMP32 | BPF_JNE | BPF_K, 4, 0, -1, static_cast<int32_t>(static_cast<uint32_t>(*r.major))));
    if (r.minor)
      b.push_back(ins(BPF_JMP32 | BPF_JNE | BPF_K, 5, 0, -1, static_cast<int32_t>(static_cast<uint32_t>(*r.minor))));
    uint32_t acc = access_bits(r.access);
    b.push_back(ins(BPF_ALU64 | BPF_MOV | BPF_X, 6, 3, 0, 0));
    if (r.allow) {
      // Allowed only if every requested bit is in the rule: (requested & ~rule) == 0.
      b.push_back(ins(BPF_ALU64 | BPF_AND | BPF_K, 6, 0, 0, static_cast<int32_t>(~acc & 0xffff)));
      b.push_back(ins(BPF_JMP32 | BPF_JNE | BPF_K, 6, 0, -1, 0));
    } else {
      // Denied if any requested bit is in the rule.
      b.push_back(ins(BPF_ALU64 | BPF_AND | BPF_K, 6, 0, 0, static_cast<int32_t>(acc)));
      b.push_back(ins(BPF_JMP32 | BPF_JEQ | BPF_K, 6, 0, -1, 0));
    }
    b.push_back(ins(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, r.allow ? 1 : 0));
    b.push_back(ins(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    for (size_t i = 0; i < b.size(); ++i)
      if (b[i].off == -1) b[i].off = static_cast<int16_t>(b.size() - i - 1);
    p.insert(p.end(), b.begin(), b.end());
  }
  p.push_back(ins(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0));
  p.push_back(ins(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return p;
}

int interpret_device_filter(const std::vector<struct bpf_insn>& prog, char type, uint32_t major, uint32_t minor,
                            const std::string& access) {
  uint32_t ctx[3] = {
      static_cast<uint32_t>(type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR) | (access_bits(access) << 16),
      major, minor};
  uint64_t r[11] = {};
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const auto& i = prog[pc];
    uint64_t imm = static_cast<uint64_t>(static_cast<int64_t>(i.imm));
    switch (i.code) {
      case BPF_LDX | BPF_W | BPF_MEM:
        if (i.src_reg != 1 || i.imm != 0 || i.off < 0 || i.off > 8 || i.off % 4) return -1;
        r[i.dst_reg] = ctx[i.off / 4];
        break;
      case BPF_ALU64 | BPF_MOV | BPF_X: r[i.dst_reg] = r[i.src_reg]; break;
      case BPF_ALU64 | BPF_MOV | BPF_K: r[i.dst_reg] = imm; break;
      case BPF_ALU64 | BPF_AND | BPF_K: r[i.dst_reg] &= imm; break;
      case BPF_ALU64 | BPF_RSH | BPF_K: r[i.dst_reg] >>= i.imm; break;
      case BPF_JMP32 | BPF_JNE | BPF_K:
        if (static_cast<uint32_t>(r[i.dst_reg]) != static_cast<uint32_t>(i.imm)) pc += static_cast<size_t>(i.off);
        break;
      case BPF_JMP32 | BPF_JEQ | BPF_K:
        if (static_cast<uint32_t>(r[i.dst_reg]) == static_cast<uint32_t>(i.imm)) pc += static_cast<size_t>(i.off);
        break;
      case BPF_JMP | BPF_EXIT: return static_cast<int>(r[0]);
      default: return -1;
    }
  }
  return -1;
}

namespace {

long bpf(int cmd, union bpf_attr* a) { return ::syscall(SYS_bpf, cmd, a, sizeof *a); }

Result<std::vector<uint32_t>> attached_ids(int cgfd) {
  std::vector<uint32_t> ids(64);
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.query.target_fd = static_cast<uint32_t>(cgfd);
  a.query.attach_type = BPF_CGROUP_DEVICE;
  a.query.prog_ids = reinterpret_cast<uint64_t>(ids.data());
  a.query.prog_cnt = static_cast<uint32_t>(ids.size());
  if (bpf(BPF_PROG_QUERY, &a) != 0) return Error::last("query the cgroup's device programs");
  ids.resize(a.query.prog_cnt);
  return ids;
}

Status detach_id(int cgfd, uint32_t id) {
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.prog_id = id;
  UniqueFd pfd(static_cast<int>(bpf(BPF_PROG_GET_FD_BY_ID, &a)));
  if (!pfd.valid()) return Error::last("open device program " + std::to_string(id));
  std::memset(&a, 0, sizeof a);
  a.target_fd = static_cast<uint32_t>(cgfd);
  a.attach_bpf_fd = static_cast<uint32_t>(pfd.get());
  a.attach_type = BPF_CGROUP_DEVICE;
  if (bpf(BPF_PROG_DETACH, &a) != 0) return Error::last("detach device program " + std::to_string(id));
  return ok();
}

UniqueFd load_program(const std::vector<struct bpf_insn>& prog, char* log, uint32_t log_size) {
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  a.insns = reinterpret_cast<uint64_t>(prog.data());
  a.insn_cnt = static_cast<uint32_t>(prog.size());
  static const char license[] = "Apache";
  a.license = reinterpret_cast<uint64_t>(license);
  if (log) {
    a.log_buf = reinterpret_cast<uint64_t>(log);
    a.log_size = log_size;
    a.log_level = 1;
  }
  return UniqueFd(static_cast<int>(bpf(BPF_PROG_LOAD, &a)));
}

}  // namespace

namespace {

// preload_device_filter's program: its instructions and its fd (kept open for the process's life).
struct Preloaded {
  std::vector<struct bpf_insn> prog;
  UniqueFd fd;
  uint32_t id = 0;  // the kernel's id of the program
};
Preloaded& preloaded() {
  static Preloaded p;
  return p;
}

bool same_program(const std::vector<struct bpf_insn>& a, const std::vector<struct bpf_insn>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(struct bpf_insn)) == 0;
}

}  // namespace

Status preload_device_filter(const std::vector<spec::DeviceCgroup>& rules,
                             const std::vector<spec::DeviceCgroup>& extra_allowed) {
  auto prog = compile_device_filter(effective_device_rules(rules, extra_allowed));
  UniqueFd fd = load_program(prog, nullptr, 0);
  if (!fd.valid()) return Error::last("load the cgroup v2 device program");
  struct bpf_prog_info info;
  std::memset(&info, 0, sizeof info);
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.info.bpf_fd = static_cast<uint32_t>(fd.get());
  a.info.info_len = sizeof info;
  a.info.info = reinterpret_cast<uint64_t>(&info);
  if (bpf(BPF_OBJ_GET_INFO_BY_FD, &a) != 0) return Error::last("read the preloaded device program's id");
  preloaded().id = info.id;
  preloaded().prog = std::move(prog);
  preloaded().fd = std::move(fd);
  return ok();
}

Status attach_device_filter(const std::string& dir, const std::vector<spec::DeviceCgroup>& rules,
                            const std::vector<spec::DeviceCgroup>& extra_allowed) {
  auto prog = compile_device_filter(effective_device_rules(rules, extra_allowed));
  UniqueFd cg(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg.valid()) return Error::last("open cgroup \"" + dir + "\"");
  auto before = OCL_TRY(attached_ids(cg.get()));
  UniqueFd loaded;
  int pfd = preloaded().fd.get();
  // Not when it is attached here already (`update` with the same rules): a program is attached
  // to a cgroup once, so that takes a program of its own.
  if (pfd < 0 || !same_program(prog, preloaded().prog) ||
      std::find(before.begin(), before.end(), preloaded().id) != before.end()) {
    loaded = load_program(prog, nullptr, 0);
    pfd = loaded.get();
  }
  if (pfd < 0) {
    int err = errno;
    // Again with the verifier's log, for its last line (the reason).
    std::vector<char> log(1 << 20);
    (void)load_program(prog, log.data(), static_cast<uint32_t>(log.size()));
    std::string text(log.data(), strnlen(log.data(), log.size()));
    while (!text.empty() && text.back() == '\n') text.pop_back();
    auto nl = text.rfind('\n');
    std::string last = nl == std::string::npos ? text : text.substr(nl + 1);
    return Error::sys(err, "load the cgroup v2 device program" + (last.empty() ? "" : " (verifier: " + last + ")"));
  }
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.target_fd = static_cast<uint32_t>(cg.get());
  a.attach_bpf_fd = static_cast<uint32_t>(pfd);
  a.attach_type = BPF_CGROUP_DEVICE;
  a.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, &a) != 0) return Error::last("attach the device program to \"" + dir + "\"");
  // The new program is in force: now the old ones may go (in this order, no moment without one).
  for (uint32_t id : before) OCL_CHECK(detach_id(cg.get(), id));
  return ok();
}

void detach_device_filters(const std::string& dir) {
  UniqueFd cg(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg.valid()) return;
  auto ids = attached_ids(cg.get());
  if (!ids) return;
  for (uint32_t id : *ids) (void)detach_id(cg.get(), id);
}

Result<int> count_device_filters(const std::string& dir) {
  UniqueFd cg(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg.valid()) return Error::last("open cgroup \"" + dir + "\"");
  return static_cast<int>(OCL_TRY(attached_ids(cg.get())).size());
}

}  // namespace ocelot::cgroups
