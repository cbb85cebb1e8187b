// Verifying blocks ahead (node/pipeline.hpp) changes nothing: over generated scenarios (bad
// signatures, replays and every transaction type among them), applying with the next blocks'
// signatures checked on a pool meanwhile gives the receipts and roots of checking each block
// just before applying it, for any number of workers.
#include "node/output.hpp"
#include "node/pipeline.hpp"
#include "testkit.hpp"

#include <doctest/doctest.h>

#include <set>

using namespace clearnode;
using namespace clearnode::test;

namespace {

struct Applied {
    std::vector<std::string> lines;  // every block line and receipt line, in order
    Hash32 root{};
};

void record(Applied& applied, const BlockResult& result) {
    applied.lines.push_back(cli::block_line(result).dump());
    for (const auto& r : result.receipts) applied.lines.push_back(cli::receipt_line(result.header.height, r));
}

// The blocks of `seed`, each applied as it is generated, one thread, checks made just before.
std::vector<Block> generate(uint64_t seed, size_t blocks, Applied& sequential) {
    Rng rng(seed);
    Scenario scenario(rng, demo_genesis());
    MemoryStore store;
    std::string error;
    auto engine = Engine::genesis(store, demo_genesis(), error);
    REQUIRE_MESSAGE(engine, error);
    std::vector<Block> out;
    for (size_t b = 0; b < blocks; ++b) {
        Block block = scenario.next_block(store);
        const auto result = engine->apply_block(block, 1, error);
        REQUIRE_MESSAGE(result, error);
        record(sequential, *result);
        out.push_back(std::move(block));
    }
    sequential.root = engine->state_root();
    return out;
}

// With `caller_hashes`, each block's transaction hashes are computed here and handed to the
// engine, as a node's admission does.
Applied apply_ahead(const std::vector<Block>& blocks, unsigned workers, size_t stop_after = SIZE_MAX,
                    bool caller_hashes = false) {
    MemoryStore store;
    std::string error;
    auto engine = Engine::genesis(store, demo_genesis(), error);
    REQUIRE_MESSAGE(engine, error);
    WorkerPool pool(workers);
    Applied applied;
    size_t read = 0;
    const auto next = [&]() -> std::optional<Block> {
        if (read == blocks.size()) return std::nullopt;
        return blocks[read++];
    };
    const auto apply = [&](const Block& block, std::span<const SignatureCheck> checks) {
        if (applied.lines.size() >= stop_after) return false;
        std::vector<Hash32> hashes;
        if (caller_hashes)
            for (const Tx& tx : block.txs) hashes.push_back(tx_hash(tx));
        const auto result = engine->apply_block_checked(block, checks, error, {}, hashes);
        REQUIRE_MESSAGE(result, error);
        record(applied, *result);
        return true;
    };
    const bool finished = cli::apply_verified_ahead(*engine, pool, next, apply);
    CHECK(finished == (stop_after == SIZE_MAX));
    applied.root = engine->state_root();
    return applied;
}

}  // namespace

TEST_CASE("blocks verified ahead give the receipts and roots of sequential verification, for 0, 1 and 3 workers") {
    for (uint64_t seed : {3u, 4u}) {
        INFO("seed " << seed);
        Applied sequential;
        const auto blocks = generate(seed, 40, sequential);
        size_t bad_signatures = 0;
        for (const auto& line : sequential.lines) bad_signatures += line.find("\"bad_signature\"") != std::string::npos;
        REQUIRE(bad_signatures > 0);  // the scenario exercises failed checks too
        for (unsigned workers : {0u, 1u, 3u}) {
            INFO(workers << " workers");
            const Applied ahead = apply_ahead(blocks, workers);
            CHECK(ahead.root == sequential.root);
            REQUIRE(ahead.lines.size() == sequential.lines.size());
            for (size_t i = 0; i < ahead.lines.size(); ++i) REQUIRE(ahead.lines[i] == sequential.lines[i]);
        }
    }
}

TEST_CASE("blocks applied with their transaction hashes given give the receipts, block hashes and roots of hashing in the engine") {
    Applied sequential;
    const auto blocks = generate(7, 30, sequential);
    const Applied given = apply_ahead(blocks, 1, SIZE_MAX, true);
    CHECK(given.root == sequential.root);
    REQUIRE(given.lines.size() == sequential.lines.size());
    for (size_t i = 0; i < given.lines.size(); ++i) REQUIRE(given.lines[i] == sequential.lines[i]);
}

TEST_CASE("an apply that stops ends the run with the blocks verified ahead of it dropped") {
    Applied sequential;
    const auto blocks = generate(5, 12, sequential);
    const Applied stopped = apply_ahead(blocks, 2, 1);  // stops at the second block
    REQUIRE(stopped.lines.size() >= 1);
    CHECK(stopped.lines.front() == sequential.lines.front());
}

namespace {

// The receipt as a JSON document, as the node wrote it before receipt_line wrote text
// directly: the oracle the text must match byte for byte.
Json receipt_document(uint64_t height, const Receipt& receipt) {
    Json events = Json::array();
    for (const auto& e : receipt.events) {
        Json j{{"type", e.kind}};
        for (const auto& [name, value] : e.fields) j[name] = value.text();
        events.push_back(std::move(j));
    }
    return Json{{"height", height},
                {"index", receipt.index},
                {"tx_hash", to_hex(receipt.tx_hash)},
                {"status", reason_name(receipt.status)},
                {"events", std::move(events)}};
}

}  // namespace

TEST_CASE("a receipt line is its receipt's JSON document, byte for byte") {
    MemoryStore store;
    std::string error;
    auto engine = Engine::genesis(store, demo_genesis(), error);
    REQUIRE_MESSAGE(engine, error);
    Rng rng(6);
    Scenario scenario(rng, demo_genesis());
    std::set<std::string> kinds;
    size_t receipts = 0;
    for (size_t b = 0; b < 40; ++b) {
        const auto result = engine->apply_block(scenario.next_block(store), 1, error);
        REQUIRE_MESSAGE(result, error);
        std::string expected;
        for (const auto& r : result->receipts) {
            const std::string line = cli::receipt_line(result->header.height, r);
            REQUIRE(line == receipt_document(result->header.height, r).dump());
            expected += line + "\n";
            for (const auto& e : r.events) kinds.insert(e.kind);
            ++receipts;
        }
        CHECK(cli::receipt_lines(*result) == expected);
    }
    INFO(receipts << " receipts");
    // The scenario reaches the common movements; the liquidation tests reach the rest.
    for (const char* kind : {"deposit", "transfer", "fill", "fee", "price"}) CHECK_MESSAGE(kinds.count(kind) == 1, kind);

    SUBCASE("text that needs escaping is escaped as the JSON library escapes it") {
        Receipt r;
        r.index = 7;
        r.status = Reason::insufficient_margin;
        r.events.push_back(Event{"odd \"kind\""}
                               .with("quote", "a\"b")
                               .with("backslash", "a\\b")
                               .with("control", std::string("tab\there, nul ") + '\0' + ", bell \x07")
                               .with("utf8", "caf\xC3\xA9")
                               .with("amount", EventValue::usd(-1))
                               .with("id", PublicKey{}));
        r.events.push_back(Event{"empty", 0});
        CHECK(cli::receipt_line(UINT64_MAX, r) == receipt_document(UINT64_MAX, r).dump());
        // Invalid UTF-8 is refused as the library refuses it, not written.
        Receipt bad;
        bad.events.push_back(Event{"bad"}.with("text", "\xC3"));
        CHECK_THROWS(cli::receipt_line(1, bad));
    }
}
