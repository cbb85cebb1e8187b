// The `clearnode` command: CLI11 wiring only; each subcommand is a function of commands.hpp.
#include "node/bench.hpp"
#include "node/commands.hpp"
#include "node/files.hpp"
#include "node/run.hpp"
#include "node/snapshot.hpp"
#include "node/status.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <thread>
#include <unistd.h>

namespace {

// The two memory settings, as `apply`, `run` and `bench` take them.
void add_cache_options(CLI::App& command, size_t& cache_mb, size_t& record_cache_mb) {
    command.add_option("--cache-mb", cache_mb, "RocksDB block cache, memtables included")
        ->check(CLI::Range(size_t{1}, size_t{1} << 20))
        ->capture_default_str();
    command.add_option("--record-cache-mb", record_cache_mb,
                       "memory for the records kept decoded between blocks (0: none kept, every block reads the store)")
        ->check(CLI::Range(size_t{0}, size_t{1} << 20))
        ->capture_default_str();
}

// The options of a command that opens a node's home for writing (`apply`, `run`).
void add_start_options(CLI::App& command, clearnode::cli::StartOptions& start) {
    command.add_flag("--verify-state", start.verify_state,
                     "recompute the state root from every entry before starting (O(state)); refuse a mismatch");
    add_cache_options(command, start.cache_mb, start.record_cache_mb);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace clearnode::cli;
    CLI::App app{"clearnode: a deterministic clearinghouse for cross-margin perpetual futures"};
    app.require_subcommand(1);
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());

    std::string out_path, home, genesis_path, account_hex, snapshot_path;
    std::vector<std::string> submit_paths;
    RunOptions node_options;
    node_options.verify_threads = cores;
    std::string log_format = "text";
    bool verify = false;
    SignOptions sign_options;
    BlockRunOptions run_options;
    run_options.verify_threads = cores;

    auto* keygen = app.add_subcommand("keygen", "write a new Ed25519 key pair (mode 0600)");
    keygen->add_option("--out", out_path, "key file to create")->required();

    auto* init = app.add_subcommand("init", "create a node's state at height 0 from a genesis file");
    init->add_option("--home", home, "node directory (must be empty or absent)")->required();
    auto* init_genesis = init->add_option("--genesis", genesis_path, "genesis JSON")->check(CLI::ExistingFile);
    init->add_option("--snapshot", snapshot_path, "start from a snapshot of `clearnode export` instead")
        ->check(CLI::ExistingFile)
        ->excludes(init_genesis);

    auto* sign = app.add_subcommand("sign", "sign the transactions of a JSON Lines stream (stdin to stdout)");
    sign->add_option("--key", sign_options.key_paths, "key file (repeatable)")->required();
    auto* chain_opt = sign->add_option("--chain-id", sign_options.chain_id, "chain id to sign for");
    sign->add_option("--genesis", sign_options.genesis_path, "take the chain id from this genesis")->excludes(chain_opt);

    auto* apply = app.add_subcommand("apply", "apply block files to a node's state, one block per file");
    apply->add_option("--home", home, "node directory")->required();
    apply->add_option("--receipts", run_options.receipts_path, "append receipt lines to this file");
    apply->add_option("--verify-threads", run_options.verify_threads, "signature verification threads")->check(CLI::Range(1u, 256u));
    apply->add_option("blocks", run_options.block_paths, "block files (JSON Lines)")->required();
    add_start_options(*apply, run_options.start);

    auto* replay = app.add_subcommand("replay", "re-execute blocks in memory: block files from --genesis, or a node's block log");
    auto* replay_genesis = replay->add_option("--genesis", genesis_path, "genesis JSON (with block files)");
    auto* replay_home = replay->add_option("--home", home, "node directory: replay its block log")->excludes(replay_genesis);
    replay->add_flag("--verify", verify, "with --home: check every block hash and root the node published, and I1-I3 at the end")
        ->needs(replay_home);
    replay->add_option("--receipts", run_options.receipts_path, "append receipt lines to this file")->excludes(replay_home);
    replay->add_option("--verify-threads", run_options.verify_threads, "signature verification threads")->check(CLI::Range(1u, 256u));
    replay->add_option("blocks", run_options.block_paths, "block files (JSON Lines)")->excludes(replay_home);

    auto* run = app.add_subcommand("run", "run the node: admit files from DIR/inbox, form and commit blocks, until SIGINT/SIGTERM");
    run->add_option("--home", node_options.home, "node directory")->required();
    run->add_option("--block-ms", node_options.block_ms, "form a block at least this often (milliseconds)")
        ->check(CLI::Range(int64_t{1}, int64_t{3'600'000}));
    run->add_option("--block-txs", node_options.block_txs, "form a block at this many admitted transactions")
        ->check(CLI::Range(size_t{1}, clearnode::block_txs_max));
    run->add_option("--verify-threads", node_options.verify_threads, "signature verification threads (default: all cores)")
        ->check(CLI::Range(1u, 256u));
    run->add_option("--log-format", log_format, "status lines: text or json")->check(CLI::IsMember({"text", "json"}));
    add_start_options(*run, node_options.start);

    auto* submit = app.add_subcommand("submit", "hand transaction files to a running node (DIR/inbox)");
    submit->add_option("--home", home, "node directory")->required();
    submit->add_option("files", submit_paths, "transaction files (JSON Lines)")->required();

    auto* status = app.add_subcommand("status", "height, state root, time and inbox of a node, also while it runs");
    status->add_option("--home", home, "node directory")->required();

    std::string out_dir;
    auto* blocks = app.add_subcommand("blocks", "write a node's block log as block files, one per height");
    blocks->add_option("--home", home, "node directory")->required();
    blocks->add_option("--out-dir", out_dir, "directory for HEIGHT.jsonl files")->required();

    auto* export_cmd = app.add_subcommand("export", "write a snapshot of a node's state at its height");
    export_cmd->add_option("--home", home, "node directory")->required();
    export_cmd->add_option("--out", out_path, "snapshot file to create")->required();

    auto* query = app.add_subcommand("query", "read a node's state");
    query->add_option("--home", home, "node directory")->required();
    query->require_subcommand(1);
    auto* query_account = query->add_subcommand("account", "one account");
    query_account->add_option("id", account_hex, "account id (64 hex digits)")->required();
    auto* query_state = query->add_subcommand("state", "heights, root, protocol balances, markets");
    auto* query_liquidatable = query->add_subcommand("liquidatable", "every liquidatable account and isolated position, with its RULES §9 case");
    std::string adl_market, adl_side;
    auto* query_adl = query->add_subcommand("adl-queue", "the ADL ranking of one side of a market (the counterparties of a bankrupt position on the other side)");
    query_adl->add_option("market", adl_market, "market symbol")->required();
    query_adl->add_option("side", adl_side, "long or short: the side of the ranked positions")->required();

    BenchOptions bench_options;
    bench_options.threads = cores;
    auto* bench = app.add_subcommand("bench", "measure throughput against this machine's limits (generates its own chain)");
    bench->add_option("--accounts", bench_options.accounts, "accounts funded at genesis")->capture_default_str();
    bench->add_option("--txs", bench_options.txs, "transactions per timed run")->capture_default_str();
    bench->add_option("--block-txs", bench_options.block_txs, "transactions per block")->capture_default_str();
    bench->add_option("--threads", bench_options.threads, "verification threads (default: cores)")->check(CLI::Range(1u, 256u));
    bench->add_option("--mix", bench_options.mix, "transaction types, comma-separated, each optionally TYPE:WEIGHT")->capture_default_str();
    bench->add_option("--skew", bench_options.skew, "how parties are drawn")->check(CLI::IsMember({"zipf", "uniform"}))->capture_default_str();
    add_cache_options(*bench, bench_options.cache_mb, bench_options.record_cache_mb);
    bench->add_option("--dir", bench_options.dir, "where to create the work directory (default: the temp directory)");
    bench->add_flag("--json", bench_options.json, "print one JSON object instead of a table");
    bool bench_no_block_log = false;
    bench->add_flag("--no-block-log", bench_no_block_log,
                    "the signed run without the node's block log (the engine alone, as bench measured before 2026-12-02)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? exit_ok : exit_bad_input;
    }

    bench_options.block_log = !bench_no_block_log;
    try {
        if (*keygen) return cmd_keygen(out_path, std::cout, std::cerr);
        if (*init && !snapshot_path.empty()) return cmd_init_from_snapshot(home, snapshot_path, std::cout, std::cerr);
        if (*init && genesis_path.empty()) {
            std::cerr << "error: give --genesis or --snapshot\n";
            return exit_bad_input;
        }
        if (*init) return cmd_init(home, genesis_path, std::cout, std::cerr);
        if (*sign) return cmd_sign(sign_options, std::cin, std::cout, std::cerr);
        if (*apply) return cmd_apply(home, run_options, std::cout, std::cerr);
        if (*replay && !home.empty()) {
            const LogReplayOptions options{home, verify, run_options.verify_threads, ::isatty(STDERR_FILENO) == 1};
            return cmd_replay_log(options, std::cout, std::cerr);
        }
        if (*replay && (genesis_path.empty() || run_options.block_paths.empty())) {
            std::cerr << "error: replay needs --home DIR, or --genesis FILE and block files\n";
            return exit_bad_input;
        }
        if (*replay) return cmd_replay(genesis_path, run_options, std::cout, std::cerr);
        if (*run) {
            node_options.json_log = log_format == "json";
            return cmd_run(node_options, std::cout, std::cerr);
        }
        if (*submit) return cmd_submit(home, submit_paths, std::cout, std::cerr);
        if (*status) return cmd_status(home, std::cout, std::cerr);
        if (*blocks) return cmd_dump_blocks(home, out_dir, std::cout, std::cerr);
        if (*export_cmd) return cmd_export(home, out_path, std::cout, std::cerr);
        if (*query_account) return cmd_query_account(home, account_hex, std::cout, std::cerr);
        if (*query_state) return cmd_query_state(home, std::cout, std::cerr);
        if (*bench) return cmd_bench(bench_options, std::cout, std::cerr);
        if (*query_liquidatable) return cmd_query_liquidatable(home, std::cout, std::cerr);
        if (*query_adl) return cmd_query_adl_queue(home, adl_market, adl_side, std::cout, std::cerr);
    } catch (const std::exception& e) {
        // Storage failures and anything unforeseen: stop, with the reason, having committed
        // nothing beyond the last whole block.
        std::cerr << "error: " << e.what() << "\n";
        return exit_internal;
    }
    return exit_internal;
}
