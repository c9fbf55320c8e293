import Foundation
import MusterTestSupport
import Testing

/// The example playbooks in playbooks/ that have a simulation script in Tests/Simulations/.
enum BundledPlaybooks {
    static let simulations = CLI.packageRoot.appendingPathComponent("Tests/Simulations")

    static let ids: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: simulations.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
    }()

    /// The state the script's `expect:` names (`expect: { state: closed }`).
    static func expectedState(_ id: String) throws -> String {
        let text = try String(contentsOf: simulations.appendingPathComponent("\(id).yaml"), encoding: .utf8)
        for line in text.split(separator: "\n") where line.hasPrefix("expect:") {
            if let range = line.range(of: "state:") {
                let rest = line[range.upperBound...].drop { $0 == " " }
                return String(rest.prefix { $0 != " " && $0 != "}" && $0 != "," })
            }
        }
        throw CLIError("Tests/Simulations/\(id).yaml has no `expect: { state: ... }`")
    }
}

@Suite("muster simulate", .ownThreads)
struct SimulateCommandTests {
    @Test("a script that walks the playbook to its terminal state prints the timeline and exits 0")
    func success() throws {
        let result = try CLI.run(["simulate", "playbooks/portal-outage.yaml", "--script", "scripts/portal-outage.yaml"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr == "")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == #"+00:00:00  2026-03-06 17:40:00Z  Dana                       run-started          "Portal down in all regions" live P2, playbook portal-outage v2, run sim-portal-outage, disruption since 2026-03-06 17:30:00Z"#)
        #expect(lines.contains("+00:02:00  2026-03-06 17:42:00Z  Dana (incident_commander)  role-assigned        ops: Lee"))
        #expect(lines.contains("+00:03:00  2026-03-06 17:43:00Z  Sam                        REJECTED (expected)  done check: only the holder of ops (Lee) or the incident commander can complete 'check'"))
        #expect(lines.contains(#"+00:16:00  2026-03-06 17:56:00Z  muster                     decision-made        failover: fail-over (default) "no decision within the deadline of 10m: default taken""#))
        let summary = Array(lines.drop { !$0.hasPrefix("final state:") })
        #expect(summary == [
            "final state: closed (terminal, run closed)",
            "clock stopped at: +01:00:00  2026-03-06 18:40:00Z",
            "marks:",
            "  detected   +00:00:00  2026-03-06 17:40:00Z",
            "  declared   +00:16:00  2026-03-06 17:56:00Z",
            "  contained  +00:16:00  2026-03-06 17:56:00Z",
            "  recovered  +00:16:00  2026-03-06 17:56:00Z",
            "  closed     +00:25:00  2026-03-06 18:05:00Z",
            "decisions:",
            #"  failover: fail-over (by default) at +00:16:00 "no decision within the deadline of 10m: default taken""#,
            "lessons:",
            #"  improvement: "DNS TTL of one hour slowed the failover" (root cause: configuration) by Dana at +00:30:00"#,
            "result: ok",
            "",
        ])
    }

    @Test("an unexpected rejection, an unexpected acceptance and an unmet expect make simulate exit 1")
    func failure() throws {
        let result = try CLI.run(["simulate", "portal-outage", "--script", "scripts/portal-outage-rejected.yaml"])
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.contains("+00:03:00  2026-03-06 17:43:00Z  Sam                        REJECTED             done check: only the holder of ops (Lee) or the incident commander can complete 'check'"))
        #expect(Array(lines.drop { !$0.hasPrefix("result:") }) == [
            "result: FAILED",
            "  - step at line 6 (+00:03:00 Sam: done check) was rejected: only the holder of ops (Lee) or the incident commander can complete 'check'",
            "  - step at line 7 (+00:04:00 Lee: done check) was expected to be rejected, but was accepted",
            "  - expected final state 'closed', but the run ended in 'triage'",
            "",
        ])
    }

    @Test("a malformed script is refused with compiler-style diagnostics")
    func badScript() throws {
        let result = try CLI.run(["simulate", "portal-outage", "--script", "scripts/bad-script.yaml"])
        #expect(result.stdout == "")
        #expect(result.stderr == """
            scripts/bad-script.yaml:6:44: error: a step does exactly one thing, found 'raise' and 'done'
            scripts/bad-script.yaml:7:26: error: unknown key 'rasie' in step (did you mean 'raise'?)
            error: scripts/bad-script.yaml is not a valid simulation script (2 errors)

            """)
        #expect(result.status == 1)
    }

    @Test("a missing script is one line on stderr")
    func missingScript() throws {
        let result = try CLI.run(["simulate", "portal-outage", "--script", "scripts/nope.yaml"])
        #expect(result.stderr == "error: no such script file: scripts/nope.yaml\n")
        #expect(result.status == 1)
    }

    @Test("--format json prints the timeline and the summary as one object")
    func json() throws {
        let result = try CLI.run(["simulate", "portal-outage", "--script", "scripts/portal-outage.yaml", "--format", "json"])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["final_state"] as? String == "closed")
        #expect(object["ok"] as? Bool == true)
        #expect(object["terminal"] as? Bool == true)
        let timeline = try #require(object["timeline"] as? [[String: Any]])
        #expect(timeline.first?["type"] as? String == "run-started")
        #expect(timeline.contains { $0["type"] as? String == "rejected" && $0["expected"] as? Bool == true })
        let marks = try #require(object["marks"] as? [[String: Any]])
        #expect(marks.map { $0["mark"] as? String } == ["detected", "declared", "contained", "recovered", "closed"])
    }

    @Test("each bundled playbook simulates to its expected terminal state, byte-identically twice",
          arguments: BundledPlaybooks.ids)
    func bundledSimulation(id: String) throws {
        let expected = try BundledPlaybooks.expectedState(id)
        let arguments = ["simulate", id, "--script", "Tests/Simulations/\(id).yaml"]
        let first = try CLI.run(arguments, in: CLI.packageRoot)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stderr == "")
        #expect(first.stdout.contains("\nfinal state: \(expected) (terminal"), "\(first.stdout)")
        #expect(first.stdout.hasSuffix("result: ok\n"))
        let second = try CLI.run(arguments, in: CLI.packageRoot)
        #expect(second.stdout == first.stdout)
        #expect(second.status == first.status)
    }

    @Test("there is a simulation script for every bundled playbook")
    func everyPlaybookHasAScript() throws {
        let playbooks = try FileManager.default.contentsOfDirectory(atPath: CLI.packageRoot.appendingPathComponent("playbooks").path)
            .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
        #expect(!playbooks.isEmpty)
        #expect(playbooks == BundledPlaybooks.ids)
    }
}
