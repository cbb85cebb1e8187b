// `clearnode run`: the long-running node. It admits transaction files from DIR/inbox/, forms a
// block every `block_ms` or at `block_txs` admitted transactions, commits each block in one
// atomic write with its log entry (blocklog.hpp), then publishes its receipts and a status
// line. SIGINT/SIGTERM: the block in progress is committed, then the node exits 0.
#pragma once

#include "node/open.hpp"

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace clearnode::cli {

struct RunOptions {
    std::string home;
    int64_t block_ms = 500;
    size_t block_txs = 10'000;
    unsigned verify_threads = 1;
    bool json_log = false;
    StartOptions start;
};

int cmd_run(const RunOptions& options, std::ostream& out, std::ostream& err);

}  // namespace clearnode::cli
