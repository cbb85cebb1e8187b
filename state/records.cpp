#include "state/records.hpp"

#include "ledger/codec.hpp"

#include <algorithm>
#include <cassert>

namespace clearnode {
namespace {

constexpr size_t tiers_max_decode = 64;
constexpr size_t markets_per_account_max = 4096;

void put_wide(Writer& w, const Wide& v) {
    const Wide magnitude = v < 0 ? Wide(-v) : v;
    w.u8(v < 0 ? 1 : 0);
    w.u64(static_cast<uint64_t>(magnitude & Wide(UINT64_MAX)));
    w.u64(static_cast<uint64_t>(magnitude >> 64));
}

Wide get_wide(Reader& r) {
    const uint8_t negative = r.u8();
    const uint64_t low = r.u64();
    const uint64_t high = r.u64();
    if (negative > 1 || (negative == 1 && low == 0 && high == 0)) r.fail();  // one encoding per value: no -0
    Wide magnitude = (Wide(high) << 64) | Wide(low);
    return negative ? Wide(-magnitude) : magnitude;
}

void put_params(Writer& w, const Params& p) {
    w.i64(p.taker_fee_ppm);
    w.i64(p.maker_fee_ppm);
    w.i64(p.transfer_floor_ppm);
    w.i64(p.backstop_ratio_ppm);
    w.i64(p.partial_threshold_usd);
    w.i64(p.partial_cooldown_ms);
    w.i64(p.partial_ppm);
    w.i64(p.liquidation_fee_ppm);
    w.i64(p.liquidator_share_ppm);
    w.i64(p.min_notional_usd);
    w.i64(p.funding_rate_cap_ppb);
    w.i64(p.insurance_floor_usd);
    w.u32(p.default_leverage);
}

Params get_params(Reader& r) {
    Params p;
    p.taker_fee_ppm = r.i64();
    p.maker_fee_ppm = r.i64();
    p.transfer_floor_ppm = r.i64();
    p.backstop_ratio_ppm = r.i64();
    p.partial_threshold_usd = r.i64();
    p.partial_cooldown_ms = r.i64();
    p.partial_ppm = r.i64();
    p.liquidation_fee_ppm = r.i64();
    p.liquidator_share_ppm = r.i64();
    p.min_notional_usd = r.i64();
    p.funding_rate_cap_ppb = r.i64();
    p.insurance_floor_usd = r.i64();
    p.default_leverage = r.u32();
    return p;
}

template <typename T>
T finish(Reader& r, T value, const char* what) {
    if (!r.ok() || !r.at_end()) throw StorageError(std::string("corrupt ") + what + " record");
    return value;
}

template <typename T, typename Decode>
std::optional<T> load_optional(const StateReader& s, const std::string& key, Decode decode) {
    auto bytes = s.get(key);
    if (!bytes) return std::nullopt;
    return decode(*bytes);
}

template <typename T, typename Decode>
T load_required(const StateReader& s, const std::string& key, Decode decode) {
    auto bytes = s.get(key);
    if (!bytes) throw StorageError("missing state entry \"" + key + "\"");
    return decode(*bytes);
}

std::string id_text(const AccountId& id) { return std::string(reinterpret_cast<const char*>(id.data()), id.size()); }

// Every transaction rewrites its signer's window, so it is kept small: the smallest nonce, then
// each gap to the next, all LEB128; the count is implied by the length, so a window is always
// the last field of its record. A window of 100 sequential nonces is about 100 bytes instead
// of 800.
void put_window(Writer& w, const NonceWindow& window) {
    assert(window.nonces.size() <= nonce_window_size);
    uint64_t previous = 0;
    for (size_t i = 0; i < window.nonces.size(); ++i) {
        assert(i == 0 || window.nonces[i] > previous);
        w.varint(i == 0 ? window.nonces[i] : window.nonces[i] - previous);
        previous = window.nonces[i];
    }
}

// The inverse of put_window, and only of it: reads to the end of the record. A gap of zero (a
// repeated nonce), a sum past 2^64 - 1, more than nonce_window_size nonces or a non-minimal
// varint is corrupt.
NonceWindow get_window(Reader& r) {
    NonceWindow window;
    window.nonces.reserve(std::min(r.remaining(), nonce_window_size));  // a nonce takes a byte or more
    // Each nonce takes at least one byte, so the loop is bounded by the input's length.
    while (r.ok() && !r.at_end()) {
        if (window.nonces.size() == nonce_window_size) {
            r.fail();
            break;
        }
        const uint64_t value = r.varint();
        if (window.nonces.empty()) {
            window.nonces.push_back(value);
            continue;
        }
        const uint64_t previous = window.nonces.back();
        if (value == 0 || value > UINT64_MAX - previous) r.fail();
        else window.nonces.push_back(previous + value);
    }
    return window;
}

}  // namespace

bool MarketPosition::is_empty() const {
    return size_lots == 0 && cost_usd == 0 && isolated_margin_usd == 0 && mode == MarginMode::cross && leverage == 0 &&
           last_partial_liquidation_ms == no_time_ms;
}

MarketPosition* AccountRecord::find(std::string_view market) {
    auto it = std::lower_bound(markets.begin(), markets.end(), market,
                               [](const MarketPosition& p, std::string_view m) { return p.market < m; });
    return it != markets.end() && it->market == market ? &*it : nullptr;
}

const MarketPosition* AccountRecord::find(std::string_view market) const {
    return const_cast<AccountRecord*>(this)->find(market);
}

MarketPosition& AccountRecord::entry(std::string_view market) {
    auto it = std::lower_bound(markets.begin(), markets.end(), market,
                               [](const MarketPosition& p, std::string_view m) { return p.market < m; });
    if (it != markets.end() && it->market == market) return *it;
    MarketPosition fresh;
    fresh.market = std::string(market);
    return *markets.insert(it, std::move(fresh));
}

void AccountRecord::drop_empty_entries() {
    std::erase_if(markets, [](const MarketPosition& p) { return p.is_empty(); });
}

bool NonceWindow::accepts(uint64_t nonce) const {
    if (std::binary_search(nonces.begin(), nonces.end(), nonce)) return false;
    return nonces.size() < nonce_window_size || nonce > nonces.front();
}

void NonceWindow::use(uint64_t nonce) {
    if (nonces.size() >= nonce_window_size) nonces.erase(nonces.begin());
    nonces.insert(std::upper_bound(nonces.begin(), nonces.end(), nonce), nonce);
}

namespace keys {
std::string chain() { return "chain"; }
std::string config() { return "config"; }
std::string protocol() { return "protocol"; }
std::string market(std::string_view symbol) { return std::string(market_prefix) + std::string(symbol); }
std::string account(const AccountId& id) { return std::string(account_prefix) + id_text(id); }
std::string nonces(const AccountId& id) { return "nonces/" + id_text(id); }
std::string holder_prefix(std::string_view symbol) { return "holder/" + std::string(symbol) + "/"; }
std::string holder(std::string_view symbol, const AccountId& id) { return holder_prefix(symbol) + id_text(id); }
}  // namespace keys

std::string encode(const ChainRecord& r) {
    Writer w;
    w.u64(r.height);
    w.i64(r.time_ms);
    w.fixed(r.last_block_hash);
    return w.take();
}

std::string encode(const ConfigRecord& r) {
    Writer w;
    w.bytes(r.chain_id);
    w.fixed(r.bridge);
    w.fixed(r.oracle);
    w.fixed(r.backstop);
    put_params(w, r.params);
    return w.take();
}

std::string encode(const ProtocolRecord& r) {
    Writer w;
    w.i64(r.insurance_fund_usd);
    w.i64(r.fee_pool_usd);
    w.i64(r.deposits_total_usd);
    w.i64(r.withdrawals_total_usd);
    return w.take();
}

std::string encode(const MarketRecord& r) {
    Writer w;
    w.bytes(r.symbol);
    w.u32(static_cast<uint32_t>(r.size_decimals));
    w.u32(static_cast<uint32_t>(r.tiers.size()));
    for (const auto& t : r.tiers) {
        w.i64(t.notional_floor_usd);
        w.u32(t.max_leverage);
    }
    w.i64(r.mark_price);
    put_wide(w, r.funding_index);
    w.i64(r.funding_pool_usd);
    w.i64(r.open_interest_lots);
    return w.take();
}

std::string encode(const AccountRecord& r) {
    // Collateral and count, then per market 58 bytes and its symbol (room for 8), then a byte
    // or two per nonce (gaps between a signer's recent nonces are small).
    constexpr size_t fixed_bytes = 12, position_bytes = 58 + 8, nonce_bytes = 2;
    Writer w(fixed_bytes + r.markets.size() * position_bytes + r.nonces.nonces.size() * nonce_bytes);
    w.i64(r.collateral_usd);
    w.u32(static_cast<uint32_t>(r.markets.size()));
    for (const auto& p : r.markets) {
        w.bytes(p.market);
        w.u8(static_cast<uint8_t>(p.mode));
        w.u32(p.leverage);
        w.i64(p.size_lots);
        w.i64(p.cost_usd);
        w.i64(p.isolated_margin_usd);
        put_wide(w, p.funding_index);
        w.i64(p.last_partial_liquidation_ms);
    }
    put_window(w, r.nonces);
    return w.take();
}

std::string encode(const NonceWindow& r) {
    Writer w;
    put_window(w, r);
    return w.take();
}

ChainRecord decode_chain(std::string_view bytes) {
    Reader r(bytes);
    ChainRecord c;
    c.height = r.u64();
    c.time_ms = r.i64();
    c.last_block_hash = r.fixed<32>();
    return finish(r, c, "chain");
}

ConfigRecord decode_config(std::string_view bytes) {
    Reader r(bytes);
    ConfigRecord c;
    c.chain_id = r.bytes(chain_id_length_max);
    c.bridge = r.fixed<32>();
    c.oracle = r.fixed<32>();
    c.backstop = r.fixed<32>();
    c.params = get_params(r);
    return finish(r, c, "config");
}

ProtocolRecord decode_protocol(std::string_view bytes) {
    Reader r(bytes);
    ProtocolRecord p;
    p.insurance_fund_usd = r.i64();
    p.fee_pool_usd = r.i64();
    p.deposits_total_usd = r.i64();
    p.withdrawals_total_usd = r.i64();
    return finish(r, p, "protocol");
}

MarketRecord decode_market(std::string_view bytes) {
    Reader r(bytes);
    MarketRecord m;
    m.symbol = r.bytes(symbol_length_max);
    m.size_decimals = static_cast<int32_t>(r.u32());
    const uint32_t n = r.u32();
    if (n > tiers_max_decode) r.fail();
    for (uint32_t i = 0; i < n && r.ok(); ++i) {
        MarginTier t;
        t.notional_floor_usd = r.i64();
        t.max_leverage = r.u32();
        m.tiers.push_back(t);
    }
    m.mark_price = r.i64();
    m.funding_index = get_wide(r);
    m.funding_pool_usd = r.i64();
    m.open_interest_lots = r.i64();
    return finish(r, m, "market");
}

AccountRecord decode_account(std::string_view bytes) {
    Reader r(bytes);
    AccountRecord a;
    a.collateral_usd = r.i64();
    const uint32_t n = r.u32();
    if (n > markets_per_account_max) r.fail();
    for (uint32_t i = 0; i < n && r.ok(); ++i) {
        MarketPosition p;
        p.market = r.bytes(symbol_length_max);
        const uint8_t mode = r.u8();
        if (mode > 1) r.fail();
        p.mode = static_cast<MarginMode>(mode);
        p.leverage = r.u32();
        p.size_lots = r.i64();
        p.cost_usd = r.i64();
        p.isolated_margin_usd = r.i64();
        p.funding_index = get_wide(r);
        p.last_partial_liquidation_ms = r.i64();
        a.markets.push_back(std::move(p));
    }
    a.nonces = get_window(r);
    return finish(r, a, "account");
}

NonceWindow decode_nonces(std::string_view bytes) {
    Reader r(bytes);
    NonceWindow window = get_window(r);
    return finish(r, window, "nonce window");
}

ChainRecord load_chain(const StateReader& s) { return load_required<ChainRecord>(s, keys::chain(), decode_chain); }
ConfigRecord load_config(const StateReader& s) { return load_required<ConfigRecord>(s, keys::config(), decode_config); }
ProtocolRecord load_protocol(const StateReader& s) {
    return load_required<ProtocolRecord>(s, keys::protocol(), decode_protocol);
}
std::optional<MarketRecord> load_market(const StateReader& s, std::string_view symbol) {
    return load_optional<MarketRecord>(s, keys::market(symbol), decode_market);
}
std::optional<AccountRecord> load_account(const StateReader& s, const AccountId& id) {
    return load_optional<AccountRecord>(s, keys::account(id), decode_account);
}
NonceWindow load_nonces(const StateReader& s, const AccountId& id) {
    return load_optional<NonceWindow>(s, keys::nonces(id), decode_nonces).value_or(NonceWindow{});
}

std::vector<MarketRecord> load_markets(const StateReader& s) {
    std::vector<MarketRecord> out;
    s.scan(keys::market_prefix, [&](std::string_view, std::string_view value) {
        out.push_back(decode_market(value));
        return true;
    });
    return out;
}

void save(Overlay& s, const ChainRecord& r) { s.put(keys::chain(), encode(r)); }
void save(Overlay& s, const ConfigRecord& r) { s.put(keys::config(), encode(r)); }
void save(Overlay& s, const ProtocolRecord& r) { s.put(keys::protocol(), encode(r)); }
void save(Overlay& s, const MarketRecord& r) { s.put(keys::market(r.symbol), encode(r)); }

void save(Overlay& s, const AccountId& id, AccountRecord r) {
    r.drop_empty_entries();
    const AccountRecord before = load_account(s, id).value_or(AccountRecord{});
    auto holds = [](const AccountRecord& a, std::string_view market) {
        const MarketPosition* p = a.find(market);
        return p != nullptr && p->size_lots != 0;
    };
    for (const auto& p : before.markets)
        if (p.size_lots != 0 && !holds(r, p.market)) s.erase(keys::holder(p.market, id));
    for (const auto& p : r.markets)
        if (p.size_lots != 0 && !holds(before, p.market)) s.put(keys::holder(p.market, id), "");
    s.put(keys::account(id), encode(r));
}

void save(Overlay& s, const AccountId& id, const NonceWindow& r) { s.put(keys::nonces(id), encode(r)); }

std::vector<AccountId> holders(const StateReader& s, std::string_view symbol) {
    std::vector<AccountId> out;
    const std::string prefix = keys::holder_prefix(symbol);
    s.scan(prefix, [&](std::string_view key, std::string_view) {
        AccountId id{};
        if (key.size() != prefix.size() + id.size()) throw StorageError("corrupt holder index key");
        std::memcpy(id.data(), key.data() + prefix.size(), id.size());
        out.push_back(id);
        return true;
    });
    return out;
}

}  // namespace clearnode
