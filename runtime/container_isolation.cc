// Container isolation: the Isolation interface over runtime/container.h.
#include "runtime/container.h"
#include "runtime/isolation.h"

namespace ocelot::runtime {

namespace {

class ContainerIsolation : public Isolation {
 public:
  explicit ContainerIsolation(Globals g) : g_(std::move(g)) {}
  IsolationKind kind() const override { return IsolationKind::container; }
  Status create(const CreateOptions& o) override {
    auto r = create_container(g_, o, LaunchMode::detached);
    if (!r) return std::move(r).error();
    return ok();
  }
  Status start(const std::string& id) override { return start_container(g_, id); }
  Result<int> run(const CreateOptions& o, bool detach, bool keep) override {
    return run_container(g_, o, detach, keep);
  }
  Result<int> exec(const ExecOptions& o) override { return exec_in_container(g_, o); }
  Status kill(const std::string& id, int sig, bool all) override { return kill_container(g_, id, sig, all); }
  Status remove(const std::string& id, bool force) override { return delete_container(g_, id, force); }
  Result<spec::State> state(const std::string& id) override { return container_state(g_, id); }
  Result<std::vector<pid_t>> pids(const std::string& id) override { return container_pids(g_, id); }
  Status pause(const std::string& id) override { return pause_container(g_, id); }
  Status resume(const std::string& id) override { return resume_container(g_, id); }
  Status update(const std::string& id, const spec::Resources& r) override { return update_container(g_, id, r); }
  Result<cgroups::Stats> stats(const std::string& id) override { return container_stats(g_, id); }

 private:
  Globals g_;
};

}  // namespace

std::unique_ptr<Isolation> make_container_isolation(const Globals& g) {
  return std::make_unique<ContainerIsolation>(g);
}

}  // namespace ocelot::runtime
