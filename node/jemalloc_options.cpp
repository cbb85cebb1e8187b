// jemalloc's options for the clearnode binary. jemalloc reads this symbol once, when it starts;
// the binary links this file only when it runs on jemalloc (CMakeLists.txt, CLEARNODE_ALLOCATOR),
// and `clearnode bench` reports the setting beside the allocator.
//
// Freed pages stay with the process: jemalloc never hands them back to the kernel (dirty and
// muzzy decay -1). With the node's block log each block allocates and frees megabytes (its
// receipts, its encoding, RocksDB's write batch and the memtable arenas that copy the
// log's values); on a virtual machine page faults were a fifth of the store's commit in perf,
// and with this setting 7% of a commit that took less than half the samples. The
// process's memory is then its heap's high-water mark, which the cache settings bound as before
// (110-160 MB more peak RSS at 1M accounts). Measured: docs/DESIGN.md, "Allocator".
extern "C" {
// The name and type are jemalloc's interface.
const char* malloc_conf = "dirty_decay_ms:-1,muzzy_decay_ms:-1";
}
