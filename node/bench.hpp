// `clearnode bench`: generates a genesis, keys and signed transactions (untimed), then measures
// in one run the machine's limits (Ed25519 verification, RocksDB puts, BLAKE2b), the node's
// signed and pre-verified throughput against them, the cost of apply and of the state root,
// block commit latency, memory and disk. Prints a table, or one JSON object with --json.
#pragma once

#include "state/record_layers.hpp"

#include <cstddef>
#include <iosfwd>
#include <string>

namespace clearnode::cli {

struct BenchOptions {
    size_t accounts = 1'000'000;
    size_t txs = 1'000'000;
    size_t block_txs = 10'000;
    unsigned threads = 1;
    std::string mix = "transfer,open";
    std::string skew = "zipf";
    bool json = false;
    // The signed run writes the node's block log with each block (the block, its receipts'
    // lines, the transaction index), as `apply --home` and `run` do; the pre-verified run never
    // does (replay reads the log it has).
    bool block_log = true;
    std::string dir;  // where the databases go; empty: a new directory in the temp directory
    size_t cache_mb = 256;
    size_t record_cache_mb = CommittedRecords::bytes_max_default >> 20;
};

int cmd_bench(const BenchOptions& options, std::ostream& out, std::ostream& err);

}  // namespace clearnode::cli
