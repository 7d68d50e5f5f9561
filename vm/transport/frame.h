// The one wire format between the host and the guest agent on the control ports (vm/protocol.h):
// a frame is a type byte, a little-endian u32 payload length, and the payload. Both sides encode
// with encode_frame() and decode with FrameReader, which takes bytes as they come and hands back
// whole frames; a frame of unknown type or over the size limit is an error, never a guess. Pure:
// unit-tested in tests/unit/test_vm.cc and fuzzed (tests/fuzz/fuzz_vm_frames.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace ocelot::vm {

enum class FrameType : uint8_t {
  plan = 1,      // host -> agent: the guest plan (vm/guest_config.h)
  ready = 2,     // agent -> host: the container is created
  error = 3,     // agent -> host: one line, why not
  start = 4,     // host -> agent: start it
  started = 5,   // agent -> host
  exit = 6,      // agent -> host: the workload's (or exec'd process's) exit code, as text
  kill = 7,      // host -> agent: signal number as text (the init, or the exec'd process)
  kill_all = 8,  // host -> agent: signal every process of the container
  update = 9,    // host -> agent: linux.resources JSON for the guest's container
  done = 10,     // agent -> host: kill/kill_all/update went through
  exec = 11,     // host -> agent: an exec request (vm/exec_request.h)
  out = 12,      // agent -> host: the exec'd process's stdout bytes
  err = 13,      // agent -> host: its stderr bytes
  waiting = 14,  // agent -> host: booted, waiting for a plan (only when building a VM template)
  in = 15,       // host -> agent: the exec'd process's stdin bytes; an empty payload ends it
  resize = 16,   // host -> agent: "ROWS COLS", the container terminal's new size (run's terminal)
  warm = 17,     // host -> agent: run the warm-up container once, before any plan (a pool's spare)
  warmed = 18,   // agent -> host: the warm-up container ran (payload: "" or why it did not)
};
const char* frame_type_name(FrameType t);

struct Frame {
  FrameType type{};
  std::string payload;
};

inline constexpr size_t kMaxFramePayload = 32u << 20;

std::string encode_frame(FrameType type, std::string_view payload = {});
// A resize frame's payload, "ROWS COLS"; decode is false for anything else.
std::string encode_window_size(unsigned rows, unsigned cols);
bool decode_window_size(const std::string& text, unsigned short* rows, unsigned short* cols);

class FrameReader {
 public:
  void feed(std::string_view bytes) { buf_.append(bytes); }
  // The next whole frame, nullopt while incomplete, or an Error for a malformed one.
  Result<std::optional<Frame>> next();
  size_t buffered() const { return buf_.size(); }

 private:
  std::string buf_;
};

}  // namespace ocelot::vm
