import MusterCore
import Testing

@Suite("Instants printed in RFC 3339")
struct InstantFormatTests {
    /// The plain form, digit by digit: what `iso8601` must print for every instant.
    static func reference(_ instant: Instant) -> String {
        let ms = instant.millisecondsSinceEpoch
        var days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
        let msOfDay = ms - days * 86_400_000
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let secs = msOfDay / 1000
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secs / 3600, 2)):\(pad(secs % 3600 / 60, 2)):\(pad(secs % 60, 2)).\(pad(msOfDay % 1000, 3))Z"
    }

    @Test("every instant prints as the plain form: epoch, leap days, before 1970, years 0 and 9999 and beyond")
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
