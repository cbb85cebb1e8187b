#include "scenario.hpp"

#include "clearing/fills.hpp"
#include "clearing/liquidation.hpp"
#include "ledger/codec.hpp"
#include "ledger/json.hpp"
#include "ledger/units.hpp"
#include "state/records.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

namespace clearnode::test {

KeyPair key(std::string_view name) { return keypair_from_seed(blake2b_256(as_bytes(name))); }
AccountId id(std::string_view name) { return key(name).public_key; }

Genesis demo_genesis() {
    Genesis g;
    g.chain_id = "clearnode-test";
    g.genesis_time_ms = 1'767'225'600'000;
    g.bridge = id("bridge");
    g.oracle = id("oracle");
    g.backstop = id("backstop");
    g.insurance_fund_usd = 1'000'000 * usd_one;
    g.markets = reference_markets();
    return g;
}

Genesis lean_genesis() {
    Genesis g = demo_genesis();
    g.chain_id = "clearnode-test-lean";
    g.insurance_fund_usd = 2'000 * usd_one;
    return g;
}

// --- choices ---

uint64_t Choices::below(uint64_t n) {
    assert(n >= 1);
    // Reject the top partial range so that every value is equally likely.
    const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % n;
    for (int attempt = 0; attempt < 64; ++attempt) {
        const uint64_t x = next();
        if (x < limit) return x % n;
    }
    return 0;  // only a source stuck above `limit` (exhausted fuzz input reads 0) gets here
}

int64_t Choices::between(int64_t lo, int64_t hi) {
    assert(lo <= hi);
    const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
    if (span == std::numeric_limits<uint64_t>::max()) return static_cast<int64_t>(next());
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + below(span + 1));
}

namespace {
uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

Rng::Rng(uint64_t seed) {
    for (auto& s : s_) s = splitmix64(seed);
}

uint64_t Rng::next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

uint64_t ByteChoices::next() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
        const uint8_t b = pos_ < size_ ? data_[pos_] : 0;
        ++pos_;
        v |= static_cast<uint64_t>(b) << (8 * i);
    }
    return v;
}

// --- the scenario ---

namespace {
constexpr size_t recent_max = 64;
constexpr size_t ghosts = 3;  // keys that never receive collateral
const char* const unknown_markets[] = {"DOGE", "BTC-PERP", "X"};
// Texts that are wrong on purpose: zero, negative, too precise, beyond int64, or int64's edge.
const char* const odd_amounts[] = {
    "0", "0.000000", "-5", "-0.000001", "1.0000001", "0.0000000001",
    "9223372036854.775808", "99999999999999999999", "18446744073709.551616",
    "9223372036854.775807", "-9223372036854.775808",
    "999999999999999999999999999999999999999", "-9999999999999999999999999999999999999.9",
};
}  // namespace

Scenario::Scenario(Choices& choices, Genesis genesis, ScenarioConfig config)
    : choices_(choices), genesis_(std::move(genesis)), config_(config), time_ms_(genesis_.genesis_time_ms) {
    assert(config_.traders >= 2 && config_.block_txs_max >= 1);
    std::vector<std::string> names = {"bridge", "oracle"};
    for (size_t i = 0; i < config_.traders; ++i) traders_.push_back("trader-" + std::to_string(i));
    names.insert(names.end(), traders_.begin(), traders_.end());
    for (size_t i = 0; i < ghosts; ++i) names.push_back("ghost-" + std::to_string(i));
    for (const auto& n : names) keys_.emplace(n, key(n));
}

Block Scenario::next_block(const StateReader& committed) {
    Block block;
    block.header.height = ++height_;
    // Mostly a second or so; sometimes the same instant (time may stand still), sometimes a
    // long gap.
    const uint64_t step = choices_.below(10);
    time_ms_ += step == 0 ? 0 : step < 9 ? choices_.between(1, 3'000) : choices_.between(3'000, 120'000);
    block.header.time_ms = time_ms_;
    const size_t count = 1 + choices_.below(config_.block_txs_max);
    for (size_t i = 0; i < count; ++i) block.txs.push_back(next_tx(committed));
    return block;
}

Tx Scenario::next_tx(const StateReader& state) {
    Tx tx = choices_.chance(config_.invalid_per_mille) ? invalid_tx(state) : valid_tx(state);
    recent_.push_back(tx);
    if (recent_.size() > recent_max) recent_.pop_front();
    return tx;
}

const std::string& Scenario::trader() { return traders_[choices_.below(traders_.size())]; }

int64_t Scenario::collateral_of(const StateReader& state, const std::string& name) const {
    const auto account = load_account(state, keys_.find(name)->second.public_key);
    return account ? account->collateral_usd : 0;
}

// A decimal text for `amount_usd`, sometimes with leading or trailing zeros that do not change
// its value (the engine must read them, and the hash must still differ).
std::string Scenario::usd_text(int64_t amount_usd) {
    std::string text = format_units(amount_usd, usd_decimals);
    if (choices_.chance(50)) text.insert(0, "00");
    if (choices_.chance(50)) text += text.find('.') == std::string::npos ? ".000" : "00";
    return text;
}

// Sometimes any int64 at all (negative, zero, near the edges), so that overflow paths run.
int64_t Scenario::wild_or(int64_t amount_usd) {
    if (!choices_.chance(config_.wild_per_mille)) return amount_usd;
    const uint64_t bits = choices_.next();
    const uint64_t shift = choices_.below(64);
    return static_cast<int64_t>(bits >> shift);
}

// Mostly a share of `limit_usd`, sometimes all of it, sometimes a little more (over-removal).
std::string Scenario::amount_up_to(int64_t limit_usd) {
    const int64_t limit = limit_usd > 0 ? limit_usd : usd_one;
    const uint64_t pick = choices_.below(10);
    int64_t amount = pick < 7 ? choices_.between(1, limit / 4 + 1) : pick < 8 ? limit : limit + choices_.between(1, usd_one);
    // Whole cents or dollars most of the time, as people write them.
    if (choices_.chance(700) && amount > usd_one) amount -= amount % (choices_.chance(500) ? usd_one : 10'000);
    return usd_text(wild_or(amount));
}

Tx Scenario::sign_as(Tx tx, std::string_view signer, std::string_view chain_id) const {
    tx.sig = sign(keys_.find(signer)->second.secret_key, as_bytes(tx_signing_digest(tx, chain_id)));
    return tx;
}

uint64_t Scenario::take_nonce(std::string_view signer) {
    auto it = next_nonce_.find(signer);
    if (it == next_nonce_.end()) it = next_nonce_.emplace(std::string(signer), 1).first;
    // Sometimes skip nonces: the window accepts any unused one.
    const uint64_t nonce = it->second + (choices_.chance(50) ? choices_.below(5) : 0);
    it->second = nonce + 1;
    return nonce;
}

Tx Scenario::make(std::string_view signer, TxBody body) {
    Tx tx;
    tx.signer = keys_.find(signer)->second.public_key;
    tx.nonce = take_nonce(signer);
    tx.body = std::move(body);
    return sign_as(std::move(tx), signer, genesis_.chain_id);
}

Tx Scenario::valid_tx(const StateReader& state) {
    if (config_.markets && choices_.chance(550)) return market_tx(state);
    const uint64_t kind = choices_.below(100);
    if (kind < 35) {
        // Deposits: most are dollars to thousands, a few are large.
        const int64_t amount = choices_.chance(900) ? choices_.between(usd_one, 50'000 * usd_one)
                                                    : choices_.between(50'000 * usd_one, 5'000'000 * usd_one);
        return make("bridge", Deposit{id(trader()), {usd_text(wild_or(amount))}});
    }
    const std::string& who = trader();
    const int64_t held = collateral_of(state, who);
    if (kind < 60) return make(who, Withdraw{{amount_up_to(held)}});
    std::string to = trader();
    if (choices_.chance(50)) to = "ghost-0";  // a transfer creates the receiving account
    return make(who, Transfer{keys_.find(to)->second.public_key, {amount_up_to(held)}});
}

namespace {

// The nearest tick-rule price (RULES §1) at or below `price`, at least one step.
int64_t on_tick_below(int64_t price, int32_t size_decimals) {
    if (price <= 0) return pow10(size_decimals);
    const int64_t step = price_tick(price, size_decimals);
    const int64_t rounded = price - price % step;
    return rounded > 0 ? rounded : step;
}

// `value` moved by `delta_ppm` (floor), at least 1.
int64_t moved(int64_t value, int64_t delta_ppm) {
    const Wide next = Wide(value) + div_floor(Wide(value) * delta_ppm, ppm_one);
    return next < 1 ? 1 : next > Wide(INT64_MAX / 4) ? INT64_MAX / 4 : narrow(next);
}

}  // namespace

Tx Scenario::market_tx(const StateReader& state) {
    const uint64_t kind = choices_.below(100);
    if (kind < 14) return price_tx(state);
    const MarketSpec& spec = genesis_.markets[choices_.below(genesis_.markets.size())];
    const auto market = load_market(state, spec.symbol);
    const int64_t mark = market ? market->mark_price : spec.price;
    if (kind < 19) {
        // Funding: small rates, sometimes beyond the cap (clamped by the engine).
        FundingUpdate f;
        for (const auto& m : genesis_.markets) {
            if (!choices_.chance(700)) continue;
            const int64_t cap = 40'000'000;
            const int64_t rate = choices_.chance(50) ? choices_.between(-2 * cap, 2 * cap) : choices_.between(-500'000, 500'000);
            f.rates.push_back({m.symbol, rate});
        }
        if (f.rates.empty()) f.rates.push_back({spec.symbol, 100'000});
        return make("oracle", std::move(f));
    }
    const std::string& who = trader();
    if (kind < 29) {
        // Leverage up to a little beyond tier 0's maximum; isolated now and then.
        const uint32_t max0 = spec.tiers.at(0).max_leverage;
        const auto leverage = static_cast<uint32_t>(1 + choices_.below(max0 + 4));
        const MarginMode mode = choices_.chance(300) ? MarginMode::isolated : MarginMode::cross;
        return make(who, SetLeverage{spec.symbol, leverage, mode});
    }
    if (kind < 37) {
        // Margin into an isolated position (a share of the collateral) or out of it.
        const auto account = load_account(state, keys_.find(who)->second.public_key);
        const MarketPosition* p = account ? account->find(spec.symbol) : nullptr;
        const bool out = choices_.chance(400);
        const int64_t limit = out ? (p ? p->isolated_margin_usd : 0) : (account ? account->collateral_usd : 0);
        std::string text = amount_up_to(limit);
        if (out && text[0] != '-') text.insert(0, "-");
        return make(who, TransferMargin{spec.symbol, {text}});
    }
    if (kind < 93) return open_tx(state, spec, mark);
    // Keepers: mostly what the keepers' query says is liquidatable (ADL where the insurance fund
    // cannot cover), otherwise any holder of the market, which the engine may refuse.
    if (choices_.chance(700)) {
        const auto due = find_liquidatable(CommittedRecords(state), load_config(state));
        if (!due.empty()) {
            const LiquidatableEntry& entry = due[choices_.below(due.size())];
            const std::string& market = entry.markets.at(choices_.below(entry.markets.size()));
            if (entry.liquidation_case == LiquidationCase::needs_adl) return make(who, Adl{entry.account, market});
            return make(who, Liquidate{entry.account, market});
        }
    }
    const auto holding = holders(state, spec.symbol);
    AccountId target = id(trader());
    if (!holding.empty()) target = holding[choices_.below(holding.size())];
    if (kind < 99) return make(who, Liquidate{target, spec.symbol});
    return make(who, Adl{target, spec.symbol});
}

// The oracle walks every market's price a little (up to 2%), and now and then shocks it.
Tx Scenario::price_tx(const StateReader& state) {
    PriceUpdate update;
    for (const auto& spec : genesis_.markets) {
        if (!choices_.chance(700)) continue;
        const auto market = load_market(state, spec.symbol);
        const int64_t mark = market ? market->mark_price : spec.price;
        const int64_t delta_ppm = choices_.chance(60) ? choices_.between(-400'000, 400'000) : choices_.between(-20'000, 20'000);
        update.prices.push_back({spec.symbol, {format_units(moved(mark, delta_ppm), usd_decimals)}});
    }
    if (update.prices.empty()) {
        const auto& first = genesis_.markets.at(0);
        const auto market = load_market(state, first.symbol);
        update.prices.push_back({first.symbol, {format_units(market ? market->mark_price : first.price, usd_decimals)}});
    }
    return make("oracle", std::move(update));
}

// A fill between two random traders near the mark: opening, raising, reducing, closing or
// flipping; now and then a self-trade, an off-tick price, a maker order too small, a limit
// the price breaks, or a notional under the minimum.
Tx Scenario::open_tx(const StateReader& state, const MarketSpec& spec, int64_t mark) {
    const int32_t d = spec.size_decimals;
    const size_t taker_index = choices_.below(traders_.size());
    size_t maker_index = choices_.below(traders_.size());
    if (maker_index == taker_index && !choices_.chance(100)) maker_index = (maker_index + 1) % traders_.size();
    const std::string& taker = traders_[taker_index];
    const std::string& maker = traders_[maker_index];
    const auto account = load_account(state, keys_.find(taker)->second.public_key);
    const MarketPosition* held = account ? account->find(spec.symbol) : nullptr;
    const int64_t held_lots = held ? held->size_lots : 0;

    Side side = choices_.chance(500) ? Side::buy : Side::sell;
    int64_t size_lots = 0;
    if (held_lots != 0 && choices_.chance(400)) {
        // Reduce or close (sometimes flip) what the taker holds.
        side = held_lots > 0 ? Side::sell : Side::buy;
        const int64_t magnitude = held_lots > 0 ? held_lots : -held_lots;
        const uint64_t how = choices_.below(10);
        size_lots = how < 3 ? magnitude : how < 9 ? choices_.between(1, magnitude) : magnitude + choices_.between(1, magnitude);
    } else {
        const int64_t notional_usd = choices_.chance(20) ? choices_.between(usd_one, 2'000'000 * usd_one)
                                                         : choices_.between(5 * usd_one, 25'000 * usd_one);
        size_lots = std::max<int64_t>(1, mul_div_floor(notional_usd, pow10(d), mark));
    }
    const int64_t slip_ppm = choices_.between(-5'000, 5'000);
    int64_t price = on_tick_below(moved(mark, slip_ppm), d);
    if (choices_.chance(20)) price += 1;  // off the tick (unless d = 0 and the step is 1)

    MakerOrder order;
    order.account = keys_.find(maker)->second.public_key;
    order.side = side == Side::buy ? Side::sell : Side::buy;
    const uint64_t order_size = choices_.below(100);
    const int64_t maker_lots = order_size < 70 ? size_lots : order_size < 96 ? size_lots + choices_.between(1, size_lots)
                                                                             : std::max<int64_t>(1, size_lots - 1);
    order.size = {format_units(maker_lots, d)};
    // The maker's limit is the price or better for the maker; now and then worse.
    const int64_t room_ppm = choices_.chance(30) ? -choices_.between(1, 3'000) : choices_.between(0, 3'000);
    const int64_t limit = order.side == Side::sell ? on_tick_below(moved(price, -room_ppm), d)
                                                   : on_tick_below(moved(price, room_ppm), d);
    order.limit = {format_units(limit, usd_decimals)};
    order.reduce_only = choices_.chance(100);
    order.nonce = take_nonce(maker);
    order.sig = sign(keys_.find(maker)->second.secret_key, as_bytes(order_signing_digest(order, spec.symbol, genesis_.chain_id)));
    return make(taker, Open{spec.symbol, side, {format_units(size_lots, d)}, {format_units(price, usd_decimals)}, std::move(order)});
}

Tx Scenario::invalid_tx(const StateReader& state) {
    switch (choices_.below(9)) {
        case 0: {  // a bad signature: one bit flipped
            Tx tx = valid_tx(state);
            const uint64_t byte = choices_.below(tx.sig.size());
            const uint64_t bit = choices_.below(8);
            tx.sig[byte] ^= static_cast<uint8_t>(1u << bit);
            return tx;
        }
        case 1: {  // signed for another chain
            Tx tx = valid_tx(state);
            for (const auto& [name, pair] : keys_)
                if (pair.public_key == tx.signer) return sign_as(std::move(tx), name, genesis_.chain_id + "-other");
            return tx;
        }
        case 2:  // a replay of something already sent
            if (!recent_.empty()) return recent_[choices_.below(recent_.size())];
            return make("bridge", Deposit{id(trader()), {"1"}});
        case 3: {  // an over-withdrawal or over-transfer: more than all the collateral
            const std::string& who = trader();
            const int64_t over = checked_add(collateral_of(state, who), choices_.between(1, 1'000 * usd_one));
            if (choices_.chance(500)) return make(who, Withdraw{{usd_text(over)}});
            return make(who, Transfer{id(trader()), {usd_text(over)}});
        }
        case 4: {  // an amount that is zero, negative, too precise or beyond int64
            const std::string text = odd_amounts[choices_.below(std::size(odd_amounts))];
            switch (choices_.below(3)) {
                case 0: return make("bridge", Deposit{id(trader()), {text}});
                case 1: return make(trader(), Withdraw{{text}});
                default: {
                    const std::string& from = trader();
                    return make(from, Transfer{id(trader()), {text}});
                }
            }
        }
        case 5:  // a signer that never received collateral
            return make("ghost-" + std::to_string(1 + choices_.below(ghosts - 1)), Withdraw{{"1"}});
        case 6: {  // a deposit not from the bridge, a price not from the oracle
            const std::string& signer = trader();
            if (choices_.chance(500)) return make(signer, Deposit{id(trader()), {"1000"}});
            return make(signer, PriceUpdate{{{genesis_.markets.at(0).symbol, {"1"}}}});
        }
        case 7: {  // a market that does not exist
            const std::string market = unknown_markets[choices_.below(std::size(unknown_markets))];
            const std::string& signer = trader();
            if (choices_.chance(500)) return make(signer, SetLeverage{market, 5, MarginMode::cross});
            return make(signer, TransferMargin{market, {"10"}});
        }
        default: {  // a nonce far below the signer's window, or reused by a new transaction
            const std::string& who = trader();
            Tx tx = make(who, Transfer{id(trader()), {"1"}});
            tx.nonce = choices_.chance(500) ? 0 : tx.nonce > 1 ? tx.nonce - 1 : tx.nonce;
            return sign_as(std::move(tx), who, genesis_.chain_id);
        }
    }
}

std::string block_to_text(const Block& block) {
    std::string out = Json{{"block", {{"height", block.header.height}, {"time_ms", block.header.time_ms}}}}.dump() + "\n";
    for (const auto& tx : block.txs) out += tx_to_json(tx).dump() + "\n";
    return out;
}

}  // namespace clearnode::test
