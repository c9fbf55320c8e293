import Foundation
import MusterTestSupport
import Testing

/// The README's chat walkthrough, as a newcomer runs it: `scripts/try-chat` with the built binary (a fake Slack
/// and Mattermost, `muster serve`, and the bundled ransomware playbook worked from declare to close in chat).
@Suite("scripts/try-chat (the README's chat walkthrough)", .ownThreads)
struct TryChatTests {
    @Test("the ransomware playbook is worked from chat alone: one incident message per platform, edited to the close; the journal verifies")
    func walkthrough() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["MUSTER_BIN"] = try MusterBinary.checked().path
        let result = try CLI.runProgram(CLI.packageRoot.appendingPathComponent("scripts/try-chat"), [], in: CLI.packageRoot,
                                        environment: environment)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        for line in ["-> Declared run ", "[Done: confirm]  [Done: scope]", "U0TRYLEE01 presses \"Done: confirm\"\n        -> Done: task 'confirm' done",
                     "@lee presses \"Done: scope\"\n        -> Done: task 'scope' done",
                     "-> Refused: only the holder of it_ops (Lee) or the incident commander may complete or skip its tasks",
                     "| Finance shares encrypted (closed)", "it_ops (IT Operations lead): Lee", "[live, P1, closed]", "chain intact",
                     "incident messages posted: 2 (one in Slack, one in Mattermost)"] {
            #expect(result.stdout.contains(line), "missing: \(line)\n\(result.stdout)")
        }
        #expect(!result.stdout.contains("Refused: ") || result.stdout.components(separatedBy: "Refused: ").count == 2, "\(result.stdout)")
    }
}
