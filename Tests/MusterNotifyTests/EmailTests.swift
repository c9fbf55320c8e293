import Foundation
import MusterCore
import MusterNotify
import Testing

extension RealServers {
    @Suite("Email over SMTP against a real SMTP sink (aiosmtpd)")
    struct EmailTests {
        @Test("the sink parses From, To, Subject, Date, Message-ID, MIME headers and the UTF-8 body without defects")
        func delivered() async throws {
            let sink = try await SMTPSink()
            defer { sink.stop() }
            let mail = channel("mail", .email, [
                "to": .list(["Dana Ops <dana@example.org>", "lee@example.org"]),
                "from": .text("Muster <muster@example.org>"),
                "smtp": .text(sink.url),
            ])
            let note = Notification(id: "n9", channel: "mail", message: "Der Dateiserver ist verschlüsselt — 東京 ✓ =€", trigger: "enter:contain")
            let request = try ChannelPayloads.request(for: mail, notification: note, context: context(), environment: [:])
            let result = await sharedTransport.send(request)
            #expect(result.delivered, "\(String(describing: result.failure))")
            #expect(result.status == 250)
            let messages = try sink.messages()
            let message = try #require(messages.first)
            #expect(messages.count == 1)
            #expect(message.mail_from == "muster@example.org")
            #expect(message.rcpt_tos == ["dana@example.org", "lee@example.org"])
            #expect(message.defects == [])
            #expect(message.headers["From"] == "Muster <muster@example.org>")
            #expect(message.headers["To"] == "Dana Ops <dana@example.org>, lee@example.org")
            #expect(message.headers["Subject"] == "[P1] Ransomware on the finance shares: Contain the spread")
            #expect(message.headers["Date"] == "Fri, 06 Mar 2026 17:40:00 +0000")
            #expect(message.headers["Message-ID"] == "<run-7.n9@muster>")
            #expect(message.headers["MIME-Version"] == "1.0")
            #expect(message.content_type == "text/plain")
            #expect(message.charset == "utf-8")
            #expect(message.headers["Content-Transfer-Encoding"] == "quoted-printable")
            let body = message.body.replacingOccurrences(of: "\r\n", with: "\n")
            #expect(body.hasPrefix("Der Dateiserver ist verschlüsselt — 東京 ✓ =€\n"))
            #expect(body.contains("Run: Ransomware on the finance shares (run-7)"))
            #expect(body.contains("Link: https://muster.example/runs/run-7"))
        }

        @Test("a non-ASCII subject is RFC 2047 encoded and decodes to the original; exercise mode prefixes it")
        func encodedSubject() async throws {
            let sink = try await SMTPSink()
            defer { sink.stop() }
            let subject = "Störung im Rechenzentrum Zürich: Kühlung ausgefallen, Evakuierung läuft — 東京 backup ✓"
            let mail = channel("mail", .email, ["to": .text("ops@example.org"), "smtp": .text(sink.url), "subject": .text(subject)])
            let request = try ChannelPayloads.request(for: mail, notification: sampleNotification, context: context(mode: .exercise), environment: [:])
            let result = await sharedTransport.send(request)
            #expect(result.delivered, "\(String(describing: result.failure))")
            let message = try #require(try sink.messages().first)
            #expect(message.headers["Subject"] == "[EXERCISE] " + subject)
            #expect(message.raw_headers.contains("Subject: =?UTF-8?B?"))
            #expect(message.raw_headers.split(separator: "\r\n").allSatisfy { $0.utf8.count <= 998 && $0.allSatisfy(\.isASCII) })
            #expect(message.body.hasPrefix("[EXERCISE] Containment started"))
            #expect(message.defects == [])
        }

        @Test("a refused recipient is a permanent failure naming the SMTP code")
        func recipientRefused() async throws {
            let sink = try await SMTPSink(refuse: ["nobody@example.org"])
            defer { sink.stop() }
            let mail = channel("mail", .email, ["to": .text("nobody@example.org"), "smtp": .text(sink.url)])
            let request = try ChannelPayloads.request(for: mail, notification: sampleNotification, context: context(), environment: [:])
            let result = await sharedTransport.send(request)
            #expect(result.status == 550)
            guard case .permanent(let reason) = result.failure else {
                Issue.record("expected a permanent failure, got \(String(describing: result.failure))")
                return
            }
            #expect(reason.hasPrefix("SMTP 550: "))
            #expect(reason.contains("RCPT failed: 550"))
            #expect(try sink.messages().isEmpty)
        }

        @Test("login with username and password from the environment; the password appears in no error")
        func login() async throws {
            let sink = try await SMTPSink(users: ["muster": "pa55-w0rd-xyz"])
            defer { sink.stop() }
            let good = channel("mail", .email, ["to": .text("ops@example.org"), "smtp": .text(sink.url), "username": .text("muster"), "password": .text("${MUSTER_SMTP_PASSWORD}")])
            let request = try ChannelPayloads.request(for: good, notification: sampleNotification, context: context(), environment: ["MUSTER_SMTP_PASSWORD": "pa55-w0rd-xyz"])
            let result = await sharedTransport.send(request)
            #expect(result.delivered, "\(String(describing: result.failure))")
            #expect(try sink.messages().first?.login == "muster")

            let wrong = try ChannelPayloads.request(for: good, notification: sampleNotification, context: context(), environment: ["MUSTER_SMTP_PASSWORD": "not-the-password"])
            let refused = await sharedTransport.send(wrong)
            #expect(refused.failure?.isPermanent == true, "\(String(describing: refused.failure))")
            #expect(refused.curlCode == 67)
            #expect(!(refused.failure?.reason.contains("not-the-password") ?? true))
        }

        @Test("STARTTLS upgrades the session and verifies the server's certificate")
        func startTLS() async throws {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let certificate = try selfSignedCertificate(in: directory)
            let sink = try await SMTPSink(tls: certificate)
            defer { sink.stop() }
            let mail = channel("mail", .email, ["to": .text("ops@example.org"), "smtp": .text(sink.url), "starttls": .flag(true)])
            let request = try ChannelPayloads.request(for: mail, notification: sampleNotification, context: context(), environment: [:])

            let untrusted = await sharedTransport.send(request)
            #expect(untrusted.failure?.isPermanent == true, "\(String(describing: untrusted.failure))")

            let trusting = CurlTransport(configuration: .init(caBundlePath: certificate.cert))
            defer { trusting.shutdown() }
            let result = await trusting.send(request)
            #expect(result.delivered, "\(String(describing: result.failure))")
            #expect(try sink.messages().first?.tls == true)
        }

        @Test("an SMTP server that is down is a transient failure")
        func smtpDown() async throws {
            let port = try closedPort()
            let mail = channel("mail", .email, ["to": .text("ops@example.org"), "smtp": .text("smtp://127.0.0.1:\(port)")])
            let request = try ChannelPayloads.request(for: mail, notification: sampleNotification, context: context(), environment: [:])
            let result = await sharedTransport.send(request)
            #expect(result.failure?.isPermanent == false)
            #expect(result.curlCode == 7)
        }
    }
}

@Suite("RFC 5322 message building")
struct MailMessageTests {
    let message = MailMessage(
        from: "Muster <muster@example.org>", to: ["a@example.org"], subject: "Plain subject\r\nBcc: evil@example.org",
        date: Instant(iso8601: "2026-03-06T17:40:00Z")!, messageID: "run-7.n1@muster",
        body: "line one\n.starts with a dot\ntrailing space \n" + String(repeating: "x", count: 100) + "\nnaïve = ok")

    @Test("headers are single lines: a line break in a value cannot add a header")
    func noHeaderInjection() {
        let rendered = message.rendered
        #expect(rendered.contains("Subject: Plain subject Bcc: evil@example.org\r\n"))
        #expect(!rendered.contains("\r\nBcc:"))
    }

    @Test("the body is quoted-printable: lines at most 76 characters, = and non-ASCII escaped, a leading dot and trailing space encoded")
    func quotedPrintable() {
        let body = message.rendered.components(separatedBy: "\r\n\r\n")[1]
        let lines = body.components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.count <= 76 })
        #expect(lines.contains("=2Estarts with a dot"))
        #expect(lines.contains("trailing space=20"))
        #expect(lines.contains("na=C3=AFve =3D ok"))
        #expect(body.hasSuffix("\r\n"))
    }

    @Test("the date is RFC 5322 with the weekday", arguments: [
        ("2026-03-06T17:40:00Z", "Fri, 06 Mar 2026 17:40:00 +0000"),
        ("1970-01-01T00:00:00Z", "Thu, 01 Jan 1970 00:00:00 +0000"),
        ("2024-02-29T23:59:59Z", "Thu, 29 Feb 2024 23:59:59 +0000"),
    ])
    func date(iso: String, expected: String) {
        var m = message
        m.date = Instant(iso8601: iso)!
        #expect(m.rendered.contains("\r\nDate: \(expected)\r\n"))
    }

    @Test("addresses are taken from mailboxes with display names")
    func addresses() {
        #expect(MailMessage.address("Dana Ops <dana@example.org>") == "dana@example.org")
        #expect(MailMessage.address(" lee@example.org ") == "lee@example.org")
    }
}
