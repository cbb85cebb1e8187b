// clearnode_scenario: writes generated scenarios to disk, for the golden fixtures and the fuzz
// seed corpus.
//   clearnode_scenario blocks SEED BLOCKS DIR [lean]   genesis.json and blocks/NNN.jsonl under
//                                                      DIR (lean: a 2,000 USD insurance fund)
//   clearnode_scenario corpus DIR               seed inputs for the tests/fuzz/ targets
#include "clearing/engine.hpp"
#include "ledger/codec.hpp"
#include "ledger/json.hpp"
#include "scenario.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

using namespace clearnode;
using namespace clearnode::test;

namespace {

void write(const std::filesystem::path& path, const std::string& bytes) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out << bytes;
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string numbered(size_t n) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%03zu", n);
    return buf;
}

int write_blocks(uint64_t seed, size_t blocks, const std::filesystem::path& dir, bool lean) {
    Rng rng(seed);
    Scenario scenario(rng, lean ? lean_genesis() : demo_genesis());
    MemoryStore store;
    std::string error;
    auto engine = Engine::genesis(store, scenario.genesis(), error);
    if (!engine) throw std::runtime_error(error);
    write(dir / "genesis.json", genesis_to_json(scenario.genesis()).dump(2) + "\n");
    for (size_t b = 1; b <= blocks; ++b) {
        const Block block = scenario.next_block(store);
        if (!engine->apply_block(block, 1, error)) throw std::runtime_error(error);
        write(dir / "blocks" / (numbered(b) + ".jsonl"), block_to_text(block));
    }
    return 0;
}

// Seeds for each target: generated transactions in both carriers, decimal texts, and raw
// choice bytes for the scenario-driven targets.
int write_corpus(const std::filesystem::path& dir) {
    Rng rng(2026);
    Scenario scenario(rng, demo_genesis(), ScenarioConfig{4, 8, 300});
    MemoryStore store;
    std::string error;
    auto engine = Engine::genesis(store, scenario.genesis(), error);
    size_t n = 0;
    for (int b = 0; b < 6; ++b) {
        const Block block = scenario.next_block(store);
        engine->apply_block(block, 1, error);
        for (const auto& tx : block.txs) {
            write(dir / "codec" / ("bin-" + numbered(n)), std::string(1, '\0') + encode_tx(tx));
            write(dir / "codec" / ("json-" + numbered(n)), std::string(1, '\1') + tx_to_json(tx).dump());
            ++n;
        }
        write(dir / "codec" / ("block-" + numbered(static_cast<size_t>(b))), std::string(1, '\2') + block_to_text(block));
    }
    const char* decimals[] = {"0", "1", "-1", "65000.5", "0.000001", "9223372036854775807", "-9223372036854775808",
                              "9223372036854775808", "00012.3400", "1.", ".5", "1e5", "--1", "12345678901234567890.123456789"};
    n = 0;
    for (const char* d : decimals)
        for (char scale : {'\0', '\6', '\x12'}) write(dir / "decimal" / ("d-" + numbered(n++)), std::string(1, scale) + d);
    for (size_t i = 0; i < 8; ++i) {
        std::string bytes;
        for (size_t j = 0; j < 64 * (i + 1); ++j) bytes.push_back(static_cast<char>(rng.next()));
        write(dir / "apply" / ("r-" + numbered(i)), bytes);
        write(dir / "backends" / ("r-" + numbered(i)), bytes);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const std::string command = argc > 1 ? argv[1] : "";
        if (command == "blocks" && (argc == 5 || (argc == 6 && std::string(argv[5]) == "lean")))
            return write_blocks(std::stoull(argv[2]), std::stoul(argv[3]), argv[4], argc == 6);
        if (command == "corpus" && argc == 3) return write_corpus(argv[2]);
    } catch (const std::exception& e) {
        std::cerr << "clearnode_scenario: " << e.what() << "\n";
        return 1;
    }
    std::cerr << "usage: clearnode_scenario blocks SEED BLOCKS DIR [lean] | corpus DIR\n";
    return 2;
}
