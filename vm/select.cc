#include "vm/select.h"

#include <sys/stat.h>

#include "base/fs.h"
#include "spec/parse.h"
#include "vm/vm_isolation.h"

namespace ocelot::vm {

static bool bundle_wants_vm(runtime::CreateOptions& o) {
  // On every container create: a substring search spares the container path a second parse.
  std::string path = o.bundle + "/config.json";
  struct stat st;
  // Missing or too large: create reports it (and never reads a huge file).
  if (::stat(path.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) > spec::kMaxConfigBytes) return false;
  auto text = fs::read_file(path);
  if (!text) return false;
  o.config_text = std::move(*text);
  if (o.config_text.find(kIsolationAnnotation) == std::string::npos) return false;
  auto c = spec::parse_config(o.config_text);
  if (!c) return false;  // create reports the config's error itself
  auto it = c->annotations.find(kIsolationAnnotation);
  return it != c->annotations.end() && it->second == "vm";
}

std::unique_ptr<runtime::Isolation> isolation_for_bundle(const runtime::Globals& g, Requested requested,
                                                         runtime::CreateOptions& o) {
  bool vm = requested == Requested::vm || (requested == Requested::unset && bundle_wants_vm(o));
  return vm ? make_vm_isolation(g) : runtime::make_container_isolation(g);
}

std::unique_ptr<runtime::Isolation> isolation_for_container(const runtime::Globals& g, const std::string& id) {
  runtime::StateStore store(g.root);
  auto s = store.load(id);
  if (s && s->isolation == runtime::IsolationKind::vm) return make_vm_isolation(g);
  return runtime::make_container_isolation(g);
}

}  // namespace ocelot::vm
