import ArgumentParser
import Foundation
import Prep
import VideoIO

extension ClipKit {
    struct DataCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "data", abstract: "Make synthetic datasets as real video files.",
            subcommands: [VideoMNIST.self, TRMNIST.self])

        struct Common: ParsableArguments {
            @Argument(help: "Output folder.") var out: String
            @Option(
                help:
                    """
                    IDX image file for train and val (gzip or not; default Fashion-MNIST from Debian's \
                    dataset-fashion-mnist).
                    """
            )
            var images = SyntheticOptions().trainImages
            @Option(help: "IDX label file for --images.") var labels = SyntheticOptions().trainLabels
            @Option(help: "IDX image file for test.") var testImages = SyntheticOptions().testImages
            @Option(help: "IDX label file for --test-images.") var testLabels = SyntheticOptions().testLabels
            @Option(help: "Training videos (balanced over the 10 classes).") var train = 1000
            @Option(help: "Validation videos.") var val = 200
            @Option(help: "Test videos.") var test = 200
            @Option(help: "Frames per video.") var frames = 30
            @Option(help: "Canvas HxW (even), e.g. 60x80.") var size = "28x28"
            @Option(help: "Seed of the random motion variations.") var seed: UInt64 = 0
            @Option(help: "Videos written at once.") var jobs = ProcessInfo.processInfo.activeProcessorCount
            @Flag(help: "No progress bar.") var quiet = false
            @Flag(
                help:
                    """
                    video-mnist: a garment drawn at random per video, so that the motion alone names the class \
                    (classes named by motion).
                    """
            )
            var motionOnly = false

            func options(_ kind: SyntheticOptions.Kind) throws -> SyntheticOptions {
                let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
                guard parts.count == 2, parts.allSatisfy({ $0 >= 2 && $0 % 2 == 0 }) else {
                    throw ValidationError("--size must be HxW with even sides, e.g. 60x80")
                }
                guard frames >= 1, train >= 0, val >= 0, test >= 0 else {
                    throw ValidationError("counts must be ≥ 0 and --frames ≥ 1")
                }
                var o = SyntheticOptions()
                o.kind = kind
                (o.trainImages, o.trainLabels, o.testImages, o.testLabels) = (images, labels, testImages, testLabels)
                (o.train, o.val, o.test, o.frames, o.height, o.width) = (train, val, test, frames, parts[0], parts[1])
                (o.seed, o.jobs, o.quiet, o.motionOnly) = (seed, max(1, jobs), quiet, motionOnly)
                return o
            }

            func write(_ kind: SyntheticOptions.Kind) throws {
                let o = try options(kind)
                let manifests = try writeSyntheticDataset(out: out, options: o)
                print(
                    """
                    \(kind.rawValue): \(o.train) train, \(o.val) val, \(o.test) test videos of \
                    \(o.frames)×\(o.height)×\(o.width) (\(availableEncoder)); manifests: \
                    \(manifests.joined(separator: ", "))
                    """)

            }
        }

        struct VideoMNIST: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "video-mnist",
                abstract:
                    """
                    The 3DTT paper's Video-MNIST: each class moves in its own way (Table 1), as H.264 videos plus \
                    manifests.
                    """
            )
            @OptionGroup var common: Common
            func run() throws { try common.write(.videoMNIST) }
        }

        struct TRMNIST: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "tr-mnist",
                abstract: "Translate-rotate MNIST (STDCF paper): digits moving and turning at random constant speeds.")
            @OptionGroup var common: Common
            func run() throws { try common.write(.trMNIST) }
        }
    }
}
