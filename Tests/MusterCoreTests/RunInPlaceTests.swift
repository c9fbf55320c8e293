import Testing
@testable import MusterCore

/// `Run.execute` decides in place (no copy of the run's tables) on playbooks where every rule is checked before
/// the first event, and on a copy where a refusal can come after events were applied. Either way a refused
/// command leaves the run as it was, and an accepted one equals applying its events.
@Suite("Run engine: deciding in place")
struct RunInPlaceTests {
    static func chain(_ count: Int) -> Playbook {
        let states = (0..<count).map { i in
            i == count - 1 ? PB.state("s\(i)", terminal: true)
                : PB.state("s\(i)", transitions: [i == 0 ? PB.on("go", to: "s1") : PB.when(.literal(true), to: "s\(i + 1)")])
        }
        return PB.playbook("chain", start: "s0", states: states)
    }

    @Test("which playbooks may refuse after applying events", arguments: [
        (PB.ransomware, false),
        (chain(10), false),
        // 1 + 64 automatic moves: the 65th transition of one command is refused.
        (chain(66), true),
        (PB.playbook("loop", start: "a", states: [
            PB.state("a", transitions: [PB.on("go", to: "b")]),
            PB.state("b", transitions: [PB.when(.literal(true), to: "c")]),
            PB.state("c", onEnter: [.raise(l("back"))], transitions: [PB.on("back", to: "b")]),
        ]), true),
        (PB.playbook("nowhere", start: "a", states: [PB.state("a", transitions: [PB.on("go", to: "missing")])]), true),
    ])
    func classification(playbook: Playbook, expected: Bool) {
        #expect(CompiledPlaybook(playbook).mayRefuseAfterEmitting == expected)
    }

    @Test("a refusal after events (a chain past the bound) leaves the run as it was, through execute too")
    func lateRefusal() {
        var run = Run(playbook: Self.chain(66))
        guard case .accepted = run.execute(cmd("Dana", startCommand()), at: t0) else {
            Issue.record("expected the start to be accepted")
            return
        }
        let before = run
        guard case .rejected(let rejection) = run.execute(cmd("Dana", .raise("go")), at: at(1)) else {
            Issue.record("expected the 65th transition to be refused")
            return
        }
        #expect(rejection.code == .doesNotSettle)
        #expect(run == before)
        #expect(run.currentState == "s0")
    }

    @Test("in place, a refusal changes nothing and an acceptance equals applying the events")
    func inPlace() {
        var run = Run(playbook: Self.chain(10))
        #expect(!run.compiled.mayRefuseAfterEmitting)
        _ = run.execute(cmd("Dana", startCommand()), at: t0)
        let before = run
        guard case .rejected(let refusal) = run.execute(cmd("Lee", .raise("go")), at: at(1)) else {
            Issue.record("expected Lee, who holds no role, to be refused")
            return
        }
        #expect(refusal.code == .noRole)
        #expect(run == before)
        guard case .accepted(let events, _) = run.execute(cmd("Dana", .raise("go")), at: at(2)) else {
            Issue.record("expected acceptance")
            return
        }
        var applied = before
        for event in events { applied.apply(event) }
        #expect(applied == run)
        #expect(run.currentState == "s9")
    }
}
