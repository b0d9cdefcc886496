import Foundation

/// `text` with the secrets of every http(s) URL in it replaced by `***`: the
/// user-info before `@` (user:password) and the query string (presigned
/// tokens, signatures). Every message, log line and results file that can
/// carry a video's location goes through it.
public func redactedLocations(_ text: String) -> String {
    guard text.contains("://") else { return text }
    var out = ""
    var rest = Substring(text)
    while let scheme = rest.range(of: "https://", options: .caseInsensitive)
        ?? rest.range(of: "http://", options: .caseInsensitive)
    {
        out += rest[..<scheme.upperBound]
        rest = rest[scheme.upperBound...]
        let end = rest.firstIndex { $0.isWhitespace || $0 == "\"" || $0 == "'" || $0 == "," } ?? rest.endIndex
        var url = rest[..<end]
        rest = rest[end...]
        let authorityEnd = url.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? url.endIndex
        if let at = url[..<authorityEnd].lastIndex(of: "@") {
            out += "***@"
            url = url[url.index(after: at)...]
        }
        if let query = url.firstIndex(of: "?") {
            let fragment = url[query...].firstIndex(of: "#") ?? url.endIndex
            out += url[..<query] + "?***" + url[fragment...]
        } else {
            out += url
        }
    }
    return out + rest
}

/// Whether `path` names an http or https URL.
public func isRemoteLocation(_ path: String) -> Bool {
    let lower = path.prefix(8).lowercased()
    return lower.hasPrefix("http://") || lower.hasPrefix("https://")
}
