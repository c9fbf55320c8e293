import Foundation
import MusterTestSupport
import Testing

/// Issue 12, "Records" and the CLI's side of access: heads kept outside the database, the access log in
/// `muster verify`, user names, the effectiveness reviewer.
@Suite("Records: verify heads and the access log, users, reviewers (CLI)", .ownThreads)
struct RecordsCLITests {
    static let t0 = IncidentCLITests.t0

    func declare(_ cli: IncidentCLIHarness) throws -> String {
        let declared = try cli.run(["incident", "declare", "ransomware-file-servers", "--title", "Finance shares encrypted"], user: "Dana", now: Self.t0)
        #expect(declared.status == 0, "\(declared.stderr)")
        return try #require(declared.lines.first)
    }

    @Test("verify --against names a run whose last event was deleted (which plain verify cannot see) and exits 1")
    func exportAndAgainst() throws {
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        let id = try declare(cli)
        #expect(try cli.run(["incident", "note", "the last word", "--run", id], user: "Sam", now: IncidentCLITests.at(5)).status == 0)
        let heads = cli.folder + "/heads.json"
        let export = try cli.run(["verify", "--export-heads", heads])
        #expect(export.status == 0, "\(export.stdout) \(export.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: heads))) as? [String: Any])
        #expect(object["format"] as? String == "muster-heads/1")
        let last = try #require(Int(try cli.sqlite("SELECT MAX(seq) FROM events WHERE run_id = '\(id)'").lines.first ?? ""))
        #expect(((object["runs"] as? [String: Any])?[id] as? [String: Any])?["seq"] as? Int == last)
        #expect((object["access_log"] as? [String: Any])?["seq"] as? Int == 1)
        #expect(try cli.run(["verify", "--against", heads]).status == 0)

        // The guard off, the last row deleted, the guard back: nothing left for plain verify to see.
        let delete = try cli.sqlite(cli.backend == .sqlite ? """
            DROP TRIGGER events_append_only_delete;
            DELETE FROM events WHERE run_id = '\(id)' AND seq = \(last);
            CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'muster journal: events are append-only'); END;
            """ : """
            ALTER TABLE events DISABLE TRIGGER events_append_only_delete;
            DELETE FROM events WHERE run_id = '\(id)' AND seq = \(last);
            ALTER TABLE events ENABLE TRIGGER events_append_only_delete;
            """)
        #expect(delete.status == 0, "\(delete.stderr)")
        #expect(try cli.run(["verify", "--all"]).status == 0)  // the chain alone still verifies
        let against = try cli.run(["verify", "--against", heads])
        #expect(against.status == 1)
        #expect(against.stdout.contains("BROKEN: run \(id): no longer reaches its recorded head: seq \(last) is missing"), "\(against.stdout)")
        #expect(try cli.run(["verify", id, "--against", heads]).status != 0)  // a run name makes no sense here
    }

    @Test("verify reports users and access rows changed outside Muster")
    func accessLog() throws {
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        let id = try declare(cli)
        #expect(try cli.run(["users", "add", "Lee"], user: "Dana").status == 0)
        let intact = try cli.run(["verify", id])
        #expect(intact.status == 0)
        #expect(intact.stdout.contains("intact: access log: 2 entries"), "\(intact.stdout)")
        for (edit, undo, said) in [
            ("UPDATE users SET admin = 1 WHERE name = 'Lee'", "UPDATE users SET admin = 0", "user 'Lee' in the users table differs"),
            ("UPDATE run_access SET restricted = 1", "UPDATE run_access SET restricted = 0", "run \(id) is restricted in run_access but the access log says not restricted"),
        ] {
            #expect(try cli.sqlite(edit).status == 0)
            let broken = try cli.run(["verify", id])
            #expect(broken.status == 1)
            #expect(broken.stdout.contains("BROKEN: access log") && broken.stdout.contains(said), "\(broken.stdout)")
            #expect(try cli.sqlite(undo).status == 0)
        }
        #expect(try cli.run(["verify", id]).status == 0)
    }

    @Test("users add refuses the reserved name and unsafe names; accepts names with accents and apostrophes")
    func userNames() throws {
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        for bad in ["muster", "Muster", "a/b", "x\ny"] {
            let r = try cli.run(["users", "add", bad])
            #expect(r.status != 0, "\(bad.debugDescription)")
            #expect(!r.stderr.isEmpty)
        }
        #expect(try cli.run(["users", "add", "muster"]).stderr.contains("reserved"))
        #expect(try cli.run(["users", "add", "Zoë O'Brien"]).status == 0)
        #expect(try cli.run(["users", "revoke", "Zoë O'Brien"]).status == 0)
    }

    @Test("actions review: the reviewer defaults to who records it and may not be who marked the action done")
    func reviewer() throws {
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        let id = try declare(cli)
        #expect(try cli.run(["incident", "lesson", "Backups took too long to find", "--kind", "improvement", "--run", id], user: "Dana", now: IncidentCLITests.at(5)).status == 0)
        let lesson = try #require(try cli.run(["lessons", "list"]).lines.compactMap { $0.split(separator: " ").first.map(String.init) }.first { $0.hasPrefix("r-") })
        let add = try cli.run(["actions", "add", "--lesson", lesson, "--title", "Index the backups", "--owner", "Lee", "--org", "IT", "--due", "2027-01-31",
                               "--element", "planning"], user: "Lee")
        #expect(add.status == 0, "\(add.stderr)")
        #expect(try cli.run(["actions", "start", "A-1"], user: "Lee").status == 0)
        #expect(try cli.run(["actions", "done", "A-1"], user: "Lee").status == 0)
        let own = try cli.run(["actions", "review", "A-1", "--method", "drill", "--result", "effective"], user: "Lee")
        #expect(own.status != 0)
        #expect(own.stderr.contains("Lee marked A-1 done and cannot also review"), "\(own.stderr)")
        let named = try cli.run(["actions", "review", "A-1", "--method", "drill", "--result", "effective", "--reviewer", "Lee"], user: "Dana")
        #expect(named.status != 0)
        let review = try cli.run(["actions", "review", "A-1", "--method", "drill", "--result", "effective"], user: "Dana")
        #expect(review.status == 0, "\(review.stderr)")
        #expect(try cli.run(["actions", "list"]).stdout.contains("last review effective by Dana"))
    }
}
