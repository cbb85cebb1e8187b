// The `clearnode` command: CLI11 wiring only; each subcommand is a function of commands.hpp.
#include "node/commands.hpp"
#include "node/files.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <thread>

int main(int argc, char** argv) {
    using namespace clearnode::cli;
    CLI::App app{"clearnode: a deterministic clearinghouse for cross-margin perpetual futures"};
    app.require_subcommand(1);
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());

    std::string out_path, home, genesis_path, account_hex;
    SignOptions sign_options;
    BlockRunOptions run_options;
    run_options.verify_threads = cores;

    auto* keygen = app.add_subcommand("keygen", "write a new Ed25519 key pair (mode 0600)");
    keygen->add_option("--out", out_path, "key file to create")->required();

    auto* init = app.add_subcommand("init", "create a node's state at height 0 from a genesis file");
    init->add_option("--home", home, "node directory (must be empty or absent)")->required();
    init->add_option("--genesis", genesis_path, "genesis JSON")->required()->check(CLI::ExistingFile);

    auto* sign = app.add_subcommand("sign", "sign the transactions of a JSON Lines stream (stdin to stdout)");
    sign->add_option("--key", sign_options.key_paths, "key file (repeatable)")->required();
    auto* chain_opt = sign->add_option("--chain-id", sign_options.chain_id, "chain id to sign for");
    sign->add_option("--genesis", sign_options.genesis_path, "take the chain id from this genesis")->excludes(chain_opt);

    auto* apply = app.add_subcommand("apply", "apply block files to a node's state, one block per file");
    apply->add_option("--home", home, "node directory")->required();
    apply->add_option("--receipts", run_options.receipts_path, "append receipt lines to this file");
    apply->add_option("--verify-threads", run_options.verify_threads, "signature verification threads")->check(CLI::Range(1u, 256u));
    apply->add_option("blocks", run_options.block_paths, "block files (JSON Lines)")->required();

    auto* replay = app.add_subcommand("replay", "apply block files in memory from genesis and print the roots");
    replay->add_option("--genesis", genesis_path, "genesis JSON")->required();
    replay->add_option("--receipts", run_options.receipts_path, "append receipt lines to this file");
    replay->add_option("--verify-threads", run_options.verify_threads, "signature verification threads")->check(CLI::Range(1u, 256u));
    replay->add_option("blocks", run_options.block_paths, "block files (JSON Lines)")->required();

    auto* query = app.add_subcommand("query", "read a node's state");
    query->add_option("--home", home, "node directory")->required();
    query->require_subcommand(1);
    auto* query_account = query->add_subcommand("account", "one account");
    query_account->add_option("id", account_hex, "account id (64 hex digits)")->required();
    auto* query_state = query->add_subcommand("state", "heights, root, protocol balances, markets");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? exit_ok : exit_bad_input;
    }

    try {
        if (*keygen) return cmd_keygen(out_path, std::cout, std::cerr);
        if (*init) return cmd_init(home, genesis_path, std::cout, std::cerr);
        if (*sign) return cmd_sign(sign_options, std::cin, std::cout, std::cerr);
        if (*apply) return cmd_apply(home, run_options, std::cout, std::cerr);
        if (*replay) return cmd_replay(genesis_path, run_options, std::cout, std::cerr);
        if (*query_account) return cmd_query_account(home, account_hex, std::cout, std::cerr);
        if (*query_state) return cmd_query_state(home, std::cout, std::cerr);
    } catch (const std::exception& e) {
        // Storage failures and anything unforeseen: stop, with the reason, having committed
        // nothing beyond the last whole block.
        std::cerr << "error: " << e.what() << "\n";
        return exit_internal;
    }
    return exit_internal;
}
