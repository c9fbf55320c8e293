/// Which artefacts of an evidence pack satisfy which control: ISO/IEC 27001:2022 A.5.24–A.5.30, ISO 22301 8.4,
/// 8.5 and 10, and the ISO/IEC 27031 readiness criteria by default (`evidence-map.yaml`). A user extends it by
/// adding controls (their own policy clauses, another standard) that name the same artefact kinds.
public struct EvidenceMap: Sendable, Hashable {
    public struct Control: Sendable, Hashable {
        public var id: String
        public var standard: String
        public var title: String
        /// What an auditor should find, in one sentence.
        public var expects: String?
        public var evidence: [ArtefactKind]
        public var location: SourceLocation
    }

    public var controls: [Control]

    public init(controls: [Control]) { self.controls = controls }
}

/// The kinds of artefact `muster evidence` writes.
public enum ArtefactKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// The service catalogue (BIA objectives and dependencies) with its SHA-256.
    case catalogue
    /// The playbooks in force, and the copies pinned to the period's runs, with versions and SHA-256.
    case playbooks
    /// After-action reports of the exercises held in the period (with their P/S/M/U ratings).
    case exerciseReports = "exercise-reports"
    /// Post-incident reports of the live runs in the period.
    case incidentReports = "incident-reports"
    /// Each run's hash-chain verification.
    case chainVerifications = "chain-verifications"
    /// The improvement plan (HSEEP columns) of the actions answering the period's lessons.
    case improvementPlans = "improvement-plans"
    /// Actions closed in the period with their effectiveness reviews.
    case actionsClosed = "actions-closed"
    /// The readiness scorecard at the end of the period.
    case readinessScorecard = "readiness-scorecard"
}

extension EvidenceMap {
    public static func decode(_ node: SourceNode) -> (map: EvidenceMap?, diagnostics: [Diagnostic]) {
        var d = Decoding()
        let map = d.evidenceMap(node)
        return (d.complete ? map : nil, d.diagnostics.sortedByLocation())
    }
}

extension Decoding {
    mutating func evidenceMap(_ node: SourceNode) -> EvidenceMap? {
        guard case .mapping(let top) = node else {
            fail("wrong-type", "an evidence map must be a mapping with 'muster_evidence_map' and 'controls', found \(node.kindDescription)", at: node.location)
            return nil
        }
        if let v = required(top, "muster_evidence_map", in: "the evidence map", why: " (write muster_evidence_map: 1)"),
           let format = wholeNumber(v, "muster_evidence_map"), format != 1 {
            fail("unsupported-format", "unsupported evidence map format \(format) (this Muster reads format 1)", at: v.location)
            return nil
        }
        checkKeys(top, allowed: ["muster_evidence_map", "controls"], in: "the evidence map")
        guard let items = required(top, "controls", in: "the evidence map").flatMap({ list($0, "controls") }) else { return nil }
        var controls: [EvidenceMap.Control] = []
        var seen: [String: SourceLocation] = [:]
        let kinds = ArtefactKind.allCases.map(\.rawValue)
        for (index, item) in items.enumerated() {
            guard let fields = itemMapping(item, "control #\(index + 1)") else { continue }
            checkKeys(fields, allowed: ["id", "standard", "title", "expects", "evidence"], in: "control #\(index + 1)")
            guard let id = required(fields, "id", in: "control #\(index + 1)").flatMap({ locatedText($0, "id") }),
                  let standard = required(fields, "standard", in: "control '\(id.value)'").flatMap({ text($0, "standard") }),
                  let title = required(fields, "title", in: "control '\(id.value)'").flatMap({ text($0, "title") }),
                  let evidence = required(fields, "evidence", in: "control '\(id.value)'").flatMap({ textList($0, "evidence") })
            else { continue }
            let key = standard + " " + id.value
            if let first = seen[key] {
                report("duplicate-id", "control '\(id.value)' of \(standard) is listed twice (first at \(first.line):\(first.column))", at: id.location)
            }
            seen[key] = id.location
            var artefacts: [ArtefactKind] = []
            for name in evidence {
                if let kind = ArtefactKind(rawValue: name.value) { artefacts.append(kind) } else {
                    report("invalid-name", "'\(name.value)' is not an artefact kind\(hintOr(name.value, kinds, "one of \(kinds.joined(separator: ", "))"))", at: name.location)
                }
            }
            controls.append(.init(id: id.value, standard: standard, title: title,
                                  expects: fields["expects"].flatMap { text($0, "expects") }, evidence: artefacts, location: id.location))
        }
        return EvidenceMap(controls: controls)
    }
}
