// The store: ordered bytes-to-bytes state with one atomic commit per block (LevelDB-style).
//
// Keys that start with '~' are bookkeeping of the store itself (the commitment accumulator,
// later the block log index); they are outside the state root. Every other key is state.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace clearnode {

// Failure of the storage layer underneath (I/O error, corruption). The engine cannot continue
// on a state it cannot read, so this is fatal for a node: it stops and commits nothing.
struct StorageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Status {
    std::string error;  // empty when ok
    bool ok() const { return error.empty(); }
    static Status success() { return {}; }
};

// What a block writes: a key mapped to its new value, or to nullopt for an erasure.
using WriteSet = std::map<std::string, std::optional<std::string>, std::less<>>;

// Return false to stop a scan.
using ScanVisitor = std::function<bool(std::string_view key, std::string_view value)>;

constexpr char bookkeeping_key_prefix = '~';
inline bool is_state_key(std::string_view key) { return key.empty() || key[0] != bookkeeping_key_prefix; }

class StateReader {
public:
    virtual ~StateReader() = default;
    virtual std::optional<std::string> get(std::string_view key) const = 0;
    // Every entry whose key starts with `prefix`, in ascending byte order of the key.
    virtual void scan(std::string_view prefix, const ScanVisitor& visit) const = 0;
};

class Store : public StateReader {
public:
    // All of `writes` or none of it, durably (fsync) where the backend is durable.
    virtual Status commit(const WriteSet& writes) = 0;
};

class MemoryStore final : public Store {
public:
    std::optional<std::string> get(std::string_view key) const override;
    void scan(std::string_view prefix, const ScanVisitor& visit) const override;
    Status commit(const WriteSet& writes) override;
    size_t size() const { return entries_.size(); }

private:
    std::map<std::string, std::string, std::less<>> entries_;
};

struct RocksOptions {
    bool create_if_missing = false;
    bool read_only = false;
    // Non-empty: open as a RocksDB secondary (a consistent view of a database that another
    // process has open for writing), keeping its own logs in this directory.
    std::string secondary_path;
    bool sync_writes = true;
    // RocksDB's memory: one cache for data, index and filter blocks, to which the memtables
    // (a quarter of it; half when they are unsorted, rocks_store.cpp) are charged too.
    size_t block_cache_mb = 256;
    // The engine's record cache in front of this store (0: none): give the value the engine's
    // set_record_cache_bytes gets. A writable store whose record cache holds
    // unsorted_memtable_cache_ratio times its memtables keeps them unsorted (rocks_store.cpp
    // says why and when); told of a larger cache than the engine has, it would meet reads
    // that sort a copy of its memtable.
    size_t record_cache_mb = 0;
    // Key prefixes that get a RocksDB column family of their own (a key belongs to the family
    // of its longest prefix here, the rest to the default family). A family has its own
    // memtables and table files: the node keeps its block log apart from the state, so that
    // megabytes of log a block neither fill the state's memtables nor go through the state's
    // compactions. A writable open creates the missing families, except one whose keys the
    // store already holds elsewhere (a store written before: they stay where they are).
    // Every open uses the families the database has, whatever this lists.
    std::vector<std::string> family_prefixes;
};
constexpr size_t unsorted_memtable_cache_ratio = 8;

class RocksStore final : public Store {
public:
    // The store at `path`, or the reason it could not be opened.
    static std::unique_ptr<RocksStore> open(const std::string& path, const RocksOptions& options, std::string& error);
    // Closes the store (see close()).
    ~RocksStore() override;
    // Flushes the memtables of a writable store to table files and closes it, so that the
    // next open replays no write-ahead log. Nothing else may be called afterwards.
    Status close();
    std::optional<std::string> get(std::string_view key) const override;
    void scan(std::string_view prefix, const ScanVisitor& visit) const override;
    Status commit(const WriteSet& writes) override;
    // Whether RocksDB has a memtable flush or a compaction waiting or running. The bench lets
    // them finish between its timed runs, so that one run's leftover work does not slow the next.
    bool background_work_pending() const;
    // RocksDB's name for the state's memtable kind ("SkipListFactory", "VectorRepFactory").
    std::string memtable_kind() const;
    struct MemtableSizes {
        size_t memtable_bytes;       // the state's memtable is flushed at this size (write_buffer_size)
        size_t memtables_bytes_max;  // every family's memtables together (the write buffer manager's)
        size_t wal_bytes_max;        // a log past this flushes its oldest families (max_total_wal_size)
    };
    MemtableSizes memtable_sizes() const;
    // The prefixes that have a column family of their own in this database, in byte order.
    std::vector<std::string> family_prefixes() const;

private:
    struct Impl;
    explicit RocksStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Byte-level writes over a base view (genesis, tests): reads see the writes first; scans merge
// both in key order. Blocks apply through the typed layers of state/record_layers.hpp.
class Overlay final : public StateReader {
public:
    explicit Overlay(const StateReader& base) : base_(&base) {}
    // Never copied: `Overlay b(a)` must mean "writes over a" (construct from a StateReader&),
    // not a copy of a's writes.
    Overlay(const Overlay&) = delete;
    Overlay& operator=(const Overlay&) = delete;
    std::optional<std::string> get(std::string_view key) const override;
    void scan(std::string_view prefix, const ScanVisitor& visit) const override;
    void put(std::string_view key, std::string value);
    void erase(std::string_view key);
    const WriteSet& writes() const { return writes_; }

private:
    const StateReader* base_;
    WriteSet writes_;
};

}  // namespace clearnode
