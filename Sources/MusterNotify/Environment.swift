import MusterCore

/// A channel that cannot be turned into a request: a `${VAR}` that is not set, a missing or malformed setting.
/// The message names the channel, the setting and the variable, never a value.
public struct ChannelConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case unsetVariable = "unset-variable"
        /// A name outside the allowed prefixes (`VariablePolicy`): never looked up.
        case disallowedVariable = "disallowed-variable"
        case emptyVariable = "empty-variable"
        case malformedReference = "malformed-reference"
        case missingSetting = "missing-setting"
        case invalidSetting = "invalid-setting"
    }

    public var code: Code
    public var channel: String
    public var setting: String?
    public var variable: String?
    /// Where the setting (or the channel) is written in the playbook.
    public var location: SourceLocation?
    public var message: String

    public init(code: Code, channel: String, setting: String? = nil, variable: String? = nil, location: SourceLocation? = nil, message: String) {
        self.code = code
        self.channel = channel
        self.setting = setting
        self.variable = variable
        self.location = location
        self.message = message
    }

    /// Compiler style when the location is known: `playbooks/x.yaml:12:5: error: channel 'pager': ...`.
    public var description: String {
        if let location { "\(location): error: \(message)" } else { "error: \(message)" }
    }
}

/// Resolves `${NAME}` references (NAME is `[A-Za-z_][A-Za-z0-9_]*`) against an injected environment.
/// `$$` stands for a literal `$`; a `$` not followed by `{` or `$` is kept as it is. Only names the environment's
/// `VariablePolicy` allows are read (`MUSTER_` unless `MUSTER_SECRET_PREFIXES` says otherwise); any other is refused.
public struct EnvironmentResolver: Sendable, Hashable {
    public var environment: [String: String]
    public var policy: VariablePolicy

    public init(_ environment: [String: String]) {
        self.environment = environment
        self.policy = VariablePolicy(environment: environment)
    }

    public struct Resolved: Sendable, Hashable {
        public var value: String
        /// The values substituted for references: they came from the deployment, so they count as secrets.
        public var substitutions: [String]
    }

    /// The names referenced by `text`, in order, without resolving them.
    public static func references(in text: String) -> [String] { VariablePolicy.references(in: text) }

    public func resolve(_ text: String, setting: String, channel: String, at location: SourceLocation? = nil) throws(ChannelConfigurationError) -> Resolved {
        var out = ""
        var substitutions: [String] = []
        for piece in VariablePolicy.pieces(of: text) {
            let name: String
            switch piece {
            case .text(let literal):
                out += literal
                continue
            case .escapedDollar:
                out += "$"
                continue
            case .unterminated:
                throw ChannelConfigurationError(
                    code: .malformedReference, channel: channel, setting: setting, location: location,
                    message: "channel '\(channel)': \(setting) has a '${' without a closing '}' (write $$ for a literal $)")
            case .reference(let referenced):
                name = referenced
            }
            guard Self.isValidName(name) else {
                throw ChannelConfigurationError(
                    code: .malformedReference, channel: channel, setting: setting, location: location,
                    message: "channel '\(channel)': \(setting) refers to '${\(name)}', which is not a variable name (letters, digits and _, not starting with a digit)")
            }
            guard policy.allows(name) else {
                throw ChannelConfigurationError(
                    code: .disallowedVariable, channel: channel, setting: setting, variable: name, location: location,
                    message: "channel '\(channel)': \(setting) refers to ${\(name)}, which channels may not read: only variables starting with \(policy.prefixList) are (\(VariablePolicy.setting) lists the allowed prefixes)")
            }
            guard let value = environment[name] else {
                throw ChannelConfigurationError(
                    code: .unsetVariable, channel: channel, setting: setting, variable: name, location: location,
                    message: "channel '\(channel)': \(setting) refers to ${\(name)}, which is not set in the environment")
            }
            guard !value.isEmpty else {
                throw ChannelConfigurationError(
                    code: .emptyVariable, channel: channel, setting: setting, variable: name, location: location,
                    message: "channel '\(channel)': \(setting) refers to ${\(name)}, which is set but empty")
            }
            out += value
            substitutions.append(value)
        }
        return Resolved(value: out, substitutions: substitutions)
    }

    static func isValidName(_ name: String) -> Bool { VariablePolicy.isValidName(name) }
}
