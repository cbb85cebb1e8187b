#include "node/bench.hpp"

#include "clearing/engine.hpp"
#include "ledger/codec.hpp"
#include "ledger/json.hpp"
#include "node/bench_limits.hpp"
#include "node/bench_workload.hpp"
#include "node/blocklog.hpp"
#include "node/files.hpp"
#include "node/output.hpp"
#include "node/pipeline.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace clearnode::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using bench::EncodedBlock;
using bench::Progress;
using bench::Workload;

constexpr double limit_seconds = 1.0;  // how long each machine limit is measured
constexpr int64_t block_interval_ms = 1000;

double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Forwards to the node's store and counts what its commits write.
class CountingStore final : public Store {
public:
    explicit CountingStore(Store& inner) : inner_(inner) {}
    std::optional<std::string> get(std::string_view key) const override { return inner_.get(key); }
    void scan(std::string_view prefix, const ScanVisitor& visit) const override { inner_.scan(prefix, visit); }
    Status commit(const WriteSet& writes) override {
        entries += writes.size();
        for (const auto& [key, value] : writes) {
            key_bytes += key.size();
            value_bytes += value ? value->size() : 0;
        }
        return inner_.commit(writes);
    }
    size_t entries = 0;
    size_t key_bytes = 0;
    size_t value_bytes = 0;

private:
    Store& inner_;
};

// What one timed phase measured.
struct Phase {
    size_t txs = 0;
    std::map<std::string, size_t> rejected;  // by reason; the workload means to have none
    size_t entries = 0;  // entries written to the store
    size_t key_bytes = 0;
    size_t value_bytes = 0;
    double wall_s = 0;  // everything timed, per block from decode to commit
    double cpu_s = 0;   // the process's CPU time over the same spans, every thread's
    double verify_cpu_s = 0;  // of it, the verification pool's tasks' (signed run only)
    double decode_s = 0;
    double verify_s = 0;
    double execute_s = 0;
    double encode_s = 0;
    double root_s = 0;
    double commit_s = 0;
    std::vector<double> commit_ms;
    std::vector<double> block_ms;
    double tps() const { return wall_s > 0 ? static_cast<double>(txs) / wall_s : 0; }
};

// Adds the engine's stage durations of each block to the current phase.
class StageTimer {
public:
    void start(Phase& phase) {
        phase_ = &phase;
        last_ = Clock::now();
    }
    void stage_done(BlockStage stage) {
        if (phase_ == nullptr) return;
        const auto now = Clock::now();
        const double s = seconds_between(last_, now);
        last_ = now;
        switch (stage) {
            case BlockStage::executed: phase_->execute_s += s; break;
            case BlockStage::encoded: phase_->encode_s += s; break;
            case BlockStage::root_updated: phase_->root_s += s; break;
            case BlockStage::committed:
                phase_->commit_s += s;
                phase_->commit_ms.push_back(s * 1e3);
                break;
        }
    }
    void stop() { phase_ = nullptr; }

private:
    Phase* phase_ = nullptr;
    Clock::time_point last_;
};

struct Node {
    std::unique_ptr<RocksStore> rocks;
    std::unique_ptr<CountingStore> store;
    std::unique_ptr<Engine> engine;
    StageTimer timer;
    bool block_log = true;  // in the signed run (BenchOptions::block_log)
};

Block next_block(const Engine& engine) {
    Block block;
    block.header.height = engine.height() + 1;
    block.header.time_ms = engine.time_ms() + block_interval_ms;
    return block;
}

// Applies one block with its checks, and with `block_log` the node's block log in the same
// write (as `apply --home` writes it); counts rejections and the block's time from `start`.
bool apply_timed(Node& node, const Block& block, std::span<const SignatureCheck> checks, Clock::time_point start,
                 Phase& phase, std::string& error, bool block_log) {
    const size_t entries_before = node.store->entries;
    const size_t key_bytes_before = node.store->key_bytes;
    const size_t value_bytes_before = node.store->value_bytes;
    const auto log_writes = [&block](const BlockResult& result) { return block_log_writes(block, result); };
    node.timer.start(phase);
    const auto result = node.engine->apply_block_checked(block, checks, error, block_log ? BookkeepingWrites(log_writes) : BookkeepingWrites());
    node.timer.stop();
    const auto end = Clock::now();
    if (!result) return false;
    phase.block_ms.push_back(seconds_between(start, end) * 1e3);
    phase.txs += block.txs.size();
    for (const auto& receipt : result->receipts)
        if (receipt.status != Reason::ok) ++phase.rejected[reason_name(receipt.status)];
    phase.entries += node.store->entries - entries_before;
    phase.key_bytes += node.store->key_bytes - key_bytes_before;
    phase.value_bytes += node.store->value_bytes - value_bytes_before;
    return true;
}

bool decode_into(Block& block, const EncodedBlock& encoded, std::string& error) {
    block.txs.reserve(encoded.size());
    for (size_t i = 0; i < encoded.size(); ++i) {
        auto tx = decode_tx(encoded.tx(i));
        if (!tx) {
            error = "generated transaction " + std::to_string(i) + " does not decode";
            return false;
        }
        block.txs.push_back(std::move(*tx));
    }
    return true;
}

// Decode, parallel verification, apply, state root and commit, as a node applies blocks it
// knows ahead (node/pipeline.hpp): blocks are decoded and verified ahead while the previous
// one is applied. The wall time runs from the first decode to the last commit. verify_s is
// the verification the pipeline did not hide: the apply thread's time between two blocks
// that is not decoding (waiting for, and helping with, the next block's checks).
bool run_signed(Node& node, const std::vector<EncodedBlock>& blocks, WorkerPool& pool, Phase& phase, Progress& progress,
                std::string& error) {
    const uint64_t first_height = node.engine->height() + 1;
    const int64_t first_time_ms = node.engine->time_ms() + block_interval_ms;
    size_t decoded = 0;
    double decode_between_s = 0;  // decoding since the last block was applied
    const auto start = Clock::now();
    const double cpu_start_s = bench::process_cpu_s();
    const uint64_t verify_cpu_start_ns = pool.task_cpu_ns();
    auto applied = start;
    const auto next = [&]() -> std::optional<Block> {
        if (decoded == blocks.size() || !error.empty()) return std::nullopt;
        const auto decode_start = Clock::now();
        Block block;
        block.header.height = first_height + decoded;
        block.header.time_ms = first_time_ms + static_cast<int64_t>(decoded) * block_interval_ms;
        if (!decode_into(block, blocks[decoded], error)) return std::nullopt;
        ++decoded;
        const double s = seconds_between(decode_start, Clock::now());
        phase.decode_s += s;
        decode_between_s += s;
        return block;
    };
    const auto apply = [&](const Block& block, std::span<const SignatureCheck> checks) {
        const auto apply_start = Clock::now();
        phase.verify_s += std::max(0.0, seconds_between(applied, apply_start) - decode_between_s);
        decode_between_s = 0;
        if (!apply_timed(node, block, checks, apply_start, phase, error, node.block_log)) return false;
        applied = Clock::now();
        progress.show("signed run", phase.block_ms.size(), blocks.size());
        return true;
    };
    const bool ok = cli::apply_verified_ahead(*node.engine, pool, next, apply) && error.empty();
    phase.wall_s = seconds_between(start, Clock::now());
    phase.cpu_s = bench::process_cpu_s() - cpu_start_s;
    phase.verify_cpu_s = static_cast<double>(pool.task_cpu_ns() - verify_cpu_start_ns) * 1e-9;
    progress.clear();
    return ok;
}

// Apply, state root and commit with the signature checks given (as when replaying one's own
// verified block log); decoding is not timed.
bool run_preverified(Node& node, const std::vector<EncodedBlock>& blocks, Phase& phase, Progress& progress,
                     std::string& error) {
    for (size_t b = 0; b < blocks.size(); ++b) {
        Block block = next_block(*node.engine);
        if (!decode_into(block, blocks[b], error)) return false;
        const std::vector<SignatureCheck> checks(block.txs.size(), SignatureCheck{true, true});
        const auto start = Clock::now();
        const double cpu_start_s = bench::process_cpu_s();
        if (!apply_timed(node, block, checks, start, phase, error, false)) return false;
        phase.wall_s += seconds_between(start, Clock::now());
        phase.cpu_s += bench::process_cpu_s() - cpu_start_s;
        progress.show("pre-verified run", b + 1, blocks.size());
    }
    progress.clear();
    return true;
}

// Bridge deposits that give every account its collateral: setup, applied as pre-verified.
bool fund_accounts(Node& node, Workload& workload, size_t block_txs, Progress& progress, std::string& error) {
    for (size_t first = 0; first < workload.accounts(); first += block_txs) {
        Block block = next_block(*node.engine);
        block.txs = workload.funding(first, std::min(block_txs, workload.accounts() - first));
        const std::vector<SignatureCheck> checks(block.txs.size(), SignatureCheck{true, true});
        const auto result = node.engine->apply_block_checked(block, checks, error);
        if (!result) return false;
        if (result->rejected_count() != 0) {
            error = "setup: a funding deposit was rejected";
            return false;
        }
        progress.show("funding accounts", first + block.txs.size(), workload.accounts());
    }
    progress.clear();
    return true;
}

double percentile(std::vector<double> values, double q) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
    return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

double ratio(double a, double b) { return b > 0 ? a / b : 0; }

std::string proc_field(const char* path, std::string_view name) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(name, 0) == 0) return line.substr(name.size());
    return {};
}

double peak_rss_mb() {
    const std::string kb = proc_field("/proc/self/status", "VmHWM:");
    return kb.empty() ? 0 : std::stod(kb) / 1024.0;
}

double load_1m() {
    std::ifstream in("/proc/loadavg");
    double load = 0;
    in >> load;
    return load;
}

uintmax_t directory_bytes(const fs::path& dir) {
    uintmax_t total = 0;
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(dir, ec))
        if (entry.is_regular_file(ec)) total += entry.file_size(ec);
    return total;
}

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

std::string validate(const BenchOptions& o) {
    if (o.accounts < 2) return "--accounts must be at least 2";
    if (o.txs < 1) return "--txs must be at least 1";
    if (o.block_txs < 1 || o.block_txs > block_txs_max) return "--block-txs must be in 1.." + std::to_string(block_txs_max);
    if (o.threads < 1) return "--threads must be at least 1";
    if (o.skew != "zipf" && o.skew != "uniform") return "--skew must be zipf or uniform";
    if (o.cache_mb < 1) return "--cache-mb must be at least 1";
    return {};
}

// Waits, untimed, for RocksDB's flushes and compactions to finish, so that a timed run does
// not pay for the one before it (a flush sorts and writes a whole memtable): the time waited,
// in ms, goes into the JSON. Bounded: after `wait_ms_max` the next run starts anyway.
double settle_ms(const RocksStore& rocks) {
    constexpr int64_t wait_ms_max = 120'000;
    constexpr auto poll = std::chrono::milliseconds(10);
    const auto start = Clock::now();
    while (rocks.background_work_pending() && Clock::now() - start < std::chrono::milliseconds(wait_ms_max))
        std::this_thread::sleep_for(poll);
    return seconds_between(start, Clock::now()) * 1e3;
}

std::string fixed(double v, int decimals) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(decimals) << v;
    return s.str();
}

void print_table(const Json& r, std::ostream& out) {
    auto row = [&](std::string_view what, const std::string& value, std::string_view note = {}) {
        out << "  " << std::left << std::setw(44) << what << std::right << std::setw(14) << value;
        if (!note.empty()) out << "  " << note;
        out << "\n";
    };
    auto num = [&](const char* key, int decimals = 0) { return fixed(r[key].get<double>(), decimals); };
    out << "clearnode bench  " << r["date"].get<std::string>() << "  accounts " << r["accounts"] << "  txs " << r["txs"]
        << "  block " << r["block_txs"] << "  threads " << r["threads"] << "  mix " << r["mix"].get<std::string>()
        << "  skew " << r["skew"].get<std::string>() << "  load " << num("load_1m_start", 2) << " -> "
        << num("load_1m_end", 2) << "  malloc " << r["allocator"].get<std::string>() << "  memtable "
        << r["memtable"].get<std::string>() << "\n";
    out << "machine limits\n";
    row("ed25519 verifications/s (" + std::to_string(r["threads"].get<unsigned>()) + " threads)", num("verify_per_s"),
        "= " + num("verify_limit_tps") + " tx/s at " + num("signatures_per_tx", 2) + " sig/tx; mean of " +
            num("verify_per_s_before") + " before and " + num("verify_per_s_after") + " after the signed run");
    row("rocksdb puts/s (synced batch per block)", num("rocksdb_put_limit_per_s"),
        num("entries_per_block") + " entries of " + num("key_bytes", 0) + "+" + num("value_bytes", 0) + " B");
    row("blake2b-256 hashes/s (128 B, 1 thread)", num("blake2b_per_s"));
    row("state-root leaves/s (1 thread)", num("leaf_per_s"));
    out << "node\n";
    row(r["block_log"].get<bool>() ? "signed tx/s (decode+verify+apply+root+commit+log)" : "signed tx/s (decode+verify+apply+root+commit)",
        num("signed_tps"), num("signed_ratio", 3) + " of the verify limit; " + num("signed_entries_per_tx", 2) + " entries/tx");
    row("signed cpu us/tx, of which not verifying", num("signed_cpu_us_per_tx", 1) + " / " + num("signed_other_cpu_us_per_tx", 1),
        "= " + num("signed_cpu_verifications_per_tx", 3) + " verifications' cpu; cores busy " + num("signed_cpu_busy", 2) +
            "; verifying " + num("verify_cpu_us", 1) + " us/signature");
    row("signed cpu in verification tasks, us/signature", num("signed_verify_cpu_us", 1),
        num("signed_verify_cpu_share", 3) + " of the run's cpu; " + num("signed_beside_verify_cpu_us_per_tx", 1) +
            " us/tx beside them");
    row("pre-verified tx/s (apply+root+commit)", num("preverified_tps"),
        num("preverified_ratio", 3) + " of the rocksdb floor (" + num("rocksdb_floor_tps") + " tx/s at " +
            num("entries_per_tx", 2) + " entries/tx)");
    row("pre-verified cpu us/tx (every thread)", num("preverified_cpu_us_per_tx", 1),
        "= " + num("preverified_cpu_verifications_per_tx", 3) + " verifications' cpu");
    row("apply only tx/s", num("apply_only_tps"));
    row("encode changed records us/tx", num("encode_us_per_tx", 2));
    row("state-root update us/tx", num("root_update_us_per_tx", 2), num("root_share", 3) + " of block time");
    row("block commit ms p50 / p99 / max", num("commit_ms_p50", 1) + " / " + num("commit_ms_p99", 1) + " / " + num("commit_ms_max", 1),
        "p99 " + num("preverified_commit_ms_p99", 1) + " in the pre-verified run alone");
    row("pre-verified block ms p50 / p99 / max", num("block_ms_p50", 1) + " / " + num("block_ms_p99", 1) + " / " + num("block_ms_max", 1));
    row("node start on this database ms", num("open_ms", 1));
    row("node start with --verify-state ms", num("verify_state_ms", 1));
    row("peak rss MB", num("peak_rss_mb"), "of which the generated workload about " + num("workload_mb") + " MB");
    row("record cache MB used / bound", num("record_cache_used_mb") + " / " + num("record_cache_mb"),
        num("record_cache_entries") + " records");
    row("disk bytes/account", num("disk_bytes_per_account"));
    row("rocksdb background work waited for ms", num("settle_ms_before_signed") + " / " + num("settle_ms_after_signed") + " / " +
                                                      num("settle_ms_after_preverified"),
        "untimed: before the signed run, after it, after the pre-verified run");
    if (!r["rejected"].empty()) out << "  warning: transactions were rejected: " << r["rejected"].dump() << "\n";
}

}  // namespace

int cmd_bench(const BenchOptions& options, std::ostream& out, std::ostream& err) {
    if (auto problem = validate(options); !problem.empty()) {
        err << "error: " << problem << "\n";
        return exit_bad_input;
    }
    std::string error;
    bench::WorkloadOptions wo;
    wo.accounts = options.accounts;
    wo.block_txs = options.block_txs;
    wo.mix = bench::parse_mix(options.mix, error);
    wo.skew = options.skew == "zipf" ? bench::Skew::zipf : bench::Skew::uniform;
    wo.threads = options.threads;
    if (wo.mix.empty()) {
        err << "error: " << error << "\n";
        return exit_bad_input;
    }
    std::error_code ec;
    const fs::path parent = options.dir.empty() ? fs::temp_directory_path(ec) : fs::path(options.dir);
    fs::create_directories(parent, ec);
    std::string dir_template = (parent / "clearnode-bench-XXXXXX").string();
    if (ec || mkdtemp(dir_template.data()) == nullptr) {
        err << "error: " << parent.string() << ": cannot create a work directory\n";
        return exit_internal;
    }
    const fs::path work = dir_template;
    struct RemoveOnExit {
        fs::path path;
        ~RemoveOnExit() {
            std::error_code ignored;
            fs::remove_all(path, ignored);
        }
    } cleanup{work};

    Json r;
    r["date"] = utc_now();
    r["accounts"] = options.accounts;
    r["txs"] = options.txs;
    r["block_txs"] = options.block_txs;
    r["threads"] = options.threads;
    r["mix"] = options.mix;
    r["skew"] = options.skew;
    r["cache_mb"] = options.cache_mb;
    r["record_cache_mb"] = options.record_cache_mb;
    r["block_log"] = options.block_log;
    r["allocator"] = bench::allocator_name();
    r["load_1m_start"] = load_1m();

    // Generation, untimed.
    Progress progress;
    Workload workload(wo, progress);
    const auto signed_blocks = workload.blocks(options.txs, true, progress);
    const auto preverified_blocks = workload.blocks(options.txs, false, progress);
    size_t workload_bytes = workload.accounts() * sizeof(KeyPair);
    for (const auto* set : {&signed_blocks, &preverified_blocks})
        for (const auto& b : *set) workload_bytes += b.bytes.size() + b.ends.size() * sizeof(uint32_t);

    // (1) Limits of the processor, measured alone.
    std::vector<KeyPair> sample_keys;
    for (size_t i = 0; i < std::min<size_t>(workload.accounts(), 256); ++i)
        sample_keys.push_back(keypair_from_seed(blake2b_256(as_bytes("clearnode/bench/verify/" + std::to_string(i)))));
    const bench::VerifyRate verify_before = bench::verify_rate(sample_keys, options.threads, limit_seconds);
    r["verify_per_s_before"] = verify_before.per_s;
    r["signatures_per_tx"] = workload.signatures_per_tx();
    r["blake2b_per_s"] = bench::blake2b_per_s(128, limit_seconds);

    // The node: RocksDB with the node's options, genesis, every account funded (untimed).
    Node node;
    node.block_log = options.block_log;
    RocksOptions rocks_options;
    rocks_options.create_if_missing = true;
    rocks_options.block_cache_mb = options.cache_mb;
    rocks_options.record_cache_mb = options.record_cache_mb;
    rocks_options.family_prefixes = logkeys::family_prefixes();
    node.rocks = RocksStore::open((work / "state").string(), rocks_options, error);
    if (!node.rocks) {
        err << "error: " << error << "\n";
        return exit_internal;
    }
    node.store = std::make_unique<CountingStore>(*node.rocks);
    r["memtable"] = node.rocks->memtable_kind();
    node.engine = Engine::genesis(*node.store, workload.genesis(), error);
    if (node.engine) node.engine->set_record_cache_bytes(options.record_cache_mb << 20);
    if (!node.engine || !fund_accounts(node, workload, options.block_txs, progress, error)) {
        err << "error: " << error << "\n";
        return exit_internal;
    }
    node.engine->set_threads(options.threads);
    node.engine->set_stage_listener([&node](BlockStage stage) { node.timer.stage_done(stage); });

    // (2) Signed and (3) pre-verified throughput, with (4) the stages of the latter.
    Phase signed_phase, preverified_phase;
    WorkerPool verify_pool(cli::verify_workers(options.threads));
    r["settle_ms_before_signed"] = settle_ms(*node.rocks);
    if (!run_signed(node, signed_blocks, verify_pool, signed_phase, progress, error)) {
        err << "error: " << error << "\n";
        return exit_internal;
    }
    // The limit again, right after the signed run (and RocksDB's work it left): on a shared
    // host it drifts by a quarter over minutes, and the ratio must divide by the limit the
    // signed run had.
    r["settle_ms_after_signed"] = settle_ms(*node.rocks);
    const bench::VerifyRate verify_after = bench::verify_rate(sample_keys, options.threads, limit_seconds);
    r["verify_per_s_after"] = verify_after.per_s;
    r["verify_per_s"] = (verify_before.per_s + verify_after.per_s) / 2;
    r["verify_limit_tps"] = r["verify_per_s"].get<double>() / workload.signatures_per_tx();
    r["verify_cpu_us"] = (verify_before.cpu_us_per_verify + verify_after.cpu_us_per_verify) / 2;
    if (!run_preverified(node, preverified_blocks, preverified_phase, progress, error)) {
        err << "error: " << error << "\n";
        return exit_internal;
    }
    const Phase& pv = preverified_phase;
    r["settle_ms_after_preverified"] = settle_ms(*node.rocks);  // before the limits below
    // What the record cache held when the runs ended (its bound is --record-cache-mb).
    r["record_cache_entries"] = node.engine->records().entries();
    r["record_cache_used_mb"] = static_cast<double>(node.engine->records().bytes()) / (1024.0 * 1024.0);
    const double entries_per_block = ratio(static_cast<double>(pv.entries), static_cast<double>(pv.block_ms.size()));
    r["signed_tps"] = signed_phase.tps();
    r["signed_ratio"] = ratio(signed_phase.tps(), r["verify_limit_tps"].get<double>());
    r["signed_verify_share"] = ratio(signed_phase.verify_s, signed_phase.wall_s);
    r["signed_decode_share"] = ratio(signed_phase.decode_s, signed_phase.wall_s);  // on the applying thread
    // CPU per transaction, and what of it is not verification: the figure that decides the
    // signed ratio (the ratio is verification's share of the CPU when every core is busy),
    // and one that moves less than tx/s with a shared host's load.
    r["signed_cpu_us_per_tx"] = ratio(signed_phase.cpu_s * 1e6, static_cast<double>(signed_phase.txs));
    r["signed_other_cpu_us_per_tx"] =
        r["signed_cpu_us_per_tx"].get<double>() - workload.signatures_per_tx() * r["verify_cpu_us"].get<double>();
    r["signed_cpu_busy"] = ratio(signed_phase.cpu_s, signed_phase.wall_s * options.threads);
    // The same split measured inside the run rather than against the limit: the CPU of the
    // verification tasks themselves (digests and checks, on whichever thread ran them), so
    // that a host whose speed drifts between the limit and the run moves neither side alone.
    // signed_ratio is, to the accuracy of a limit measured in wall time, the product
    //   signed_cpu_busy * signed_verify_cpu_share * verify_cpu_us / signed_verify_cpu_us:
    // cores idle, CPU beside verification, and verification slower in the run than alone.
    const double signatures = workload.signatures_per_tx() * static_cast<double>(signed_phase.txs);
    r["signed_verify_cpu_share"] = ratio(signed_phase.verify_cpu_s, signed_phase.cpu_s);
    r["signed_verify_cpu_us"] = ratio(signed_phase.verify_cpu_s * 1e6, signatures);
    r["signed_beside_verify_cpu_us_per_tx"] =
        ratio((signed_phase.cpu_s - signed_phase.verify_cpu_s) * 1e6, static_cast<double>(signed_phase.txs));
    r["preverified_cpu_us_per_tx"] = ratio(pv.cpu_s * 1e6, static_cast<double>(pv.txs));
    // The same CPU in verifications (of this run's limit): a shared host's drift slows both,
    // so the quotient compares runs side by side more steadily than either (README, "bench").
    r["signed_cpu_verifications_per_tx"] = ratio(r["signed_cpu_us_per_tx"].get<double>(), r["verify_cpu_us"].get<double>());
    r["preverified_cpu_verifications_per_tx"] =
        ratio(r["preverified_cpu_us_per_tx"].get<double>(), r["verify_cpu_us"].get<double>());
    r["preverified_tps"] = pv.tps();
    r["entries_per_tx"] = ratio(static_cast<double>(pv.entries), static_cast<double>(pv.txs));
    // The signed run's, with the block log's entries when it writes them (a transaction's
    // index entry, and a block's, its receipts' and its meta entry).
    r["signed_entries_per_tx"] = ratio(static_cast<double>(signed_phase.entries), static_cast<double>(signed_phase.txs));
    r["entries_per_block"] = entries_per_block;
    r["key_bytes"] = ratio(static_cast<double>(pv.key_bytes), static_cast<double>(pv.entries));
    r["value_bytes"] = ratio(static_cast<double>(pv.value_bytes), static_cast<double>(pv.entries));
    r["leaf_per_s"] = bench::leaf_per_s(static_cast<size_t>(r["key_bytes"].get<double>()),
                                        static_cast<size_t>(r["value_bytes"].get<double>()), limit_seconds);

    // The RocksDB floor for the same writes: as many synced batches of as many entries.
    bench::PutShape shape;
    shape.batches = pv.block_ms.size();
    shape.entries_per_batch = std::max<size_t>(1, static_cast<size_t>(std::llround(entries_per_block)));
    shape.key_bytes = static_cast<size_t>(std::llround(r["key_bytes"].get<double>()));
    shape.value_bytes = static_cast<size_t>(std::llround(r["value_bytes"].get<double>()));
    shape.keyspace = std::max(2 * options.accounts, 2 * shape.entries_per_batch);
    r["rocksdb_put_limit_per_s"] = bench::rocksdb_puts_per_s((work / "limits").string(), shape, rocks_options, error);
    if (!error.empty()) {
        err << "error: rocksdb limit: " << error << "\n";
        return exit_internal;
    }
    r["rocksdb_floor_tps"] = ratio(r["rocksdb_put_limit_per_s"].get<double>(), r["entries_per_tx"].get<double>());
    r["preverified_ratio"] = ratio(pv.tps(), r["rocksdb_floor_tps"].get<double>());
    r["apply_only_tps"] = ratio(static_cast<double>(pv.txs), pv.execute_s);
    r["encode_us_per_tx"] = ratio(pv.encode_s * 1e6, static_cast<double>(pv.txs));
    r["root_update_us_per_tx"] = ratio(pv.root_s * 1e6, static_cast<double>(pv.txs));
    r["root_share"] = ratio(pv.root_s, pv.wall_s);

    // (5) Latency, memory, disk and start time.
    std::vector<double> commit_ms = signed_phase.commit_ms;
    commit_ms.insert(commit_ms.end(), pv.commit_ms.begin(), pv.commit_ms.end());
    r["commit_ms_p50"] = percentile(commit_ms, 0.50);
    r["commit_ms_p99"] = percentile(commit_ms, 0.99);
    r["commit_ms_max"] = percentile(commit_ms, 1.0);
    // The pre-verified run's commits alone: in the signed run, verification of the next blocks
    // shares the cores with each commit.
    r["preverified_commit_ms_p99"] = percentile(pv.commit_ms, 0.99);
    r["block_ms_p50"] = percentile(pv.block_ms, 0.50);
    r["block_ms_p99"] = percentile(pv.block_ms, 0.99);
    r["block_ms_max"] = percentile(pv.block_ms, 1.0);
    r["rejected"] = Json::object();
    for (const Phase* phase : {&signed_phase, &preverified_phase})
        for (const auto& [reason, count] : phase->rejected) r["rejected"][reason] = r["rejected"].value(reason, size_t{0}) + count;
    node.engine.reset();
    node.store.reset();
    node.rocks.reset();  // closes the database
    r["disk_bytes_per_account"] = ratio(static_cast<double>(directory_bytes(work / "state")), static_cast<double>(options.accounts));
    const auto open_start = Clock::now();
    rocks_options.create_if_missing = false;
    auto reopened = RocksStore::open((work / "state").string(), rocks_options, error);
    auto engine = reopened ? Engine::open(*reopened, false, error) : nullptr;
    r["open_ms"] = seconds_between(open_start, Clock::now()) * 1e3;
    if (!engine) {
        err << "error: reopening the database: " << error << "\n";
        return exit_internal;
    }
    // What `--verify-state` costs a start: the root recomputed from every entry, O(state).
    const auto verify_start = Clock::now();
    auto verified = Engine::open(*reopened, true, error);
    r["verify_state_ms"] = seconds_between(verify_start, Clock::now()) * 1e3;
    if (!verified) {
        err << "error: verifying the reopened database: " << error << "\n";
        return exit_internal;
    }
    verified.reset();
    engine.reset();
    reopened.reset();
    r["peak_rss_mb"] = peak_rss_mb();
    r["workload_mb"] = static_cast<double>(workload_bytes) / (1024.0 * 1024.0);
    r["load_1m_end"] = load_1m();

    if (options.json) out << r.dump() << "\n";
    else print_table(r, out);
    return exit_ok;
}

}  // namespace clearnode::cli
