// The state-transition function: a pure function of (committed state, block).
//
// It reads and writes only through the Store interface, never a clock, a random source, a
// file or the environment. One block is applied against an overlay and committed in one
// atomic write with its height, block hash and state root, so a block is either wholly in
// the store or not at all.
#pragma once

#include "clearing/receipt.hpp"
#include "crypto/worker_pool.hpp"
#include "ledger/genesis.hpp"
#include "ledger/tx.hpp"
#include "state/commitment.hpp"
#include "state/record_layers.hpp"
#include "state/records.hpp"
#include "state/store.hpp"

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace clearnode {

struct BlockResult {
    BlockHeader header;
    Hash32 block_hash{};
    Hash32 state_root{};
    std::vector<Receipt> receipts;
    size_t ok_count() const;
    size_t rejected_count() const { return receipts.size() - ok_count(); }
};

// Signature checks of one transaction, computed before apply (in parallel, or trusted when
// replaying one's own verified block log).
struct SignatureCheck {
    bool envelope_ok = false;
    bool maker_ok = true;  // only `open` carries a maker order
};

using PendingChecks = WorkerPool::PendingValues<SignatureCheck>;

// Bookkeeping that commits in the same atomic write as a block (the node's block log, its
// tx-hash index, its receipts): given the block's result (hash and state root included), the
// writes to add. Every key must be a bookkeeping key ('~'), outside the state root.
using BookkeepingWrites = std::function<WriteSet(const BlockResult& result)>;

// The stages of applying one block, in order. The engine reports the end of each to a
// listener so that the node can time them; clearing itself never reads a clock.
enum class BlockStage : uint8_t {
    executed,      // every transaction applied to the block's record layer
    encoded,       // the changed records encoded into the store's entries
    root_updated,  // the state commitment folded over the changed entries
    committed,     // the store's atomic write returned
};
using BlockStageListener = std::function<void(BlockStage)>;

class Engine {
public:
    // Writes the genesis state (height 0) into an empty store and commits it.
    static std::unique_ptr<Engine> genesis(Store& store, const Genesis& genesis, std::string& error);
    // An engine over a store that holds a committed state. With verify_root, the state root
    // is recomputed from every entry (O(state)) and must match the stored accumulator;
    // without, opening reads the singletons and markets only (O(markets)).
    static std::unique_ptr<Engine> open(Store& store, bool verify_root, std::string& error);

    // Applies and commits one block. The header must have height = height() + 1 and a time
    // not before time_ms(); otherwise nothing is applied and `error` says why.
    std::optional<BlockResult> apply_block(const Block& block, unsigned verify_threads, std::string& error);
    // As apply_block, with the signature checks already made (one per transaction).
    // With `bookkeeping`, its writes commit atomically with the block's state. `tx_hashes`:
    // tx_hash of each transaction when the caller has them already (a node's admission hashed
    // them to find duplicates), trusted as the checks are; empty: hashed here.
    std::optional<BlockResult> apply_block_checked(const Block& block, std::span<const SignatureCheck> checks,
                                                   std::string& error, const BookkeepingWrites& bookkeeping = {},
                                                   std::span<const Hash32> tx_hashes = {});

    // RULES §6's checks before the rules (signature, authority, nonce) of `tx` against `view`,
    // changing nothing: what apply runs first, and what a node's admission runs.
    Reason precheck(const RecordReader& view, const Tx& tx, const SignatureCheck& check) const;

    // Signature checks of every transaction of `txs`, one per transaction in their order,
    // computed (digests included) on `pool`'s workers and the calling thread; the result does
    // not depend on the number of workers.
    std::vector<SignatureCheck> check_signatures(std::span<const Tx> txs, WorkerPool& pool) const;
    // The same, started now and collected with get(), so that a node verifies the next block
    // while it applies this one. `txs` must outlive the result; the checks read nothing that
    // applying a block changes.
    PendingChecks start_signature_checks(std::span<const Tx> txs, WorkerPool& pool) const;
    // The same on `threads` threads (the caller's included) of a pool made for this call.
    std::vector<SignatureCheck> check_signatures(std::span<const Tx> txs, unsigned threads) const;

    uint64_t height() const { return chain_.height; }
    int64_t time_ms() const { return chain_.time_ms; }
    const Hash32& last_block_hash() const { return chain_.last_block_hash; }
    Hash32 state_root() const { return commitment_.root(); }
    const ConfigRecord& config() const { return config_; }
    const StateReader& state() const { return store_; }
    // The committed records, typed (decoded once and kept for the next blocks). Reads fill a
    // cache: use from the thread that applies blocks.
    const CommittedRecords& records() const { return *records_; }
    // Threads for hashing the transactions, encoding the changes and updating the state root of
    // each block (no result depends on them): the applying thread and threads - 1 helpers, and
    // with more than one, a helper of its own for the early leaf removals. The engine keeps its
    // helpers from block to block. Call between blocks.
    void set_threads(unsigned threads);
    // Bounds the memory of the committed records kept decoded between blocks, in bytes (results
    // do not depend on it).
    void set_record_cache_bytes(size_t bytes_max) { records_ = std::make_unique<CommittedRecords>(store_, bytes_max); }
    // Called at the end of each stage of every block applied from now on (empty: none).
    void set_stage_listener(BlockStageListener listener) { stage_listener_ = std::move(listener); }

private:
    Engine(Store& store, ConfigRecord config, ChainRecord chain, StateCommitment commitment);
    // `hash`: tx_hash(tx), computed beforehand with the block's others.
    Receipt apply_tx(BlockLayer& block_view, const Tx& tx, const Hash32& hash, const SignatureCheck& check,
                     int64_t block_time_ms);
    // `early_removals`: the committed leaves block_view's first writes removed (or null), merged
    // into the root after the block's changes.
    std::string commit(BlockLayer& block_view, EarlyLeafRemovals* early_removals, const ChainRecord& next_chain,
                       BlockResult& result, const BookkeepingWrites& bookkeeping);
    void stage_done(BlockStage stage) const {
        if (stage_listener_) stage_listener_(stage);
    }

    Store& store_;
    ConfigRecord config_;
    ChainRecord chain_;
    StateCommitment commitment_;
    std::unique_ptr<CommittedRecords> records_;
    BlockStageListener stage_listener_;
    std::unique_ptr<WorkerPool> helpers_;          // threads - 1 workers; never null
    std::unique_ptr<WorkerPool> removals_helper_;  // one worker, held by a block's EarlyLeafRemovals; null: none
};

}  // namespace clearnode
