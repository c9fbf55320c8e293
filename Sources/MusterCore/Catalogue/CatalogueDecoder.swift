/// Turns a located source tree into a `ServiceCatalogue`, checking structure only (keys, value types, durations,
/// levels, categories, dependency sections). Whether dependencies exist, objectives agree and the graph has no
/// cycle is `CatalogueValidator`'s business. Shares the playbook decoder's helpers, so messages read alike.
public enum CatalogueDecoder {
    public static let formatVersion = 1

    enum Keys {
        static let top = ["muster_services", "organisation", "impact_levels", "intolerable", "review_every"]
            + NodeKind.allCases.map(\.section)
        static let service = ["name", "owner", "tier", "impact", "mtpd", "rto", "rpo", "minimum_capacity", "review_every",
                              "depends_on"]
        static let resource = ["name", "owner", "rto", "depends_on"]
    }

    public static func decode(_ node: SourceNode) -> (catalogue: ServiceCatalogue?, diagnostics: [Diagnostic]) {
        var d = Decoding()
        let catalogue = d.catalogue(node)
        return (d.complete ? catalogue : nil, d.diagnostics.sortedByLocation())
    }
}

extension Decoding {
    mutating func catalogue(_ node: SourceNode) -> ServiceCatalogue? {
        guard case .mapping(let top) = node else {
            fail("wrong-type", "a service catalogue must be a mapping of keys such as 'muster_services' and 'services', found \(node.kindDescription)", at: node.location)
            return nil
        }
        let context = "the service catalogue"
        if let versionNode = required(top, "muster_services", in: context, why: " (the format version: write muster_services: 1)"),
           let format = wholeNumber(versionNode, "muster_services"), format != CatalogueDecoder.formatVersion {
            fail("unsupported-format", "unsupported service catalogue format \(format) (this Muster reads format \(CatalogueDecoder.formatVersion))", at: versionNode.location)
            return nil
        }
        checkKeys(top, allowed: CatalogueDecoder.Keys.top, in: context)
        var catalogue = ServiceCatalogue(location: top.location)
        catalogue.organisation = top["organisation"].flatMap { text($0, "organisation") }
        if let node = top["impact_levels"], let levels = textList(node, "impact_levels") {
            var seen: [String: SourceLocation] = [:]
            for level in levels {
                if let first = seen[level.value] {
                    report("duplicate-id", "impact level '\(level.value)' is listed twice (first at \(first.line):\(first.column))", at: level.location)
                }
                seen[level.value] = level.location
            }
            if levels.isEmpty { fail("invalid-value", "'impact_levels' must list at least one level", at: node.location) }
            catalogue.levels = levels.map(\.value)
        }
        if let node = top["intolerable"], let level = locatedText(node, "intolerable") {
            if !catalogue.levels.contains(level.value) {
                report("unknown-level", "'\(level.value)' is not an impact level\(hintOr(level.value, catalogue.levels, "levels: \(catalogue.levels.joined(separator: ", "))"))", at: level.location)
            }
            catalogue.intolerable = level
        }
        catalogue.reviewEvery = top["review_every"].flatMap { duration($0, "review_every") }?.value
        if let m = top["services"].flatMap({ mapping($0, "services") }) {
            catalogue.services = m.entries.compactMap { catalogueService($0, levels: catalogue.levels) }
        }
        for kind in NodeKind.allCases where kind != .service {
            guard let m = top[kind.section].flatMap({ mapping($0, kind.section) }) else { continue }
            for entry in m.entries {
                let id = itemID(entry.key, kind: kind.rawValue)
                var resource = CatalogueResource(kind: kind, id: id)
                if case .scalar(let s) = entry.value, s.isNull {
                    catalogue.resources.append(resource)  // `hq:` alone declares it
                    continue
                }
                let context = "\(kind.rawValue) '\(id.value)'"
                guard let fields = itemMapping(entry.value, context) else { continue }
                checkKeys(fields, allowed: CatalogueDecoder.Keys.resource, in: context)
                resource.name = fields["name"].flatMap { text($0, "name") }
                resource.owner = fields["owner"].flatMap { text($0, "owner") }
                resource.rto = fields["rto"].flatMap { duration($0, "rto") }
                resource.dependsOn = fields["depends_on"].map { dependencies($0, of: context) } ?? []
                catalogue.resources.append(resource)
            }
        }
        return catalogue
    }

    mutating func catalogueService(_ entry: Mapping.Entry, levels: [String]) -> CatalogueService? {
        let id = itemID(entry.key, kind: "service")
        let context = "service '\(id.value)'"
        guard let fields = itemMapping(entry.value, context) else { return nil }
        checkKeys(fields, allowed: CatalogueDecoder.Keys.service, in: context)
        let name = required(fields, "name", in: context).flatMap { text($0, "name") }
        var service = CatalogueService(id: id, name: name ?? id.value, location: fields.location)
        service.owner = fields["owner"].flatMap { text($0, "owner") }
        if let node = fields["tier"], let tier = wholeNumber(node, "tier") {
            if tier < 1 { report("invalid-value", "'tier' must be 1 (most critical) or more, found \(tier)", at: node.location) }
            service.tier = tier
        }
        service.mtpd = fields["mtpd"].flatMap { duration($0, "mtpd") }
        service.rto = required(fields, "rto", in: context, why: " (the recovery time objective, e.g. rto: 4h)").flatMap { duration($0, "rto") }
        service.rpo = fields["rpo"].flatMap { duration($0, "rpo") }
        service.minimumCapacity = fields["minimum_capacity"].flatMap { text($0, "minimum_capacity") }
        service.reviewEvery = fields["review_every"].flatMap { duration($0, "review_every") }
        service.dependsOn = fields["depends_on"].map { dependencies($0, of: context) } ?? []
        if let impact = fields["impact"].flatMap({ mapping($0, "impact") }) {
            let categories = ImpactCategory.allCases.map(\.rawValue)
            for entry in impact.entries {
                guard let category = ImpactCategory(rawValue: entry.key.text) else {
                    report("unknown-key", "unknown impact category '\(entry.key.text)' in \(context)\(hintOr(entry.key.text, categories, "categories: \(categories.joined(separator: ", "))"))", at: entry.key.location)
                    continue
                }
                guard let curve = mapping(entry.value, entry.key.text) else { continue }
                var points: [ImpactCurve.Point] = []
                for point in curve.entries {
                    guard let after = Decoding.parseDuration(point.key.text) else {
                        fail("bad-duration", "'\(point.key.text)' is not a duration \(PlaybookDecoder.durationHint)", at: point.key.location)
                        continue
                    }
                    guard let level = locatedText(point.value, point.key.text, what: "an impact level") else { continue }
                    if !levels.contains(level.value) {
                        report("unknown-level", "'\(level.value)' is not an impact level\(hintOr(level.value, levels, "levels: \(levels.joined(separator: ", "))"))", at: level.location)
                        continue
                    }
                    points.append(.init(after: Located(after, at: point.key.location), level: level))
                }
                service.impact.append(ImpactCurve(category: category, points: points.sorted { $0.after.value < $1.after.value }))
            }
        }
        return service
    }

    /// `depends_on: { services: [a], sites: [hq], suppliers: [cloud-provider] }`.
    mutating func dependencies(_ node: SourceNode, of context: String) -> [CatalogueDependency] {
        guard let m = mapping(node, "depends_on") else { return [] }
        let sections = NodeKind.allCases.map(\.section)
        var out: [CatalogueDependency] = []
        for entry in m.entries {
            guard let kind = NodeKind(section: entry.key.text) else {
                report("unknown-key", "unknown key '\(entry.key.text)' in depends_on of \(context)\(hintOr(entry.key.text, sections, "one of \(sections.joined(separator: ", "))"))", at: entry.key.location)
                continue
            }
            guard let names = textList(entry.value, entry.key.text) else { continue }
            out += names.map { CatalogueDependency(NodeRef(kind, $0.value), at: $0.location) }
        }
        return out
    }
}
