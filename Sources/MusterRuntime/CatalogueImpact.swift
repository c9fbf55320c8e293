import Foundation
import MusterCore
import MusterYAML

/// The service catalogue's view of one run: which catalogue services it affects (its own, and through their
/// dependencies the services relying on them), and how each stands against its MTPD. What `muster incident status`
/// ends with and what the run's report carries (`RunReport.catalogueServices`).
public enum CatalogueImpact {
    /// Where to look for the catalogue: `file` (`--services`), else `MUSTER_SERVICES`, else `services.yaml` beside
    /// the playbooks folder; the playbooks in that folder say which services are covered.
    public struct Source: Sendable {
        public var file: String?
        public var playbooksFolder: String
        public var environment: [String: String]

        public init(file: String? = nil, playbooksFolder: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
            self.file = file
            self.playbooksFolder = playbooksFolder
            self.environment = environment
        }
    }

    public struct Found: Sendable {
        public var path: String
        public var analysis: ImpactAnalysis
    }

    /// The catalogue services of `services` and those relying on them, `elapsed` after the disruption began; nil
    /// when there is no catalogue or none of `services` is in it; a warning when the catalogue has errors.
    public static func affected(services: [String], elapsed: TimeSpan, from source: Source) -> (found: Found?, warning: String?) {
        let located = CatalogueLoader.locate(explicit: source.file, environment: source.environment, playbooksFolder: source.playbooksFolder)
        guard FileManager.default.fileExists(atPath: located.path) else { return (nil, nil) }
        let loaded = CatalogueLoader.load(file: located.path)
        guard let catalogue = loaded.catalogue, !loaded.hasErrors else {
            return (nil, "\(located.path) has errors (muster validate): no catalogue services shown")
        }
        let lost = services.filter { catalogue.definition(of: NodeRef(.service, $0)) != nil }.map { NodeRef(.service, $0) }
        guard !lost.isEmpty else { return (nil, nil) }
        var seen: Set<String> = []
        let playbooks = FileManager.default.fileExists(atPath: source.playbooksFolder)
            ? PlaybookLoader.loadAll(paths: [source.playbooksFolder]).compactMap { loaded -> Playbook? in
                guard let p = loaded.playbook, !loaded.hasErrors, seen.insert(p.id.value).inserted else { return nil }
                return p
            }
            : []
        let analysis = ImpactAnalysis.compute(catalogue, lost: lost, elapsed: elapsed, coverage: ImpactAnalysis.coverage(playbooks))
        return (Found(path: located.path, analysis: analysis), nil)
    }
}
