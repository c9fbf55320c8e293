import MusterCore
import MusterYAML
import Testing

@Suite("Exercise decoder and validator diagnostics")
struct DiagnosticsTests {
    static let bad = """
        muster: 1
        exercise: bad-one
        title: Broken
        typ: tabletop
        playbook: { id: ransomware-file-servers, version: 2 }
        objectives:
          - { id: O1, text: Declare }
        participants: { incident_commander: Dana, it_opz: Lee }
        duration: 1h
        injects:
          - id: I1
            at: 0m
            to: [it_ops, comms]
            method: channel:brdge
            message: hello
            expect:
              - { do: task confrim, within: 20m, objective: O1 }
              - { do: decision declare-major = declar, within: 30m, objective: O9 }
              - { do: state restor }
              - { do: taks x, within: 5m }
              - { do: event confirmd, within: 5m }
          - id: I2
            at: 2h
            unless: decisions.declare-majr == "declare"
            message: late

        """

    static func diagnostics(_ text: String) -> [String] {
        ExerciseLoader.load(text: text, file: "exercises/bad.yaml", playbookFolders: [Fixture.playbooks]).diagnostics.map(\.description)
    }

    @Test("every problem is reported at its line and column, with a suggestion")
    func positions() {
        #expect(Self.diagnostics(Self.bad) == [
            "exercises/bad.yaml:4:1: error: unknown key 'typ' in the exercise (did you mean 'type'?)",
            "exercises/bad.yaml:5:51: error: exercise was written for version 2 of playbook 'ransomware-file-servers', but the playbook is version 3 (update the exercise, or test the version it names)",
            "exercises/bad.yaml:8:43: error: participant role 'it_opz' is not a role of playbook 'ransomware-file-servers' (did you mean 'it_ops'?)",
            "exercises/bad.yaml:14:21: error: channel 'brdge' is not a channel of playbook 'ransomware-file-servers' (did you mean 'bridge'?)",
            "exercises/bad.yaml:17:20: error: task 'confrim' is not a task of playbook 'ransomware-file-servers' (did you mean 'confirm'?)",
            "exercises/bad.yaml:18:40: error: 'declar' is not an option of decision 'declare-major' (did you mean 'declare'?) (options: declare, keep-watching)",
            "exercises/bad.yaml:18:72: error: objective 'O9' is not an objective of the exercise (did you mean 'O1'?)",
            "exercises/bad.yaml:19:9: error: expectation 'state restor' of inject 'I1' needs 'within' (how long after the inject the players have, such as 20m)",
            "exercises/bad.yaml:19:21: error: state 'restor' is not a state of playbook 'ransomware-file-servers' (did you mean 'restore'?)",
            "exercises/bad.yaml:20:15: error: 'taks' is not a kind of expected action (did you mean 'task'?)",
            "exercises/bad.yaml:21:21: error: event 'confirmd' is not taken by any transition of playbook 'ransomware-file-servers' (did you mean 'confirmed'?)",
            "exercises/bad.yaml:23:9: error: inject 'I2' at 2h is after the end of the scenario (duration 1h)",
            "exercises/bad.yaml:24:23: error: guard decision 'declare-majr' is not a decision of playbook 'ransomware-file-servers' (did you mean 'declare-major'?)",
        ])
    }

    @Test("an exercise naming a missing playbook says where it looked and suggests the nearest id")
    func missingPlaybook() {
        let text = Self.bad.replacingOccurrences(of: "{ id: ransomware-file-servers, version: 2 }", with: "ransomware-file-server")
        let found = Self.diagnostics(text)
        #expect(found.count == 3, "\(found)")
        #expect(found[1].hasPrefix("exercises/bad.yaml:5:11: error: no playbook 'ransomware-file-server' in "))
        #expect(found[1].hasSuffix("(did you mean 'ransomware-file-servers'?)"))
    }

    @Test("structural errors: wrong types, bad durations and speeds, required keys, duplicate ids, a broken guard")
    func structure() {
        let text = """
            muster: 1
            exercise: Bad Id
            title: T
            playbook: ransomware-file-servers
            participants: { incident_commander: Dana }
            clock: { speed: fast, start: yesterday }
            ratings: { P: 80%, S: 90%, M: 101 }
            injects:
              - { id: I1, at: 5 minutes, message: x }
              - { id: I1, at: 5m, message: y, contingency: yes }
              - { id: I3, at: 5m, message: z, unless: "decisions.x = 1", method: carrier-pigeon }
              - { id: I4, at: 5m, expect: [ { do: "decision declare-major = ", within: 5m } ] }

            """
        #expect(Self.diagnostics(text) == [
            "exercises/bad.yaml:2:11: error: 'Bad Id' is not a valid exercise id (use lowercase letters, digits, '-' and '_', starting with a letter or digit)",
            "exercises/bad.yaml:6:17: error: 'fast' is not a speed (write scenario seconds per real second such as 30 or 0.5, or manual, or max)",
            "exercises/bad.yaml:6:30: error: 'start' must be a UTC time such as 2026-03-06T17:40:00Z, found 'yesterday'",
            "exercises/bad.yaml:7:10: error: rating thresholds must not increase from P to S to M (found P 80%, S 90%, M 30%)",
            "exercises/bad.yaml:7:31: error: 'M' must be a percentage from 0% to 100%, found '101'",
            "exercises/bad.yaml:9:19: error: '5 minutes' is not a duration (write 30m, 4h, 1h30m, 2d)",
            "exercises/bad.yaml:10:11: error: duplicate inject id 'I1' (first defined at 9:11)",
            "exercises/bad.yaml:10:48: error: 'contingency' must be true or false, found 'yes'",
            "exercises/bad.yaml:11:56: error: invalid guard: unexpected '=' (write '==' to compare)",
            "exercises/bad.yaml:11:70: error: 'carrier-pigeon' is not a delivery method (write phone, email, chat, in-person, channel:NAME)",
            "exercises/bad.yaml:12:5: error: inject 'I4' is missing required key 'message'",
            "exercises/bad.yaml:12:63: error: write 'decision declare-major = OPTION' with one name after '='",
        ])
    }

    @Test("player scripts: unknown keys, another exercise's script, unknown players and steps after the end")
    func playerScript() throws {
        let folder = try Fixture.temporaryFolder()
        let path = folder.appendingPathComponent("x.players.yaml").path
        try """
            muster: 1
            exercise: other
            steps:
              - { at: 5m, as: Lee, done: confirm }
              - { at: 6m, as: Leo, done: scope }
              - { at: 9h, as: Dana, note: late }
              - { at: 10h, as: Dana, dun: x }

            """.write(toFile: path, atomically: true, encoding: .utf8)
        let loaded = ExerciseLoader.loadPlayers(file: path, for: nil)
        #expect(loaded.diagnostics.map(\.description) == ["\(path):7:26: error: unknown key 'dun' in step (did you mean 'done'?)"])
        try String(try String(contentsOfFile: path, encoding: .utf8).dropLast(34)).write(toFile: path, atomically: true, encoding: .utf8)
        let exercise = ExerciseLoader.load(file: Fixture.exercisePath("ransomware-tabletop")).exercise
        let checked = ExerciseLoader.loadPlayers(file: path, for: exercise)
        #expect(checked.diagnostics.map(\.description) == [
            "\(path):2:11: error: player script is for exercise 'other', not 'ransomware-tabletop-2026q4'",
            "\(path):5:5: warning: 'Leo' is not a participant, controller or evaluator of the exercise, and nobody assigns them a role (did you mean 'Lee'?)",
            "\(path):6:5: warning: this step at 9h comes after the end of the scenario (4h): it will not run",
        ])
    }

    @Test("the bundled exercises and their player scripts load without a finding")
    func bundled() {
        for name in ["ransomware-tabletop", "datacentre-failover-drill", "personal-data-breach-tabletop"] {
            let loaded = ExerciseLoader.load(file: Fixture.exercisePath(name))
            #expect(loaded.diagnostics.isEmpty, "\(name): \(loaded.diagnostics)")
            let players = ExerciseLoader.loadPlayers(file: ExerciseLoader.playersPath(for: Fixture.exercisePath(name)), for: loaded.exercise)
            #expect(players.diagnostics.isEmpty, "\(name): \(players.diagnostics)")
        }
    }
}
