import Foundation
import MusterTestSupport
import Testing

/// `muster report`, `lessons`, `actions` and `programme` on a journal made by `muster simulate --record`.
@Suite("Report and improvement-log commands", .ownThreads)
struct ReportCommandTests {
    /// Runs the built binary with MUSTER_HOME (and a fixed clock) set.
    static func muster(_ arguments: [String], home: String, now: String = "2027-02-15T09:00:00Z") throws -> CLIResult {
        var environment = ProcessInfo.processInfo.environment
        environment["MUSTER_HOME"] = home
        environment["MUSTER_NOW"] = now
        environment["MUSTER_USER"] = "Dana"
        return try CLI.runProgram(CLI.binary, arguments, in: CLI.packageRoot, environment: environment)
    }

    /// A journal holding the bundled ransomware simulation, recorded as an exercise.
    static func recordedExercise() throws -> (home: String, cleanup: () -> Void) {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("muster-report-\(UUID().uuidString)").path
        let script = try String(contentsOf: CLI.packageRoot.appendingPathComponent("Tests/Simulations/ransomware-file-servers.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "mode: live", with: "mode: exercise")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let scriptPath = home + "/exercise.yaml"
        try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let recorded = try muster(["simulate", "ransomware-file-servers", "--script", scriptPath, "--record"], home: home)
        #expect(recorded.status == 0, "\(recorded.stderr)")
        #expect(recorded.stderr.contains("recorded run r-"))
        return (home, { try? FileManager.default.removeItem(atPath: home) })
    }

    @Test("a live simulation is never recorded: only exercise-mode scripts")
    func liveNotRecorded() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("muster-report-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        let result = try Self.muster(["simulate", "ransomware-file-servers", "--script", "Tests/Simulations/ransomware-file-servers.yaml", "--record"], home: home)
        #expect(result.status != 0)
        #expect(result.stderr.contains("a simulation is not a live incident"))
    }

    @Test("muster report writes HTML, Markdown and JSON of the most recent run")
    func report() throws {
        let (home, cleanup) = try Self.recordedExercise()
        defer { cleanup() }
        let md = try Self.muster(["report"], home: home)
        #expect(md.status == 0, "\(md.stderr)")
        #expect(md.stdout.hasPrefix("# After-action report: Ransomware on the finance shares"))
        #expect(md.stdout.contains("| Playbook SHA-256 | "))
        #expect(md.stdout.contains("declare-major"))
        #expect(md.stdout.contains("(default taken)"))
        #expect(md.stdout.contains("- **Verification at report time:** chain intact"))
        let html = home + "/report.html"
        let written = try Self.muster(["report", "-o", html], home: home)
        #expect(written.status == 0, "\(written.stderr)")
        let text = try String(contentsOfFile: html, encoding: .utf8)
        #expect(text.hasPrefix("<!DOCTYPE html>"))
        #expect(text.contains("<svg"))
        let json = try Self.muster(["report", "--format", "json"], home: home)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: Any]
        #expect(object["schema"] as? String == "muster-report/1")
        #expect((object["integrity"] as! [String: Any])["intact"] as? Bool == true)
    }

    @Test("a tampered run's report says so at the top, and the command exits 1")
    func tampered() throws {
        let (home, cleanup) = try Self.recordedExercise()
        defer { cleanup() }
        let sqlite = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.execute("DROP TRIGGER events_append_only_update")
            db.execute("UPDATE events SET actor = 'Mallory' WHERE seq = 5")
            db.commit()
            """
        let python = try CLI.runProgram(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", sqlite, home + "/muster.db"])
        #expect(python.status == 0, "\(python.stderr)")
        let md = try Self.muster(["report"], home: home)
        #expect(md.status == 1)
        #expect(md.stdout.split(separator: "\n")[1].hasPrefix("> **WARNING: this run's timeline FAILED verification.**"))
        #expect(md.stdout.contains("chain broken at event 5"))
        #expect(md.stderr.contains("chain broken at event 5"))
    }

    @Test("lessons become tracked actions that close only after an effective review")
    func improvementLog() throws {
        let (home, cleanup) = try Self.recordedExercise()
        defer { cleanup() }
        let lessons = try Self.muster(["lessons", "list", "--kind", "improvement"], home: home)
        #expect(lessons.status == 0, "\(lessons.stderr)")
        let ids = lessons.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }.filter { $0.hasPrefix("r-") }
        #expect(ids.count == 2)
        let add = try Self.muster(["actions", "add", "--lesson", ids[0], "--title", "Name a deputy IC for executive briefings",
                                   "--owner", "Dana", "--org", "IT Operations", "--due", "2027-01-31", "--element", "organization"], home: home)
        #expect(add.status == 0, "\(add.stderr)")
        #expect(add.stdout.hasPrefix("A-1 open"))
        let report = try Self.muster(["report"], home: home)
        #expect(report.stdout.contains("A-1 open, OVERDUE (due 2027-01-31)"))
        #expect(report.stdout.contains("| none yet |"))
        let overdue = try Self.muster(["actions", "list", "--overdue"], home: home)
        #expect(overdue.stdout.contains("A-1") && overdue.stdout.contains("OVERDUE"))
        let refused = try Self.muster(["actions", "close", "A-1"], home: home)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("no effectiveness review that found it effective"))
        for step in [["start", "A-1"], ["done", "A-1"], ["review", "A-1", "--method", "tabletop", "--result", "not-effective", "--reviewer", "Alex"],
                     ["start", "A-1"], ["done", "A-1"], ["review", "A-1", "--method", "drill", "--result", "effective", "--reviewer", "Alex"], ["close", "A-1"]] {
            let r = try Self.muster(["actions"] + step, home: home)
            #expect(r.status == 0, "\(step): \(r.stderr)")
        }
        let csv = try Self.muster(["actions", "report", "--format", "csv"], home: home)
        #expect(csv.stdout.contains("\"closed, reopened 1×\""))
        let plan = try Self.muster(["actions", "report", "--format", "md"], home: home)
        #expect(plan.stdout.contains("| Capability/objective | Issue | Corrective action | Capability element | Responsible organisation | Point of contact | Start date | Completion date | Status |"))
        let verified = try Self.muster(["actions", "verify"], home: home)
        #expect(verified.status == 0)
        #expect(verified.stdout.hasPrefix("improvement log: 8 events, chain intact (head "))
        let programme = try Self.muster(["programme"], home: home)
        #expect(programme.status == 0, "\(programme.stderr)")
        #expect(programme.stdout.contains("Ransomware on file servers (ransomware-file-servers v3)"))
        #expect(programme.stdout.contains("OVERDUE: never exercised"))
    }
}

@Suite("Report of a bundled exercise", .ownThreads)
struct ExerciseReportCommandTests {
    @Test("the after-action report of the bundled ransomware tabletop carries its evaluation, injects and ratings")
    func exerciseReport() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("muster-report-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        let run = try ReportCommandTests.muster(["exercise", "run", "exercises/ransomware-tabletop.yaml", "--speed", "max"], home: home)
        #expect(run.status == 0, "\(run.stderr)")
        let md = try ReportCommandTests.muster(["report"], home: home)
        #expect(md.status == 0, "\(md.stderr)")
        #expect(md.stdout.hasPrefix("# After-action report: "))
        #expect(md.stdout.contains("## Exercise evaluation"))
        #expect(md.stdout.contains("| O1: Declare a major incident within 30 minutes of the first report |"))
        #expect(md.stdout.contains("I2 (contingency)"))
        let htmlPath = home + "/report.html"
        let html = try ReportCommandTests.muster(["report", "-o", htmlPath], home: home)
        #expect(html.status == 0, "\(html.stderr)")
        let check = """
            import sys, xml.etree.ElementTree as ET
            from html.parser import HTMLParser
            text = open(sys.argv[1], encoding="utf-8").read()
            class P(HTMLParser):
                def __init__(self):
                    super().__init__(); self.ids = set(); self.stack = []
                def handle_starttag(self, tag, attrs):
                    self.ids.update(v for k, v in attrs if k == "id")
                    if tag not in ("br", "meta"): self.stack.append(tag)
                def handle_endtag(self, tag):
                    assert self.stack.pop() == tag, tag
            p = P(); p.feed(text); p.close()
            assert not p.stack, p.stack
            assert {"exercise", "summary", "timeline-picture", "integrity"} <= p.ids, p.ids
            svg = ET.fromstring(text[text.index("<svg"):text.index("</svg>") + 6])
            assert any(e.get("fill") == "#0f9960" for e in svg.iter()), "no inject marks"
            """
        let python = try CLI.runProgram(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", check, htmlPath])
        #expect(python.status == 0, "\(python.stderr)")
        let json = try ReportCommandTests.muster(["report", "--format", "json"], home: home)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: Any]
        let exercise = try #require(object["exercise"] as? [String: Any])
        #expect((exercise["objectives"] as! [[String: Any]]).map { $0["rating"] as? String } == ["P", "M", "S"])
    }
}
