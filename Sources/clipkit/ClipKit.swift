import ArgumentParser
import Clips
import Distributed
import Foundation
import Loader
import NN
import Prep
import Support
import Tensor
import Train
import VideoIO

@main
struct ClipKit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clipkit",
        abstract: "Video clips for action recognition on the CPU: decode, sample, train, evaluate.",
        discussion:
            "Under mpirun, train, eval and prep resize/frames split their work over the ranks "
            + "(see docs/distributed.md).",
        subcommands: [
            Probe.self, Frames.self, Sample.self, Prep.self, DataCommand.self, Model.self, TrainCommand.self,
            EvalCommand.self, Predict.self, ReportCommand.self, Explain.self, Bench.self, Doctor.self
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
        } catch let error as UserFacingError {
            // The one path from a library error to the exit status.
            printError(error.description)
            if world.isDistributed { world.abort(code: 1) }
            Communicator.finalize()
            Foundation.exit(1)
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

/// An error the user can act on, whose description names the file and the
/// reason: `main` prints it as one line and exits with status 1 (under
/// mpirun it ends the job). Commands just throw it.
protocol UserFacingError: Error, CustomStringConvertible {}

extension ConfigError: UserFacingError {}
extension ManifestError: UserFacingError {}
extension PrepError: UserFacingError {}
extension VideoError: UserFacingError {}
extension Safetensors.FormatError: UserFacingError {}
extension LoaderError: UserFacingError {}
extension LoaderConfigError: UserFacingError {}
extension FileWriteError: UserFacingError {}
extension SamplingError: UserFacingError {}
extension ModelError: UserFacingError {}

/// An error about a file whose message does not name it (a model that does
/// not fit a config or checkpoint, a folder that cannot be written).
struct ErrorInFile: UserFacingError {
    var file: String
    var reason: String
    init(_ file: String, _ reason: String) { (self.file, self.reason) = (file, reason) }
    init(_ file: String, _ error: CustomStringConvertible) { self.init(file, error.description) }
    var description: String { "\(file): \(reason)" }
}

/// Runs `body`; a `ModelError` becomes an error about `file` (the config or checkpoint that named the model).
func inFile<T>(_ file: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as ModelError { throw ErrorInFile(file, error) }
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
