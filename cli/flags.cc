#include "cli/flags.h"

#define CXXOPTS_VECTOR_DELIMITER '\0'  // "-e A=1,2" is one value, not two
#define CXXOPTS_NO_REGEX 1             // std::regex costs ~1M instructions at start-up
#include <cxxopts.hpp>

namespace ocelot::cli {

bool Flags::on(const std::string& n) const {
  auto it = values.find(n);
  return it != values.end() && !it->second.empty() && it->second.back() == "true";
}

std::string Flags::get(const std::string& n, const std::string& def) const {
  auto it = values.find(n);
  return it == values.end() || it->second.empty() ? def : it->second.back();
}

std::vector<std::string> Flags::all(const std::string& n) const {
  auto it = values.find(n);
  return it == values.end() ? std::vector<std::string>{} : it->second;
}

static const FlagDef* find_long(const std::vector<FlagDef>& defs, const std::string& name) {
  for (const auto& d : defs)
    if (name == d.name) return &d;
  return nullptr;
}

static const FlagDef* find_short(const std::vector<FlagDef>& defs, const std::string& name) {
  for (const auto& d : defs)
    if (name == d.short_name && name[0]) return &d;
  return nullptr;
}

static std::string fix_quotes(std::string s) {
  for (const char* q : {"\xe2\x80\x98", "\xe2\x80\x99"}) {
    size_t p;
    while ((p = s.find(q)) != std::string::npos) s.replace(p, 3, "\"");
  }
  return s;
}

Result<Flags> parse_flags(const std::string& command, const std::vector<FlagDef>& defs,
                          const std::vector<std::string>& in, bool stop_after_first) {
  // Normalise Go-style "-name" to "--name", and split off the workload's args.
  std::vector<std::string> opts, tail;
  bool positional_seen = false;
  for (size_t i = 0; i < in.size(); ++i) {
    std::string a = in[i];
    if (positional_seen && stop_after_first) {
      tail.push_back(a);
      continue;
    }
    if (a == "--") {
      for (size_t j = i + 1; j < in.size(); ++j) tail.push_back(in[j]);
      break;
    }
    if (a.size() > 2 && a[0] == '-' && a[1] != '-') {
      std::string name = a.substr(1, a.find('=') == std::string::npos ? std::string::npos : a.find('=') - 1);
      if (find_long(defs, name) || name == "help") a = "-" + a;
    }
    if (a.size() > 1 && a[0] == '-') {
      opts.push_back(a);
      // A value flag given as "--name value" (or "-n value") takes the next word with it.
      bool is_long = a.rfind("--", 0) == 0;
      std::string name = is_long ? a.substr(2, a.find('=') == std::string::npos ? std::string::npos : a.find('=') - 2)
                                 : a.substr(1, 1);
      const FlagDef* d = is_long ? find_long(defs, name) : find_short(defs, name);
      bool inline_value = is_long ? a.find('=') != std::string::npos : a.size() > 2;
      if (d && d->kind != FlagDef::Bool && !inline_value && i + 1 < in.size()) opts.push_back(in[++i]);
      continue;
    }
    positional_seen = true;
    if (stop_after_first)
      tail.push_back(a);
    else
      opts.push_back(a);
  }

  cxxopts::Options o("ocelot " + command);
  auto add = o.add_options();
  for (const auto& d : defs) {
    std::string spec = d.short_name[0] ? std::string(d.short_name) + "," + d.name : d.name;
    if (d.kind == FlagDef::Bool)
      add(spec, d.help, cxxopts::value<bool>()->default_value("false")->implicit_value("true"));
    else if (d.kind == FlagDef::Value)
      add(spec, d.help, cxxopts::value<std::string>());
    else
      add(spec, d.help, cxxopts::value<std::vector<std::string>>());
  }
  add("h,help", "show help");
  add("positional", "", cxxopts::value<std::vector<std::string>>());
  o.parse_positional({"positional"});

  std::vector<std::string> argv_s = {"ocelot"};
  argv_s.insert(argv_s.end(), opts.begin(), opts.end());
  std::vector<const char*> argv;
  for (auto& s : argv_s) argv.push_back(s.c_str());
  Flags f;
  try {
    auto r = o.parse(static_cast<int>(argv.size()), argv.data());
    for (const auto& d : defs) {
      if (!r.count(d.name)) continue;
      if (d.kind == FlagDef::Bool)
        f.values[d.name] = {r[d.name].as<bool>() ? "true" : "false"};
      else if (d.kind == FlagDef::Value)
        f.values[d.name] = {r[d.name].as<std::string>()};
      else
        f.values[d.name] = r[d.name].as<std::vector<std::string>>();
    }
    if (r.count("help")) f.values["help"] = {"true"};
    if (r.count("positional")) f.args = r["positional"].as<std::vector<std::string>>();
  } catch (const cxxopts::exceptions::exception& e) {
    return Error::make(command + ": " + fix_quotes(e.what()));
  }
  f.args.insert(f.args.end(), tail.begin(), tail.end());
  return f;
}

std::string flags_help(const std::string& command, const std::string& usage, const std::vector<FlagDef>& defs) {
  std::string out = "usage: ocelot " + command + " " + usage + "\n";
  if (!defs.empty()) out += "\noptions:\n";
  for (const auto& d : defs) {
    std::string left = "  ";
    left += d.short_name[0] ? std::string("-") + d.short_name + ", " : "    ";
    left += std::string("--") + d.name + (d.kind == FlagDef::Bool ? "" : " value");
    if (left.size() < 32) left.resize(32, ' ');
    out += left + " " + d.help + "\n";
  }
  return out;
}

}  // namespace ocelot::cli
