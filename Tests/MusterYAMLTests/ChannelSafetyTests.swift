import Foundation
import MusterCore
import MusterYAML
import Testing

@Suite("Channel settings that could leak or inject")
struct ChannelSafetyTests {
    @Test("an email address with a line break or extra angle brackets is an error at its line", arguments: [
        #"  execs: { type: email, to: ["ops@example.com>\r\nRCPT TO:<attacker@evil.example"], live_only: true }"#,
        #"  execs: { type: email, to: "ops@example.com, x@y.z\nBcc: attacker@evil.example", live_only: true }"#,
        #"  execs: { type: email, to: [crisis-team@example.com], from: "Muster <a@b.c> <attacker@evil.example>", live_only: true }"#,
        #"  execs: { type: email, to: ["<${MUSTER_OPS}>>"], live_only: true }"#,
    ])
    func unsafeAddress(line: String) throws {
        let text = ValidatorFileTests.edit(ValidatorFileTests.example, line: 17, "  execs: { type: email, to: [crisis-team@example.com], live_only: true }", line)
        let found = try ValidatorFileTests.findings(text)
        #expect(found.count == 1, "\(found)")
        let finding = try #require(found.first)
        #expect(finding.hasPrefix("17:"), "\(finding)")
        #expect(finding.contains(": error: channel 'execs': "), "\(finding)")
        #expect(finding.contains(" has an address that "), "\(finding)")
        #expect(!finding.contains("attacker"), "\(finding)")
    }

    @Test("display names, plain addresses and ${VAR}s in addresses are accepted")
    func safeAddresses() throws {
        let line = #"  execs: { type: email, to: ["Crisis team <crisis-team@example.com>", "${MUSTER_CISO}"], from: "Muster <${MUSTER_FROM}>", live_only: true }"#
        let text = ValidatorFileTests.edit(ValidatorFileTests.example, line: 17, "  execs: { type: email, to: [crisis-team@example.com], live_only: true }", line)
        #expect(try ValidatorFileTests.findings(text) == [])
    }

    @Test("a ${VAR} outside the MUSTER_ prefix is a warning at its setting, naming the variable")
    func variableOutsidePrefix() throws {
        let text = ValidatorFileTests.edit(ValidatorFileTests.example, line: 16, #"  bridge: { type: slack, url: "${MUSTER_SLACK_URL}", live_only: true }"#,
                                           #"  bridge: { type: slack, url: "https://hooks.example/${AWS_SECRET_ACCESS_KEY}", live_only: true }"#)
        let found = try ValidatorFileTests.findings(text)
        #expect(found.count == 1, "\(found)")
        let finding = try #require(found.first)
        #expect(finding.hasPrefix("16:"), "\(finding)")
        #expect(finding.contains(": warning: channel 'bridge': url refers to ${AWS_SECRET_ACCESS_KEY}, outside the variables channels may read (names starting with MUSTER_"), "\(finding)")
    }

    @Test("every bundled playbook and exercise reads only MUSTER_ variables")
    func bundledFilesFitTheRule() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for folder in ["playbooks", "exercises"] {
            let dir = root.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".yaml") {
                let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
                for variable in VariablePolicy.references(in: text) {
                    #expect(VariablePolicy.standard.allows(variable), "\(folder)/\(name): ${\(variable)}")
                }
            }
        }
    }
}
