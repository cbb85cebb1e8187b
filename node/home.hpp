// A node's home directory: its layout, and the lock that keeps a second writer out.
//
//   DIR/state/          RocksDB: the state, and under '~' keys, in column families of their
//                       own, the block log (blocklog.hpp)
//   DIR/genesis.json    the genesis the state started from (replay starts here)
//   DIR/snapshot.bin    instead, for a node initialised from a snapshot (replay starts here)
//   DIR/inbox/          transaction files waiting for `clearnode run` (inbox.hpp)
//   DIR/rejected/       inbox files that did not parse, each with a NAME.error beside it
//   DIR/receipts/       one JSON Lines file of receipts per block, HEIGHT.jsonl
//   DIR/node.lock       held (flock) by the process that writes DIR/state
#pragma once

#include <memory>
#include <string>

namespace clearnode::cli {

std::string inbox_dir(const std::string& home);
std::string rejected_dir(const std::string& home);
std::string receipts_dir(const std::string& home);
std::string snapshot_copy_path(const std::string& home);
std::string receipts_path(const std::string& home, uint64_t height);

// Creates DIR for `init`: absent or empty, or else an error with `bad_input` set (a user's
// mistake, never overwritten). Empty on success, else the error.
std::string create_empty_home(const std::string& home, bool& bad_input);

// Creates DIR/inbox and DIR/receipts if missing. Empty on success, else the error.
std::string create_home_dirs(const std::string& home);

// An exclusive lock on DIR/node.lock for the life of the object (released by the kernel if
// the process dies, so a killed node never leaves a stale lock behind).
class HomeLock {
public:
    // The lock, or nullptr and `error` naming the process that holds it.
    static std::unique_ptr<HomeLock> acquire(const std::string& home, std::string& error);
    ~HomeLock();
    HomeLock(const HomeLock&) = delete;
    HomeLock& operator=(const HomeLock&) = delete;

private:
    explicit HomeLock(int fd) : fd_(fd) {}
    int fd_;
};

// Writes `text` to `path` through a temporary name in the same directory, fsynced, then
// renamed over `path` and the directory fsynced: readers see the old file or the whole new
// one. Empty on success, else the error.
std::string write_file_atomically(const std::string& path, const std::string& text);

// fsync of a directory, so that a rename or unlink in it is durable.
std::string sync_directory(const std::string& dir);

}  // namespace clearnode::cli
