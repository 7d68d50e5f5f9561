#include "vm/vmm/cpio.h"

#include <sys/stat.h>

#include <cstdio>

namespace ocelot::vm {

static void pad4(std::string& s) {
  while (s.size() % 4) s.push_back('\0');
}

void CpioWriter::entry(std::string_view path, uint32_t mode, std::string_view data) {
  char hdr[111];
  std::snprintf(hdr, sizeof hdr, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino_++, mode, 0u, 0u, 1u,
                0u, static_cast<unsigned>(data.size()), 0u, 0u, 0u, 0u, static_cast<unsigned>(path.size() + 1), 0u);
  out_.append(hdr, 110);
  out_.append(path);
  out_.push_back('\0');
  pad4(out_);
  out_.append(data);
  pad4(out_);
}

void CpioWriter::dir(std::string_view path, uint32_t mode) { entry(path, S_IFDIR | mode, {}); }
void CpioWriter::file(std::string_view path, std::string_view data, uint32_t mode) {
  entry(path, S_IFREG | mode, data);
}

std::string CpioWriter::finish() {
  entry("TRAILER!!!", 0, {});
  return std::move(out_);
}

}  // namespace ocelot::vm
