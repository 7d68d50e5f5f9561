#include "spec/json_read.h"

namespace ocelot::spec::jr {

std::string describe(const json& j) {
  if (j.is_object()) return "an object";
  if (j.is_array()) return "an array";
  std::string s = j.dump();
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

Status read(const json& j, const std::string& path, std::string& out) {
  if (!j.is_string()) return type_error(path, "a string", j);
  out = j.get<std::string>();
  return ok();
}

Status read(const json& j, const std::string& path, bool& out) {
  if (!j.is_boolean()) return type_error(path, "a boolean", j);
  out = j.get<bool>();
  return ok();
}

}  // namespace ocelot::spec::jr
