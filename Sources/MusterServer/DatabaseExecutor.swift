import Foundation
import MusterJournal

/// Where the server's journal work runs (`BlockingExecutor`): route handlers, the timer pump and the stream feeds
/// run with it as their task executor preference, so their synchronous journal calls block one of its 32 threads,
/// never Swift's cooperative pool (one thread per core: two slow queries there would stall every request).
enum DatabaseExecutor {
    static let shared = BlockingExecutor(threadCount: 32, name: "muster-database")

    /// Runs `body` with the database executor preferred for everything it calls that is not isolated to an actor.
    static func run<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        try await shared.run(body)
    }
}
