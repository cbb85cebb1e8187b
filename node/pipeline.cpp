#include "node/pipeline.hpp"

#include <cassert>
#include <deque>

namespace clearnode::cli {

unsigned verify_workers(unsigned threads) {
    assert(threads >= 1);
    // `threads` in all, the applying thread included (it verifies whenever it waits), so that
    // bench compares the signed run with a verify limit measured on as many threads. One more
    // worker kept the cores busier and measured worse (docs/DESIGN.md, the worker pool).
    return threads - 1;
}

bool apply_verified_ahead(const Engine& engine, WorkerPool& pool, const NextBlock& next, const ApplyChecked& apply) {
    struct Ahead {
        Block block;
        PendingChecks checks;  // declared after the block: destroyed (cancelled) before it
    };
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
            ahead.back().checks = engine.start_signature_checks(ahead.back().block.txs, pool);
        }
    };
    read_ahead();
    while (!ahead.empty()) {
        const std::vector<SignatureCheck> checks = ahead.front().checks.get();
        if (!apply(ahead.front().block, checks)) return false;
        ahead.pop_front();
        read_ahead();
    }
    return true;
}

}  // namespace clearnode::cli
