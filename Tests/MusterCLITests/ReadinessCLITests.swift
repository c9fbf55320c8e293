import Foundation
import MusterTestSupport
import Testing

/// Issue 19 through the real `muster` binary on a real journal: the bundled exercises and a live incident, then
/// `muster readiness` (cells table-tested), `muster evidence` (manifest against the files, index parsed strictly),
/// `muster impact` and `muster validate` with the catalogue.
@Suite("ICT readiness: scorecard, evidence pack, impact and validation (CLI)", .serialized, .ownThreads)
struct ReadinessCLITests {
    /// One journal for the suite: three bundled exercises, a live payroll incident with a lesson and an overdue action.
    final class World: @unchecked Sendable {
        let cli: IncidentCLIHarness
        let liveRun: String
        let today: String

        init() throws {
            cli = try IncidentCLIHarness()
            for exercise in ["ransomware-tabletop", "datacentre-failover-drill", "personal-data-breach-tabletop"] {
                let r = try cli.run(["exercise", "run", "exercises/\(exercise).yaml", "--speed", "max", "--no-hotwash"], user: "Dana", timeout: 120)
                guard r.status == 0 else { throw CLIError("\(exercise): \(r.stderr)") }
            }
            let declared = try cli.run(["incident", "declare", "saas-payroll-outage", "--title", "Payroll supplier down", "--disruption-started", "2h"], user: "Dana")
            guard declared.status == 0, let id = declared.lines.first else { throw CLIError("declare: \(declared.stderr)") }
            liveRun = id
            let lesson = try cli.run(["incident", "lesson", "Nobody had the supplier's escalation number", "--run", liveRun], user: "Dana")
            guard lesson.status == 0 else { throw CLIError("lesson: \(lesson.stderr)") }
            let lessons = try cli.run(["lessons", "list", "--run", liveRun, "--format", "json"])
            guard let list = try JSONSerialization.jsonObject(with: Data(lessons.stdout.utf8)) as? [[String: Any]],
                  let lessonID = list.first?["id"] as? String else { throw CLIError("lessons list: \(lessons.stdout)") }
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withFullDate]
            today = formatter.string(from: Date())
            let added = try cli.run(["actions", "add", "--lesson", lessonID, "--title", "Put the escalation contacts in the playbook",
                                     "--owner", "Pat", "--org", "Payroll", "--due", "2020-01-31", "--element", "planning"], user: "Dana")
            guard added.status == 0 else { throw CLIError("actions add: \(added.stderr)") }
        }
    }

    static let world: Result<World, any Error> = Result { try World() }

    static func scorecard(_ world: World) throws -> [String: [String: Any]] {
        let r = try world.cli.run(["readiness", "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(object["format"] as? String == "muster-readiness/1")
        var out: [String: [String: Any]] = [:]
        for s in try #require(object["services"] as? [[String: Any]]) { out[s["id"] as! String] = s }
        return out
    }

    struct Cell: Sendable, CustomStringConvertible {
        var service: String
        var criterion: String
        var level: String
        /// `TODAY` and `LIVE` stand for today's date and the live run's id.
        var text: String
        var description: String { "\(service) \(criterion)" }
    }

    static let cells: [Cell] = [
        Cell(service: "file-shares", criterion: "plan", level: "good", text: "ransomware-file-servers"),
        Cell(service: "file-shares", criterion: "exercised", level: "good", text: "TODAY (x-ransomware-tabletop-2026q4-1)"),
        Cell(service: "file-shares", criterion: "ratings", level: "attention", text: "O1 P, O2 M, O3 S"),
        Cell(service: "file-shares", criterion: "rto", level: "failing", text: "missed: not recovered (x-ransomware-tabletop-2026q4-1)"),
        Cell(service: "file-shares", criterion: "rpo", level: "attention", text: "not recorded (x-ransomware-tabletop-2026q4-1)"),
        Cell(service: "file-shares", criterion: "actions", level: "good", text: "none open"),
        Cell(service: "file-shares", criterion: "dependencies", level: "failing", text: "identity: failing"),
        Cell(service: "erp", criterion: "ratings", level: "failing", text: "O1 P, O2 S, O3 U"),
        Cell(service: "erp", criterion: "rto", level: "good", text: "met in 1h30m (x-dc1-failover-drill-2026-1)"),
        Cell(service: "telephony", criterion: "exercised", level: "good", text: "TODAY (x-dc1-failover-drill-2026-1)"),
        Cell(service: "customer-records", criterion: "ratings", level: "failing", text: "O1 P, O2 U, O3 P"),
        Cell(service: "payroll", criterion: "exercised", level: "failing", text: "never"),
        Cell(service: "payroll", criterion: "ratings", level: "n/a", text: "not exercised"),
        Cell(service: "payroll", criterion: "rto", level: "attention", text: "open (LIVE)"),
        Cell(service: "payroll", criterion: "actions", level: "failing", text: "1 open, 1 overdue: A-1"),
        Cell(service: "hr-self-service", criterion: "actions", level: "failing", text: "1 open, 1 overdue: A-1"),
        Cell(service: "hr-self-service", criterion: "dependencies", level: "failing", text: "payroll: failing"),
        Cell(service: "despatch", criterion: "plan", level: "failing", text: "no playbook"),
        Cell(service: "despatch", criterion: "review", level: "failing", text: "never run: due now"),
        Cell(service: "checkout-api", criterion: "exercised", level: "failing", text: "never"),
        Cell(service: "checkout-api", criterion: "dependencies", level: "n/a", text: "no service dependency"),
    ]

    @Test("each scorecard cell, from the journals of the bundled exercises and a live incident", arguments: cells)
    func cell(_ c: Cell) throws {
        let world = try Self.world.get()
        let card = try Self.scorecard(world)
        let cell = try #require((card[c.service]?["cells"] as? [String: Any])?[c.criterion] as? [String: Any])
        #expect(cell["level"] as? String == c.level)
        #expect(cell["text"] as? String == c.text.replacingOccurrences(of: "TODAY", with: world.today).replacingOccurrences(of: "LIVE", with: world.liveRun))
    }

    @Test("services come worst first, with the last exercise and the last live use")
    func orderAndRuns() throws {
        let world = try Self.world.get()
        let r = try world.cli.run(["readiness", "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let services = try #require(object["services"] as? [[String: Any]])
        let rank = ["failing": 3, "attention": 2, "good": 1]
        let ranks = services.map { rank[$0["overall"] as! String]! }
        #expect(ranks == ranks.sorted(by: >))
        let payroll = try #require(services.first { $0["id"] as? String == "payroll" })
        #expect((payroll["lastLive"] as? [String: Any])?["run"] as? String == world.liveRun)
        #expect(payroll["lastExercise"] is NSNull)
        #expect(services.count == 14)
    }

    @Test("the HTML scorecard is one strict, self-contained page with a matrix cell per service and criterion")
    func html() throws {
        let world = try Self.world.get()
        let file = world.cli.folder + "/readiness.html"
        let r = try world.cli.run(["readiness", "-o", file])
        #expect(r.status == 0, "\(r.stderr)")
        let check = try Self.strictHTML(file)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let html = try String(contentsOfFile: file, encoding: .utf8)
        #expect(html.components(separatedBy: "<rect ").count - 1 == 14 * 9)
    }

    /// Python's html.parser: balanced tags, unique ids, no external resource; local links must exist.
    static func strictHTML(_ file: String) throws -> IncidentCLIHarness.Result {
        let script = #"""
        import sys, os
        from html.parser import HTMLParser
        void = {"meta","link","br","img","input","hr","col","area","base","source","wbr"}
        class P(HTMLParser):
            def __init__(self):
                super().__init__(); self.stack=[]; self.ids=set(); self.errors=[]
            def handle_starttag(self, tag, attrs):
                a = dict(attrs)
                if "id" in a:
                    if a["id"] in self.ids: self.errors.append("duplicate id " + a["id"])
                    self.ids.add(a["id"])
                for k in ("src", "href"):
                    v = a.get(k)
                    if v and (v.startswith("http:") or v.startswith("https:") or v.startswith("//")) and v != "http://www.w3.org/2000/svg":
                        self.errors.append("external " + v)
                    if v and k == "href" and not v.startswith("#") and ":" not in v:
                        if not os.path.exists(os.path.join(os.path.dirname(sys.argv[1]), v)): self.errors.append("missing " + v)
                if tag not in void: self.stack.append(tag)
            def handle_startendtag(self, tag, attrs): pass
            def handle_endtag(self, tag):
                if tag in void: return
                if not self.stack or self.stack[-1] != tag: self.errors.append("unbalanced </%s> (open: %s)" % (tag, self.stack[-3:])); return
                self.stack.pop()
        p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read()); p.close()
        if p.stack: p.errors.append("unclosed " + str(p.stack))
        print("\n".join(p.errors)); sys.exit(1 if p.errors else 0)
        """#
        return try IncidentCLIHarness.execute("/usr/bin/python3", ["-c", script, file], env: ProcessInfo.processInfo.environment, timeout: 30)
    }

    @Test("the evidence pack: every file in the manifest with its SHA-256, the index strict HTML, controls mapped and gaps named")
    func evidence() throws {
        let world = try Self.world.get()
        let pack = world.cli.folder + "/pack"
        let r = try world.cli.run(["evidence", "--from", "2026-01-01", "--to", "2030-12-31", "-o", pack])
        #expect(r.status == 0, "\(r.stderr)")
        // The manifest names every file but itself, and each digest matches (sha256sum, the tool an auditor uses).
        let manifest = try String(contentsOfFile: pack + "/MANIFEST.sha256", encoding: .utf8)
        let listed = Set(manifest.split(separator: "\n").map { String($0.dropFirst(66)) })
        var onDisk: Set<String> = []
        let walker = FileManager.default.enumerator(atPath: pack)!
        while let path = walker.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: pack + "/" + path, isDirectory: &isDir), !isDir.boolValue, path != "MANIFEST.sha256" { onDisk.insert(path) }
        }
        #expect(listed == onDisk)
        let sums = try IncidentCLIHarness.execute("/usr/bin/env", ["sh", "-c", "cd '\(pack)' && sha256sum --strict -c MANIFEST.sha256"], env: ProcessInfo.processInfo.environment, timeout: 30)
        #expect(sums.status == 0, "\(sums.stdout)\(sums.stderr)")
        #expect(sums.stdout.split(separator: "\n").count == onDisk.count)
        // Tampering is caught.
        try "tampered\n".write(toFile: pack + "/catalogue/services.yaml", atomically: true, encoding: .utf8)
        let tampered = try IncidentCLIHarness.execute("/usr/bin/env", ["sh", "-c", "cd '\(pack)' && sha256sum -c MANIFEST.sha256"], env: ProcessInfo.processInfo.environment, timeout: 30)
        #expect(tampered.status != 0)
        #expect(tampered.stdout.contains("catalogue/services.yaml: FAILED"))

        let check = try Self.strictHTML(pack + "/index.html")
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let index = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: pack + "/index.json"))) as? [String: Any])
        let controls = try #require(index["controls"] as? [[String: Any]])
        func status(_ id: String) -> String? { controls.first { $0["id"] as? String == id }?["status"] as? String }
        #expect(controls.count == 14)
        #expect(status("A.5.24") == "evidenced")
        #expect(status("A.5.26") == "evidenced")  // the live incident's report and its chain verification
        #expect(status("A.5.27") == "partial")  // the improvement plan, but no action closed yet
        #expect(status("A.5.30") == "evidenced")
        let artefacts = try #require(index["artefacts"] as? [[String: Any]])
        for run in ["x-ransomware-tabletop-2026q4-1", "x-dc1-failover-drill-2026-1", "x-breach-72h-tabletop-1", world.liveRun] {
            #expect(artefacts.contains { $0["path"] as? String == "runs/\(run)/verification.txt" }, "\(run)")
            #expect(artefacts.contains { $0["path"] as? String == "runs/\(run)/report.html" }, "\(run)")
        }
        #expect(artefacts.filter { ($0["path"] as? String ?? "").hasPrefix("playbooks/pinned/") }.count == 4)
        let verification = try String(contentsOfFile: pack + "/runs/\(world.liveRun)/verification.txt", encoding: .utf8)
        #expect(verification.hasPrefix("INTACT: run \(world.liveRun)"))
        // A folder that is not empty is refused.
        #expect(try world.cli.run(["evidence", "--from", "2026-01-01", "--to", "2030-12-31", "-o", pack]).status == 2)
    }

    @Test("an evidence pack of a period with no run names its gaps plainly")
    func evidenceGaps() throws {
        let world = try Self.world.get()
        let pack = world.cli.folder + "/empty-period"
        let r = try world.cli.run(["evidence", "--from", "2019-01-01", "--to", "2019-12-31", "-o", pack])
        #expect(r.status == 0, "\(r.stderr)")
        let index = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: pack + "/index.json"))) as? [String: Any])
        let controls = try #require(index["controls"] as? [[String: Any]])
        let a528 = try #require(controls.first { $0["id"] as? String == "A.5.28" })
        #expect(a528["status"] as? String == "gap")
        let missing = try #require(a528["missing"] as? [[String: Any]])
        #expect(missing.first?["why"] as? String == "no run between 2019-01-01 and 2019-12-31")
        let html = try String(contentsOfFile: pack + "/index.html", encoding: .utf8)
        #expect(html.contains("<span class=\"badge missed\">GAP</span>"))
        #expect(r.stderr.contains("with nothing behind them"))
    }

    @Test("impact through the bundled catalogue, as JSON")
    func impact() throws {
        let world = try Self.world.get()
        let r = try world.cli.run(["impact", "--lost", "site:aws-eu-west-1", "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let affected = try #require(object["affected"] as? [[String: Any]])
        #expect(affected.map { $0["service"] as! String } == ["checkout-api", "customer-api", "customer-portal", "order-history"])
        #expect(affected.first?["timeLeftMs"] as? Int == 4 * 3_600_000)
        let unknown = try world.cli.run(["impact", "--lost", "supplier:payrol-saas-vendor"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("the catalogue has no supplier 'payrol-saas-vendor' (did you mean 'payroll-saas-vendor'?)"))
    }

    @Test("impact --run: a declared run's catalogue services are lost, on the clock of its disruption")
    func impactOfRun() throws {
        let world = try Self.world.get()
        let r = try world.cli.run(["impact", "--run", world.liveRun, "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(object["lost"] as? [String] == ["service:payroll", "service:hr-self-service"])
        let elapsed = try #require(object["elapsedMs"] as? Int)
        #expect(elapsed >= 2 * 3_600_000 && elapsed < 2 * 3_600_000 + 600_000, "\(elapsed)")  // declared 2h into it, minutes ago
        let affected = try #require(object["affected"] as? [[String: Any]])
        #expect(affected.first?["service"] as? String == "payroll")
        #expect(affected.first?["timeLeftMs"] as? Int == 3 * 86_400_000 - elapsed)
    }

    @Test("the run's report names the catalogue services it affected, through dependencies, with their MTPD at recovery (md, html, json)")
    func report() throws {
        let world = try Self.world.get()
        let md = try world.cli.run(["report", world.liveRun, "--format", "md"])
        #expect(md.status == 0, "\(md.stderr)")
        let lines = md.lines
        let header = try #require(lines.firstIndex(of: "## Catalogue services affected"), "\(md.stdout)")
        let rows = lines[(header + 1)...].filter { $0.hasPrefix("| ") && !$0.hasPrefix("| Service") }.prefix(while: { _ in true })
        #expect(rows.contains { $0.contains("(payroll) | 3d (derived) | ") && $0.hasSuffix("| this run's | saas-payroll-outage |") }, "\(md.stdout)")
        #expect(rows.contains { $0.contains("(hr-self-service) | 10d (derived) | ") && $0.contains("| this run's |") }, "\(md.stdout)")
        // Through dependencies: the ransomware tabletop's services take down what relies on them.
        let exercise = try world.cli.run(["report", "x-ransomware-tabletop-2026q4-1", "--format", "md"])
        #expect(exercise.lines.contains { $0.contains("(despatch) | ") && $0.hasSuffix("| through service:erp | none |") }, "\(exercise.stdout)")
        let html = try world.cli.run(["report", world.liveRun, "--format", "html"])
        #expect(html.stdout.contains("<section id=\"catalogue-services\">"))
        let json = try world.cli.run(["report", world.liveRun, "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let services = try #require(object["catalogueServices"] as? [[String: Any]])
        #expect(services.map { $0["service"] as? String } .contains("payroll"))
        // Without a catalogue the report is as before: no such section.
        let bare = try world.cli.run(["report", world.liveRun, "--format", "md"], env: ["MUSTER_SERVICES": world.cli.folder + "/none.yaml"])
        #expect(bare.status == 0 && !bare.stdout.contains("Catalogue services"))
    }

    @Test("incident status names the catalogue services a run affects, through dependencies, with their MTPD clocks")
    func status() throws {
        let world = try Self.world.get()
        let live = try world.cli.run(["incident", "status", "--run", world.liveRun])
        #expect(live.status == 0, "\(live.stderr)")
        let lines = live.lines
        let header = try #require(lines.firstIndex { $0.hasPrefix("catalogue services affected (services.yaml; muster impact --run \(world.liveRun)") })
        #expect(lines[(header + 1)...].map { String($0.prefix(while: { $0 != ":" })) } == ["  payroll", "  hr-self-service"])
        #expect(lines[header + 1].hasPrefix("  payroll: MTPD 3d: 6") && lines[header + 1].hasSuffix(" left  (this run's)"), "\(lines[header + 1])")
        let exercise = try world.cli.run(["incident", "status", "--run", "x-ransomware-tabletop-2026q4-1"])
        #expect(exercise.status == 0, "\(exercise.stderr)")
        #expect(exercise.lines.contains { $0.hasPrefix("  despatch: MTPD 2d: ") && $0.hasSuffix("  through service:erp, NO PLAYBOOK") }, "\(exercise.stdout)")
        #expect(exercise.lines.contains { $0.hasPrefix("  erp: MTPD 1d: ") && $0.hasSuffix("  through service:identity, playbooks: datacentre-power-loss") })
    }

    @Test("validate: the bundled files pass --strict; a playbook that loosens its catalogue's RTO fails at its line and column")
    func validate() throws {
        let world = try Self.world.get()
        let strict = try world.cli.run(["validate", "--strict"])
        #expect(strict.status == 0, "\(strict.stdout)")
        #expect(strict.stdout.hasSuffix("0 errors, 0 warnings\n"), "\(strict.stdout)")

        let folder = world.cli.folder + "/loosen"
        try FileManager.default.createDirectory(atPath: folder + "/playbooks", withIntermediateDirectories: true)
        let playbook = try String(contentsOfFile: IncidentCLIHarness.root + "/playbooks/phishing-account-compromise.yaml", encoding: .utf8)
        try playbook.write(toFile: folder + "/playbooks/phishing-account-compromise.yaml", atomically: true, encoding: .utf8)
        var catalogue = try String(contentsOfFile: IncidentCLIHarness.root + "/services.yaml", encoding: .utf8)
        let fileShares = try #require(catalogue.range(of: "  email-collab:\n"))
        let rto = try #require(catalogue.range(of: "    rto: 4h\n", range: fileShares.upperBound..<catalogue.endIndex))
        catalogue.replaceSubrange(rto, with: "    rto: 3h\n")
        try catalogue.write(toFile: folder + "/services.yaml", atomically: true, encoding: .utf8)
        let lines = playbook.split(separator: "\n", omittingEmptySubsequences: false)
        let serviceLine = try #require(lines.firstIndex { $0 == "  email-collab:" })
        let rtoLine = try #require(lines[serviceLine...].firstIndex { $0.hasPrefix("    rto: ") }) + 1
        let catalogueLine = catalogue.prefix(upTo: catalogue.range(of: "    rto: 3h\n")!.lowerBound).filter { $0 == "\n" }.count + 1
        let output = try SpawnedProcess.run(URL(fileURLWithPath: try world.cli.muster()), ["validate", "playbooks/phishing-account-compromise.yaml", "--services", "services.yaml"],
                                            environment: world.cli.baseEnvironment, directory: URL(fileURLWithPath: folder), timeout: 60)
        let r = IncidentCLIHarness.Result(status: output.status, stdout: output.stdout, stderr: output.stderr)
        #expect(r.status == 1)
        #expect(r.stdout.contains("playbooks/phishing-account-compromise.yaml:\(rtoLine):10: error: rto 4h of service 'email-collab' is looser than the catalogue's 3h (services.yaml:\(catalogueLine):10): a playbook may tighten a service's objectives, never loosen them"), "\(r.stdout)")
        // The playbook's other service agrees with the catalogue, and the catalogue itself is still valid.
        #expect(r.stdout.hasSuffix("2 files, 1 error, 0 warnings\n"), "\(r.stdout)")
    }
}
