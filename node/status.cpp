#include "node/status.hpp"

#include "clearing/invariants.hpp"
#include "node/blocklog.hpp"
#include "node/files.hpp"
#include "node/inbox.hpp"
#include "node/open.hpp"
#include "node/output.hpp"
#include "node/pipeline.hpp"
#include "node/snapshot.hpp"

#include <cstdio>
#include <filesystem>
#include <ostream>

namespace clearnode::cli {
namespace {

// The state a replay starts from: the node's snapshot if it was initialised from one, else
// its genesis.
std::unique_ptr<Engine> replay_start(const std::string& home, uint64_t base, MemoryStore& memory, std::string& error) {
    if (base > 0) {
        if (!load_snapshot_into(snapshot_copy_path(home), memory, error)) return nullptr;
        auto engine = Engine::open(memory, true, error);
        if (engine && engine->height() != base) {
            error = snapshot_copy_path(home) + ": height " + std::to_string(engine->height()) + ", the node started at " +
                    std::to_string(base);
            return nullptr;
        }
        return engine;
    }
    const auto genesis = load_genesis(genesis_copy_path(home));
    if (!genesis.ok()) {
        error = genesis.error;
        return nullptr;
    }
    return Engine::genesis(memory, *genesis.value, error);
}

}  // namespace

int cmd_status(const std::string& home, std::ostream& out, std::ostream& err) {
    auto node = open_readable(home, err);
    if (!node) return exit_internal;
    const Engine& engine = node->engine();
    out << Json{{"height", engine.height()},
                {"state_root", to_hex(engine.state_root())},
                {"time_ms", engine.time_ms()},
                {"inbox", list_inbox(home).size()}}
               .dump()
        << "\n";
    return exit_ok;
}

int cmd_replay_log(const LogReplayOptions& options, std::ostream& out, std::ostream& err) {
    auto node = open_readable(options.home, err);
    if (!node) return exit_internal;
    std::string error;
    const StateReader& log = node->store();
    const uint64_t base = base_height(log);
    const uint64_t top = node->engine().height();
    MemoryStore memory;
    auto engine = replay_start(options.home, base, memory, error);
    if (!engine) {
        err << "error: " << error << "\n";
        return exit_internal;
    }
    // The log is read ahead: each block's signatures are verified while the one before it is
    // applied. A block missing from the log ends the run after the blocks before it.
    WorkerPool pool(verify_workers(options.verify_threads));
    uint64_t read = base;
    bool missing = false;
    const auto next = [&]() -> std::optional<Block> {
        if (read == top || missing) return std::nullopt;
        auto block = load_logged_block(log, read + 1);
        if (!block) missing = true;
        else ++read;
        return block;
    };
    bool differs = false;
    const auto apply = [&](const Block& block, std::span<const SignatureCheck> checks) {
        const uint64_t h = block.header.height;
        const auto result = engine->apply_block_checked(block, checks, error);
        if (!result) {
            err << "error: height " << h << ": " << error << "\n";
            return false;
        }
        if (options.verify) {
            const auto meta = load_meta(log, h);
            const char* reason = !meta                                    ? "no published root"
                                 : meta->block_hash != result->block_hash ? "block hash differs"
                                 : meta->state_root != result->state_root ? "state root differs"
                                                                          : nullptr;
            if (reason) {
                if (options.progress) err << "\n";
                Json j{{"first_difference", h}, {"reason", reason}, {"replayed_root", to_hex(result->state_root)}};
                if (meta) j["published_root"] = to_hex(meta->state_root);
                out << j.dump() << "\n";
                differs = true;
                return false;
            }
            if (options.progress && (h == top || h % 64 == 0)) err << "\rreplay: height " << h << " of " << top << std::flush;
        } else {
            out << block_line(*result).dump() << "\n";
        }
        return true;
    };
    if (!apply_verified_ahead(*engine, pool, next, apply) || differs) return exit_internal;
    if (missing) {
        err << "error: height " << read + 1 << ": missing from the block log\n";
        out << Json{{"first_difference", read + 1}, {"reason", "missing from the block log"}}.dump() << "\n";
        return exit_internal;
    }
    if (options.progress && options.verify && top > base) err << "\n";
    if (options.verify) {
        const std::string violation = check_invariants(memory);
        Json j{{"verified_from", base}, {"verified_to", top}, {"state_root", to_hex(engine->state_root())},
               {"invariants", violation.empty() ? "ok" : violation}};
        out << j.dump() << "\n";
        if (!violation.empty()) return exit_internal;
    }
    return exit_ok;
}

int cmd_dump_blocks(const std::string& home, const std::string& out_dir, std::ostream& out, std::ostream& err) {
    // The log and the chain record only, no engine: so that a state of another state root
    // version can still be carried over to this binary through its blocks.
    auto node = open_readable(home, err, false);
    if (!node) return exit_internal;
    const StateReader& log = node->store();
    uint64_t top = 0;
    try {
        top = load_chain(log).height;
    } catch (const StorageError& e) {
        err << "error: " << e.what() << "\n";
        return exit_internal;
    }
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    if (ec) {
        err << "error: " << out_dir << ": " << ec.message() << "\n";
        return exit_bad_input;
    }
    const uint64_t base = base_height(log);
    for (uint64_t h = base + 1; h <= top; ++h) {
        const auto block = load_logged_block(log, h);
        if (!block) {
            err << "error: height " << h << ": missing from the block log\n";
            return exit_internal;
        }
        std::string text = Json{{"block", {{"height", h}, {"time_ms", block->header.time_ms}}}}.dump() + "\n";
        for (const auto& tx : block->txs) text += tx_to_json(tx).dump() + "\n";
        char name[32];
        std::snprintf(name, sizeof name, "/%012llu.jsonl", static_cast<unsigned long long>(h));
        if (auto e = write_new_file(out_dir + name, text, 0644); !e.empty()) {
            err << "error: " << e << "\n";
            return exit_bad_input;
        }
    }
    out << Json{{"from", base + 1}, {"to", top}, {"out", out_dir}}.dump() << "\n";
    return exit_ok;
}

}  // namespace clearnode::cli
