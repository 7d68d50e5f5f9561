// Small string helpers every layer uses: splitting on a separator, and the NULL-ended char*
// arrays execve(2) takes, built from strings that outlive them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ocelot {

// Every field between separators, empty ones included ("a::b" -> a, "", b).
std::vector<std::string> split(std::string_view s, char sep);

// argv or envp for execve: pointers into `strings`, which must outlive this.
class CStrings {
 public:
  explicit CStrings(std::vector<std::string>& strings) {
    for (auto& s : strings) ptrs_.push_back(s.data());
    ptrs_.push_back(nullptr);
  }
  char** data() { return ptrs_.data(); }

 private:
  std::vector<char*> ptrs_;
};

}  // namespace ocelot
