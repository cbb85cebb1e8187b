#include "node/run.hpp"

#include "ledger/codec.hpp"
#include "node/blocklog.hpp"
#include "node/files.hpp"
#include "node/inbox.hpp"
#include "node/open.hpp"
#include "node/output.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <ostream>
#include <set>
#include <thread>

namespace clearnode::cli {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

volatile std::sig_atomic_t stop_requested = 0;
extern "C" void on_stop_signal(int) { stop_requested = 1; }

void install_stop_handlers() {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

// The node's clock: the only one in clearnode. Block time = max(now, previous block time).
int64_t wall_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int64_t micros_between(SteadyClock::time_point a, SteadyClock::time_point b) {
    return std::chrono::duration_cast<std::chrono::microseconds>(b - a).count();
}

// Milliseconds with three decimals, from microseconds: integer formatting, no floating point.
std::string millis_text(int64_t micros) {
    std::string fraction = std::to_string(micros % 1000);
    return std::to_string(micros / 1000) + "." + std::string(3 - fraction.size(), '0') + fraction;
}

// Transactions hashed per pool task at admission: a hash is about half a microsecond.
constexpr size_t txs_per_hash_task = 256;

struct OpenFile {
    std::vector<Tx> txs;
    size_t next = 0;  // the first transaction not yet taken into a block
};

struct AdmissionRejection {
    Hash32 tx_hash{};
    std::string status;
    std::string file;
};

// What the next block will hold, and what committing it settles.
struct PendingBlock {
    std::vector<Tx> txs;
    std::vector<SignatureCheck> checks;
    std::vector<Hash32> tx_hashes;  // one per transaction: hashed at admission, not again in the engine
    std::vector<AdmissionRejection> rejections;
    std::map<std::string, uint64_t> progress;  // inbox file -> transactions with a receipt
    std::set<Hash32> hashes;
    std::set<AccountId> credited;  // accounts that this block's deposits and transfers credit
    bool empty() const { return txs.empty() && rejections.empty(); }
};

class Node {
public:
    Node(const RunOptions& options, WritableNode& node, std::ostream& out, std::ostream& err)
        : options_(options), store_(*node.store), engine_(*node.engine), out_(out), err_(err),
          verify_pool_(options.verify_threads - 1) {
        // A block's hashes, encoding and state root on as many threads as verification (the
        // engine's own helpers: admission and a block's commit never run at once; no result
        // depends on the count).
        engine_.set_threads(options_.verify_threads);
    }

    int run();

private:
    std::string restore_receipt_files();
    void forget_vanished_files();
    void refresh_inbox();
    void admit();
    std::string admission_status(const Tx& tx, const SignatureCheck& check, const Hash32& hash) const;
    bool known_or_credited(const AccountId& id) const;
    std::string commit_block();
    // The JSON lines of the block's admission rejections, after its receipts in the log and the file.
    std::string admission_lines(uint64_t height) const;
    void print_status(const BlockResult& result, int64_t apply_us, int64_t commit_us);

    const RunOptions& options_;
    RocksStore& store_;
    Engine& engine_;
    std::ostream& out_;
    std::ostream& err_;
    // Admission's signature checks: its workers and the node's thread, verify_threads in all.
    WorkerPool verify_pool_;
    std::map<std::string, OpenFile> files_;  // by name: submission order
    PendingBlock pending_;
    // Files removed from the inbox since the last commit: their "~inbox/" entries go with the
    // next block (after the removal is durable, so a crash cannot re-admit them).
    std::vector<std::string> removed_;
};

// Receipts files are written after the commit that holds them; a crash in between leaves
// the newest missing, and the store has their text.
std::string Node::restore_receipt_files() {
    // A crash while writing one leaves its temporary (a dot name, see write_file_atomically).
    std::error_code ec;
    for (fs::directory_iterator it(receipts_dir(options_.home), ec), end; !ec && it != end; it.increment(ec))
        if (it->path().filename().string().rfind(".tmp-", 0) == 0) fs::remove(it->path(), ec);
    for (uint64_t h = engine_.height(); h > base_height(store_); --h) {
        if (fs::exists(receipts_path(options_.home, h), ec)) break;
        const auto value = store_.get(logkeys::receipts(h));
        if (!value) return "the block log has no receipts for height " + std::to_string(h);
        if (auto error = write_file_atomically(receipts_path(options_.home, h), logged_receipt_text(*value, h)); !error.empty())
            return error;
    }
    return {};
}

// A crash between removing a finished file and the next commit leaves its "~inbox/" entry
// behind: drop the entries of files that are no longer in the inbox with the next block.
void Node::forget_vanished_files() {
    const auto names = list_inbox(options_.home);
    const std::set<std::string> present(names.begin(), names.end());
    store_.scan(logkeys::inbox_prefix, [&](std::string_view key, std::string_view) {
        std::string name(key.substr(logkeys::inbox_prefix.size()));
        if (!present.count(name)) removed_.push_back(std::move(name));
        return true;
    });
}

void Node::refresh_inbox() {
    for (const auto& name : list_inbox(options_.home)) {
        if (files_.count(name)) continue;
        InboxFile file = read_inbox_file(options_.home, name);
        if (!file.error.empty()) {
            const std::string reason = name + ": " + file.error;
            err_ << "error: inbox/" << reason << " (moved to rejected/)\n";
            if (auto error = reject_inbox_file(options_.home, name, reason); !error.empty()) err_ << "error: " << error << "\n";
            continue;
        }
        const uint64_t done = inbox_progress(store_, name).value_or(0);
        if (done >= file.txs.size()) {  // committed before a crash, not yet removed
            if (auto error = remove_inbox_file(options_.home, name); !error.empty()) err_ << "error: " << error << "\n";
            else removed_.push_back(name);
            continue;
        }
        files_[name] = OpenFile{std::move(file.txs), static_cast<size_t>(done)};
    }
}

bool Node::known_or_credited(const AccountId& id) const {
    return pending_.credited.count(id) != 0 || engine_.state().get(keys::account(id)).has_value();
}

// Admission checks against the committed state and change nothing. An account that this
// block credits earlier counts as known, so that a file may fund an account and use it.
// A committed transaction sent again is refused: as `duplicate` when it spent no nonce (the
// transaction index), otherwise by the nonce check as `nonce_used`.
std::string Node::admission_status(const Tx& tx, const SignatureCheck& check, const Hash32& hash) const {
    if (pending_.hashes.count(hash) || find_tx(store_, hash)) return "duplicate";
    Reason reason = engine_.precheck(engine_.records(), tx, check);
    if (reason == Reason::unknown_account && known_or_credited(tx.signer)) {
        const auto* open = std::get_if<Open>(&tx.body);
        if (!open || known_or_credited(open->maker.account)) reason = Reason::ok;
    }
    return reason_name(reason);
}

void Node::admit() {
    // Each pass takes what fits in the block from the files in submission order and verifies
    // its signatures as one batch on the verify threads; refusals leave room for another pass,
    // and every pass takes at least one transaction.
    while (pending_.txs.size() < options_.block_txs) {
        const size_t room = options_.block_txs - pending_.txs.size();
        std::vector<Tx> batch;
        std::vector<const std::string*> origin;
        for (auto& [name, file] : files_) {
            if (file.next == file.txs.size()) continue;
            while (file.next < file.txs.size() && batch.size() < room) {
                batch.push_back(file.txs[file.next++]);
                origin.push_back(&name);
            }
            pending_.progress[name] = file.next;
            if (file.next == file.txs.size())
                err_ << "clearnode run: inbox/" << name << ": taken, " << file.txs.size() << " transactions" << std::endl;
            if (batch.size() == room) break;
        }
        if (batch.empty()) return;
        auto pending_hashes = verify_pool_.map<Hash32>(batch.size(), txs_per_hash_task, [&batch](size_t i) { return tx_hash(batch[i]); });
        const auto checks = engine_.check_signatures(batch, verify_pool_);
        const std::vector<Hash32> hashes = pending_hashes.get();
        for (size_t i = 0; i < batch.size(); ++i) {
            const Hash32& hash = hashes[i];
            std::string status = admission_status(batch[i], checks[i], hash);
            if (status != "ok") {
                pending_.rejections.push_back({hash, std::move(status), *origin[i]});
                continue;
            }
            if (const auto* d = std::get_if<Deposit>(&batch[i].body)) pending_.credited.insert(d->account);
            if (const auto* t = std::get_if<Transfer>(&batch[i].body)) pending_.credited.insert(t->to);
            pending_.hashes.insert(hash);
            pending_.checks.push_back(checks[i]);
            pending_.tx_hashes.push_back(hash);
            pending_.txs.push_back(std::move(batch[i]));
        }
    }
}

std::string Node::admission_lines(uint64_t height) const {
    std::string text;
    for (const auto& r : pending_.rejections) {
        text += Json{{"height", height},      {"tx_hash", to_hex(r.tx_hash)}, {"status", r.status},
                     {"events", Json::array()}, {"admission", true},         {"file", r.file}}
                    .dump() +
                "\n";
    }
    return text;
}

std::string Node::commit_block() {
    Block block;
    block.header.height = engine_.height() + 1;
    block.header.time_ms = std::max(wall_clock_ms(), engine_.time_ms());
    block.txs = std::move(pending_.txs);
    const std::string admission = admission_lines(block.header.height);
    const auto start = SteadyClock::now();
    auto applied = start;
    const auto bookkeeping = [&](const BlockResult& result) {
        applied = SteadyClock::now();
        WriteSet writes = block_log_writes(block, result, admission);
        for (const auto& name : removed_) writes[logkeys::inbox(name)] = std::nullopt;
        for (const auto& [name, done] : pending_.progress) writes[logkeys::inbox(name)] = encode_u64(done);
        return writes;
    };
    std::string error;
    const auto result = engine_.apply_block_checked(block, pending_.checks, error, bookkeeping, pending_.tx_hashes);
    if (!result) return "block " + std::to_string(block.header.height) + ": " + error;
    const auto committed = SteadyClock::now();

    // Committed: what follows is derived from the store and redone after a crash.
    removed_.clear();
    if (auto e = write_file_atomically(receipts_path(options_.home, block.header.height), receipt_lines(*result) + admission); !e.empty())
        return e;
    for (const auto& [name, done] : pending_.progress) {
        auto it = files_.find(name);
        assert(it != files_.end());
        if (done < it->second.txs.size()) continue;
        if (auto e = remove_inbox_file(options_.home, name); !e.empty()) return e;
        files_.erase(it);
        removed_.push_back(name);
    }
    print_status(*result, micros_between(start, applied), micros_between(applied, committed));
    pending_ = PendingBlock{};
    return {};
}

void Node::print_status(const BlockResult& result, int64_t apply_us, int64_t commit_us) {
    const size_t refused = pending_.rejections.size();
    if (options_.json_log) {
        Json line = block_line(result);
        line["admission_rejected"] = refused;
        line["time_ms"] = result.header.time_ms;
        line["apply_ms"] = Json::parse(millis_text(apply_us));
        line["commit_ms"] = Json::parse(millis_text(commit_us));
        out_ << line.dump() << std::endl;
        return;
    }
    out_ << "block " << result.header.height << ": " << result.receipts.size() << " txs, " << result.ok_count() << " ok, "
         << result.rejected_count() << " rejected, " << refused << " refused at admission; root "
         << to_hex(result.state_root) << "; apply " << millis_text(apply_us) << " ms, commit " << millis_text(commit_us)
         << " ms" << std::endl;
}

int Node::run() {
    forget_vanished_files();
    if (auto error = restore_receipt_files(); !error.empty()) {
        err_ << "error: " << error << "\n";
        return exit_internal;
    }
    install_stop_handlers();
    err_ << "clearnode run: " << options_.home << " at height " << engine_.height() << ", root "
         << to_hex(engine_.state_root()) << "; watching " << inbox_dir(options_.home) << std::endl;
    const auto block_interval = std::chrono::milliseconds(options_.block_ms);
    const auto poll = std::chrono::milliseconds(std::clamp<int64_t>(options_.block_ms / 4, 1, 20));
    auto last_block = SteadyClock::now();
    while (true) {
        const bool stopping = stop_requested != 0;
        if (!stopping) {
            refresh_inbox();
            admit();
        }
        const bool due = stopping || pending_.txs.size() >= options_.block_txs || SteadyClock::now() - last_block >= block_interval;
        if (due && !pending_.empty()) {
            if (auto error = commit_block(); !error.empty()) {
                err_ << "error: " << error << " (stopping; every committed block is kept)\n";
                return exit_internal;
            }
            last_block = SteadyClock::now();
            continue;
        }
        if (stopping) break;
        std::this_thread::sleep_for(poll);
    }
    err_ << "clearnode run: stopped at height " << engine_.height() << ", root " << to_hex(engine_.state_root()) << std::endl;
    return exit_ok;
}

}  // namespace

int cmd_run(const RunOptions& options, std::ostream& out, std::ostream& err) {
    std::string error;
    auto node = open_for_writing(options.home, options.start, error);
    if (!node) {
        err << "error: " << error << "\n";
        return exit_internal;
    }
    if (auto e = create_home_dirs(options.home); !e.empty()) {
        err << "error: " << e << "\n";
        return exit_internal;
    }
    Node runner(options, *node, out, err);
    return runner.run();
}

}  // namespace clearnode::cli
