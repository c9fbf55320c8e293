import MusterJournal
import Testing

/// A suite or test trait: its tests run with threads of their own as their task executor preference, not on
/// Swift's cooperative pool. For tests that block while they wait (on a spawned `muster`, a server process, a
/// socket): swift-testing calls a synchronous test on a cooperative thread, and with one such thread per core
/// two long waits stalled every async test of the process (their in-process servers then answered late or closed
/// connections). `@Suite("…", .ownThreads)`.
public struct OwnThreads: SuiteTrait, TestTrait, TestScoping {
    /// Up to this many tests block at once; more wait their turn. Few: each one runs processes that need the same
    /// two cores (with 16, timing checks of the CLI tests failed).
    static let executor = BlockingExecutor(threadCount: 4, name: "muster-test")

    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        // The suite's own scope passes through: each test case gets the preference (nested, it changes nothing).
        guard testCase != nil else { return try await function() }
        try await Self.executor.run { try await function() }
    }
}

extension Trait where Self == OwnThreads {
    /// Runs the tests on threads of their own (see `OwnThreads`).
    public static var ownThreads: OwnThreads { OwnThreads() }
}
