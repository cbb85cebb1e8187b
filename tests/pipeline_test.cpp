// The pipeline (node/pipeline.hpp) changes nothing: over generated scenarios (bad signatures,
// replays and every transaction type among them), verifying the next blocks on a pool and
// committing each block beside the next one's execution gives the receipts and roots of
// applying each block by itself, for any number of workers; a failure keeps exactly the
// blocks before it.
#include "node/output.hpp"
#include "node/pipeline.hpp"
#include "testkit.hpp"

#include <doctest/doctest.h>

using namespace clearnode;
using namespace clearnode::test;

namespace {

struct Applied {
    std::vector<std::string> lines;  // every block line and receipt line, in order
    Hash32 root{};
};

void record(Applied& applied, const BlockResult& result) {
    applied.lines.push_back(cli::block_line(result).dump());
    for (const auto& r : result.receipts) applied.lines.push_back(cli::receipt_line(result.header.height, r).dump());
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

// Fails the store's commit number `fail_at` (counted from 1 after genesis), and any after it.
class FailingStore final : public Store {
public:
    std::optional<std::string> get(std::string_view key) const override { return inner_.get(key); }
    void scan(std::string_view prefix, const ScanVisitor& visit) const override { inner_.scan(prefix, visit); }
    Status commit(const WriteSet& writes) override {
        if (armed && ++commits_ >= fail_at) return Status{"disk full (planted)"};
        return inner_.commit(writes);
    }
    bool armed = false;
    size_t fail_at = SIZE_MAX;

private:
    MemoryStore inner_;
    size_t commits_ = 0;
};

struct Run {
    Applied applied;
    bool finished = false;
    cli::PipelineFailure failure;
};

Run apply_ahead(const std::vector<Block>& blocks, unsigned workers, size_t stop_after = SIZE_MAX, size_t fail_at = SIZE_MAX) {
    FailingStore store;
    std::string error;
    auto engine = Engine::genesis(store, demo_genesis(), error);
    REQUIRE_MESSAGE(engine, error);
    store.armed = true;
    store.fail_at = fail_at;
    WorkerPool pool(workers);
    Run run;
    size_t read = 0;
    const auto next = [&]() -> std::optional<Block> {
        if (read == blocks.size()) return std::nullopt;
        return blocks[read++];
    };
    cli::BlockSteps steps;
    steps.committed = [&](const Block& block, const BlockResult& result) {
        CHECK(block.header.height == result.header.height);
        record(run.applied, result);
        return run.applied.lines.size() < stop_after;
    };
    run.finished = cli::apply_verified_ahead(*engine, pool, next, steps, run.failure);
    run.applied.root = engine->state_root();
    return run;
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
            const Run ahead = apply_ahead(blocks, workers);
            CHECK(ahead.finished);
            CHECK(ahead.applied.root == sequential.root);
            REQUIRE(ahead.applied.lines.size() == sequential.lines.size());
            for (size_t i = 0; i < ahead.applied.lines.size(); ++i) REQUIRE(ahead.applied.lines[i] == sequential.lines[i]);
        }
    }
}

TEST_CASE("a caller that stops ends the run after the block it was given; later blocks are dropped") {
    Applied sequential;
    const auto blocks = generate(5, 12, sequential);
    const Run stopped = apply_ahead(blocks, 2, 1);  // stops after the first block's lines
    CHECK_FALSE(stopped.finished);
    CHECK(stopped.failure.error.empty());
    REQUIRE(stopped.applied.lines.size() >= 1);
    CHECK(stopped.applied.lines.front() == sequential.lines.front());
}

TEST_CASE("a failed commit keeps the blocks before it, reported, and nothing of it or after it") {
    Applied sequential;
    const auto blocks = generate(6, 12, sequential);
    // Block 5 executes over block 4 while block 4 commits; block 5's own commit fails.
    const Run failed = apply_ahead(blocks, 1, SIZE_MAX, 5);
    CHECK_FALSE(failed.finished);
    CHECK(failed.failure.height == 5);
    CHECK(failed.failure.error.find("disk full") != std::string::npos);
    // The engine's state is block 4's: the lines of blocks 1-4, and their root.
    Applied four;
    generate(6, 4, four);
    CHECK(failed.applied.root == four.root);
    CHECK(failed.applied.lines == four.lines);
}

TEST_CASE("a block whose header does not follow ends the run after the blocks before it commit") {
    Applied sequential;
    auto blocks = generate(7, 6, sequential);
    blocks[3].header.height = 99;
    const Run run = apply_ahead(blocks, 1);
    CHECK_FALSE(run.finished);
    CHECK(run.failure.height == 99);
    CHECK(run.failure.error.find("does not follow 3") != std::string::npos);
    Applied three;
    generate(7, 3, three);
    CHECK(run.applied.root == three.root);
    CHECK(run.applied.lines == three.lines);
}
