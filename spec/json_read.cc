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
  const auto& v = j.get_ref<const std::string&>();
  // The kernel reads C strings: "true\u0000garbage" would run `true`, "rootfs\u0000/../.." would
  // name "rootfs". Any embedded NUL is refused where the JSON is read, for every field.
  if (v.find('\0') != std::string::npos) return Error::make(path + ": must not contain a NUL byte (\\u0000)");
  out = v;
  return ok();
}

Status read(const json& j, const std::string& path, bool& out) {
  if (!j.is_boolean()) return type_error(path, "a boolean", j);
  out = j.get<bool>();
  return ok();
}

}  // namespace ocelot::spec::jr
