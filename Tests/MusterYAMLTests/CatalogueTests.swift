import Foundation
import MusterCore
import MusterYAML
import Testing

/// Issue 19: the service catalogue's rules, each with the exact position a person would fix.
@Suite("Service catalogue: validator rules and positions")
struct CatalogueTests {
    static func load(_ text: String) -> LoadedCatalogue { CatalogueLoader.load(text: text, file: "s.yaml") }

    static func findings(_ text: String) -> [String] { load(text).diagnostics.map(\.description) }

    static let clean = """
        muster_services: 1
        intolerable: severe
        services:
          a:
            name: A
            rto: 2h
            mtpd: 4h
            depends_on:
              services: [b]
              sites: [hq]
          b:
            name: B
            rto: 1h
            impact:
              financial: { 1h: minor, 6h: severe }
              customer: { 4h: severe, 1h: moderate }
        sites:
          hq: { name: Head office }

        """

    @Test("a clean catalogue has no finding; an MTPD not written is the first point any impact is intolerable")
    func cleanAndDerived() throws {
        let loaded = Self.load(Self.clean)
        #expect(loaded.diagnostics == [])
        let catalogue = try #require(loaded.catalogue)
        let b = try #require(catalogue.service("b"))
        #expect(catalogue.mtpd(of: b)?.span == .hours(4))
        #expect(catalogue.mtpd(of: b)?.derived == true)
        #expect(catalogue.mtpd(of: catalogue.service("a")!)?.derived == false)
        #expect(catalogue.impactLevel(of: b, after: .hours(2)) == "moderate")
        #expect(catalogue.impactLevel(of: b, after: .minutes(59)) == nil)
    }

    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var replace: String
        var with: String
        var expected: [String]
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "RTO longer than MTPD", replace: "    rto: 2h\n    mtpd: 4h", with: "    rto: 5h\n    mtpd: 4h",
             expected: ["s.yaml:6:10: error: RTO 5h of service 'a' exceeds its MTPD 4h (written at 7:11)"]),
        Case(name: "RTO longer than a derived MTPD", replace: "    rto: 1h\n    impact", with: "    rto: 5h\n    impact",
             expected: ["s.yaml:6:10: error: RTO 2h of service:a is shorter than the RTO 5h of service:b it depends on (s.yaml:13:10): it cannot recover before its dependency does",
                        "s.yaml:13:10: error: RTO 5h of service 'b' exceeds its MTPD 4h (derived from its impact reaching 'severe')"]),
        Case(name: "a dependency that recovers later than its dependant: both positions", replace: "    rto: 1h\n", with: "    rto: 3h\n",
             expected: ["s.yaml:6:10: error: RTO 2h of service:a is shorter than the RTO 3h of service:b it depends on (s.yaml:13:10): it cannot recover before its dependency does"]),
        Case(name: "a cycle, at the reference that closes it", replace: "    rto: 1h\n", with: "    rto: 2h\n    depends_on: { services: [a] }\n",
             expected: ["s.yaml:14:30: error: dependency cycle: service:a → service:b → service:a"]),
        Case(name: "an unknown dependency, with the closest name", replace: "sites: [hq]", with: "sites: [hqq]",
             expected: ["s.yaml:10:15: error: service:a depends on site 'hqq', which the catalogue does not define under 'sites' (did you mean 'hq'?)"]),
        Case(name: "a dependency listed under the wrong kind", replace: "sites: [hq]", with: "technology: [hq]",
             expected: ["s.yaml:10:20: error: service:a depends on technology 'hq', which the catalogue does not define under 'technology' (it is defined under 'sites': list it there in depends_on)"]),
        Case(name: "no MTPD at all", replace: "{ 1h: minor, 6h: severe }\n      customer: { 4h: severe, 1h: moderate }", with: "{ 1h: minor }",
             expected: ["s.yaml:11:3: error: service 'b' has no maximum tolerable period of disruption (write 'mtpd', or an impact that reaches 'severe')"]),
        Case(name: "a written MTPD later than the impact becoming intolerable", replace: "    rto: 1h\n", with: "    rto: 1h\n    mtpd: 1d\n",
             expected: ["s.yaml:14:11: warning: MTPD 1d of service 'b' is later than its impact becomes severe (after 4h): the BIA says the organisation cannot wait that long"]),
        Case(name: "an unknown impact level, with the closest", replace: "6h: severe", with: "6h: sever",
             expected: ["s.yaml:15:35: error: 'sever' is not an impact level (did you mean 'severe'?)"]),
        Case(name: "an unknown key", replace: "    name: B\n", with: "    name: B\n    rtoo: 1h\n",
             expected: ["s.yaml:13:5: error: unknown key 'rtoo' in service 'b' (did you mean 'rto'?)"]),
        Case(name: "a missing RTO", replace: "    rto: 1h\n", with: "",
             expected: ["s.yaml:12:5: error: service 'b' is missing required key 'rto' (the recovery time objective, e.g. rto: 4h)"]),
    ]

    @Test("each rule, at its position", arguments: cases)
    func rule(_ c: Case) {
        #expect(Self.clean.contains(c.replace), "bad case")
        #expect(Self.findings(Self.clean.replacingOccurrences(of: c.replace, with: c.with)) == c.expected)
    }

    static let playbook = """
        muster: 1
        id: tiny
        version: 1
        title: Tiny
        services:
          a: { rto: 1h, rpo: 5m, mtpd: 6h }
          b: { rto: 1h }
          c: { rto: 1h }
        roles:
          incident_commander: Incident Commander
        start: open
        states:
          open: { phase: respond, transitions: [ { on: done, to: closed } ] }
          closed: { phase: learn, terminal: true }

        """

    @Test("a playbook may tighten a catalogue service's objectives, never loosen them; a service the catalogue lacks is a warning")
    func playbooksAgainstCatalogue() throws {
        let catalogue = try #require(Self.load(Self.clean).catalogue)
        let playbook = try #require(PlaybookLoader.load(text: Self.playbook, file: "p.yaml").playbook)
        #expect(CatalogueValidator.check([playbook], against: catalogue).map(\.description) == [
            "p.yaml:6:32: error: mtpd 6h of service 'a' is looser than the catalogue's 4h (s.yaml:7:11): a playbook may tighten a service's objectives, never loosen them",
            "p.yaml:8:3: warning: service 'c' is not in the service catalogue (s.yaml) (did you mean 'a'?)",
        ])
        let looserRTO = try #require(PlaybookLoader.load(text: Self.playbook.replacingOccurrences(of: "b: { rto: 1h }", with: "b: { rto: 90m }"), file: "p.yaml").playbook)
        #expect(CatalogueValidator.check([looserRTO], against: catalogue).map(\.description).contains(
            "p.yaml:7:13: error: rto 1h30m of service 'b' is looser than the catalogue's 1h (s.yaml:13:10): a playbook may tighten a service's objectives, never loosen them"))
    }

    @Test("the bundled services.yaml is clean, and the eight playbooks agree with it")
    func bundled() throws {
        let root = (BundledPlaybookTests.folder as NSString).deletingLastPathComponent
        let loaded = CatalogueLoader.load(file: root + "/services.yaml")
        #expect(loaded.diagnostics.map(\.description) == [])
        let catalogue = try #require(loaded.catalogue)
        let playbooks = PlaybookLoader.loadAll(paths: [root + "/playbooks"]).compactMap(\.playbook)
        #expect(playbooks.count == 8)
        #expect(CatalogueValidator.check(playbooks, against: catalogue).map(\.description) == [])
        // Every playbook service is in the catalogue, and the catalogue has one service no playbook covers.
        let coverage = ImpactAnalysis.coverage(playbooks)
        #expect(catalogue.services.filter { coverage[$0.id.value] == nil }.map(\.id.value) == ["despatch"])
    }

    @Test("a long dependency chain is checked without recursion, and a cycle at its end is found")
    func longChain() throws {
        var text = "muster_services: 1\nservices:\n"
        let n = 5_000
        for i in 0..<n {
            let dep = i + 1 < n ? "s\(i + 1)" : "s0"
            text += "  s\(i): { name: S\(i), rto: 1h, mtpd: 2h, depends_on: { services: [\(dep)] } }\n"
        }
        let findings = Self.load(text).diagnostics
        #expect(findings.count == 1)
        #expect(findings.first?.code == "dependency-cycle")
        #expect(findings.first?.location.line == n + 2)
    }
}

/// Issue 19: `muster impact`'s computation, through several levels of dependencies.
@Suite("Impact through dependencies")
struct ImpactTests {
    static func bundled() throws -> (ServiceCatalogue, [String: [String]]) {
        let root = (BundledPlaybookTests.folder as NSString).deletingLastPathComponent
        let catalogue = try #require(CatalogueLoader.load(file: root + "/services.yaml").catalogue)
        let playbooks = PlaybookLoader.loadAll(paths: [BundledPlaybookTests.folder]).compactMap(\.playbook)
        return (catalogue, ImpactAnalysis.coverage(playbooks))
    }

    @Test("losing a data centre reaches sign-in through the domain controllers, then everything that needs sign-in, by time left to MTPD")
    func dataCentre() throws {
        let (catalogue, coverage) = try Self.bundled()
        let a = ImpactAnalysis.compute(catalogue, lost: [NodeRef(.site, "dc1")], coverage: coverage)
        #expect(a.affected.map(\.service) == [
            "identity", "telephony", "erp", "file-shares", "despatch", "payroll", "accounts-payable", "customer-records", "hr-self-service",
        ])
        let hr = try #require(a.affected.last)
        #expect(hr.path.map(\.description) == ["site:dc1", "technology:domain-controllers", "service:identity", "service:payroll", "service:hr-self-service"])
        #expect(hr.coveredBy == ["saas-payroll-outage"])
        #expect(hr.timeLeft == .days(10))
        #expect(a.uncovered.map(\.service) == ["despatch"])
        #expect(a.resources.map(\.description).contains("technology:nas-cluster-1"))
    }

    @Test("several losses at once, time already elapsed, and a service lost itself")
    func severalAndElapsed() throws {
        let (catalogue, coverage) = try Self.bundled()
        let a = ImpactAnalysis.compute(catalogue, lost: [NodeRef(.supplier, "payroll-saas-vendor"), NodeRef(.service, "checkout-api")],
                                       elapsed: .hours(5), coverage: coverage)
        #expect(a.affected.map(\.service) == ["checkout-api", "customer-api", "customer-portal", "payroll", "hr-self-service"])
        let checkout = try #require(a.affected.first)
        #expect(checkout.timeLeft == .hours(-1))  // 4h MTPD, 5h in: one hour past
        #expect(checkout.path.map(\.description) == ["service:checkout-api"])
        #expect(checkout.impactNow == "severe")
        #expect(a.affected.first { $0.service == "customer-api" }?.path.count == 2)
    }

    @Test("losing the cloud region's provider reaches the region, its platforms and the services on them")
    func cloudProvider() throws {
        let (catalogue, coverage) = try Self.bundled()
        let a = ImpactAnalysis.compute(catalogue, lost: [NodeRef(.supplier, "cloud-provider")], coverage: coverage)
        #expect(Set(a.affected.map(\.service)) == ["checkout-api", "customer-api", "customer-portal", "order-history"])
        #expect(a.affected.first { $0.service == "order-history" }?.path.map(\.description)
            == ["supplier:cloud-provider", "site:aws-eu-west-1", "technology:orders-read-replicas", "service:order-history"])
    }
}

/// Issue 19: the evidence map, the data file `muster evidence` reads.
@Suite("Evidence map")
struct EvidenceMapTests {
    @Test("the bundled evidence-map.yaml is the built-in one, and maps the 27001 A.5.24–A.5.30, 22301 and 27031 controls")
    func bundled() throws {
        let root = (BundledPlaybookTests.folder as NSString).deletingLastPathComponent
        let text = try String(contentsOfFile: root + "/evidence-map.yaml", encoding: .utf8)
        #expect(text == EvidenceMap.builtInText + "\n")
        let (map, diagnostics) = EvidenceMapLoader.load(text: text, file: "evidence-map.yaml")
        #expect(diagnostics.map(\.description) == [])
        let controls = try #require(map).controls
        #expect(controls.filter { $0.standard == "ISO/IEC 27001:2022" }.map(\.id) == ["A.5.24", "A.5.25", "A.5.26", "A.5.27", "A.5.28", "A.5.29", "A.5.30"])
        #expect(controls.filter { $0.standard == "ISO 22301:2019" }.map(\.id) == ["8.4", "8.5", "10"])
        #expect(controls.filter { $0.standard.hasPrefix("ISO/IEC 27031") }.count == 4)
        // Every kind of artefact the pack writes evidences some control.
        #expect(Set(controls.flatMap(\.evidence)) == Set(ArtefactKind.allCases))
    }

    @Test("a user's control with an unknown artefact kind, or listed twice, is an error at its position")
    func errors() {
        let text = """
            muster_evidence_map: 1
            controls:
              - { id: P-1, standard: Our policy, title: Backups tested, evidence: [exercise-report] }
              - { id: P-1, standard: Our policy, title: Again, evidence: [catalogue] }

            """
        #expect(EvidenceMapLoader.load(text: text, file: "m.yaml").diagnostics.map(\.description) == [
            "m.yaml:3:72: error: 'exercise-report' is not an artefact kind (did you mean 'exercise-reports'?)",
            "m.yaml:4:11: error: control 'P-1' of Our policy is listed twice (first at 3:11)",
        ])
    }
}
