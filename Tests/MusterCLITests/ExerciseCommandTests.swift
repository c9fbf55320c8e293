import Foundation
import MusterTestSupport
import Testing

/// `muster exercise ...` and `muster validate` on exercises, with the real binary. Each test works in a fresh
/// temporary folder, so the journal (`./.muster`) is its own.
@Suite("muster exercise (built binary)", .ownThreads)
struct ExerciseCommandTests {
    static func exercise(_ name: String) -> String { CLI.packageRoot.appendingPathComponent("exercises/\(name).yaml").path }

    /// A timeline line as `ExerciseText.lines` prints it.
    static func row(_ offset: String, _ who: String, _ type: String, _ details: String) -> String {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        return offset + "  " + pad(who, 26) + "  " + pad(type, 22) + "  " + details
    }

    static func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("muster-x-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func muster(_ arguments: [String], in folder: URL, input: String? = nil) throws -> CLIResult {
        try CLI.runProgram(try MusterBinary.checked(), arguments, in: folder, input: input)
    }

    @Test("the facilitator console is driven through standard input: actions, clock control, ad-hoc inject, overrule, end")
    func console() throws {
        let folder = try Self.scratch()
        let input = """
            status
            as Lee: done confirm EDR shows mass renames
            skip 5m
            event confirmed
            decide declare-major declare because the finance share is encrypted
            as Sam: done isolate
            pause
            pause
            skip 20m
            resume
            inject NOW "The CEO is on the phone"
            overrule O1 S because the check was never written up
            bogus
            end

            """
        let r = try Self.muster(["exercise", "run", Self.exercise("ransomware-tabletop"), "--no-players", "--speed", "manual", "--no-hotwash"],
                                in: folder, input: input)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        func has(_ prefix: String) -> Bool { lines.contains { $0.hasPrefix(prefix) } }
        #expect(has("run x-ransomware-tabletop-2026q4-1 (exercise mode), playbook ransomware-file-servers v3, speed manual"))
        #expect(has("clock: +00:00:00  2026-11-27 17:40:00Z  manual (advances with 'skip'); ends at +04:00:00"))
        #expect(has(Self.row("+00:00:00", "Lee (it_ops)", "task-completed", "confirm \"EDR shows mass renames\"")))
        #expect(has(Self.row("+00:00:00", "Alex", "exercise-clock", "skipped 5m")))
        #expect(has(Self.row("+00:05:00", "Dana (incident_commander)", "event-raised", "confirmed")))
        #expect(has(Self.row("+00:05:00", "Dana (incident_commander)", "decision-made", "declare-major: declare \"the finance share is encrypted\"")))
        #expect(has(Self.row("+00:05:00", "Sam", "REJECTED", "done isolate: only the holder of it_ops (Lee) or the incident commander can complete 'isolate'")))
        #expect(has(Self.row("+00:05:00", "Alex", "exercise-clock", "paused")))
        #expect(has(Self.row("+00:25:00", "Alex", "inject-withheld", "I2: contingency not needed")))
        #expect(has(Self.row("+00:25:00", "Alex", "INJECT", "adhoc-1 (ad hoc) (in-person): \"The CEO is on the phone\"")))
        #expect(has(Self.row("+00:25:00", "Robin", "rating-overruled", "O1: S \"the check was never written up\"")))
        #expect(has(Self.row("+00:25:00", "Alex", "exercise-clock", "ended: ended by the facilitator")))
        #expect(has("  O1  S  score 100%: 2 on time, 0 late, 0 unmet"))
        #expect(has("      overruled by Robin at +00:25:00: S (computed P) \"the check was never written up\""))
        #expect(has("ad-hoc injects: adhoc-1 at +00:25:00 \"The CEO is on the phone\""))
        #expect(r.stderr.contains("refused: the clock is already paused"))
        #expect(r.stderr.contains("error: unknown command 'bogus' (type 'help')"))
    }

    @Test("the end of console input ends the exercise; the hot wash reads lessons; evaluate and timeline read the journal")
    func evaluateAndHotWash() throws {
        let folder = try Self.scratch()
        let run = try Self.muster(["exercise", "run", Self.exercise("ransomware-tabletop"), "--speed", "max"], in: folder,
                                  input: "+ Clear roles from the start\nas Lee: - Backups took long to find\n\n")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains(Self.row("+04:00:00", "Alex", "lesson-recorded", "strength: \"Clear roles from the start\"")))
        #expect(run.stdout.contains(Self.row("+04:00:00", "Lee (it_ops)", "lesson-recorded", "improvement: \"Backups took long to find\"")))

        let evaluated = try Self.muster(["exercise", "evaluate", "--overrule", "O2=s", "--why", "Restore began before the RTO", "--no-hotwash"], in: folder)
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        #expect(evaluated.stdout.hasPrefix("run x-ransomware-tabletop-2026q4-1\nEVALUATION  ransomware-tabletop-2026q4"))
        #expect(evaluated.stdout.contains("overruled by Robin at +04:00:00: S (computed M) \"Restore began before the RTO\""))
        #expect(evaluated.stdout.contains("ratings: O1 P, O2 S, O3 S"))

        let timeline = try Self.muster(["exercise", "timeline", "x-ransomware"], in: folder)
        #expect(timeline.status == 0)
        #expect(timeline.stdout.contains(Self.row("+04:00:00", "Robin", "rating-overruled", "O2: S \"Restore began before the RTO\"")))

        let bad = try Self.muster(["exercise", "evaluate", "--overrule", "O7=S", "--why", "x", "--no-hotwash"], in: folder)
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("error: no objective 'O7' in exercise ransomware-tabletop-2026q4 (did you mean 'O1'?)"))

        let empty = try Self.muster(["exercise", "evaluate"], in: try Self.scratch())
        #expect(empty.status == 1)
        #expect(empty.stderr.hasPrefix("error: no journal at "))
    }

    @Test("the hot wash takes an overrule and help, and refuses a console command instead of storing it as a lesson")
    func hotWashOverrule() throws {
        let folder = try Self.scratch()
        let input = "overrule O2 S because the team improvised well\nhelp\ndone confirm with EDR\n- Backups took long to find\n\n"
        let run = try Self.muster(["exercise", "run", Self.exercise("ransomware-tabletop"), "--speed", "max"], in: folder, input: input)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains(Self.row("+04:00:00", "Robin", "rating-overruled", "O2: S \"the team improvised well\"")))
        #expect(!run.stdout.contains("improvement: \"overrule"))
        #expect(run.stderr.contains("overrule OBJECTIVE P|S|M|U because NOTE | evaluate | help"))
        #expect(run.stderr.contains("refused: 'done' is a console command, and the exercise has ended: nothing was recorded."))
        #expect(!run.stdout.contains("improvement: \"done confirm"))
        #expect(run.stdout.contains("improvement: \"Backups took long to find\""))

        // The same in `muster exercise evaluate`'s hot wash, recorded line by line.
        let evaluated = try Self.muster(["exercise", "evaluate"], in: folder,
                                        input: "overrule O3 M because the statement was late\nevaluate\nnote this is not a lesson\n\n")
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        #expect(evaluated.stdout.contains("O3: M \"the statement was late\""))
        #expect(evaluated.stdout.contains("ratings: O1 P, O2 S, O3 M"))
        #expect(evaluated.stderr.contains("refused: 'note' is a console command"))
        let timeline = try Self.muster(["exercise", "timeline", "x-ransomware"], in: folder)
        #expect(!timeline.stdout.contains("this is not a lesson"))
    }

    @Test("an exercise ended early shows each objective's coverage and rates none from a minority of its expectations")
    func endedEarly() throws {
        let folder = try Self.scratch()
        let run = try Self.muster(["exercise", "run", Self.exercise("ransomware-tabletop"), "--no-players", "--speed", "manual", "--no-hotwash"],
                                  in: folder, input: "skip 50m\nend\n")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("  O2  -  score 0%: 0 on time, 0 late, 1 unmet; 1 of 4 expectations in play: partially exercised, not rated"))
        #expect(run.stdout.contains("  O1  U  score 0%: 0 on time, 0 late, 2 unmet; 2 of 2 expectations in play"))
        let report = try Self.muster(["report", "--format", "json"], in: folder)
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stdout.contains(#""id":"O2","text":"Restore file shares within the RTO""#))
        #expect(report.stdout.contains(#""planned":4,"inPlay":1,"partiallyExercised":true,"scorePercent":0,"computed":null,"rating":null"#))
        let markdown = try Self.muster(["report", "--format", "md"], in: folder)
        #expect(markdown.stdout.contains("partially exercised (1 of 4 expectations in play): not rated"))
    }

    @Test("each example exercise runs unattended to its documented ratings, the same bytes every time",
          arguments: [
              ("ransomware-tabletop", "ratings: O1 P, O2 M, O3 S"),
              ("datacentre-failover-drill", "ratings: O1 P, O2 S, O3 U"),
              ("personal-data-breach-tabletop", "ratings: O1 P, O2 U, O3 P"),
              ("office-evacuation-drill", "ratings: O1 S, O2 S, O3 P, O4 S"),
          ])
    func examples(_ name: String, _ ratings: String) throws {
        let first = try Self.muster(["exercise", "run", Self.exercise(name), "--speed", "max", "--no-hotwash"], in: try Self.scratch())
        let second = try Self.muster(["exercise", "run", Self.exercise(name), "--speed", "max", "--no-hotwash"], in: try Self.scratch())
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.hasSuffix(ratings + "\n"))
        #expect(first.stdout == second.stdout)
        #expect(first.stdout.contains("EVALUATION"))
    }

    @Test("the bundled call-tree drill runs unattended: the roll call's answers, the deputy escalation and the expectation results, from the journal")
    func callTreeDrill() throws {
        let folder = try Self.scratch()
        let run = try Self.muster(["exercise", "run", Self.exercise("office-evacuation-drill"), "--speed", "max", "--no-hotwash"], in: folder)
        #expect(run.status == 0, "\(run.stderr)")
        // From the journal: the timeline read back, and the report.
        let timeline = try Self.muster(["exercise", "timeline"], in: folder)
        #expect(timeline.status == 0, "\(timeline.stderr)")
        let lines = timeline.stdout.split(separator: "\n").map(String.init)
        func has(_ line: String) -> Bool { lines.contains(line) }
        #expect(has(Self.row("+00:02:00", "muster", "roll-call-started", "staff-safety with 32 people")))
        #expect(has(Self.row("+00:00:00", "muster", "deputy-named", "Ana Costa stands in for Lee Chen")))
        #expect(has(Self.row("+00:12:00", "muster", "escalated", "page-it: step 1 to Ana Costa (deputy) paged by n38")))
        #expect(has(Self.row("+00:14:00", "Ana Costa", "acknowledged", "page-it by Ana Costa after 12m")))
        #expect(has(Self.row("+00:15:00", "Kim Ode", "answer-received", "staff-safety: Kim Ode answered help by sms after 13m")))
        // Asked on their first reachable channel at once: Aisha (no phone) by email, Nora (Slack only) by Slack.
        #expect(has(Self.row("+00:08:00", "Aisha Bello", "answer-received", "staff-safety: Aisha Bello answered safe by email after 6m")))
        #expect(has(Self.row("+00:08:00", "Nora Lindqvist", "answer-received", "staff-safety: Nora Lindqvist answered safe by slack after 6m")))
        // Late answers keep to each person's own channel: Isla's is email, Arjun's Slack.
        #expect(has(Self.row("+00:20:00", "Isla Murray", "answer-received", "staff-safety: Isla Murray answered safe by email after 18m")))
        #expect(has(Self.row("+00:24:00", "Arjun Patel", "answer-received", "staff-safety: Arjun Patel answered safe by slack after 22m")))
        #expect(has(Self.row("+00:40:00", "Eva Horvat", "answer-received", "staff-safety: Eva Horvat answered safe by sms after 38m")))
        #expect(has(Self.row("+00:32:00", "muster", "roll-call-overdue", "staff-safety: 29 of 32 accounted for (safe 26, help 2, away 1), 3 not")))
        // The two contractors are reached by nothing and never answer.
        #expect(!lines.contains { $0.contains("Felix Wagner answered") || $0.contains("Zoe Clarke answered") })
        let answers = lines.filter { $0.contains("answer-received") }
        #expect(answers.count == 30)
        #expect(answers.filter { $0.contains(" answered help by ") }.count == 2)

        let evaluation = try Self.muster(["exercise", "evaluate", "--no-hotwash"], in: folder)
        #expect(evaluation.stdout.contains("LATE     ack page-it                 at +00:14:00, 14m after delivery, 4m late (within 10m) [O1]"), "\(evaluation.stdout)")
        #expect(evaluation.stdout.contains("met      rollcall staff-safety 90%   at +00:24:00, 24m after delivery (within 30m); 30 of 32 accounted for (93%) [O2]"))
        #expect(evaluation.stdout.contains("UNMET    rollcall staff-safety 100%  not done (within 45m); 30 of 32 accounted for (93%) [O2]"))
        let report = try Self.muster(["report", "--format", "json"], in: folder)
        #expect(report.stdout.contains(#""text":"rollcall staff-safety 90%","objective":"O2","withinMs":1800000,"metAt":"2026-12-09T10:24:00.000Z","latencyMs":1440000,"outcome":"on time","reached":"30 of 32 accounted for (93%)""#))
        #expect(report.stdout.contains(#""text":"ack page-it","objective":"O1","withinMs":600000,"metAt":"2026-12-09T10:14:00.000Z""#))
        let markdown = try Self.muster(["report", "--format", "md"], in: folder)
        #expect(markdown.stdout.contains("rollcall staff-safety 100% (within 45m); 30 of 32 accounted for (93%)"), "\(markdown.stdout)")
    }

    @Test("scripted players act at exactly their scenario times at a real speed too: the timeline equals the one at max")
    func realSpeed() throws {
        let fast = try Self.muster(["exercise", "run", Self.exercise("ransomware-tabletop"), "--speed", "14400", "--no-hotwash"], in: try Self.scratch())
        let max = try Self.muster(["exercise", "run", Self.exercise("ransomware-tabletop"), "--speed", "max", "--no-hotwash"], in: try Self.scratch())
        #expect(fast.status == 0, "\(fast.stderr)")
        func withoutSpeed(_ text: String) -> String { text.split(separator: "\n").filter { !$0.contains("speed") }.joined(separator: "\n") }
        #expect(withoutSpeed(fast.stdout) == withoutSpeed(max.stdout))
    }

    @Test("muster validate checks exercise files and player scripts with positions, and the bundled ones pass")
    func validate() throws {
        let folder = try Self.scratch()
        try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent("playbooks"),
                                                   withDestinationURL: CLI.packageRoot.appendingPathComponent("playbooks"))
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("exercises"), withIntermediateDirectories: true)
        try """
            muster: 1
            exercise: x
            title: X
            playbook: ransomware-file-servers
            participants: { incident_commander: Dana }
            injects:
              - { id: I1, at: 0m, message: hi, expect: [ { do: task confrim, within: 5m } ] }

            """.write(to: folder.appendingPathComponent("exercises/x.yaml"), atomically: true, encoding: .utf8)
        try "muster: 1\nexercise: x\nsteps:\n  - { at: 1m, as: Dana, dun: confirm }\n"
            .write(to: folder.appendingPathComponent("exercises/x.players.yaml"), atomically: true, encoding: .utf8)
        let r = try Self.muster(["validate", "exercises"], in: folder)
        #expect(r.status == 1)
        #expect(r.stdout == """
            exercises/x.players.yaml:4:25: error: unknown key 'dun' in step (did you mean 'done'?)
            exercises/x.yaml:7:57: error: task 'confrim' is not a task of playbook 'ransomware-file-servers' (did you mean 'confirm'?)
            2 files, 2 errors, 0 warnings

            """)
        let bundled = try Self.muster(["validate"], in: CLI.packageRoot)
        #expect(bundled.status == 0)
        // 8 playbooks, 4 exercises, 4 player scripts, services.yaml and evidence-map.yaml.
        #expect(bundled.stdout.hasSuffix("18 files, 0 errors, 0 warnings\n"))
    }

    @Test("a player script the engine refuses shows rejected actions on the timeline, not a crash; a bad exercise exits 1")
    func badInput() throws {
        let folder = try Self.scratch()
        let script = folder.appendingPathComponent("p.yaml")
        try """
            muster: 1
            exercise: ransomware-tabletop-2026q4
            steps:
              - { at: 1m, as: Sam, decide: declare-major, option: declare, why: "I think so" }
              - { at: 2m, as: Lee, done: restore-backup, note: "done" }

            """.write(to: script, atomically: true, encoding: .utf8)
        let r = try Self.muster(["exercise", "run", Self.exercise("ransomware-tabletop"), "--players", script.path, "--speed", "max", "--no-hotwash"], in: folder)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains(Self.row("+00:01:00", "Sam", "REJECTED", "decide declare-major declare: decision 'declare-major' belongs to state 'declare', but run x-ransomware-tabletop-2026q4-1 is in 'triage'")))
        #expect(r.stdout.contains(Self.row("+00:02:00", "Lee", "REJECTED", "done restore-backup: task 'restore-backup' belongs to state 'restore'")))
        #expect(r.stdout.hasSuffix("ratings: O1 U, O2 U, O3 M\n"))

        let missing = try Self.muster(["exercise", "run", "nope.yaml"], in: folder)
        #expect(missing.status == 1)
        #expect(missing.stderr == "error: no such file: nope.yaml\n")
    }
}
