import ArgumentParser
import Foundation
import VideoIO

@main
struct ClipKit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clipkit",
        abstract: "Video clips for action recognition on the CPU: decode, sample, train, evaluate.",
        subcommands: [Probe.self, Frames.self, Sample.self, Prep.self, DataCommand.self, Model.self, TrainCommand.self, EvalCommand.self, ReportCommand.self, Bench.self, Doctor.self])
}

/// Runs `body`; a `VideoError` becomes one line on stderr and exit status 1.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as VideoError {
        printError(error.description)
        throw ExitCode(1)
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("clipkit: \(message)\n".utf8))
}

/// JSON with sorted keys, as one line or pretty.
func jsonString<T: Encodable>(_ value: T, pretty: Bool = false) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
