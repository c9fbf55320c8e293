import CCurl
import Foundation
import MusterCore

/// A transfer that could not even be set up (libcurl refused an option).
struct TransferSetupError: Error {
    var code: CURLcode
    var failure: DeliveryFailure
}

/// One easy handle with everything libcurl points into until the transfer ends: the error buffer, the
/// header and recipient lists, the upload bytes. Owned by the transport's thread.
final class CurlTransfer {
    let easy: UnsafeMutableRawPointer
    let request: DeliveryRequest
    private let completion: @Sendable (DeliveryResult) -> Void
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var recipientList: UnsafeMutablePointer<curl_slist>?
    private let started = ContinuousClock.now
    private var completed = false
    private var ownsHandle = true

    // Filled by the C callbacks.
    fileprivate var responseBody: [UInt8] = []
    fileprivate var statusLine: String?
    fileprivate var retryAfterHeader: String?
    fileprivate var upload: [UInt8] = []
    fileprivate var uploadOffset = 0

    static let maxResponseBytes = 16 * 1024

    /// The options an HTTP POST sets that do not depend on its body and headers: a handle given back after
    /// such a transfer keeps them (`takeHandle()`), and the next POST with the same profile sets only its own.
    struct HTTPProfile: Equatable {
        var url: String
        var timeouts: DeliveryTimeouts
    }

    /// An easy handle between transfers: reset to its defaults (profile nil), or still set up for `profile`.
    struct IdleHandle {
        var easy: UnsafeMutableRawPointer
        var profile: HTTPProfile?
    }

    /// `reusing`: an easy handle of an earlier transfer (`takeHandle()`); a new one when nil.
    init(_ item: PendingTransfer, reusing handle: IdleHandle? = nil, configuration: CurlTransport.Configuration) throws(TransferSetupError) {
        request = item.request
        completion = item.completion
        guard let easy = handle?.easy ?? curl_easy_init() else {
            throw TransferSetupError(code: CURLE_FAILED_INIT, failure: .transient("libcurl could not create a transfer handle"))
        }
        self.easy = easy
        errorBuffer = .allocate(capacity: Int(muster_curl_error_size))
        errorBuffer.initialize(repeating: 0, count: Int(muster_curl_error_size))
        if let profile = handle?.profile, case .httpPost(let post) = request.target,
           profile == HTTPProfile(url: post.url, timeouts: request.timeouts) {
            // Everything else is as the last transfer on this handle set it: the same options, same values.
            try configurePointers()
            try configureBody(post)
        } else {
            if handle?.profile != nil { curl_easy_reset(easy) }
            try configure(configuration)
        }
    }

    deinit {
        if ownsHandle { curl_easy_cleanup(easy) }
        curl_slist_free_all(headerList)
        curl_slist_free_all(recipientList)
        errorBuffer.deallocate()
    }

    var elapsed: TimeSpan {
        let d = ContinuousClock.now - started
        return TimeSpan(milliseconds: d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000)
    }

    /// Gives the easy handle up for the next transfer (libcurl keeps its connection cache, which lives in the
    /// multi handle, and its internal buffers). After an HTTP POST its options stay set, except the pointers
    /// into this transfer (error buffer, callback context, header list), which are cleared: a POST with the
    /// same profile then sets only its body and headers. Anything else is reset to the defaults. Call after
    /// the result was read.
    func takeHandle() -> IdleHandle {
        ownsHandle = false
        if case .httpPost(let post) = request.target {
            _ = muster_curl_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, nil)
            _ = muster_curl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, nil)
            _ = muster_curl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, nil)
            _ = muster_curl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, nil)
            return IdleHandle(easy: easy, profile: HTTPProfile(url: post.url, timeouts: request.timeouts))
        }
        curl_easy_reset(easy)
        return IdleHandle(easy: easy, profile: nil)
    }

    var isSMTP: Bool { if case .smtp = request.target { true } else { false } }

    func complete(with result: DeliveryResult) {
        guard !completed else { return }
        completed = true
        completion(result)
    }

    // MARK: - Setup

    private func set(_ option: CURLoption, _ value: Int, _ name: String) throws(TransferSetupError) {
        try check(muster_curl_easy_setopt_long(easy, option, value), name)
    }

    private func set(_ option: CURLoption, _ value: String, _ name: String) throws(TransferSetupError) {
        try check(muster_curl_easy_setopt_string(easy, option, value), name)
    }

    private func check(_ code: CURLcode, _ name: String) throws(TransferSetupError) {
        guard code == CURLE_OK else {
            let text = String(cString: curl_easy_strerror(code))
            throw TransferSetupError(code: code, failure: .permanent("libcurl refused \(name): \(text)"))
        }
    }

    /// The options that point into this transfer.
    private func configurePointers() throws(TransferSetupError) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        try check(muster_curl_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer), "CURLOPT_ERRORBUFFER")
        try check(muster_curl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, context), "CURLOPT_WRITEDATA")
        try check(muster_curl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, context), "CURLOPT_HEADERDATA")
    }

    /// A POST's own options: its body and header list.
    private func configureBody(_ post: HTTPPost) throws(TransferSetupError) {
        try check(muster_curl_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(post.body.count)), "CURLOPT_POSTFIELDSIZE_LARGE")
        // COPYPOSTFIELDS copies the bytes: the pointer Swift lends is only valid during this call.
        let copied = post.body.withUnsafeBufferPointer { buffer -> CURLcode in
            var empty: CChar = 0
            guard let base = buffer.baseAddress else { return muster_curl_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, &empty) }
            return muster_curl_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base))
        }
        try check(copied, "CURLOPT_COPYPOSTFIELDS")
        var list: UnsafeMutablePointer<curl_slist>?
        for header in post.headers {
            list = curl_slist_append(list, "\(header.name): \(header.value)")
        }
        // No `Expect: 100-continue` round trip before larger bodies.
        list = curl_slist_append(list, "Expect:")
        headerList = list
        try check(muster_curl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list), "CURLOPT_HTTPHEADER")
    }

    private func configure(_ configuration: CurlTransport.Configuration) throws(TransferSetupError) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        try configurePointers()
        try set(CURLOPT_NOSIGNAL, 1, "CURLOPT_NOSIGNAL")
        try set(CURLOPT_CONNECTTIMEOUT_MS, Int(max(1, request.timeouts.connect.milliseconds)), "CURLOPT_CONNECTTIMEOUT_MS")
        try set(CURLOPT_TIMEOUT_MS, Int(max(1, request.timeouts.total.milliseconds)), "CURLOPT_TIMEOUT_MS")
        try set(CURLOPT_SSL_VERIFYPEER, 1, "CURLOPT_SSL_VERIFYPEER")
        try set(CURLOPT_SSL_VERIFYHOST, 2, "CURLOPT_SSL_VERIFYHOST")
        if let ca = configuration.caBundlePath { try set(CURLOPT_CAINFO, ca, "CURLOPT_CAINFO") }
        if let proxy = configuration.proxy { try set(CURLOPT_PROXY, proxy, "CURLOPT_PROXY") }
        try set(CURLOPT_FOLLOWLOCATION, 0, "CURLOPT_FOLLOWLOCATION")
        try check(muster_curl_easy_setopt_callback(easy, CURLOPT_WRITEFUNCTION, curlWriteCallback), "CURLOPT_WRITEFUNCTION")
        try check(muster_curl_easy_setopt_callback(easy, CURLOPT_HEADERFUNCTION, curlHeaderCallback), "CURLOPT_HEADERFUNCTION")

        switch request.target {
        case .httpPost(let post):
            // Only http and https, also for redirects (which are not followed): a playbook cannot make
            // Muster read files or talk other protocols.
            try set(CURLOPT_PROTOCOLS_STR, "http,https", "CURLOPT_PROTOCOLS_STR")
            try set(CURLOPT_URL, post.url, "CURLOPT_URL")
            try set(CURLOPT_USERAGENT, configuration.userAgent, "CURLOPT_USERAGENT")
            try set(CURLOPT_POST, 1, "CURLOPT_POST")
            // Only the methods Muster uses: a PUT is a POST's body under another request line.
            if post.method == "PUT" { try set(CURLOPT_CUSTOMREQUEST, "PUT", "CURLOPT_CUSTOMREQUEST") }
            try configureBody(post)

        case .smtp(let smtp):
            try set(CURLOPT_PROTOCOLS_STR, "smtp,smtps", "CURLOPT_PROTOCOLS_STR")
            try set(CURLOPT_URL, smtp.url, "CURLOPT_URL")
            // Defence in depth (the channel refused these already): a line break would add an SMTP command.
            for address in [smtp.mailFrom] + smtp.recipients {
                if let problem = MailboxRule.problem(address) {
                    throw TransferSetupError(code: CURLE_BAD_FUNCTION_ARGUMENT, failure: .permanent("an envelope address \(problem)"))
                }
            }
            try set(CURLOPT_MAIL_FROM, "<\(smtp.mailFrom)>", "CURLOPT_MAIL_FROM")
            var list: UnsafeMutablePointer<curl_slist>?
            for recipient in smtp.recipients {
                list = curl_slist_append(list, "<\(recipient)>")
            }
            recipientList = list
            try check(muster_curl_easy_setopt_slist(easy, CURLOPT_MAIL_RCPT, list), "CURLOPT_MAIL_RCPT")
            if smtp.startTLS { try set(CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue), "CURLOPT_USE_SSL") }
            if let username = smtp.username { try set(CURLOPT_USERNAME, username, "CURLOPT_USERNAME") }
            if let password = smtp.password { try set(CURLOPT_PASSWORD, password, "CURLOPT_PASSWORD") }
            upload = smtp.message
            try set(CURLOPT_UPLOAD, 1, "CURLOPT_UPLOAD")
            try check(muster_curl_easy_setopt_off_t(easy, CURLOPT_INFILESIZE_LARGE, curl_off_t(upload.count)), "CURLOPT_INFILESIZE_LARGE")
            try check(muster_curl_easy_setopt_callback(easy, CURLOPT_READFUNCTION, curlReadCallback), "CURLOPT_READFUNCTION")
            try check(muster_curl_easy_setopt_pointer(easy, CURLOPT_READDATA, context), "CURLOPT_READDATA")
        }
    }

    // MARK: - Result

    func result(code: CURLcode) -> DeliveryResult {
        var status = 0
        _ = muster_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        var micros: curl_off_t = 0
        let latency: TimeSpan
        if muster_curl_easy_getinfo_off_t(easy, CURLINFO_TOTAL_TIME_T, &micros) == CURLE_OK, micros > 0 {
            latency = TimeSpan(milliseconds: Int64(micros) / 1000)
        } else {
            latency = elapsed
        }
        let retryAfter = retryAfterHeader.flatMap(RetryAfter.init(headerValue:))
        let snippet = responseSnippet()
        let errorText = code == CURLE_OK ? "" : String(cString: errorBuffer)
        let failure = DeliveryClassifier.classify(
            code: code, status: status, isSMTP: isSMTP, errorText: errorText, statusLine: statusLine,
            retryAfter: retryAfter, snippet: snippet)
        var result = DeliveryResult(
            status: status == 0 ? nil : status, latency: latency, retryAfter: retryAfter,
            failure: failure.map { request.redactor.redactFailure($0) }, curlCode: Int(code.rawValue),
            responseSnippet: snippet.map(request.redactor.redact))
        if case .httpPost(let post) = request.target, post.keepsResponse { result.responseBody = responseBody }
        return result
    }

    private func responseSnippet() -> String? {
        guard !responseBody.isEmpty else { return nil }
        // Printable ASCII (the usual short answer): no line break to replace, so the bytes as they are.
        if responseBody.count <= 512, responseBody.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            let trimmed = String(decoding: responseBody, as: UTF8.self).trimmingASCIIWhitespace()
            return trimmed.isEmpty ? nil : trimmed
        }
        let text = String(decoding: responseBody.prefix(512), as: UTF8.self)
            .map { $0.isNewline ? " " : $0 }
        let trimmed = String(text).trimmingASCIIWhitespace()
        return trimmed.isEmpty ? nil : trimmed
    }
}

extension Redactor {
    func redactFailure(_ failure: DeliveryFailure) -> DeliveryFailure {
        switch failure {
        case .permanent(let r): .permanent(redact(r))
        case .transient(let r): .transient(redact(r))
        }
    }
}

// MARK: - C callbacks (capture nothing; the transfer comes through the context pointer)

private let curlWriteCallback: muster_curl_data_callback = { buffer, size, count, context in
    let length = size * count
    guard let buffer, let context else { return length }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let room = CurlTransfer.maxResponseBytes - transfer.responseBody.count
    if room > 0 {
        let bytes = UnsafeRawBufferPointer(start: buffer, count: min(room, length))
        transfer.responseBody.append(contentsOf: bytes)
    }
    return length
}

private let curlHeaderCallback: muster_curl_data_callback = { buffer, size, count, context in
    let length = size * count
    guard let buffer, let context else { return length }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let bytes = UnsafeRawBufferPointer(start: buffer, count: length)
    // Only two header lines matter; the others are skipped without making strings of them.
    func starts(with prefix: StaticString, ignoringCase: Bool) -> Bool {
        guard bytes.count >= prefix.utf8CodeUnitCount else { return false }
        for i in 0..<prefix.utf8CodeUnitCount {
            let wanted = prefix.utf8Start[i]
            let byte = bytes[i]
            guard byte == wanted || (ignoringCase && byte | 0x20 == wanted) else { return false }
        }
        return true
    }
    if starts(with: "HTTP/", ignoringCase: false) {
        // A new response (after a 100 Continue, say): forget the previous one's headers.
        // Only a failure's reason quotes the status line: a 2xx line is not kept as text.
        if let space = bytes.firstIndex(of: 0x20), space + 1 < bytes.count, bytes[space + 1] == UInt8(ascii: "2") {
            transfer.statusLine = nil
        } else {
            transfer.statusLine = String(decoding: bytes, as: UTF8.self).trimmingASCIIWhitespace()
        }
        transfer.retryAfterHeader = nil
    } else if starts(with: "retry-after", ignoringCase: true) {
        let line = String(decoding: bytes, as: UTF8.self).trimmingASCIIWhitespace()
        if let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == "retry-after" {
            transfer.retryAfterHeader = String(line[line.index(after: colon)...]).trimmingASCIIWhitespace()
        }
    }
    return length
}

private let curlReadCallback: muster_curl_data_callback = { buffer, size, count, context in
    guard let buffer, let context else { return muster_curl_readfunc_abort }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let remaining = transfer.upload.count - transfer.uploadOffset
    let n = min(size * count, remaining)
    if n > 0 {
        transfer.upload.withUnsafeBytes { source in
            UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + transfer.uploadOffset, byteCount: n)
        }
        transfer.uploadOffset += n
    }
    return n
}
