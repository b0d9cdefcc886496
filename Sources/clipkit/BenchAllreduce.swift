import ArgumentParser
import Distributed
import Foundation

extension ClipKit {
    struct BenchAllreduce: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "allreduce",
            abstract: "Time of an in-place float sum over the MPI ranks, against the message size (run under mpirun).",
            discussion:
                """
                Example: mpirun -np 2 clipkit bench allreduce --json. Bus bandwidth is bytes × 2(n−1)/n per \
                second, NCCL's convention.
                """
        )
        @Option(help: "Smallest message, KiB.") var fromKb = 4
        @Option(help: "Largest message, MiB.") var toMb = 128
        @Flag(help: "Print JSON.") var json = false

        struct Row: Encodable {
            var bytes: Int
            var median_us: Double
            var min_us: Double
            var algorithm_gb_per_s: Double
            var bus_gb_per_s: Double
            var repeats: Int
        }
        struct Result: Encodable {
            var ranks: Int
            var rows: [Row]
        }

        func run() throws {
            let world = Communicator.world
            guard world.isDistributed else {
                printError("bench allreduce measures MPI: run it as mpirun -np 2 clipkit bench allreduce")
                throw ExitCode(1)
            }
            var rows: [Row] = []
            var bytes = fromKb * 1024
            while bytes <= toMb << 20 {
                let count = bytes / 4
                let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
                defer { buffer.deallocate() }
                buffer.initialize(repeating: 1, count: count)
                for _ in 0..<2 { try world.allreduceSum(buffer, count: count) }
                // As many repeats as fit in about half a second (rank 0 decides), 5 to 200.
                try world.barrier()
                let probe = DispatchTime.now()
                try world.allreduceSum(buffer, count: count)
                let once = max(elapsed(since: probe), 1e-6)
                let repeats = Int(try world.maximum([Double(min(200, max(5, Int(0.5 / once))))])[0])
                var times: [Double] = []
                for _ in 0..<repeats {
                    try world.barrier()
                    let start = DispatchTime.now()
                    try world.allreduceSum(buffer, count: count)
                    times.append(elapsed(since: start))
                }
                times = try world.maximum(times)  // a sum is done when the slowest rank has it
                times.sort()
                let median = times[times.count / 2]
                let n = Double(world.size)
                rows.append(
                    Row(
                        bytes: bytes, median_us: median * 1e6, min_us: times[0] * 1e6,
                        algorithm_gb_per_s: Double(bytes) / median / 1e9,
                        bus_gb_per_s: Double(bytes) * 2 * (n - 1) / n / median / 1e9, repeats: repeats))
                bytes *= 4
            }
            guard world.rank == 0 else { return }
            if json {
                print(try jsonString(Result(ranks: world.size, rows: rows)))
            } else {
                print("allreduce (sum, float32, in place) over \(world.size) ranks")
                for r in rows {
                    print(
                        String(
                            format: "%10d bytes  median %9.1f µs  min %9.1f µs  %6.2f GB/s (bus %6.2f GB/s)", r.bytes,
                            r.median_us, r.min_us,
                            r.algorithm_gb_per_s, r.bus_gb_per_s))
                }
            }
        }
    }
}
