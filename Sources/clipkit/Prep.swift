import ArgumentParser
import Distributed
import Foundation
import Loader
import Prep
import Support
import VideoIO

extension ClipKit {
    struct Prep: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prepare datasets.",
            subcommands: [Resize.self, Frames.self, Index.self, Check.self, Subset.self, Shards.self])

        struct Index: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Build a manifest and class list from a dataset's folders or annotation files.",
                discussion: """
                    Layouts: folders (DIR/<class>/<video>), list (mmaction2 'path label'), kinetics-csv \
                    (label,youtube_id,time_start,time_end,split), ucf101 (trainlist0N.txt/testlist0N.txt with \
                    classInd.txt \
                    beside it), ssv1 (Something-Something v1 'id;label' CSV with something-something-v1-labels.csv \
                    beside it; \
                    frame folders), webdataset (tar shards, several at once: <key>.<video ext> with a label in \
                    <key>.json or <key>.cls; prep shards writes them). Listed videos that are missing are reported; \
                    the exit status is then 1.
                    """)

            @Argument(help: "Dataset folder (folders), annotation file, or tar shards (webdataset).")
            var inputs: [String]
            @Option(help: "folders, list, kinetics-csv, ucf101, ssv1 or webdataset.") var layout: String
            @Option(help: "Folder the annotation's paths are relative to (default: the annotation's folder).")
            var videos: String?
            @Option(name: .shortAndLong, help: "Manifest to write (CSV).") var output: String
            @Option(help: "Class list to write (default: classes.txt beside the manifest).") var classes: String?
            @Flag(help: "Open every video to record frames, fps, size and keyframes.") var probe = false
            @Option(help: "Videos probed at once.") var jobs = ProcessInfo.processInfo.activeProcessorCount
            @Flag(help: "List the files passed over as not video.") var verbose = false

            func validate() throws {
                guard let kind = DatasetLayout(rawValue: layout) else {
                    throw ValidationError(
                        "--layout must be one of \(DatasetLayout.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                guard inputs.count == 1 || (kind == .webdataset && !inputs.isEmpty) else {
                    throw ValidationError("--layout \(layout) reads one input (several only for webdataset)")
                }
            }

            func run() throws {
                var result: IndexResult
                let kind = DatasetLayout(rawValue: layout)!
                let input = inputs[0]
                result =
                    kind == .webdataset
                    ? try indexWebDataset(shards: inputs) : try indexDataset(input, layout: kind, videos: videos)
                // The probe's journal: a run cut short resumes from it; it goes once the manifest is written.
                let journal = output + ".probed.jsonl"
                try prepareOutput(output)
                if probe { result = try probeEntries(result, jobs: jobs, quiet: false, journal: journal) }
                let classList =
                    classes
                    ?? ((output as NSString).deletingLastPathComponent as NSString).appendingPathComponent(
                        "classes.txt")
                guard !result.entries.isEmpty else { throw PrepError(path: input, reason: "no videos found") }
                try writeIndex(result, manifest: output, classList: classList)
                if probe { try? FileManager.default.removeItem(atPath: journal) }
                print(
                    """
                    \(result.entries.count) videos in \(result.classes.count) classes, \
                    \(result.problems.count) problems, 
                    """
                        + "\(result.notVideo.count) skipped as not video; wrote \(output) and \(classList)")
                if verbose { for file in result.notVideo { print("not video: \(file)") } }

                for p in result.problems { printError("problem: \(p)") }
                if !result.problems.isEmpty { throw ExitCode(1) }
            }
        }

        struct Frames: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract:
                    """
                    Write every video under SRC as a folder of JPEG frames in DST (tree kept, \
                    <stem>/img_00001.jpg …).
                    """,
                discussion: """
                    mmaction2's rawframes layout (filename_tmpl img_{:05}.jpg, start_index 1), as SSv1-style \
                    pipelines use. \
                    Resumable: folders already in DST are kept, and each new one appears only when complete. A failing \
                    video is listed at the end and the others go on; the exit status is then 1. Writes \
                    DST/manifest.csv \
                    (frames, fps, size, template, start_index), DST/rawframes.txt (mmaction2's 'frame_dir \
                    total_frames label') \
                    and DST/classes.txt for class folders.
                    """)

            @Argument(help: "Folder of source videos.") var source: String
            @Argument(help: "Output folder.") var destination: String
            @Option(help: "Shorter side of the frames, pixels (0 keeps the size).") var shortSide = 256
            @Option(help: "JPEG quality as ffmpeg's -q:v (2 best … 31 worst).") var quality = 2
            @Option(help: "Videos converted at once.") var jobs = ProcessInfo.processInfo.activeProcessorCount
            @Flag(help: "No progress bar.") var quiet = false
            @Flag(help: "List the files passed over as not video.") var verbose = false

            func validate() throws {
                guard shortSide >= 0 else { throw ValidationError("--short-side must be ≥ 0") }
                guard (2...31).contains(quality) else { throw ValidationError("--quality must be 2…31") }
                guard jobs >= 1 else { throw ValidationError("--jobs must be ≥ 1") }
            }

            func run() throws {
                let report: ResizeReport
                report = try framesDataset(
                    source: source, destination: destination, shortSide: shortSide == 0 ? nil : shortSide,
                    quality: quality, jobs: jobs, quiet: quiet, world: .world)

                try finish(report, what: "extracted", verbose: verbose)
            }
        }

        /// The summary line and failures (rank 0 under mpirun); exit status 1 if any video failed or has no class.
        static func finish(_ report: ResizeReport, what: String, encoder: String = "", verbose: Bool) throws {
            let world = Communicator.world
            if world.rank == 0 {
                print(
                    String(
                        format: "%d %@, %d already done, %d failed, %d skipped as not video in %.1f s%@; manifest: %@",
                        report.converted.count, what, report.skipped.count, report.failures.count,
                        report.notVideo.count,
                        report.seconds, encoder.isEmpty ? "" : " (\(encoder))",
                        report.manifestPath.isEmpty ? "none written" : report.manifestPath))
                if verbose { for file in report.notVideo { print("not video: \(file)") } }
                for video in report.outsideClasses {
                    printError("problem: \(video): not in a class folder; converted, but left out of the manifest")
                }
                for failure in report.failures { printError("failed: \(failure)") }
            }
            if !report.failures.isEmpty || !report.outsideClasses.isEmpty { throw AgreedExit(code: 1) }
        }

        struct Resize: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract:
                    """
                    Re-encode every video under SRC into DST (tree kept, <stem>.mp4) at a short side, with short \
                    keyframe intervals.
                    """,
                discussion: """
                    Resumable: outputs already in DST are kept, and each new one appears only when complete. \
                    A failing video is listed at the end and the others go on; the exit status is then 1. \
                    Writes DST/manifest.csv (frames, fps, size, keyframes) and DST/classes.txt for class folders.
                    """)

            @Argument(help: "Folder of source videos.") var source: String
            @Argument(help: "Output folder.") var destination: String
            @Option(
                help: "Shorter side of the output, pixels (the other side keeps the aspect ratio, rounded to even).")
            var shortSide = 256
            @Option(help: "Largest distance between keyframes, frames.") var gop = 16
            @Option(help: "Videos converted at once.") var jobs = ProcessInfo.processInfo.activeProcessorCount
            @Option(help: "libx264 preset.") var preset = "medium"
            @Option(help: "libx264 CRF (quality; lower is better).") var crf = 23
            @Flag(help: "No progress bar.") var quiet = false
            @Flag(help: "List the files passed over as not video.") var verbose = false

            func validate() throws {
                guard shortSide >= 2, shortSide % 2 == 0 else {
                    throw ValidationError("--short-side must be an even number ≥ 2")
                }
                guard gop >= 1 else { throw ValidationError("--gop must be ≥ 1") }
                guard jobs >= 1 else { throw ValidationError("--jobs must be ≥ 1") }
                let presets = [
                    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                    "placebo"
                ]
                guard presets.contains(preset) else {
                    throw ValidationError("--preset must be one of \(presets.joined(separator: ", "))")
                }
                guard (0...51).contains(crf) else { throw ValidationError("--crf must be 0…51") }
            }

            func run() throws {
                var options = ResizeOptions()
                options.shortSide = shortSide
                options.encode = EncodeOptions(gop: gop, preset: preset, crf: crf, threads: 1)
                options.jobs = jobs
                options.quiet = quiet
                let report: ResizeReport
                report = try resizeDataset(
                    source: source, destination: destination, options: options, world: .world)

                try Prep.finish(report, what: "converted", encoder: availableEncoder, verbose: verbose)
            }
        }

        struct Shards: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Write the videos of a manifest (or of class folders) into WebDataset-layout tar shards.",
                discussion: """
                    Each video goes in as it is, <key>.<ext>, followed by <key>.json (label, class, source path, \
                    frames, fps, size, keyframes). Writes DST/shard-NNNNNN.tar, DST/manifest.csv (each video as \
                    shard-NNNNNN.tar#<key>.<ext>, which every command opens), DST/shards.json and DST/classes.txt. \
                    Resumable: each shard appears only when complete, and shards already in DST are kept. \
                    Unreadable videos are listed at the end and left out; the exit status is then 1.
                    """)
            @Argument(help: "A manifest (classes.txt beside it names the labels), or a folder of class folders.")
            var source: String
            @Argument(help: "Output folder.") var destination: String
            @Option(help: "Largest shard, e.g. 1GB, 500MB, 64MiB.") var shardSize = "1GB"
            @Option(help: "Videos probed at once.") var jobs = ProcessInfo.processInfo.activeProcessorCount
            @Flag(help: "No progress bar.") var quiet = false

            func run() throws {
                var options = ShardOptions()
                guard let bytes = parseByteSize(shardSize), bytes >= 4096 else {
                    throw ValidationError("--shard-size must be a size of at least 4096 bytes, e.g. 1GB, 500MB, 64MiB")
                }
                (options.shardBytes, options.jobs, options.quiet) = (bytes, max(1, jobs), quiet)
                let report = try writeShards(source: source, destination: destination, options: options)
                print(
                    String(
                        format:
                            "%d videos in %d shards (%d written, %d already done), %d failed, in %.1f s; manifest: %@",
                        report.videos, report.written.count + report.kept.count, report.written.count,
                        report.kept.count, report.failures.count, report.seconds, report.manifestPath))
                for failure in report.failures { printError("failed: \(failure)") }
                if !report.failures.isEmpty { throw ExitCode(1) }
            }
        }

        struct Subset: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract:
                    """
                    Write the manifest of a random part of a dataset's classes, relabelled (Mini-Kinetics, \
                    Mini-SSV2).
                    """,
                discussion: """
                    The Deep Analysis supplement's recipe: a random half (--classes 0.5) of the classes with all \
                    their videos. \
                    The choice depends only on --seed. Writes the manifest (CSV) and its class list (classes.txt \
                    beside it, \
                    new label order = old label order).
                    """)

            @Argument(help: "Manifest (CSV, JSONL or mmaction2 list).") var manifest: String
            @Option(help: "Fraction of the classes to keep, in (0, 1].") var classes = 0.5
            @Option(help: "Seed of the choice.") var seed: UInt64 = 0
            @Option(
                help: "The manifest's class list (default: classes.txt beside it; without one, labels are the names).")
            var classList: String?
            @Option(name: .shortAndLong, help: "Manifest to write (CSV).") var output: String
            @Option(help: "Class list to write (default: classes.txt beside the output).") var outputClasses: String?

            func validate() throws {
                guard classes > 0, classes <= 1 else { throw ValidationError("--classes must be in (0, 1]") }
            }

            func run() throws {
                do {
                    let beside = ((manifest as NSString).deletingLastPathComponent as NSString).appendingPathComponent(
                        "classes.txt")
                    let listPath = classList ?? (FileManager.default.fileExists(atPath: beside) ? beside : nil)
                    let names: [String]
                    let m: Manifest
                    if let listPath {
                        names = try loadClassNames(listPath)
                        m = try Manifest.load(manifest, classes: names)
                    } else {
                        m = try Manifest.load(manifest)
                        names = (0...(m.entries.map(\.label).max() ?? 0)).map(String.init)
                    }
                    let subset = try subsetClasses(m, classes: names, fraction: classes, seed: seed)
                    let classesOut =
                        outputClasses
                        ?? ((output as NSString).deletingLastPathComponent as NSString).appendingPathComponent(
                            "classes.txt")
                    for file in [output, classesOut] {
                        try FileManager.default.createDirectory(
                            atPath: (file as NSString).deletingLastPathComponent.isEmpty
                                ? "." : (file as NSString).deletingLastPathComponent,
                            withIntermediateDirectories: true)
                    }
                    try subset.manifest.writeCSV(to: output)
                    try writeAtomically(Data((subset.classes.joined(separator: "\n") + "\n").utf8), to: classesOut)
                    print(
                        """
                        kept \(subset.classes.count) of \(names.count) classes, \(subset.manifest.count) of \
                        \(m.count) videos; wrote \(output) and \(classesOut)
                        """
                    )
                } catch let error as CocoaError {
                    throw ErrorInFile(output, "cannot write (\(error.localizedDescription))")
                }
            }
        }

        struct Check: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Open every video of a manifest and list the broken ones (exit 1 if any).")

            @Argument(help: "Manifest (CSV, JSONL or mmaction2 list).") var manifest: String
            @Flag(help: "Also decode every frame (slower; finds damage in the middle).") var decode = false
            @Flag(help: "Print JSON: {\"videos\", \"broken\": [{\"path\", \"reason\"}]}.") var json = false

            struct Broken: Encodable {
                var path: String
                var reason: String
            }
            struct Report: Encodable {
                var videos: Int
                var broken: [Broken]
            }

            func run() throws {
                let m: Manifest
                m = try Manifest.load(manifest)
                var broken: [Broken] = []
                for entry in m.entries {
                    do {
                        let decoder = try VideoDecoder(
                            path: entry.path, options: entry.decoderOptions, index: entry.storedIndex)
                        if decode {
                            let damaged = try decoder.verify()
                            if !damaged.isEmpty {
                                throw VideoError.damagedFrames(
                                    path: entry.path, indices: damaged, reason: decoder.lastDamageReason)
                            }
                        }
                    } catch let error as VideoError {
                        broken.append(Broken(path: entry.path, reason: error.reason))
                        if !json { print("broken: \(entry.path): \(error.reason)") }
                    }
                }
                if json {
                    print(try jsonString(Report(videos: m.count, broken: broken)))
                } else {
                    print("\(m.count) videos, \(broken.count) broken")
                }
                if !broken.isEmpty { throw ExitCode(1) }
            }
        }
    }
}
