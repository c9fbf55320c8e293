/// The ICT service catalogue, format 1 (`services.yaml`): every service the organisation's critical activities
/// rely on, with the objectives its business impact analysis set (impact over time, MTPD, RTO, RPO, minimum
/// capacity) and what it depends on: other services, sites, suppliers, technology, data, people and processes.
/// Playbooks name catalogue services by id and may tighten their objectives, never loosen them.
///
/// Every part keeps where it was written, so that the validator can point back at the file.
public struct ServiceCatalogue: Sendable, Hashable {
    public var formatVersion: Int
    public var organisation: String?
    /// The impact scale, least to most severe (default `CatalogueDefaults.levels`).
    public var levels: [String]
    /// The first level the organisation cannot tolerate; an MTPD not written is derived from it.
    public var intolerable: Located<String>?
    /// How often each service's plans must be exercised or reviewed, unless the service says otherwise.
    public var reviewEvery: TimeSpan?
    public var services: [CatalogueService]
    /// Sites, suppliers, technology, data, people and processes, in file order.
    public var resources: [CatalogueResource]
    public var location: SourceLocation

    public init(formatVersion: Int = 1, organisation: String? = nil, levels: [String] = CatalogueDefaults.levels,
                intolerable: Located<String>? = nil, reviewEvery: TimeSpan? = nil, services: [CatalogueService] = [],
                resources: [CatalogueResource] = [], location: SourceLocation) {
        self.formatVersion = formatVersion
        self.organisation = organisation
        self.levels = levels
        self.intolerable = intolerable
        self.reviewEvery = reviewEvery
        self.services = services
        self.resources = resources
        self.location = location
    }

    public func service(_ id: String) -> CatalogueService? { services.first { $0.id.value == id } }

    /// Where a node of the dependency graph was defined (a service or a resource), nil when unknown.
    public func definition(of ref: NodeRef) -> SourceLocation? {
        if ref.kind == .service { return service(ref.id)?.id.location }
        return resources.first { $0.kind == ref.kind && $0.id.value == ref.id }?.id.location
    }

    public func name(of ref: NodeRef) -> String {
        if ref.kind == .service { return service(ref.id)?.name ?? ref.id }
        return resources.first { $0.kind == ref.kind && $0.id.value == ref.id }?.name ?? ref.id
    }

    /// Every node with the dependencies it declares: services first, then resources, in file order.
    public var nodes: [(ref: NodeRef, rto: Located<TimeSpan>?, dependsOn: [CatalogueDependency])] {
        services.map { (NodeRef(.service, $0.id.value), $0.rto, $0.dependsOn) }
            + resources.map { (NodeRef($0.kind, $0.id.value), $0.rto, $0.dependsOn) }
    }

    /// The service's MTPD: written, else the first point where any category of its impact reaches the
    /// intolerable level. Nil when neither says.
    public func mtpd(of service: CatalogueService) -> (span: TimeSpan, derived: Bool)? {
        if let written = service.mtpd { return (written.value, false) }
        return derivedMTPD(of: service).map { ($0, true) }
    }

    /// The first point where any impact category reaches the intolerable level.
    public func derivedMTPD(of service: CatalogueService) -> TimeSpan? {
        guard let intolerable, let threshold = levels.firstIndex(of: intolerable.value) else { return nil }
        var first: TimeSpan?
        for category in service.impact {
            for point in category.points {
                guard let rank = levels.firstIndex(of: point.level.value), rank >= threshold else { continue }
                if first.map({ point.after.value < $0 }) ?? true { first = point.after.value }
                break
            }
        }
        return first
    }

    /// The highest impact level the service reaches within `elapsed` of a disruption, nil when none yet.
    public func impactLevel(of service: CatalogueService, after elapsed: TimeSpan) -> String? {
        var best: Int?
        for category in service.impact {
            for point in category.points where point.after.value <= elapsed {
                if let rank = levels.firstIndex(of: point.level.value), best.map({ rank > $0 }) ?? true { best = rank }
            }
        }
        return best.map { levels[$0] }
    }
}

public enum CatalogueDefaults {
    /// The impact scale when the file gives none.
    public static let levels = ["minimal", "minor", "moderate", "major", "severe"]
    /// `review_every` when neither the service, the catalogue nor a covering playbook gives one.
    public static let reviewEvery = TimeSpan.days(365)
    /// The file beside `playbooks/` that `muster validate`, `impact`, `readiness` and `evidence` read.
    public static let fileName = "services.yaml"
}

/// The kinds of node in the dependency graph: services and the resources they depend on (the IRBC elements:
/// facilities are sites).
public enum NodeKind: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case service, site, supplier, technology, data, people, process

    /// The key of the catalogue's top-level section and of a `depends_on` list.
    public var section: String {
        switch self {
        case .service: "services"
        case .site: "sites"
        case .supplier: "suppliers"
        case .technology: "technology"
        case .data: "data"
        case .people: "people"
        case .process: "processes"
        }
    }

    public init?(section: String) {
        guard let kind = NodeKind.allCases.first(where: { $0.section == section }) else { return nil }
        self = kind
    }

    public static func < (a: NodeKind, b: NodeKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// A node of the dependency graph: `site:hq`, `supplier:cloud-provider`, `service:payroll`.
public struct NodeRef: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var kind: NodeKind
    public var id: String

    public init(_ kind: NodeKind, _ id: String) {
        self.kind = kind
        self.id = id
    }

    /// `KIND:ID` (`site:hq`); a plural section name is accepted too (`sites:hq`).
    public init?(parsing text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let kindText = String(text[..<colon])
        let id = String(text[text.index(after: colon)...])
        guard !id.isEmpty, let kind = NodeKind(rawValue: kindText) ?? NodeKind(section: kindText) else { return nil }
        self.init(kind, id)
    }

    public var description: String { "\(kind.rawValue):\(id)" }

    public static func < (a: NodeRef, b: NodeRef) -> Bool { (a.kind, a.id) < (b.kind, b.id) }
}

/// One entry of a `depends_on` list, where it was written.
public struct CatalogueDependency: Sendable, Hashable {
    public var ref: NodeRef
    public var location: SourceLocation

    public init(_ ref: NodeRef, at location: SourceLocation) {
        self.ref = ref
        self.location = location
    }
}

/// The business impact categories a BIA rates over time.
public enum ImpactCategory: String, Sendable, Hashable, Codable, CaseIterable {
    case financial
    case legalRegulatory = "legal-regulatory"
    case customer, reputation, safety
}

/// `{ 1h: minor, 4h: moderate, 1d: major }`: the level an impact category reaches after each span, in file order.
public struct ImpactCurve: Sendable, Hashable {
    public struct Point: Sendable, Hashable {
        public var after: Located<TimeSpan>
        public var level: Located<String>

        public init(after: Located<TimeSpan>, level: Located<String>) {
            self.after = after
            self.level = level
        }
    }

    public var category: ImpactCategory
    public var points: [Point]

    public init(category: ImpactCategory, points: [Point]) {
        self.category = category
        self.points = points
    }
}

/// A service of the catalogue.
public struct CatalogueService: Sendable, Hashable {
    public var id: Located<String>
    public var name: String
    public var owner: String?
    /// 1 is the most critical.
    public var tier: Int?
    public var impact: [ImpactCurve]
    public var mtpd: Located<TimeSpan>?
    public var rto: Located<TimeSpan>?
    public var rpo: Located<TimeSpan>?
    public var minimumCapacity: String?
    public var reviewEvery: Located<TimeSpan>?
    public var dependsOn: [CatalogueDependency]
    public var location: SourceLocation

    public init(id: Located<String>, name: String, owner: String? = nil, tier: Int? = nil, impact: [ImpactCurve] = [],
                mtpd: Located<TimeSpan>? = nil, rto: Located<TimeSpan>? = nil, rpo: Located<TimeSpan>? = nil,
                minimumCapacity: String? = nil, reviewEvery: Located<TimeSpan>? = nil, dependsOn: [CatalogueDependency] = [],
                location: SourceLocation) {
        self.id = id
        self.name = name
        self.owner = owner
        self.tier = tier
        self.impact = impact
        self.mtpd = mtpd
        self.rto = rto
        self.rpo = rpo
        self.minimumCapacity = minimumCapacity
        self.reviewEvery = reviewEvery
        self.dependsOn = dependsOn
        self.location = location
    }
}

/// A site, supplier, piece of technology, data set, team or process that services depend on. A resource may
/// carry its own recovery time (a supplier's contractual RTO, a platform's tested restore time) and depend on
/// other resources (a cluster on the site it runs in, a cloud region on its provider).
public struct CatalogueResource: Sendable, Hashable {
    public var kind: NodeKind
    public var id: Located<String>
    public var name: String?
    public var owner: String?
    public var rto: Located<TimeSpan>?
    public var dependsOn: [CatalogueDependency]

    public init(kind: NodeKind, id: Located<String>, name: String? = nil, owner: String? = nil, rto: Located<TimeSpan>? = nil,
                dependsOn: [CatalogueDependency] = []) {
        self.kind = kind
        self.id = id
        self.name = name
        self.owner = owner
        self.rto = rto
        self.dependsOn = dependsOn
    }
}
