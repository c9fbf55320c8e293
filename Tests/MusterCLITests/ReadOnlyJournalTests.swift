import Foundation
import MusterTestSupport
import Testing

/// An auditor receives `muster.db` alone, in a folder they may not write: the reading commands must work on it,
/// and change nothing.
@Suite("A read-only copy of the journal (real binary)", .ownThreads)
struct ReadOnlyJournalTests {
    /// Runs `muster ARGS` as a user who may not write the copy: `nobody` when the tests run as root (root may
    /// write anything), else this user.
    static func asReader(_ arguments: [String], home: URL, in folder: URL) throws -> CLIResult {
        var environment = ProcessInfo.processInfo.environment
        environment["MUSTER_HOME"] = home.path
        if getuid() == 0 {
            return try CLI.runProgram(URL(fileURLWithPath: "/usr/sbin/runuser"),
                                      ["-u", "nobody", "--", try MusterBinary.checked().path] + arguments,
                                      in: folder, environment: environment)
        }
        return try CLI.runProgram(try MusterBinary.checked(), arguments, in: folder, environment: environment)
    }

    @Test("verify, report, timeline, status, lessons and the improvement plan read an auditor's copy; a write is refused")
    func auditorsCopy() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("muster-ro-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: work.appendingPathComponent("audit").path)
            try? FileManager.default.removeItem(at: work)
        }
        let exercise = CLI.packageRoot.appendingPathComponent("exercises/ransomware-tabletop.yaml").path
        var environment = ProcessInfo.processInfo.environment
        environment["MUSTER_HOME"] = work.appendingPathComponent("home").path
        let run = try CLI.runProgram(try MusterBinary.checked(), ["exercise", "run", exercise, "--speed", "max"], in: work,
                                     environment: environment, input: "- Backups took long to find\n\n")
        #expect(run.status == 0, "\(run.stderr)")

        // The copy: the database file alone, read-only, in a read-only folder everyone may enter.
        let audit = work.appendingPathComponent("audit")
        try FileManager.default.createDirectory(at: audit, withIntermediateDirectories: true)
        let copy = audit.appendingPathComponent("muster.db")
        try FileManager.default.copyItem(at: work.appendingPathComponent("home/muster.db"), to: copy)
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: copy.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: audit.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: work.path)
        let before = try Data(contentsOf: copy)

        let verify = try Self.asReader(["verify"], home: audit, in: work)
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stdout.hasPrefix("intact: run x-ransomware-tabletop-2026q4-1"))
        let report = try Self.asReader(["report", "--format", "md"], home: audit, in: work)
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stdout.hasPrefix("# After-action report"))
        let timeline = try Self.asReader(["incident", "timeline", "--format", "csv"], home: audit, in: work)
        #expect(timeline.status == 0, "\(timeline.stderr)")
        let status = try Self.asReader(["incident", "status"], home: audit, in: work)
        #expect(status.status == 0, "\(status.stderr)")
        let lessons = try Self.asReader(["lessons", "list"], home: audit, in: work)
        #expect(lessons.status == 0, "\(lessons.stderr)")
        #expect(lessons.stdout.contains("Backups took long to find"))
        let plan = try Self.asReader(["actions", "report"], home: audit, in: work)
        #expect(plan.status == 0, "\(plan.stderr)")

        let note = try Self.asReader(["incident", "note", "tampering", "--as", "Dana"], home: audit, in: work)
        #expect(note.status == 2)
        #expect(try Data(contentsOf: copy) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: audit.path) == ["muster.db"])

        // A copy of a journal written before format 4 cannot be migrated read-only: it has neither the access
        // log nor run summaries, and still verifies, lists and reports.
        let old = work.appendingPathComponent("old")
        try FileManager.default.createDirectory(at: old, withIntermediateDirectories: true)
        let oldCopy = old.appendingPathComponent("muster.db")
        try FileManager.default.copyItem(at: work.appendingPathComponent("home/muster.db"), to: oldCopy)
        _ = try SQLite3.run(oldCopy.path, """
            DROP TRIGGER access_events_append_only_update; DROP TRIGGER access_events_append_only_delete;
            DROP TRIGGER access_events_in_sequence; DROP TABLE access_events; DROP TABLE run_summary; DROP TABLE command_keys; DROP TABLE leases; DROP TABLE people; DROP TABLE answer_links;
            ALTER TABLE outbox DROP COLUMN claimed_by; ALTER TABLE outbox DROP COLUMN lease_until_ms;
            DELETE FROM grdb_migrations WHERE identifier IN ('v4', 'v5', 'v6', 'v7', 'v8'); UPDATE meta SET value = '3' WHERE key = 'format_version';
            """)
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: oldCopy.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: old.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: old.path) }
        for command in [["verify"], ["incident", "list"], ["report", "--format", "md"]] {
            let result = try Self.asReader(command, home: old, in: work)
            #expect(result.status == 0, "\(command): \(result.stderr)")
        }
    }
}
