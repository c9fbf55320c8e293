import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import MusterServer
import Testing

@Suite("Login throttling behind a proxy")
struct TrustedProxyTests {
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    func badLogin(_ client: some TestClientProtocol, from address: String?) async throws -> Int {
        var headers = HTTPFields()
        headers[.authorization] = "Bearer wrong-token"
        if let address { headers[Self.forwardedFor] = address }
        return try await client.execute(uri: "/api/runs", method: .get, headers: headers) { Int($0.status.code) }
    }

    @Test("behind a trusted proxy each client is throttled on its own address; a correct token is never throttled")
    func trusted() async throws {
        let f = try ServerFixture(failedLoginLimit: 3) { $0.trustedProxies = [AddressRange("127.0.0.1/32")!] }
        try await f.app.test(.live) { client async throws in
            for _ in 0..<3 { #expect(try await badLogin(client, from: "203.0.113.5") == 401) }
            #expect(try await badLogin(client, from: "203.0.113.5") == 429)
            // Another client behind the same proxy is not punished for the first one's failures.
            #expect(try await badLogin(client, from: "198.51.100.7") == 401)
            // A client cannot choose its address: what it put in front of the proxy's own entry is not believed.
            #expect(try await badLogin(client, from: "198.51.100.99, 203.0.113.5") == 429)
            #expect(try await client.call(f, "Dana", .get, "/api/runs").status == 200)
        }
    }

    @Test("without --trusted-proxy the header is ignored: the peer's address is the client's")
    func untrusted() async throws {
        let f = try ServerFixture(failedLoginLimit: 3)
        try await f.app.test(.live) { client async throws in
            for index in 0..<3 { #expect(try await badLogin(client, from: "203.0.113.\(index)") == 401) }
            #expect(try await badLogin(client, from: "198.51.100.7") == 429)
        }
    }

    @Test("address ranges", arguments: [
        ("10.0.0.0/8", "10.200.1.1", true), ("10.0.0.0/8", "11.0.0.1", false), ("192.0.2.7", "192.0.2.7", true),
        ("192.0.2.7", "192.0.2.8", false), ("::1/128", "::1", true), ("2001:db8::/32", "2001:db8:1::5", true),
        ("2001:db8::/32", "2001:db9::5", false), ("127.0.0.0/8", "::ffff:127.0.0.1", true), ("0.0.0.0/0", "8.8.8.8", true),
    ])
    func ranges(_ range: String, _ address: String, _ inside: Bool) {
        #expect(AddressRange(range)?.contains(address) == inside)
    }

    @Test("malformed ranges are refused", arguments: ["10.0.0.0/33", "nonsense", "10.0.0/8", "::1/129", ""])
    func malformed(_ text: String) {
        #expect(AddressRange(text) == nil)
    }
}
