// Blocks known ahead (block files, a node's block log, bench's workload) are applied in a
// pipeline of three stages, each on its own thread(s):
//   verify  blocks n+2, n+1 on the pool (n+1 .. n+lookahead), digests included;
//   execute block n+1 on the calling thread, over the records of block n;
//   commit  block n (its state-root update and the store's atomic write) on a committer thread.
// Block n is finished (it becomes the committed state and its result is reported) before block
// n+1 is encoded against it. The state transition stays on the calling thread, in block order;
// a check depends on nothing but its transaction and the chain id, and a commit on nothing but
// its block's entries: the receipts and roots are those of applying each block by itself.
#pragma once

#include "clearing/engine.hpp"
#include "crypto/worker_pool.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace clearnode::cli {

// How many blocks are verified ahead of the one being applied: one keeps the workers busy
// while a block is applied; the second covers a block that applies faster than the others.
constexpr size_t verify_lookahead = 2;

// Workers of the pool for `threads` verification threads while the calling thread applies
// blocks (threads - 1: the calling thread verifies too whenever it waits for a block's checks).
unsigned verify_workers(unsigned threads);

// The next block, or nothing when there is none (or when reading it failed: the caller keeps
// the error). Called on the calling thread, up to `verify_lookahead` blocks ahead of apply.
using NextBlock = std::function<std::optional<Block>()>;

// What the caller adds to each block, on the calling thread.
struct BlockSteps {
    // The bookkeeping to commit with the block (may be empty; it runs on the committer).
    std::function<BookkeepingWrites(const Block& block)> bookkeeping;
    // The block is committed: report it; false stops (after it).
    std::function<bool(const Block& block, const BlockResult& result)> committed;
    // Every signature check is taken as passed, none is computed: for replaying blocks one
    // verified before (bench's pre-verified run).
    bool signatures_trusted = false;
};

struct PipelineFailure {
    uint64_t height = 0;  // the block that failed
    std::string error;
};

// Applies every block `next` gives, in order; true when all are committed and reported. On a
// failure, every block before the failed one is committed and was reported, and nothing of it
// or after it is; `failure` says which and why (empty when `committed` stopped the run).
bool apply_verified_ahead(Engine& engine, WorkerPool& pool, const NextBlock& next, const BlockSteps& steps,
                          PipelineFailure& failure);

}  // namespace clearnode::cli
