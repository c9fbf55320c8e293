import Foundation
import Testing

/// `muster serve` as a process: an exercise started through it survives a SIGTERM and a SIGKILL.
@Suite("muster serve restarts")
struct ServeResumeTests {
    /// One HTTP call through Python's standard library (CI installs python3; Foundation's URLSession is not
    /// linked into these tests): status and body.
    static let client = """
        import sys, urllib.request, urllib.error
        method, url, token, body = sys.argv[1:5]
        req = urllib.request.Request(url, method=method, data=body.encode() if body else None,
                                     headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                print(r.status); print(r.read().decode())
        except urllib.error.HTTPError as e:
            print(e.code); print(e.read().decode())
        """

    struct Server {
        let process: Spawned
        let base: String
    }

    static func serve(_ cli: IncidentCLIHarness, _ name: String) throws -> Server {
        let spawned = try cli.spawn(try cli.muster(), ["serve", "--port", "0"], env: cli.baseEnvironment, name: name)
        var base: String?
        _ = spawned.waitForOutput(timeout: 30) { out in
            guard let range = out.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) else { return false }
            base = String(out[range])
            return true
        }
        guard let base else {
            spawned.kill(SIGKILL)
            _ = spawned.wait(timeout: 10)
            throw CLIHarnessError("muster serve did not start: \(spawned.stdout) \(spawned.stderr)")
        }
        return Server(process: spawned, base: base)
    }

    static func call(_ cli: IncidentCLIHarness, _ server: Server, _ token: String, _ method: String, _ path: String,
                     _ body: String = "") throws -> (status: Int, json: [String: Any]) {
        let result = try IncidentCLIHarness.execute("/usr/bin/python3", ["-c", client, method, server.base + path, token, body],
                                                    env: cli.baseEnvironment, timeout: 30)
        let lines = result.stdout.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        let status = Int(lines.first ?? "") ?? 0
        let json = lines.count > 1 ? (try? JSONSerialization.jsonObject(with: Data(lines[1].utf8))) as? [String: Any] : nil
        return (status, json ?? [:])
    }

    static func stop(_ server: Server, _ signal: Int32) -> Int32? {
        server.process.kill(signal)
        guard server.process.wait(timeout: 30) else {
            server.process.kill(SIGKILL)
            _ = server.process.wait(timeout: 10)
            return nil
        }
        return server.process.process.terminationStatus
    }

    @Test("start an exercise, SIGTERM, restart: paused, the facilitator resumes; SIGKILL, restart: paused again, chain intact")
    func sigtermAndSigkill() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            Issue.record("python3 is not installed")
            return
        }
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        var tokens: [String: String] = [:]
        for name in ["Olga", "Lee"] {
            let added = try cli.run(["users", "add", name])
            #expect(added.status == 0, "\(added.stderr)")
            tokens[name] = added.lines.last ?? ""
        }
        let olga = tokens["Olga"]!, lee = tokens["Lee"]!

        let first = try Self.serve(cli, "serve-1")
        var running: Server? = first
        defer { if let server = running { _ = Self.stop(server, SIGKILL) } }
        let started = try Self.call(cli, first, olga, "POST", "/api/exercises", #"{"exercise": "ransomware-tabletop-2026q4", "speed": "30"}"#)
        #expect(started.status == 201, "\(started.json)")
        let run = try #require(started.json["id"] as? String)
        #expect(Self.stop(first, SIGTERM) == 0, "graceful stop: \(first.process.stderr)")

        let second = try Self.serve(cli, "serve-2")
        running = second
        let view = try Self.call(cli, second, olga, "GET", "/api/runs/\(run)/exercise")
        #expect(view.json["driven"] as? Bool == true)
        #expect((view.json["clock"] as? [String: Any])?["paused"] as? Bool == true)
        #expect(try Self.call(cli, second, lee, "POST", "/api/runs/\(run)/exercise", #"{"control": "resume"}"#).status == 403)
        #expect(try Self.call(cli, second, olga, "POST", "/api/runs/\(run)/exercise", #"{"control": "resume"}"#).status == 200)
        _ = Self.stop(second, SIGKILL)  // no chance to suspend: the third server does it on taking the run up

        let third = try Self.serve(cli, "serve-3")
        running = third
        let again = try Self.call(cli, third, olga, "GET", "/api/runs/\(run)/exercise")
        #expect((again.json["clock"] as? [String: Any])?["paused"] as? Bool == true, "\(again.json)")
        let next = try Self.call(cli, third, olga, "POST", "/api/runs/\(run)/exercise", #"{"control": "next"}"#)
        #expect(next.status == 200, "\(next.json)")
        let events = try Self.call(cli, third, olga, "GET", "/api/runs/\(run)/events")
        let descriptions = (events.json["events"] as? [[String: Any]] ?? []).compactMap { $0["description"] as? String }
        #expect(descriptions.filter { $0.hasPrefix("scenario clock suspended") }.count == 2, "\(descriptions)")
        #expect(Self.stop(third, SIGTERM) == 0)
        running = nil

        let verify = try cli.run(["verify", run])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
    }
}
