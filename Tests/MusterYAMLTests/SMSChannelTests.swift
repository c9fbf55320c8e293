import MusterCore
import MusterYAML
import Testing

/// The `sms` channel type in the playbook format: its keys, and its numbers checked where they are written.
@Suite("Playbook: sms channels")
struct SMSChannelTests {
    static func playbook(_ channels: String) -> String {
        DecoderErrorTests.header + """
            channels:
            \(channels)
            states:
              open: { phase: respond, terminal: true }
            """
    }

    @Test("an sms channel with url, account, token and from loads, with its settings as written")
    func loads() throws {
        let loaded = PlaybookLoader.load(text: Self.playbook("""
              text: { type: sms, url: "${MUSTER_SMS_URL}", account: "${MUSTER_SMS_ACCOUNT}", token: "${MUSTER_SMS_TOKEN}", from: "+4412345" }
            """), file: "p.yaml")
        #expect(loaded.diagnostics.filter { $0.severity == .error }.map(\.description) == [])
        let channel = try #require(loaded.playbook?.channel("text"))
        #expect(channel.type.value == .sms)
        #expect(channel.settings["from"]?.value.text == "+4412345")
        #expect(channel.settings["token"]?.value.text == "${MUSTER_SMS_TOKEN}")
    }

    @Test("each missing required key is an error at the channel, and keys of other types at the key")
    func requiredKeys() throws {
        let found = try errors(Self.playbook("""
              text: { type: sms, url: "https://api.example.com", secret: s }
            """))
        #expect(found == [
            "9:9: channel 'text' is missing required key 'account' (sms channels need it)",
            "9:9: channel 'text' is missing required key 'token' (sms channels need it)",
            "9:9: channel 'text' is missing required key 'from' (sms channels need it)",
            "9:54: 'secret' does not apply to an sms channel (channel 'text')",
        ], "\(found)")
    }

    @Test("a literal number that is not E.164 is an error at file:line:col; a sender name and ${VAR}s pass")
    func numbers() throws {
        let loaded = PlaybookLoader.load(text: Self.playbook("""
              a: { type: sms, url: "https://api.example.com", account: AC1, token: "${MUSTER_T}", from: "07700 900123" }
              b: { type: sms, url: "https://api.example.com", account: AC1, token: "${MUSTER_T}", from: Muster, to: "+447700900123" }
              c: { type: sms, url: "https://api.example.com", account: AC1, token: "${MUSTER_T}", from: "${MUSTER_FROM}", to: "12345" }
            """), file: "p.yaml")
        let errors = loaded.diagnostics.filter { $0.severity == .error }.map { "\($0.location.line):\($0.location.column): \($0.message)" }
        #expect(errors == [
            "9:93: channel 'a': from must be a phone number in E.164 form (+ then up to 15 digits) or a sender name of 1 to 11 letters and digits, found '07700 900123'",
            "11:115: channel 'c': to must be a phone number in E.164 form (+ then up to 15 digits), found '12345'",
        ])
    }
}
