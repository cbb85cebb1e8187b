// Blocks known ahead (block files, a node's block log, bench's workload) are applied with
// their signatures verified ahead: while the calling thread applies and commits block n, the
// pool verifies blocks n+1 .. n+lookahead. The state transition stays on the calling thread,
// in block order; a check depends on nothing but its transaction and the chain id, so the
// receipts and roots are those of verifying each block just before applying it.
#pragma once

#include "clearing/engine.hpp"
#include "crypto/worker_pool.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <span>

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
// Applies and commits one block with its checks (one per transaction); false stops.
using ApplyChecked = std::function<bool(const Block& block, std::span<const SignatureCheck> checks)>;

// Applies every block `next` gives, in order, through `apply`; false when `apply` stopped it.
bool apply_verified_ahead(const Engine& engine, WorkerPool& pool, const NextBlock& next, const ApplyChecked& apply);

}  // namespace clearnode::cli
