// Typed views of the records of RULES §3, for the state-transition function.
//
// The byte-level Store/Overlay would decode a record on every read and encode it on every
// write; a block touches its hot accounts thousands of times. Here a block reads and writes
// decoded records, and each changed record is encoded once, when the block commits:
//
//   RecordLayer (a transaction's writes)      dropped on rejection, merged on success
//     over BlockLayer (the block's writes)    encoded into one WriteSet at commit
//       over CommittedRecords                 the committed records, decoded once and kept
//                                             across blocks up to a bound (hot accounts stay
//                                             decoded in memory), read from the Store on a miss
//
// A block remembers the committed slot of each account it writes: encoding and absorbing its
// writes then look nothing up (they were two of the three lookup passes over a block's
// accounts, each a cache miss when the block ends). A committed slot also keeps its record's
// leaf seed (commitment.hpp) once a block has written it: the next block that changes a hot
// account neither encodes nor hashes its old value for the root.
//
// None of this changes what is stored: the bytes, and so the state root, are those the
// byte-level path writes (tests/record_layers_test.cpp and the golden roots check it).
#pragma once

#include "state/account_slots.hpp"
#include "state/commitment.hpp"
#include "state/records.hpp"

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>  // lint: lookup-only, see AccountTable (its walks are order-free and say so)
#include <vector>

namespace clearnode {

// Tables keyed by account id are hash tables: a block looks accounts up hundreds of thousands
// of times, and a red-black tree over a million ids costs a cache miss per level. Ids are
// chosen by users (a transfer may name any id), so the hash is keyed at random per process
// (crypto's ShortHasher) against hash flooding. Their iteration order is therefore arbitrary:
// every iteration below is order-free (inserting into another table, a set or a sort) and
// says so, and what leaves for the store or the root is sorted by key (encode_changes).
// Not noexcept on purpose: libstdc++ then keeps each entry's hash beside it, so that a lookup
// compares hashes before keys and never rehashes the entries it walks past (a keyed hash is
// not cheap; without the cache it ran once per entry visited and was a tenth of apply).
struct AccountIdHash {
    size_t operator()(const AccountId& id) const;
};
static_assert(!std::is_nothrow_invocable_v<const AccountIdHash&, const AccountId&>);
template <typename Record>
using AccountTable = std::unordered_map<AccountId, Record, AccountIdHash>;  // lint: lookup-only, see above

// Typed reads. A returned pointer stays valid until the next write to, or merge into, the
// view that returned it; nullptr means the record does not exist.
class RecordReader {
public:
    virtual ~RecordReader() = default;
    virtual const AccountRecord* account(const AccountId& id) const = 0;
    // nullptr: the account has used no nonce yet (an empty window).
    virtual const NonceWindow* nonces(const AccountId& id) const = 0;
    virtual const MarketRecord* market(std::string_view symbol) const = 0;
    virtual const ProtocolRecord& protocol() const = 0;
    // Every market's symbol, ascending (markets exist from genesis on).
    virtual std::vector<std::string> market_symbols() const = 0;
    // Every account holding a non-zero position in `symbol`, ascending by id.
    virtual std::vector<AccountId> holders(std::string_view symbol) const = 0;
};

// Typed writes, and reads that see them first.
class RecordWriter : public RecordReader {
public:
    // An account is stored without its empty market entries (records.hpp).
    virtual void put(const AccountId& id, AccountRecord record) = 0;
    virtual void put(const AccountId& id, NonceWindow window) = 0;
    virtual void put(MarketRecord market) = 0;
    virtual void put(ProtocolRecord protocol) = 0;
    // This writer's own copy of `id`'s account, to change in place: made from the record below
    // on first use, the same copy after. nullptr: no such account. Saves copying a record that
    // this writer already holds (a block holds its hot accounts after their first transaction).
    // The caller leaves it without empty market entries, as put() would.
    virtual AccountRecord* account_to_change(const AccountId& id) = 0;
};

// A transaction's writes over its block (or over another layer). Reads see this layer's
// writes first.
class RecordLayer final : public RecordWriter {
public:
    explicit RecordLayer(const RecordReader& base) : base_(&base) {}
    // Never copied (see Overlay): layer one over another with layer().
    RecordLayer(const RecordLayer&) = delete;
    RecordLayer& operator=(const RecordLayer&) = delete;
    RecordLayer layer() const { return RecordLayer(static_cast<const RecordReader&>(*this)); }

    const AccountRecord* account(const AccountId& id) const override;
    const NonceWindow* nonces(const AccountId& id) const override;
    const MarketRecord* market(std::string_view symbol) const override;
    const ProtocolRecord& protocol() const override;
    std::vector<std::string> market_symbols() const override { return base_->market_symbols(); }
    std::vector<AccountId> holders(std::string_view symbol) const override;

    void put(const AccountId& id, AccountRecord record) override;
    void put(const AccountId& id, NonceWindow window) override;
    void put(MarketRecord market) override;
    void put(ProtocolRecord protocol) override;
    AccountRecord* account_to_change(const AccountId& id) override;
    // Moves this layer's writes into `parent`, the writer it was made over.
    void merge_into(RecordWriter& parent);

private:
    const RecordReader* base_;
    AccountTable<AccountRecord> accounts_;
    AccountTable<NonceWindow> nonces_;
    std::map<std::string, MarketRecord, std::less<>> markets_;
    std::optional<ProtocolRecord> protocol_;
};

class BlockLayer;

// The committed records of a store, decoded on first read and kept. The engine keeps one
// across blocks and hands it each committed block (absorb), so that it always equals the
// store; queries make a short-lived one. Account and nonce entries are bounded in bytes: past
// `bytes_max` (each entry charged its table node and the heap its record holds), those least
// recently read are dropped after a block (they are read again on demand). A bound in bytes,
// not entries, because an entry's size varies tenfold with its nonce window (a full one is
// 800 bytes in memory, a new account's none): the operator sets memory, not a guess of it.
// Reads here see committed records only, never an open block's writes.
// Not thread-safe: reads fill the cache.
class CommittedRecords final : public RecordReader {
public:
    // Enough for a million accounts with positions (366 MB at the bench's 1M uniform, where a
    // 256 MB bound kept 57% of them and the misses' store reads cost a third to a half of
    // pre-verified throughput; docs/DESIGN.md), a small part of the 24 GB machine the targets
    // name.
    static constexpr size_t bytes_max_default = size_t{512} << 20;
    explicit CommittedRecords(const StateReader& store, size_t bytes_max = bytes_max_default);
    CommittedRecords(const CommittedRecords&) = delete;
    CommittedRecords& operator=(const CommittedRecords&) = delete;

    const AccountRecord* account(const AccountId& id) const override;
    const NonceWindow* nonces(const AccountId& id) const override;
    const MarketRecord* market(std::string_view symbol) const override;
    const ProtocolRecord& protocol() const override;
    std::vector<std::string> market_symbols() const override;
    std::vector<AccountId> holders(std::string_view symbol) const override;

    // Asks the memory system for the cached accounts of `ids` (each one's cell, entry, positions
    // and nonce window), in three rounds over all of them, so that the fetches overlap: a
    // block's transactions then read them one after another from cache, where each read waited
    // on memory in turn. Reads nothing from the store, changes nothing; results cannot depend on
    // it. `ids` may repeat and name accounts that do not exist.
    void prefetch_accounts(std::span<const AccountId* const> ids) const;

    // The store has just committed `block`'s writes: they become the committed records, and
    // `block` is left empty. Pointers handed out before are invalid afterwards.
    void absorb(BlockLayer& block);
    // Forgets everything (after a failed commit, the store's state is what counts). No block
    // may be open.
    void clear();
    size_t entries() const { return accounts_.size() + nonces_.size(); }
    // What the account and nonce entries are charged, in bytes (at most bytes_max after absorb).
    size_t bytes() const { return bytes_; }

private:
    friend class BlockLayer;
    template <typename Record>
    struct Slot {
        std::optional<Record> record;  // nullopt: not in the store
        uint64_t read_epoch = 0;
        size_t bytes = 0;  // what this entry is charged (charge_of), kept to take it back exactly
        // The record's leaf seed under its key, when the block that wrote it computed it (it
        // equals leaf_seed(key, encode(*record))); nullopt when not known, as after a load.
        std::optional<Hash32> leaf_seed;
    };
    // Open addressing with entries that never move (account_slots.hpp): a block keeps
    // pointers to the slots it writes.
    template <typename Record>
    using Table = AccountSlots<Slot<Record>>;
    // A slot and its id; the address is stable until trim() or clear().
    template <typename Record>
    using Entry = typename Table<Record>::Entry;

    Entry<AccountRecord>& account_entry(const AccountId& id) const;
    Entry<NonceWindow>& nonces_entry(const AccountId& id) const;
    template <typename Record>
    void replace(Entry<Record>& entry, std::optional<Record> record) const;
    void trim();

    const StateReader* store_;
    size_t bytes_max_;
    mutable size_t bytes_ = 0;  // the sum of the entries' Slot::bytes
    uint64_t epoch_ = 0;  // one per absorbed block: the recency of a read
    const BlockLayer* open_block_ = nullptr;
    mutable Table<AccountRecord> accounts_;
    mutable Table<NonceWindow> nonces_;
    mutable std::map<std::string, std::optional<MarketRecord>, std::less<>> markets_;
    mutable std::optional<ProtocolRecord> protocol_;
};

// One block's writes over the committed records. Each written account (or window) keeps a
// pointer to its committed slot, taken at its first write, when the slot is in cache: encoding
// the block's changes and absorbing them then look nothing up. At most one block is open per
// CommittedRecords, and it must be absorbed or discarded before that is trimmed or cleared.
class BlockLayer final : public RecordWriter {
public:
    // `accounts_expected`: how many accounts the block may write, reserved so that its table
    // does not rehash as it grows (each rehash walks every entry written so far).
    // `early_removals`: where the committed leaf of each account the block writes goes, at its
    // first write, when the slot keeps its seed (the caller merges the sum into the root and
    // encode_changes leaves those entries' old seeds out); null: the root removes them all.
    explicit BlockLayer(CommittedRecords& committed, size_t accounts_expected = 0,
                        EarlyLeafRemovals* early_removals = nullptr);
    ~BlockLayer() { discard(); }
    BlockLayer(const BlockLayer&) = delete;
    BlockLayer& operator=(const BlockLayer&) = delete;
    RecordLayer layer() const { return RecordLayer(static_cast<const RecordReader&>(*this)); }

    const AccountRecord* account(const AccountId& id) const override;
    const NonceWindow* nonces(const AccountId& id) const override;
    const MarketRecord* market(std::string_view symbol) const override;
    const ProtocolRecord& protocol() const override;
    std::vector<std::string> market_symbols() const override { return committed_->market_symbols(); }
    std::vector<AccountId> holders(std::string_view symbol) const override;

    void put(const AccountId& id, AccountRecord record) override;
    void put(const AccountId& id, NonceWindow window) override;
    void put(MarketRecord market) override;
    void put(ProtocolRecord protocol) override;
    AccountRecord* account_to_change(const AccountId& id) override;
    // Drops every write of this block (a block that failed, or was not committed). The early
    // removals' sum no longer matches what is left: the caller drops it too, and writes after
    // this one remove their committed leaves at the root's update.
    void discard();

    // The records this block changed, as the store's bytes: each changed entry with its
    // committed value (for the state root) and its new one, the "holder/" index included.
    // Entries whose bytes did not change are left out. Ascending by key. The accounts are
    // encoded on the caller and `helpers`' workers (the result does not depend on them; without
    // helpers, on the caller alone).
    // An account or nonce window comes with its committed leaf seed instead of its committed
    // value where the slot keeps one, and with where to keep its new seed, which
    // StateCommitment::apply sets and absorb moves into the slot. Encoding and the root are the
    // block's last steps: a record changed after them through a pointer from account_to_change
    // would be absorbed with a stale seed (put and account_to_change themselves drop it).
    std::vector<EntryChange> encode_changes(WorkerPool& helpers);
    std::vector<EntryChange> encode_changes();

private:
    friend class CommittedRecords;  // absorb moves the writes into the committed slots
    template <typename Record>
    struct Written {
        Record record;
        CommittedRecords::Entry<Record>* committed;
        std::optional<Hash32> leaf_seed;  // record's, set through encode_changes' new_seed_out, for absorb
        bool committed_leaf_removed = false;  // handed to early_removals_ at the first write
    };

    Written<AccountRecord> first_write(AccountRecord record, CommittedRecords::Entry<AccountRecord>& committed);

    static void add_account_changes(std::vector<EntryChange>& out, const AccountId& id, Written<AccountRecord>& written);

    CommittedRecords* committed_;
    EarlyLeafRemovals* early_removals_;
    // Open addressing, as the committed tables: a block's first read of each account it touches
    // misses here, and that miss is one cell (account_slots.hpp).
    AccountSlots<Written<AccountRecord>> accounts_;
    AccountSlots<Written<NonceWindow>> nonces_;
    std::map<std::string, MarketRecord, std::less<>> markets_;
    std::optional<ProtocolRecord> protocol_;
};

// Typed reads and writes with the names records.hpp gives them over bytes.
std::optional<AccountRecord> load_account(const RecordReader& s, const AccountId& id);
NonceWindow load_nonces(const RecordReader& s, const AccountId& id);
std::optional<MarketRecord> load_market(const RecordReader& s, std::string_view symbol);
ProtocolRecord load_protocol(const RecordReader& s);
std::vector<MarketRecord> load_markets(const RecordReader& s);
inline std::vector<AccountId> holders(const RecordReader& s, std::string_view symbol) { return s.holders(symbol); }
// A signer's nonce window, where window_in_account keeps it; empty when it has used none. Not a
// copy (a hot account's window is 100 nonces): valid as the pointers of RecordReader are.
const NonceWindow& load_window(const RecordReader& s, const ConfigRecord& config, const AccountId& id);
// Spends `nonce` from `id`'s window, which must accept it. A window kept in an account needs the
// account: RULES §6 checks authority (the account exists) before nonces.
void use_nonce(RecordWriter& s, const ConfigRecord& config, const AccountId& id, uint64_t nonce);

inline void save(RecordWriter& s, const AccountId& id, AccountRecord r) { s.put(id, std::move(r)); }
inline void save(RecordWriter& s, const AccountId& id, NonceWindow r) { s.put(id, std::move(r)); }
inline void save(RecordWriter& s, MarketRecord r) { s.put(std::move(r)); }
inline void save(RecordWriter& s, ProtocolRecord r) { s.put(std::move(r)); }

}  // namespace clearnode
