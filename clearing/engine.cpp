#include "clearing/engine.hpp"

#include "clearing/adl.hpp"
#include "clearing/context.hpp"
#include "clearing/fills.hpp"
#include "clearing/funding.hpp"
#include "clearing/leverage.hpp"
#include "clearing/liquidation.hpp"
#include "clearing/transfers.hpp"
#include "ledger/codec.hpp"
#include "ledger/units.hpp"

#include <cassert>

namespace clearnode {

UnitsOrReason units_for_rule(std::string_view text, int scale) {
    const ParsedUnits parsed = parse_units(text, scale);
    switch (parsed.error) {
        case ParseError::none: return {parsed.value, Reason::ok};
        case ParseError::out_of_range: return {0, Reason::overflow};
        case ParseError::too_many_decimals:
        case ParseError::syntax: return {0, Reason::bad_amount};
    }
    return {0, Reason::bad_amount};
}

size_t BlockResult::ok_count() const {
    size_t n = 0;
    for (const auto& r : receipts) n += r.status == Reason::ok ? 1 : 0;
    return n;
}

namespace {

// RULES §6 "signer's authority": deposits come from the bridge, prices and funding from the
// oracle; every other transaction from an account that has received collateral.
Reason authority(const RecordReader& view, const ConfigRecord& config, const Tx& tx) {
    if (std::holds_alternative<Deposit>(tx.body)) return tx.signer == config.bridge ? Reason::ok : Reason::not_authorized;
    if (std::holds_alternative<PriceUpdate>(tx.body) || std::holds_alternative<FundingUpdate>(tx.body))
        return tx.signer == config.oracle ? Reason::ok : Reason::not_authorized;
    if (view.account(tx.signer) == nullptr) return Reason::unknown_account;
    if (const auto* open = std::get_if<Open>(&tx.body))
        if (view.account(open->maker.account) == nullptr) return Reason::unknown_account;
    return Reason::ok;
}

Reason nonce_check(const RecordReader& view, const ConfigRecord& config, const Tx& tx) {
    const NonceWindow& signer_window = load_window(view, config, tx.signer);
    if (!signer_window.accepts(tx.nonce)) return Reason::nonce_used;
    if (const auto* open = std::get_if<Open>(&tx.body)) {
        const NonceWindow& maker_window = load_window(view, config, open->maker.account);
        if (open->maker.account != tx.signer) return maker_window.accepts(open->maker.nonce) ? Reason::ok : Reason::nonce_used;
        // A taker who is also the maker spends two nonces of one window.
        NonceWindow after_taker = maker_window;
        after_taker.use(tx.nonce);
        if (!after_taker.accepts(open->maker.nonce)) return Reason::nonce_used;
    }
    return Reason::ok;
}

Reason dispatch(TxContext& ctx, const Tx& tx) {
    return std::visit(
        [&](const auto& body) -> Reason {
            using T = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<T, Deposit>) return apply_deposit(ctx, body);
            else if constexpr (std::is_same_v<T, Withdraw>) return apply_withdraw(ctx, body);
            else if constexpr (std::is_same_v<T, Transfer>) return apply_transfer(ctx, body);
            else if constexpr (std::is_same_v<T, SetLeverage>) return apply_set_leverage(ctx, body);
            else if constexpr (std::is_same_v<T, TransferMargin>) return apply_transfer_margin(ctx, body);
            else if constexpr (std::is_same_v<T, PriceUpdate>) return apply_price(ctx, body);
            else if constexpr (std::is_same_v<T, FundingUpdate>) return apply_funding(ctx, body);
            else if constexpr (std::is_same_v<T, Open>) return apply_open(ctx, body);
            else if constexpr (std::is_same_v<T, Liquidate>) return apply_liquidate(ctx, body);
            else return apply_adl(ctx, body);
        },
        tx.body);
}

}  // namespace

Engine::Engine(Store& store, ConfigRecord config, ChainRecord chain, StateCommitment commitment)
    : store_(store),
      config_(std::move(config)),
      chain_(chain),
      commitment_(commitment),
      records_(std::make_unique<CommittedRecords>(store)),
      helpers_(std::make_unique<WorkerPool>(0)) {}

void Engine::set_threads(unsigned threads) {
    threads = std::max(1u, threads);
    helpers_ = std::make_unique<WorkerPool>(threads - 1);
    removals_helper_ = threads > 1 ? std::make_unique<WorkerPool>(1) : nullptr;
}

std::unique_ptr<Engine> Engine::genesis(Store& store, const Genesis& genesis, std::string& error) {
    if (auto problem = validate_genesis(genesis); !problem.empty()) {
        error = "genesis: " + problem;
        return nullptr;
    }
    bool empty = true;
    store.scan("", [&](std::string_view, std::string_view) { return empty = false; });
    if (!empty) {
        error = "the store already holds a state";
        return nullptr;
    }
    ConfigRecord config{genesis.chain_id, genesis.bridge, genesis.oracle, genesis.backstop, genesis.params};
    ChainRecord chain{0, genesis.genesis_time_ms, Hash32{}};
    Overlay view(store);
    save(view, config);
    save(view, chain);
    // The genesis insurance fund counts as a deposit, so that RULES §10 I2 holds from height 0.
    save(view, ProtocolRecord{genesis.insurance_fund_usd, 0, genesis.insurance_fund_usd, 0});
    for (const auto& m : genesis.markets) save(view, MarketRecord{m.symbol, m.size_decimals, m.tiers, m.price, 0, 0, 0});
    StateCommitment commitment;
    commitment.apply(store, view.writes());
    view.put(commitment_key, commitment.to_entry());
    if (const Status status = store.commit(view.writes()); !status.ok()) {
        error = status.error;
        return nullptr;
    }
    return std::unique_ptr<Engine>(new Engine(store, config, chain, commitment));
}

std::unique_ptr<Engine> Engine::open(Store& store, bool verify_root, std::string& error) {
    try {
        auto stored = store.get(commitment_key);
        if (!stored) {
            error = "no state here (the store has no commitment entry)";
            return nullptr;
        }
        auto commitment = StateCommitment::from_entry(*stored, error);
        if (!commitment) return nullptr;
        if (verify_root && !(StateCommitment::from_scratch(store) == *commitment)) {
            error = "the stored state does not match its state root";
            return nullptr;
        }
        // Without verify_root, start costs O(markets): the records every block reads must be
        // there and decode (a StorageError names the first that does not).
        (void)load_protocol(store);
        (void)load_markets(CommittedRecords(store));
        return std::unique_ptr<Engine>(new Engine(store, load_config(store), load_chain(store), *commitment));
    } catch (const StorageError& e) {
        error = e.what();
        return nullptr;
    }
}

namespace {

// RULES §6's first check of one transaction: its envelope, and an open's maker order. The
// digests are hashed here, beside their verification, so that both run on the pool's threads.
SignatureCheck check_signature(const Tx& tx, std::string_view chain_id) {
    SignatureCheck check;
    check.envelope_ok = verify(tx.signer, as_bytes(tx_signing_digest(tx, chain_id)), tx.sig);
    if (const auto* open = std::get_if<Open>(&tx.body))
        check.maker_ok = verify(open->maker.account, as_bytes(order_signing_digest(open->maker, open->market, chain_id)),
                                open->maker.sig);
    return check;
}

// Transactions hashed per chunk: a hash (an encoding, then BLAKE2b) is about half a microsecond.
constexpr size_t txs_per_hash_chunk = 256;

// The block's transaction hashes, on the caller and `helpers` (each depends on its transaction
// alone): when verification is off, as when a node replays its own verified blocks, the
// applying thread is the bottleneck, and hashing on it was 5% of such a run's CPU samples.
std::vector<Hash32> hash_txs(std::span<const Tx> txs, WorkerPool& helpers) {
    std::vector<Hash32> hashes(txs.size());
    for_each_slice(helpers, txs.size(), slice_count(txs.size(), helpers.workers() + 1, txs_per_hash_chunk), txs_per_hash_chunk,
                   [&](size_t begin, size_t end, size_t) {
                       for (size_t i = begin; i < end; ++i) hashes[i] = tx_hash(txs[i]);
                   });
    return hashes;
}

// Whether `hashes` are the transactions' own (what a caller's hashes must be: asserted).
[[maybe_unused]] bool hashes_are_of(std::span<const Tx> txs, std::span<const Hash32> hashes) {
    if (hashes.size() != txs.size()) return false;
    for (size_t i = 0; i < txs.size(); ++i)
        if (hashes[i] != tx_hash(txs[i])) return false;
    return true;
}

// The accounts `txs` name: each signer, and a transfer's receiver, a maker, a deposit's,
// liquidation's or deleveraging's account (whether or not they exist).
std::vector<const AccountId*> named_accounts(std::span<const Tx> txs) {
    std::vector<const AccountId*> ids;
    ids.reserve(2 * txs.size());
    for (const Tx& tx : txs) {
        ids.push_back(&tx.signer);
        std::visit(
            [&](const auto& body) {
                using Body = std::decay_t<decltype(body)>;
                if constexpr (std::is_same_v<Body, Transfer>) ids.push_back(&body.to);
                else if constexpr (std::is_same_v<Body, Open>) ids.push_back(&body.maker.account);
                else if constexpr (requires { body.account; }) ids.push_back(&body.account);
            },
            tx.body);
    }
    return ids;
}

// Transactions whose accounts are fetched into cache together, just before they are applied
// (all at once, not a few transactions ahead: docs/DESIGN.md): enough that the fetches overlap,
// few enough that their accounts, a few hundred bytes each, are still in a core's L2 (1 MB on
// the bench's host) when they are read.
constexpr size_t txs_per_prefetch = 256;

// Blocks this short remove their committed leaves at the end with the rest of the root: handing
// them to a helper would cost more than the removals it overlaps with applying.
constexpr size_t txs_for_early_removals_min = 256;

// Transactions per pool task: enough (about 2 ms of verification) that handing tasks out costs
// nothing that shows, few enough that the threads finish a block together.
constexpr size_t checks_per_task = 32;

}  // namespace

PendingChecks Engine::start_signature_checks(std::span<const Tx> txs, WorkerPool& pool) const {
    return pool.map<SignatureCheck>(txs.size(), checks_per_task,
                                    [txs, chain_id = config_.chain_id](size_t i) { return check_signature(txs[i], chain_id); });
}

std::vector<SignatureCheck> Engine::check_signatures(std::span<const Tx> txs, WorkerPool& pool) const {
    return start_signature_checks(txs, pool).get();
}

std::vector<SignatureCheck> Engine::check_signatures(std::span<const Tx> txs, unsigned threads) const {
    assert(threads >= 1);
    // The caller is one of the threads. Few transactions: no thread is worth starting.
    WorkerPool pool(txs.size() > checks_per_task ? threads - 1 : 0);
    return check_signatures(txs, pool);
}

std::optional<BlockResult> Engine::apply_block(const Block& block, unsigned verify_threads, std::string& error) {
    const auto checks = check_signatures(block.txs, verify_threads);
    return apply_block_checked(block, checks, error);
}

std::optional<BlockResult> Engine::apply_block_checked(const Block& block, std::span<const SignatureCheck> checks,
                                                       std::string& error, const BookkeepingWrites& bookkeeping,
                                                       std::span<const Hash32> tx_hashes) {
    assert(checks.size() == block.txs.size());
    assert(tx_hashes.empty() || tx_hashes.size() == block.txs.size());
    if (block.header.height != chain_.height + 1) {
        error = "block height " + std::to_string(block.header.height) + " does not follow " + std::to_string(chain_.height);
        return std::nullopt;
    }
    if (block.header.time_ms < chain_.time_ms) {
        error = "block time " + std::to_string(block.header.time_ms) + " is before the previous block's " +
                std::to_string(chain_.time_ms);
        return std::nullopt;
    }
    if (block.txs.size() > block_txs_max) {
        error = "too many transactions in one block";
        return std::nullopt;
    }
    BlockResult result;
    result.header = block.header;
    std::vector<Hash32> hashed_here;
    if (tx_hashes.empty()) {
        hashed_here = hash_txs(block.txs, *helpers_);
        tx_hashes = hashed_here;
    }
    assert(hashes_are_of(block.txs, tx_hashes));
    std::optional<EarlyLeafRemovals> early_removals;
    if (removals_helper_ && block.txs.size() >= txs_for_early_removals_min) early_removals.emplace(*removals_helper_);
    EarlyLeafRemovals* const removals = early_removals ? &*early_removals : nullptr;
    // Its destructor drops the writes of a block that fails. Most transactions write one or two
    // accounts (a fill's parties, a transfer's); a liquidation that writes more grows the table.
    BlockLayer block_view(*records_, 2 * block.txs.size(), removals);
    result.receipts.reserve(block.txs.size());
    try {
        for (size_t i = 0; i < block.txs.size(); ++i) {
            if (i % txs_per_prefetch == 0) {
                const auto next = std::span(block.txs).subspan(i, std::min(txs_per_prefetch, block.txs.size() - i));
                records_->prefetch_accounts(named_accounts(next));
            }
            Receipt receipt = apply_tx(block_view, block.txs[i], tx_hashes[i], checks[i], block.header.time_ms);
            receipt.index = static_cast<uint32_t>(i);
            result.receipts.push_back(std::move(receipt));
        }
    } catch (const StorageError& e) {
        error = std::string("storage: ") + e.what();
        return std::nullopt;
    }
    result.block_hash = block_hash(block.header, chain_.last_block_hash, tx_hashes);
    const ChainRecord next{block.header.height, block.header.time_ms, result.block_hash};
    stage_done(BlockStage::executed);
    if (error = commit(block_view, removals, next, result, bookkeeping); !error.empty()) return std::nullopt;
    assert(result.state_root == commitment_.root());
    return result;
}

Reason Engine::precheck(const RecordReader& view, const Tx& tx, const SignatureCheck& check) const {
    // RULES §6 order: signature, authority, nonce.
    if (!check.envelope_ok || !check.maker_ok) return Reason::bad_signature;
    if (const Reason r = authority(view, config_, tx); r != Reason::ok) return r;
    return nonce_check(view, config_, tx);
}

Receipt Engine::apply_tx(BlockLayer& block_view, const Tx& tx, const Hash32& hash, const SignatureCheck& check,
                         int64_t block_time_ms) {
    Receipt receipt;
    receipt.tx_hash = hash;
    // A failure before the rules changes nothing at all.
    receipt.status = precheck(block_view, tx, check);
    if (receipt.status != Reason::ok) {
        assert(!spends_nonce(receipt.status));
        return receipt;
    }

    // The signer's nonce is spent whatever the rules say; a rejection keeps only that write.
    use_nonce(block_view, config_, tx.signer, tx.nonce);
    RecordLayer tx_view = block_view.layer();
    TxContext ctx{tx_view, config_, block_time_ms, tx.signer, receipt.events};
    try {
        receipt.status = dispatch(ctx, tx);
    } catch (const OverflowError&) {
        receipt.status = Reason::overflow;
    }
    assert(spends_nonce(receipt.status));  // the rules never answer with a reason of precheck's
    if (receipt.status == Reason::ok) {
        if (const auto* open = std::get_if<Open>(&tx.body)) use_nonce(tx_view, config_, open->maker.account, open->maker.nonce);
        tx_view.merge_into(block_view);
    } else {
        receipt.events.clear();
    }
    return receipt;
}

std::string Engine::commit(BlockLayer& block_view, EarlyLeafRemovals* early_removals, const ChainRecord& next_chain,
                          BlockResult& result, const BookkeepingWrites& bookkeeping) {
    std::vector<EntryChange> changes;
    try {
        changes = block_view.encode_changes(*helpers_);
    } catch (const StorageError& e) {
        return std::string("storage: ") + e.what();
    }
    EntryChange chain{keys::chain(), encode(chain_), encode(next_chain), nullptr, nullptr};
    auto at = std::lower_bound(changes.begin(), changes.end(), chain.key,
                               [](const EntryChange& c, const std::string& key) { return c.key < key; });
    changes.insert(at, std::move(chain));  // kept ascending: the WriteSet below is built in order
    stage_done(BlockStage::encoded);
    StateCommitment next = commitment_;
    next.apply(changes, *helpers_);
    if (early_removals != nullptr) next.merge(early_removals->finish());
    stage_done(BlockStage::root_updated);
    result.state_root = next.root();
    WriteSet writes;
    for (auto& change : changes) writes.emplace_hint(writes.end(), std::move(change.key), std::move(change.new_value));
    writes.emplace(commitment_key, next.to_entry());
    if (bookkeeping) {
        for (auto& [key, value] : bookkeeping(result)) {
            if (is_state_key(key) || key == commitment_key) return "bookkeeping write to a state key: " + key;
            writes.insert_or_assign(key, std::move(value));
        }
    }
    if (const Status status = store_.commit(writes); !status.ok()) {
        block_view.discard();
        records_->clear();  // the store decides what is committed now
        return status.error;
    }
    stage_done(BlockStage::committed);
    records_->absorb(block_view);
    commitment_ = next;
    chain_ = next_chain;
    return {};
}

}  // namespace clearnode
