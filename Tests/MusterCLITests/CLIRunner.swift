import Foundation
import MusterTestSupport
import Testing

/// What one run of the `muster` binary printed and how it exited.
struct CLIResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs the real `muster` executable from the build products directory (next to the test bundle).
enum CLI {
    static let testsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let fixtures = testsFolder.appendingPathComponent("Fixtures")
    static let packageRoot = testsFolder.deletingLastPathComponent().deletingLastPathComponent()

    static var binary: URL { MusterBinary.url }

    /// Runs `muster ARGS` in `directory`; output goes through temporary files so that large outputs never
    /// block on a full pipe.
    static func run(_ arguments: [String], in directory: URL = fixtures) throws -> CLIResult {
        try runProgram(try MusterBinary.checked(), arguments, in: directory)
    }

    /// Runs `program ARGS` in `directory` (bounded: 60 s); `environment` nil means this process's.
    static func runProgram(_ program: URL, _ arguments: [String], in directory: URL = fixtures, environment: [String: String]? = nil,
                           input: String? = nil) throws -> CLIResult {
        let output = try SpawnedProcess.run(program, arguments, environment: environment, directory: directory, input: input.map { Data($0.utf8) })
        return CLIResult(status: output.status, stdout: output.stdout, stderr: output.stderr)
    }

    /// `dot` from Graphviz on PATH (required: .ci/run installs it).
    static func graphviz() -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent("dot")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }
}

struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
