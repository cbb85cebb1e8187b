#include "node/pipeline.hpp"

#include <cassert>
#include <deque>
#include <memory>
#include <thread>

namespace clearnode::cli {

unsigned verify_workers(unsigned threads) {
    assert(threads >= 1);
    // `threads` in all, the applying thread included (it verifies whenever it waits), so that
    // bench compares the signed run with a verify limit measured on as many threads.
    return threads - 1;
}

namespace {

// The state-root update of a block committed beside the next block's execution runs on one
// thread: the executing thread is the other.
constexpr unsigned committer_root_threads = 1;

struct Ahead {
    Block block;
    PendingChecks checks;  // declared after the block: destroyed (cancelled) before it
};

// The block being committed. Heap-held so that the next block's execution and the
// committer's bookkeeping can refer to it while it moves between variables.
struct InFlight {
    Block block;
    std::unique_ptr<PendingBlock> pending;
    std::jthread committer;  // joined before anything else of it is read or destroyed
};

}  // namespace

bool apply_verified_ahead(Engine& engine, WorkerPool& pool, const NextBlock& next, const BlockSteps& steps,
                          PipelineFailure& failure) {
    std::deque<Ahead> ahead;  // blocks read and being verified, oldest first; references stay valid
    bool more = true;
    const auto read_ahead = [&] {
        while (more && ahead.size() <= verify_lookahead) {
            std::optional<Block> block = next();
            if (!block) {
                more = false;
                break;
            }
            ahead.push_back({std::move(*block), {}});
            if (!steps.signatures_trusted) ahead.back().checks = engine.start_signature_checks(ahead.back().block.txs, pool);
        }
    };
    std::unique_ptr<InFlight> in_flight;
    // Waits for the block in flight and finishes it: it becomes the committed state.
    const auto finish = [&]() -> bool {
        if (!in_flight) return true;
        in_flight->committer.join();
        std::unique_ptr<InFlight> done = std::move(in_flight);
        const auto result = engine.finish_block(std::move(done->pending), failure.error);
        if (!result) {
            failure.height = done->block.header.height;
            return false;
        }
        return steps.committed(done->block, *result);
    };
    const auto fail = [&](uint64_t height, std::string error) {
        failure = {height, std::move(error)};
        return false;
    };

    read_ahead();
    while (!ahead.empty()) {
        const std::vector<SignatureCheck> checks = steps.signatures_trusted
                                                       ? std::vector<SignatureCheck>(ahead.front().block.txs.size(), SignatureCheck{true, true})
                                                       : ahead.front().checks.get();
        std::string error;
        // Executed and encoded over the block in flight while the committer writes it.
        const PendingBlock* after = in_flight ? in_flight->pending.get() : nullptr;
        const uint64_t height = ahead.front().block.header.height;
        auto next_in_flight = std::make_unique<InFlight>();
        next_in_flight->block = std::move(ahead.front().block);
        ahead.pop_front();
        auto pending = engine.execute_block(next_in_flight->block, checks, after, error);
        if (pending) {
            BookkeepingWrites bookkeeping = steps.bookkeeping ? steps.bookkeeping(next_in_flight->block) : BookkeepingWrites();
            if (!engine.seal_block(*pending, after, std::move(bookkeeping), error)) pending.reset();
        }
        if (!finish()) return false;
        if (!pending) return fail(height, std::move(error));
        engine.start_commit(*pending);
        next_in_flight->pending = std::move(pending);
        next_in_flight->committer = std::jthread([block = next_in_flight->pending.get()] { block->commit(committer_root_threads); });
        in_flight = std::move(next_in_flight);
        read_ahead();
    }
    return finish();
}

}  // namespace clearnode::cli
