/// A config value that is one of a few words, decoded once at the edge: a
/// word it does not know is an error naming the key and listing the choices.
public protocol ConfigChoice: RawRepresentable<String>, CaseIterable, Codable, Sendable, Equatable {}

extension ConfigChoice {
    public init(from decoder: Decoder) throws {
        let word = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(rawValue: word) else {
            let words = Self.allCases.map(\.rawValue)
            let choices = words.dropLast().joined(separator: ", ") + " or " + (words.last ?? "")
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "must be \(choices), not '\(word)'"))
        }
        self = value
    }
}
