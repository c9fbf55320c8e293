import Foundation

/// A task executor with threads of its own, for work that blocks its thread: the journal is synchronous (a
/// PostgreSQL round trip, or an SQLite lock wait, blocks the caller), and Swift's cooperative pool has one thread
/// per core, so two slow calls on it stall every task of the process. Code that will block runs with one of these
/// as its task executor preference (`withTaskExecutorPreference`): it blocks one of these threads, never the pool's.
///
/// A fixed set of threads (not Dispatch, which adds threads for blocked work slowly and by its own rules): up to
/// `threadCount` jobs block at once; more queue in order. The server's journal work uses one
/// (`DatabaseExecutor`); the tests that wait on processes use another.
public final class BlockingExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var head = 0

    public init(threadCount: Int, name: String) {
        for index in 0..<threadCount {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
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
    public func run<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        try await withTaskExecutorPreference(self, operation: body)
    }
}
