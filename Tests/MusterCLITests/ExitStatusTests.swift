import Foundation
import MusterTestSupport
import Testing

/// Issue 13, "stable codes": a refusal carries a machine-readable code beside its wording, the CLI prints it and
/// takes its exit status from one table (README, "Exit statuses"), and a command that cannot act exits 2.
@Suite("Exit statuses and refusal codes", .ownThreads)
struct ExitStatusTests {
    @Test("a refused command prints the rule's code after the reason and exits 1; the journal's errors exit 2")
    func refusalCodes() throws {
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        // No journal: the journal's error, status 2.
        #expect(try cli.run(["report", "r-zzz"]).status == 2)
        let declared = try cli.run(["incident", "declare", "ransomware-file-servers", "--title", "Codes"], user: "Dana",
                                   now: IncidentCLITests.t0)
        #expect(declared.status == 0, "\(declared.stderr)")
        // The same unknown role the API answers with `rejection: unknown-role`.
        let unknownRole = try cli.run(["incident", "assign", "it_opps", "Lee"], user: "Dana", now: IncidentCLITests.at(1))
        #expect(unknownRole.status == 1)
        #expect(unknownRole.stderr.hasPrefix("muster: rejected: role 'it_opps' is not defined"), "\(unknownRole.stderr)")
        #expect(unknownRole.stderr.hasSuffix(" [unknown-role]\n"), "\(unknownRole.stderr)")
        let notPermitted = try cli.run(["incident", "task", "done", "confirm"], user: "Lee", now: IncidentCLITests.at(2))
        #expect(notPermitted.status == 1)
        #expect(notPermitted.stderr.hasSuffix(" [not-permitted]\n"), "\(notPermitted.stderr)")
        // An unknown run is the journal's `not-found`: could not act.
        let unknownRun = try cli.run(["incident", "note", "hello", "--run", "zzzz"], user: "Dana", now: IncidentCLITests.at(3))
        #expect(unknownRun.status == 2)
        #expect(try cli.run(["report", "r-zzz"]).status == 2)
    }
}
