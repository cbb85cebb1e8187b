// Target 3: arbitrary bytes drive the scenario generator (tests/scenario.hpp) on the demo
// genesis with a few accounts; each transaction is applied as a block of its own, and after
// each one I1-I3 are recomputed from scratch, and I5 checked after each rejection.
#include "clearing/engine.hpp"
#include "clearing/invariants.hpp"
#include "fuzz_common.hpp"
#include "scenario.hpp"

using namespace clearnode;
using namespace clearnode::test;
using clearnode::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ByteChoices choices(data, size);
    Scenario scenario(choices, demo_genesis(), ScenarioConfig{4, 8, 300, 50});
    MemoryStore store;
    std::string error;
    auto engine = Engine::genesis(store, scenario.genesis(), error);
    require(engine != nullptr, error);
    for (int b = 0; b < 32 && !choices.exhausted(); ++b) {
        const Block block = scenario.next_block(store);
        for (const Tx& tx : block.txs) {
            const StateSnapshot before = state_snapshot(store);
            const Block one{{engine->height() + 1, block.header.time_ms}, {tx}};
            auto result = engine->apply_block(one, 1, error);
            require(result.has_value(), "apply_block refused a well-formed block: " + error);
            const Reason status = result->receipts.at(0).status;
            const std::string broken = check_invariants(store);
            require(broken.empty(), broken);
            const std::string changed = check_rejection(before, state_snapshot(store), tx, status);
            require(changed.empty(), changed);
        }
    }
    return 0;
}
