// Target 4: the same input on two backends must agree. Bytes drive the scenario generator;
// its blocks are applied to a MemoryStore (1 verification thread) and to a RocksStore (3
// threads), and the block hash, every receipt and the state root must be equal after every
// block.
#include "clearing/engine.hpp"
#include "fuzz_common.hpp"
#include "scenario.hpp"

#include <filesystem>
#include <unistd.h>

using namespace clearnode;
using namespace clearnode::test;
using clearnode::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto dir = std::filesystem::temp_directory_path() / ("clearnode-fuzz-backends-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    {
        ByteChoices choices(data, size);
        Scenario scenario(choices, demo_genesis(), ScenarioConfig{4, 8, 300, 50});
        MemoryStore memory;
        std::string error;
        RocksOptions options;
        options.create_if_missing = true;
        options.sync_writes = false;
        options.block_cache_mb = 1;
        auto rocks = RocksStore::open(dir.string(), options, error);
        require(rocks != nullptr, error);
        auto a = Engine::genesis(memory, scenario.genesis(), error);
        auto b = Engine::genesis(*rocks, scenario.genesis(), error);
        require(a && b, error);
        require(a->state_root() == b->state_root(), "genesis roots differ");
        for (int n = 0; n < 16 && !choices.exhausted(); ++n) {
            const Block block = scenario.next_block(memory);
            auto ra = a->apply_block(block, 1, error);
            auto rb = b->apply_block(block, 3, error);
            require(ra && rb, "a backend refused a block: " + error);
            require(ra->block_hash == rb->block_hash, "block hashes differ");
            for (size_t i = 0; i < ra->receipts.size(); ++i)
                require(ra->receipts[i].status == rb->receipts[i].status, "receipts differ at " + std::to_string(i));
            require(ra->state_root == rb->state_root, "state roots differ after block " + std::to_string(n + 1));
        }
    }
    std::filesystem::remove_all(dir);
    return 0;
}
