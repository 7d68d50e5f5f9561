#include "vm/transport/exec_request.h"

#include <nlohmann/json.hpp>

namespace ocelot::vm {

using nlohmann::json;

std::string encode_exec(const runtime::ExecOptions& o, const std::string& process_text) {
  json j = {{"id", o.id},
            {"process", process_text},
            {"args", o.args},
            {"env", o.env},
            {"cwd", o.cwd},
            {"user", o.user},
            {"additionalGids", o.additional_gids},
            {"caps", o.caps},
            {"noNewPrivileges", o.no_new_privs},
            {"tty", o.tty},
            {"ttySet", o.tty_set},
            {"apparmor", o.apparmor},
            {"processLabel", o.process_label}};
  return j.dump();
}

Result<ExecRequest> decode_exec(const std::string& line) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error::make("malformed exec request from the host");
  ExecRequest r;
  try {
    r.options.id = j.at("id").get<std::string>();
    r.process_text = j.at("process").get<std::string>();
    r.options.args = j.at("args").get<std::vector<std::string>>();
    r.options.env = j.at("env").get<std::vector<std::string>>();
    r.options.cwd = j.at("cwd").get<std::string>();
    r.options.user = j.at("user").get<std::string>();
    r.options.additional_gids = j.at("additionalGids").get<std::vector<uint32_t>>();
    r.options.caps = j.at("caps").get<std::vector<std::string>>();
    r.options.no_new_privs = j.at("noNewPrivileges").get<bool>();
    r.options.tty = j.at("tty").get<bool>();
    r.options.tty_set = j.at("ttySet").get<bool>();
    r.options.apparmor = j.at("apparmor").get<std::string>();
    r.options.process_label = j.at("processLabel").get<std::string>();
  } catch (const json::exception&) {
    return Error::make("malformed exec request from the host");
  }
  return r;
}

bool exec_wants_terminal(const runtime::ExecOptions& o, const std::string& process_text) {
  if (process_text.empty()) return o.tty_set && o.tty;
  json p = json::parse(process_text, nullptr, false);
  auto t = p.is_object() ? p.find("terminal") : p.end();
  return t != p.end() && t->is_boolean() && t->get<bool>();
}

}  // namespace ocelot::vm
