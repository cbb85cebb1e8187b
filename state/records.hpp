// The typed records of RULES §3, their keys and their one canonical value encoding.
// These bytes are what the state root commits to: change an encoding and you must bump
// state_root_version and regenerate the fixtures on purpose.
//
//   key                          value
//   "chain"                      ChainRecord     height, block time, last block hash
//   "config"                     ConfigRecord    chain id, authorities, params (fixed at genesis)
//   "protocol"                   ProtocolRecord  insurance fund, fee pool, deposit/withdrawal totals
//   "market/" symbol             MarketRecord    spec, mark, funding index, funding pool, open interest
//   "account/" id(32)            AccountRecord   collateral, per-market entries, nonce window
//   "nonces/" id(32)             NonceWindow     the bridge's and the oracle's nonce windows
//   "holder/" symbol "/" id(32)  (empty)         index: id holds a non-zero position in symbol
//
// A nonce window (the 100 highest used nonces, LEB128 first + gaps) is part of its account's
// record, as RULES §3 has it: every transaction rewrites its signer's account anyway, so the
// window costs no entry of its own. The bridge and the oracle sign without being accounts, so
// theirs are entries of their own, whether or not an account with their id exists.
#pragma once

#include "ledger/genesis.hpp"
#include "ledger/units.hpp"
#include "state/store.hpp"

#include <optional>
#include <string>
#include <vector>

namespace clearnode {

constexpr size_t nonce_window_size = 100;
constexpr int64_t no_time_ms = INT64_MIN;

struct ChainRecord {
    uint64_t height = 0;
    int64_t time_ms = 0;
    Hash32 last_block_hash{};
    bool operator==(const ChainRecord&) const = default;
};

struct ConfigRecord {
    std::string chain_id;
    AccountId bridge{};
    AccountId oracle{};
    AccountId backstop{};
    Params params;
    bool operator==(const ConfigRecord&) const = default;
};

struct ProtocolRecord {
    int64_t insurance_fund_usd = 0;
    int64_t fee_pool_usd = 0;
    int64_t deposits_total_usd = 0;     // RULES §10 I2's right-hand side, kept as it happens
    int64_t withdrawals_total_usd = 0;
    bool operator==(const ProtocolRecord&) const = default;
};

struct MarketRecord {
    std::string symbol;
    int32_t size_decimals = 0;
    std::vector<MarginTier> tiers;
    int64_t mark_price = 0;
    // RULES §8: sum over funding intervals of mark * rate_ppb (usd * 1e-9 per whole base unit).
    Wide funding_index = 0;
    int64_t funding_pool_usd = 0;
    int64_t open_interest_lots = 0;  // sum of long sizes (= sum of short sizes, I1)
    bool operator==(const MarketRecord&) const = default;
};

struct NonceWindow {
    std::vector<uint64_t> nonces;  // ascending, at most nonce_window_size
    bool operator==(const NonceWindow&) const = default;
    // RULES §6: not in the window and, when it is full, above its smallest member.
    bool accepts(uint64_t nonce) const;
    // Records an accepted nonce, dropping the smallest when the window is full.
    void use(uint64_t nonce);
};

// One account's settings and position in one market (RULES §3).
struct MarketPosition {
    std::string market;
    MarginMode mode = MarginMode::cross;
    uint32_t leverage = 0;          // 0: the default, min(default_leverage, tier 0's max)
    int64_t size_lots = 0;          // signed: + long, - short
    int64_t cost_usd = 0;           // signed notional of the fills that opened it
    int64_t isolated_margin_usd = 0;
    Wide funding_index = 0;         // the market's index when funding was last settled
    int64_t last_partial_liquidation_ms = no_time_ms;
    bool operator==(const MarketPosition&) const = default;
    // No position, default settings: the entry need not be stored.
    bool is_empty() const;
};

struct AccountRecord {
    int64_t collateral_usd = 0;
    std::vector<MarketPosition> markets;  // sorted by market symbol, no empty entries
    NonceWindow nonces;                   // empty for the bridge and the oracle (window_in_account)
    bool operator==(const AccountRecord&) const = default;
    MarketPosition* find(std::string_view market);
    const MarketPosition* find(std::string_view market) const;
    // The entry for `market`, created (default settings) when absent.
    MarketPosition& entry(std::string_view market);
    void drop_empty_entries();
};

// Where `id`'s nonce window is kept: in its account record, or, for the bridge and the oracle,
// under "nonces/" (see the top of this file). A consensus rule: it decides what the root covers.
inline bool window_in_account(const ConfigRecord& config, const AccountId& id) {
    return id != config.bridge && id != config.oracle;
}

namespace keys {
std::string chain();
std::string config();
std::string protocol();
std::string market(std::string_view symbol);
std::string account(const AccountId& id);
std::string nonces(const AccountId& id);
std::string holder(std::string_view symbol, const AccountId& id);
std::string holder_prefix(std::string_view symbol);
constexpr std::string_view account_prefix = "account/";
constexpr std::string_view market_prefix = "market/";
}  // namespace keys

std::string encode(const ChainRecord& r);
std::string encode(const ConfigRecord& r);
std::string encode(const ProtocolRecord& r);
std::string encode(const MarketRecord& r);
std::string encode(const AccountRecord& r);
std::string encode(const NonceWindow& r);

// A record that does not decode is a corrupt store: these throw StorageError.
ChainRecord decode_chain(std::string_view bytes);
ConfigRecord decode_config(std::string_view bytes);
ProtocolRecord decode_protocol(std::string_view bytes);
MarketRecord decode_market(std::string_view bytes);
AccountRecord decode_account(std::string_view bytes);
NonceWindow decode_nonces(std::string_view bytes);

// Typed reads and writes over any view.
ChainRecord load_chain(const StateReader& s);
ConfigRecord load_config(const StateReader& s);
ProtocolRecord load_protocol(const StateReader& s);
std::optional<MarketRecord> load_market(const StateReader& s, std::string_view symbol);
std::optional<AccountRecord> load_account(const StateReader& s, const AccountId& id);
NonceWindow load_nonces(const StateReader& s, const AccountId& id);
std::vector<MarketRecord> load_markets(const StateReader& s);

void save(Overlay& s, const ChainRecord& r);
void save(Overlay& s, const ConfigRecord& r);
void save(Overlay& s, const ProtocolRecord& r);
void save(Overlay& s, const MarketRecord& r);
// Also keeps the "holder/" index in step with the positions' sizes.
void save(Overlay& s, const AccountId& id, AccountRecord r);
void save(Overlay& s, const AccountId& id, const NonceWindow& r);

// Every account holding a non-zero position in `symbol`, ascending by id.
std::vector<AccountId> holders(const StateReader& s, std::string_view symbol);

}  // namespace clearnode
