import MusterNotify
import Testing

@Suite("Slack: untrusted text made safe to post")
struct SlackEscapeTests {
    @Test("markup someone typed shows as typed: no broadcast, no mention, no disguised link; plain text is unchanged")
    func escaped() {
        let out = ChannelPayloads.slackEscaped("Hi <!channel> and <!everyone>, see <https://evil.example|the runbook> & <@U024BE7LH>")
        #expect(!out.contains("<!") && !out.contains("<@") && !out.contains("<http"))
        #expect(out == "Hi &lt;!channel&gt; and &lt;!everyone&gt;, see &lt;https://evil.example|the runbook&gt; &amp; &lt;@U024BE7LH&gt;")
        #expect(ChannelPayloads.slackEscaped("Finance shares encrypted") == "Finance shares encrypted")
    }
}
