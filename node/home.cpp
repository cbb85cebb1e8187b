#include "node/home.hpp"

#include "node/files.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace clearnode::cli {

std::string inbox_dir(const std::string& home) { return home + "/inbox"; }
std::string rejected_dir(const std::string& home) { return home + "/rejected"; }
std::string receipts_dir(const std::string& home) { return home + "/receipts"; }
std::string snapshot_copy_path(const std::string& home) { return home + "/snapshot.bin"; }

std::string receipts_path(const std::string& home, uint64_t height) {
    char name[32];
    std::snprintf(name, sizeof name, "%012llu.jsonl", static_cast<unsigned long long>(height));
    return receipts_dir(home) + "/" + name;
}

std::string create_empty_home(const std::string& home, bool& bad_input) {
    std::error_code ec;
    bad_input = std::filesystem::exists(home, ec) && !std::filesystem::is_empty(home, ec);
    if (bad_input) return home + ": not empty; refusing to initialise over it";
    std::filesystem::create_directories(home, ec);
    return ec ? home + ": " + ec.message() : std::string{};
}

std::string create_home_dirs(const std::string& home) {
    for (const auto& dir : {inbox_dir(home), receipts_dir(home)}) {
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec) return dir + ": " + ec.message();
    }
    return {};
}

std::unique_ptr<HomeLock> HomeLock::acquire(const std::string& home, std::string& error) {
    const std::string path = home + "/node.lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        error = path + ": " + std::strerror(errno);
        return nullptr;
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = {};
        const ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
        std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : std::string("?");
        while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
        error = home + " is in use by another clearnode process (pid " + holder + ", lock " + path + ")";
        ::close(fd);
        return nullptr;
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        error = path + ": " + std::strerror(errno);
        ::close(fd);
        return nullptr;
    }
    return std::unique_ptr<HomeLock>(new HomeLock(fd));
}

HomeLock::~HomeLock() { ::close(fd_); }

std::string sync_directory(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return dir + ": " + std::strerror(errno);
    const int rc = ::fsync(fd);
    const int saved = errno;
    ::close(fd);
    return rc == 0 ? std::string{} : dir + ": fsync: " + std::strerror(saved);
}

std::string write_file_atomically(const std::string& path, const std::string& text) {
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    // A dot name: readers of the directory skip it; the pid keeps two writers apart.
    const std::string temp = dir + "/.tmp-" + std::to_string(::getpid()) + "-" + base;
    ::unlink(temp.c_str());
    if (auto error = write_new_file(temp, text, 0644); !error.empty()) return error;
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        const std::string error = path + ": rename: " + std::strerror(errno);
        ::unlink(temp.c_str());
        return error;
    }
    return sync_directory(dir);
}

}  // namespace clearnode::cli
