#include "state/store.hpp"

#include <vector>

namespace clearnode {

std::optional<std::string> MemoryStore::get(std::string_view key) const {
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
}

void MemoryStore::scan(std::string_view prefix, const ScanVisitor& visit) const {
    for (auto it = entries_.lower_bound(prefix); it != entries_.end(); ++it) {
        if (std::string_view(it->first).substr(0, prefix.size()) != prefix) break;
        if (!visit(it->first, it->second)) break;
    }
}

Status MemoryStore::commit(const WriteSet& writes) {
    for (const auto& [key, value] : writes) {
        if (value) entries_.insert_or_assign(key, *value);
        else entries_.erase(key);
    }
    return Status::success();
}

std::optional<std::string> Overlay::get(std::string_view key) const {
    auto it = writes_.find(key);
    if (it != writes_.end()) return it->second;
    return base_->get(key);
}

void Overlay::scan(std::string_view prefix, const ScanVisitor& visit) const {
    // Merge the base's entries with this overlay's writes, key by key, in ascending order.
    auto w = writes_.lower_bound(prefix);
    auto in_prefix = [&](const std::string& k) { return std::string_view(k).substr(0, prefix.size()) == prefix; };
    bool stopped = false;
    base_->scan(prefix, [&](std::string_view key, std::string_view value) {
        while (w != writes_.end() && in_prefix(w->first) && std::string_view(w->first) < key) {
            if (w->second && !visit(w->first, *w->second)) { stopped = true; return false; }
            ++w;
        }
        if (w != writes_.end() && in_prefix(w->first) && std::string_view(w->first) == key) {
            const bool keep_going = !w->second || visit(w->first, *w->second);
            ++w;
            if (!keep_going) stopped = true;
            return keep_going;
        }
        if (!visit(key, value)) { stopped = true; return false; }
        return true;
    });
    for (; !stopped && w != writes_.end() && in_prefix(w->first); ++w)
        if (w->second && !visit(w->first, *w->second)) break;
}

void Overlay::put(std::string_view key, std::string value) {
    writes_.insert_or_assign(std::string(key), std::optional<std::string>(std::move(value)));
}

void Overlay::erase(std::string_view key) {
    writes_.insert_or_assign(std::string(key), std::optional<std::string>());
}

}  // namespace clearnode
