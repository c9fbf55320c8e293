import Foundation
import MusterTestSupport
import Testing

/// The command line itself: typos in command names, `--version`.
@Suite("The command line", .ownThreads)
struct CommandLineTests {
    static let typos: [([String], String)] = [
        (["incidnet", "status"], "unknown command 'incidnet' for 'muster' (did you mean 'incident'?)"),
        (["incident", "decalre", "ransomware", "--title", "x"], "unknown command 'decalre' for 'muster incident' (did you mean 'declare'?)"),
        (["help", "incidnet"], "unknown command 'incidnet' for 'muster' (did you mean 'incident'?)"),
        (["exercise", "rn", "x.yaml"], "unknown command 'rn' for 'muster exercise' (did you mean 'run'?)"),
    ]

    @Test("a mistyped command names the closest one and exits 2", arguments: typos)
    func typo(_ arguments: [String], _ message: String) throws {
        let result = try CLI.run(arguments)
        #expect(result.status == 2)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test("real commands and their help still work")
    func realCommands() throws {
        let help = try CLI.run(["help", "incident"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("declare"))
        let validate = try CLI.run(["validate", "playbooks/portal-outage.yaml"])
        #expect(validate.status == 0, "\(validate.stderr)")
    }

    @Test("every command that picks a run takes --run RUN as well as RUN, and they must agree")
    func runOption() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("muster-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let exercise = CLI.packageRoot.appendingPathComponent("exercises/ransomware-tabletop.yaml").path
        #expect(try CLI.run(["exercise", "run", exercise, "--speed", "max", "--no-hotwash"], in: folder).status == 0)
        for command in [["incident", "status"], ["incident", "timeline"], ["verify"], ["report", "--format", "md"]] {
            let named = try CLI.run(command + ["--run", "x-ransomware"], in: folder)
            #expect(named.status == 0, "\(command): \(named.stderr)")
            let twice = try CLI.run(command + ["x-ransomware", "--run", "r-other"], in: folder)
            #expect(twice.status != 0)
            #expect(twice.stderr.contains("the run is given twice"), "\(command): \(twice.stderr)")
        }
    }

    @Test("playbook ids resolve from --playbooks or MUSTER_PLAYBOOKS as well as ./playbooks; a missing folder is an error")
    func playbooksFolder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("muster-pb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let bundled = CLI.packageRoot.appendingPathComponent("playbooks").path
        var environment = ProcessInfo.processInfo.environment
        environment["MUSTER_USER"] = "Dana"
        environment["MUSTER_HOME"] = folder.appendingPathComponent("home").path
        let binary = try MusterBinary.checked()
        let option = try CLI.runProgram(binary, ["incident", "declare", "ransomware-file-servers", "--title", "a", "--playbooks", bundled],
                                        in: folder, environment: environment)
        #expect(option.status == 0, "\(option.stderr)")
        environment["MUSTER_PLAYBOOKS"] = bundled
        let variable = try CLI.runProgram(binary, ["incident", "declare", "cloud-region-loss", "--title", "b"], in: folder, environment: environment)
        #expect(variable.status == 0, "\(variable.stderr)")
        let show = try CLI.runProgram(binary, ["show", "ddos-customer-portal"], in: folder, environment: environment)
        #expect(show.status == 0, "\(show.stderr)")
        let programme = try CLI.runProgram(binary, ["programme"], in: folder, environment: environment)
        #expect(programme.status == 0, "\(programme.stderr)")
        #expect(programme.stdout.contains("ddos-customer-portal"))
        let missing = try CLI.runProgram(binary, ["programme", "--playbooks", "/nonexistent"], in: folder, environment: environment)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no playbooks folder at /nonexistent"))
    }

    @Test("every list command takes --format json: an array of objects scripts can read")
    func listsAsJSON() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("muster-json-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let exercise = CLI.packageRoot.appendingPathComponent("exercises/ransomware-tabletop.yaml").path
        var environment = ProcessInfo.processInfo.environment
        environment["MUSTER_HOME"] = folder.appendingPathComponent("home").path
        environment["MUSTER_USER"] = "Dana"
        let binary = try MusterBinary.checked()
        func muster(_ arguments: [String], input: String? = nil) throws -> CLIResult {
            try CLI.runProgram(binary, arguments, in: folder, environment: environment, input: input)
        }
        #expect(try muster(["exercise", "run", exercise, "--speed", "max"], input: "- Backups took long to find\n\n").status == 0)
        #expect(try muster(["users", "add", "Lee"]).status == 0)
        let lessons = try muster(["lessons", "list", "--format", "json"])
        let lesson = try #require((try JSONSerialization.jsonObject(with: Data(lessons.stdout.utf8)) as? [[String: Any]])?.first { ($0["text"] as? String) == "Backups took long to find" })
        let lessonID = try #require(lesson["id"] as? String)
        #expect(lesson["kind"] as? String == "improvement")
        #expect(try muster(["actions", "add", "--lesson", lessonID, "--title", "Find backups faster", "--owner", "Lee",
                            "--org", "IT Operations", "--due", "2027-01-31", "--element", "planning"]).status == 0)
        let checks: [([String], String, String)] = [
            (["incident", "list"], "id", "x-ransomware-tabletop-2026q4-1"),
            (["lessons", "list"], "id", lessonID),
            (["actions", "list"], "due", "2027-01-31"),
            (["users", "list"], "name", "Lee"),
            (["outbox", "list"], "run", "x-ransomware-tabletop-2026q4-1"),
        ]
        for (command, key, value) in checks {
            let result = try muster(command + ["--format", "json"])
            #expect(result.status == 0, "\(command): \(result.stderr)")
            let objects = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]], "\(command): \(result.stdout)")
            #expect(objects.contains { ($0[key] as? String) == value }, "\(command): \(result.stdout)")
        }
    }

    @Test("muster watch ends by itself once its run is closed and the run's outbox is settled")
    func watchEndsWhenClosed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("muster-watch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let exercise = CLI.packageRoot.appendingPathComponent("exercises/ransomware-tabletop.yaml").path
        #expect(try CLI.run(["exercise", "run", exercise, "--speed", "max", "--no-hotwash"], in: folder).status == 0)
        let started = Date()
        let watch = try CLI.run(["watch", "--plain"], in: folder)
        #expect(watch.status == 0, "\(watch.stderr)")
        #expect(watch.stdout.contains("run x-ransomware-tabletop-2026q4-1 is closed: stopped watching"), "\(watch.stdout)")
        #expect(Date().timeIntervalSince(started) < 30)
    }

    @Test("users rotate prints a new token for a lost one; users reinstate takes a revoked user back; both on the access log")
    func rotateAndReinstateUsers() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("muster-users-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let added = try CLI.run(["users", "add", "Sam"], in: folder)
        #expect(added.status == 0, "\(added.stderr)")
        #expect(try CLI.run(["users", "revoke", "Sam"], in: folder).status == 0)
        #expect(try CLI.run(["users", "add", "Sam"], in: folder).status != 0)
        #expect(try CLI.run(["users", "rotate", "Sam"], in: folder).stderr.contains("no active user named 'Sam'"))
        let reinstated = try CLI.run(["users", "reinstate", "Sam"], in: folder)
        #expect(reinstated.status == 0, "\(reinstated.stderr)")
        let rotated = try CLI.run(["users", "rotate", "Sam"], in: folder)
        #expect(rotated.status == 0, "\(rotated.stderr)")
        let tokens = [added.stdout, reinstated.stdout, rotated.stdout].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(Set(tokens).count == 3 && tokens.allSatisfy { $0.hasPrefix("mst_") })
        let verify = try CLI.run(["verify", "--all"], in: folder)
        #expect(verify.stdout.contains("intact: access log: 4 entries"), "\(verify.stdout)")
    }

    @Test("where people are known, a role goes to one of them: matched regardless of case, stored as known; an unknown name refused with a suggestion")
    func knownPeople() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("muster-people-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var environment = ProcessInfo.processInfo.environment
        environment["MUSTER_HOME"] = folder.appendingPathComponent("home").path
        environment["MUSTER_USER"] = "Dana"
        let binary = try MusterBinary.checked()
        func muster(_ arguments: [String]) throws -> CLIResult { try CLI.runProgram(binary, arguments, in: folder, environment: environment) }
        #expect(try muster(["incident", "declare", CLI.packageRoot.appendingPathComponent("playbooks/ransomware-file-servers.yaml").path, "--title", "t"]).status == 0)
        // No users yet: any name is taken.
        #expect(try muster(["incident", "assign", "comms", "Sam"]).status == 0)
        for name in ["Dana", "Lee"] { #expect(try muster(["users", "add", name]).status == 0) }
        let typo = try muster(["incident", "assign", "it_ops", "Leee"])
        #expect(typo.status == 1)
        #expect(typo.stderr.contains("no person named 'Leee' (did you mean 'Lee'?)"), "\(typo.stderr)")
        let lower = try muster(["incident", "assign", "it_ops", "lee"])
        #expect(lower.status == 0, "\(lower.stderr)")
        let status = try muster(["incident", "status"])
        #expect(status.stdout.contains("Lee"), "\(status.stdout)")
        #expect(!status.stdout.contains("it_ops: lee") && !status.stdout.contains(" lee"), "\(status.stdout)")
    }

    @Test("a command that cannot act exits 2 as the README says: no journal, an unknown run")
    func cannotActExitsTwo() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("muster-exit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try CLI.run(["report"], in: folder).status == 2)
        let exercise = CLI.packageRoot.appendingPathComponent("exercises/ransomware-tabletop.yaml").path
        #expect(try CLI.run(["exercise", "run", exercise, "--speed", "max", "--no-hotwash"], in: folder).status == 0)
        for command in [["report", "r-zzz"], ["lessons", "list", "--run", "r-zzz"], ["incident", "status", "r-zzz"], ["verify", "r-zzz"]] {
            let result = try CLI.run(command, in: folder)
            #expect(result.status == 2, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("r-zzz"), "\(command): \(result.stderr)")
        }
    }

    @Test("--version prints the version")
    func version() throws {
        let result = try CLI.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("0."))
    }
}
