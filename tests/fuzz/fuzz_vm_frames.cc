// What crosses the VM boundary: frames in any split, and the guest plan and exec request they
// carry (the agent decodes what the host sends; a guest decodes nothing it did not ask for, but
// the codec must hold either way).
#include <cstddef>
#include <cstdint>
#include <string>

#include "vm/share/guest_config.h"
#include "vm/transport/exec_request.h"
#include "vm/transport/frame.h"

using namespace ocelot;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  vm::FrameReader r;
  size_t step = size ? (data[0] % 7) + 1 : 1;
  bool malformed = false;
  for (size_t i = 0; i < text.size() && !malformed; i += step) {
    r.feed(std::string_view(text).substr(i, step));
    for (;;) {
      auto f = r.next();
      if (!f) malformed = true;  // the stream is over: a reader never guesses past a bad frame
      if (!f || !*f) break;
      if ((*f)->type == vm::FrameType::plan) (void)vm::decode_guest_plan((*f)->payload);
      if ((*f)->type == vm::FrameType::exec) (void)vm::decode_exec((*f)->payload);
      auto again = vm::encode_frame((*f)->type, (*f)->payload);
      if (again.size() != (*f)->payload.size() + 5) __builtin_trap();
    }
  }
  (void)vm::decode_guest_plan(text);
  (void)vm::decode_exec(text);
  return 0;
}
