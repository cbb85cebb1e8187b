#include "node/bench_workload.hpp"

#include "ledger/codec.hpp"
#include "ledger/units.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <iostream>
#include <thread>
#include <unistd.h>

namespace clearnode::bench {
namespace {

constexpr uint64_t workload_seed = 0x636c6561726e6f64;  // "clearnod"
constexpr std::string_view funding_amount = "1000000";

KeyPair seeded_key(std::string_view domain, uint64_t index) {
    Writer w;
    w.raw(as_bytes(domain));
    w.u64(index);
    return keypair_from_seed(blake2b_256(as_bytes(w.data())));
}

Genesis bench_genesis(const KeyPair& bridge) {
    Genesis g;
    g.chain_id = "clearnode-bench";
    g.genesis_time_ms = 1'767'225'600'000;
    g.bridge = bridge.public_key;
    g.oracle = seeded_key("clearnode/bench/oracle", 0).public_key;
    g.backstop = seeded_key("clearnode/bench/backstop", 0).public_key;
    g.insurance_fund_usd = 1'000'000 * usd_one;
    g.markets = reference_markets();
    return g;
}

}  // namespace

void parallel_for(size_t n, unsigned threads, const std::function<void(size_t, size_t)>& f) {
    const size_t workers = std::clamp<size_t>(threads, 1, std::max<size_t>(1, n));
    const size_t chunk = (n + workers - 1) / workers;
    std::vector<std::thread> pool;
    for (size_t w = 1; w < workers; ++w) {
        const size_t begin = std::min(n, w * chunk);
        pool.emplace_back(f, begin, std::min(n, begin + chunk));
    }
    f(0, std::min(n, chunk));
    for (auto& t : pool) t.join();
}

Progress::Progress() : tty_(isatty(STDERR_FILENO) == 1) {}

void Progress::show(std::string_view what, size_t done, size_t total) {
    if (!tty_ || total == 0) return;
    const size_t permille = done * 1000 / total;
    if (permille == last_permille_) return;
    last_permille_ = permille;
    std::cerr << "\r\033[K" << what << " " << done << "/" << total << std::flush;
}

void Progress::clear() {
    if (tty_) std::cerr << "\r\033[K" << std::flush;
    last_permille_ = SIZE_MAX;
}

uint64_t Rng::next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
}

PartyDraw::PartyDraw(size_t n, Skew skew) : n_(n), skew_(skew) {
    assert(n >= 1);
    if (skew != Skew::zipf) return;
    // Weight of index i: 2^40 / (i + 1). The sum stays below 2^45 for any n we can hold.
    constexpr uint64_t unit = uint64_t{1} << 40;
    cumulative_.resize(n);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; ++i) cumulative_[i] = sum += unit / (i + 1);
}

size_t PartyDraw::operator()(Rng& rng) const {
    if (skew_ == Skew::uniform) return rng.below(n_);
    const uint64_t r = rng.below(cumulative_.back());
    return static_cast<size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), r) - cumulative_.begin());
}

std::vector<std::string> mix_types() { return {"deposit", "withdraw", "transfer", "open"}; }

std::vector<MixEntry> parse_mix(std::string_view text, std::string& error) {
    std::vector<MixEntry> mix;
    const auto known = mix_types();
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        const std::string_view item = text.substr(start, comma - start);
        start = comma + 1;
        MixEntry entry;
        const size_t colon = item.find(':');
        entry.type = std::string(item.substr(0, colon));
        if (colon != std::string_view::npos) {
            const std::string_view w = item.substr(colon + 1);
            const auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), entry.weight);
            if (ec != std::errc{} || end != w.data() + w.size() || entry.weight == 0 || entry.weight > 1000) {
                error = "--mix: weight of \"" + entry.type + "\" must be an integer in 1..1000";
                return {};
            }
        }
        if (std::find(known.begin(), known.end(), entry.type) == known.end()) {
            error = "--mix: unknown transaction type \"" + entry.type + "\" (known:";
            for (const auto& k : known) error += " " + k;
            error += ")";
            return {};
        }
        mix.push_back(std::move(entry));
    }
    return mix;
}

std::string_view EncodedBlock::tx(size_t i) const {
    const size_t begin = i == 0 ? 0 : ends[i - 1];
    return std::string_view(bytes).substr(begin, ends[i] - begin);
}

void EncodedBlock::add(std::string_view encoded) {
    bytes.append(encoded);
    ends.push_back(static_cast<uint32_t>(bytes.size()));
}

Workload::Workload(const WorkloadOptions& options, Progress& progress)
    : bridge(seeded_key("clearnode/bench/bridge", 0)),
      options_(options),
      genesis_(bench_genesis(bridge)),
      keys_(options.accounts),
      nonces_(options.accounts, 0),
      bridge_nonce_(options.accounts),
      draw_(options.accounts, options.skew),
      rng_(workload_seed) {
    assert(options.accounts >= 2 && options.block_txs >= 1 && !options.mix.empty());
    constexpr size_t slice = 4096;
    for (size_t first = 0; first < keys_.size(); first += slice) {
        const size_t count = std::min(slice, keys_.size() - first);
        parallel_for(count, options.threads, [&](size_t begin, size_t end) {
            for (size_t i = first + begin; i < first + end; ++i) keys_[i] = seeded_key("clearnode/bench/account", i);
        });
        progress.show("keys", first + count, keys_.size());
    }
    progress.clear();
}

std::vector<Tx> Workload::funding(size_t first, size_t count) {
    assert(first + count <= keys_.size());
    std::vector<Tx> txs(count);
    for (size_t i = 0; i < count; ++i) {
        txs[i].signer = bridge.public_key;
        txs[i].nonce = first + i + 1;  // the bridge's nonces 1..accounts are the funding's
        txs[i].body = Deposit{account(first + i), {std::string(funding_amount)}};
    }
    return txs;
}

Workload::Draft Workload::make(std::string_view type, Rng& rng) {
    Draft draft{Tx{}, &bridge.secret_key, nullptr};
    Tx& tx = draft.tx;
    if (type == "deposit") {
        tx.signer = bridge.public_key;
        tx.nonce = ++bridge_nonce_;
        tx.body = Deposit{account(draw_(rng)), {"10"}};
        return draft;
    }
    const size_t signer = draw_(rng);
    draft.secret = &keys_[signer].secret_key;
    tx.signer = account(signer);
    tx.nonce = next_nonce(signer);
    // The other party: drawn like the signer, never the signer itself.
    auto counterparty = [&] {
        const size_t other = draw_(rng);
        return other == signer ? (signer + 1) % keys_.size() : other;
    };
    if (type == "withdraw") {
        tx.body = Withdraw{{"1"}};
    } else if (type == "transfer") {
        tx.body = Transfer{account(counterparty()), {"1"}};
    } else {
        assert(type == "open");
        // A small fill at the genesis mark (on the tick, above the minimum notional) against
        // a maker order on the other side with the maker's own next nonce.
        struct Fill {
            const char* market;
            const char* size;
            const char* price;
        };
        static constexpr Fill fills[] = {{"BTC", "0.001", "65000"}, {"ETH", "0.01", "3200"}, {"SOL", "1", "150"}};
        const Fill& f = fills[rng.below(std::size(fills))];
        const size_t maker = counterparty();
        Open open;
        open.market = f.market;
        open.side = rng.below(2) == 0 ? Side::buy : Side::sell;
        open.size = {f.size};
        open.price = {f.price};
        open.maker.account = account(maker);
        open.maker.side = open.side == Side::buy ? Side::sell : Side::buy;
        open.maker.size = {f.size};
        open.maker.limit = {f.price};
        open.maker.nonce = next_nonce(maker);
        draft.maker_secret = &keys_[maker].secret_key;
        tx.body = std::move(open);
    }
    return draft;
}

std::vector<EncodedBlock> Workload::blocks(size_t count, bool with_signatures, Progress& progress) {
    std::vector<unsigned> wheel;  // the mix's entries, each repeated by its weight
    for (size_t e = 0; e < options_.mix.size(); ++e) wheel.insert(wheel.end(), options_.mix[e].weight, static_cast<unsigned>(e));
    std::vector<EncodedBlock> out;
    std::vector<Draft> drafts;
    std::vector<std::string> encoded;
    for (size_t done = 0; done < count;) {
        const size_t n = std::min(options_.block_txs, count - done);
        drafts.clear();
        for (size_t i = 0; i < n; ++i) drafts.push_back(make(options_.mix[wheel[rng_.below(wheel.size())]].type, rng_));
        encoded.assign(n, {});
        parallel_for(n, options_.threads, [&](size_t begin, size_t end) {
            for (size_t i = begin; i < end; ++i) {
                Tx& tx = drafts[i].tx;
                if (with_signatures) {
                    // The envelope's signature covers the maker's, so the maker signs first.
                    if (auto* open = std::get_if<Open>(&tx.body))
                        open->maker.sig = sign(*drafts[i].maker_secret,
                                               as_bytes(order_signing_digest(open->maker, open->market, genesis_.chain_id)));
                    tx.sig = sign(*drafts[i].secret, as_bytes(tx_signing_digest(tx, genesis_.chain_id)));
                }
                encoded[i] = encode_tx(tx);
            }
        });
        EncodedBlock block;
        for (const auto& e : encoded) block.add(e);
        out.push_back(std::move(block));
        done += n;
        progress.show(with_signatures ? "signed transactions" : "pre-verified transactions", done, count);
    }
    progress.clear();
    return out;
}

double Workload::signatures_per_tx() const {
    double weights = 0, signatures = 0;
    for (const auto& entry : options_.mix) {
        weights += entry.weight;
        signatures += entry.weight * (entry.type == "open" ? 2.0 : 1.0);
    }
    return signatures / weights;
}

}  // namespace clearnode::bench
