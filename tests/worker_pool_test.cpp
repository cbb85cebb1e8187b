// The worker pool (crypto/worker_pool.hpp): every task runs once, results land in input order,
// the lowest-numbered failure is the one reported, and nothing depends on the number of
// workers, and the CPU time it reports is its tasks' own. No timing: what the pool promises is
// order, completeness and that accounting, not speed.
#include "crypto/worker_pool.hpp"
#include "crypto/crypto.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <time.h>

using namespace clearnode;

namespace {

// A value that takes some work and depends only on its index.
uint64_t work_of(size_t i) {
    const Hash32 h = blake2b_256(as_bytes("pool/" + std::to_string(i)));
    uint64_t v = 0;
    for (int b = 0; b < 8; ++b) v = v << 8 | h[b];
    return v;
}

uint64_t clock_ns(clockid_t clock) {
    timespec now{};
    clock_gettime(clock, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(now.tv_nsec);
}

}  // namespace

TEST_CASE("a pool map gives every value in input order, the same for 0, 1 and 3 workers") {
    std::vector<uint64_t> expected;
    for (size_t i = 0; i < 1000; ++i) expected.push_back(work_of(i));
    for (unsigned workers : {0u, 1u, 3u}) {
        INFO(workers << " workers");
        WorkerPool pool(workers);
        for (size_t grain : {size_t{1}, size_t{7}, size_t{64}, size_t{5000}}) {
            const auto values = pool.map<uint64_t>(expected.size(), grain, work_of).get();
            CHECK(values == expected);
        }
        CHECK(pool.map<uint64_t>(0, 8, work_of).get().empty());
    }
}

TEST_CASE("many small batches, several in flight, each complete and in order") {
    WorkerPool pool(2, 3);  // fewer queue places than batches in flight: start() must make room
    for (int round = 0; round < 200; ++round) {
        std::vector<WorkerPool::PendingValues<uint64_t>> pending;
        for (size_t b = 0; b < 6; ++b) pending.push_back(pool.map<uint64_t>(b + 1, 1, [b](size_t i) { return work_of(b * 100 + i); }));
        for (size_t b = 0; b < pending.size(); ++b) {
            const auto values = pending[b].get();
            REQUIRE(values.size() == b + 1);
            for (size_t i = 0; i < values.size(); ++i) REQUIRE(values[i] == work_of(b * 100 + i));
        }
    }
}

TEST_CASE("every task runs exactly once") {
    WorkerPool pool(3);
    std::vector<std::atomic<int>> runs(517);
    auto batch = pool.start(runs.size(), [&](size_t i) { runs[i].fetch_add(1); });
    batch.wait();
    for (size_t i = 0; i < runs.size(); ++i) REQUIRE(runs[i].load() == 1);
}

TEST_CASE("a failing task: the lowest-numbered failure is rethrown, whatever the workers, after the others ran") {
    for (unsigned workers : {0u, 1u, 3u}) {
        INFO(workers << " workers");
        WorkerPool pool(workers);
        std::atomic<size_t> ran{0};
        auto batch = pool.start(300, [&](size_t i) {
            ran.fetch_add(1);
            if (i == 250 || i == 40 || i == 41) throw std::runtime_error("task " + std::to_string(i));
        });
        try {
            batch.wait();
            FAIL("wait() did not rethrow");
        } catch (const std::runtime_error& e) {
            CHECK(std::string(e.what()) == "task 40");
        }
        CHECK(ran.load() == 300);
        // The pool still works after a failure.
        CHECK(pool.map<uint64_t>(10, 1, work_of).get().at(9) == work_of(9));
    }
}

TEST_CASE("a batch dropped without waiting cancels its untaken tasks and returns after the running ones") {
    WorkerPool pool(1);
    std::atomic<size_t> ran{0};
    {
        auto batch = pool.start(10'000, [&](size_t) {
            ran.fetch_add(1);
            (void)work_of(0);
        });
    }  // destroyed here: nothing of it may run afterwards
    const size_t after = ran.load();
    CHECK(pool.map<uint64_t>(100, 3, work_of).get().at(99) == work_of(99));
    CHECK(ran.load() == after);
}

TEST_CASE("verify_batch: one result per message in order, the same for any number of workers") {
    std::vector<SignedMessage> messages;
    for (size_t i = 0; i < 300; ++i) {
        const KeyPair k = keypair_from_seed(blake2b_256(as_bytes("pool-key/" + std::to_string(i % 5))));
        SignedMessage m{k.public_key, blake2b_256(as_bytes(std::to_string(i))), {}};
        m.signature = sign(k.secret_key, as_bytes(m.digest));
        if (i % 7 == 3) m.digest[0] ^= 1;  // a signature over other bytes
        messages.push_back(m);
    }
    std::vector<uint8_t> expected;
    for (size_t i = 0; i < messages.size(); ++i) expected.push_back(i % 7 == 3 ? 0 : 1);
    for (unsigned workers : {0u, 1u, 3u}) {
        WorkerPool pool(workers);
        CHECK(verify_batch(messages, pool) == expected);
    }
}

TEST_CASE("slices: as many threads as the minimum share permits; chunks cover every index once") {
    CHECK(slice_count(0, 4, 64) == 1);
    CHECK(slice_count(127, 4, 64) == 1);
    CHECK(slice_count(128, 4, 64) == 2);
    CHECK(slice_count(100'000, 3, 64) == 3);
    for (size_t parts : {1u, 2u, 3u, 7u}) {
        for (size_t chunk_items : {1u, 7u, 64u, 1000u, 5000u}) {
            CAPTURE(parts);
            CAPTURE(chunk_items);
            std::vector<std::atomic<int>> seen(1000);
            std::vector<size_t> items_by_part(parts, 0);
            std::atomic<size_t> calls{0};
            WorkerPool pool(static_cast<unsigned>(parts - 1));
            for_each_slice(pool, seen.size(), parts, chunk_items, [&](size_t begin, size_t end, size_t part) {
                REQUIRE(part < parts);
                REQUIRE(begin < end);
                CHECK(begin % chunk_items == 0);  // a chunk's start
                CHECK(end - begin == std::min(chunk_items, seen.size() - begin));
                items_by_part[part] += end - begin;
                ++calls;
                for (size_t i = begin; i < end; ++i) ++seen[i];
            });
            for (const auto& s : seen) CHECK(s.load() == 1);
            size_t total = 0;
            for (size_t n : items_by_part) total += n;
            CHECK(total == seen.size());
            CHECK(calls.load() == (seen.size() + chunk_items - 1) / chunk_items);
        }
    }
    size_t empty_calls = 0;
    WorkerPool pool(2);
    for_each_slice(pool, 0, 3, 8, [&](size_t, size_t, size_t) { ++empty_calls; });
    CHECK(empty_calls == 0);
}

TEST_CASE("slices: a thread that is slow takes fewer chunks, and the others take the rest") {
    // Part 0 (the caller) sleeps in every chunk; the other part does not, so it takes most
    // (unless the worker took more than half of 64 x 20 ms to wake).
    std::vector<size_t> chunks_by_part(2, 0);
    WorkerPool pool(1);
    for_each_slice(pool, 64, 2, 1, [&](size_t, size_t, size_t part) {
        ++chunks_by_part[part];
        if (part == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    });
    CHECK(chunks_by_part[0] + chunks_by_part[1] == 64);
    CHECK(chunks_by_part[1] > chunks_by_part[0]);
}

TEST_CASE("slices: the lowest chunk's exception is rethrown, whichever thread ran it") {
    for (size_t parts : {1u, 3u}) {
        CAPTURE(parts);
        std::atomic<int> ran{0};
        WorkerPool pool(static_cast<unsigned>(parts - 1));
        try {
            for_each_slice(pool, 30, parts, 5, [&](size_t begin, size_t, size_t) {
                ++ran;
                if (begin >= 10) throw std::runtime_error("chunk at " + std::to_string(begin));
            });
            FAIL("no exception");
        } catch (const std::runtime_error& e) {
            CHECK(std::string(e.what()) == "chunk at 10");
        }
        CHECK(ran.load() >= 3);  // the chunks at 0, 5 and 10 were taken before any threw
        if (parts == 1) CHECK(ran.load() == 3);  // alone, nothing is taken after the throw
    }
}

TEST_CASE("task CPU: a task's own CPU time is counted, on any thread; time it sleeps is not") {
    static constexpr uint64_t burn_ns = 2'000'000;
    static constexpr uint64_t sleep_ns = 20'000'000;
    constexpr size_t tasks = 8;
    for (unsigned workers : {0u, 2u}) {
        CAPTURE(workers);
        WorkerPool pool(workers);
        CHECK(pool.task_cpu_ns() == 0);
        const uint64_t process_start_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
        pool.start(tasks, [](size_t) {
                const uint64_t start_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
                while (clock_ns(CLOCK_THREAD_CPUTIME_ID) - start_ns < burn_ns) {
                }
            }).wait();
        const uint64_t burnt_ns = pool.task_cpu_ns();
        CHECK(burnt_ns >= tasks * burn_ns);
        CHECK(burnt_ns <= clock_ns(CLOCK_PROCESS_CPUTIME_ID) - process_start_ns);
        pool.start(tasks, [](size_t) { std::this_thread::sleep_for(std::chrono::nanoseconds(sleep_ns)); }).wait();
        CHECK(pool.task_cpu_ns() - burnt_ns < tasks * sleep_ns / 4);
    }
}
