// The records' tables of accounts (the committed ones, and a block's writes): ids to entries
// that never move, in open addressing.
//
// A lookup in libstdc++'s unordered_map walks the bucket array, the node before the bucket's
// first and then the node: three dependent loads, each a cache miss for an account the block
// has not touched yet (the committed table holds up to a million), and its bucket index is an
// integer division. Here a lookup reads one cell (the id's hash and its entry's address),
// usually one cache line, and then the entry; an absent id costs the cell alone.
//
// Entries are allocated one by one, so a pointer to one stays valid until erase_if or clear
// removes it (a block keeps pointers to the committed slots it writes). Iteration order is that
// of the cells, which follows the keyed hash: every use of for_each_unordered must be
// order-free (the determinism lint asks each call to say so).
#pragma once

#include "ledger/tx.hpp"

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace clearnode {

// A keyed hash of an account id (a random SipHash key per process: ids are chosen by users, so
// an unkeyed hash could be flooded).
uint64_t account_id_hash(const AccountId& id);

// `hash_of` is account_id_hash but in tests, which give one that collides on purpose.
template <typename Value, uint64_t (*hash_of)(const AccountId&) = account_id_hash>
class AccountSlots {
public:
    using Entry = std::pair<const AccountId, Value>;

private:
    struct Cell {
        uint64_t hash = 0;
        Entry* entry = nullptr;  // nullptr: empty
    };

public:
    // What one entry costs beyond its own allocation, in bytes: its share of the cells, two
    // (the table runs between three eighths full, just after growing, and three quarters).
    static constexpr size_t cell_bytes = 2 * sizeof(Cell);

    AccountSlots() = default;
    ~AccountSlots() { clear(); }
    AccountSlots(const AccountSlots&) = delete;
    AccountSlots& operator=(const AccountSlots&) = delete;

    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    // How many entries fit before the cells grow.
    size_t capacity() const { return 3 * cells_.size() / 4; }

    // Makes room for `entries` in all without growing (a block knows roughly how many accounts
    // it may write). Entries keep their addresses.
    void reserve(size_t entries) {
        size_t cell_count = cells_.empty() ? cell_count_min : cells_.size();
        while (4 * entries > 3 * cell_count) cell_count *= 2;
        if (cell_count > cells_.size()) rehash(cell_count);
    }

    // nullptr when `id` is absent.
    Entry* find(const AccountId& id) const { return find(id, hash_of(id)); }

    // A hint for what find(id) will read: asks the memory system for the cell where the search
    // for `hash` (hash_of(id)) starts, without waiting for it.
    void prefetch_cell(uint64_t hash) const {
        if (!cells_.empty()) __builtin_prefetch(&cells_[home(hash)]);
    }
    // The entry of the first cell holding `hash`, without reading any entry (so without
    // waiting on one): another id's, in the rare case of two ids with one hash. A hint only.
    const Entry* entry_hint(uint64_t hash) const {
        return probe(hash, [](const Entry&) { return true; });
    }

    // Adds `id`, which must be absent, with a default value.
    Entry& emplace(const AccountId& id) {
        assert(find(id) == nullptr);
        if (4 * (size_ + 1) > 3 * cells_.size()) grow();
        auto entry = std::make_unique<Entry>(std::piecewise_construct, std::forward_as_tuple(id), std::forward_as_tuple());
        place(Cell{hash_of(id), entry.get()});
        ++size_;
        return *entry.release();
    }

    // Removes every entry for which `drop(entry)` is true; the others keep their addresses.
    // `drop` must not throw: the cells are rebuilt around the entries kept as it goes.
    template <typename Drop>
    void erase_if(Drop drop) {
        std::vector<Cell> kept(cells_.size());
        std::swap(kept, cells_);
        size_ = 0;
        for (const Cell& cell : kept) {  // order-free: each entry is decided on its own
            if (cell.entry == nullptr) continue;
            if (drop(static_cast<const Entry&>(*cell.entry))) {
                delete cell.entry;
                continue;
            }
            place(cell);
            ++size_;
        }
    }

    // Every entry, in the cells' order (arbitrary: callers must be order-free). `visit` may
    // change an entry's value, not add or remove entries.
    template <typename Visit>
    void for_each_unordered(Visit visit) const {
        for (const Cell& cell : cells_)
            if (cell.entry != nullptr) visit(static_cast<const Entry&>(*cell.entry));
    }
    template <typename Visit>
    void for_each_unordered(Visit visit) {
        for (const Cell& cell : cells_)
            if (cell.entry != nullptr) visit(*cell.entry);
    }

    void clear() {
        for (const Cell& cell : cells_) delete cell.entry;  // order-free
        cells_ = {};
        size_ = 0;
    }

private:
    Entry* find(const AccountId& id, uint64_t hash) const {
        return probe(hash, [&](const Entry& entry) { return entry.first == id; });
    }

    // The first entry from `hash`'s home cell on whose cell holds `hash` and which `matches`;
    // nullptr at the first empty cell. `matches` reads the entry, so it runs only on a hash match.
    template <typename Matches>
    Entry* probe(uint64_t hash, Matches matches) const {
        if (cells_.empty()) return nullptr;
        for (size_t i = home(hash), probes = 0; probes < cells_.size(); i = next(i), ++probes) {
            const Cell& cell = cells_[i];
            if (cell.entry == nullptr) return nullptr;
            if (cell.hash == hash && matches(static_cast<const Entry&>(*cell.entry))) return cell.entry;
        }
        assert(false && "a table never fills: it grows at three quarters");
        return nullptr;
    }

    size_t home(uint64_t hash) const { return static_cast<size_t>(hash) & (cells_.size() - 1); }
    size_t next(size_t i) const { return (i + 1) & (cells_.size() - 1); }

    // Linear probing into the first empty cell; the table has one (it is at most 3/4 full).
    void place(const Cell& cell) {
        size_t i = home(cell.hash);
        for (size_t probes = 0; cells_[i].entry != nullptr; i = next(i), ++probes) assert(probes < cells_.size());
        cells_[i] = cell;
    }

    void grow() { rehash(cells_.empty() ? cell_count_min : 2 * cells_.size()); }

    void rehash(size_t cell_count) {
        assert(cell_count > cells_.size() && (cell_count & (cell_count - 1)) == 0);
        std::vector<Cell> old(cell_count);
        std::swap(old, cells_);
        for (const Cell& cell : old)  // order-free: each cell lands by its own hash
            if (cell.entry != nullptr) place(cell);
    }

    static constexpr size_t cell_count_min = 16;
    std::vector<Cell> cells_;  // a power of two in size
    size_t size_ = 0;
};

}  // namespace clearnode
