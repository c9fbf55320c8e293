@testable import MusterCore
import Testing

@Suite("Chat: the /muster grammar")
struct ChatCommandTests {
    static func parsed(_ text: String) -> ChatCommand? { try? ChatCommand.parse(text).get() }
    static func refusal(_ text: String) -> String? {
        if case .failure(let error) = ChatCommand.parse(text) { error.description } else { nil }
    }

    @Test("each verb maps onto the engine's command, the rest of the line kept as typed", arguments: [
        ("done isolate-hosts  contained at 10:02 ", ChatCommand.act(.completeTask("isolate-hosts", note: "contained at 10:02"))),
        ("DONE isolate-hosts", .act(.completeTask("isolate-hosts", note: nil))),
        ("skip restore-backups no clean copy yet", .act(.skipTask("restore-backups", reason: "no clean copy yet"))),
        ("event confirmed", .act(.raise("confirmed"))),
        ("decide pay-ransom no because backups are intact", .act(.decide(decision: "pay-ransom", option: "no", rationale: "backups are intact"))),
        ("assign it_ops <@U024BE7LH|lee>", .assign(role: "it_ops", mention: "<@U024BE7LH|lee>")),
        ("relieve comms shift change, press list in the drive", .act(.relieve(role: "comms", handover: "shift change, press list in the drive"))),
        ("note   Backups verified on site B", .act(.note("Backups verified on site B"))),
        ("lesson The contact list was out of date", .act(.lesson(Lesson(text: "The contact list was out of date")))),
        ("ack", .acknowledge(ack: nil)),
        ("ack page-it", .acknowledge(ack: "page-it")),
        ("close drill over", .act(.close(reason: "drill over"))),
        ("declare ransomware-file-servers Finance shares encrypted", .declare(playbook: "ransomware-file-servers", title: "Finance shares encrypted")),
        ("bind r-1a2b3c", .bind(run: "r-1a2b3c")),
        ("status", .status),
        ("help", .help),
        ("", .help),
    ])
    func verbs(text: String, expected: ChatCommand) {
        #expect(Self.parsed(text) == expected)
    }

    @Test("a refusal says what is missing and how the verb is used", arguments: [
        ("done", "done needs a task; usage: /muster done TASK [note]"),
        ("skip restore-backups", "skip needs the reason; usage: /muster skip TASK why"),
        ("decide pay-ransom no", "decide needs 'because' and the rationale; usage: /muster decide DECISION OPTION because WHY"),
        ("decide pay-ransom no because", "decide needs the rationale after 'because'; usage: /muster decide DECISION OPTION because WHY"),
        ("assign it_ops", "assign needs a person (@name); usage: /muster assign ROLE @person"),
        ("relieve comms", "relieve needs the handover (what the next holder needs to know); usage: /muster relieve ROLE handover"),
        ("close", "close needs the reason; usage: /muster close why"),
        ("declare ransomware-file-servers", "declare needs a title; usage: /muster declare PLAYBOOK TITLE"),
        ("event confirmed now", "event takes no more than that, not 'now'; usage: /muster event NAME"),
        ("stauts", "'stauts' is not a /muster command (did you mean 'status'?); /muster help lists them"),
    ])
    func refusals(text: String, expected: String) {
        #expect(Self.refusal(text) == expected)
    }

    @Test("help lists every verb once")
    func help() {
        let lines = ChatCommand.helpText.split(separator: "\n")
        #expect(lines.count == ChatCommand.usage.count)
        #expect(lines.first == "`/muster declare PLAYBOOK TITLE`: start a run of a playbook here")
        #expect(Set(ChatCommand.usage.map(\.verb)).count == ChatCommand.usage.count)
    }
}
