#include "base/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "base/unique_fd.h"

namespace ocelot::fs {

Result<std::string> read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Error::last("open \"" + path + "\"");
  return read_fd(fd.get(), path);
}

Result<std::string> read_fd(int fd, const std::string& path, size_t limit) {
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::last("read \"" + path + "\"");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > limit) return Error::sys(EFBIG, "read \"" + path + "\"");
  }
  return out;
}

static Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::last("write \"" + path + "\"");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

Status write_existing(const std::string& path, std::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return Error::last("open \"" + path + "\"");
  return write_all(fd.get(), data, path);
}

Status write_file(const std::string& path, std::string_view data, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) return Error::last("open \"" + path + "\"");
  return write_all(fd.get(), data, path);
}

Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode) {
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  if (auto s = write_file(tmp, data, mode); !s) {
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = Error::last("rename \"" + tmp + "\" to \"" + path + "\"");
    ::unlink(tmp.c_str());
    return e;
  }
  return ok();
}

Status mkdir_p(const std::string& path, mode_t mode) {
  if (path.empty()) return ok();
  std::string cur;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    cur = path.substr(0, j);
    i = j + 1;
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) return Error::last("mkdir \"" + cur + "\"");
  }
  return ok();
}

Status remove_tree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT ? ok() : Error::last("stat \"" + path + "\"");
  if (S_ISDIR(st.st_mode)) {
    if (DIR* d = ::opendir(path.c_str())) {
      std::vector<std::string> names;
      while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
      }
      ::closedir(d);
      for (auto& n : names) OCL_CHECK(remove_tree(path + "/" + n));
    }
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) return Error::last("remove \"" + path + "\"");
    return ok();
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Error::last("remove \"" + path + "\"");
  return ok();
}

bool is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string join(std::string_view a, std::string_view b) {
  std::string out(a);
  if (out.empty() || out.back() != '/') out += '/';
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  out += b;
  return out;
}

std::string clean_abs(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view p = path.substr(i, j - i);
    i = j + 1;
    if (p.empty() || p == ".") continue;
    if (p == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(p);
  }
  std::string out;
  for (auto p : parts) {
    out += '/';
    out += p;
  }
  return out.empty() ? "/" : out;
}

std::string dirname(std::string_view path) {
  auto pos = path.rfind('/');
  if (pos == std::string_view::npos) return ".";
  if (pos == 0) return "/";
  return std::string(path.substr(0, pos));
}

std::string basename(std::string_view path) {
  auto pos = path.rfind('/');
  return std::string(pos == std::string_view::npos ? path : path.substr(pos + 1));
}

std::string user_name(uid_t uid) {
  std::string id = std::to_string(uid);
  auto text = read_file("/etc/passwd");
  if (!text) return id;
  // name:password:uid:...
  size_t i = 0;
  while (i < text->size()) {
    size_t end = text->find('\n', i);
    if (end == std::string::npos) end = text->size();
    std::string_view line(text->data() + i, end - i);
    i = end + 1;
    size_t a = line.find(':');
    size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    size_t c = b == std::string_view::npos ? b : line.find(':', b + 1);
    if (c != std::string_view::npos && line.substr(b + 1, c - b - 1) == id) return std::string(line.substr(0, a));
  }
  return id;
}

}  // namespace ocelot::fs
