// libyaml itself, as Yams vendors it: its event parser is the only way to look at a document without Yams
// building (and this module expanding) a tree first.
internal import CYaml
import MusterCore

/// Bounds on what one YAML document may build, checked on libyaml's event stream before `Yams.compose` runs.
///
/// Yams composes an alias as a second reference to its anchor's node, and everything after it (this module's
/// conversion, the decoders) copies that node once per reference: ten anchors of ten aliases each made a 466-byte
/// file into 10^9 nodes. Yams also composes recursively, as does everything after it, so deep nesting overflowed
/// the stack. The event stream is flat and linear in the text, so both are measured here first, in one pass that
/// builds nothing: the refusal points at the collection or alias that crosses the bound.
public enum YAMLLimits {
    /// Collections inside collections (a playbook needs about 8), counting those an alias brings in.
    public static let maxDepth = 64
    /// Nodes that aliases add to the document once expanded: every `*name` counts its anchor's whole subtree.
    public static let maxAliasNodes = 10_000

    /// The first bound the text crosses, as an error at its position; nil when it stays within them (or when
    /// libyaml reports a syntax error first: `Yams.compose` reports that one, at the same place, as before).
    public static func check(_ text: String, file: String) -> Diagnostic? {
        var text = text
        return text.withUTF8 { scan($0, file: file) }
    }

    /// An anchored node's size once its own aliases are expanded: nodes, and collection levels (0 for a scalar).
    private struct Extent {
        var nodes: Int
        var height: Int
    }

    private struct Open {
        var anchor: String?
        var contents = Extent(nodes: 0, height: 0)
    }

    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>, file: String) -> Diagnostic? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return nil }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(&parser, bytes.baseAddress, bytes.count)

        var open: [Open] = []
        var anchors: [String: Extent] = [:]
        var aliasNodes = 0
        var event = yaml_event_t()

        func location(_ mark: yaml_mark_t) -> SourceLocation {
            SourceLocation(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
        }
        func name(_ pointer: UnsafeMutablePointer<UInt8>?) -> String? {
            pointer.map { String(cString: UnsafePointer($0)) }
        }
        /// A finished node joins its parent (or is the document's root).
        func add(_ extent: Extent, anchor: String?) {
            if let anchor { anchors[anchor] = extent }
            guard !open.isEmpty else { return }
            open[open.count - 1].contents.nodes += extent.nodes
            open[open.count - 1].contents.height = max(open[open.count - 1].contents.height, extent.height)
        }
        func tooDeep(at mark: yaml_mark_t, through alias: String? = nil) -> Diagnostic {
            let via = alias.map { " (through alias '*\($0)')" } ?? ""
            return .error(
                "yaml-too-deep",
                "YAML nested more than \(maxDepth) levels deep\(via): flatten the structure", at: location(mark))
        }

        while true {
            guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
            defer { yaml_event_delete(&event) }
            switch event.type {
            case YAML_STREAM_END_EVENT, YAML_DOCUMENT_END_EVENT:
                // `compose` reads one document; a second one is its error to report.
                return nil
            case YAML_SCALAR_EVENT:
                add(Extent(nodes: 1, height: 0), anchor: name(event.data.scalar.anchor))
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                if open.count >= maxDepth { return tooDeep(at: event.start_mark) }
                let anchor = event.type == YAML_SEQUENCE_START_EVENT
                    ? name(event.data.sequence_start.anchor) : name(event.data.mapping_start.anchor)
                open.append(Open(anchor: anchor))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let closed = open.popLast() else { return nil }
                add(Extent(nodes: closed.contents.nodes + 1, height: closed.contents.height + 1), anchor: closed.anchor)
            case YAML_ALIAS_EVENT:
                // An undefined alias is `compose`'s error to report.
                guard let alias = name(event.data.alias.anchor), let extent = anchors[alias] else { continue }
                aliasNodes += extent.nodes
                if aliasNodes > maxAliasNodes {
                    return .error(
                        "yaml-alias-limit",
                        "alias '*\(alias)' takes the nodes copied from aliases past \(maxAliasNodes) (an alias bomb?): write the repeated parts out",
                        at: location(event.start_mark))
                }
                if open.count + extent.height > maxDepth { return tooDeep(at: event.start_mark, through: alias) }
                add(extent, anchor: nil)
            default:
                continue
            }
        }
    }
}
