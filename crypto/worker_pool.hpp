// A small pool of long-lived worker threads for work whose result must not depend on how it
// was spread: signature checks, and a block's bulk work (its transactions' hashes, encoding its
// changes, the state root's leaves) through for_each_slice below.
//
// Work is a batch of `count` independent tasks, task(0) .. task(count - 1). Workers take
// tasks from the oldest batch first; whoever waits for a batch runs its untaken tasks itself,
// so a pool of 0 workers runs everything on the caller, and a thread that waits is never idle
// while its own batch has work. Results go where each task writes them (by index), so they are
// in input order and the same for any number of workers. At most `batches_max` batches are
// queued: starting one more blocks until the oldest is taken, which bounds the work (and the
// memory) a producer can run ahead.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <type_traits>
#include <vector>

namespace clearnode {

class WorkerPool {
    struct Shared;
    struct BatchState;

public:
    // `workers` threads (0: none, everything runs on the threads that wait).
    explicit WorkerPool(unsigned workers, size_t batches_max = 4);
    ~WorkerPool();  // cancels the untaken tasks of every batch, waits for the running ones
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    unsigned workers() const { return workers_; }

    // CPU time spent inside this pool's tasks so far, on whichever threads ran them (each
    // task read by its thread's own CPU clock, so time a thread waited or was descheduled is
    // not in it). The bench splits a run's CPU into verification and the rest with it.
    uint64_t task_cpu_ns() const;

    // A started batch. wait() runs untaken tasks on the caller, returns when every task has
    // run, and rethrows the exception of the lowest-numbered task that threw (the same one
    // whatever the number of workers). Destroying a batch that was not waited for cancels its
    // untaken tasks and waits for the running ones, so a task never outlives what it uses.
    class Batch {
    public:
        Batch() = default;
        Batch(Batch&&) noexcept = default;
        Batch& operator=(Batch&& other) noexcept;
        ~Batch();
        void wait();

    private:
        friend class WorkerPool;
        Batch(std::shared_ptr<Shared> pool, std::shared_ptr<BatchState> state);
        void cancel() noexcept;
        std::shared_ptr<Shared> pool_;
        std::shared_ptr<BatchState> state_;
    };

    // Starts task(i) for every i in [0, count). The task must be safe to run concurrently
    // with itself for different i, and must not wait for a batch of this pool.
    Batch start(size_t count, std::function<void(size_t)> task);

    // values[i] = f(i) for every i in [0, count), `grain` consecutive indices per task.
    template <typename T>
    class PendingValues {
    public:
        std::vector<T> get() {
            batch_.wait();
            return std::move(*values_);
        }

    private:
        friend class WorkerPool;
        std::unique_ptr<std::vector<T>> values_;
        Batch batch_;
    };
    template <typename T, typename F>
    PendingValues<T> map(size_t count, size_t grain, F f) {
        static_assert(!std::is_same_v<T, bool>, "std::vector<bool> elements share bytes: tasks would race");
        PendingValues<T> pending;
        pending.values_ = std::make_unique<std::vector<T>>(count);
        const size_t step = grain == 0 ? 1 : grain;
        pending.batch_ = start((count + step - 1) / step, [values = pending.values_.get(), count, step, f](size_t task) {
            const size_t end = std::min(count, (task + 1) * step);
            for (size_t i = task * step; i < end; ++i) (*values)[i] = f(i);
        });
        return pending;
    }

private:
    unsigned workers_;
    std::shared_ptr<Shared> shared_;
};

// Fork-join over a pool's workers, for one block's bulk work (hashing its transactions,
// encoding its changes, hashing their leaves). How many parts `count` items are worth: at most
// `threads`, and none with fewer than `slice_min` items (handing out a part costs more than so few).
size_t slice_count(size_t count, unsigned threads, size_t slice_min);
// Runs slice(begin, end, part) over [0, count) cut into contiguous chunks of `chunk_items` (the
// last may be shorter), in `parts` parts: part 0 on the caller, each other a task of `pool` (so
// at most pool.workers() + 1 run at once; a part no worker took runs on the caller, and finds
// the chunks taken). A part takes the next chunk when it is done with one, so a thread whose
// core is busy with other work (on a machine of two cores, RocksDB's flushes and compactions)
// takes fewer, instead of the others waiting for its fixed share. Which part runs which chunks
// varies from run to run: slices must write only by `part`, into results combined order-free.
// Returns when every chunk has run, or, once one threw, when those taken have; rethrows the
// exception of the lowest chunk that threw (the chunks below it were all taken, so that is the
// same every run).
void for_each_slice(WorkerPool& pool, size_t count, size_t parts, size_t chunk_items,
                    const std::function<void(size_t begin, size_t end, size_t part)>& slice);

}  // namespace clearnode
