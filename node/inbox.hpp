// The inbox: how `clearnode submit` hands transaction files to a running node.
//
// `submit` checks a file parses, writes it as DIR/inbox/.tmp-* (fsynced), then renames it to
// a name that sorts in submission order (nanoseconds, pid, sequence); the node lists only
// names without a leading dot, so it never sees half a file. The node removes a file only
// after every transaction in it has a receipt in a committed block (blocklog.hpp "~inbox/").
#pragma once

#include "ledger/tx.hpp"

#include <optional>
#include <string>
#include <vector>

namespace clearnode::cli {

struct Submitted {
    std::string name;  // the file's name in the inbox
    std::vector<Hash32> tx_hashes;
};

// Checks every file first (a file that does not parse refuses the whole call: nothing is
// submitted), then hands each to the inbox in argument order. On error, `error` says which
// file, line and field, and `bad_input` tells a user's mistake from an I/O failure.
std::vector<Submitted> submit_files(const std::string& home, const std::vector<std::string>& paths, std::string& error,
                                    bool& bad_input);

// The names waiting in the inbox, in submission order.
std::vector<std::string> list_inbox(const std::string& home);

struct InboxFile {
    std::vector<Tx> txs;
    std::string error;  // set when the file does not parse
};
InboxFile read_inbox_file(const std::string& home, const std::string& name);

// Removes a file whose every transaction has a committed receipt. Empty or the error.
std::string remove_inbox_file(const std::string& home, const std::string& name);
// Moves a file that does not parse to DIR/rejected/, with the reason beside it.
std::string reject_inbox_file(const std::string& home, const std::string& name, const std::string& reason);

}  // namespace clearnode::cli
