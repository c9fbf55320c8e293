import Foundation
import MusterTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `muster serve` as a process: an exercise started through it survives a SIGTERM and a SIGKILL.
@Suite("muster serve restarts", .ownThreads)
struct ServeResumeTests {
    @Test("a second muster serve that cannot bind the port says so in one line and leaves the first server's exercise alone")
    func secondServerOnTheSamePort() throws {
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        let added = try cli.run(["users", "add", "Olga"])
        #expect(added.status == 0, "\(added.stderr)")
        let olga = added.lines.last ?? ""
        let first = try ServeProcess.start(cli, name: "serve-a")
        defer { first.kill() }
        let started = try first.call(olga, "POST", "/api/exercises", #"{"exercise": "ransomware-tabletop-2026q4", "speed": "30"}"#)
        #expect(started.status == 201, "\(started.json)")
        let run = try #require(started.json["id"] as? String)

        let second = try cli.run(["serve", "--port", "\(first.port)", "--playbooks", IncidentCLIHarness.root + "/playbooks"])
        #expect(second.status != 0)
        #expect(second.stderr.contains("port \(first.port) on 127.0.0.1 is already in use (is another muster serve running?)"), "\(second.stderr)")
        #expect(!second.stderr.contains("bind(descriptor"), "\(second.stderr)")

        // The first server still drives the exercise: its clock was never suspended.
        let view = try first.call(olga, "GET", "/api/runs/\(run)/exercise")
        #expect((view.json["clock"] as? [String: Any])?["paused"] as? Bool == false, "\(view.json)")
        let events = try first.call(olga, "GET", "/api/runs/\(run)/events")
        let descriptions = (events.json["events"] as? [[String: Any]] ?? []).compactMap { $0["description"] as? String }
        #expect(!descriptions.contains { $0.hasPrefix("scenario clock suspended") }, "\(descriptions)")
        first.server.kill(SIGTERM)
        try first.expectExit()
    }

    @Test("start an exercise, SIGTERM, restart: paused, the facilitator resumes; SIGKILL, restart: paused again, chain intact")
    func sigtermAndSigkill() throws {
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        var tokens: [String: String] = [:]
        for name in ["Olga", "Lee"] {
            let added = try cli.run(["users", "add", name])
            #expect(added.status == 0, "\(added.stderr)")
            tokens[name] = added.lines.last ?? ""
        }
        let olga = tokens["Olga"]!, lee = tokens["Lee"]!

        let first = try ServeProcess.start(cli, name: "serve-1")
        var running: ServeProcess? = first
        defer { running?.kill() }
        let started = try first.call(olga, "POST", "/api/exercises", #"{"exercise": "ransomware-tabletop-2026q4", "speed": "30"}"#)
        #expect(started.status == 201, "\(started.json)")
        let run = try #require(started.json["id"] as? String)
        first.server.kill(SIGTERM)
        try first.expectExit()  // a graceful stop

        let second = try ServeProcess.start(cli, name: "serve-2")
        running = second
        let view = try second.call(olga, "GET", "/api/runs/\(run)/exercise")
        #expect(view.json["driven"] as? Bool == true)
        #expect((view.json["clock"] as? [String: Any])?["paused"] as? Bool == true)
        #expect(try second.call(lee, "POST", "/api/runs/\(run)/exercise", #"{"control": "resume"}"#).status == 403)
        #expect(try second.call(olga, "POST", "/api/runs/\(run)/exercise", #"{"control": "resume"}"#).status == 200)
        second.kill()  // no chance to suspend: the third server does it on taking the run up

        let third = try ServeProcess.start(cli, name: "serve-3")
        running = third
        // The killed server's lease on the exercise (and on the timer pump) runs out within 5 s; then the third
        // takes the run up (suspending the clock at the scenario time last recorded). Until then it follows it.
        var again = try third.call(olga, "GET", "/api/runs/\(run)/exercise")
        let deadline = Date().addingTimeInterval(30)
        while (again.json["clock"] as? [String: Any])?["paused"] as? Bool != true, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.25)
            again = try third.call(olga, "GET", "/api/runs/\(run)/exercise")
        }
        #expect((again.json["clock"] as? [String: Any])?["paused"] as? Bool == true, "\(again.json)")
        let next = try third.call(olga, "POST", "/api/runs/\(run)/exercise", #"{"control": "next"}"#)
        #expect(next.status == 200, "\(next.json)")
        let events = try third.call(olga, "GET", "/api/runs/\(run)/events")
        let descriptions = (events.json["events"] as? [[String: Any]] ?? []).compactMap { $0["description"] as? String }
        #expect(descriptions.filter { $0.hasPrefix("scenario clock suspended") }.count == 2, "\(descriptions)")
        third.server.kill(SIGTERM)
        try third.expectExit()
        running = nil

        let verify = try cli.run(["verify", run])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
    }
}
