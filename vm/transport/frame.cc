#include "vm/transport/frame.h"

#include <cstdio>

namespace ocelot::vm {

const char* frame_type_name(FrameType t) {
  switch (t) {
    case FrameType::plan: return "plan";
    case FrameType::ready: return "ready";
    case FrameType::error: return "error";
    case FrameType::start: return "start";
    case FrameType::started: return "started";
    case FrameType::exit: return "exit";
    case FrameType::kill: return "kill";
    case FrameType::kill_all: return "kill-all";
    case FrameType::update: return "update";
    case FrameType::done: return "done";
    case FrameType::exec: return "exec";
    case FrameType::out: return "out";
    case FrameType::err: return "err";
    case FrameType::waiting: return "waiting";
    case FrameType::in: return "in";
    case FrameType::resize: return "resize";
    case FrameType::warm: return "warm";
    case FrameType::warmed: return "warmed";
  }
  return "unknown";
}

std::string encode_frame(FrameType type, std::string_view payload) {
  std::string f;
  f.reserve(5 + payload.size());
  f += static_cast<char>(type);
  uint32_t n = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) f += static_cast<char>((n >> (8 * i)) & 0xff);
  f.append(payload);
  return f;
}

Result<std::optional<Frame>> FrameReader::next() {
  if (buf_.size() < 5) return std::optional<Frame>();
  uint8_t t = static_cast<uint8_t>(buf_[0]);
  if (t < static_cast<uint8_t>(FrameType::plan) || t > static_cast<uint8_t>(FrameType::warmed))
    return Error::make("malformed frame: unknown type " + std::to_string(t));
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(static_cast<uint8_t>(buf_[1 + i])) << (8 * i);
  if (n > kMaxFramePayload)
    return Error::make("malformed frame: payload of " + std::to_string(n) + " bytes is over the limit");
  if (buf_.size() < 5 + static_cast<size_t>(n)) return std::optional<Frame>();
  Frame f{static_cast<FrameType>(t), buf_.substr(5, n)};
  buf_.erase(0, 5 + static_cast<size_t>(n));
  return std::optional<Frame>(std::move(f));
}

std::string encode_window_size(unsigned rows, unsigned cols) {
  return std::to_string(rows) + " " + std::to_string(cols);
}

bool decode_window_size(const std::string& text, unsigned short* rows, unsigned short* cols) {
  unsigned r = 0, c = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%u %u%c", &r, &c, &extra) != 2 || r >= 65536 || c >= 65536) return false;
  *rows = static_cast<unsigned short>(r);
  *cols = static_cast<unsigned short>(c);
  return true;
}

}  // namespace ocelot::vm
