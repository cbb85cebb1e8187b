#include "state/store.hpp"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

namespace clearnode {

struct RocksStore::Impl {
    std::unique_ptr<rocksdb::DB> db;
    rocksdb::WriteOptions write_options;
    rocksdb::ReadOptions read_options;
};

RocksStore::RocksStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RocksStore::~RocksStore() = default;

std::unique_ptr<RocksStore> RocksStore::open(const std::string& path, const RocksOptions& options, std::string& error) {
    rocksdb::Options db_options;
    db_options.create_if_missing = options.create_if_missing;
    db_options.paranoid_checks = true;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = rocksdb::NewLRUCache(options.block_cache_mb << 20);
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    db_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

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

Status RocksStore::commit(const WriteSet& writes) {
    rocksdb::WriteBatch batch;
    for (const auto& [key, value] : writes) {
        const rocksdb::Slice k(key.data(), key.size());
        const rocksdb::Status s = value ? batch.Put(k, rocksdb::Slice(value->data(), value->size())) : batch.Delete(k);
        if (!s.ok()) return {"rocksdb batch: " + s.ToString()};
    }
    const rocksdb::Status s = impl_->db->Write(impl_->write_options, &batch);
    if (!s.ok()) return {"rocksdb write: " + s.ToString()};
    return Status::success();
}

}  // namespace clearnode
