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
#include <filesystem>
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
    // memtables are charged to it, so RocksDB's footprint follows the setting, not the number
    // of accounts.
    auto cache = rocksdb::NewLRUCache(cache_bytes);

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
    //
    // Memtables of an eighth of the cache each, two a family. A state skiplist stops at
    // 16 MB: inserting a block's ~18,000 random keys into a 16 MB one costs about a third
    // less CPU than into a 64 MB one. A vector's append costs the same at any size, so it
    // goes to 32 MB and the memtables get half the cache instead of a quarter: level-0 files
    // twice the size come half as often, and fewer compactions rewrite all of the next level
    // with them (docs/DESIGN.md, "RocksDB options"). The log's families (always skiplists, a
    // few large entries a block in key order) take the same size.
    const auto memtable_bytes_up_to = [cache_bytes](size_t max_bytes) {
        return std::clamp<size_t>(cache_bytes / 8, size_t{1} << 20, max_bytes);
    };
    const size_t vector_buffer_bytes = memtable_bytes_up_to(size_t{32} << 20);
    const bool may_be_unsorted = !options.read_only && options.secondary_path.empty();
    const bool unsorted =
        may_be_unsorted && (options.record_cache_mb << 20) >= unsorted_memtable_cache_ratio * 2 * vector_buffer_bytes;
    const size_t memtable_budget = unsorted ? cache_bytes / 2 : cache_bytes / 4;
    db.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(memtable_budget, cache);
    db.write_buffer_size = unsorted ? vector_buffer_bytes : memtable_bytes_up_to(size_t{16} << 20);
    db.max_write_buffer_number = 2;
    // The write-ahead log holds every family's unflushed writes, and RocksDB flushes the
    // families holding its oldest ones once it passes max_total_wal_size: the memtable budget,
    // so that a crash leaves at most that much to replay, while the block log's megabytes a
    // block do not force the state's memtable out every two blocks.
    db.max_total_wal_size = std::max(memtable_budget, db.write_buffer_size * 2);
    // Most reads are of keys in table files: a memtable bloom filter skips the memtable search.
    db.memtable_whole_key_filtering = true;
    db.memtable_prefix_bloom_size_ratio = 0.1;
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

// A column family's options. The state's (the default family) are db_options_for's; a family
// of bookkeeping keys is always a skiplist: the node reads the transaction index ("~tx/")
// to turn away duplicates, and an unsorted memtable would sort a copy for each read.
rocksdb::ColumnFamilyOptions family_options(const rocksdb::Options& db, bool is_default) {
    rocksdb::ColumnFamilyOptions family(db);
    if (is_default) return family;
    family.memtable_factory = std::make_shared<rocksdb::SkipListFactory>();
    family.memtable_insert_with_hint_prefix_extractor = std::make_shared<KeyTypePrefix>();
    return family;
}

// The families the database at `path` has; a database about to be created has the default.
rocksdb::Status existing_families(const rocksdb::Options& options, const std::string& path, std::vector<std::string>& names) {
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(options, path, &names);
    if (!s.ok() && options.create_if_missing && !std::filesystem::exists(std::filesystem::path(path) / "CURRENT")) {
        names = {rocksdb::kDefaultColumnFamilyName};
        return rocksdb::Status::OK();
    }
    return s;
}

}  // namespace

struct RocksStore::Impl {
    struct Family {
        std::string prefix;  // empty for the default family
        rocksdb::ColumnFamilyHandle* handle = nullptr;
    };
    std::unique_ptr<rocksdb::DB> db;
    // Longest prefix first, the default family (every key no other prefix takes) last.
    std::vector<Family> families;
    rocksdb::WriteOptions write_options;
    rocksdb::ReadOptions read_options;
    bool writable = false;

    // The family that holds `key`: the one with the longest prefix of it.
    rocksdb::ColumnFamilyHandle* family_of(std::string_view key) const {
        for (const auto& family : families)
            if (key.starts_with(family.prefix)) return family.handle;
        assert(false && "the default family takes every key");
        return nullptr;
    }

    // The families that may hold a key starting with `prefix`.
    std::vector<rocksdb::ColumnFamilyHandle*> families_under(std::string_view prefix) const {
        std::vector<rocksdb::ColumnFamilyHandle*> out;
        for (const auto& family : families) {
            // A family whose prefix starts the scan's takes every key of the scan that no
            // longer prefix takes, so no shorter one (nor the default) holds any.
            if (!family.prefix.empty() && prefix.starts_with(family.prefix)) {
                out.push_back(family.handle);
                break;
            }
            if (family.prefix.empty() || family.prefix.starts_with(prefix)) out.push_back(family.handle);
        }
        return out;
    }

    void sort_families() {
        std::sort(families.begin(), families.end(),
                  [](const Family& a, const Family& b) { return a.prefix.size() > b.prefix.size(); });
    }
    rocksdb::Status open_families(const std::string& path, const RocksOptions& options, rocksdb::Options& db_options);
    rocksdb::Status create_declared(const rocksdb::Options& db_options, std::vector<std::string> prefixes);
    rocksdb::Status create_family(const rocksdb::Options& options, const std::string& prefix);
    rocksdb::Status close_families();
};

// A new family for `prefix`, unless its keys already live in the family that takes them now
// (a store written before the prefix was declared keeps them where they are: moving a block
// log of gigabytes would be one enormous batch). Each key lives in exactly one family, the one
// family_of names, so reads, scans and commits never look in two places for one key.
rocksdb::Status RocksStore::Impl::create_family(const rocksdb::Options& options, const std::string& prefix) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read_options, family_of(prefix)));
    it->Seek(prefix);
    if (it->Valid() && it->key().starts_with(prefix)) return rocksdb::Status::OK();
    if (!it->status().ok()) return it->status();
    rocksdb::ColumnFamilyHandle* handle = nullptr;
    const rocksdb::Status s = db->CreateColumnFamily(family_options(options, false), prefix, &handle);
    if (!s.ok()) return s;
    families.push_back({prefix, handle});
    sort_families();
    return s;
}

rocksdb::Status RocksStore::Impl::close_families() {
    rocksdb::Status first_error;
    for (auto& family : families) {
        const rocksdb::Status s = db->DestroyColumnFamilyHandle(family.handle);
        if (!s.ok() && first_error.ok()) first_error = s;
    }
    families.clear();
    return first_error;
}

RocksStore::RocksStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RocksStore::~RocksStore() {
    // A destructor has no one to report to; a failed flush only leaves the WAL to replay.
    (void)close();
}

Status RocksStore::close() {
    if (!impl_->db) return Status::success();
    rocksdb::Status s;
    if (impl_->writable) {
        // Every commit is already durable in the WAL; flushing every family's memtables to
        // table files now means the next open has no WAL to replay.
        rocksdb::FlushOptions flush;
        flush.wait = true;
        std::vector<rocksdb::ColumnFamilyHandle*> handles;
        for (const auto& family : impl_->families) handles.push_back(family.handle);
        s = impl_->db->Flush(flush, handles);
    }
    const rocksdb::Status released = impl_->close_families();
    const rocksdb::Status closed = impl_->db->Close();
    impl_->db.reset();
    if (!s.ok()) return {"rocksdb flush: " + s.ToString()};
    if (!released.ok()) return {"rocksdb close: " + released.ToString()};
    if (!closed.ok()) return {"rocksdb close: " + closed.ToString()};
    return Status::success();
}

// Opens the database at `path` with every family it has.
rocksdb::Status RocksStore::Impl::open_families(const std::string& path, const RocksOptions& options, rocksdb::Options& db_options) {
    std::vector<std::string> names;
    rocksdb::Status s = existing_families(db_options, path, names);
    if (!s.ok()) return s;
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& name : names)
        descriptors.emplace_back(name, family_options(db_options, name == rocksdb::kDefaultColumnFamilyName));
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    if (!options.secondary_path.empty()) {
        db_options.max_open_files = -1;  // a secondary must keep every table file open
        s = rocksdb::DB::OpenAsSecondary(db_options, path, options.secondary_path, descriptors, &handles, &raw);
        if (s.ok()) s = raw->TryCatchUpWithPrimary();
    } else if (options.read_only) {
        s = rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &handles, &raw);
    } else {
        s = rocksdb::DB::Open(db_options, path, descriptors, &handles, &raw);
        writable = true;
    }
    db.reset(raw);
    assert(!s.ok() || handles.size() == names.size());
    for (size_t i = 0; i < handles.size(); ++i) {
        const bool is_default = names[i] == rocksdb::kDefaultColumnFamilyName;
        families.push_back({is_default ? std::string() : names[i], handles[i]});
    }
    sort_families();
    return s;
}

// The declared families the database lacks, shortest prefix first, so that "~" has its
// family before "~block/" looks for its keys.
rocksdb::Status RocksStore::Impl::create_declared(const rocksdb::Options& db_options, std::vector<std::string> prefixes) {
    std::sort(prefixes.begin(), prefixes.end(), [](const auto& a, const auto& b) { return a.size() < b.size(); });
    for (const auto& prefix : prefixes) {
        assert(!prefix.empty() && prefix != rocksdb::kDefaultColumnFamilyName);
        const bool exists = std::any_of(families.begin(), families.end(), [&](const Family& f) { return f.prefix == prefix; });
        if (exists) continue;
        if (const rocksdb::Status s = create_family(db_options, prefix); !s.ok()) return s;
    }
    return rocksdb::Status::OK();
}

std::unique_ptr<RocksStore> RocksStore::open(const std::string& path, const RocksOptions& options, std::string& error) {
    rocksdb::Options db_options = db_options_for(options);
    auto impl = std::make_unique<Impl>();
    impl->write_options.sync = options.sync_writes;
    impl->read_options.verify_checksums = true;
    rocksdb::Status s = impl->open_families(path, options, db_options);
    if (s.ok() && impl->writable) s = impl->create_declared(db_options, options.family_prefixes);
    if (!s.ok()) {
        if (impl->db) {
            (void)impl->close_families();
            (void)impl->db->Close();
        }
        error = s.ToString();
        return nullptr;
    }
    return std::unique_ptr<RocksStore>(new RocksStore(std::move(impl)));
}

std::optional<std::string> RocksStore::get(std::string_view key) const {
    std::string value;
    const rocksdb::Status s =
        impl_->db->Get(impl_->read_options, impl_->family_of(key), rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::nullopt;
    if (!s.ok()) throw StorageError("rocksdb read: " + s.ToString());
    return value;
}

std::string RocksStore::memtable_kind() const { return impl_->db->GetOptions(impl_->family_of("")).memtable_factory->Name(); }

RocksStore::MemtableSizes RocksStore::memtable_sizes() const {
    const rocksdb::DBOptions db = impl_->db->GetDBOptions();
    return {impl_->db->GetOptions(impl_->family_of("")).write_buffer_size,
            db.write_buffer_manager ? db.write_buffer_manager->buffer_size() : 0, db.max_total_wal_size};
}

std::vector<std::string> RocksStore::family_prefixes() const {
    std::vector<std::string> out;
    for (const auto& family : impl_->families)
        if (!family.prefix.empty()) out.push_back(family.prefix);
    std::sort(out.begin(), out.end());
    return out;
}

bool RocksStore::background_work_pending() const {
    for (const auto& property : {rocksdb::DB::Properties::kMemTableFlushPending, rocksdb::DB::Properties::kNumRunningFlushes,
                                 rocksdb::DB::Properties::kCompactionPending, rocksdb::DB::Properties::kNumRunningCompactions}) {
        uint64_t value = 0;
        if (!impl_->db->GetAggregatedIntProperty(property, &value)) throw StorageError("rocksdb property " + property + " unavailable");
        if (value != 0) return true;
    }
    return false;
}

// A merge of the families that may hold the prefix's keys (one, unless the prefix spans
// families): each key lives in one family, so the merge visits it once, in key order.
void RocksStore::scan(std::string_view prefix, const ScanVisitor& visit) const {
    const rocksdb::Slice start(prefix.data(), prefix.size());
    std::vector<std::unique_ptr<rocksdb::Iterator>> iterators;
    for (auto* family : impl_->families_under(prefix)) {
        iterators.emplace_back(impl_->db->NewIterator(impl_->read_options, family));
        iterators.back()->Seek(start);
    }
    for (;;) {
        rocksdb::Iterator* next = nullptr;
        for (const auto& it : iterators)
            if (it->Valid() && it->key().starts_with(start) && (next == nullptr || it->key().compare(next->key()) < 0))
                next = it.get();
        if (next == nullptr) break;
        if (!visit(std::string_view(next->key().data(), next->key().size()),
                   std::string_view(next->value().data(), next->value().size())))
            break;
        next->Next();
    }
    for (const auto& it : iterators)
        if (!it->status().ok()) throw StorageError("rocksdb scan: " + it->status().ToString());
}

// The batch's bytes, reserved up front: a block's batch is megabytes with the node's log in it,
// and growing it by doubling copied it and faulted in fresh pages at each step (3% of the
// signed run's CPU with the block log, perf, 2026-12-02). An upper bound of the format:
// a 12-byte header, and per entry a tag, the family's varint32 id, two varint32 lengths, the
// key and the value.
static size_t batch_bytes_max(const WriteSet& writes) {
    constexpr size_t header_bytes = 12, entry_overhead_bytes = 1 + 5 + 5 + 5;
    size_t bytes = header_bytes;
    for (const auto& [key, value] : writes) bytes += entry_overhead_bytes + key.size() + (value ? value->size() : 0);
    return bytes;
}

Status RocksStore::commit(const WriteSet& writes) {
    const size_t reserved_bytes = batch_bytes_max(writes);
    rocksdb::WriteBatch batch(reserved_bytes);
    for (const auto& [key, value] : writes) {
        const rocksdb::Slice k(key.data(), key.size());
        auto* family = impl_->family_of(key);
        const rocksdb::Status s = value ? batch.Put(family, k, rocksdb::Slice(value->data(), value->size())) : batch.Delete(family, k);
        if (!s.ok()) return {"rocksdb batch: " + s.ToString()};
    }
    assert(batch.GetDataSize() <= reserved_bytes);
    const rocksdb::Status s = impl_->db->Write(impl_->write_options, &batch);
    if (!s.ok()) return {"rocksdb write: " + s.ToString()};
    return Status::success();
}

}  // namespace clearnode
