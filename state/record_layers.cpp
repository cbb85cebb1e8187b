#include "state/record_layers.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <set>

namespace clearnode {
namespace {

bool holds(const AccountRecord* account, std::string_view market) {
    if (account == nullptr) return false;
    const MarketPosition* p = account->find(market);
    return p != nullptr && p->size_lots != 0;
}

template <typename Record>
std::vector<std::pair<AccountId, const Record*>> ascending_by_id(const AccountTable<Record>& table) {
    std::vector<std::pair<AccountId, const Record*>> out;
    out.reserve(table.size());
    for (const auto& [id, record] : table) out.emplace_back(id, &record);  // order-free: sorted next
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return out;
}

}  // namespace

size_t AccountIdHash::operator()(const AccountId& id) const {
    static const ShortHasher hasher;  // one random key per process
    return static_cast<size_t>(hasher(as_bytes(id)));
}

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
    std::vector<AccountId> below = base_->holders(symbol);
    if (accounts_.empty()) return below;
    std::set<AccountId> ids(below.begin(), below.end());
    for (const auto& [id, record] : accounts_) {  // order-free: into a set
        if (holds(&record, symbol)) ids.insert(id);
        else ids.erase(id);
    }
    return {ids.begin(), ids.end()};
}

std::vector<std::pair<AccountId, const AccountRecord*>> RecordLayer::accounts_written() const { return ascending_by_id(accounts_); }
std::vector<std::pair<AccountId, const NonceWindow*>> RecordLayer::nonces_written() const { return ascending_by_id(nonces_); }

void RecordLayer::put(const AccountId& id, AccountRecord record) {
    record.drop_empty_entries();
    accounts_.insert_or_assign(id, std::move(record));
}

void RecordLayer::put(const AccountId& id, NonceWindow window) { nonces_.insert_or_assign(id, std::move(window)); }

void RecordLayer::put(MarketRecord market) {
    std::string symbol = market.symbol;
    markets_.insert_or_assign(std::move(symbol), std::move(market));
}

void RecordLayer::put(ProtocolRecord protocol) { protocol_ = protocol; }

void RecordLayer::merge_into(RecordLayer& parent) {
    assert(base_ == &parent);
    // Order-free: each entry replaces the parent's.
    for (auto& [id, record] : accounts_) parent.accounts_.insert_or_assign(id, std::move(record));
    for (auto& [id, window] : nonces_) parent.nonces_.insert_or_assign(id, std::move(window));
    for (auto& [symbol, market] : markets_) parent.markets_.insert_or_assign(symbol, std::move(market));
    if (protocol_) parent.protocol_ = protocol_;
    accounts_.clear();
    nonces_.clear();
    markets_.clear();
    protocol_.reset();
}

// --- CommittedRecords ---

CommittedRecords::CommittedRecords(const StateReader& store, size_t entries_max)
    : store_(&store), entries_max_(entries_max) {
    assert(entries_max >= 1);
}

const AccountRecord* CommittedRecords::account(const AccountId& id) const {
    auto it = accounts_.find(id);
    if (it == accounts_.end()) it = accounts_.emplace(id, Slot<AccountRecord>{load_account(*store_, id)}).first;
    it->second.read_epoch = epoch_;
    return it->second.record ? &*it->second.record : nullptr;
}

const NonceWindow* CommittedRecords::nonces(const AccountId& id) const {
    auto it = nonces_.find(id);
    if (it == nonces_.end()) {
        auto stored = store_->get(keys::nonces(id));
        Slot<NonceWindow> slot;
        if (stored) slot.record = decode_nonces(*stored);
        it = nonces_.emplace(id, std::move(slot)).first;
    }
    it->second.read_epoch = epoch_;
    return it->second.record ? &*it->second.record : nullptr;
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

void CommittedRecords::absorb(RecordLayer&& block) {
    ++epoch_;
    // Order-free: each entry replaces the cached one.
    for (auto& [id, record] : block.accounts_) accounts_.insert_or_assign(id, Slot<AccountRecord>{std::move(record), epoch_});
    for (auto& [id, window] : block.nonces_) nonces_.insert_or_assign(id, Slot<NonceWindow>{std::move(window), epoch_});
    for (auto& [symbol, market] : block.markets_) markets_.insert_or_assign(symbol, std::move(market));
    if (block.protocol_) protocol_ = *block.protocol_;
    block.accounts_.clear();
    block.nonces_.clear();
    block.markets_.clear();
    block.protocol_.reset();
    trim();
}

void CommittedRecords::clear() {
    accounts_.clear();
    nonces_.clear();
    markets_.clear();
    protocol_.reset();
}

// Drops the least recently read account and nonce entries until a quarter of the bound is
// free, so that a trim runs once per many blocks. Which entries go changes no result.
void CommittedRecords::trim() {
    if (entries() <= entries_max_) return;
    std::vector<uint64_t> epochs;
    epochs.reserve(entries());
    for (const auto& [id, slot] : accounts_) epochs.push_back(slot.read_epoch);  // order-free: a multiset
    for (const auto& [id, slot] : nonces_) epochs.push_back(slot.read_epoch);
    const size_t keep = entries_max_ - entries_max_ / 4;
    const size_t drop = epochs.size() - keep;
    std::nth_element(epochs.begin(), epochs.begin() + static_cast<std::ptrdiff_t>(drop), epochs.end());
    const uint64_t keep_from_epoch = epochs[drop];  // entries read before this epoch go
    // Order-free: the predicate alone decides.
    std::erase_if(accounts_, [&](const auto& entry) { return entry.second.read_epoch < keep_from_epoch; });
    std::erase_if(nonces_, [&](const auto& entry) { return entry.second.read_epoch < keep_from_epoch; });
}

// --- Encoding a block's changes ---

namespace {

void add_change(std::vector<EntryChange>& out, std::string key, std::optional<std::string> old_value,
                std::optional<std::string> new_value) {
    if (old_value == new_value) return;
    out.push_back({std::move(key), std::move(old_value), std::move(new_value)});
}

std::optional<std::string> encoded(const auto* record) {
    if (record == nullptr) return std::nullopt;
    return encode(*record);
}

}  // namespace

std::vector<EntryChange> encode_changes(const RecordLayer& block, const RecordReader& committed) {
    std::vector<EntryChange> out;
    for (const auto& [id, record_ptr] : block.accounts_written()) {
        const AccountRecord& record = *record_ptr;
        const AccountRecord* before = committed.account(id);
        add_change(out, keys::account(id), encoded(before), encode(record));
        // The holder index follows the positions: an entry per market with a non-zero size.
        if (before != nullptr)
            for (const auto& p : before->markets)
                if (p.size_lots != 0 && !holds(&record, p.market)) add_change(out, keys::holder(p.market, id), "", std::nullopt);
        for (const auto& p : record.markets)
            if (p.size_lots != 0 && !holds(before, p.market)) add_change(out, keys::holder(p.market, id), std::nullopt, "");
    }
    for (const auto& [id, window] : block.nonces_written())
        add_change(out, keys::nonces(id), encoded(committed.nonces(id)), encode(*window));
    for (const auto& [symbol, market] : block.markets_written())
        add_change(out, keys::market(symbol), encoded(committed.market(symbol)), encode(market));
    if (block.protocol_written()) add_change(out, keys::protocol(), encode(committed.protocol()), encode(*block.protocol_written()));
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

NonceWindow load_window(const RecordReader& s, const ConfigRecord& config, const AccountId& id) {
    if (!window_in_account(config, id)) return load_nonces(s, id);
    const AccountRecord* a = s.account(id);
    return a != nullptr ? a->nonces : NonceWindow{};
}

void use_nonce(RecordLayer& s, const ConfigRecord& config, const AccountId& id, uint64_t nonce) {
    if (!window_in_account(config, id)) {
        NonceWindow window = load_nonces(s, id);
        assert(window.accepts(nonce));
        window.use(nonce);
        s.put(id, std::move(window));
        return;
    }
    const AccountRecord* a = s.account(id);
    if (a == nullptr) throw StorageError("a nonce spent by an id without an account (authority is checked first)");
    AccountRecord account = *a;
    assert(account.nonces.accepts(nonce));
    account.nonces.use(nonce);
    s.put(id, std::move(account));
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
