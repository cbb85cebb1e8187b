#include "node/commands.hpp"

#include "clearing/engine.hpp"
#include "ledger/codec.hpp"
#include "node/blocklog.hpp"
#include "node/files.hpp"
#include "node/home.hpp"
#include "node/inbox.hpp"
#include "node/open.hpp"
#include "node/output.hpp"
#include "node/pipeline.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

namespace clearnode::cli {
namespace {

namespace fs = std::filesystem;

constexpr int64_t default_block_interval_ms = 1000;

struct LoadedBlocks {
    std::vector<Block> blocks;
    std::string error;
};

// Reads and checks every block file before anything is applied, so that a bad file anywhere
// leaves the state untouched: headers default to the next height and the previous time + 1 s.
LoadedBlocks load_blocks(const std::vector<std::string>& paths, uint64_t height, int64_t time_ms) {
    LoadedBlocks loaded;
    for (const auto& path : paths) {
        const FileText file = read_file(path);
        if (!file.text) return {{}, file.error};
        auto parsed = block_file_from_text(*file.text);
        if (!parsed.ok()) return {{}, path + ": " + parsed.error};
        Block block;
        block.header.height = parsed.value->header.height.value_or(height + 1);
        block.header.time_ms = parsed.value->header.time_ms.value_or(time_ms + default_block_interval_ms);
        if (block.header.height != height + 1)
            return {{}, path + ": line 1: block.height: " + std::to_string(block.header.height) + " does not follow " + std::to_string(height)};
        if (block.header.time_ms < time_ms)
            return {{}, path + ": line 1: block.time_ms: before the previous block's " + std::to_string(time_ms)};
        height = block.header.height;
        time_ms = block.header.time_ms;
        block.txs = std::move(parsed.value->txs);
        loaded.blocks.push_back(std::move(block));
    }
    return loaded;
}

// With `log_blocks` (a node's home), each block also goes into the block log in its commit,
// as `clearnode run` writes it, so that the home can be replayed and run afterwards.
int run_blocks(Engine& engine, const BlockRunOptions& options, bool log_blocks, std::ostream& out, std::ostream& err) {
    engine.set_threads(options.verify_threads);  // the root's leaves too; the root does not depend on it
    LoadedBlocks loaded = load_blocks(options.block_paths, engine.height(), engine.time_ms());
    if (!loaded.error.empty()) {
        err << "error: " << loaded.error << " (nothing applied)\n";
        return exit_bad_input;
    }
    std::ofstream receipts;
    if (!options.receipts_path.empty()) {
        receipts.open(options.receipts_path, std::ios::app);
        if (!receipts) {
            err << "error: " << options.receipts_path << ": cannot open for appending (nothing applied)\n";
            return exit_bad_input;
        }
    }
    // Every block is known: its signatures are verified while the one before it is applied.
    WorkerPool pool(verify_workers(options.verify_threads));
    size_t read = 0;
    const auto next = [&]() -> std::optional<Block> {
        if (read == loaded.blocks.size()) return std::nullopt;
        return std::move(loaded.blocks[read++]);
    };
    const auto apply = [&](const Block& block, std::span<const SignatureCheck> checks) {
        std::string error;
        const auto log_writes = [&](const BlockResult& r) { return block_log_writes(block, r); };
        const auto result = engine.apply_block_checked(block, checks, error, log_blocks ? BookkeepingWrites(log_writes) : BookkeepingWrites());
        if (!result) {
            err << "error: block " << block.header.height << ": " << error << "\n";
            return false;
        }
        out << block_line(*result).dump() << "\n";
        if (receipts.is_open()) {
            receipts << receipt_lines(*result);
            receipts.flush();
        }
        return true;
    };
    return apply_verified_ahead(engine, pool, next, apply) ? exit_ok : exit_internal;
}

}  // namespace

int cmd_keygen(const std::string& out_path, std::ostream& out, std::ostream& err) {
    const KeyPair pair = generate_keypair();
    if (auto error = write_new_file(out_path, key_to_json(pair).dump() + "\n", 0600); !error.empty()) {
        err << "error: " << error << "\n";
        return exit_bad_input;
    }
    out << Json{{"public", to_hex(pair.public_key)}}.dump() << "\n";
    return exit_ok;
}

int cmd_init(const std::string& home, const std::string& genesis_path, std::ostream& out, std::ostream& err) {
    const auto genesis = load_genesis(genesis_path);
    if (!genesis.ok()) {
        err << "error: " << genesis.error << "\n";
        return exit_bad_input;
    }
    bool bad_input = false;
    if (auto error = create_empty_home(home, bad_input); !error.empty()) {
        err << "error: " << error << "\n";
        return bad_input ? exit_bad_input : exit_internal;
    }
    if (auto error = write_new_file(genesis_copy_path(home), genesis_to_json(*genesis.value).dump(2) + "\n", 0644); !error.empty()) {
        err << "error: " << error << "\n";
        return exit_internal;
    }
    std::string error;
    auto store = create_store(home, error);
    if (!store) {
        err << "error: " << error << "\n";
        return exit_internal;
    }
    auto engine = Engine::genesis(*store, *genesis.value, error);
    if (!engine) {
        err << "error: " << error << "\n";
        return exit_internal;
    }
    if (error = create_home_dirs(home); !error.empty()) {
        err << "error: " << error << "\n";
        return exit_internal;
    }
    out << Json{{"height", engine->height()}, {"state_root", to_hex(engine->state_root())}}.dump() << "\n";
    return exit_ok;
}

int cmd_sign(const SignOptions& options, std::istream& in, std::ostream& out, std::ostream& err) {
    std::string chain_id = options.chain_id;
    if (!options.genesis_path.empty()) {
        const auto genesis = load_genesis(options.genesis_path);
        if (!genesis.ok()) {
            err << "error: " << genesis.error << "\n";
            return exit_bad_input;
        }
        chain_id = genesis.value->chain_id;
    }
    if (chain_id.empty()) {
        err << "error: give --chain-id or --genesis\n";
        return exit_bad_input;
    }
    std::map<AccountId, SecretKey> keys;
    for (const auto& path : options.key_paths) {
        const auto key = load_key(path);
        if (!key.ok()) {
            err << "error: " << key.error << "\n";
            return exit_bad_input;
        }
        keys[key.value->public_key] = key.value->secret_key;
    }
    // Read everything first: a bad line refuses the whole input and prints nothing.
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> lines;
    size_t line_number = 0;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(start, end - start);
        start = end + 1;
        ++line_number;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const Json j = Json::parse(line, nullptr, false);
        if (j.is_discarded()) {
            err << "error: line " << line_number << ": not valid JSON\n";
            return exit_bad_input;
        }
        if (j.is_object() && j.contains("block")) {
            lines.push_back(j.dump());
            continue;
        }
        auto parsed = tx_from_json(j, SigPolicy::optional);
        if (!parsed.ok()) {
            err << "error: line " << line_number << ": " << parsed.error << "\n";
            return exit_bad_input;
        }
        Tx& tx = *parsed.value;
        if (auto* open = std::get_if<Open>(&tx.body)) {
            if (auto it = keys.find(open->maker.account); it != keys.end()) {
                const Hash32 digest = order_signing_digest(open->maker, open->market, chain_id);
                open->maker.sig = sign(it->second, as_bytes(digest));
            }
        }
        if (auto it = keys.find(tx.signer); it != keys.end()) tx.sig = sign(it->second, as_bytes(tx_signing_digest(tx, chain_id)));
        lines.push_back(tx_to_json(tx).dump());
    }
    for (const auto& line : lines) out << line << "\n";
    return exit_ok;
}

int cmd_apply(const std::string& home, const BlockRunOptions& options, std::ostream& out, std::ostream& err) {
    std::string error;
    auto node = open_for_writing(home, options.start, error);
    if (!node) {
        err << "error: " << error << "\n";
        return exit_internal;
    }
    return run_blocks(*node->engine, options, true, out, err);
}

int cmd_replay(const std::string& genesis_path, const BlockRunOptions& options, std::ostream& out, std::ostream& err) {
    const auto genesis = load_genesis(genesis_path);
    if (!genesis.ok()) {
        err << "error: " << genesis.error << "\n";
        return exit_bad_input;
    }
    MemoryStore store;
    std::string error;
    auto engine = Engine::genesis(store, *genesis.value, error);
    if (!engine) {
        err << "error: " << error << "\n";
        return exit_internal;
    }
    return run_blocks(*engine, options, false, out, err);
}

int cmd_submit(const std::string& home, const std::vector<std::string>& paths, std::ostream& out, std::ostream& err) {
    std::string error;
    bool bad_input = false;
    const auto submitted = submit_files(home, paths, error, bad_input);
    for (const auto& s : submitted) {
        Json hashes = Json::array();
        for (const auto& h : s.tx_hashes) hashes.push_back(to_hex(h));
        out << Json{{"file", "inbox/" + s.name}, {"txs", s.tx_hashes.size()}, {"tx_hashes", std::move(hashes)}}.dump() << "\n";
    }
    if (!error.empty()) {
        err << "error: " << error << "\n";
        return bad_input ? exit_bad_input : exit_internal;
    }
    return exit_ok;
}

int cmd_query_account(const std::string& home, const std::string& account_hex, std::ostream& out, std::ostream& err) {
    const auto id = from_hex<32>(account_hex);
    if (!id) {
        err << "error: account: must be 64 hex digits\n";
        return exit_bad_input;
    }
    auto node = open_readable(home, err);
    if (!node) return exit_internal;
    const Engine& engine = node->engine();
    const auto j = account_json(engine, *id);
    if (!j) {
        err << "error: account " << account_hex << " does not exist\n";
        return exit_bad_input;
    }
    out << j->dump() << "\n";
    return exit_ok;
}

int cmd_query_state(const std::string& home, std::ostream& out, std::ostream& err) {
    auto node = open_readable(home, err);
    if (!node) return exit_internal;
    const Engine& engine = node->engine();
    out << state_json(engine).dump() << "\n";
    return exit_ok;
}

int cmd_query_liquidatable(const std::string& home, std::ostream& out, std::ostream& err) {
    auto node = open_readable(home, err);
    if (!node) return exit_internal;
    const Engine& engine = node->engine();
    for (const auto& line : liquidatable_json(engine)) out << line.dump() << "\n";
    return exit_ok;
}

int cmd_query_adl_queue(const std::string& home, const std::string& market, const std::string& side, std::ostream& out,
                        std::ostream& err) {
    if (side != "long" && side != "short") {
        err << "error: side: must be long or short\n";
        return exit_bad_input;
    }
    auto node = open_readable(home, err);
    if (!node) return exit_internal;
    const Engine& engine = node->engine();
    const auto lines = adl_queue_json(engine, market, side == "long" ? 1 : -1);
    if (!lines) {
        err << "error: unknown market " << market << "\n";
        return exit_bad_input;
    }
    for (const auto& line : *lines) out << line.dump() << "\n";
    return exit_ok;
}

}  // namespace clearnode::cli
