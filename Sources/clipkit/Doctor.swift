import ArgumentParser
import Foundation
import Support
import Tensor
import VideoIO

extension ClipKit {
    struct Doctor: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Check this machine: CPU features, OpenBLAS library, kernels and speed, FFmpeg libraries and codecs.",
            discussion:
                """
                Run it first when ClipKit is slow or a format does not open. Exit status 1 when it finds a \
                problem (each with its fix).
                """
        )

        @Flag(help: "Print JSON.") var json = false

        struct CPU: Encodable {
            var model: String
            var vendor: String
            var family: Int
            var model_number: Int
            var cores: Int
            var features: [String]
            /// The level of ClipKit's C kernels (`SIMDLevel`): avx512, avx2 or portable.
            var kernels: String
        }
        struct BLASReport: Encodable {
            var path: String
            var core: String
            var requested_core: String?
            var user_core: String?
            var config: String
            var threads: Int
            var sgemm_gflop_per_s: Double
            var sgemm_size: Int
        }
        struct Problem: Encodable {
            var what: String
            var fix: String
        }
        struct Report: Encodable {
            var cpu: CPU
            var blas: BLASReport
            var ffmpeg: FFmpegLibraries
            var problems: [Problem]
        }

        func run() throws {
            let features = CPUFeatures.current
            let cores = ProcessInfo.processInfo.activeProcessorCount
            let cpu = CPU(
                model: cpuModelName(), vendor: features.vendor, family: features.family, model_number: features.model,
                cores: cores, features: features.names, kernels: SIMDLevel.current.rawValue)
            let blas = OpenBLAS.shared
            let (gflops, size) = Parallel.with(ParallelSettings(mode: .blas, threads: cores)) { sgemmForAboutASecond() }
            let blasReport = BLASReport(
                path: blas.path, core: blas.core, requested_core: blas.requestedCore, user_core: blas.userCore,
                config: blas.config, threads: cores, sgemm_gflop_per_s: gflops, sgemm_size: size)
            let ffmpeg = FFmpegLibraries.current
            var problems: [Problem] = []
            if let warning = blas.warning(for: features) {
                problems.append(Problem(what: "OpenBLAS runs generic \(blas.core) kernels", fix: warning))
            }
            if let requested = blas.requestedCore, blas.core.lowercased() != requested.lowercased() {
                problems.append(
                    Problem(
                        what: "OpenBLAS runs \(blas.core), not the \(requested) kernels ClipKit asked for",
                        fix:
                            """
                            this OpenBLAS does not know \(requested); set OPENBLAS_CORETYPE to a core it lists \
                            (OPENBLAS_VERBOSE=2 shows its choice)
                            """
                    ))
            }
            if !ffmpeg.encoders["libx264", default: false] {
                problems.append(
                    Problem(
                        what: "libavcodec has no libx264 encoder: `prep resize` writes MPEG-4 part 2 instead of H.264",
                        fix: "install Debian's ffmpeg libraries (libavcodec59 with libx264)"))
            }
            for (codec, present) in ffmpeg.decoders.sorted(by: { $0.key < $1.key }) where !present {
                problems.append(
                    Problem(
                        what: "libavcodec cannot decode \(codec)",
                        fix: "install a libavcodec built with the \(codec) decoder"))
            }
            let report = Report(cpu: cpu, blas: blasReport, ffmpeg: ffmpeg, problems: problems)
            if json {
                print(try jsonString(report))
            } else {
                let coreSource =
                    blas.userCore.map { " (OPENBLAS_CORETYPE=\($0) set by you)" }
                    ?? blas.requestedCore.map { " (ClipKit asked for \($0) from CPUID)" } ?? " (OpenBLAS's detection)"
                func list(_ table: [String: Bool], _ separator: String, _ item: (String, Bool) -> String) -> String {
                    table.sorted { $0.key < $1.key }.map { item($0.key, $0.value) }.joined(separator: separator)
                }
                let kernelSource =
                    (SIMDLevel.current == .portable ? " off" : "")
                    + (SIMDLevel.current == SIMDLevel.best
                        ? "" : "; CLIPKIT_SIMD chose it, the CPU runs \(SIMDLevel.best)")
                let versions = ffmpeg.versions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                print(
                    """
                    CPU        \(cpu.model) (\(cpu.vendor) family \(cpu.family) model \(cpu.model_number)), \(cores) \
                    cores
                    features   \
                    \(cpu.features.isEmpty ? "none of avx, avx2, fma, avx512" : cpu.features.joined(separator: " "))
                    kernels    \(cpu.kernels) (ClipKit's C kernels\(kernelSource))
                    OpenBLAS   \(blas.path)
                    core       \(blas.core)\(coreSource)
                    config     \(blas.config)
                    sgemm      \(String(format: "%.1f", gflops)) GFLOP/s (\(size)×\(size), \(blasReport.threads) \
                    threads)
                    FFmpeg     \(versions.joined(separator: ", "))
                    encoders   \(list(ffmpeg.encoders, ", ") { "\($0) \($1 ? "yes" : "NO")" })
                    decoders   \(list(ffmpeg.decoders, " ") { $1 ? $0 : "\($0) MISSING" })
                    """)
                if problems.isEmpty {
                    print("problems   none")
                } else {
                    for p in problems { print("problem    \(p.what)\n  fix      \(p.fix)") }
                }
            }
            if !problems.isEmpty { throw ExitCode(1) }
        }
    }
}

/// Best sgemm GFLOP/s over about one second of 1024² products.
func sgemmForAboutASecond() -> (Double, Int) {
    let size = 1024
    var best = 0.0
    let start = DispatchTime.now()
    repeat { best = max(best, measureSgemm(size: size, repeats: 1)) } while elapsed(since: start) < 1
    return (best, size)
}
