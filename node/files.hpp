// File plumbing of the command line: whole-file reads, exclusive writes, key and genesis
// files. Every failure is a message for the user, never an exception past the command.
#pragma once

#include "ledger/json.hpp"

#include <optional>
#include <string>

namespace clearnode::cli {

// Exit codes of every command.
constexpr int exit_ok = 0;
constexpr int exit_internal = 1;
constexpr int exit_bad_input = 2;

struct FileText {
    std::optional<std::string> text;
    std::string error;
};
FileText read_file(const std::string& path);

// Creates `path` with `mode`; refuses an existing file. Empty on success, else the error.
std::string write_new_file(const std::string& path, const std::string& text, unsigned mode);

struct KeyFile {
    KeyPair pair;
};
Parsed<KeyPair> load_key(const std::string& path);
Json key_to_json(const KeyPair& pair);

Parsed<Genesis> load_genesis(const std::string& path);

// Layout of a node's home directory.
std::string state_dir(const std::string& home);
std::string genesis_copy_path(const std::string& home);

}  // namespace clearnode::cli
