import Foundation
import TestSupport
import Testing

/// `mpirun -np N clipkit …` on this machine (Open MPI from tools/install-deps.sh).
private func mpirun(_ ranks: Int, _ arguments: [String], in folder: URL) throws -> (
    status: Int32, stdout: String, stderr: String, seconds: Double
) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    // Root and loopback-only machines: allow root, no slot limit, shared memory only.
    process.arguments = ["mpirun", "-np", String(ranks), "--oversubscribe", "--mca", "btl", "self,vader"] + arguments
    process.currentDirectoryURL = folder
    var environment = ProcessInfo.processInfo.environment
    environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
    environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    process.environment = environment
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let start = Date()
    try process.run()
    // Read both pipes at once: a full stderr pipe must not stall the job.
    // Safe: written by the reader thread only, read after it has finished.
    nonisolated(unsafe) var stderr = Data()
    let reader = Thread { stderr = err.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !reader.isFinished { usleep(1000) }
    return (
        process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self),
        Date().timeIntervalSince(start)
    )
}

/// The model tensors of a checkpoint by name (F32).
private func modelTensors(_ path: String) throws -> [String: [Float]] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as! [String: Any]
    var tensors: [String: [Float]] = [:]
    for (name, value) in header where name.hasPrefix("model.") {
        let offsets = (value as! [String: Any])["data_offsets"] as! [Int]
        let bytes = data.subdata(in: (8 + length + offsets[0])..<(8 + length + offsets[1]))
        tensors[name] = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
    return tensors
}

/// Data parallelism over MPI ranks: the same results as one process.
@Suite(.serialized) struct MPITests {
    /// 20 training and 10 test Video-MNIST videos of 8×16×16 (bars across and down).
    func dataset() throws -> URL {
        let root = URL(fileURLWithPath: try temporaryFolder("mpi"))
        try tinyVideoMNIST(in: root, crossed: true)
        return root
    }

    func writeConfig(_ root: URL, _ name: String, _ extra: String) throws -> String {
        let path = root.appendingPathComponent("\(name).json").path
        try """
        {"model": "kth3l-stdcf", "train": "data/train.csv", "val": "data/test.csv", "num_classes": 10,
         "clip": {"frames": 8, "crop": 16, "short_side": [16, 16], "flip": 0}, "eval": {"clips": 1, "crops": 1},
         "batch": 4, "workers": 1, "threads": 1, "output": "\(name)", "precise_bn_batches": 2, \(extra)}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Five steps with synchronised BN on 2 ranks × 2 clips and on 1 process × 4
    /// clips: the global batches are the same clips, so the weights differ only
    /// by the order of float additions (the BN sums and the two ranks' gradient
    /// sum): a few units in the last place per step (measured: 2·10⁻⁷ at most),
    /// so 2·10⁻⁵ leaves room for other CPUs' kernels. A wrong gradient scale, a
    /// rank training on the other's clips or unsynchronised BN moves them far more.
    @Test func twoRanksTrainTheSameWeightsAsOneProcess() throws {
        let root = try dataset()
        defer { try? FileManager.default.removeItem(at: root) }
        let one = try clipkit(["train", try writeConfig(root, "one", #""epochs": 1, "sync_bn": true"#)])
        #expect(one.status == 0, "\(one.stderr)")
        let two = try mpirun(
            2, [clipkitExecutable().path, "train", try writeConfig(root, "two", #""epochs": 1, "sync_bn": true"#)],
            in: root)
        #expect(two.status == 0, "\(two.stderr)")
        #expect(two.stdout.contains("batch 4 over 2 ranks"), "\(two.stdout)")
        let a = try modelTensors(root.appendingPathComponent("one/checkpoint.safetensors").path)
        let b = try modelTensors(root.appendingPathComponent("two/checkpoint.safetensors").path)
        #expect(a.count > 10 && Set(a.keys) == Set(b.keys))
        var worst: Float = 0
        for (name, x) in a { for (u, v) in zip(x, b[name]!) { worst = max(worst, abs(u - v)) } }
        #expect(worst < 2e-5, "largest weight difference \(worst)")
        // Without synchronised BN each rank normalises its own 2 clips: the same
        // comparison must then see the difference (the tolerance can fail).
        let local = try mpirun(
            2, [clipkitExecutable().path, "train", try writeConfig(root, "local", #""epochs": 1"#)], in: root)
        #expect(local.status == 0, "\(local.stderr)")
        let c = try modelTensors(root.appendingPathComponent("local/checkpoint.safetensors").path)
        var apart: Float = 0
        for (name, x) in a where !name.contains("running") {
            for (u, v) in zip(x, c[name]!) { apart = max(apart, abs(u - v)) }
        }
        #expect(apart > 1e-4, "per-rank BN moved the weights by only \(apart)")
    }

    /// `shard_order: grouped` over tar shards (`prep shards`): 2 ranks train
    /// the same weights as one process, as with the mixed order above.
    @Test func groupedShardOrderOnTwoRanksTrainsAsOneProcess() throws {
        let root = try dataset()
        defer { try? FileManager.default.removeItem(at: root) }
        let shards = try clipkit(
            [
                "prep", "shards", root.appendingPathComponent("data/train.csv").path,
                root.appendingPathComponent("shards").path, "--shard-size", "16KB", "--quiet"
            ])
        #expect(shards.status == 0, "\(shards.stderr)")
        let report = String(decoding: shards.stdout, as: UTF8.self)
        #expect(report.contains("20 videos in") && !report.contains("in 1 shards"), "\(report)")
        for name in ["one", "two"] {
            let path = try writeConfig(root, name, #""epochs": 1, "sync_bn": true, "shard_order": "grouped""#)
            let text = try String(contentsOfFile: path, encoding: .utf8)
            try text.replacingOccurrences(of: "\"data/train.csv\"", with: "\"shards/manifest.csv\"")
                .write(toFile: path, atomically: true, encoding: .utf8)
        }
        let one = try clipkit(["train", root.appendingPathComponent("one.json").path])
        #expect(one.status == 0, "\(one.stderr)")
        let two = try mpirun(
            2, [clipkitExecutable().path, "train", root.appendingPathComponent("two.json").path], in: root)
        #expect(two.status == 0, "\(two.stderr)")
        let a = try modelTensors(root.appendingPathComponent("one/checkpoint.safetensors").path)
        let b = try modelTensors(root.appendingPathComponent("two/checkpoint.safetensors").path)
        var worst: Float = 0
        for (name, x) in a { for (u, v) in zip(x, b[name]!) { worst = max(worst, abs(u - v)) } }
        #expect(a.count > 10 && worst < 2e-5, "largest weight difference \(worst)")
    }

    /// ITSL (stage-t then stage-s) on 2 ranks: after every step both ranks hold
    /// the same weights, and the role a stage freezes does not change in it.
    @Test func itslOnTwoRanksKeepsReplicasEqualAndFrozenRolesFixed() throws {
        let root = try dataset()
        defer { try? FileManager.default.removeItem(at: root) }
        let config = try writeConfig(root, "itsl", #""itsl": {"iterations": 1}"#)
        let trace = root.appendingPathComponent("trace").path
        let run = try mpirun(2, [clipkitExecutable().path, "train", config, "--weight-trace", trace], in: root)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = try (0..<2).map {
            try String(contentsOfFile: "\(trace).rank\($0)", encoding: .utf8).split(separator: "\n")
        }
        #expect(
            lines[0].count >= 8 && lines[0] == lines[1],
            "rank 0:\n\(lines[0].joined(separator: "\n"))\nrank 1:\n\(lines[1].joined(separator: "\n"))")
        // stage step all spatial temporal joint frozen
        let rows = lines[0].map { $0.split(separator: " ").map(String.init) }
        var stages: [String] = []
        for row in rows where !stages.contains(row[0]) { stages.append(row[0]) }
        #expect(stages.count == 2, "\(stages)")
        for stage in stages {
            let mine = rows.filter { $0[0] == stage }
            let frozen = mine[0][6]
            let column = ["spatial": 3, "temporal": 4, "joint": 5][frozen]
            #expect(column != nil, "stage \(stage) freezes \(frozen)")
            guard let column else { continue }
            #expect(Set(mine.map { $0[column] }).count == 1, "\(frozen) weights changed during \(stage)")
            let other = column == 3 ? 4 : 3
            #expect(Set(mine.map { $0[other] }).count == mine.count, "the trained role changes every step of \(stage)")
        }
    }

    /// Evaluation on 2 ranks (10 videos: 5 each; 3 on one rank with 7 videos would pad) equals 1 process on every metric.
    @Test func evalOnTwoRanksEqualsOneProcess() throws {
        let root = try dataset()
        defer { try? FileManager.default.removeItem(at: root) }
        let trained = try clipkit(["train", try writeConfig(root, "run", #""epochs": 1"#)])
        #expect(trained.status == 0, "\(trained.stderr)")
        // An odd count, so that the sampler pads one rank.
        let test = try String(contentsOfFile: root.appendingPathComponent("data/test.csv").path, encoding: .utf8).split(
            separator: "\n")
        try (test.prefix(8).joined(separator: "\n") + "\n").write(
            toFile: root.appendingPathComponent("data/seven.csv").path, atomically: true, encoding: .utf8)
        let checkpoint = root.appendingPathComponent("run/checkpoint.safetensors").path
        for manifest in ["data/test.csv", "data/seven.csv"] {
            let one = try clipkit([
                "eval", checkpoint, root.appendingPathComponent(manifest).path, "--views", "2x3", "--json"
            ])
            let two = try mpirun(
                2, [clipkitExecutable().path, "eval", checkpoint, manifest, "--views", "2x3", "--json"], in: root)
            #expect(one.status == 0 && two.status == 0, "\(one.stderr) \(two.stderr)")
            var a = try JSONSerialization.jsonObject(with: one.stdout) as! [String: Any]
            var b = try JSONSerialization.jsonObject(with: Data(two.stdout.utf8)) as! [String: Any]
            a["seconds"] = nil
            b["seconds"] = nil
            #expect(NSDictionary(dictionary: a).isEqual(to: b), "\(manifest): one process \(a), two ranks \(b)")
            #expect((b["videos"] as? Int) == (manifest == "data/test.csv" ? 10 : 7))
        }
    }

    /// prep resize on 2 ranks: every video converted once, one manifest equal to one process's.
    @Test func prepResizeOnTwoRanksWritesEveryFileOnceAndOneManifest() throws {
        let root = try dataset()
        defer { try? FileManager.default.removeItem(at: root) }
        let two = try mpirun(
            2, [clipkitExecutable().path, "prep", "resize", "data/train", "two", "--short-side", "32", "--quiet"],
            in: root)
        #expect(two.status == 0, "\(two.stderr)")
        #expect(
            two.stdout.components(separatedBy: "20 converted").count == 2, "one summary line from rank 0: \(two.stdout)"
        )
        let one = try clipkit([
            "prep", "resize", root.appendingPathComponent("data/train").path, root.appendingPathComponent("one").path,
            "--short-side", "32", "--quiet"
        ])
        #expect(one.status == 0, "\(one.stderr)")
        let outputs = try FileManager.default.subpathsOfDirectory(atPath: root.appendingPathComponent("two").path)
            .filter { $0.hasSuffix(".mp4") }
        #expect(outputs.count == 20 && !outputs.contains { $0.contains(".part") })
        let manifests = try ["one", "two"].map {
            try String(contentsOfFile: root.appendingPathComponent("\($0)/manifest.csv").path, encoding: .utf8)
        }
        #expect(manifests[0] == manifests[1] && manifests[0].split(separator: "\n").count == 21)
        // Resumed on 2 ranks: nothing converted again.
        let again = try mpirun(
            2, [clipkitExecutable().path, "prep", "resize", "data/train", "two", "--short-side", "32", "--quiet"],
            in: root)
        #expect(again.status == 0 && again.stdout.contains("0 converted, 20 already done"), "\(again.stdout)")
    }

    /// A rank with a broken manifest path, or killed mid-run, ends the whole
    /// job with a message well within 60 s.
    @Test func aFailingOrKilledRankEndsTheJob() throws {
        let root = try dataset()
        defer { try? FileManager.default.removeItem(at: root) }
        let good = try writeConfig(root, "good", #""epochs": 200"#)
        let bad = try writeConfig(root, "bad", #""epochs": 200"#)
        try String(contentsOfFile: bad, encoding: .utf8).replacingOccurrences(
            of: "data/train.csv", with: "data/missing.csv"
        )
        .write(toFile: bad, atomically: true, encoding: .utf8)
        let executable = clipkitExecutable().path
        // Rank 1 alone is given the broken manifest.
        let script = root.appendingPathComponent("rank1bad.sh").path
        try """
        #!/bin/sh
        if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then exec '\(executable)' train '\(bad)'; else exec '\(executable)' train '\(good)'; fi
        """.write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let broken = try mpirun(2, [script], in: root)
        #expect(
            broken.status == 1 && broken.stderr.contains("missing.csv: no such file") && broken.seconds < 60,
            "status \(broken.status) after \(broken.seconds) s: \(broken.stderr)")
        // Rank 1 killed (SIGKILL) two seconds into training: mpirun ends the job
        // and reports the rank and the signal (its status is then 128 + 9).
        let killer = root.appendingPathComponent("rank1killed.sh").path
        try """
        #!/bin/sh
        if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then (sleep 2; kill -9 $$) & fi
        exec '\(executable)' train '\(good)'
        """.write(toFile: killer, atomically: true, encoding: .utf8)
        chmod(killer, 0o755)
        let killed = try mpirun(2, [killer], in: root)
        #expect(
            killed.status != 0 && killed.seconds < 60 && killed.stderr.contains("rank 1")
                && killed.stderr.contains("signal 9"),
            "status \(killed.status) after \(killed.seconds) s: \(killed.stderr)")
    }

    /// Training on 2 ranks over tar shards on nginx. A server down for good
    /// ends the job with status 1 and an error naming the server; one that
    /// stops mid-training and is back within the retry budget costs nothing:
    /// the job trains on past the restart and ends with status 0.
    @Test func twoRanksOverAStoppedAndARestartedServer() throws {
        let root = try dataset()
        defer { try? FileManager.default.removeItem(at: root) }
        let shards = try clipkit([
            "prep", "shards", root.appendingPathComponent("data/train.csv").path,
            root.appendingPathComponent("shards").path, "--shard-size", "16KB", "--quiet"
        ])
        #expect(shards.status == 0, "\(shards.stderr)")
        let server = try NginxServer(root: root.path)
        let local = try String(contentsOfFile: root.appendingPathComponent("shards/manifest.csv").path, encoding: .utf8)
        let lines = local.split(separator: "\n")
        let remote = ([String(lines[0])] + lines.dropFirst().map { "\(server.baseURL)/shards/\($0)" })
        try (remote.joined(separator: "\n") + "\n").write(
            to: root.appendingPathComponent("remote.csv"), atomically: true, encoding: .utf8)
        let config = try writeConfig(root, "remote", #""epochs": 8"#)
        try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(
            of: "\"data/train.csv\"", with: "\"remote.csv\""
        ).write(toFile: config, atomically: true, encoding: .utf8)
        let executable = clipkitExecutable().path
        let down = try withNetworkEnvironment(["CLIPKIT_HTTP_RETRY_SECONDS": "0"]) {
            try mpirun(2, [executable, "train", config], in: root)
        }
        #expect(
            down.status == 1 && down.stderr.contains("127.0.0.1:\(server.port)") && down.seconds < 120,
            "status \(down.status) after \(down.seconds) s: \(down.stderr)")
        try server.start()
        defer { server.stop() }
        nonisolated(unsafe) var servedBeforeTheStop = 0
        let outage = Thread {
            // Once the job reads (mpirun's start takes a while on a loaded machine), for 1.5 s.
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, ((try? String(contentsOfFile: server.accessLog, encoding: .utf8))?.count ?? 0) == 0
            {
                usleep(50_000)
            }
            usleep(300_000)
            server.stop()
            servedBeforeTheStop = (try? String(contentsOfFile: server.accessLog, encoding: .utf8))?.count ?? 0
            usleep(1_500_000)
            try? server.start()
        }
        outage.start()
        let back = try withNetworkEnvironment(["CLIPKIT_HTTP_RETRY_SECONDS": "20"]) {
            try mpirun(2, [executable, "train", config], in: root)
        }
        while !outage.isFinished { usleep(10_000) }
        #expect(back.status == 0 && back.seconds < 120, "status \(back.status) after \(back.seconds) s: \(back.stderr)")
        let served = try String(contentsOfFile: server.accessLog, encoding: .utf8).count
        #expect(servedBeforeTheStop > 0 && served > servedBeforeTheStop, "the job read on after the restart")
    }

    /// Stopped on rank 0 (as Ctrl-C there) the ranks stop at one step with one
    /// checkpoint, and `--resume` on 2 ranks ends with the uninterrupted run's weights.
    @Test func interruptedOnTwoRanksResumesExactly() throws {
        let root = try dataset()
        defer { try? FileManager.default.removeItem(at: root) }
        let straight = try mpirun(
            2, [clipkitExecutable().path, "train", try writeConfig(root, "straight", #""epochs": 2, "sync_bn": true"#)],
            in: root)
        #expect(straight.status == 0, "\(straight.stderr)")
        let config = try writeConfig(root, "resumed", #""epochs": 2, "sync_bn": true"#)
        // Only rank 0 is told to stop; rank 1 learns it from the step's tally.
        let script = root.appendingPathComponent("rank0stops.sh").path
        try """
        #!/bin/sh
        if [ "$OMPI_COMM_WORLD_RANK" = 0 ]; then exec '\(clipkitExecutable().path)' train '\(config)' --stop-after-steps 3; fi
        exec '\(clipkitExecutable().path)' train '\(config)'
        """.write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let stopped = try mpirun(2, [script], in: root)
        #expect(
            stopped.status == 130 && stopped.stderr.components(separatedBy: "interrupted: saved").count == 2,
            "\(stopped.stderr)")
        let resumed = try mpirun(2, [clipkitExecutable().path, "train", config, "--resume"], in: root)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = try modelTensors(root.appendingPathComponent("straight/checkpoint.safetensors").path)
        let b = try modelTensors(root.appendingPathComponent("resumed/checkpoint.safetensors").path)
        #expect(a.count > 10 && a == b, "resumed weights equal the uninterrupted run's")
    }
}
