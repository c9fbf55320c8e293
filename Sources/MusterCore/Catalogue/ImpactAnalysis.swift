/// What falls when something is lost: every service that depends on a lost node, directly or through other
/// services and resources, with the time left before its MTPD, and the playbooks that cover it. Pure: the elapsed
/// time since the disruption began is a parameter.
public struct ImpactAnalysis: Sendable, Hashable {
    public struct Affected: Sendable, Hashable {
        public var service: String
        public var name: String
        public var tier: Int?
        public var owner: String?
        public var rto: TimeSpan?
        public var rpo: TimeSpan?
        public var mtpd: TimeSpan?
        public var mtpdDerived: Bool
        /// MTPD − elapsed (negative once past it); nil without an MTPD.
        public var timeLeft: TimeSpan?
        /// RTO − elapsed.
        public var rtoLeft: TimeSpan?
        /// From the lost node to this service, each step a dependant of the one before: `[site:dc1,
        /// technology:domain-controllers, service:identity]`. One step means directly lost or directly dependent.
        public var path: [NodeRef]
        /// Playbook ids whose `services:` name it.
        public var coveredBy: [String]
        /// The highest impact level already reached at `elapsed`.
        public var impactNow: String?

        public var direct: Bool { path.count <= 2 }
    }

    public var lost: [NodeRef]
    public var elapsed: TimeSpan
    public var affected: [Affected]
    /// Resources that fall with the lost ones (a cluster on a lost site), not counting services.
    public var resources: [NodeRef]

    public var uncovered: [Affected] { affected.filter { $0.coveredBy.isEmpty } }

    /// `coverage`: per service id, the playbooks that cover it (file order).
    public static func compute(_ catalogue: ServiceCatalogue, lost: [NodeRef], elapsed: TimeSpan = .zero,
                               coverage: [String: [String]]) -> ImpactAnalysis {
        // Dependants of each node.
        var dependants: [NodeRef: [NodeRef]] = [:]
        for node in catalogue.nodes {
            for dep in node.dependsOn { dependants[dep.ref, default: []].append(node.ref) }
        }
        // Breadth first from every lost node: each reached node keeps the node it was reached from, so the path
        // shown is a shortest one.
        var parent: [NodeRef: NodeRef?] = [:]
        var queue: [NodeRef] = []
        for ref in lost where parent[ref] == nil {
            parent[ref] = .some(nil)
            queue.append(ref)
        }
        var head = 0
        while head < queue.count {
            let ref = queue[head]
            head += 1
            for next in dependants[ref] ?? [] where parent[next] == nil {
                parent[next] = .some(ref)
                queue.append(next)
            }
        }
        var affected: [Affected] = []
        var resources: [NodeRef] = []
        let lostSet = Set(lost)
        var byID: [String: CatalogueService] = [:]
        for service in catalogue.services where byID[service.id.value] == nil { byID[service.id.value] = service }
        for ref in queue {
            guard ref.kind == .service, let service = byID[ref.id] else {
                if !lostSet.contains(ref) { resources.append(ref) }
                continue
            }
            var path: [NodeRef] = [ref]
            var cursor = ref
            while let p = parent[cursor], let up = p {
                path.append(up)
                cursor = up
            }
            let mtpd = catalogue.mtpd(of: service)
            affected.append(Affected(
                service: ref.id, name: service.name, tier: service.tier, owner: service.owner, rto: service.rto?.value,
                rpo: service.rpo?.value, mtpd: mtpd?.span, mtpdDerived: mtpd?.derived ?? false,
                timeLeft: mtpd.map { $0.span - elapsed }, rtoLeft: service.rto.map { $0.value - elapsed },
                path: path.reversed(), coveredBy: coverage[ref.id] ?? [],
                impactNow: catalogue.impactLevel(of: service, after: elapsed)))
        }
        affected.sort { a, b in
            switch (a.timeLeft, b.timeLeft) {
            case (let x?, let y?) where x != y: return x < y
            case (.some, nil): return true
            case (nil, .some): return false
            default: break
            }
            if (a.tier ?? Int.max) != (b.tier ?? Int.max) { return (a.tier ?? Int.max) < (b.tier ?? Int.max) }
            return a.service < b.service
        }
        return ImpactAnalysis(lost: lost, elapsed: elapsed, affected: affected, resources: resources.sorted())
    }

    /// Per service id, the playbooks among `playbooks` whose `services:` name it, in the order given.
    public static func coverage(_ playbooks: [Playbook]) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for playbook in playbooks {
            for service in playbook.services where !(out[service.id.value] ?? []).contains(playbook.id.value) {
                out[service.id.value, default: []].append(playbook.id.value)
            }
        }
        return out
    }
}
