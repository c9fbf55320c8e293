import MusterCore
import Yams

/// Reads YAML text into the core's located `SourceNode` tree. Syntax errors become diagnostics that point
/// at the line and column libyaml reported.
public enum YAMLSource {
    /// Parses one YAML document. Returns nil and a diagnostic when the text is not valid YAML;
    /// returns an empty mapping at 1:1 for an empty document. A document nested too deeply or whose aliases
    /// expand too far (`YAMLLimits`) is refused before anything is built from it.
    public static func parse(_ text: String, file: String) -> (node: SourceNode?, diagnostics: [Diagnostic]) {
        if let refusal = YAMLLimits.check(text, file: file) { return (nil, [refusal]) }
        do {
            guard let node = try Yams.compose(yaml: text) else {
                return (.mapping(.init([], at: SourceLocation(file: file, line: 1, column: 1))), [])
            }
            var diagnostics: [Diagnostic] = []
            let converted = convert(node, file: file, diagnostics: &diagnostics)
            return (converted, diagnostics)
        } catch YamlError.duplicatedKeysInMapping(let duplicates, let context) {
            let key = duplicates.first ?? "?"
            let first = context.mark
            let second = laterOccurrence(ofKey: key, after: first, in: text)
            let message = second == nil
                ? "duplicate key '\(key)'"
                : "duplicate key '\(key)' (first written at \(first.line):\(first.column))"
            let at = second ?? (first.line, first.column)
            return (nil, [.error("duplicate-key", message, at: SourceLocation(file: file, line: at.line, column: at.column))])
        } catch let error as YamlError {
            return (nil, [syntaxDiagnostic(error, file: file)])
        } catch {
            return (nil, [.error("yaml-syntax", "YAML syntax: \(error)", at: SourceLocation(file: file, line: 1, column: 1))])
        }
    }

    /// libyaml reports the first of two equal keys; people need to see the second, the one to remove.
    private static func laterOccurrence(ofKey key: String, after mark: Yams.Mark, in text: String) -> (line: Int, column: Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard mark.line >= 1, mark.line <= lines.count else { return nil }
        let indent = mark.column - 1
        for index in mark.line..<lines.count {
            let line = Array(lines[index])
            guard line.count > indent else { continue }
            let leading = line.prefix(indent)
            if !leading.allSatisfy({ $0 == " " || $0 == "-" }) {
                if leading.contains(where: { $0 != " " && $0 != "-" }) { break }
            }
            let rest = String(line[indent...])
            if rest.hasPrefix(key + ":") || rest.hasPrefix("\"\(key)\":") || rest.hasPrefix("'\(key)':") {
                return (index + 1, mark.column)
            }
        }
        return nil
    }

    private static func location(_ mark: Yams.Mark?, file: String) -> SourceLocation {
        SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    private static func convert(_ node: Node, file: String, diagnostics: inout [Diagnostic]) -> SourceNode {
        switch node {
        case .scalar(let scalar):
            return .scalar(convertScalar(scalar, file: file))
        case .mapping(let mapping):
            var entries: [SourceNode.Mapping.Entry] = []
            for (key, value) in mapping {
                let keyScalar: SourceNode.Scalar
                if case .scalar(let k) = key {
                    keyScalar = convertScalar(k, file: file)
                } else {
                    diagnostics.append(.error("yaml-key", "mapping keys must be plain words, found a \(key.isMapping ? "mapping" : "list")", at: location(key.mark, file: file)))
                    continue
                }
                if let first = entries.first(where: { $0.key.text == keyScalar.text }) {
                    diagnostics.append(.error(
                        "duplicate-key",
                        "duplicate key '\(keyScalar.text)' (first written at \(first.key.location.line):\(first.key.location.column))",
                        at: keyScalar.location))
                    continue
                }
                entries.append(.init(key: keyScalar, value: convert(value, file: file, diagnostics: &diagnostics)))
            }
            return .mapping(.init(entries, at: location(mapping.mark, file: file)))
        case .sequence(let sequence):
            return .sequence(sequence.map { convert($0, file: file, diagnostics: &diagnostics) }, location(sequence.mark, file: file))
        case .alias(let alias):
            // compose() resolves aliases; an unresolved one is kept as its own text so nothing crashes.
            return .scalar(.init("*\(alias.anchor.rawValue)", isPlain: false, at: location(alias.mark, file: file)))
        }
    }

    private static func convertScalar(_ scalar: Node.Scalar, file: String) -> SourceNode.Scalar {
        let style: SourceNode.Scalar.Style = switch scalar.style {
        case .singleQuoted: .singleQuoted
        case .doubleQuoted: .doubleQuoted
        case .literal: .literal
        case .folded: .folded
        case .plain, .any: .plain
        }
        let isPlain = style == .plain && scalar.tag.rawValue != Tag.Name.str.rawValue
        return SourceNode.Scalar(scalar.string, isPlain: isPlain, style: style, at: location(scalar.mark, file: file))
    }

    private static func syntaxDiagnostic(_ error: YamlError, file: String) -> Diagnostic {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
            var message = "YAML syntax: \(problem)"
            if let context { message += " \(context.text)" }
            return .error("yaml-syntax", message, at: location(mark, file: file))
        case .composer(let context, let problem, let mark, _):
            var message = "YAML syntax: \(problem)"
            if let context { message += " \(context.text)" }
            return .error("yaml-syntax", message, at: location(mark, file: file))
        default:
            return .error("yaml-syntax", "YAML syntax: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
        }
    }
}

private extension Node {
    var isMapping: Bool { if case .mapping = self { true } else { false } }
}
