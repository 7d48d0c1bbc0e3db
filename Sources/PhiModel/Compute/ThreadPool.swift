import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A persistent pool of threads that run the chunks of one job at a time, the caller's thread
/// taking part. Workers spin briefly between jobs (a decode step issues hundreds of small
/// matmuls, and a condition-variable wake costs more than the work), then sleep.
public final class ThreadPool: Sendable {
    public let threadCount: Int
    private let state: PoolState

    /// A pool of `threads` threads in all, counting the caller's (so `threads - 1` are started).
    public init(threads: Int) {
        threadCount = max(1, threads)
        state = PoolState(workerCount: threadCount - 1)
        for index in 1..<threadCount {
            let state = self.state
            let thread = Thread { state.workerLoop() }
            thread.name = "phi-compute-\(index)"
            thread.start()
        }
    }

    deinit { state.shutDown() }

    /// The number of cores this process may run on.
    public static var availableCores: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// Runs `body(chunk)` for every chunk in `0..<chunkCount`, spread over the pool, and returns
    /// when all have run. Chunks must be independent. Callers on several threads take turns (the
    /// pool runs one job at a time); a body must not call `parallelFor` on the same pool.
    public func parallelFor(_ chunkCount: Int, _ body: (Int) -> Void) {
        if threadCount == 1 || chunkCount <= 1 {
            for chunk in 0..<chunkCount { body(chunk) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            state.runJob(PoolState.Job(chunkCount: chunkCount, body: escapable))
        }
    }
}

/// The state the pool's threads share; they hold it strongly, so it outlives the pool object
/// until every thread has seen the shutdown.
///
/// `@unchecked Sendable`: `job`, `sleepers` and `isShuttingDown` are only touched under `lock`;
/// the rest are atomics.
private final class PoolState: @unchecked Sendable {
    final class Job: @unchecked Sendable {
        let chunkCount: Int
        let body: (Int) -> Void
        init(chunkCount: Int, body: @escaping (Int) -> Void) {
            self.chunkCount = chunkCount
            self.body = body
        }
    }

    /// Spins a worker makes (tens of microseconds) before it sleeps waiting for the next job.
    private static let spinLimit = 20_000

    private let workerCount: Int
    private let generation = Atomic<Int>(0)
    private let nextChunk = Atomic<Int>(0)
    private let pendingWorkers = Atomic<Int>(0)
    private let lock = NSCondition()
    private var job: Job?
    private var sleepers = 0
    private var isShuttingDown = false

    init(workerCount: Int) { self.workerCount = workerCount }

    /// One job at a time: concurrent callers (stages sharing a pool) wait here for their turn.
    private let jobLock = NSLock()

    func runJob(_ job: Job) {
        jobLock.lock()
        defer { jobLock.unlock() }
        nextChunk.store(0, ordering: .relaxed)
        pendingWorkers.store(workerCount, ordering: .relaxed)
        lock.lock()
        self.job = job
        generation.add(1, ordering: .releasing)
        if sleepers > 0 { lock.broadcast() }
        lock.unlock()
        run(job)
        // A worker may have been descheduled (more runnable threads than cores): after a short
        // spin, yield the core instead of burning it.
        var spins = 0
        while pendingWorkers.load(ordering: .acquiring) > 0 {
            spins += 1
            if spins > Self.spinLimit { sched_yield() }
        }
        lock.lock()
        self.job = nil
        lock.unlock()
    }

    func shutDown() {
        lock.lock()
        isShuttingDown = true
        generation.add(1, ordering: .releasing)
        lock.broadcast()
        lock.unlock()
    }

    private func isStopping() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return isShuttingDown
    }

    private func runCurrentJob() {
        lock.lock()
        let current = job
        lock.unlock()
        if let current { run(current) }
    }

    private func run(_ job: Job) {
        while true {
            let chunk = nextChunk.add(1, ordering: .relaxed).oldValue
            if chunk >= job.chunkCount { return }
            job.body(chunk)
        }
    }

    func workerLoop() {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins > Self.spinLimit {
                    lock.lock()
                    sleepers += 1
                    while generation.load(ordering: .acquiring) == seen && !isShuttingDown { lock.wait() }
                    sleepers -= 1
                    lock.unlock()
                }
            }
            seen = generation.load(ordering: .acquiring)
            if isStopping() { return }
            // The job (and the caller's non-escaping closure in it) must be released before the
            // caller learns this worker is done, so the reference lives only inside this call.
            runCurrentJob()
            pendingWorkers.subtract(1, ordering: .releasing)
        }
    }
}
