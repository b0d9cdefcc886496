import Foundation

/// The YAML a training config needs: nested block mappings by indentation,
/// `key: value` scalars (numbers, true/false, null, quoted or plain strings),
/// flow lists `[a, b]`, and `#` comments. Anything else is an error naming the line.
public func parseYAML(_ text: String, file: String) throws -> [String: Any] {
    var root: [String: Any] = [:]
    // Stack of (indent, path of keys) for open mappings.
    var stack: [(indent: Int, path: [String])] = [(-1, [])]
    func set(_ value: Any, at path: [String], in dict: inout [String: Any]) {
        if path.count == 1 {
            dict[path[0]] = value
            return
        }
        var child = dict[path[0]] as? [String: Any] ?? [:]
        set(value, at: Array(path.dropFirst()), in: &child)
        dict[path[0]] = child
    }
    for (n, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
        var line = String(raw)
        if let hash = line.firstIndex(of: "#"), !line[..<hash].contains("\"") && !line[..<hash].contains("'") {
            line = String(line[..<hash])
        }
        guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
        let indent = line.prefix { $0 == " " }.count
        let body = line.trimmingCharacters(in: .whitespaces)
        guard let colon = body.firstIndex(of: ":"), !body.hasPrefix("-") else {
            throw ConfigError(
                file: "\(file):\(n + 1)", reason: "expected 'key: value' (lists as [a, b]), found '\(body)'")
        }
        let key = body[..<colon].trimmingCharacters(in: .whitespaces)
        let rest = body[body.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        while let top = stack.last, top.indent >= indent { stack.removeLast() }
        let path = stack.last!.path + [key]
        if rest.isEmpty {
            set([String: Any](), at: path, in: &root)
            stack.append((indent, path))
        } else {
            set(try yamlScalar(rest, file: "\(file):\(n + 1)"), at: path, in: &root)
        }
    }
    return root
}

private func yamlScalar(_ text: String, file: String) throws -> Any {
    if text.hasPrefix("[") {
        guard text.hasSuffix("]") else { throw ConfigError(file: file, reason: "unclosed list '\(text)'") }
        let inner = text.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
        return inner.isEmpty
            ? [Any]()
            : try inner.split(separator: ",").map {
                try yamlScalar($0.trimmingCharacters(in: .whitespaces), file: file)
            }
    }
    if (text.hasPrefix("\"") && text.hasSuffix("\"") || text.hasPrefix("'") && text.hasSuffix("'")) && text.count >= 2 {
        return String(text.dropFirst().dropLast())
    }
    switch text {
    case "true", "True": return true
    case "false", "False": return false
    case "null", "~": return NSNull()
    default: break
    }
    if let i = Int(text) { return i }
    if let d = Double(text) { return d }
    return text
}
