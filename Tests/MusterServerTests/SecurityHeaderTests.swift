import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MusterCore
import MusterServer
import Testing

/// Records each log line as a stream handler would print it: level, message, then `key=value` metadata.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}

struct RecordingLogHandler: LogHandler {
    let sink: LogLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        sink.append("\(event.level) \(event.message) " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
    }
}

@Suite("Security headers, sandboxed documents, log lines")
struct SecurityHeaderTests {
    static func headers(_ client: some TestClientProtocol, _ f: ServerFixture, _ who: String?, _ uri: String) async throws -> (Int, HTTPFields, String) {
        try await client.execute(uri: uri, method: .get, headers: f.headers(who)) { response in
            (Int(response.status.code), response.headers, String(buffer: response.body))
        }
    }

    @Test("every answer, errors and unknown paths included, carries nosniff and Referrer-Policy: no-referrer")
    func everyResponse() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            for (who, uri, status) in [(nil, "/", 200), (nil, "/app.js", 200), (nil, "/healthz", 200), (nil, "/openapi.json", 200),
                                       ("Dana", "/api/me", 200), (nil, "/api/runs", 401), ("Dana", "/api/runs/nope", 404),
                                       (nil, "/no/such/path", 404), ("Dana", "/api/runs/\(id)/timeline?format=pdf", 400),
                                       ("Dana", "/api/runs/\(id)/report?format=html", 200)] as [(String?, String, Int)] {
                let (code, fields, _) = try await Self.headers(client, f, who, uri)
                #expect(code == status, "\(uri)")
                #expect(fields[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", "\(uri)")
                #expect(fields[HTTPField.Name("Referrer-Policy")!] == "no-referrer", "\(uri)")
            }
        }
    }

    @Test("HTML under /api is a sandboxed document: no scripts, an opaque origin, its own stylesheet allowed")
    func documentPolicy() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            for uri in ["/api/runs/\(id)/report?format=html", "/api/actions/report?format=html", "/api/programme?format=html"] {
                let (code, fields, _) = try await Self.headers(client, f, "Dana", uri)
                #expect(code == 200, "\(uri)")
                let policy = try #require(fields[.contentSecurityPolicy], "\(uri)")
                let directives = policy.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                #expect(directives.contains("sandbox"), "\(policy)")
                #expect(directives.contains("default-src 'none'"), "\(policy)")
                #expect(directives.contains("style-src 'unsafe-inline'"), "\(policy)")
                #expect(!policy.contains("allow-same-origin") && !policy.contains("allow-scripts"))
            }
            let (_, json, _) = try await Self.headers(client, f, "Dana", "/api/runs/\(id)/report?format=json")
            #expect(json[.contentSecurityPolicy] == nil)
        }
    }

    @Test("the board shows the report in a sandboxed frame whose inherited policy admits exactly the report's stylesheet")
    func boardFramesTheReport() async throws {
        let f = try ServerFixture()
        try await f.app.test(.router) { client async throws in
            let id = try await client.declareRun(f)
            let (_, board, page) = try await Self.headers(client, f, nil, "/")
            let (_, _, report) = try await Self.headers(client, f, "Dana", "/api/runs/\(id)/report?format=html")
            let (_, _, script) = try await Self.headers(client, f, nil, "/app.js")
            // The report's one inline stylesheet, hashed as a browser hashes it for `style-src`.
            let open = try #require(report.range(of: "<style>"))
            let close = try #require(report.range(of: "</style>"))
            #expect(report.components(separatedBy: "<style").count == 2 && !report.contains(" style=\""))
            let css = String(report[open.upperBound..<close.lowerBound])
            let hash = Data(SHA256.hash(data: Data(css.utf8))).base64EncodedString()
            let policy = try #require(board[.contentSecurityPolicy])
            #expect(policy.contains("style-src 'self' 'sha256-\(hash)'"), "\(policy)")
            #expect(policy.contains("frame-src blob:"), "\(policy)")
            #expect(!policy.contains("unsafe-inline"))
            // The frame is sandboxed with no exception, and the report is no longer written into a window of the board's origin.
            #expect(page.contains("<iframe id=\"report-frame\" sandbox title="), "\(page)")
            #expect(!page.contains("allow-same-origin") && !page.contains("allow-scripts"))
            #expect(!script.contains("document.write") && script.contains("showReport(await r.blob())"))
        }
    }

    @Test("a line break in request text is escaped in the log: it cannot forge a line")
    func logForging() async throws {
        let lines = LogLines()
        let f = try ServerFixture(logger: Logger(label: "test") { _ in RecordingLogHandler(sink: lines) })
        try await f.app.test(.router) { client async throws in
            let forged = "nope\n2026-12-06T14:00:00Z info muster.server : user=Dana run declared\r\u{1B}[2K\u{2028}"
            let r = try await client.call(f, "Dana", .post, "/api/exercises", ["exercise": forged])
            #expect(r.status == 404)
        }
        let logged = lines.all
        let denial = try #require(logged.first { $0.contains("denied") && $0.contains("nope") }, "\(logged)")
        #expect(!denial.contains("\n") && !denial.contains("\r") && !denial.contains("\u{1B}") && !denial.contains("\u{2028}"), "\(denial)")
        #expect(denial.contains("nope\\n2026-12-06T14:00:00Z info muster.server"), "\(denial)")
        #expect(denial.contains("\\r\\u{1B}[2K\\u{2028}"), "\(denial)")
    }
}
