// A snapshot: every state entry of a node at one height, to start another node there.
//
//   "clearnode/snapshot/v1" | u64 height | root(32) | u64 count | count x (bytes key, bytes value)
//   | BLAKE2b-256 of everything before it
//
// Only state entries travel (no '~' bookkeeping): the new node recomputes the accumulator and
// must find the root of the header, so a snapshot cannot carry a state other than its root's.
#pragma once

#include "state/store.hpp"

#include <iosfwd>
#include <string>

namespace clearnode::cli {

// Loads a snapshot file's entries into an empty store (with its recomputed commitment).
// False and `error` when the file is torn, corrupt, or its entries do not hash to its root.
bool load_snapshot_into(const std::string& path, Store& store, std::string& error);

int cmd_export(const std::string& home, const std::string& out_path, std::ostream& out, std::ostream& err);
int cmd_init_from_snapshot(const std::string& home, const std::string& snapshot_path, std::ostream& out, std::ostream& err);

}  // namespace clearnode::cli
