import Foundation
import Testing

/// The command line itself: typos in command names, `--version`.
@Suite("The command line")
struct CommandLineTests {
    static let typos: [([String], String)] = [
        (["incidnet", "status"], "unknown command 'incidnet' for 'muster' (did you mean 'incident'?)"),
        (["incident", "decalre", "ransomware", "--title", "x"], "unknown command 'decalre' for 'muster incident' (did you mean 'declare'?)"),
        (["help", "incidnet"], "unknown command 'incidnet' for 'muster' (did you mean 'incident'?)"),
        (["exercise", "rn", "x.yaml"], "unknown command 'rn' for 'muster exercise' (did you mean 'run'?)"),
    ]

    @Test("a mistyped command names the closest one and exits 2", arguments: typos)
    func typo(_ arguments: [String], _ message: String) throws {
        let result = try CLI.run(arguments)
        #expect(result.status == 2)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test("real commands and their help still work")
    func realCommands() throws {
        let help = try CLI.run(["help", "incident"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("declare"))
        let validate = try CLI.run(["validate", "playbooks/portal-outage.yaml"])
        #expect(validate.status == 0, "\(validate.stderr)")
    }

    @Test("every command that picks a run takes --run RUN as well as RUN, and they must agree")
    func runOption() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("muster-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let exercise = CLI.packageRoot.appendingPathComponent("exercises/ransomware-tabletop.yaml").path
        #expect(try CLI.run(["exercise", "run", exercise, "--speed", "max", "--no-hotwash"], in: folder).status == 0)
        for command in [["incident", "status"], ["incident", "timeline"], ["verify"], ["report", "--format", "md"]] {
            let named = try CLI.run(command + ["--run", "x-ransomware"], in: folder)
            #expect(named.status == 0, "\(command): \(named.stderr)")
            let twice = try CLI.run(command + ["x-ransomware", "--run", "r-other"], in: folder)
            #expect(twice.status != 0)
            #expect(twice.stderr.contains("the run is given twice"), "\(command): \(twice.stderr)")
        }
    }

    @Test("--version prints the version")
    func version() throws {
        let result = try CLI.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("0."))
    }
}
