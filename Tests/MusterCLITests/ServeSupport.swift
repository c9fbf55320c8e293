import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `muster serve --port 0` as a real process on an `IncidentCLIHarness`'s MUSTER_HOME, from the repository root
/// (so `playbooks/` and `exercises/` resolve), once it printed its address. Every wait is bounded.
struct ServeProcess {
    let server: Spawned
    let port: Int

    /// Starts the server (output in `NAME.out`/`NAME.err` in the harness's folder) and waits (30 s at most) for
    /// its address; one that does not print it is killed and reported.
    /// `launcher`: a program that execs the server (its arguments first), e.g. a shell for an `LD_PRELOAD`ed library.
    static func start(_ cli: IncidentCLIHarness, name: String, arguments: [String] = [], env extra: [String: String] = [:],
                      launcher: [String] = []) throws -> ServeProcess {
        let command = [try cli.muster(), "serve", "--port", "0", "--playbooks", IncidentCLIHarness.root + "/playbooks"] + arguments
        let full = launcher + command
        let server = try cli.spawn(full[0], Array(full.dropFirst()), env: cli.baseEnvironment.merging(extra) { $1 }, name: name)
        let listening = server.waitForOutput(timeout: 30) { $0.contains("muster: serving") }
        // "muster: serving PATH on http://127.0.0.1:PORT/"
        let port = server.stdout.split(separator: "\n").first { $0.contains("muster: serving") }
            .flatMap { $0.split(separator: ":").last }.flatMap { Int($0.filter(\.isNumber)) }
        guard listening, let port else {
            ServeProcess(server: server, port: 0).kill()
            throw CLIHarnessError("muster serve did not print its address within 30 s: \(server.stdout) \(server.stderr)")
        }
        return ServeProcess(server: server, port: port)
    }

    /// The server exits 0 within 15 s (of the SIGTERM the caller sent); else it is killed, so no test leaves it
    /// running, and the test fails.
    func expectExit() throws {
        guard server.wait(timeout: 15) else {
            kill()
            Issue.record("the server did not exit within 15 s of SIGTERM")
            throw CLIHarnessError("muster serve ignored SIGTERM")
        }
        #expect(server.process.terminationReason == .exit && server.process.terminationStatus == 0,
                "exit \(server.process.terminationStatus): \(server.stderr)")
    }

    /// Kills (SIGKILL) the server if it is still running and waits (10 s at most) for its end.
    func kill() {
        guard server.process.isRunning else { return }
        server.kill(SIGKILL)
        _ = server.wait(timeout: 10)
    }

    /// One JSON request as the holder of `token`, on a connection of its own: status and the parsed body (an
    /// empty object for a body that is not a JSON object).
    func call(_ token: String, _ method: String, _ path: String, _ body: String = "") throws -> (status: Int, json: [String: Any]) {
        let connection = try RawHTTP(port: port)
        try connection.send("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        let response = try connection.readResponse()
        let json = (try? JSONSerialization.jsonObject(with: Data(response.body.utf8))) as? [String: Any]
        return (response.status, json ?? [:])
    }
}

/// One blocking HTTP/1.1 connection to 127.0.0.1 (reads time out after 5 s).
final class RawHTTP: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []
    /// The peer closed (or reset) the connection; a read timeout leaves this false.
    private(set) var closed = false

    struct Response {
        var status: Int
        var body: String
    }

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CLIHarnessError("socket() failed") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw CLIHarnessError("cannot connect to 127.0.0.1:\(port)")
        }
    }

    deinit { close(fd) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw CLIHarnessError("send failed (errno \(errno))") }
            sent += n
        }
    }

    /// More bytes into the buffer; false at the end of the connection or on a timeout.
    func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else {
            if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) { closed = true }
            return false
        }
        buffer += chunk[0..<n]
        return true
    }

    /// The bytes up to (without) `delimiter`, consumed with it.
    func read(until delimiter: [UInt8]) throws -> [UInt8] {
        while true {
            if let i = find(delimiter) {
                let out = Array(buffer[0..<i])
                buffer.removeFirst(i + delimiter.count)
                return out
            }
            guard fill() else { throw CLIHarnessError(closed ? "connection ended" : "read timed out") }
        }
    }

    func read(count: Int) throws -> [UInt8] {
        while buffer.count < count { guard fill() else { throw CLIHarnessError("connection ended") } }
        let out = Array(buffer[0..<count])
        buffer.removeFirst(count)
        return out
    }

    private func find(_ needle: [UInt8]) -> Int? {
        guard buffer.count >= needle.count else { return nil }
        for i in 0...(buffer.count - needle.count) where buffer[i] == needle[0] && Array(buffer[i..<(i + needle.count)]) == needle { return i }
        return nil
    }

    /// Status line and headers (lower-cased names).
    func readHead() throws -> (status: Int, headers: [String: String]) {
        let lines = String(decoding: try read(until: [13, 10, 13, 10]), as: UTF8.self).components(separatedBy: "\r\n")
        guard let status = lines.first?.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw CLIHarnessError("no status line: \(lines.first ?? "")")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (status, headers)
    }

    /// A whole response with a Content-Length body.
    func readResponse() throws -> Response {
        let (status, headers) = try readHead()
        let length = Int(headers["content-length"] ?? "0") ?? 0
        return Response(status: status, body: String(decoding: try read(count: length), as: UTF8.self))
    }
}
