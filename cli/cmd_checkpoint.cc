// checkpoint and restore (runc's flags; runtime/criu.h says what CRIU is given).
#include "cli/commands.h"

namespace ocelot::cli {

namespace {

// The flags runc has that ocelot cannot honour here: refused by name, never dropped.
Status refuse_unsupported(const Flags& f) {
  for (const char* name : {"page-server", "status-fd", "lsm-profile", "lsm-mount-context"})
    if (f.has(name)) return Error::make(std::string("--") + name + " is not supported by ocelot");
  return ok();
}

runtime::CriuOptions criu_options(const Flags& f) {
  runtime::CriuOptions o;
  o.image_path = f.get("image-path");
  o.work_path = f.get("work-path");
  o.parent_path = f.get("parent-path");
  o.manage_cgroups_mode = f.get("manage-cgroups-mode");
  o.empty_ns = f.all("empty-ns");
  o.leave_running = f.on("leave-running");
  o.tcp_established = f.on("tcp-established");
  o.ext_unix_sk = f.on("ext-unix-sk");
  o.shell_job = f.on("shell-job");
  o.file_locks = f.on("file-locks");
  o.pre_dump = f.on("pre-dump");
  o.auto_dedup = f.on("auto-dedup");
  o.lazy_pages = f.on("lazy-pages");
  return o;
}

}  // namespace

Result<runtime::CreateOptions> create_options(const Flags& f, const char* command);

OCELOT_COMMAND(cmd_checkpoint) {
  OCL_CHECK(refuse_unsupported(f));
  auto id = OCL_TRY(one_id(f, "checkpoint"));
  OCL_CHECK(OCL_TRY(isolation::for_container(ctx.globals, id))->checkpoint(id, criu_options(f)));
  return 0;
}

OCELOT_COMMAND(cmd_restore) {
  OCL_CHECK(refuse_unsupported(f));
  auto o = OCL_TRY(create_options(f, "restore"));
  // --no-subreaper: ocelot never makes itself a subreaper; accepted as what it always does.
  return OCL_TRY(isolation::for_bundle(ctx.globals, ctx.isolation, o))->restore(o, criu_options(f), f.on("detach"));
}

}  // namespace ocelot::cli
