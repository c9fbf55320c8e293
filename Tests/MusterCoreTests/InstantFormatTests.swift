import Foundation
import MusterCore
import Testing

@Suite("Instants printed in RFC 3339")
struct InstantFormatTests {
    /// An independent reference: the C library's `gmtime_r` (proleptic Gregorian, UTC) for the calendar fields,
    /// so the test does not repeat the civil-from-days arithmetic it checks.
    static func reference(_ instant: Instant) -> String {
        let ms = instant.millisecondsSinceEpoch
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        var time = time_t(seconds)
        var fields = tm()
        _ = gmtime_r(&time, &fields)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let year = Int64(fields.tm_year) + 1900
        return "\(pad(year, 4))-\(pad(Int64(fields.tm_mon) + 1, 2))-\(pad(Int64(fields.tm_mday), 2))T\(pad(Int64(fields.tm_hour), 2)):"
            + "\(pad(Int64(fields.tm_min), 2)):\(pad(Int64(fields.tm_sec), 2)).\(pad(ms - seconds * 1000, 3))Z"
    }

    @Test("every instant prints as the C library's gmtime reads it: epoch, leap days, before 1970, years 0 and 9999 and beyond")
    func sameAsReference() {
        var samples: [Int64] = [0, -1, 1, 999, 1000, 86_399_999, 86_400_000, 1_772_818_800_123, 951_782_400_000, 951_868_799_999,
                                -62_167_219_200_000, -62_167_219_200_001, 253_402_300_799_999, 253_402_300_800_000]
        var x: Int64 = 12_345
        for _ in 0..<2000 {
            x = (x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407) & 0x3FFF_FFFF_FFFF
            samples.append(x % 400_000_000_000_000 - 100_000_000_000_000)
        }
        for ms in samples {
            let instant = Instant(millisecondsSinceEpoch: ms)
            #expect(instant.iso8601 == Self.reference(instant), "\(ms)")
        }
        #expect(Instant(millisecondsSinceEpoch: 1_772_818_800_123).iso8601 == "2026-03-06T17:40:00.123Z")
    }
}
