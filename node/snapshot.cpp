#include "node/snapshot.hpp"

#include "clearing/engine.hpp"
#include "ledger/codec.hpp"
#include "ledger/json.hpp"
#include "node/blocklog.hpp"
#include "node/files.hpp"
#include "node/home.hpp"
#include "node/open.hpp"

#include <filesystem>
#include <ostream>

namespace clearnode::cli {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view snapshot_magic = "clearnode/snapshot/v1";
constexpr size_t entry_bytes_max = 64 << 20;

}  // namespace

bool load_snapshot_into(const std::string& path, Store& store, std::string& error) {
    const FileText file = read_file(path);
    if (!file.text) {
        error = file.error;
        return false;
    }
    const std::string& bytes = *file.text;
    if (bytes.size() < snapshot_magic.size() + 8 + 32 + 8 + 32 || bytes.compare(0, snapshot_magic.size(), snapshot_magic) != 0) {
        error = path + ": not a clearnode snapshot (or torn)";
        return false;
    }
    const std::string_view body(bytes.data(), bytes.size() - 32);
    const Hash32 checksum = blake2b_256(as_bytes(body));
    if (std::string_view(reinterpret_cast<const char*>(checksum.data()), 32) != std::string_view(bytes).substr(body.size())) {
        error = path + ": checksum mismatch (torn or corrupt snapshot)";
        return false;
    }
    Reader r(body.substr(snapshot_magic.size()));
    const uint64_t height = r.u64();
    const Hash32 root = r.fixed<32>();
    const uint64_t count = r.u64();
    WriteSet entries;
    for (uint64_t i = 0; r.ok() && i < count; ++i) {
        std::string key = r.bytes(entry_bytes_max);
        std::string value = r.bytes(entry_bytes_max);
        if (r.ok() && !is_state_key(key)) r.fail();
        entries[std::move(key)] = std::move(value);
    }
    if (!r.ok() || !r.at_end()) {
        error = path + ": malformed snapshot entries";
        return false;
    }
    MemoryStore staged;
    if (auto s = staged.commit(entries); !s.ok()) {
        error = s.error;
        return false;
    }
    const StateCommitment commitment = StateCommitment::from_scratch(staged);
    if (commitment.root() != root) {
        error = path + ": its entries do not hash to its state root";
        return false;
    }
    entries[std::string(commitment_key)] = commitment.to_entry();
    entries[std::string(logkeys::base)] = encode_u64(height);
    if (auto s = store.commit(entries); !s.ok()) {
        error = s.error;
        return false;
    }
    return true;
}

int cmd_export(const std::string& home, const std::string& out_path, std::ostream& out, std::ostream& err) {
    auto node = open_readable(home, err);
    if (!node) return exit_internal;
    const Engine& engine = node->engine();
    Writer entries;
    uint64_t count = 0;
    node->store().scan("", [&](std::string_view key, std::string_view value) {
        if (!is_state_key(key)) return true;
        entries.bytes(key);
        entries.bytes(value);
        ++count;
        return true;
    });
    Writer w;
    w.raw(as_bytes(snapshot_magic));
    w.u64(engine.height());
    w.fixed(engine.state_root());
    w.u64(count);
    std::string bytes = w.take() + entries.take();
    const Hash32 checksum = blake2b_256(as_bytes(bytes));
    bytes.append(reinterpret_cast<const char*>(checksum.data()), checksum.size());
    if (auto e = write_new_file(out_path, bytes, 0644); !e.empty()) {
        err << "error: " << e << "\n";
        return exit_bad_input;
    }
    out << Json{{"height", engine.height()}, {"state_root", to_hex(engine.state_root())}, {"entries", count}}.dump() << "\n";
    return exit_ok;
}

int cmd_init_from_snapshot(const std::string& home, const std::string& snapshot_path, std::ostream& out, std::ostream& err) {
    MemoryStore check;
    std::string error;
    if (!load_snapshot_into(snapshot_path, check, error)) {
        err << "error: " << error << "\n";
        return exit_bad_input;
    }
    bool bad_input = false;
    if (error = create_empty_home(home, bad_input); !error.empty()) {
        err << "error: " << error << "\n";
        return bad_input ? exit_bad_input : exit_internal;
    }
    std::error_code ec;
    fs::copy_file(snapshot_path, snapshot_copy_path(home), ec);
    if (ec) {
        err << "error: " << snapshot_copy_path(home) << ": " << ec.message() << "\n";
        return exit_internal;
    }
    auto store = create_store(home, error);
    if (!store || !load_snapshot_into(snapshot_copy_path(home), *store, error)) {
        err << "error: " << error << "\n";
        return exit_internal;
    }
    auto engine = Engine::open(*store, true, error);
    if (engine) error = create_home_dirs(home);
    if (!engine || !error.empty()) {
        err << "error: " << error << "\n";
        return exit_internal;
    }
    out << Json{{"height", engine->height()}, {"state_root", to_hex(engine->state_root())}}.dump() << "\n";
    return exit_ok;
}

}  // namespace clearnode::cli
