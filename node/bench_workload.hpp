// What `clearnode bench` runs: a genesis, account keys from deterministic seeds, and blocks of
// canonically encoded transactions whose parties are drawn Zipf-like or uniformly. Everything
// here is generated before the clock starts; none of it is consensus code.
#pragma once

#include "ledger/genesis.hpp"
#include "ledger/tx.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace clearnode::bench {

// Runs f(i) for every i in [0, n) on `threads` threads, in contiguous slices.
void parallel_for(size_t n, unsigned threads, const std::function<void(size_t begin, size_t end)>& f);

// A progress line on stderr, only when stderr is a terminal.
class Progress {
public:
    Progress();
    void show(std::string_view what, size_t done, size_t total);
    void clear();

private:
    bool tty_;
    size_t last_permille_ = SIZE_MAX;
};

// splitmix64: small, fast and the same on every machine.
class Rng {
public:
    explicit Rng(uint64_t seed) : state_(seed) {}
    uint64_t next();
    uint64_t below(uint64_t n) { return next() % n; }  // the bias is irrelevant for a benchmark

private:
    uint64_t state_;
};

enum class Skew { zipf, uniform };

// Draws an index in [0, n): uniformly, or Zipf with s = 1 (index i has weight 1 / (i + 1)),
// so that a few accounts are party to most transactions, as market makers are on a venue.
// Integer weights, so the draws are the same on every machine.
class PartyDraw {
public:
    PartyDraw(size_t n, Skew skew);
    size_t operator()(Rng& rng) const;

private:
    size_t n_;
    Skew skew_;
    std::vector<uint64_t> cumulative_;  // zipf only
};

struct MixEntry {
    std::string type;
    unsigned weight = 1;
};
// "deposit,transfer:3": types with optional weights. Empty on error, with `error` set.
std::vector<MixEntry> parse_mix(std::string_view text, std::string& error);
// The transaction types the generator knows.
std::vector<std::string> mix_types();

// One block's transactions in the canonical encoding, back to back.
struct EncodedBlock {
    std::string bytes;
    std::vector<uint32_t> ends;  // end offset of each transaction
    size_t size() const { return ends.size(); }
    std::string_view tx(size_t i) const;
    void add(std::string_view encoded);
};

struct WorkloadOptions {
    size_t accounts = 0;
    size_t block_txs = 0;
    std::vector<MixEntry> mix;
    Skew skew = Skew::zipf;
    unsigned threads = 1;
};

class Workload {
public:
    // Genesis and every account's key pair (computed on `threads` threads).
    Workload(const WorkloadOptions& options, Progress& progress);

    const Genesis& genesis() const { return genesis_; }
    const AccountId& account(size_t i) const { return keys_[i].public_key; }
    size_t accounts() const { return keys_.size(); }

    // Bridge deposits that fund accounts [first, first + count): the setup before the run,
    // applied with its signatures taken as checked.
    std::vector<Tx> funding(size_t first, size_t count);
    // `count` transactions of the mix in blocks of block_txs, continuing every signer's
    // nonces; signed when `with_signatures`, else with zero signatures (for pre-verified runs).
    std::vector<EncodedBlock> blocks(size_t count, bool with_signatures, Progress& progress);
    // Signatures per transaction of the mix (an `open` carries two).
    double signatures_per_tx() const;

    KeyPair bridge;

private:
    struct Draft {
        Tx tx;
        const SecretKey* secret;        // the signer's
        const SecretKey* maker_secret;  // an open's maker's
    };
    Draft make(std::string_view type, Rng& rng);
    uint64_t next_nonce(size_t account) { return ++nonces_[account]; }

    WorkloadOptions options_;
    Genesis genesis_;
    std::vector<KeyPair> keys_;
    std::vector<uint64_t> nonces_;  // last nonce used, per account
    uint64_t bridge_nonce_;  // the last the workload used
    PartyDraw draw_;
    Rng rng_;
};

}  // namespace clearnode::bench
