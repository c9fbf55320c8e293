import CCurl

/// Sorts a finished transfer into delivered, permanent failure or transient failure, with a reason a
/// person can act on (not yet redacted: the transfer redacts it with its request's secrets).
enum DeliveryClassifier {
    /// libcurl results that trying again will not fix.
    static let permanentCodes: Set<UInt32> = [
        CURLE_UNSUPPORTED_PROTOCOL.rawValue, CURLE_URL_MALFORMAT.rawValue, CURLE_NOT_BUILT_IN.rawValue,
        CURLE_REMOTE_ACCESS_DENIED.rawValue, CURLE_LOGIN_DENIED.rawValue, CURLE_PEER_FAILED_VERIFICATION.rawValue,
        CURLE_SSL_CACERT_BADFILE.rawValue, CURLE_USE_SSL_FAILED.rawValue, CURLE_SSL_CERTPROBLEM.rawValue,
        CURLE_FILESIZE_EXCEEDED.rawValue,
    ]

    static func classify(
        code: CURLcode, status: Int, isSMTP: Bool, errorText: String, statusLine: String?, retryAfter: RetryAfter?,
        snippet: String?
    ) -> DeliveryFailure? {
        if code == CURLE_OK {
            if isSMTP { return nil }
            return classifyHTTP(status: status, statusLine: statusLine, retryAfter: retryAfter, snippet: snippet)
        }
        let curlText = String(cString: curl_easy_strerror(code))
        var reason = curlText
        if !errorText.isEmpty, errorText != curlText { reason += ": " + errorText }
        reason += " (curl error \(code.rawValue))"
        if code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_RESOLVE_PROXY { reason = "DNS lookup failed: " + reason }
        if isSMTP, status > 0 {
            reason = "SMTP \(status): " + reason
            // 5xx: the server refused (a recipient that does not exist, a sender not allowed): final.
            if status >= 500 { return .permanent(reason) }
            if status >= 400 { return .transient(reason) }
        }
        return permanentCodes.contains(code.rawValue) ? .permanent(reason) : .transient(reason)
    }

    static func classifyHTTP(status: Int, statusLine: String?, retryAfter: RetryAfter?, snippet: String?) -> DeliveryFailure? {
        // Delivered: no reason to build (this is every message of a healthy receiver).
        if (200..<300).contains(status) { return nil }
        var reason = "HTTP \(status)"
        if let phrase = statusLine.flatMap(reasonPhrase), !phrase.isEmpty { reason += " \(phrase)" }
        if let retryAfter { reason += " (Retry-After: \(retryAfter))" }
        // A refused credential's answer often quotes the credential (in any encoding): it stays out of the
        // reason, which goes on the run's timeline; the result's `responseSnippet` (redacted) still has it.
        if let snippet {
            if withholdsBody(status: status) { reason += " (response body withheld: it may quote the credential)" } else { reason += ": " + String(snippet.prefix(200)) }
        }
        switch status {
        case 200..<300: return nil
        case 408, 429: return .transient(reason)
        case 300..<400: return .permanent(reason + " (redirects are not followed; fix the channel's URL)")
        case 400..<500: return .permanent(reason)
        case 500..<600: return .transient(reason)
        default: return .transient(reason + " (not an HTTP status Muster understands)")
        }
    }

    /// 401 and 403: the answers to a credential, whose bodies are kept off the timeline.
    static func withholdsBody(status: Int) -> Bool { status == 401 || status == 403 }

    /// `HTTP/1.1 429 Too Many Requests` -> `Too Many Requests`.
    static func reasonPhrase(_ statusLine: String) -> String? {
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        return parts.count == 3 ? String(parts[2]) : nil
    }
}
