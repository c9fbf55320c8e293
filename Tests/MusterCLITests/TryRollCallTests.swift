import Foundation
import MusterTestSupport
import Testing

/// The README's live roll call, as a newcomer runs it: `scripts/try-roll-call` with the built binary (local
/// receivers, `muster serve`, and the answers by link, Slack button and SMS reply).
@Suite("scripts/try-roll-call (the README's walkthrough)", .ownThreads)
struct TryRollCallTests {
    @Test("a live roll call of three is answered by link, Slack button and SMS reply, and status shows all accounted for")
    func walkthrough() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["MUSTER_BIN"] = try MusterBinary.checked().path
        let result = try CLI.runProgram(CLI.packageRoot.appendingPathComponent("scripts/try-roll-call"), [], in: CLI.packageRoot,
                                        environment: environment)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        for line in ["Ana answered 'safe' through her link: 200", "Ben pressed 'I am safe' in Slack: 200", "Cleo replied 1 by SMS: 200",
                     "staff-safety: 3/3 accounted (100%)", "Ana answered safe by link", "Ben answered safe by slack", "Cleo answered safe by sms"] {
            #expect(result.stdout.contains(line), "missing: \(line)\n\(result.stdout)")
        }
    }
}
