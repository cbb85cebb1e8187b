#include "state/commitment.hpp"

#include "crypto/worker_pool.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <functional>
#include <vector>

namespace clearnode {
namespace {

constexpr std::string_view leaf_domain = "clearnode/leaf/v2";
constexpr std::string_view root_domain = "clearnode/root/v1";

using Lanes = std::array<uint16_t, StateCommitment::lanes>;

std::array<uint8_t, 4> u32_le(size_t length) {
    assert(length <= UINT32_MAX);
    return {static_cast<uint8_t>(length), static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length >> 16),
            static_cast<uint8_t>(length >> 24)};
}

// leaf(k, v) = expand(seed): the keystream is written straight into the lanes, which are its
// little-endian u16s.
void expand_leaf(const Hash32& seed, Lanes& out) {
    static_assert(sizeof(Lanes) == 2 * StateCommitment::lanes);
    expand_seed(seed, std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), sizeof(Lanes)));
    if constexpr (std::endian::native != std::endian::little)
        for (uint16_t& lane : out) lane = static_cast<uint16_t>(lane >> 8 | lane << 8);
}

// Why a state of another version is refused, and how its chain is carried over to this binary.
std::string other_version_refused(const std::string& written_version, const std::string& writer) {
    return "this state was written under state root version " + written_version + "; this binary reads version " +
           std::to_string(state_root_version) + " only: write its blocks out with " + writer +
           " (`blocks --home`), then `init` a new home and `apply` them with this one";
}

}  // namespace

// Hashed in parts (the codec's layout, u32 LE lengths), never from a concatenated copy.
Hash32 leaf_seed(std::string_view key, std::string_view value) {
    const auto key_length = u32_le(key.size());
    const auto value_length = u32_le(value.size());
    return sha256({as_bytes(leaf_domain), as_bytes(key_length), as_bytes(key), as_bytes(value_length), as_bytes(value)});
}

// Lane arithmetic is modulo 2^16 by design (the lattice hash's group), on unsigned integers.
void StateCommitment::add_leaf(const Hash32& seed) {
    Lanes l;
    expand_leaf(seed, l);
    for (size_t i = 0; i < lanes; ++i) sum_[i] = static_cast<uint16_t>(sum_[i] + l[i]);
}

void StateCommitment::remove_leaf(const Hash32& seed) {
    Lanes l;
    expand_leaf(seed, l);
    for (size_t i = 0; i < lanes; ++i) sum_[i] = static_cast<uint16_t>(sum_[i] - l[i]);
}

void StateCommitment::apply(const StateReader& committed, const WriteSet& writes) {
    WorkerPool alone(0);
    apply(committed, writes, alone);
}

void StateCommitment::apply(const StateReader& committed, const WriteSet& writes, WorkerPool& helpers) {
    // Read the old values here, on one thread (readers need not be thread-safe); then hash.
    std::vector<EntryChange> changes;
    changes.reserve(writes.size());
    for (const auto& [key, value] : writes)
        if (is_state_key(key)) changes.push_back({key, committed.get(key), value, nullptr, nullptr});
    apply(changes, helpers);
}

void StateCommitment::apply(std::span<EntryChange> changes) {
    WorkerPool alone(0);
    apply(changes, alone);
}

void StateCommitment::apply(std::span<EntryChange> all_changes, WorkerPool& helpers) {
    std::vector<EntryChange*> changes;
    changes.reserve(all_changes.size());
    for (auto& change : all_changes)
        if (is_state_key(change.key)) changes.push_back(&change);
    // Each thread sums its chunks into its own accumulator; the parts are added (the sum is
    // order-free). A chunk of 64 leaves is about 0.1 ms of hashing.
    constexpr size_t changes_per_chunk = 64;
    std::vector<StateCommitment> parts(slice_count(changes.size(), helpers.workers() + 1, changes_per_chunk));
    for_each_slice(helpers, changes.size(), parts.size(), changes_per_chunk, [&](size_t begin, size_t end, size_t part) {
        for (size_t i = begin; i < end; ++i) {
            const EntryChange& c = *changes[i];
            if (c.old_seed) parts[part].remove_leaf(*c.old_seed);
            else if (c.old_value) parts[part].remove(c.key, *c.old_value);
            if (!c.new_value) continue;
            const Hash32 seed = leaf_seed(c.key, *c.new_value);
            parts[part].add_leaf(seed);
            if (c.new_seed_out != nullptr) *c.new_seed_out = seed;
        }
    });
    for (const auto& part : parts) merge(part);
}

void StateCommitment::merge(const StateCommitment& part) {
    for (size_t i = 0; i < lanes; ++i) sum_[i] = static_cast<uint16_t>(sum_[i] + part.sum_[i]);
}

Hash32 StateCommitment::root() const {
    Hasher h;
    h.update(root_domain);
    h.update(to_entry());  // the version, then the lanes
    return h.finish();
}

std::string StateCommitment::lane_bytes() const {
    std::string out(2 * lanes, '\0');
    for (size_t i = 0; i < lanes; ++i) {
        out[2 * i] = static_cast<char>(sum_[i] & 0xff);
        out[2 * i + 1] = static_cast<char>(sum_[i] >> 8);
    }
    return out;
}

std::string StateCommitment::to_entry() const { return static_cast<char>(state_root_version) + lane_bytes(); }

std::optional<StateCommitment> StateCommitment::from_entry(std::string_view bytes, std::string& error) {
    // Before version 3 the entry was the lanes alone, with no version in front.
    if (bytes.size() == 2 * lanes) {
        error = other_version_refused("2 or earlier", "the binary that wrote it");
        return std::nullopt;
    }
    if (bytes.size() != 1 + 2 * lanes) {
        error = "corrupt commitment entry (" + std::to_string(bytes.size()) + " bytes)";
        return std::nullopt;
    }
    if (static_cast<uint8_t>(bytes[0]) != state_root_version) {
        const std::string written = std::to_string(static_cast<uint8_t>(bytes[0]));
        error = other_version_refused(written, "a binary of version " + written);
        return std::nullopt;
    }
    StateCommitment c;
    for (size_t i = 0; i < lanes; ++i)
        c.sum_[i] = static_cast<uint16_t>(static_cast<uint8_t>(bytes[1 + 2 * i]) | static_cast<uint8_t>(bytes[2 + 2 * i]) << 8);
    return c;
}

EarlyLeafRemovals::EarlyLeafRemovals(WorkerPool& helpers) {
    filling_.reserve(seeds_per_batch);
    task_ = helpers.start(1, [this](size_t) { run(); });
}

EarlyLeafRemovals::~EarlyLeafRemovals() { stop(); }

void EarlyLeafRemovals::remove(const Hash32& seed) {
    filling_.push_back(seed);
    if (filling_.size() < seeds_per_batch) return;
    {
        std::lock_guard lock(mutex_);
        assert(!finishing_);
        assert(queued_.size() + filling_.size() <= seeds_queued_max);
        queued_.insert(queued_.end(), filling_.begin(), filling_.end());
    }
    filling_.clear();
    queued_or_finishing_.notify_one();
}

StateCommitment EarlyLeafRemovals::finish() {
    stop();
    return removed_;
}

void EarlyLeafRemovals::stop() {
    {
        std::lock_guard lock(mutex_);
        assert(queued_.size() + filling_.size() <= seeds_queued_max);
        queued_.insert(queued_.end(), filling_.begin(), filling_.end());  // the last, partial batch
        finishing_ = true;
    }
    filling_.clear();
    queued_or_finishing_.notify_one();
    task_.wait();  // runs the task here if no worker took it: it finds finishing_ set
}

void EarlyLeafRemovals::run() {
    std::vector<Hash32> batch;
    for (;;) {
        bool last = false;
        {
            std::unique_lock lock(mutex_);
            // On the writer before finish(), the wait below would never end (see the constructor).
            assert(finishing_ || std::this_thread::get_id() != writer_);
            queued_or_finishing_.wait(lock, [this] { return queued_.size() >= seeds_per_batch || finishing_; });
            batch.swap(queued_);
            last = finishing_;  // nothing is queued after finish: this batch holds the rest
        }
        for (const Hash32& seed : batch) removed_.remove_leaf(seed);
        batch.clear();
        if (last) return;
    }
}

StateCommitment StateCommitment::from_scratch(const StateReader& reader) {
    StateCommitment c;
    reader.scan("", [&](std::string_view key, std::string_view value) {
        if (is_state_key(key)) c.add(key, value);
        return true;
    });
    return c;
}

}  // namespace clearnode
