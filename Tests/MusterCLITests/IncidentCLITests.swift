import Foundation
import MusterTestSupport
import MusterJournal
import Testing

/// The incident, verify and watch commands, driven through the real binary with a temporary MUSTER_HOME.
@Suite("muster incident, verify and watch (real binary)", .serialized, .ownThreads)
struct IncidentCLITests {
    static let t0 = "2026-03-06T17:40:00Z"

    /// `2026-03-06T17:40:00Z` plus minutes.
    static func at(_ minutes: Int) -> String {
        let base = ISO8601DateFormatter().date(from: t0)!.addingTimeInterval(TimeInterval(minutes * 60))
        return ISO8601DateFormatter().string(from: base)
    }

    /// Declares the bundled ransomware playbook by id and staffs it; returns the run id.
    func declareRansomware(_ cli: IncidentCLIHarness) throws -> String {
        let declared = try cli.run(["incident", "declare", "ransomware-file-servers", "--title", "Ransomware on the finance shares",
                                    "--severity", "P1", "--disruption-started", "20m"], user: "Dana", now: Self.t0)
        #expect(declared.status == 0, "\(declared.stderr)")
        let id = try #require(declared.lines.first)
        #expect(id.hasPrefix("r-"))
        for (role, person) in [("it_ops", "Lee"), ("security_lead", "Sam"), ("comms", "Kim"), ("dpo", "Pat")] {
            let r = try cli.run(["incident", "assign", role, person], user: "Dana", now: Self.at(1))
            #expect(r.status == 0, "\(r.stderr)")
        }
        return id
    }

    @Test("a whole incident from declare to close, by id from playbooks/, with timers caught up on the way")
    func wholeIncident() throws {
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        let id = try declareRansomware(cli)
        let steps: [(String, [String], Int)] = [
            ("Lee", ["task", "done", "confirm", "--note", "EDR shows mass renames"], 5),
            ("Dana", ["event", "confirmed"], 7),
            ("Dana", ["decide", "declare-major", "declare", "--why", "finance share encrypted"], 10),
            ("Lee", ["task", "done", "isolate"], 20),
            ("Sam", ["task", "done", "disable-accounts"], 25),
            ("Kim", ["task", "done", "notify-staff"], 26),
            ("Pat", ["task", "done", "assess-personal-data", "--note", "no personal data left"], 30),
            ("Sam", ["task", "done", "identify-variant"], 60),
            ("Sam", ["task", "skip", "remove-persistence", "--note", "hosts rebuilt"], 61),
            ("Lee", ["task", "done", "verify-backups", "--note", "test restore clean"], 90),
            ("Dana", ["decide", "recovery-source", "immutable-backup", "--why", "tested clean"], 95),
            ("Lee", ["task", "done", "restore-backup", "--note", "restored 2.1 TB"], 150),
            ("Lee", ["task", "done", "verify-integrity"], 160),
            ("Lee", ["event", "restored"], 170),
            ("Sam", ["note", "quiet so far"], 170 + 25 * 60),  // monitor-quiet (24h) fires first: review
            ("Dana", ["task", "done", "post-incident-review"], 170 + 26 * 60),
            ("Sam", ["task", "done", "update-playbook"], 170 + 26 * 60 + 5),
            ("Dana", ["close"], 170 + 26 * 60 + 10),
            ("Dana", ["lesson", "Backups took too long to find", "--kind", "improvement", "--root-cause", "documentation"], 170 + 27 * 60),
        ]
        for (person, arguments, minute) in steps {
            let r = try cli.run(["incident"] + arguments + ["--as", person], now: Self.at(minute))
            #expect(r.status == 0, "\(arguments): \(r.stderr)")
        }
        let status = try cli.run(["incident", "status", id], now: Self.at(170 + 28 * 60))
        #expect(status.status == 0)
        #expect(status.stdout.contains("closed"))
        #expect(status.stdout.contains("state    closed"))
        let timeline = try cli.run(["incident", "timeline"])
        #expect(timeline.stdout.contains("timer monitor-quiet#1 fired"))
        #expect(timeline.stdout.contains("event 'all_clear' raised"))
        #expect(timeline.stdout.contains("lesson (improvement, root cause documentation): Backups took too long to find"))
        let list = try cli.run(["incident", "list"])
        #expect(list.stdout.contains("\(id)  closed"))
        let verify = try cli.run(["verify", id])
        #expect(verify.status == 0)
        #expect(verify.stdout.hasPrefix("intact: "))
    }

    @Test("rejections print the engine's reason and exit 1; nothing is recorded")
    func rejections() throws {
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        let id = try declareRansomware(cli)
        for (person, arguments) in [("Lee", ["task", "done", "confirm"]), ("Dana", ["event", "confirmed"]),
                                    ("Dana", ["decide", "declare-major", "declare", "--why", "encrypted"])] {
            #expect(try cli.run(["incident"] + arguments, user: person, now: Self.at(10)).status == 0)
        }
        let before = try cli.run(["incident", "timeline", "--format", "csv"]).lines.count
        let cases: [(String, [String], String)] = [
            ("Kim", ["task", "done", "isolate"], "only the holder of it_ops (Lee) or the incident commander can complete 'isolate'"),
            ("Dana", ["assign", "it-ops", "Lee"], "role 'it-ops' is not defined in playbook 'ransomware-file-servers' (did you mean 'it_ops'?)"),
            ("Lee", ["decide", "declare-major", "declare", "--why", "again"], "decision 'declare-major' belongs to state 'declare'"),
            ("Kim", ["close", "--reason", "done"], "only the incident commander (Dana) can close"),
            ("Dana", ["close"], "which is not a terminal state: give a reason to close it early"),
        ]
        for (person, arguments, reason) in cases {
            let r = try cli.run(["incident"] + arguments, user: person, now: Self.at(12))
            #expect(r.status == 1, "\(arguments)")
            #expect(r.stderr.contains(reason), "\(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1)
        }
        #expect(try cli.run(["incident", "timeline", "--format", "csv"]).lines.count == before)
        // A closed run refuses work (but takes notes for the hot wash).
        #expect(try cli.run(["incident", "close", "--reason", "false alarm after all"], user: "Dana", now: Self.at(13)).status == 0)
        let closed = try cli.run(["incident", "task", "done", "isolate", "--run", id], user: "Lee", now: Self.at(14))
        #expect(closed.status == 1)
        #expect(closed.stderr.contains("run \(id) is closed"))
        #expect(try cli.run(["incident", "note", "hot wash at 10"], user: "Lee", now: Self.at(15)).status == 0)
    }

    @Test("bad input gets one clear line and a non-zero exit, and the journal is left as it was")
    func badInput() throws {
        // The journal file itself (missing, newer, corrupt): SQLite's; PostgresCLITests covers PostgreSQL's.
        let cli = try IncidentCLIHarness(backend: .sqlite)
        defer { cli.remove() }
        // No journal yet.
        let missing = try cli.run(["incident", "status"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no journal at \(cli.database)"))
        #expect(!FileManager.default.fileExists(atPath: cli.database))
        // A playbook that fails validation: its diagnostics, and no run.
        let broken = cli.folder + "/broken.yaml"
        try """
            muster: 1
            id: broken
            version: 1
            title: Broken
            roles: { incident_commander: IC }
            start: triage
            states:
              triage: { phase: detect, transitions: [{ on: go, to: contian }] }
              contain: { phase: respond, terminal: true }

            """.write(toFile: broken, atomically: true, encoding: .utf8)
        let invalid = try cli.run(["incident", "declare", broken, "--title", "x"], user: "Dana")
        #expect(invalid.status == 2)
        #expect(invalid.stderr.contains("muster: error: playbook \(broken) has "))
        #expect(invalid.stderr.contains("\(broken):8:"))
        #expect(invalid.stderr.contains("did you mean 'contain'"))
        // An unknown playbook id, with a suggestion from playbooks/.
        let unknown = try cli.run(["incident", "declare", "ransomware-file-server", "--title", "x"], user: "Dana")
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("did you mean 'ransomware-file-servers'"))
        // Nobody acting.
        let nobody = try cli.run(["incident", "declare", "ransomware-file-servers", "--title", "x"])
        #expect(nobody.status == 2)
        #expect(nobody.stderr.contains("--as NAME or set MUSTER_USER"))

        let first = try declareRansomware(cli)
        // An unknown run.
        let unknownRun = try cli.run(["incident", "note", "hello", "--run", "zzzz"], user: "Dana")
        #expect(unknownRun.status == 2)
        #expect(unknownRun.stderr.contains("no run 'zzzz'"))
        // Two open runs and no --run: refused, naming both.
        let second = try cli.run(["incident", "declare", "phishing-account-compromise", "--title", "Phish"], user: "Dana", now: Self.at(2))
        #expect(second.status == 0, "\(second.stderr)")
        let secondID = try #require(second.lines.first)
        let ambiguous = try cli.run(["incident", "note", "which?"], user: "Dana", now: Self.at(3))
        #expect(ambiguous.status == 2)
        #expect(ambiguous.stderr.contains("2 runs are open: \(first)"))
        #expect(ambiguous.stderr.contains(secondID))
        #expect(ambiguous.stderr.contains("--run RUN"))
        #expect(try cli.run(["incident", "note", "this one", "--run", String(secondID.dropFirst(2))], user: "Dana", now: Self.at(3)).status == 0)

        // A journal written by a newer format: refused and not modified.
        _ = try cli.sqlite("PRAGMA wal_checkpoint(TRUNCATE);")
        _ = try cli.sqlite("UPDATE meta SET value = '99' WHERE key = 'format_version';")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: cli.database))
        let newer = try cli.run(["incident", "note", "hi", "--run", first], user: "Dana")
        #expect(newer.status == 2)
        #expect(newer.stderr.contains("journal format version 99 is newer than this muster supports (\(Journal.formatVersion))"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: cli.database)) == bytes)
        // A corrupt file.
        try FileManager.default.removeItem(atPath: cli.home)
        try FileManager.default.createDirectory(atPath: cli.home, withIntermediateDirectories: true)
        try Data("this is not a database at all, just text".utf8).write(to: URL(fileURLWithPath: cli.database))
        let corrupt = try cli.run(["incident", "list"])
        #expect(corrupt.status == 2)
        #expect(corrupt.stderr.contains("not a Muster journal"))
        #expect(corrupt.stderr.split(separator: "\n").count == 1)
    }

    @Test("the timeline prints as text, JSON and CSV with the same events")
    func timelineFormats() throws {
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        let id = try declareRansomware(cli)
        #expect(try cli.run(["incident", "note", "Staff told, by email: \"don't save\"\nsecond line"], user: "Kim", now: Self.at(4)).status == 0)
        let text = try cli.run(["incident", "timeline", id, "--format", "text"])
        let json = try cli.run(["incident", "timeline", id, "--format", "json"])
        let csv = try cli.run(["incident", "timeline", id, "--format", "csv"])
        #expect(text.status == 0 && json.status == 0 && csv.status == 0)
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        let count = objects.count
        #expect(count > 10)
        #expect(objects.map { $0["seq"] as? Int } == Array(1...count))
        #expect(objects.allSatisfy { $0["payload"] is [String: Any] && ($0["hash"] as? String)?.count == 64 })
        #expect(text.stdout.split(separator: "\n").count == count + 1)  // the note's text has a line break
        let rows = parseCSV(csv.stdout)
        #expect(rows.count == count + 1)
        #expect(rows.first == ["seq", "at", "actor", "role", "type", "description", "payload", "hash"])
        #expect(rows.allSatisfy { $0.count == 8 })
        #expect(rows.last?[5] == "note: Staff told, by email: \"don't save\"\nsecond line")
        #expect(rows.dropFirst().map { $0[7] } == objects.map { $0["hash"] as? String ?? "" })
    }

    @Test("verify says intact, then names the seq of a row edited with sqlite3 and exits 1")
    func verifyTamper() throws {
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        let id = try declareRansomware(cli)
        let intact = try cli.run(["verify", id])
        #expect(intact.status == 0)
        #expect(intact.stdout.contains("chain intact"))
        let edit = try cli.sqlite("""
            DROP TRIGGER events_append_only_update;
            UPDATE events SET actor = 'Mallory' WHERE run_id = '\(id)' AND seq = 12;
            """)
        #expect(edit.status == 0, "\(edit.stderr)")
        let broken = try cli.run(["verify", "--all"])
        #expect(broken.status == 1)
        #expect(broken.stdout.contains("chain broken at event 12: hash mismatch"), "\(broken.stdout)")
        #expect(broken.stdout.contains("events_append_only_update is missing"))
    }

    @Test("two processes appending notes at once lose nothing, duplicate nothing, leave no gap")
    func twoProcesses() throws {
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        let id = try declareRansomware(cli)
        let perWriter = 40
        // Two shell loops, each its own process tree, started together and waited for from here.
        var env = cli.baseEnvironment
        env["MUSTER"] = try cli.muster()
        env["MUSTER_NOW"] = Self.at(5)
        let writers = try ["A", "B"].map { name in
            try cli.spawn("/bin/sh", ["-c", """
                i=1
                while [ $i -le \(perWriter) ]; do
                  "$MUSTER" incident note "\(name)-$i" --as \(name) --run \(id) > /dev/null || exit 1
                  i=$((i + 1))
                done
                """], env: env, name: "writer-\(name)")
        }
        for writer in writers {
            let ended = writer.wait(timeout: 300)
            if !ended { writer.kill(SIGKILL) }
            #expect(ended)
            #expect(writer.process.terminationStatus == 0, "\(writer.stderr)")
        }
        let json = try cli.run(["incident", "timeline", id, "--format", "json"])
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(objects.map { $0["seq"] as? Int } == Array(1...objects.count))
        let notes = objects.compactMap { ($0["payload"] as? [String: Any])?["noteAdded"] as? [String: Any] }.compactMap { $0["text"] as? String }
        let expected = Set((1...perWriter).flatMap { ["A-\($0)", "B-\($0)"] })
        #expect(notes.count == expected.count)
        #expect(Set(notes) == expected)
        #expect(try cli.run(["verify", id]).status == 0)
    }

    static let heartbeat = """
        muster: 1
        id: heartbeat
        version: 1
        title: Heartbeat
        roles: { incident_commander: Incident commander }
        channels:
          hook: { type: webhook, url: "http://127.0.0.1:9/hook" }
        start: watching
        states:
          watching:
            phase: respond
            owner: incident_commander
            timers:
              - { id: beat, after: 1s, repeat: 1s, notify: hook, message: "beat after {{timer.elapsed}}" }
              - { id: pulse, after: 2s, repeat: 1s, raise: pulse }
            transitions:
              - { on: stop, to: done }
          done: { phase: learn, terminal: true }

        """

    @Test("watch --plain fires a due timer and stops on SIGTERM with exit 0")
    func watchStops() throws {
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        let playbook = cli.folder + "/heartbeat.yaml"
        try Self.heartbeat.write(toFile: playbook, atomically: true, encoding: .utf8)
        let declared = try cli.run(["incident", "declare", playbook, "--title", "beat"], user: "Dana")
        #expect(declared.status == 0, "\(declared.stderr)")
        let watch = try cli.spawn(try cli.muster(), ["watch", "--plain"], env: cli.baseEnvironment, name: "watch")
        let fired = watch.waitForOutput(timeout: 10) { $0.contains("timer beat#1 fired") }
        #expect(fired, "\(watch.stdout)\n\(watch.stderr)")
        watch.kill(SIGTERM)
        let ended = watch.wait(timeout: 5)
        if !ended { watch.kill(SIGKILL); _ = watch.wait(timeout: 5) }
        #expect(ended)
        #expect(watch.process.terminationReason == .exit)
        #expect(watch.process.terminationStatus == 0)
        #expect(watch.stdout.contains("stopped watching"))
        #expect(try cli.run(["verify"]).status == 0)
    }

    @Test("kill -9 at several points loses no committed event, leaves no partial one, and due timers fire once after restart")
    func crashSafety() throws {
        let cli = try IncidentCLIHarness()
        defer { cli.remove() }
        let playbook = cli.folder + "/heartbeat.yaml"
        try Self.heartbeat.write(toFile: playbook, atomically: true, encoding: .utf8)
        let declaredAt = Date()
        let declared = try cli.run(["incident", "declare", playbook, "--title", "crash"], user: "Dana")
        #expect(declared.status == 0, "\(declared.stderr)")
        let id = try #require(declared.lines.first)
        let muster = try cli.muster()
        var env = cli.baseEnvironment
        env["MUSTER_USER"] = "Dana"
        var generator = SystemRandomNumberGenerator()
        var acknowledged: [String] = []  // notes whose process said it committed them
        for round in 0..<4 {
            // A watcher firing the heartbeat, killed at a random moment.
            let watch = try cli.spawn(muster, ["watch", "--plain", id], env: env, name: "watch-\(round)")
            _ = watch.waitForOutput(timeout: 10) { $0.contains("timer-fired") }
            // Meanwhile note writers, each killed after a random few milliseconds (some finish first).
            var writers: [(Spawned, String)] = []
            for n in 0..<3 {
                let text = "crash-\(round)-\(n)"
                writers.append((try cli.spawn(muster, ["incident", "note", text, "--run", id], env: env, name: "note-\(round)-\(n)"), text))
            }
            usleep(UInt32.random(in: 5_000...120_000, using: &generator))
            for (writer, _) in writers { writer.kill(SIGKILL) }
            usleep(UInt32.random(in: 100_000...700_000, using: &generator))
            watch.kill(SIGKILL)
            #expect(watch.wait(timeout: 10))
            for (writer, text) in writers {
                #expect(writer.wait(timeout: 10))
                if writer.process.terminationReason == .exit, writer.process.terminationStatus == 0 { acknowledged.append(text) }
            }
            usleep(300_000)  // timers fall due while nothing runs
        }
        usleep(1_200_000)
        // The rounds take a random time: make sure at least six 1 s periods have passed (five dues at least).
        let elapsed = Date().timeIntervalSince(declaredAt)
        if elapsed < 6.5 { usleep(UInt32((6.5 - elapsed) * 1_000_000)) }
        // Restart: one command catches every due timer up, once.
        let final = try cli.run(["incident", "note", "after the crashes", "--run", id], user: "Dana")
        #expect(final.status == 0, "\(final.stderr)")

        let verify = try cli.run(["verify", id])
        #expect(verify.status == 0, "\(verify.stdout)")
        let json = try cli.run(["incident", "timeline", id, "--format", "json"])
        #expect(json.status == 0, "every event decodes: \(json.stderr)")
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(objects.map { $0["seq"] as? Int } == Array(1...objects.count))
        let finalAt = try #require(objects.last?["at_ms"] as? Int)
        for timer in ["beat", "pulse"] {
            let dues = objects.compactMap { object -> Int? in
                guard let fired = (object["payload"] as? [String: Any])?["timerFired"] as? [String: Any],
                      (fired["key"] as? [String: Any])?["id"] as? String == timer else { return nil }
                return (fired["due"] as? [String: Any])?["millisecondsSinceEpoch"] as? Int
            }
            let armed = objects.compactMap { object -> Int? in
                guard let armed = (object["payload"] as? [String: Any])?["timerArmed"] as? [String: Any],
                      (armed["key"] as? [String: Any])?["id"] as? String == timer else { return nil }
                return (armed["due"] as? [String: Any])?["millisecondsSinceEpoch"] as? Int
            }
            // At least 4 rounds of 0.4 s and a 1.2 s pause passed; how many more depends on the machine's load.
            // A catch-up fires the missed firings of a repeat once, so firings are at least one period apart.
            #expect(dues.count >= 1, "\(timer) fired \(dues.count) times")
            // No due time fired twice, each firing is a whole number of periods after the one before, and
            // nothing due by the last command was left unfired: the timer came back at the first due after it.
            #expect(zip(dues, dues.dropFirst()).allSatisfy { $1 > $0 && ($1 - $0) % 1000 == 0 }, "\(timer): \(dues)")
            if let next = armed.last { #expect(next > finalAt && next - 1000 <= finalAt, "\(timer): next \(next), last command \(finalAt)") }
        }
        let notes = objects.compactMap { ($0["payload"] as? [String: Any])?["noteAdded"] as? [String: Any] }.compactMap { $0["text"] as? String }
        #expect(notes.count == Set(notes).count)
        for text in acknowledged { #expect(notes.contains(text)) }
        // Every queued notification has exactly its outbox row (same transaction).
        let queued = objects.filter { $0["type"] as? String == "notification-queued" }.count
        let outbox = try cli.sqlite("SELECT COUNT(*) FROM outbox WHERE run_id = '\(id)';")
        #expect(Int(outbox.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) == queued)
    }
}
