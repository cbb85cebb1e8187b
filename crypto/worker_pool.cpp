#include "crypto/worker_pool.hpp"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include <time.h>

namespace clearnode {

namespace {

// The calling thread's CPU time: a system call, a fraction of a microsecond, against the
// milliseconds a task runs.
uint64_t thread_cpu_ns() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(now.tv_nsec);
}

}  // namespace

// One batch: tasks [0, count) of which [0, next) are taken and `finished` have returned.
// Cancelling sets count = next, so that the batch is done when its running tasks are.
struct WorkerPool::BatchState {
    std::function<void(size_t)> task;
    size_t count = 0;
    size_t next = 0;
    size_t finished = 0;
    size_t error_index = SIZE_MAX;
    std::exception_ptr error;
    bool done() const { return finished == count; }
};

// Everything the workers and the batches share, behind one mutex: tasks are coarse (many
// signature checks each), so one lock per task costs nothing that shows.
struct WorkerPool::Shared {
    std::mutex mutex;
    std::condition_variable work_cv;   // workers: a batch was queued, or the pool stops
    std::condition_variable done_cv;   // waiters: a task returned
    std::deque<std::shared_ptr<BatchState>> queue;  // batches with untaken tasks, oldest first
    size_t batches_max = 1;
    bool stopping = false;
    uint64_t task_cpu_ns = 0;  // summed over every task that has returned
    std::vector<std::thread> threads;

    // Takes the next task of `batch` (which must have one); the lock is held.
    size_t take(const std::shared_ptr<BatchState>& batch) {
        assert(batch->next < batch->count);
        const size_t index = batch->next++;
        if (batch->next == batch->count) drop(batch);
        return index;
    }
    void drop(const std::shared_ptr<BatchState>& batch) {
        for (auto it = queue.begin(); it != queue.end(); ++it) {
            if (*it == batch) {
                queue.erase(it);
                return;
            }
        }
    }
    // Runs one task without the lock, then records its end (and its exception) with it.
    void run(std::unique_lock<std::mutex>& lock, const std::shared_ptr<BatchState>& batch, size_t index) {
        lock.unlock();
        std::exception_ptr error;
        const uint64_t cpu_start_ns = thread_cpu_ns();
        try {
            batch->task(index);
        } catch (...) {
            error = std::current_exception();
        }
        const uint64_t cpu_ns = thread_cpu_ns() - cpu_start_ns;
        lock.lock();
        task_cpu_ns += cpu_ns;
        if (error && index < batch->error_index) {
            batch->error_index = index;
            batch->error = error;
        }
        if (++batch->finished == batch->count) done_cv.notify_all();
    }
    void work() {
        std::unique_lock lock(mutex);
        while (true) {
            work_cv.wait(lock, [&] { return stopping || !queue.empty(); });
            if (stopping) return;
            const auto batch = queue.front();
            run(lock, batch, take(batch));
        }
    }
    void finish(std::unique_lock<std::mutex>& lock, const std::shared_ptr<BatchState>& batch) {
        while (batch->next < batch->count) run(lock, batch, take(batch));
        done_cv.wait(lock, [&] { return batch->done(); });
    }
};

WorkerPool::WorkerPool(unsigned workers, size_t batches_max) : workers_(workers), shared_(std::make_shared<Shared>()) {
    assert(batches_max >= 1);
    shared_->batches_max = std::max<size_t>(1, batches_max);
    shared_->threads.reserve(workers);
    for (unsigned w = 0; w < workers; ++w) shared_->threads.emplace_back([shared = shared_.get()] { shared->work(); });
}

WorkerPool::~WorkerPool() {
    {
        std::lock_guard lock(shared_->mutex);
        shared_->stopping = true;
        for (auto& batch : shared_->queue) batch->count = batch->next;  // nobody will take the rest
        shared_->queue.clear();
        shared_->done_cv.notify_all();
    }
    shared_->work_cv.notify_all();
    for (auto& t : shared_->threads) t.join();
}

uint64_t WorkerPool::task_cpu_ns() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->task_cpu_ns;
}

WorkerPool::Batch WorkerPool::start(size_t count, std::function<void(size_t)> task) {
    auto state = std::make_shared<BatchState>();
    state->task = std::move(task);
    state->count = count;
    if (count == 0) return Batch(shared_, state);
    std::unique_lock lock(shared_->mutex);
    assert(!shared_->stopping);
    // A full queue: the producer works off the oldest batch until there is room, rather than
    // sleeping (with no workers, nobody else would make room).
    while (shared_->queue.size() >= shared_->batches_max) {
        const auto oldest = shared_->queue.front();
        shared_->run(lock, oldest, shared_->take(oldest));
    }
    shared_->queue.push_back(state);
    lock.unlock();
    shared_->work_cv.notify_all();
    return Batch(shared_, state);
}

WorkerPool::Batch::Batch(std::shared_ptr<Shared> pool, std::shared_ptr<BatchState> state)
    : pool_(std::move(pool)), state_(std::move(state)) {}

WorkerPool::Batch& WorkerPool::Batch::operator=(Batch&& other) noexcept {
    if (this != &other) {
        cancel();
        pool_ = std::move(other.pool_);
        state_ = std::move(other.state_);
    }
    return *this;
}

WorkerPool::Batch::~Batch() { cancel(); }

void WorkerPool::Batch::wait() {
    if (!state_) return;
    std::unique_lock lock(pool_->mutex);
    pool_->finish(lock, state_);
    if (state_->error) std::rethrow_exception(state_->error);
}

void WorkerPool::Batch::cancel() noexcept {
    if (!state_) return;
    std::unique_lock lock(pool_->mutex);
    if (state_->next < state_->count) {
        state_->count = state_->next;
        pool_->drop(state_);
    }
    pool_->done_cv.wait(lock, [&] { return state_->done(); });
    lock.unlock();
    state_.reset();
    pool_.reset();
}

size_t slice_count(size_t count, unsigned threads, size_t slice_min) {
    assert(threads >= 1 && slice_min >= 1);
    return std::clamp<size_t>(count / slice_min, 1, threads);
}

void for_each_slice(WorkerPool& pool, size_t count, size_t parts, size_t chunk_items,
                    const std::function<void(size_t begin, size_t end, size_t part)>& slice) {
    assert(parts >= 1 && chunk_items >= 1);
    const size_t chunks = count / chunk_items + (count % chunk_items != 0 ? 1 : 0);
    std::atomic<size_t> next_chunk{0};
    std::atomic<bool> failed{false};
    std::vector<std::exception_ptr> errors(chunks);
    const auto run = [&](size_t part) {
        // At most `chunks` rounds: each takes a chunk, or ends the loop.
        while (!failed.load()) {
            const size_t chunk = next_chunk.fetch_add(1, std::memory_order_relaxed);
            if (chunk >= chunks) return;
            try {
                slice(chunk * chunk_items, std::min(count, (chunk + 1) * chunk_items), part);
            } catch (...) {
                errors[chunk] = std::current_exception();
                failed.store(true);
            }
        }
    };
    WorkerPool::Batch others = pool.start(parts - 1, [&run](size_t task) { run(task + 1); });
    run(0);
    others.wait();  // its tasks catch their chunks' exceptions: nothing is rethrown here
    for (const auto& error : errors)
        if (error) std::rethrow_exception(error);
}

}  // namespace clearnode
