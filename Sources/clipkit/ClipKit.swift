import ArgumentParser
import Distributed
import Foundation
import Tensor
import VideoIO

@main
struct ClipKit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clipkit",
        abstract: "Video clips for action recognition on the CPU: decode, sample, train, evaluate.",
        discussion:
            "Under mpirun, train, eval and prep resize/frames split their work over the ranks (see the README).",
        subcommands: [
            Probe.self, Frames.self, Sample.self, Prep.self, DataCommand.self, Model.self, TrainCommand.self,
            EvalCommand.self, ReportCommand.self, Explain.self, Bench.self, Doctor.self
        ])

    /// Under mpirun, MPI starts before the command and ends after it. A rank
    /// that fails on its own (bad input, an error) ends the whole job through
    /// MPI_Abort with its exit status, so the other ranks never wait for it
    /// forever; an `AgreedExit` (every rank reached the same verdict) ends
    /// normally on every rank.
    static func main() {
        // Training and evaluation reuse the same large blocks every step (see MemoryMeter).
        MemoryMeter.shared.keepFreedMemory()
        let world = Communicator.launchedByMPI ? Communicator.world : .single
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let agreed as AgreedExit {
            Communicator.finalize()
            Foundation.exit(agreed.code)
        } catch {
            let code = exitCode(for: error)
            if world.isDistributed && code != .success {
                let message = fullMessage(for: error)
                if !message.isEmpty { FileHandle.standardError.write(Data("\(message)\n".utf8)) }
                world.abort(code: code.rawValue)
            }
            Communicator.finalize()
            exit(withError: error)
        }
        Communicator.finalize()
    }
}

/// A failure status every rank of a job arrived at together (a collective
/// verdict such as "some videos failed"): the job ends normally with it.
struct AgreedExit: Error {
    var code: Int32
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
    encoder.outputFormatting =
        pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
