import Foundation
import MusterJournal

/// The `muster` executable that `swift build --build-tests` puts beside the test bundle, for tests that run the
/// real command. Missing is a failure the tests report, never a skip.
public enum MusterBinary {
    /// The package's root folder, from this file's path (`Sources/MusterTestSupport/MusterBinary.swift`).
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Where SwiftPM puts the built products: beside the test bundle.
    public static var productsDirectory: URL {
        #if os(macOS)
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        #endif
        return Bundle.main.bundleURL
    }

    /// The first built `muster` found: in the products directory, beside (or up to two folders above) the
    /// test runner, else in `.build/debug`; nil when there is none.
    public static let located: URL? = {
        var candidates = [productsDirectory.appendingPathComponent("muster")]
        var folder = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<3 {
            candidates.append(folder.appendingPathComponent("muster"))
            folder.deleteLastPathComponent()
        }
        candidates.append(packageRoot.appendingPathComponent(".build/debug/muster"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    /// The binary, or where it should be (so that a message can name the place).
    public static var url: URL { located ?? productsDirectory.appendingPathComponent("muster") }

    /// `url`, checked: a missing binary throws with what to do.
    public static func checked() throws -> URL {
        guard let located else {
            throw TestSupportError("the muster binary is not at \(url.path); run `swift build --build-tests` first")
        }
        return located
    }

    /// Starts `muster ARGS` in `scratch` with the given environment added; output to files in `scratch`. The
    /// caller waits for it or kills it.
    public static func start(_ arguments: [String], environment: [String: String], scratch: URL) throws -> (Process, URL, URL) {
        let spawned = try SpawnedProcess.start(try checked(), arguments, environment: try backendEnvironment(environment),
                                               directory: scratch, outputIn: scratch)
        return (spawned.process, URL(fileURLWithPath: spawned.stdoutPath), URL(fileURLWithPath: spawned.stderrPath))
    }

    /// Runs `muster ARGS` to the end (bounded: killed after `timeout` seconds).
    public static func run(_ arguments: [String], environment: [String: String], scratch: URL, timeout: Double = 60) throws -> (status: Int32, stdout: String, stderr: String) {
        let output = try SpawnedProcess.run(try checked(), arguments, environment: try backendEnvironment(environment),
                                            directory: scratch, timeout: timeout)
        return (output.status, output.stdout, output.stderr)
    }

    /// This process's environment with `environment` added, and, when the suite runs on PostgreSQL
    /// (`TestBackend.selected`), the database of the `MUSTER_HOME` given (unless the test chose one itself).
    static func backendEnvironment(_ environment: [String: String]) throws -> [String: String] {
        var merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        merged[JournalLocation.environmentVariable] = environment[JournalLocation.environmentVariable]
        if TestBackend.selected == .postgresql, environment[JournalLocation.environmentVariable] == nil, let home = environment["MUSTER_HOME"] {
            merged.merge(try TestDatabase.environment(home: home, backend: .postgresql)) { $1 }
        }
        return merged
    }
}
