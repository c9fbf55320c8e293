import Foundation

/// Where the server's journal work runs: the journal is synchronous (a PostgreSQL round trip, or an SQLite lock
/// wait, blocks the calling thread), and Swift's cooperative pool has one thread per core, so two slow queries
/// would stall every request. Route handlers, the timer pump and the stream feeds run with this executor as
/// their task executor preference: their synchronous journal calls block one of its threads, never the pool's.
///
/// A fixed set of threads of its own (not Dispatch, which adds threads for blocked work slowly and by its own
/// rules): up to `threadCount` jobs wait on the database at once; more queue in order.
final class DatabaseExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = DatabaseExecutor(threadCount: 32)

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var head = 0

    init(threadCount: Int) {
        for index in 0..<threadCount {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "muster-database-\(index)"
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        let executor = asUnownedTaskExecutor()
        while true {
            condition.lock()
            while head == jobs.count { condition.wait() }
            let job = jobs[head]
            head += 1
            if head > 1024, head * 2 > jobs.count {  // drop what was run, now and then
                jobs.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job.runSynchronously(on: executor)
        }
    }

    /// Runs `body` with this executor preferred for everything it calls that is not isolated to an actor.
    static func run<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        if #available(macOS 15, *) {
            return try await withTaskExecutorPreference(shared, operation: body)
        }
        return try await body()
    }
}
