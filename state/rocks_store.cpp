#include "state/store.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <memory>

namespace clearnode {
namespace {

// A key's type: its bytes up to and including the first '/' ("account/", "holder/", "~tx/").
// RocksDB keeps one memtable insert hint per type; keys without a '/' ("chain", "config")
// take none. The type, not a fixed length: a fixed 8 bytes would cut "~tx/" keys inside the
// transaction's hash and keep a hint (about 250 bytes) for every transaction of the memtable.
class KeyTypePrefix final : public rocksdb::SliceTransform {
public:
    const char* Name() const override { return "clearnode.KeyTypePrefix"; }
    rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
        return rocksdb::Slice(key.data(), type_bytes(key));
    }
    bool InDomain(const rocksdb::Slice& key) const override { return type_bytes(key) != 0; }

private:
    static size_t type_bytes(const rocksdb::Slice& key) {
        const auto* slash = static_cast<const char*>(std::memchr(key.data(), '/', key.size()));
        return slash == nullptr ? 0 : static_cast<size_t>(slash - key.data()) + 1;
    }
};

// Every option derives from RocksOptions, so the bench's RocksDB floor (bench_limits.cpp)
// measures a database configured exactly as the node's. Figures: docs/DESIGN.md, "RocksDB".
rocksdb::Options db_options_for(const RocksOptions& options) {
    const size_t cache_bytes = options.block_cache_mb << 20;
    rocksdb::Options db;
    db.create_if_missing = options.create_if_missing;
    db.paranoid_checks = true;
    db.max_background_jobs = 2;  // one flush and one compaction; the machine has 2 cores
    db.level_compaction_dynamic_level_bytes = true;
    // Compact level 0 at eight files, not four: every compaction out of it rewrites the whole
    // next level (a block's keys are spread over the whole key space), so waiting for twice the
    // files halves those rewrites. About 1.2 us/tx less CPU at 1M zipf for a fifth more disk
    // (docs/DESIGN.md, "RocksDB options").
    db.level0_file_num_compaction_trigger = 8;

    // Memory: one LRU cache of block_cache_mb holds data, index and filter blocks, and the
    // memtables are charged to it (a quarter of it), so RocksDB's footprint follows the
    // setting, not the number of accounts.
    auto cache = rocksdb::NewLRUCache(cache_bytes);
    const size_t memtable_budget = cache_bytes / 4;
    db.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(memtable_budget, cache);
    // Small memtables: inserting a block's ~18,000 random keys into a 16 MB skiplist costs
    // about a third less CPU than into a 64 MB one, and a crash leaves at most two memtables
    // of WAL to replay (max_total_wal_size makes that bound explicit).
    db.write_buffer_size = std::clamp<size_t>(memtable_budget / 2, size_t{1} << 20, size_t{16} << 20);
    db.max_write_buffer_number = 2;
    db.max_total_wal_size = db.write_buffer_size * 2;
    // Most reads are of keys in table files: a memtable bloom filter skips the memtable search.
    db.memtable_whole_key_filtering = true;
    db.memtable_prefix_bloom_size_ratio = 0.1;
    // The memtable of a node whose record cache dwarfs it is an unsorted vector: a block's
    // writes are appended, and the flush thread sorts them once when the memtable is full,
    // instead of the committing thread inserting each into a skiplist. A read that reaches
    // that memtable (or a scan) sorts a copy of it, which is slow but rare: the engine reads
    // a key from the store only when its record cache lacks it, and every key written since
    // the last flush was read within those blocks, so the cache keeps it unless the records
    // of the memtables' entries outgrow it. A record costs the cache about four times its
    // entry's bytes in a memtable (406 bytes a record at 1M uniform accounts, against about
    // 110 of key and value), so a cache of eight times the memtables keeps a margin of two.
    // With a smaller cache those reads come often: at 1M uniform and a 16 MB record cache,
    // sorting copies took most of the run's CPU.
    const size_t memtables_bytes = db.max_write_buffer_number * db.write_buffer_size;
    const bool unsorted = !options.read_only && options.secondary_path.empty() &&
                          (options.record_cache_mb << 20) >= unsorted_memtable_cache_ratio * memtables_bytes;
    if (unsorted) {
        db.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
        db.allow_concurrent_memtable_write = false;  // a vector has one writer
    } else {
        // A block's batch is sorted by key (and so is a secondary's replay of it): each insert
        // searches the skiplist from where the last insert of the same key type ended, not
        // from the top.
        db.memtable_insert_with_hint_prefix_extractor = std::make_shared<KeyTypePrefix>();
    }

    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.cache_index_and_filter_blocks = true;
    table.cache_index_and_filter_blocks_with_high_priority = true;
    table.pin_l0_filter_and_index_blocks_in_cache = true;
    db.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    return db;
}

}  // namespace

struct RocksStore::Impl {
    std::unique_ptr<rocksdb::DB> db;
    rocksdb::WriteOptions write_options;
    rocksdb::ReadOptions read_options;
    bool writable = false;
};

RocksStore::RocksStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RocksStore::~RocksStore() {
    // A destructor has no one to report to; a failed flush only leaves the WAL to replay.
    (void)close();
}

Status RocksStore::close() {
    if (!impl_->db) return Status::success();
    rocksdb::Status s;
    if (impl_->writable) {
        // Every commit is already durable in the WAL; flushing the memtables to table files
        // now means the next open has no WAL to replay.
        rocksdb::FlushOptions flush;
        flush.wait = true;
        s = impl_->db->Flush(flush);
    }
    const rocksdb::Status closed = impl_->db->Close();
    impl_->db.reset();
    if (!s.ok()) return {"rocksdb flush: " + s.ToString()};
    if (!closed.ok()) return {"rocksdb close: " + closed.ToString()};
    return Status::success();
}

std::unique_ptr<RocksStore> RocksStore::open(const std::string& path, const RocksOptions& options, std::string& error) {
    rocksdb::Options db_options = db_options_for(options);
    auto impl = std::make_unique<Impl>();
    impl->write_options.sync = options.sync_writes;
    impl->read_options.verify_checksums = true;
    rocksdb::DB* db = nullptr;
    rocksdb::Status s;
    if (!options.secondary_path.empty()) {
        db_options.max_open_files = -1;  // a secondary must keep every table file open
        s = rocksdb::DB::OpenAsSecondary(db_options, path, options.secondary_path, &db);
        if (s.ok()) s = db->TryCatchUpWithPrimary();
    } else if (options.read_only) {
        s = rocksdb::DB::OpenForReadOnly(db_options, path, &db);
    } else {
        s = rocksdb::DB::Open(db_options, path, &db);
        impl->writable = true;
    }
    if (!s.ok()) {
        delete db;
        error = s.ToString();
        return nullptr;
    }
    impl->db.reset(db);
    return std::unique_ptr<RocksStore>(new RocksStore(std::move(impl)));
}

std::optional<std::string> RocksStore::get(std::string_view key) const {
    std::string value;
    const rocksdb::Status s = impl_->db->Get(impl_->read_options, rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::nullopt;
    if (!s.ok()) throw StorageError("rocksdb read: " + s.ToString());
    return value;
}

std::string RocksStore::memtable_kind() const { return impl_->db->GetOptions().memtable_factory->Name(); }

bool RocksStore::background_work_pending() const {
    for (const auto& property : {rocksdb::DB::Properties::kMemTableFlushPending, rocksdb::DB::Properties::kNumRunningFlushes,
                                 rocksdb::DB::Properties::kCompactionPending, rocksdb::DB::Properties::kNumRunningCompactions}) {
        uint64_t value = 0;
        if (!impl_->db->GetIntProperty(property, &value)) throw StorageError("rocksdb property " + property + " unavailable");
        if (value != 0) return true;
    }
    return false;
}

void RocksStore::scan(std::string_view prefix, const ScanVisitor& visit) const {
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(impl_->read_options));
    const rocksdb::Slice start(prefix.data(), prefix.size());
    for (it->Seek(start); it->Valid() && it->key().starts_with(start); it->Next()) {
        if (!visit(std::string_view(it->key().data(), it->key().size()),
                   std::string_view(it->value().data(), it->value().size())))
            break;
    }
    if (!it->status().ok()) throw StorageError("rocksdb scan: " + it->status().ToString());
}

// The batch's bytes, reserved up front: a block's batch is megabytes with the node's log in it,
// and growing it by doubling copied it and faulted in fresh pages at each step (3% of the
// signed run's CPU with the block log, perf, 2026-12-02). An upper bound of the format:
// a 12-byte header, and per entry a tag, two varint32 lengths, the key and the value.
static size_t batch_bytes_max(const WriteSet& writes) {
    constexpr size_t header_bytes = 12, entry_overhead_bytes = 1 + 5 + 5;
    size_t bytes = header_bytes;
    for (const auto& [key, value] : writes) bytes += entry_overhead_bytes + key.size() + (value ? value->size() : 0);
    return bytes;
}

Status RocksStore::commit(const WriteSet& writes) {
    const size_t reserved_bytes = batch_bytes_max(writes);
    rocksdb::WriteBatch batch(reserved_bytes);
    for (const auto& [key, value] : writes) {
        const rocksdb::Slice k(key.data(), key.size());
        const rocksdb::Status s = value ? batch.Put(k, rocksdb::Slice(value->data(), value->size())) : batch.Delete(k);
        if (!s.ok()) return {"rocksdb batch: " + s.ToString()};
    }
    assert(batch.GetDataSize() <= reserved_bytes);
    const rocksdb::Status s = impl_->db->Write(impl_->write_options, &batch);
    if (!s.ok()) return {"rocksdb write: " + s.ToString()};
    return Status::success();
}

}  // namespace clearnode
