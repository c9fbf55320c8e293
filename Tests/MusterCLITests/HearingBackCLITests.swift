import Foundation
import MusterTestSupport
import Testing

/// Issue 17, hearing back from the command line: `muster incident ack|answer|accounted` and what `muster incident
/// status` shows of pages and roll calls, with the real binary and a directory imported from CSV.
@Suite("muster incident ack, answer, accounted (real binary)", .ownThreads)
struct HearingBackCLITests {
    static let playbook = IncidentCLIHarness.root + "/Tests/MusterCLITests/Fixtures/hearing-back/office-loss-hearing-back.yaml"
    static let people = """
        name,email,phone,groups,deputy
        Lee,lee@example.org,+447700900101,crisis-team,Mo
        Mo,mo@example.org,+447700900102,crisis-team,
        Ana,,+447700900103,site-hq,
        Bo,,+447700900104,site-hq,
        Cy,cy@example.org,,site-hq,

        """

    @Test("a page acknowledged and a roll call answered, answered for and marked, as status shows them")
    func hearingBack() throws {
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        let csv = cli.folder + "/people.csv"
        try Self.people.write(toFile: csv, atomically: true, encoding: .utf8)
        let t0 = IncidentCLITests.t0, at = IncidentCLITests.at
        #expect(try cli.run(["people", "import", csv], user: "Dana", now: t0).status == 0)
        let declared = try cli.run(["incident", "declare", Self.playbook, "--title", "Fire at HQ"], user: "Dana", now: t0)
        #expect(declared.status == 0, "\(declared.stderr)")
        let assigned = try cli.run(["incident", "assign", "it_ops", "Lee"], user: "Dana", now: at(1))
        #expect(assigned.status == 0, "\(assigned.stderr)")
        #expect(assigned.stdout.contains("muster: ") && assigned.stdout.contains("Mo"), "\(assigned.stdout)")
        let raised = try cli.run(["incident", "event", "evacuate"], user: "Dana", now: at(2))
        #expect(raised.status == 0, "\(raised.stderr)")

        // No outbox worker ran: nobody's message was delivered, so everyone unaccounted for is still unreached.
        let before = try cli.run(["incident", "status"], now: at(3))
        #expect(before.stdout.contains("  page-it: PENDING, paged Lee (it_ops), next escalation 2026-03-06T17:52:00"), "\(before.stdout)")
        #expect(before.stdout.contains("  staff-safety: 0/3 accounted (0%); answered safe 0, help 0, away 0; not yet answered 0; unreached 3; within 1h: 00:59:00 left"), "\(before.stdout)")
        #expect(before.stdout.contains("    unaccounted (3): Ana, Bo, Cy"), "\(before.stdout)")

        #expect(try cli.run(["incident", "answer", "staff-safety", "safe"], user: "Ana", now: at(4)).status == 0)
        // Olga holds no role: she cannot answer for Bo. Lee (it_ops) can.
        let olga = try cli.run(["incident", "answer", "staff-safety", "safe", "--for", "Bo"], user: "Olga", now: at(5))
        #expect(olga.status != 0 && olga.stderr.contains("holds no role"), "\(olga.stderr)")
        let forBo = try cli.run(["incident", "answer", "staff-safety", "away", "--for", "Bo"], user: "Lee", now: at(5))
        #expect(forBo.status == 0, "\(forBo.stderr)")
        let wrong = try cli.run(["incident", "answer", "staff-safety", "sfae"], user: "Cy", now: at(5))
        #expect(wrong.status != 0 && wrong.stderr.contains("did you mean 'safe'"), "\(wrong.stderr)")
        #expect(try cli.run(["incident", "ack", "page-it"], user: "Lee", now: at(6)).status == 0)

        let middle = try cli.run(["incident", "status"], now: at(7))
        #expect(middle.stdout.contains("  page-it: acknowledged by Lee at 2026-03-06T17:46:00"), "\(middle.stdout)")
        #expect(middle.stdout.contains("  staff-safety: 2/3 accounted (66%); answered safe 1, help 0, away 1; not yet answered 0; unreached 1; within 1h: 00:55:00 left"), "\(middle.stdout)")
        #expect(middle.stdout.contains("    unaccounted (1): Cy"), "\(middle.stdout)")

        let noWhy = try cli.run(["incident", "accounted", "staff-safety", "Cy"], user: "Lee", now: at(8))
        #expect(noWhy.status != 0)
        let marked = try cli.run(["incident", "accounted", "staff-safety", "Cy", "--why", "seen at the assembly point"], user: "Lee", now: at(8))
        #expect(marked.status == 0, "\(marked.stderr)")
        let after = try cli.run(["incident", "status"], now: at(9))
        #expect(after.stdout.contains("  staff-safety: 3/3 accounted (100%); answered safe 1, help 0, away 1; marked by hand 1; not yet answered 0; unreached 0; within 1h: all accounted"), "\(after.stdout)")
        #expect(after.stdout.contains("state    recover"), "\(after.stdout)")
        for secret in ["@example.org", "+4477"] {
            #expect(!after.stdout.contains(secret))
            #expect(!(try cli.run(["incident", "timeline"]).stdout.contains(secret)))
        }
    }

    @Test("watch shows the acknowledgement and the roll call's tally live, and redraws it when an answer arrives")
    func watchShowsHearingBack() throws {
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        let csv = cli.folder + "/people.csv"
        try Self.people.write(toFile: csv, atomically: true, encoding: .utf8)
        #expect(try cli.run(["people", "import", csv], user: "Dana").status == 0)
        #expect(try cli.run(["incident", "declare", Self.playbook, "--title", "Fire at HQ"], user: "Dana").status == 0)
        #expect(try cli.run(["incident", "assign", "it_ops", "Lee"], user: "Dana").status == 0)
        #expect(try cli.run(["incident", "event", "evacuate"], user: "Dana").status == 0)
        let watch = try cli.spawn(try cli.muster(), ["watch"], env: cli.baseEnvironment, name: "watch-hb")
        defer {
            watch.kill(SIGTERM)
            if !watch.wait(timeout: 5) { watch.kill(SIGKILL); _ = watch.wait(timeout: 5) }
        }
        let shown = watch.waitForOutput(timeout: 20) {
            $0.contains("  page-it: PENDING, paged Lee (it_ops)") && $0.contains("  staff-safety: 0/3 accounted (0%); answered safe 0, help 0, away 0")
                && $0.contains("    unaccounted (3): Ana, Bo, Cy")
        }
        #expect(shown, "\(watch.stdout.suffix(3000))\n\(watch.stderr)")
        #expect(try cli.run(["incident", "answer", "staff-safety", "safe"], user: "Ana").status == 0)
        #expect(try cli.run(["incident", "ack", "page-it"], user: "Lee").status == 0)
        let redrawn = watch.waitForOutput(timeout: 20) {
            $0.contains("  staff-safety: 1/3 accounted (33%); answered safe 1, help 0, away 0") && $0.contains("    unaccounted (2): Bo, Cy")
                && $0.contains("  page-it: acknowledged by Lee at ")
        }
        #expect(redrawn, "\(watch.stdout.suffix(3000))\n\(watch.stderr)")
        for secret in ["@example.org", "+4477"] { #expect(!watch.stdout.contains(secret)) }
    }
}
