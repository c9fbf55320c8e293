/// The rules of a service catalogue, and of playbooks against it:
///
/// - every dependency names something the catalogue defines (`unknown-dependency`);
/// - the dependency graph has no cycle (`dependency-cycle`, at the reference that closes it);
/// - every service has an MTPD, written or derived from its impact (`no-mtpd`); a written MTPD later than the
///   impact becoming intolerable is a warning (`mtpd-after-intolerable`);
/// - RTO ≤ MTPD (`rto-exceeds-mtpd`);
/// - nothing recovers later than what depends on it: a service's (or resource's) RTO is not shorter than the RTO
///   of anything it depends on (`dependency-rto`, at the dependant's RTO, naming where the dependency's is written);
/// - objectives are positive (`invalid-value`);
/// - a playbook may tighten a catalogue service's objectives, never loosen them (`loosens-objective`, at the
///   playbook's value); a playbook service missing from the catalogue is a warning (`not-in-catalogue`).
public enum CatalogueValidator {
    public static func validate(_ catalogue: ServiceCatalogue) -> [Diagnostic] {
        var out: [Diagnostic] = []
        var defined: [NodeRef: SourceLocation] = [:]
        var rto: [NodeRef: Located<TimeSpan>] = [:]
        var idsByKind: [NodeKind: [String]] = [:]
        for service in catalogue.services where defined[NodeRef(.service, service.id.value)] == nil {
            defined[NodeRef(.service, service.id.value)] = service.id.location
        }
        for resource in catalogue.resources where defined[NodeRef(resource.kind, resource.id.value)] == nil {
            defined[NodeRef(resource.kind, resource.id.value)] = resource.id.location
        }
        let nodes = catalogue.nodes
        for node in nodes {
            idsByKind[node.ref.kind, default: []].append(node.ref.id)
            if let r = node.rto { rto[node.ref] = r }
        }

        for service in catalogue.services {
            let id = service.id.value
            for (name, span) in [("rto", service.rto), ("mtpd", service.mtpd)] {
                if let span, span.value <= .zero {
                    out.append(.error("invalid-value", "'\(name)' of service '\(id)' must be longer than zero, found \(span.value)", at: span.location))
                }
            }
            if let rpo = service.rpo, rpo.value < .zero {
                out.append(.error("invalid-value", "'rpo' of service '\(id)' must not be negative, found \(rpo.value)", at: rpo.location))
            }
            let derived = catalogue.derivedMTPD(of: service)
            if let written = service.mtpd, let derived, written.value > derived {
                out.append(.warning("mtpd-after-intolerable",
                    "MTPD \(written.value) of service '\(id)' is later than its impact becomes \(catalogue.intolerable?.value ?? "intolerable") (after \(derived)): the BIA says the organisation cannot wait that long",
                    at: written.location))
            }
            guard let mtpd = catalogue.mtpd(of: service) else {
                let why = catalogue.intolerable == nil
                    ? "write 'mtpd', or 'intolerable' at the top of the file and an impact that reaches it"
                    : "write 'mtpd', or an impact that reaches '\(catalogue.intolerable!.value)'"
                out.append(.error("no-mtpd", "service '\(id)' has no maximum tolerable period of disruption (\(why))", at: service.id.location))
                continue
            }
            if let r = service.rto, r.value > mtpd.span {
                let source = mtpd.derived ? "derived from its impact reaching '\(catalogue.intolerable?.value ?? "")'" : "written at \(service.mtpd!.location.line):\(service.mtpd!.location.column)"
                out.append(.error("rto-exceeds-mtpd", "RTO \(r.value) of service '\(id)' exceeds its MTPD \(mtpd.span) (\(source))", at: r.location))
            }
        }
        for resource in catalogue.resources {
            if let r = resource.rto, r.value <= .zero {
                out.append(.error("invalid-value", "'rto' of \(resource.kind.rawValue) '\(resource.id.value)' must be longer than zero, found \(r.value)", at: r.location))
            }
        }

        // References and recovery order.
        for node in nodes {
            for dep in node.dependsOn {
                guard defined[dep.ref] != nil else {
                    var hint = Suggestion.hint(for: dep.ref.id, in: idsByKind[dep.ref.kind] ?? [])
                    if hint.isEmpty, let other = NodeKind.allCases.first(where: { $0 != dep.ref.kind && defined[NodeRef($0, dep.ref.id)] != nil }) {
                        hint = " (it is defined under '\(other.section)': list it there in depends_on)"
                    }
                    out.append(.error("unknown-dependency", "\(node.ref) depends on \(dep.ref.kind.rawValue) '\(dep.ref.id)', which the catalogue does not define under '\(dep.ref.kind.section)'\(hint)", at: dep.location))
                    continue
                }
                if let mine = node.rto, let theirs = rto[dep.ref], theirs.value > mine.value {
                    out.append(.error("dependency-rto",
                        "RTO \(mine.value) of \(node.ref) is shorter than the RTO \(theirs.value) of \(dep.ref) it depends on (\(theirs.location)): it cannot recover before its dependency does",
                        at: mine.location))
                }
            }
        }
        out += cycles(catalogue, defined: defined)
        return out.sortedByLocation()
    }

    /// Every back edge of a depth-first walk, reported at the reference that closes the cycle, with the cycle.
    /// Iterative, so that a long dependency chain cannot overflow the stack.
    static func cycles(_ catalogue: ServiceCatalogue, defined: [NodeRef: SourceLocation]) -> [Diagnostic] {
        var edges: [NodeRef: [CatalogueDependency]] = [:]
        var order: [NodeRef] = []
        for node in catalogue.nodes where edges[node.ref] == nil {
            edges[node.ref] = node.dependsOn.filter { defined[$0.ref] != nil }
            order.append(node.ref)
        }
        enum Colour { case grey, black }
        var colour: [NodeRef: Colour] = [:]
        var out: [Diagnostic] = []
        for root in order where colour[root] == nil {
            var stack: [(ref: NodeRef, next: Int)] = [(root, 0)]
            var onPath: [NodeRef: Int] = [root: 0]
            colour[root] = .grey
            while let top = stack.last {
                let deps = edges[top.ref] ?? []
                if top.next == deps.count {
                    colour[top.ref] = .black
                    onPath[top.ref] = nil
                    stack.removeLast()
                    continue
                }
                stack[stack.count - 1].next += 1
                let dep = deps[top.next]
                switch colour[dep.ref] {
                case .grey:
                    let start = onPath[dep.ref] ?? 0
                    let path = stack[start...].map(\.ref.description) + [dep.ref.description]
                    out.append(.error("dependency-cycle", "dependency cycle: \(path.joined(separator: " → "))", at: dep.location))
                case .black:
                    break
                case nil:
                    colour[dep.ref] = .grey
                    onPath[dep.ref] = stack.count
                    stack.append((dep.ref, 0))
                }
            }
        }
        return out
    }

    /// Playbooks against the catalogue: a playbook's service that the catalogue has may tighten its objectives,
    /// never loosen them; one the catalogue lacks is a warning. `catalogueFile` names the catalogue in messages.
    public static func check(_ playbooks: [Playbook], against catalogue: ServiceCatalogue) -> [Diagnostic] {
        var out: [Diagnostic] = []
        let ids = catalogue.services.map(\.id.value)
        var byID: [String: CatalogueService] = [:]
        for service in catalogue.services where byID[service.id.value] == nil { byID[service.id.value] = service }
        for playbook in playbooks {
            for service in playbook.services {
                guard let entry = byID[service.id.value] else {
                    out.append(.warning("not-in-catalogue",
                        "service '\(service.id.value)' is not in the service catalogue (\(catalogue.location.file))\(Suggestion.hint(for: service.id.value, in: ids))",
                        at: service.id.location))
                    continue
                }
                let mtpd = catalogue.mtpd(of: entry)
                let objectives: [(String, Located<TimeSpan>?, TimeSpan?, SourceLocation?)] = [
                    ("rto", service.rto, entry.rto?.value, entry.rto?.location),
                    ("rpo", service.rpo, entry.rpo?.value, entry.rpo?.location),
                    ("mtpd", service.mtpd, mtpd?.span, entry.mtpd?.location ?? entry.id.location),
                ]
                for (name, mine, theirs, at) in objectives {
                    guard let mine, let theirs, let at, mine.value > theirs else { continue }
                    let derived = name == "mtpd" && mtpd?.derived == true ? ", derived from its impact" : ""
                    out.append(.error("loosens-objective",
                        "\(name) \(mine.value) of service '\(service.id.value)' is looser than the catalogue's \(theirs) (\(at)\(derived)): a playbook may tighten a service's objectives, never loosen them",
                        at: mine.location))
                }
            }
        }
        return out
    }
}
