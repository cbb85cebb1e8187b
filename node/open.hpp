// Opening a node's store: for writing (the lock, then every check a node makes before it
// trusts its state), or for reading beside a running node (a RocksDB secondary).
#pragma once

#include <cassert>

#include "clearing/engine.hpp"
#include "node/home.hpp"
#include "state/store.hpp"

#include <iosfwd>
#include <memory>
#include <string>

namespace clearnode::cli {

struct WritableNode {
    std::unique_ptr<HomeLock> lock;  // declared first: released last
    std::unique_ptr<RocksStore> store;
    std::unique_ptr<Engine> engine;
};

// How a writing node starts and what it may keep in memory.
struct StartOptions {
    // Recompute the state root from every entry before starting (O(state): a leaf per entry,
    // about 700,000 leaves/s per core in bench, so over a second at a million accounts) and refuse a state that does not hash to its stored root. Without it
    // the stored accumulator is trusted: RocksDB checks the checksum of every block it reads
    // (a flipped bit stops the node), and `replay --home DIR --verify` re-executes the log.
    bool verify_state = false;
    // RocksDB's block cache, to which its memtables are charged.
    size_t cache_mb = 256;
    // Memory for the records kept decoded between blocks (least recently read dropped).
    size_t record_cache_mb = CommittedRecords::bytes_max_default >> 20;
};

// A new node's store at DIR/state (`init`, from a genesis or a snapshot), with the block
// log's column families (logkeys::family_prefixes). Nullptr and `error` else.
std::unique_ptr<RocksStore> create_store(const std::string& home, std::string& error);

// Takes DIR's lock, opens its store and refuses a state that fails its own checks: a missing
// record, a block log that does not end at the state's height with the root and block hash
// the node published, and with verify_state a state that does not hash to its stored root.
// Nullopt and `error` else.
std::optional<WritableNode> open_for_writing(const std::string& home, const StartOptions& options, std::string& error);

// A consistent read-only view of DIR's store, also while a node writes it (a RocksDB
// secondary, whose own files live in a temporary directory removed on destruction).
class ReadableNode {
public:
    // Without `with_engine`, the store alone: what reads only the block log (`blocks`), which
    // then works on a state of another state root version, as a migration needs.
    static std::unique_ptr<ReadableNode> open(const std::string& home, std::string& error, bool with_engine = true);
    ~ReadableNode();
    RocksStore& store() { return *store_; }
    Engine& engine() {
        assert(engine_);
        return *engine_;
    }

private:
    ReadableNode() = default;
    std::string secondary_dir_;
    std::unique_ptr<RocksStore> store_;
    std::unique_ptr<Engine> engine_;
};

// ReadableNode::open for a command: on failure, the message on `err` and nullptr.
std::unique_ptr<ReadableNode> open_readable(const std::string& home, std::ostream& err, bool with_engine = true);

}  // namespace clearnode::cli
