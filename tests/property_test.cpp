// Property tests of RULES §10 over generated scenarios (tests/scenario.hpp): for every seed,
// invariants I1-I3 after every transaction and I5 after every rejection, and I4: the roots
// after every block agree between the in-memory and RocksDB backends, between 1 and N
// signature-verification threads, and across a write-to-disk / close / reopen cycle.
#include "ledger/json.hpp"
#include "testkit.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace clearnode;
using namespace clearnode::test;

namespace {

constexpr size_t txs_per_seed = 2'000;

struct TempDir {
    std::filesystem::path path;
    explicit TempDir(const std::string& name) {
        path = std::filesystem::temp_directory_path() / ("clearnode-property-" + std::to_string(::getpid()) + "-" + name);
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

std::unique_ptr<RocksStore> open_rocks(const std::filesystem::path& dir, bool create) {
    std::string error;
    RocksOptions options;
    options.create_if_missing = create;
    options.sync_writes = false;  // durability is not what this test is about
    options.block_cache_mb = 8;
    auto store = RocksStore::open(dir.string(), options, error);
    REQUIRE_MESSAGE(store, error);
    return store;
}

Block read_block_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto parsed = block_file_from_text(text);
    REQUIRE_MESSAGE(parsed.ok(), parsed.error);
    REQUIRE(parsed.value->header.height);
    REQUIRE(parsed.value->header.time_ms);
    return Block{{*parsed.value->header.height, *parsed.value->header.time_ms}, std::move(parsed.value->txs)};
}

// The blocks of one seed, generated against an in-memory chain applied block by block, and the
// root after each.
struct Run {
    Genesis genesis;
    std::vector<Block> blocks;
    std::vector<Hash32> roots;
    std::map<Reason, size_t> statuses;
    std::map<std::string, size_t> accepted;  // by transaction type
};

// Odd seeds run on the demo genesis, even seeds on one whose small insurance fund runs dry.
Genesis genesis_of(uint64_t seed) { return seed % 2 ? demo_genesis() : lean_genesis(); }

// Generates `tx_count` transactions for `seed`. Alongside, a reference chain applies each
// transaction as a block of its own at its block's time (Chain::apply: I1-I3 after every
// transaction, I5 after every rejection); it must reach the same receipts and the same state,
// all but the chain record, as the block-wise chain.
Run generate_and_check(uint64_t seed, size_t tx_count) {
    Rng rng(seed);
    Scenario scenario(rng, genesis_of(seed));
    Chain reference(scenario.genesis());
    MemoryStore store;
    std::string error;
    auto engine = Engine::genesis(store, scenario.genesis(), error);
    REQUIRE_MESSAGE(engine, error);
    Run run;
    run.genesis = scenario.genesis();
    size_t txs = 0;
    for (size_t b = 0; txs < tx_count && b < tx_count; ++b) {
        Block block = scenario.next_block(store);
        auto result = engine->apply_block(block, 1, error);
        REQUIRE_MESSAGE(result, error);
        for (size_t i = 0; i < block.txs.size(); ++i) {
            reference.time_ms = block.header.time_ms - 1000;  // Chain::apply steps 1000 ms
            const Receipt receipt = reference.apply(block.txs[i]);
            CHECK_MESSAGE(receipt.status == result->receipts[i].status,
                          "seed " << seed << " block " << block.header.height << " tx " << i << ": alone "
                                  << status(receipt) << ", in its block " << status(result->receipts[i]));
            run.statuses[result->receipts[i].status] += 1;
            if (receipt.status == Reason::ok) run.accepted[tx_type_name(block.txs[i].body)] += 1;
        }
        const std::string broken = check_invariants(store);
        CHECK_MESSAGE(broken.empty(), "seed " << seed << " block " << block.header.height << ": " << broken);
        REQUIRE_MESSAGE(snapshot(reference.store) == snapshot(store),
                        "seed " << seed << " block " << block.header.height << ": one block a transaction diverged");
        txs += block.txs.size();
        run.roots.push_back(result->state_root);
        run.blocks.push_back(std::move(block));
    }
    return run;
}

// The same blocks on a second in-memory engine with `threads` verification threads and a
// cache of committed records so small that it drops entries after every block.
void check_memory_threads(const Run& run, unsigned threads) {
    MemoryStore store;
    std::string error;
    auto engine = Engine::genesis(store, run.genesis, error);
    REQUIRE_MESSAGE(engine, error);
    engine->set_record_cache_bytes(4096);  // a few records: most blocks trim
    for (size_t b = 0; b < run.blocks.size(); ++b) {
        auto result = engine->apply_block(run.blocks[b], threads, error);
        REQUIRE_MESSAGE(result, error);
        REQUIRE_MESSAGE(result->state_root == run.roots[b], threads << " threads: root of block " << b + 1 << " differs");
    }
}

// The blocks written to block files, read back, and applied on RocksDB in two runs: up to a
// split point, then close, reopen (recomputing the root from every entry) and the rest.
void check_rocks_split(const Run& run, uint64_t seed, unsigned threads) {
    TempDir dir("seed-" + std::to_string(seed));
    for (size_t b = 0; b < run.blocks.size(); ++b) {
        std::ofstream out(dir.path / ("block-" + std::to_string(b + 1) + ".jsonl"), std::ios::binary);
        out << block_to_text(run.blocks[b]);
    }
    Rng rng(seed ^ 0x5eed);
    const size_t split = run.blocks.size() < 2 ? run.blocks.size() : 1 + rng.below(run.blocks.size() - 1);
    const auto db = dir.path / "db";
    std::string error;
    size_t b = 0;
    {
        auto store = open_rocks(db, true);
        auto engine = Engine::genesis(*store, run.genesis, error);
        REQUIRE_MESSAGE(engine, error);
        for (; b < split; ++b) {
            const Block block = read_block_file(dir.path / ("block-" + std::to_string(b + 1) + ".jsonl"));
            for (size_t i = 0; i < block.txs.size(); ++i)
                REQUIRE(encode_tx(block.txs[i]) == encode_tx(run.blocks[b].txs[i]));  // the JSON carrier is exact
            auto result = engine->apply_block(block, threads, error);
            REQUIRE_MESSAGE(result, error);
            REQUIRE_MESSAGE(result->state_root == run.roots[b], "RocksDB: root of block " << b + 1 << " differs");
        }
    }
    auto store = open_rocks(db, false);
    auto engine = Engine::open(*store, true, error);
    REQUIRE_MESSAGE(engine, error);
    REQUIRE(engine->height() == split);
    REQUIRE(engine->state_root() == run.roots[split - 1]);
    for (; b < run.blocks.size(); ++b) {
        const Block block = read_block_file(dir.path / ("block-" + std::to_string(b + 1) + ".jsonl"));
        auto result = engine->apply_block(block, threads, error);
        REQUIRE_MESSAGE(result, error);
        REQUIRE_MESSAGE(result->state_root == run.roots[b], "RocksDB after reopen: root of block " << b + 1 << " differs");
    }
}

void check_seeds(uint64_t first, uint64_t last) {
    for (uint64_t seed = first; seed <= last; ++seed) {
        INFO("seed " << seed);
        const Run run = generate_and_check(seed, txs_per_seed);
        check_memory_threads(run, 4);
        check_rocks_split(run, seed, 2);
    }
}

}  // namespace

TEST_CASE("the generator: the same seed gives the same blocks, another seed others") {
    auto blocks_of = [](uint64_t seed, int count = 5) {
        Rng rng(seed);
        Scenario scenario(rng, demo_genesis());
        MemoryStore store;
        std::string error;
        auto engine = Engine::genesis(store, demo_genesis(), error);
        std::string bytes;
        for (int b = 0; b < count; ++b) {
            const Block block = scenario.next_block(store);
            bytes += block_to_text(block);
            REQUIRE(engine->apply_block(block, 1, error));
        }
        return bytes;
    };
    CHECK(blocks_of(7) == blocks_of(7));
    CHECK(blocks_of(7) != blocks_of(8));
    // Pinned, so that another compiler or standard library that would generate other blocks
    // (an unspecified evaluation order, a library distribution) fails here.
    CHECK(to_hex(blake2b_256(as_bytes(blocks_of(7, 60)))) == "2979ed2e1e41cfc51b952d24226ec168726ba729c2d48682edc8882aa030f3fe");
    // Our own PRNG, pinned: xoshiro256** seeded by splitmix64 must not change under anyone's
    // standard library (the golden fixtures pin the rest).
    Rng rng(0);
    CHECK(rng.next() == 0x99ec5f36cb75f2b4ULL);
    CHECK(rng.next() == 0xbf6e1f784956452aULL);
    Rng dice(1);
    for (int i = 0; i < 1000; ++i) {
        const int64_t v = dice.between(-3, 3);
        REQUIRE((v >= -3 && v <= 3));
    }
}

TEST_CASE("the generator mixes valid transactions of every type with every kind of wrong one") {
    std::map<Reason, size_t> statuses;
    std::map<std::string, size_t> accepted;
    for (uint64_t seed : {1, 2}) {
        const Run run = generate_and_check(seed, txs_per_seed);
        for (const auto& [r, n] : run.statuses) statuses[r] += n;
        for (const auto& [t, n] : run.accepted) accepted[t] += n;
    }
    std::string summary;
    for (const auto& [t, n] : accepted) summary += t + "=" + std::to_string(n) + " ";
    for (const auto& [r, n] : statuses) summary += std::string(reason_name(r)) + "=" + std::to_string(n) + " ";
    MESSAGE(summary);
    CHECK(statuses[Reason::ok] * 5 > 2 * txs_per_seed * 2);
    for (const char* type : {"deposit", "withdraw", "transfer", "price", "funding", "set_leverage", "transfer_margin",
                             "open", "liquidate", "adl"})
        CHECK_MESSAGE(accepted[type] > 0, "no accepted " << type);
    for (Reason r : {Reason::bad_signature, Reason::not_authorized, Reason::nonce_used, Reason::unknown_account,
                     Reason::bad_amount, Reason::overflow, Reason::insufficient_collateral, Reason::unknown_market,
                     Reason::insufficient_margin, Reason::tick, Reason::price_limit, Reason::maker_size,
                     Reason::leverage_too_high, Reason::not_liquidatable}) {
        CHECK_MESSAGE(statuses[r] > 0, "no receipt with " << reason_name(r));
    }
}

// 50 seeds x 2,000 transactions, in five test cases so that ctest runs them in parallel.
TEST_CASE("property: seeds 1-10") { check_seeds(1, 10); }
TEST_CASE("property: seeds 11-20") { check_seeds(11, 20); }
TEST_CASE("property: seeds 21-30") { check_seeds(21, 30); }
TEST_CASE("property: seeds 31-40") { check_seeds(31, 40); }
TEST_CASE("property: seeds 41-50") { check_seeds(41, 50); }
