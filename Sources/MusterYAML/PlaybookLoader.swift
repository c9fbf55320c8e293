#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MusterCore

/// One playbook file as read: its text, the playbook when it decoded, and every finding about it.
public struct LoadedPlaybook: Sendable {
    public var path: String
    public var text: String
    public var playbook: Playbook?
    public var diagnostics: [Diagnostic]

    public init(path: String, text: String, playbook: Playbook?, diagnostics: [Diagnostic]) {
        self.path = path
        self.text = text
        self.playbook = playbook
        self.diagnostics = diagnostics
    }

    public var hasErrors: Bool { diagnostics.hasErrors }
}

/// Files and folders to playbooks: YAML, then structure (`PlaybookDecoder`), then meaning (`PlaybookValidator`).
public enum PlaybookLoader {
    /// Reads, parses, decodes and (when decoding produced a playbook) validates one file.
    /// `playbook` may be present alongside errors that left the model whole (an unknown key, a duplicate id):
    /// callers that run playbooks check `hasErrors` first.
    /// A file that cannot be read gives one diagnostic at 1:1 with the operating system's reason.
    /// `semanticChecks: false` stops after the structural decode (for tools and tests that look at structure only).
    public static func load(file path: String, semanticChecks: Bool = true) -> LoadedPlaybook {
        switch readFile(path) {
        case .success(let text):
            return load(text: text, file: path, semanticChecks: semanticChecks)
        case .failure(let reason):
            let diagnostic = Diagnostic.error(
                "unreadable-file", "cannot read '\(path)': \(reason.message)",
                at: SourceLocation(file: path, line: 1, column: 1))
            return LoadedPlaybook(path: path, text: "", playbook: nil, diagnostics: [diagnostic])
        }
    }

    /// The same as `load(file:)` for text already in memory; `file` names it in diagnostics.
    public static func load(text: String, file: String, semanticChecks: Bool = true) -> LoadedPlaybook {
        let (node, yamlDiagnostics) = YAMLSource.parse(text, file: file)
        guard let node else {
            return LoadedPlaybook(path: file, text: text, playbook: nil, diagnostics: yamlDiagnostics.sortedByLocation())
        }
        let decoded = PlaybookDecoder.decodeForValidation(node)
        // A YAML error (such as a duplicate key) means the tree lost something: nothing later may run on it.
        let playbook = yamlDiagnostics.hasErrors ? nil : decoded.playbook
        var diagnostics = yamlDiagnostics + decoded.diagnostics
        if semanticChecks {
            var findings: [Diagnostic] = []
            if let playbook {
                findings = PlaybookValidator.validate(playbook)
            } else if !yamlDiagnostics.hasErrors, let partial = decoded.partial {
                // The decoder stopped short somewhere: still report every error of the rest of the file, in this run.
                findings = PlaybookValidator.independentFindings(partial, missingKinds: decoded.missingKinds)
            }
            for finding in findings where !diagnostics.contains(finding) {
                diagnostics.append(finding)
            }
        }
        return LoadedPlaybook(path: file, text: text, playbook: playbook, diagnostics: diagnostics.sortedByLocation())
    }

    /// Loads files and folders in the order given; a folder contributes its `*.yaml` and `*.yml` files
    /// (not its subfolders, not hidden files), sorted by name. A path that does not exist is reported by `load`.
    /// Where the playbook `id` lives in `folder`: the file `ID.yaml` (or `ID.yml`), else the first file (in name
    /// order) whose playbook declares that id. When none does, the ids the folder's valid playbooks declare.
    /// `muster incident declare` (folder `playbooks`) and the server's `POST /api/runs` (its playbooks folder).
    public static func locate(id: String, in folder: String, cache: PlaybookCache? = nil) -> PlaybookLookup {
        // The id becomes part of a path: only a real id may (the CLI and the server check it first too).
        guard Playbook.isValidID(id) else { return .notFound(known: []) }
        for ext in ["yaml", "yml"] {
            let candidate = "\(folder)/\(id).\(ext)"
            if FileManager.default.fileExists(atPath: candidate) { return .found(path: candidate) }
        }
        var known: [String] = []
        if FileManager.default.fileExists(atPath: folder) {
            for loaded in loadAll(paths: [folder], cache: cache) {
                guard let playbook = loaded.playbook else { continue }
                if playbook.id.value == id { return .found(path: loaded.path) }
                known.append(playbook.id.value)
            }
        }
        return .notFound(known: known)
    }

    /// With a `cache`, files that have not changed since it last read them are not read again.
    public static func loadAll(paths: [String], cache: PlaybookCache? = nil) -> [LoadedPlaybook] {
        var loaded: [LoadedPlaybook] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                let names: [String]
                do {
                    names = try FileManager.default.contentsOfDirectory(atPath: path)
                } catch {
                    loaded.append(LoadedPlaybook(path: path, text: "", playbook: nil, diagnostics: [
                        .error("unreadable-folder", "cannot list folder '\(path)': \(osReason(error))",
                               at: SourceLocation(file: path, line: 1, column: 1)),
                    ]))
                    continue
                }
                let base = path.hasSuffix("/") ? path : path + "/"
                for name in names.sorted() where isPlaybookFileName(name) {
                    var isSubfolder: ObjCBool = false
                    let file = base + name
                    if FileManager.default.fileExists(atPath: file, isDirectory: &isSubfolder), isSubfolder.boolValue { continue }
                    loaded.append(cache?.load(file: file) ?? load(file: file))
                }
            } else {
                loaded.append(cache?.load(file: path) ?? load(file: path))
            }
        }
        return loaded
    }

    /// Findings across files: a playbook id used by more than one file.
    public static func crossFileDiagnostics(_ loaded: [LoadedPlaybook]) -> [Diagnostic] {
        var first: [String: Located<String>] = [:]
        var diagnostics: [Diagnostic] = []
        for file in loaded {
            guard let id = file.playbook?.id else { continue }
            if let earlier = first[id.value] {
                let at = earlier.location
                diagnostics.append(.error(
                    "duplicate-playbook-id",
                    "duplicate playbook id '\(id.value)' (first defined in \(at.file) at \(at.line):\(at.column))",
                    at: id.location))
            } else {
                first[id.value] = id
            }
        }
        return diagnostics
    }

    static func isPlaybookFileName(_ name: String) -> Bool {
        !name.hasPrefix(".") && (name.hasSuffix(".yaml") || name.hasSuffix(".yml"))
    }

    struct ReadFailure: Error {
        var message: String
    }

    /// Reads with POSIX calls so that the failure is the operating system's own words ("No such file or directory").
    static func readFile(_ path: String) -> Result<String, ReadFailure> {
        let fd = open(path, O_RDONLY)
        if fd < 0 { return .failure(ReadFailure(message: String(cString: strerror(errno)))) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(ReadFailure(message: String(cString: strerror(errno))))
            }
            if count == 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return .failure(ReadFailure(message: "the file is not UTF-8 text"))
        }
        return .success(text)
    }

    static func osReason(_ error: any Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return ns.localizedDescription
    }
}

/// What `PlaybookLoader.locate(id:in:)` found.
public enum PlaybookLookup: Sendable, Hashable {
    case found(path: String)
    /// No such playbook; the ids the folder does declare (for "did you mean").
    case notFound(known: [String])
}

/// Loaded playbook files kept by path while the file stays the same (size, modification time, inode and change
/// time as `stat` reports them), for a process that reads the same folder again and again: the server read and
/// validated its whole playbooks folder on every `GET /api/playbooks`, `POST /api/runs` and `GET /api/exercises`.
/// A changed, new or removed file is read again (or reported) on its next use. Safe to share between threads.
public final class PlaybookCache: @unchecked Sendable {
    private struct Stamp: Hashable {
        var size: Int64
        var modified: Int64
        var changed: Int64
        var inode: UInt64
    }

    /// Files kept at most; past it the cache starts again (a folder of playbooks is far smaller).
    public static let capacity = 1024
    private let lock = NSLock()
    private var entries: [String: (stamp: Stamp, loaded: LoadedPlaybook)] = [:]
    private var reads = 0

    public init() {}

    /// How many times a file was read and parsed (not answered from the cache).
    public var parses: Int { lock.withLock { reads } }

    /// `PlaybookLoader.load(file:)`, from the cache while the file has not changed.
    public func load(file path: String) -> LoadedPlaybook {
        guard let stamp = Self.stamp(path) else { return PlaybookLoader.load(file: path) }
        if let hit = lock.withLock({ entries[path] }), hit.stamp == stamp { return hit.loaded }
        // Stamped before reading: a file that changes while it is read gets a new stamp, and is read again next time.
        let loaded = PlaybookLoader.load(file: path)
        lock.withLock {
            if entries.count >= Self.capacity { entries.removeAll() }
            entries[path] = (stamp, loaded)
            reads += 1
        }
        return loaded
    }

    private static func stamp(_ path: String) -> Stamp? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        #if canImport(Darwin)
        let modified = Int64(info.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(info.st_mtimespec.tv_nsec)
        let changed = Int64(info.st_ctimespec.tv_sec) * 1_000_000_000 + Int64(info.st_ctimespec.tv_nsec)
        #else
        let modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        let changed = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
        #endif
        return Stamp(size: Int64(info.st_size), modified: modified, changed: changed, inode: UInt64(info.st_ino))
    }
}
