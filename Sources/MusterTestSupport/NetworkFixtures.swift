import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A port on 127.0.0.1 where nothing listens now: bound, read, closed.
public func closedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestSupportError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    guard bound == 0 else { throw TestSupportError("bind() failed") }
    let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    guard named == 0 else { throw TestSupportError("getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A self-signed certificate for 127.0.0.1 (openssl), for the TLS tests: (cert, key) paths in `directory`.
public func selfSignedCertificate(in directory: URL) throws -> (cert: String, key: String) {
    let cert = directory.appendingPathComponent("cert.pem").path
    let key = directory.appendingPathComponent("key.pem").path
    let openssl = Process()
    openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    openssl.arguments = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    openssl.standardOutput = FileHandle.nullDevice
    openssl.standardError = FileHandle.nullDevice
    do { try openssl.run() } catch { throw TestSupportError("cannot run openssl (apt-get install openssl): \(error)") }
    openssl.waitUntilExit()
    guard openssl.terminationStatus == 0 else { throw TestSupportError("openssl could not make a test certificate") }
    return (cert, key)
}
