#include "state/record_layers.hpp"

#include "crypto/worker_pool.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <functional>
#include <iterator>
#include <set>

namespace clearnode {
namespace {

bool holds(const AccountRecord* account, std::string_view market) {
    if (account == nullptr) return false;
    const MarketPosition* p = account->find(market);
    return p != nullptr && p->size_lots != 0;
}

// The holders of `symbol` below a layer, updated by the layer's account writes, ascending by
// id. `for_each_write(update)` calls update(id, record) once for each write, in any order.
template <typename ForEachWrite>
std::vector<AccountId> holders_after_writes(std::vector<AccountId> below, std::string_view symbol,
                                            ForEachWrite for_each_write) {
    std::set<AccountId> ids(below.begin(), below.end());
    for_each_write([&](const AccountId& id, const AccountRecord& record) {  // order-free: into a set
        if (holds(&record, symbol)) ids.insert(id);
        else ids.erase(id);
    });
    return {ids.begin(), ids.end()};
}

// What a cached entry costs in memory, in bytes: its entry (the pair, and 16 for the allocator's
// rounding to a size class) and its share of the table's cells, plus the heap its record holds.
// Only trimming reads it: it must grow with the real cost, not equal it.
template <typename Entry>
constexpr size_t node_bytes = sizeof(Entry) + AccountSlots<typename Entry::second_type>::cell_bytes + 16;

size_t heap_bytes(const NonceWindow& window) { return window.nonces.capacity() * sizeof(uint64_t); }

size_t heap_bytes(const AccountRecord& account) {
    static const size_t inline_chars = std::string().capacity();
    size_t bytes = account.markets.capacity() * sizeof(MarketPosition) + heap_bytes(account.nonces);
    for (const auto& position : account.markets)
        if (position.market.capacity() > inline_chars) bytes += position.market.capacity() + 1;
    return bytes;
}

}  // namespace

uint64_t account_id_hash(const AccountId& id) {
    static const ShortHasher hasher;  // one random key per process
    // The last ids this thread hashed. A transaction looks each party up in the block's table
    // and the committed records' (twice each at its first write), so most calls repeat one of
    // the last few ids, and comparing 32 bytes costs a fraction of a SipHash.
    struct Hashed {
        AccountId id;
        uint64_t hash = 0;
        bool filled = false;
    };
    constexpr size_t ids_remembered = 4;
    thread_local std::array<Hashed, ids_remembered> recent{};
    thread_local size_t oldest = 0;
    for (const Hashed& h : recent)
        if (h.filled && h.id == id) return h.hash;
    Hashed& slot = recent[oldest];
    oldest = (oldest + 1) % ids_remembered;
    slot = {id, hasher(as_bytes(id)), true};
    return slot.hash;
}

size_t AccountIdHash::operator()(const AccountId& id) const { return static_cast<size_t>(account_id_hash(id)); }

// --- RecordLayer ---

const AccountRecord* RecordLayer::account(const AccountId& id) const {
    auto it = accounts_.find(id);
    return it != accounts_.end() ? &it->second : base_->account(id);
}

const NonceWindow* RecordLayer::nonces(const AccountId& id) const {
    auto it = nonces_.find(id);
    return it != nonces_.end() ? &it->second : base_->nonces(id);
}

const MarketRecord* RecordLayer::market(std::string_view symbol) const {
    auto it = markets_.find(symbol);
    return it != markets_.end() ? &it->second : base_->market(symbol);
}

const ProtocolRecord& RecordLayer::protocol() const { return protocol_ ? *protocol_ : base_->protocol(); }

std::vector<AccountId> RecordLayer::holders(std::string_view symbol) const {
    if (accounts_.empty()) return base_->holders(symbol);
    return holders_after_writes(base_->holders(symbol), symbol, [this](auto update) {
        for (const auto& [id, record] : accounts_) update(id, record);  // order-free: see holders_after_writes
    });
}

void RecordLayer::put(const AccountId& id, AccountRecord record) {
    record.drop_empty_entries();
    accounts_.insert_or_assign(id, std::move(record));
}

AccountRecord* RecordLayer::account_to_change(const AccountId& id) {
    if (auto it = accounts_.find(id); it != accounts_.end()) return &it->second;
    const AccountRecord* below = base_->account(id);
    return below != nullptr ? &accounts_.emplace(id, *below).first->second : nullptr;
}

void RecordLayer::put(const AccountId& id, NonceWindow window) { nonces_.insert_or_assign(id, std::move(window)); }

void RecordLayer::put(MarketRecord market) {
    std::string symbol = market.symbol;
    markets_.insert_or_assign(std::move(symbol), std::move(market));
}

void RecordLayer::put(ProtocolRecord protocol) { protocol_ = protocol; }

void RecordLayer::merge_into(RecordWriter& parent) {
    assert(base_ == &parent);
    // Order-free: each entry replaces the parent's (a block's table walks in hash order anyway,
    // and each of its walks is order-free).
    for (auto& [id, record] : accounts_) parent.put(id, std::move(record));  // order-free: keyed puts
    for (auto& [id, window] : nonces_) parent.put(id, std::move(window));  // order-free: keyed puts
    for (auto& [symbol, market] : markets_) parent.put(std::move(market));
    if (protocol_) parent.put(*protocol_);
    accounts_.clear();
    nonces_.clear();
    markets_.clear();
    protocol_.reset();
}

// --- CommittedRecords ---

CommittedRecords::CommittedRecords(const StateReader& store, size_t bytes_max) : store_(&store), bytes_max_(bytes_max) {}

// Sets an entry's record and charges it anew. Const as the reads that fill the cache are.
template <typename Record>
void CommittedRecords::replace(Entry<Record>& entry, std::optional<Record> record) const {
    Slot<Record>& slot = entry.second;
    assert(bytes_ >= slot.bytes);
    bytes_ -= slot.bytes;
    slot.record = std::move(record);
    slot.leaf_seed.reset();
    slot.bytes = node_bytes<Entry<Record>> + (slot.record ? heap_bytes(*slot.record) : 0);
    bytes_ += slot.bytes;
    slot.read_epoch = epoch_;
}

// A record that does not decode throws (StorageError) before anything is cached.
CommittedRecords::Entry<AccountRecord>& CommittedRecords::account_entry(const AccountId& id) const {
    Entry<AccountRecord>* entry = accounts_.find(id);
    if (entry == nullptr) {
        auto stored = load_account(*store_, id);
        entry = &accounts_.emplace(id);
        replace(*entry, std::move(stored));
    }
    entry->second.read_epoch = epoch_;
    return *entry;
}

CommittedRecords::Entry<NonceWindow>& CommittedRecords::nonces_entry(const AccountId& id) const {
    Entry<NonceWindow>* entry = nonces_.find(id);
    if (entry == nullptr) {
        const auto encoded = store_->get(keys::nonces(id));
        auto stored = encoded ? std::optional(decode_nonces(*encoded)) : std::nullopt;
        entry = &nonces_.emplace(id);
        replace(*entry, std::move(stored));
    }
    entry->second.read_epoch = epoch_;
    return *entry;
}

namespace {
// Asks for the cache lines of [data, data + bytes), up to `lines_max` of them.
void prefetch_bytes(const void* data, size_t bytes, size_t lines_max) {
    constexpr size_t line_bytes = 64;
    const auto* first = static_cast<const char*>(data);
    for (size_t offset = 0, lines = 0; offset < bytes && lines < lines_max; offset += line_bytes, ++lines)
        __builtin_prefetch(first + offset);
}
}  // namespace

void CommittedRecords::prefetch_accounts(std::span<const AccountId* const> ids) const {
    std::vector<uint64_t> hashes(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
        hashes[i] = account_id_hash(*ids[i]);
        accounts_.prefetch_cell(hashes[i]);
    }
    std::vector<const Entry<AccountRecord>*> entries;
    entries.reserve(ids.size());
    for (const uint64_t hash : hashes) {
        const Entry<AccountRecord>* entry = accounts_.entry_hint(hash);
        if (entry == nullptr) continue;
        prefetch_bytes(entry, sizeof(*entry), 4);
        entries.push_back(entry);
    }
    // A window's binary search and a record's copy read all of it: at most 13 lines (100 nonces).
    constexpr size_t record_lines_max = 16;
    for (const Entry<AccountRecord>* entry : entries) {
        const std::optional<AccountRecord>& record = entry->second.record;
        if (!record) continue;
        prefetch_bytes(record->markets.data(), record->markets.size() * sizeof(MarketPosition), record_lines_max);
        prefetch_bytes(record->nonces.nonces.data(), record->nonces.nonces.size() * sizeof(uint64_t), record_lines_max);
    }
}

const AccountRecord* CommittedRecords::account(const AccountId& id) const {
    const auto& slot = account_entry(id).second;
    return slot.record ? &*slot.record : nullptr;
}

const NonceWindow* CommittedRecords::nonces(const AccountId& id) const {
    const auto& slot = nonces_entry(id).second;
    return slot.record ? &*slot.record : nullptr;
}

const MarketRecord* CommittedRecords::market(std::string_view symbol) const {
    auto it = markets_.find(symbol);
    if (it == markets_.end()) it = markets_.emplace(std::string(symbol), load_market(*store_, symbol)).first;
    return it->second ? &*it->second : nullptr;
}

const ProtocolRecord& CommittedRecords::protocol() const {
    if (!protocol_) protocol_ = load_protocol(*store_);
    return *protocol_;
}

std::vector<std::string> CommittedRecords::market_symbols() const {
    std::vector<std::string> out;
    store_->scan(keys::market_prefix, [&](std::string_view key, std::string_view) {
        out.emplace_back(key.substr(keys::market_prefix.size()));
        return true;
    });
    return out;
}

// The store's "holder/" index is the committed one: exactly what this view must answer.
std::vector<AccountId> CommittedRecords::holders(std::string_view symbol) const { return clearnode::holders(*store_, symbol); }

void CommittedRecords::absorb(BlockLayer& block) {
    assert(open_block_ == &block);
    ++epoch_;
    // Order-free: each write replaces its slot's record.
    auto absorb_written = [this](auto& written) {
        replace(*written.committed, std::optional(std::move(written.record)));
        written.committed->second.leaf_seed = written.leaf_seed;
    };
    block.accounts_.for_each_unordered([&](auto& entry) { absorb_written(entry.second); });  // order-free, as said
    block.nonces_.for_each_unordered([&](auto& entry) { absorb_written(entry.second); });  // order-free, as said
    for (auto& [symbol, market] : block.markets_) markets_.insert_or_assign(symbol, std::move(market));
    if (block.protocol_) protocol_ = *block.protocol_;
    block.discard();
    trim();
}

void CommittedRecords::clear() {
    assert(open_block_ == nullptr);
    accounts_.clear();
    nonces_.clear();
    markets_.clear();
    protocol_.reset();
    bytes_ = 0;
}

namespace {

// Drops a table's entries last read before `epoch`; returns the bytes they were charged.
template <typename Table>
size_t erase_read_before(Table& table, uint64_t epoch) {
    size_t bytes = 0;
    table.erase_if([&](const auto& entry) {  // order-free: the epoch alone decides
        if (entry.second.read_epoch >= epoch) return false;
        bytes += entry.second.bytes;
        return true;
    });
    return bytes;
}

}  // namespace

// Past the bound, keeps the most recently read entries that fit in three quarters of it (whole
// epochs: those read in one block go or stay together), so that a trim runs once per many
// blocks. Which entries go changes no result.
void CommittedRecords::trim() {
    assert(open_block_ == nullptr);  // an open block holds pointers to slots
    if (bytes_ <= bytes_max_) return;
    std::map<uint64_t, size_t, std::greater<>> bytes_by_epoch;  // newest first
    const auto count = [&](const auto& entry) { bytes_by_epoch[entry.second.read_epoch] += entry.second.bytes; };
    accounts_.for_each_unordered(count);  // order-free: summed
    nonces_.for_each_unordered(count);  // order-free: summed
    const size_t keep_bytes = bytes_max_ - bytes_max_ / 4;
    uint64_t keep_from_epoch = epoch_ + 1;  // entries read before it go
    size_t kept_bytes = 0;
    for (const auto& [epoch, bytes] : bytes_by_epoch) {
        if (kept_bytes + bytes > keep_bytes) break;
        kept_bytes += bytes;
        keep_from_epoch = epoch;
    }
    bytes_ -= erase_read_before(accounts_, keep_from_epoch);
    bytes_ -= erase_read_before(nonces_, keep_from_epoch);
    assert(bytes_ == kept_bytes);
}

// --- BlockLayer ---

namespace {

// Adds a block's write of `id`, which it does not hold yet. The write is built before its entry,
// so a read of the committed slot or a copy that throws leaves no entry without its slot.
template <typename Write>
Write& add_written(AccountSlots<Write>& table, const AccountId& id, Write written) {
    auto& entry = table.emplace(id);
    entry.second = std::move(written);
    return entry.second;
}

}  // namespace

BlockLayer::BlockLayer(CommittedRecords& committed, size_t accounts_expected, EarlyLeafRemovals* early_removals)
    : committed_(&committed), early_removals_(early_removals) {
    assert(committed.open_block_ == nullptr);  // one open block per committed records
    committed.open_block_ = this;
    accounts_.reserve(accounts_expected);
}

const AccountRecord* BlockLayer::account(const AccountId& id) const {
    const auto* entry = accounts_.find(id);
    return entry != nullptr ? &entry->second.record : committed_->account(id);
}

const NonceWindow* BlockLayer::nonces(const AccountId& id) const {
    const auto* entry = nonces_.find(id);
    return entry != nullptr ? &entry->second.record : committed_->nonces(id);
}

const MarketRecord* BlockLayer::market(std::string_view symbol) const {
    auto it = markets_.find(symbol);
    return it != markets_.end() ? &it->second : committed_->market(symbol);
}

const ProtocolRecord& BlockLayer::protocol() const { return protocol_ ? *protocol_ : committed_->protocol(); }

std::vector<AccountId> BlockLayer::holders(std::string_view symbol) const {
    if (accounts_.empty()) return committed_->holders(symbol);
    return holders_after_writes(committed_->holders(symbol), symbol, [this](auto update) {
        accounts_.for_each_unordered([&](const auto& entry) { update(entry.first, entry.second.record); });  // order-free: see holders_after_writes
    });
}

// A block's first write of an account. Its committed leaf goes now when the slot keeps its seed:
// whatever the account's value at the block's end, that leaf leaves the root.
BlockLayer::Written<AccountRecord> BlockLayer::first_write(AccountRecord record, CommittedRecords::Entry<AccountRecord>& committed) {
    Written<AccountRecord> written{std::move(record), &committed, {}, false};
    const auto& slot = committed.second;
    if (early_removals_ != nullptr && slot.record && slot.leaf_seed) {
        early_removals_->remove(*slot.leaf_seed);
        written.committed_leaf_removed = true;
    }
    return written;
}

void BlockLayer::put(const AccountId& id, AccountRecord record) {
    record.drop_empty_entries();
    if (auto* entry = accounts_.find(id); entry != nullptr) {
        entry->second.record = std::move(record);
        entry->second.leaf_seed.reset();
    } else {
        add_written(accounts_, id, first_write(std::move(record), committed_->account_entry(id)));
    }
}

AccountRecord* BlockLayer::account_to_change(const AccountId& id) {
    if (auto* entry = accounts_.find(id); entry != nullptr) {
        entry->second.leaf_seed.reset();
        return &entry->second.record;
    }
    auto& committed = committed_->account_entry(id);
    if (!committed.second.record) return nullptr;
    return &add_written(accounts_, id, first_write(*committed.second.record, committed)).record;
}

void BlockLayer::put(const AccountId& id, NonceWindow window) {
    if (auto* entry = nonces_.find(id); entry != nullptr) {
        entry->second.record = std::move(window);
        entry->second.leaf_seed.reset();
    } else {
        add_written(nonces_, id, {std::move(window), &committed_->nonces_entry(id), {}});  // early removals: accounts only
    }
}

void BlockLayer::put(MarketRecord market) {
    std::string symbol = market.symbol;
    markets_.insert_or_assign(std::move(symbol), std::move(market));
}

void BlockLayer::put(ProtocolRecord protocol) { protocol_ = protocol; }

void BlockLayer::discard() {
    accounts_.clear();
    nonces_.clear();
    markets_.clear();
    protocol_.reset();
    early_removals_ = nullptr;
    if (committed_->open_block_ == this) committed_->open_block_ = nullptr;
}

// --- Encoding a block's changes ---

namespace {

void add_change(std::vector<EntryChange>& out, std::string key, std::optional<std::string> old_value,
                std::optional<std::string> new_value) {
    if (old_value == new_value) return;
    out.push_back({std::move(key), std::move(old_value), std::move(new_value), nullptr, nullptr});
}

// A written record's change. The committed value goes as its slot's leaf seed when the slot
// keeps one (it is then not encoded); the root hands back the new seed into `written`, for
// absorb. A record equal to the committed one is left out (and keeps the slot's seed).
template <typename Written>
void add_record_change(std::vector<EntryChange>& out, std::string key, Written& written) {
    const auto& slot = written.committed->second;
    written.leaf_seed.reset();
    if (written.committed_leaf_removed) {
        // Its committed leaf is gone already (EarlyLeafRemovals): the new value goes in as an
        // entry added, even when equal to the committed one, so that the root adds its leaf.
        out.push_back({std::move(key), std::nullopt, encode(written.record), nullptr, &written.leaf_seed});
        return;
    }
    if (slot.record && *slot.record == written.record) {
        written.leaf_seed = slot.leaf_seed;
        return;
    }
    const Hash32* old_seed = slot.leaf_seed ? &*slot.leaf_seed : nullptr;  // the slot stays put until absorb
    EntryChange change{std::move(key), std::nullopt, encode(written.record), old_seed, &written.leaf_seed};
    if (!change.old_seed && slot.record) change.old_value = encode(*slot.record);
    if (change.old_value == change.new_value) return;  // unequal records, equal bytes: no change either
    out.push_back(std::move(change));
}

std::optional<std::string> encoded(const auto* record) {
    if (record == nullptr) return std::nullopt;
    return encode(*record);
}

}  // namespace

// An account's change and its "holder/" index changes: an entry per market with a non-zero size.
void BlockLayer::add_account_changes(std::vector<EntryChange>& out, const AccountId& id, Written<AccountRecord>& written) {
    const AccountRecord& record = written.record;
    const auto& committed = written.committed->second.record;
    const AccountRecord* before = committed ? &*committed : nullptr;
    add_record_change(out, keys::account(id), written);
    if (before != nullptr)
        for (const auto& p : before->markets)
            if (p.size_lots != 0 && !holds(&record, p.market)) add_change(out, keys::holder(p.market, id), "", std::nullopt);
    for (const auto& p : record.markets)
        if (p.size_lots != 0 && !holds(before, p.market)) add_change(out, keys::holder(p.market, id), std::nullopt, "");
}

// The changes `accounts` written accounts make: one each, and now and then a holder entry.
static constexpr size_t changes_expected(size_t accounts) { return accounts + accounts / 4; }

std::vector<EntryChange> BlockLayer::encode_changes() {
    WorkerPool alone(0);
    return encode_changes(alone);
}

std::vector<EntryChange> BlockLayer::encode_changes(WorkerPool& helpers) {
    // The accounts, most of the work, in chunks on the caller and `helpers`: encoding reads only the
    // written records and their committed slots, which nothing changes meanwhile, and writes
    // each written entry's seed from the one thread that takes its chunk.
    std::vector<std::pair<const AccountId, Written<AccountRecord>>*> accounts;
    accounts.reserve(accounts_.size());
    accounts_.for_each_unordered([&](auto& entry) { accounts.push_back(&entry); });  // order-free: sorted at the end
    constexpr size_t accounts_per_thread_min = 256;
    constexpr size_t accounts_per_chunk = 64;
    std::vector<std::vector<EntryChange>> parts(slice_count(accounts.size(), helpers.workers() + 1, accounts_per_thread_min));
    for (auto& part : parts) part.reserve(changes_expected(accounts.size() / parts.size()));
    for_each_slice(helpers, accounts.size(), parts.size(), accounts_per_chunk, [&](size_t begin, size_t end, size_t part) {
        for (size_t i = begin; i < end; ++i) add_account_changes(parts[part], accounts[i]->first, accounts[i]->second);
    });
    std::vector<EntryChange> out;
    out.reserve(changes_expected(accounts.size()) + nonces_.size() + markets_.size() + 1);
    for (auto& part : parts) std::move(part.begin(), part.end(), std::back_inserter(out));
    nonces_.for_each_unordered([&](auto& entry) { add_record_change(out, keys::nonces(entry.first), entry.second); });  // order-free: sorted at the end
    for (const auto& [symbol, market] : markets_)
        add_change(out, keys::market(symbol), encoded(committed_->market(symbol)), encode(market));
    if (protocol_) add_change(out, keys::protocol(), encode(committed_->protocol()), encode(*protocol_));
    std::sort(out.begin(), out.end(), [](const EntryChange& a, const EntryChange& b) { return a.key < b.key; });
    return out;
}

// --- Typed helpers ---

std::optional<AccountRecord> load_account(const RecordReader& s, const AccountId& id) {
    const AccountRecord* a = s.account(id);
    return a != nullptr ? std::optional<AccountRecord>(*a) : std::nullopt;
}

NonceWindow load_nonces(const RecordReader& s, const AccountId& id) {
    const NonceWindow* w = s.nonces(id);
    return w != nullptr ? *w : NonceWindow{};
}

const NonceWindow& load_window(const RecordReader& s, const ConfigRecord& config, const AccountId& id) {
    static const NonceWindow empty;
    if (!window_in_account(config, id)) {
        const NonceWindow* w = s.nonces(id);
        return w != nullptr ? *w : empty;
    }
    const AccountRecord* a = s.account(id);
    return a != nullptr ? a->nonces : empty;
}

void use_nonce(RecordWriter& s, const ConfigRecord& config, const AccountId& id, uint64_t nonce) {
    if (!window_in_account(config, id)) {
        NonceWindow window = load_nonces(s, id);
        assert(window.accepts(nonce));
        window.use(nonce);
        s.put(id, std::move(window));
        return;
    }
    AccountRecord* account = s.account_to_change(id);
    if (account == nullptr) throw StorageError("a nonce spent by an id without an account (authority is checked first)");
    assert(account->nonces.accepts(nonce));
    account->nonces.use(nonce);
}

std::optional<MarketRecord> load_market(const RecordReader& s, std::string_view symbol) {
    const MarketRecord* m = s.market(symbol);
    return m != nullptr ? std::optional<MarketRecord>(*m) : std::nullopt;
}

ProtocolRecord load_protocol(const RecordReader& s) { return s.protocol(); }

std::vector<MarketRecord> load_markets(const RecordReader& s) {
    std::vector<MarketRecord> out;
    for (const auto& symbol : s.market_symbols()) {
        const MarketRecord* m = s.market(symbol);
        if (m == nullptr) throw StorageError("market " + symbol + " vanished");
        out.push_back(*m);
    }
    return out;
}

}  // namespace clearnode
