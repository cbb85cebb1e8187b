#include "node/open.hpp"

#include "node/blocklog.hpp"
#include "node/files.hpp"

#include <cstdlib>
#include <filesystem>
#include <ostream>

namespace clearnode::cli {
namespace {
namespace fs = std::filesystem;

bool has_state(const std::string& home, std::string& error) {
    std::error_code ec;
    if (fs::is_directory(state_dir(home), ec)) return true;
    error = home + ": no node here (run `clearnode init` first)";
    return false;
}
}  // namespace

std::unique_ptr<RocksStore> create_store(const std::string& home, std::string& error) {
    RocksOptions options;
    options.create_if_missing = true;
    options.family_prefixes = logkeys::family_prefixes();
    return RocksStore::open(state_dir(home), options, error);
}

std::optional<WritableNode> open_for_writing(const std::string& home, const StartOptions& options, std::string& error) {
    if (!has_state(home, error)) return std::nullopt;
    WritableNode node;
    node.lock = HomeLock::acquire(home, error);
    if (!node.lock) return std::nullopt;
    RocksOptions rocks_options;
    rocks_options.block_cache_mb = options.cache_mb;
    rocks_options.record_cache_mb = options.record_cache_mb;
    rocks_options.family_prefixes = logkeys::family_prefixes();
    node.store = RocksStore::open(state_dir(home), rocks_options, error);
    if (!node.store) {
        error = state_dir(home) + ": " + error;
        return std::nullopt;
    }
    node.engine = Engine::open(*node.store, options.verify_state, error);
    if (!node.engine) {
        error = state_dir(home) + ": refusing to start on this state: " + error;
        return std::nullopt;
    }
    node.engine->set_record_cache_bytes(options.record_cache_mb << 20);
    try {
        if (auto problem = check_log_head(*node.store, *node.engine); !problem.empty()) {
            error = state_dir(home) + ": refusing to start on this state: " + problem;
            return std::nullopt;
        }
    } catch (const StorageError& e) {
        error = state_dir(home) + ": refusing to start on this state: " + e.what();
        return std::nullopt;
    }
    return node;
}

std::unique_ptr<ReadableNode> ReadableNode::open(const std::string& home, std::string& error, bool with_engine) {
    if (!has_state(home, error)) return nullptr;
    std::unique_ptr<ReadableNode> node(new ReadableNode);
    std::string pattern = (fs::temp_directory_path() / "clearnode-secondary-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) {
        error = "cannot create a temporary directory for a RocksDB secondary";
        return nullptr;
    }
    node->secondary_dir_ = pattern;
    RocksOptions options;
    options.secondary_path = node->secondary_dir_;
    node->store_ = RocksStore::open(state_dir(home), options, error);
    if (!node->store_) {
        error = state_dir(home) + ": " + error;
        return nullptr;
    }
    if (!with_engine) return node;
    node->engine_ = Engine::open(*node->store_, false, error);
    if (!node->engine_) {
        error = state_dir(home) + ": " + error;
        return nullptr;
    }
    return node;
}

ReadableNode::~ReadableNode() {
    engine_.reset();
    store_.reset();
    std::error_code ec;
    if (!secondary_dir_.empty()) fs::remove_all(secondary_dir_, ec);
}

std::unique_ptr<ReadableNode> open_readable(const std::string& home, std::ostream& err, bool with_engine) {
    std::string error;
    auto node = ReadableNode::open(home, error, with_engine);
    if (!node) err << "error: " << error << "\n";
    return node;
}

}  // namespace clearnode::cli
