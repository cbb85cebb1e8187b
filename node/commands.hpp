// The `clearnode` subcommands as plain functions: options in, exit code out (files.hpp),
// results on `out`, messages on `err`. main.cpp only wires CLI11 to these.
#pragma once

#include "node/open.hpp"

#include <iosfwd>
#include <string>
#include <vector>

namespace clearnode::cli {

int cmd_keygen(const std::string& out_path, std::ostream& out, std::ostream& err);
int cmd_init(const std::string& home, const std::string& genesis_path, std::ostream& out, std::ostream& err);

struct SignOptions {
    std::vector<std::string> key_paths;
    std::string chain_id;
    std::string genesis_path;
};
int cmd_sign(const SignOptions& options, std::istream& in, std::ostream& out, std::ostream& err);

struct BlockRunOptions {
    std::vector<std::string> block_paths;
    std::string receipts_path;  // empty: no receipts
    unsigned verify_threads = 1;
    StartOptions start;  // apply only: how the home's node starts
};
int cmd_apply(const std::string& home, const BlockRunOptions& options, std::ostream& out, std::ostream& err);
int cmd_replay(const std::string& genesis_path, const BlockRunOptions& options, std::ostream& out, std::ostream& err);

// Hands transaction files to a running node through DIR/inbox/ (inbox.hpp).
int cmd_submit(const std::string& home, const std::vector<std::string>& paths, std::ostream& out, std::ostream& err);

int cmd_query_account(const std::string& home, const std::string& account_hex, std::ostream& out, std::ostream& err);
int cmd_query_state(const std::string& home, std::ostream& out, std::ostream& err);
// The keepers' view (RULES §9): liquidatable scopes, and a market side's ADL ranking.
int cmd_query_liquidatable(const std::string& home, std::ostream& out, std::ostream& err);
int cmd_query_adl_queue(const std::string& home, const std::string& market, const std::string& side, std::ostream& out,
                        std::ostream& err);

}  // namespace clearnode::cli
