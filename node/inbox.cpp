#include "node/inbox.hpp"

#include "ledger/codec.hpp"
#include "ledger/json.hpp"
#include "node/files.hpp"
#include "node/home.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <unistd.h>

namespace clearnode::cli {
namespace {

namespace fs = std::filesystem;

// Bounds the inbox listing of one pass; the rest waits for the next pass.
constexpr size_t inbox_list_max = 100'000;

std::string canonical_lines(const std::vector<Tx>& txs) {
    std::string text;
    for (const auto& tx : txs) text += tx_to_json(tx).dump() + "\n";
    return text;
}

// Sorts in submission order: nanoseconds since the epoch (20 digits), pid, sequence.
std::string submission_name(size_t sequence) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count();
    char name[80];
    std::snprintf(name, sizeof name, "%020lld-%08d-%06zu.jsonl", static_cast<long long>(ns), static_cast<int>(::getpid()),
                  sequence);
    return name;
}

}  // namespace

std::vector<Submitted> submit_files(const std::string& home, const std::vector<std::string>& paths, std::string& error,
                                    bool& bad_input) {
    bad_input = true;
    std::error_code ec;
    if (!fs::is_directory(inbox_dir(home), ec)) {
        error = home + ": no node here (no inbox; run `clearnode init` first)";
        return {};
    }
    std::vector<std::vector<Tx>> files;
    for (const auto& path : paths) {
        const FileText file = read_file(path);
        if (!file.text) {
            error = file.error;
            return {};
        }
        auto parsed = block_file_from_text(*file.text, SigPolicy::required);
        if (!parsed.ok()) {
            error = path + ": " + parsed.error + " (nothing submitted)";
            return {};
        }
        if (parsed.value->txs.empty()) {
            error = path + ": no transactions (nothing submitted)";
            return {};
        }
        files.push_back(std::move(parsed.value->txs));
    }
    bad_input = false;
    std::vector<Submitted> submitted;
    for (size_t i = 0; i < files.size(); ++i) {
        Submitted s{submission_name(i), {}};
        const std::string temp = inbox_dir(home) + "/.tmp-" + s.name;
        if (error = write_new_file(temp, canonical_lines(files[i]), 0644); !error.empty()) return submitted;
        if (::rename(temp.c_str(), (inbox_dir(home) + "/" + s.name).c_str()) != 0) {
            error = temp + ": rename: " + std::strerror(errno);
            return submitted;
        }
        if (error = sync_directory(inbox_dir(home)); !error.empty()) return submitted;
        for (const auto& tx : files[i]) s.tx_hashes.push_back(tx_hash(tx));
        submitted.push_back(std::move(s));
    }
    return submitted;
}

std::vector<std::string> list_inbox(const std::string& home) {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(inbox_dir(home), ec), end; !ec && it != end && names.size() < inbox_list_max; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.empty() || name[0] == '.') continue;
        names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

InboxFile read_inbox_file(const std::string& home, const std::string& name) {
    const FileText file = read_file(inbox_dir(home) + "/" + name);
    if (!file.text) return {{}, file.error};
    auto parsed = block_file_from_text(*file.text, SigPolicy::required);
    if (!parsed.ok()) return {{}, parsed.error};
    // `submit` never writes an empty file: this one is being written by something else.
    if (parsed.value->txs.empty()) return {{}, "no transactions"};
    return {std::move(parsed.value->txs), {}};
}

std::string remove_inbox_file(const std::string& home, const std::string& name) {
    const std::string path = inbox_dir(home) + "/" + name;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return path + ": " + std::strerror(errno);
    return sync_directory(inbox_dir(home));
}

std::string reject_inbox_file(const std::string& home, const std::string& name, const std::string& reason) {
    std::error_code ec;
    fs::create_directories(rejected_dir(home), ec);
    if (ec) return rejected_dir(home) + ": " + ec.message();
    const std::string target = rejected_dir(home) + "/" + name;
    if (auto error = write_file_atomically(target + ".error", reason + "\n"); !error.empty()) return error;
    if (::rename((inbox_dir(home) + "/" + name).c_str(), target.c_str()) != 0) return target + ": " + std::strerror(errno);
    if (auto error = sync_directory(rejected_dir(home)); !error.empty()) return error;
    return sync_directory(inbox_dir(home));
}

}  // namespace clearnode::cli
