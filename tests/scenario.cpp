#include "scenario.hpp"

#include "ledger/codec.hpp"
#include "ledger/json.hpp"
#include "ledger/units.hpp"
#include "state/records.hpp"

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
    g.markets = {
        {"BTC", 5, 65'000 * usd_one, {{0, 40}, {150'000'000 * usd_one, 20}}},
        {"ETH", 4, 3'200 * usd_one, {{0, 25}, {100'000'000 * usd_one, 15}}},
        {"SOL", 2, 150 * usd_one, {{0, 20}, {70'000'000 * usd_one, 10}}},
    };
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

Tx Scenario::make(std::string_view signer, TxBody body) {
    Tx tx;
    tx.signer = keys_.find(signer)->second.public_key;
    auto it = next_nonce_.find(signer);
    if (it == next_nonce_.end()) it = next_nonce_.emplace(std::string(signer), 1).first;
    // Sometimes skip nonces: the window accepts any unused one.
    tx.nonce = it->second + (choices_.chance(50) ? choices_.below(5) : 0);
    it->second = tx.nonce + 1;
    tx.body = std::move(body);
    return sign_as(std::move(tx), signer, genesis_.chain_id);
}

Tx Scenario::valid_tx(const StateReader& state) {
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
