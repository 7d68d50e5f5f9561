#include "isolation/registry.h"

#include <sys/stat.h>

#include "base/fs.h"
#include "runtime/container_backend.h"
#include "spec/parse.h"
#include "vm/vm_backend.h"

namespace ocelot::isolation {

const std::vector<Entry>& backends() {
  static const std::vector<Entry> table = {
      {"container", "Linux namespaces and cgroups on the host's kernel", runtime::make_container_backend},
      {"vm", "a QEMU guest with its own kernel (KVM, else TCG)", vm::make_vm_backend},
  };
  return table;
}

const Entry* find(const std::string& name) {
  for (const auto& e : backends())
    if (name == e.name) return &e;
  return nullptr;
}

namespace {

// The annotation's value, "" without one. On every create: a substring search spares the common
// case a second parse.
std::string annotated(runtime::CreateOptions& o) {
  std::string path = o.bundle + "/config.json";
  struct stat st;
  // Missing or too large: create reports it (and never reads a huge file).
  if (::stat(path.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) > spec::kMaxConfigBytes) return "";
  auto text = fs::read_file(path);
  if (!text) return "";
  o.config_text = std::move(*text);
  if (o.config_text.find(kAnnotation) == std::string::npos) return "";
  auto c = spec::parse_config(o.config_text);
  if (!c) return "";  // create reports the config's error itself
  auto it = c->annotations.find(kAnnotation);
  return it == c->annotations.end() ? "" : it->second;
}

std::unique_ptr<runtime::Lifecycle> lifecycle(const runtime::Globals& g, const Entry& e) {
  return std::make_unique<runtime::Lifecycle>(g, e.make(g));
}

}  // namespace

Result<std::unique_ptr<runtime::Lifecycle>> for_bundle(const runtime::Globals& g, const std::string& requested,
                                                       runtime::CreateOptions& o) {
  std::string name = requested.empty() ? annotated(o) : requested;
  if (name.empty()) name = "container";
  const Entry* e = find(name);
  if (!e)
    return Error::make((requested.empty() ? std::string("annotation ") + kAnnotation : std::string("--isolation")) +
                       ": unknown isolation " + quote(name));
  return lifecycle(g, *e);
}

Result<std::unique_ptr<runtime::Lifecycle>> for_container(const runtime::Globals& g, const std::string& id) {
  runtime::StateStore store(g.root);
  auto s = store.load(id);
  if (!s) return lifecycle(g, backends()[0]);
  const Entry* e = find(s->backend);
  if (!e)
    return Error::make("container " + quote(id) + " was made by isolation " + quote(s->backend) +
                       ", which this ocelot does not have");
  return lifecycle(g, *e);
}

}  // namespace ocelot::isolation
