import Dispatch

/// Where the server's journal work runs: the journal is synchronous (a PostgreSQL round trip, or an SQLite lock
/// wait, blocks the calling thread), and Swift's cooperative pool has one thread per core, so two slow queries
/// would stall every request. Route handlers, the timer pump and the stream feeds run with this executor as
/// their task executor preference: their synchronous journal calls block one of its threads, never the pool's.
final class DatabaseExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = DatabaseExecutor()

    /// A concurrent queue: Dispatch adds threads while jobs block (up to its own limit).
    private let queue = DispatchQueue(label: "muster.database", qos: .userInitiated, attributes: .concurrent)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }

    /// Runs `body` with this executor preferred for everything it calls that is not isolated to an actor.
    static func run<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        if #available(macOS 15, *) {
            return try await withTaskExecutorPreference(shared, operation: body)
        }
        return try await body()
    }
}
