// Small file helpers that return Result instead of throwing: whole-file read and write, atomic
// replace (write a temp file, fsync-free rename), mkdir -p, rm -r. Used by every layer.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace ocelot::fs {

Result<std::string> read_file(const std::string& path);
// Everything left in fd (path: for the error); EFBIG past limit bytes.
Result<std::string> read_fd(int fd, const std::string& path, size_t limit = SIZE_MAX);
// Writes without O_CREAT|O_TRUNC surprises for kernel files: O_WRONLY only.
Status write_existing(const std::string& path, std::string_view data);
Status write_file(const std::string& path, std::string_view data, mode_t mode = 0644);
// write to "<path>.tmp-<pid>" then rename over path, so readers never see half a file.
Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0644);
Status mkdir_p(const std::string& path, mode_t mode = 0755);
// rm -r: symlinks are removed, never followed; a path that is not there is no error.
Status remove_tree(const std::string& path);
bool exists(const std::string& path);
bool is_dir(const std::string& path);  // follows symlinks
std::string join(std::string_view a, std::string_view b);
// Lexically clean an absolute path: collapse "//", ".", "..", never climbing above "/".
std::string clean_abs(std::string_view path);
std::string dirname(std::string_view path);
std::string basename(std::string_view path);

// The name /etc/passwd gives uid, else the number (no NSS: ocelot is linked statically).
std::string user_name(uid_t uid);

}  // namespace ocelot::fs
