import Foundation
import Hummingbird
import HummingbirdTesting
import MusterServer
import Testing

extension BoardBrowserTests {
    /// A PNG screenshot of the board at `fragment` in headless Chromium, and what Chromium logged (console
    /// messages, CSP refusals among them).
    static func screenshot(port: Int, fragment: String, folder: String) async throws -> (png: String, log: String) {
        let chromium = try #require(["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                    "chromium is not installed (apt-get install -y chromium); this test fails rather than skips")
        let name = UUID().uuidString
        let png = folder + "/shot-\(name).png", logFile = folder + "/chromium-\(name).log"
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        let log = try #require(FileHandle(forWritingAtPath: logFile))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["-k", "2", "30", chromium, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(folder)/profile-\(name)",
                             "--enable-logging=stderr", "--v=0", "--window-size=1300,700", "--hide-scrollbars",
                             // The sandboxed frame has an opaque origin, so Chromium renders it in a process of its
                             // own, which a headless screenshot may take before painting: keep it in the page's
                             // process (the sandbox itself does not depend on processes).
                             "--disable-site-isolation-trials", "--disable-features=IsolateOrigins,site-per-process",
                             "--virtual-time-budget=5000", "--screenshot=\(png)", "http://127.0.0.1:\(port)/#\(fragment)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = log
        try process.run()
        while process.isRunning { try await _Concurrency.Task.sleep(for: .milliseconds(100)) }
        try log.close()
        return (png, (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "")
    }

    /// How many pixels of the PNG have exactly this colour (a small decoder for Chromium's 8-bit, non-interlaced
    /// RGB or RGBA screenshots, in Python's standard library).
    static func pixels(_ png: String, red: Int, green: Int, blue: Int) throws -> Int {
        let script = """
            import struct, sys, zlib
            data = open(sys.argv[1], "rb").read()
            pos, idat, width, height, kind = 8, b"", 0, 0, 6
            while pos < len(data):
                length, tag = struct.unpack(">I4s", data[pos:pos + 8])
                body = data[pos + 8:pos + 8 + length]
                if tag == b"IHDR": width, height, depth, kind = struct.unpack(">IIBB", body[:10])
                if tag == b"IDAT": idat += body
                pos += 12 + length
            raw, bpp = zlib.decompress(idat), 4 if kind == 6 else 3
            stride, rows, prev, i = width * bpp, [], bytearray(width * bpp), 0
            for _ in range(height):
                f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
                for x in range(stride):
                    a = line[x - bpp] if x >= bpp else 0; b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
                    if f == 1: line[x] = (line[x] + a) & 255
                    elif f == 2: line[x] = (line[x] + b) & 255
                    elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
                    elif f == 4:
                        p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                        line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
                rows.append(line); prev = line
            want = bytes([int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])])
            print(sum(1 for row in rows for x in range(0, stride, bpp) if row[x:x + 3] == want))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, png, "\(red)", "\(green)", "\(blue)"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Int(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    @Test("the after-action report opens in the board's sandboxed frame with its stylesheet applied, as the CLI writes it")
    func reportStyledInSandbox() async throws {
        let f = try ServerFixture()
        try await f.app.test(.live) { client async throws in
            let port = try #require(client.port)
            let id = try await client.declareRun(f)
            // Up to three shots, should a screenshot come before the frame's blob document has loaded.
            var (png, log, background) = ("", "", 0)
            for _ in 0..<3 where background <= 50_000 {
                (png, log) = try await Self.screenshot(port: port, fragment: "run=\(id)&report&token=\(f.tokens["Dana"]!)", folder: f.folder)
                // The report's page background (#e9edf2, `body` in ReportHTML.css) fills the margins beside its
                // 1100-pixel sheet: only there when the stylesheet applied. Unstyled, the frame is white.
                background = try Self.pixels(png, red: 0xE9, green: 0xED, blue: 0xF2)
            }
            StreamControl.stop(f.state)
            #expect(FileManager.default.fileExists(atPath: png), "\(log.suffix(2000))")
            #expect(background > 50_000, "report background pixels: \(background)")
            #expect(!log.contains("Refused to apply inline style"), "\(log.suffix(2000))")
            #expect(!log.contains("Refused to frame"), "\(log.suffix(2000))")
        }
    }
}
