import Foundation

#if canImport(Glibc)
import Glibc
#endif

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

    /// Starts `muster ARGS` in `scratch` with the given environment added; output to files in `scratch`
    /// (files, so that a large output never blocks on a full pipe). The caller waits for it or kills it.
    public static func start(_ arguments: [String], environment: [String: String], scratch: URL) throws -> (Process, URL, URL) {
        let binary = try checked()
        let outURL = scratch.appendingPathComponent("stdout-\(UUID().uuidString)")
        let errURL = scratch.appendingPathComponent("stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = scratch
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, outURL, errURL)
    }

    /// Runs `muster ARGS` to the end (bounded: killed after `timeout` seconds).
    public static func run(_ arguments: [String], environment: [String: String], scratch: URL, timeout: Double = 60) throws -> (status: Int32, stdout: String, stderr: String) {
        let (process, outURL, errURL) = try start(arguments, environment: environment, scratch: scratch)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw TestSupportError("muster \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
        }
        process.waitUntilExit()
        return (process.terminationStatus,
                String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }
}
