import Foundation
import MusterCore

/// The service catalogue file as read: its text, the catalogue when it decoded, and every finding about it.
public struct LoadedCatalogue: Sendable {
    public var path: String
    public var text: String
    public var catalogue: ServiceCatalogue?
    public var diagnostics: [Diagnostic]

    public var hasErrors: Bool { diagnostics.hasErrors }
}

/// `services.yaml` to a `ServiceCatalogue`: YAML, structure (`CatalogueDecoder`), then the rules
/// (`CatalogueValidator`).
public enum CatalogueLoader {
    public static func load(file path: String) -> LoadedCatalogue {
        guard let data = FileManager.default.contents(atPath: path) else {
            return LoadedCatalogue(path: path, text: "", catalogue: nil, diagnostics: [
                .error("unreadable-file", "cannot read '\(path)'", at: SourceLocation(file: path, line: 1, column: 1)),
            ])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return LoadedCatalogue(path: path, text: "", catalogue: nil, diagnostics: [
                .error("unreadable-file", "'\(path)' is not UTF-8 text", at: SourceLocation(file: path, line: 1, column: 1)),
            ])
        }
        return load(text: text, file: path)
    }

    public static func load(text: String, file: String, validate: Bool = true) -> LoadedCatalogue {
        let (node, yamlDiagnostics) = YAMLSource.parse(text, file: file)
        guard let node else { return LoadedCatalogue(path: file, text: text, catalogue: nil, diagnostics: yamlDiagnostics) }
        let (decoded, decodeDiagnostics) = CatalogueDecoder.decode(node)
        let catalogue = yamlDiagnostics.hasErrors ? nil : decoded
        var diagnostics = yamlDiagnostics + decodeDiagnostics
        if let catalogue, validate { diagnostics += CatalogueValidator.validate(catalogue) }
        return LoadedCatalogue(path: file, text: text, catalogue: catalogue, diagnostics: diagnostics.sortedByLocation())
    }

    /// Whether a YAML file is a service catalogue (a top-level `muster_services:` key), for `muster validate`.
    public static func isCatalogue(text: String) -> Bool {
        text.split(separator: "\n", omittingEmptySubsequences: true).contains { $0.hasPrefix("muster_services:") }
    }

    /// Where the catalogue is: `explicit` (a `--services` option), else `$MUSTER_SERVICES`, else `services.yaml`
    /// in the folder that holds the playbooks folder (`playbooks/../services.yaml`). `required` is false for
    /// the default location: without a catalogue, playbooks work as before.
    public static func locate(explicit: String?, environment: [String: String], playbooksFolder: String) -> (path: String, required: Bool) {
        if let explicit { return (explicit, true) }
        if let env = environment["MUSTER_SERVICES"], !env.isEmpty { return (env, true) }
        var folder = playbooksFolder
        while folder.count > 1, folder.hasSuffix("/") { folder.removeLast() }
        let parent = (folder as NSString).deletingLastPathComponent
        return (parent.isEmpty ? CatalogueDefaults.fileName : parent + "/" + CatalogueDefaults.fileName, false)
    }
}

/// The evidence map: `evidence-map.yaml` beside the catalogue when there is one, else the built-in one.
public enum EvidenceMapLoader {
    public static func load(text: String, file: String) -> (map: EvidenceMap?, diagnostics: [Diagnostic]) {
        let (node, yamlDiagnostics) = YAMLSource.parse(text, file: file)
        guard let node, !yamlDiagnostics.hasErrors else { return (nil, yamlDiagnostics) }
        return EvidenceMap.decode(node)
    }
}
