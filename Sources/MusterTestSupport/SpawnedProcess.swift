import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What a finished program printed and how it exited.
public struct ProgramOutput: Sendable {
    public var status: Int32
    /// Standard output exactly as written (for byte-for-byte comparisons).
    public var stdoutData: Data
    public var stderr: String
    public var stdout: String { String(decoding: stdoutData, as: UTF8.self) }
}

/// A program a test started. Its output goes to files, so that a large output never blocks on a full pipe;
/// every wait is bounded, so no test hangs on it or leaves it running.
public struct SpawnedProcess {
    public let process: Process
    public let stdoutPath: String
    public let stderrPath: String

    /// Starts `program ARGS` in `directory`, writing `NAME.out` and `NAME.err` in `folder`. `environment`: the
    /// whole environment (nil: this process's). `input`: what it reads on stdin (nothing by default).
    public static func start(_ program: URL, _ arguments: [String], environment: [String: String]? = nil, directory: URL,
                             outputIn folder: URL, name: String = UUID().uuidString, input: Data? = nil) throws -> SpawnedProcess {
        let out = folder.appendingPathComponent("\(name).out"), err = folder.appendingPathComponent("\(name).err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.currentDirectoryURL = directory
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        if let input {
            let inURL = folder.appendingPathComponent("\(name).in")
            try input.write(to: inURL)
            process.standardInput = try FileHandle(forReadingFrom: inURL)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        return SpawnedProcess(process: process, stdoutPath: out.path, stderrPath: err.path)
    }

    /// Runs `program ARGS` in `directory` (default: a scratch folder of its own) to the end, at most `timeout`
    /// seconds; the output files are removed afterwards.
    public static func run(_ program: URL, _ arguments: [String], environment: [String: String]? = nil, directory: URL? = nil,
                           input: Data? = nil, timeout: Double = 60) throws -> ProgramOutput {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("muster-program-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let spawned = try start(program, arguments, environment: environment, directory: directory ?? scratch, outputIn: scratch, input: input)
        return try spawned.finish(timeout: timeout)
    }

    public var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Polls (10 ms) until the process ends or `timeout` passes; true when it ended.
    public func wait(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline { return false }
            usleep(10_000)
        }
        process.waitUntilExit()
        return true
    }

    /// Polls until `condition(stdout)` holds or `timeout` passes.
    public func waitForOutput(timeout: TimeInterval, _ condition: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(stdout) { return true }
            if !process.isRunning { return condition(stdout) }
            usleep(20_000)
        }
        return false
    }

    public func kill(_ signal: Int32) {
        Foundation.kill(process.processIdentifier, signal)
    }

    /// Waits (at most `timeout` seconds) for the end and returns the output; a program still running then is
    /// killed and reported.
    public func finish(timeout: TimeInterval) throws -> ProgramOutput {
        guard wait(timeout: timeout) else {
            kill(SIGKILL)
            _ = wait(timeout: 10)
            let command = ([process.executableURL?.lastPathComponent ?? "program"] + (process.arguments ?? [])).joined(separator: " ")
            throw TestSupportError("\(command) did not finish within \(timeout) s")
        }
        return ProgramOutput(status: process.terminationStatus,
                             stdoutData: (try? Data(contentsOf: URL(fileURLWithPath: stdoutPath))) ?? Data(), stderr: stderr)
    }
}

/// Runs blocking work (waiting for a process, a bounded poll) on a thread of its own and awaits it: an async test
/// must not hold one of Swift's few cooperative threads while it waits, or the in-process server it tests (and
/// every other test's) stalls with it.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// Waited for from another thread by `offThePool`: its fields never change, and `Process` answers `isRunning` and
/// `waitUntilExit` from any thread.
extension SpawnedProcess: @unchecked Sendable {}
