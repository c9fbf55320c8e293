import Foundation
import MusterTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The 64 KiB body limit of the real `muster serve`, for a body sent without a Content-Length (chunked): the
/// same JSON 413 as with one (issue 14). Hummingbird's test client always sets Content-Length, so this needs the
/// process and a raw socket.
@Suite("muster serve body limit (real process)", .ownThreads)
struct ServeBodyLimitTests {
    @Test("a chunked body over 64 KiB gets the documented JSON 413, as a Content-Length one does")
    func chunkedTooLarge() throws {
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        let added = try cli.run(["users", "add", "Dana", "--admin"])
        #expect(added.status == 0, "\(added.stderr)")
        let token = try #require(added.lines.first)
        let serve = try ServeProcess.start(cli, name: "serve")
        defer { serve.kill() }

        let text = String(repeating: "x", count: 70 * 1024)
        let body = "{\"playbook\": \"ransomware-file-servers\", \"title\": \"\(text)\"}"
        var chunked = ""
        var rest = Substring(body)
        while !rest.isEmpty {
            let piece = rest.prefix(16 * 1024)
            chunked += String(piece.utf8.count, radix: 16) + "\r\n" + piece + "\r\n"
            rest = rest.dropFirst(piece.count)
        }
        chunked += "0\r\n\r\n"
        let connection = try RawHTTP(port: serve.port)
        try connection.send("POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked)
        let (status, headers) = try connection.readHead()
        let length = Int(headers["content-length"] ?? "0") ?? 0
        let answer = String(decoding: try connection.read(count: length), as: UTF8.self)
        #expect(status == 413)
        #expect(headers["content-type"]?.hasPrefix("application/json") == true, "\(headers)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any], "\(answer)")
        #expect(json["code"] as? String == "payload-too-large" && json["status"] as? Int == 413, "\(answer)")

        // The same body with a Content-Length: the same answer.
        let sized = try serve.call(token, "POST", "/api/runs", body)
        #expect(sized.status == 413 && sized.json["code"] as? String == "payload-too-large")
    }
}

@Suite("muster serve --failed-login-limit (real process)", .ownThreads)
struct ServeLoginLimitTests {
    @Test("--failed-login-limit sets how many failed logins per address and minute come before 429 (default 10)")
    func failedLoginLimit() throws {
        for (arguments, secondStatus) in [(["--failed-login-limit", "1"], 429), ([], 401)] {
            let cli = try IncidentCLIHarness()
            defer { cli.remove() }
            let serve = try ServeProcess.start(cli, name: "serve", arguments: arguments)
            defer { serve.kill() }
            #expect(try serve.call("mst_wrong", "GET", "/api/me").status == 401)
            let second = try serve.call("mst_wrong", "GET", "/api/me")
            #expect(second.status == secondStatus, "\(arguments)")
            if secondStatus == 429 { #expect(second.json["code"] as? String == "too-many-requests") }
        }
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        let refused = try cli.run(["serve", "--failed-login-limit", "0"])
        #expect(refused.status != 0 && refused.stderr.contains("--failed-login-limit must be at least 1"), "\(refused.stderr)")
    }
}

@Suite("muster serve --public-url (real process)", .ownThreads)
struct ServePublicURLTests {
    @Test("--public-url (or MUSTER_PUBLIC_URL) must be an http:// or https:// URL with a host; anything else is refused naming it")
    func publicURLChecked() throws {
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        for bad in ["ftp://muster.example.org", "https://", "muster.example.org"] {
            let refused = try cli.run(["serve", "--port", "0", "--public-url", bad])
            #expect(refused.status != 0 && refused.stderr.contains("--public-url (or MUSTER_PUBLIC_URL) '\(bad)' is not an http:// or https:// URL"),
                    "\(bad): \(refused.stderr)")
        }
    }
}
