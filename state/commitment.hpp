// The state root of RULES §11.
//
// The root commits to the set of (key, value) state entries through a homomorphic lattice
// hash (LtHash, Bellare-Micciancio; parameters of Lewi et al., "Securing Update Propagation
// with Homomorphic Hashing", 2019): every entry maps to 1024 lanes of 16 bits, and the
// accumulator is their lane-wise sum mod 2^16. Adding and removing an entry costs one leaf
// hash whatever the size of the state, and the sum does not depend on the order in which
// entries were written or on the backend that holds them.
//
//   leaf(k, v) = expand(SHA-256("clearnode/leaf/v2" || u32 |k| || k || u32 |v| || v))
//   root       = BLAKE2b-256("clearnode/root/v1" || u8 version || accumulator as 1024 u16 LE)
//
// A block's update: for every written key, remove its committed entry (if any), add its new
// one (if any). The accumulator is stored under the bookkeeping key "~commitment" so that a
// node starts without rehashing its state; `from_scratch` recomputes it to verify.
#pragma once

#include "crypto/crypto.hpp"
#include "crypto/worker_pool.hpp"
#include "state/store.hpp"

#include <array>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace clearnode {

// 2: compact nonce windows (LEB128 gaps); 3: an account's window inside its account record;
// 4: leaf seeds are SHA-256 (this host's SHA extensions hash one in about half of BLAKE2b's time)
constexpr uint8_t state_root_version = 4;
constexpr std::string_view commitment_key = "~commitment";

// One state entry's change in a block: its committed value and its new one (nullopt: absent).
// A writer that keeps entries' leaf seeds (leaf_seed below) gives the seed instead of the
// committed value, and is handed the new value's seed by StateCommitment::apply, so that a hot
// entry's value is encoded and hashed once, when it is written, not again block after block.
struct EntryChange {
    std::string key;
    std::optional<std::string> old_value;  // nullopt: absent, or given by old_seed
    std::optional<std::string> new_value;
    // Pointers, not copies: a block's changes are written into fresh memory every block, and
    // their bytes cost there (page faults, at 200k uniform). Both point into the writer's
    // records, which outlive the root's update.
    const Hash32* old_seed = nullptr;  // set: the committed entry exists, and this is its leaf seed
    std::optional<Hash32>* new_seed_out = nullptr;  // where the writer keeps new_value's seed: apply() sets it
};

// The 32 bytes a leaf is expanded from: SHA-256("clearnode/leaf/v2" || u32 |k| || k || u32 |v| || v).
Hash32 leaf_seed(std::string_view key, std::string_view value);

class StateCommitment {
public:
    static constexpr size_t lanes = 1024;

    void add(std::string_view key, std::string_view value) { add_leaf(leaf_seed(key, value)); }
    void remove(std::string_view key, std::string_view value) { remove_leaf(leaf_seed(key, value)); }
    void add_leaf(const Hash32& seed);
    void remove_leaf(const Hash32& seed);
    // Folds a block's writes in, given the committed state they are written over. The leaves
    // are hashed on the calling thread and `helpers`' workers (without: the calling thread
    // alone); the lane sum is commutative, so the result does not depend on their number.
    void apply(const StateReader& committed, const WriteSet& writes, WorkerPool& helpers);
    void apply(const StateReader& committed, const WriteSet& writes);
    // The same, given each changed entry's old value or seed and its new value (bookkeeping keys
    // are skipped). Sets each change's new_seed_out, from the thread that hashed it.
    void apply(std::span<EntryChange> changes, WorkerPool& helpers);
    void apply(std::span<EntryChange> changes);
    // Adds another accumulator's lanes (a part summed elsewhere: the sum is order-free).
    void merge(const StateCommitment& part);
    Hash32 root() const;

    // The accumulator as stored under commitment_key: state_root_version, then the lanes
    // (little-endian u16). An entry of another version is refused, with `error` saying which,
    // rather than read: its records are encoded differently and its root is another.
    std::string to_entry() const;
    static std::optional<StateCommitment> from_entry(std::string_view bytes, std::string& error);
    // The accumulator of every state entry of `reader`, recomputed: O(state).
    static StateCommitment from_scratch(const StateReader& reader);

    bool operator==(const StateCommitment&) const = default;

private:
    std::string lane_bytes() const;
    std::array<uint16_t, lanes> sum_{};
};

// The committed leaves of the accounts a block writes, removed by a task of a helper pool while
// the block is still being applied. A written entry loses its committed leaf whatever its new value
// (one that ends equal to the committed goes back in as a change, which adds the leaf again),
// so its removal need not wait for the block's end: it is half of the leaves a block's root
// expands when every written entry's seed is kept, as at 1M zipf, and the second core has
// little else to do while one thread applies (docs/DESIGN.md, "The root's early removals").
// One writer (the applying thread) calls remove(), then finish() once.
class EarlyLeafRemovals {
public:
    // Seeds handed to the thread at a time: a wake-up per 64 seeds (about 30 us of expansions).
    static constexpr size_t seeds_per_batch = 64;
    // An account is queued at most once a block and the thread drains the queue as it fills:
    // a queue this long is a bug upstream.
    static constexpr size_t seeds_queued_max = size_t{1} << 22;

    // Holds one of `helpers`' workers until finish() (with none, finish() removes everything on
    // the caller): give it a pool of its own, or the block's other work on that pool finds the
    // worker taken and runs on the caller. Its task waits for this writer, so it must never run
    // on the writer before finish(): a pool whose queue is full when the writer starts another
    // batch on it would do just that (one reason more for a pool of its own).
    explicit EarlyLeafRemovals(WorkerPool& helpers);
    ~EarlyLeafRemovals();  // removes what is queued, then waits (a block that failed drops the sum)
    EarlyLeafRemovals(const EarlyLeafRemovals&) = delete;
    EarlyLeafRemovals& operator=(const EarlyLeafRemovals&) = delete;

    void remove(const Hash32& seed);
    // Waits for every removal queued; the accumulator holding their negated leaves, to merge.
    StateCommitment finish();

private:
    void run();
    void stop();

    // The writer's seeds not yet handed over: the lock is taken once a batch, not once a seed
    // (a lock a seed, on a line the thread also takes, was 1.4% of the applying thread's samples).
    std::vector<Hash32> filling_;
    std::mutex mutex_;
    std::condition_variable queued_or_finishing_;
    std::vector<Hash32> queued_;  // guarded by mutex_
    bool finishing_ = false;      // guarded by mutex_
    StateCommitment removed_;     // the task's until it has returned
    const std::thread::id writer_ = std::this_thread::get_id();  // the constructing thread
    WorkerPool::Batch task_;
};

}  // namespace clearnode
