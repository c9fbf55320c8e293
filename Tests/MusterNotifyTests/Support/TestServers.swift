import Foundation
import MusterCore
import MusterNotify
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The tests that start real servers run one at a time: on two cores, dozens of Python receivers at once
/// would make the timing checks (timeouts, concurrency) measure the machine instead of the transport.
@Suite("MusterNotify against real servers on 127.0.0.1", .serialized)
struct RealServers {}

/// Why a test could not get its server: the message says what to install and where it is installed.
struct TestServerError: Error, CustomStringConvertible {
    var description: String
}

/// A receiver process (Python script under `Receivers/`) on 127.0.0.1 with an ephemeral port, started and
/// stopped by the test itself with bounded waits.
final class ReceiverProcess: @unchecked Sendable {
    let process: Process
    let port: Int
    let directory: URL
    let recordFile: URL
    private let stderrFile: URL

    static let receiversDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Receivers")

    static let pythonCheck: TestServerError? = probePython(needsAiosmtpd: false)
    static let aiosmtpdCheck: TestServerError? = probePython(needsAiosmtpd: true)

    /// Fails (never skips) when python3 or aiosmtpd is missing, saying that `.ci/run` installs them.
    static func checkPython(needsAiosmtpd: Bool) throws {
        if let error = needsAiosmtpd ? aiosmtpdCheck : pythonCheck { throw error }
    }

    /// nil when python3 (and aiosmtpd when asked) can be used.
    static func probePython(needsAiosmtpd: Bool) -> TestServerError? {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", needsAiosmtpd ? "import aiosmtpd" : "import http.server"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        do { try probe.run() } catch {
            return TestServerError(description: "cannot run python3 (\(error)); .ci/run installs python3 and aiosmtpd (pip install aiosmtpd)")
        }
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else {
            return TestServerError(description: needsAiosmtpd
                ? "python3 cannot import aiosmtpd: .ci/run installs it (pip install aiosmtpd)"
                : "python3 is missing or broken: .ci/run installs it")
        }
        return nil
    }

    init(script: String, config: [String: Any], needsAiosmtpd: Bool = false) async throws {
        try Self.checkPython(needsAiosmtpd: needsAiosmtpd)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("muster-notify-\(UUID().uuidString)")
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
        // Bounded wait for the port file (the script writes it once it listens).
        let deadline = Date().addingTimeInterval(15)
        var port: Int?
        while Date() < deadline {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                port = value
                break
            }
            if !process.isRunning { break }
            try await _Concurrency.Task.sleep(for: .milliseconds(20))
        }
        guard let port else {
            let errors = (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? ""
            Self.stop(process)
            throw TestServerError(description: "\(script) did not start within 15 s: \(errors)")
        }
        self.port = port
    }

    deinit { stop() }

    func stop() {
        Self.stop(process)
        try? FileManager.default.removeItem(at: directory)
    }

    static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        let hardDeadline = Date().addingTimeInterval(2)
        while process.isRunning, Date() < hardDeadline { usleep(10_000) }
    }

    /// Every recorded line, parsed.
    func records<T: Decodable>(as type: T.Type) throws -> [T] {
        let text = (try? String(contentsOf: recordFile, encoding: .utf8)) ?? ""
        let decoder = JSONDecoder()
        return try text.split(separator: "\n").map { try decoder.decode(T.self, from: Data($0.utf8)) }
    }

    var stderrText: String { (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? "" }
}

struct RecordedRequest: Decodable, Sendable {
    var seq: Int
    var method: String
    var path: String
    /// Lowercased names.
    var headers: [String: String]
    var body: String
    var body_base64: String
    var client_port: Int
    var attempt: Int

    var bodyBytes: [UInt8] { Array(Data(base64Encoded: body_base64) ?? Data()) }

    /// The body parsed as a JSON object.
    func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(bodyBytes)) as? [String: Any] else {
            throw TestServerError(description: "body is not a JSON object: \(body)")
        }
        return object
    }
}

struct RecordedMail: Decodable, Sendable {
    var mail_from: String
    var rcpt_tos: [String]
    var headers: [String: String]
    var raw_headers: String
    var content_type: String
    var charset: String?
    var body: String
    var defects: [String]
    var login: String?
    var tls: Bool
}

final class HTTPReceiver: @unchecked Sendable {
    let receiver: ReceiverProcess
    var port: Int { receiver.port }

    /// `routes` as the script documents: path -> {statuses, status, delay, drop, headers, body}.
    init(routes: [String: [String: Any]] = [:], tls: (cert: String, key: String)? = nil) async throws {
        var config: [String: Any] = ["routes": routes, "lifetime": 180]
        if let tls { config["tls"] = ["cert": tls.cert, "key": tls.key] }
        receiver = try await ReceiverProcess(script: "http_receiver.py", config: config)
    }

    func url(_ path: String, scheme: String = "http") -> String { "\(scheme)://127.0.0.1:\(port)\(path)" }

    func requests() throws -> [RecordedRequest] { try receiver.records(as: RecordedRequest.self).sorted { $0.seq < $1.seq } }

    func stop() { receiver.stop() }
}

final class SMTPSink: @unchecked Sendable {
    let receiver: ReceiverProcess
    var port: Int { receiver.port }

    init(refuse: [String] = [], users: [String: String]? = nil, tls: (cert: String, key: String)? = nil) async throws {
        var config: [String: Any] = ["refuse": refuse, "lifetime": 180]
        if let users { config["users"] = users }
        if let tls { config["tls"] = ["cert": tls.cert, "key": tls.key] }
        receiver = try await ReceiverProcess(script: "smtp_sink.py", config: config, needsAiosmtpd: true)
    }

    var url: String { "smtp://127.0.0.1:\(port)" }

    func messages() throws -> [RecordedMail] { try receiver.records(as: RecordedMail.self) }

    func stop() { receiver.stop() }
}

/// A port on 127.0.0.1 where nothing listens: bound, read, closed.
func closedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestServerError(description: "socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    guard bound == 0 else { throw TestServerError(description: "bind() failed") }
    let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    guard named == 0 else { throw TestServerError(description: "getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A self-signed certificate for 127.0.0.1 (openssl), for the TLS tests: (cert, key) paths.
func selfSignedCertificate(in directory: URL) throws -> (cert: String, key: String) {
    let cert = directory.appendingPathComponent("cert.pem").path
    let key = directory.appendingPathComponent("key.pem").path
    let openssl = Process()
    openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    openssl.arguments = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    openssl.standardOutput = FileHandle.nullDevice
    openssl.standardError = FileHandle.nullDevice
    do { try openssl.run() } catch { throw TestServerError(description: "cannot run openssl (apt-get install openssl): \(error)") }
    openssl.waitUntilExit()
    guard openssl.terminationStatus == 0 else { throw TestServerError(description: "openssl could not make a test certificate") }
    return (cert, key)
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("muster-notify-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

// MARK: - Playbook fixtures

let here = SourceLocation(file: "playbooks/test.yaml", line: 1, column: 1)

func channel(_ id: String, _ type: ChannelType, _ settings: [String: ChannelValue] = [:], exercise: String? = nil, liveOnly: Bool = false) -> Channel {
    Channel(
        id: Located(id, at: here), type: Located(type, at: here),
        settings: settings.mapValues { Located($0, at: here) },
        exerciseOverride: exercise.map { Located($0, at: here) }, liveOnly: liveOnly)
}

func context(mode: RunMode = .live, severity: Severity = .p1, link: String? = "https://muster.example/runs/run-7", action: AlertAction = .trigger) -> NotificationContext {
    NotificationContext(
        runID: "run-7", runTitle: "Ransomware on the finance shares", playbookID: "ransomware-file-servers",
        playbookTitle: "Ransomware on file servers", state: "contain", stateTitle: "Contain the spread", mode: mode,
        severity: severity, event: "confirmed", time: Instant(iso8601: "2026-03-06T17:40:00Z")!, link: link, alertAction: action)
}

let sampleNotification = Notification(id: "n3", channel: "ops", message: "Containment started: isolate the file servers", trigger: "enter:contain")
