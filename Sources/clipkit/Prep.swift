import ArgumentParser
import Foundation
import Loader
import VideoIO

extension ClipKit {
    struct Prep: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prepare datasets.", subcommands: [Check.self])

        struct Check: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Open every video of a manifest and list the broken ones (exit 1 if any).")

            @Argument(help: "Manifest (CSV, JSONL or mmaction2 list).") var manifest: String
            @Flag(help: "Also decode every frame (slower; finds damage in the middle).") var decode = false
            @Flag(help: "Print JSON: {\"videos\", \"broken\": [{\"path\", \"reason\"}]}.") var json = false

            struct Broken: Encodable { var path: String; var reason: String }
            struct Report: Encodable { var videos: Int; var broken: [Broken] }

            func run() throws {
                let m: Manifest
                do { m = try Manifest.load(manifest) } catch let error as ManifestError {
                    printError(error.description)
                    throw ExitCode(1)
                }
                var broken: [Broken] = []
                for entry in m.entries {
                    do {
                        let decoder = try VideoDecoder(path: entry.path, index: entry.storedIndex)
                        if decode {
                            let damaged = try decoder.verify()
                            if !damaged.isEmpty {
                                throw VideoError.damagedFrames(path: entry.path, indices: damaged, reason: decoder.lastDamageReason)
                            }
                        }
                    } catch let error as VideoError {
                        broken.append(Broken(path: entry.path, reason: error.reason))
                        if !json { print("broken: \(entry.path): \(error.reason)") }
                    }
                }
                if json { print(try jsonString(Report(videos: m.count, broken: broken))) } else {
                    print("\(m.count) videos, \(broken.count) broken")
                }
                if !broken.isEmpty { throw ExitCode(1) }
            }
        }
    }
}
