import Foundation
import MusterCore
import MusterYAML

/// A fresh folder under the system's temporary directory, removed by `remove()`.
struct TemporaryFolder {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "muster-loader-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Writes `yaml` to a real file, loads it, and gives back the result.
func loadPlaybook(_ yaml: String, name: String = "playbook.yaml") throws -> LoadedPlaybook {
    let folder = try TemporaryFolder()
    defer { folder.remove() }
    let file = try folder.write(name, yaml)
    return PlaybookLoader.load(file: file)
}

/// `line:column: message` for each error, in file order, without the (temporary) file name.
func errors(_ yaml: String) throws -> [String] {
    try loadPlaybook(yaml).diagnostics.map { "\($0.location.line):\($0.location.column): \($0.message)" }
}

/// The path of a fixture next to this file.
func fixturePath(_ name: String, file: String = #filePath) -> String {
    URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
}
