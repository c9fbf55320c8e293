import Foundation
import MusterTestSupport
import Testing

/// `muster validate` on hostile files: each is refused with a compiler-style line and exit 1, quickly, without a crash.
@Suite("muster validate on hostile input", .ownThreads)
struct HostileInputTests {
    @Test("alias bombs, deep YAML, deep guards and path-like playbook ids give one positioned error each", arguments: [
        ("hostile/alias-bomb.yaml", "hostile/alias-bomb.yaml:10:8: error: alias '*d' takes the nodes copied from aliases past 10000 (an alias bomb?): write the repeated parts out"),
        ("hostile/alias-keys.yaml", "hostile/alias-keys.yaml:6:29: error: alias '*c' takes the nodes copied from aliases past 10000 (an alias bomb?): write the repeated parts out"),
        ("hostile/deep-yaml.yaml", "hostile/deep-yaml.yaml:6:72: error: YAML nested more than 64 levels deep: flatten the structure"),
        ("hostile/deep-guard.yaml", "hostile/deep-guard.yaml:37:96: error: invalid guard: '(' nested more than 64 levels deep (simplify the guard)"),
        ("hostile/escape-exercise.yaml", "hostile/escape-exercise.yaml:4:11: error: '../playbooks/portal-outage' is not a playbook id (use lowercase letters, digits, '-' and '_', starting with a letter or digit)"),
    ])
    func refused(file: String, line: String) throws {
        let clock = ContinuousClock()
        let start = clock.now
        let result = try CLI.run(["validate", file])
        #expect(clock.now - start < .seconds(10))
        #expect(result.stdout == line + "\n1 file, 1 error, 0 warnings\n")
        #expect(result.stderr == "")
        #expect(result.status == 1)
    }

    @Test("'*' and '&' in text are not aliases: the playbook is valid")
    func starsAndAmpersands() throws {
        let result = try CLI.run(["validate", "hostile/stars-and-ampersands.yaml"])
        #expect(result.stdout == "1 file, 0 errors, 0 warnings\n")
        #expect(result.status == 0)
    }
}
