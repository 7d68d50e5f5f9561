// A writer of "newc" cpio archives, the format the kernel unpacks as an initramfs. Pure: builds
// the archive in memory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ocelot::vm {

class CpioWriter {
 public:
  void dir(std::string_view path, uint32_t mode = 0755);
  void file(std::string_view path, std::string_view data, uint32_t mode = 0644);
  // Writes the trailer; the archive is complete after this.
  std::string finish();

 private:
  void entry(std::string_view path, uint32_t mode, std::string_view data);
  std::string out_;
  uint32_t ino_ = 1;
};

}  // namespace ocelot::vm
