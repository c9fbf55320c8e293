/// A YAML document as the core sees it: scalars, mappings and sequences, each with its position.
/// The YAML adapter builds it; the core decodes models from it without knowing about any YAML library.
public indirect enum SourceNode: Sendable, Hashable {
    case scalar(Scalar)
    case mapping(Mapping)
    case sequence([SourceNode], SourceLocation)

    public struct Scalar: Sendable, Hashable {
        public var text: String
        /// Quoted and block scalars are always strings; only plain scalars may be numbers, booleans or null.
        public var isPlain: Bool
        public var location: SourceLocation

        public init(_ text: String, isPlain: Bool = true, at location: SourceLocation) {
            self.text = text
            self.isPlain = isPlain
            self.location = location
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
