#include "node/files.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace clearnode::cli {

FileText read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {std::nullopt, path + ": cannot read: " + std::strerror(errno)};
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) return {std::nullopt, path + ": read error"};
    return {buffer.str(), {}};
}

std::string write_new_file(const std::string& path, const std::string& text, unsigned mode) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return path + ": " + (errno == EEXIST ? std::string("exists already; refusing to overwrite") : std::strerror(errno));
    size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0) {
            if (errno == EINTR) continue;
            const std::string error = path + ": " + std::strerror(errno);
            ::close(fd);
            return error;
        }
        written += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) return path + ": " + std::strerror(errno);
    return {};
}

Parsed<KeyPair> load_key(const std::string& path) {
    const FileText file = read_file(path);
    if (!file.text) return {std::nullopt, file.error};
    const Json j = Json::parse(*file.text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return {std::nullopt, path + ": not a JSON object"};
    auto text_of = [&](const char* name) -> std::string {
        auto it = j.find(name);
        return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
    };
    const auto pub = from_hex<32>(text_of("public"));
    const auto sec = from_hex<64>(text_of("secret"));
    if (!pub) return {std::nullopt, path + ": public: must be 64 hex digits"};
    if (!sec) return {std::nullopt, path + ": secret: must be 128 hex digits"};
    KeyPair pair{*pub, *sec};
    if (!keypair_matches(pair)) return {std::nullopt, path + ": secret: does not belong to the public key"};
    return {pair, {}};
}

Json key_to_json(const KeyPair& pair) {
    return Json{{"public", to_hex(pair.public_key)}, {"secret", to_hex(pair.secret_key)}};
}

Parsed<Genesis> load_genesis(const std::string& path) {
    const FileText file = read_file(path);
    if (!file.text) return {std::nullopt, file.error};
    const Json j = Json::parse(*file.text, nullptr, false);
    if (j.is_discarded()) return {std::nullopt, path + ": not valid JSON"};
    auto g = genesis_from_json(j);
    if (!g.ok()) g.error = path + ": " + g.error;
    return g;
}

std::string state_dir(const std::string& home) { return home + "/state"; }
std::string genesis_copy_path(const std::string& home) { return home + "/genesis.json"; }

}  // namespace clearnode::cli
