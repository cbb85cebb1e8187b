// The read side of a node's home, safe while `clearnode run` writes it (RocksDB secondary):
// `status`, `replay --home` (the block log re-executed from genesis or from the node's
// snapshot) and `export` (a snapshot of the state at its height).
#pragma once

#include <iosfwd>
#include <string>

namespace clearnode::cli {

int cmd_status(const std::string& home, std::ostream& out, std::ostream& err);

struct LogReplayOptions {
    std::string home;
    bool verify = false;     // compare every block hash and root with the ones the node published
    unsigned verify_threads = 1;
    bool progress = false;   // a progress line on `err` (a terminal)
};
int cmd_replay_log(const LogReplayOptions& options, std::ostream& out, std::ostream& err);

}  // namespace clearnode::cli
