// The read side of a node's home, safe while `clearnode run` writes it (RocksDB secondary):
// `status`, `replay --home` (the block log re-executed from genesis or from the node's
// snapshot), `blocks` (the log as block files) and `export` (snapshot.hpp).
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

// Writes each block of the log as a block file (JSON Lines with its header line), OUT/HEIGHT.jsonl,
// so that `clearnode replay --genesis` (or any other implementation) can re-execute it.
int cmd_dump_blocks(const std::string& home, const std::string& out_dir, std::ostream& out, std::ostream& err);

}  // namespace clearnode::cli
