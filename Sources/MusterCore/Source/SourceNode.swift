/// A YAML document as the core sees it: scalars, mappings and sequences, each with its position.
/// The YAML adapter builds it; the core decodes models from it without knowing about any YAML library.
public indirect enum SourceNode: Sendable, Hashable {
    case scalar(Scalar)
    case mapping(Mapping)
    case sequence([SourceNode], SourceLocation)

    public struct Scalar: Sendable, Hashable {
        /// How the scalar was written; it decides where its text starts relative to `location`.
        public enum Style: String, Sendable, Hashable, Codable {
            case plain, singleQuoted, doubleQuoted, literal, folded
        }

        public var text: String
        /// Quoted and block scalars are always strings; only plain scalars may be numbers, booleans or null.
        public var isPlain: Bool
        public var style: Style
        public var location: SourceLocation

        public init(_ text: String, isPlain: Bool = true, style: Style = .plain, at location: SourceLocation) {
            self.text = text
            self.isPlain = isPlain
            self.style = style
            self.location = location
        }

        /// Where the first character of `text` was written: one column after the opening quote of a quoted
        /// scalar, the scalar itself otherwise.
        public var textLocation: SourceLocation {
            switch style {
            case .singleQuoted, .doubleQuoted: location.advanced(byColumns: 1)
            case .plain, .literal, .folded: location
            }
        }

        /// Whether a column offset into `text` can be added to `textLocation` (false for block scalars,
        /// whose text starts on the next line: positions inside them point at the scalar itself).
        public var hasInlineColumns: Bool {
            switch style {
            case .plain, .singleQuoted, .doubleQuoted: true
            case .literal, .folded: false
            }
        }

        /// `~`, `null` or nothing at all, written plainly.
        public var isNull: Bool { isPlain && (text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL") }
    }

    public struct Mapping: Sendable, Hashable {
        public struct Entry: Sendable, Hashable {
            public var key: Scalar
            public var value: SourceNode
            public init(key: Scalar, value: SourceNode) {
                self.key = key
                self.value = value
            }
        }

        public var entries: [Entry]
        public var location: SourceLocation

        public init(_ entries: [Entry], at location: SourceLocation) {
            self.entries = entries
            self.location = location
        }

        public subscript(key: String) -> SourceNode? {
            entries.first { $0.key.text == key }?.value
        }

        public func entry(_ key: String) -> Entry? {
            entries.first { $0.key.text == key }
        }
    }

    public var location: SourceLocation {
        switch self {
        case .scalar(let s): s.location
        case .mapping(let m): m.location
        case .sequence(_, let l): l
        }
    }

    /// How a person would name what they wrote, for "must be X, found Y" messages.
    public var kindDescription: String {
        switch self {
        case .scalar(let s): s.isNull ? "nothing" : "'\(s.text)'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }
}
