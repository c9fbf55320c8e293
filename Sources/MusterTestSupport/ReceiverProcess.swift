import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Why a test could not get its server or program: the message says what to install or build.
public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A receiver process (a Python script under `Receivers/`) on 127.0.0.1 with an ephemeral port, started and
/// stopped by the test itself with bounded waits.
///
/// The script is called as `python3 SCRIPT CONFIG_JSON PORT_FILE RECORD_FILE`: it writes its port to
/// PORT_FILE once it accepts connections and appends what it receives to RECORD_FILE as JSON lines.
public final class ReceiverProcess: @unchecked Sendable {
    public let process: Process
    public let port: Int
    /// A temporary folder of its own: port file, records, stderr. Removed when the receiver goes away.
    public let directory: URL
    public let recordFile: URL
    private let stderrFile: URL

    /// The scripts live beside this file (excluded from the target), so every test target finds the same copy.
    public static let receiversDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Receivers")

    // Probed once per test process: python3 does not change while the tests run.
    static let pythonCheck: TestSupportError? = probePython(needsAiosmtpd: false)
    static let aiosmtpdCheck: TestSupportError? = probePython(needsAiosmtpd: true)

    /// Fails (never skips) when python3 or aiosmtpd is missing, saying that `.ci/run` installs them.
    public static func checkPython(needsAiosmtpd: Bool) throws {
        if let error = needsAiosmtpd ? aiosmtpdCheck : pythonCheck { throw error }
    }

    /// nil when python3 (and aiosmtpd when asked) can be used.
    static func probePython(needsAiosmtpd: Bool) -> TestSupportError? {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", needsAiosmtpd ? "import aiosmtpd" : "import http.server"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        do { try probe.run() } catch {
            return TestSupportError("cannot run python3 (\(error)); .ci/run installs python3 and aiosmtpd (pip install aiosmtpd)")
        }
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else {
            return TestSupportError(needsAiosmtpd
                ? "python3 cannot import aiosmtpd: .ci/run installs it (pip install aiosmtpd)"
                : "python3 is missing or broken: .ci/run installs it")
        }
        return nil
    }

    /// Starts `script` (a file name in `receiversDirectory`) with `config` as its JSON configuration and waits
    /// (at most 30 s) for the port it announces.
    public init(script: String, config: [String: Any], needsAiosmtpd: Bool = false) async throws {
        try Self.checkPython(needsAiosmtpd: needsAiosmtpd)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("muster-receiver-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let portFile = directory.appendingPathComponent("port")
        recordFile = directory.appendingPathComponent("records.jsonl")
        stderrFile = directory.appendingPathComponent("stderr.txt")
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        let configText = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.receiversDirectory.appendingPathComponent(script).path, configText, portFile.path, recordFile.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        try process.run()
        // Bounded wait for the port file (the script writes it once it listens). The file is read once more after
        // the deadline: on a loaded 2-core machine this task may not run for a while (synchronous tests hold the
        // cooperative pool's threads), and a receiver that started meanwhile must not count as a failure.
        func announcedPort() -> Int? {
            guard let text = try? String(contentsOf: portFile, encoding: .utf8) else { return nil }
            return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let deadline = Date().addingTimeInterval(30)
        var port: Int?
        while Date() < deadline {
            port = announcedPort()
            if port != nil || !process.isRunning { break }
            try await _Concurrency.Task.sleep(for: .milliseconds(20))
        }
        if port == nil { port = announcedPort() }
        guard let port else {
            let errors = (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? ""
            Self.stop(process)
            try? FileManager.default.removeItem(at: directory)
            throw TestSupportError("\(script) did not start within 30 s (python3 and aiosmtpd come from .ci/run): \(errors)")
        }
        self.port = port
    }

    deinit {
        Self.stop(process)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Ends the process (bounded). The records stay readable until the receiver goes away.
    public func stop() {
        Self.stop(process)
    }

    /// SIGTERM, up to 5 s to exit, then SIGKILL and up to 2 s more: no test waits forever or leaves it running.
    public static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        let hardDeadline = Date().addingTimeInterval(2)
        while process.isRunning, Date() < hardDeadline { usleep(10_000) }
    }

    /// Every recorded line, parsed.
    public func records<T: Decodable>(as type: T.Type) throws -> [T] {
        let text = (try? String(contentsOf: recordFile, encoding: .utf8)) ?? ""
        let decoder = JSONDecoder()
        return try text.split(separator: "\n").map { try decoder.decode(T.self, from: Data($0.utf8)) }
    }

    public var stderrText: String { (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? "" }
}
