import ArgumentParser
import Foundation
import MusterCore
import MusterDelivery
import MusterJournal
import MusterNotify

/// What the delivery commands share: the journal, the clock, the environment.
enum DeliveryCLI {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// Where personal answer links point (`MUSTER_PUBLIC_URL`, the public address of a `muster serve` on this
    /// journal): `muster watch` and `muster outbox deliver` use it; unset, their messages carry no link.
    static var publicURL: String? { environment["MUSTER_PUBLIC_URL"].flatMap { $0.isEmpty ? nil : $0 } }

    /// `MUSTER_NOW` (an ISO 8601 UTC time) pins the clock, a testing aid; otherwise the wall clock.
    static func clock() throws -> @Sendable () -> Instant {
        if let pinned = environment["MUSTER_NOW"], !pinned.isEmpty {
            guard let instant = Instant(iso8601: pinned) else {
                throw Console.fail("MUSTER_NOW is '\(pinned)', which is not a UTC time such as 2026-03-06T17:40:00Z")
            }
            return { instant }
        }
        return { Instant(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))) }
    }

    /// The journal in `MUSTER_HOME` (never created here: delivering needs runs).
    static func journal() throws -> Journal {
        do {
            return try Journal.open(JournalChoice.location, create: false)
        } catch {
            throw Console.fail(error.description)
        }
    }

    /// `Name <addr>`-free one-line text for a table cell.
    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }
}
