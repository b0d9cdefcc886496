import Clips
import Foundation
import TestSupport
import Testing
import VideoIO

@testable import Loader

private let names = [
    "h264_bframes.mp4", "hevc.mkv", "vp9.webm", "mpeg4.avi", "mjpeg.mov", "vfr.mp4", "rotate90.mp4", "h264_444_odd.mp4"
]

/// A test-mode loader (failures listed, not replaced) over the fixtures served by `server`,
/// three times over (12 batches of 2, one batch queued at most, so that most are still to load
/// when a test stops the server after the first), each URL carrying a token that must never be printed.
private func remoteLoader(_ server: NginxServer, logged: LockedLines) -> ClipLoader {
    let manifest = Manifest(
        entries: (names + names + names).enumerated().map {
            ManifestEntry(path: "\(server.baseURL)/\($1)?token=s3cr3t", label: $0 % 3)
        })
    let dataset = ClipDataset(
        manifest: manifest, spec: ClipSpec(frames: 4, interval: 2),
        mode: .test(numClips: 1, crops: .center(48), shortSide: 64))
    let loader = ClipLoader(
        dataset: dataset, options: LoaderOptions(batchSize: 2, workers: 2, queueDepth: 1, shuffle: false))
    loader.log = { logged.append($0) }
    return loader
}

/// The loader over http while the server goes away: nothing hangs, every
/// failure names its URL without the token, and a server back within the
/// retry budget costs nothing.
@Suite(.serialized) struct RemoteLoaderTests {
    @Test func aServerStoppedMidEpochFailsItsVideosAndTheEpochEnds() throws {
        try withNetworkEnvironment(["CLIPKIT_HTTP_RETRY_SECONDS": "1"]) { try stoppedMidEpoch() }
    }

    private func stoppedMidEpoch() throws {
        let server = try NginxServer(root: fixture(""))
        try server.start()
        let logged = LockedLines()
        let loader = remoteLoader(server, logged: logged)
        let iterator = loader.epoch(0)
        let first = try #require(try iterator.next())
        #expect(first.failed.isEmpty)
        server.stop()
        let started = Date()
        var failed = 0
        var batches = 1
        while let batch = try iterator.next() {
            failed += batch.failed.count
            batches += 1
        }
        #expect(batches == 12 && Date().timeIntervalSince(started) < 60)
        // The batches after the first may already be loading, or queued, when the server stops
        // (three batches, six videos, at most); the others cannot be.
        #expect(failed >= 12, "\(failed) failures")
        #expect(!logged.lines.isEmpty && logged.lines.allSatisfy { $0.contains("?***") && !$0.contains("s3cr3t") })
    }

    @Test func aServerBackWithinTheBudgetCostsNothing() throws {
        try withNetworkEnvironment(["CLIPKIT_HTTP_RETRY_SECONDS": "15"]) { try backWithinTheBudget() }
    }

    private func backWithinTheBudget() throws {
        let server = try NginxServer(root: fixture(""))
        try server.start()
        defer { server.stop() }
        let logged = LockedLines()
        let loader = remoteLoader(server, logged: logged)
        let iterator = loader.epoch(0)
        _ = try #require(try iterator.next())
        server.stop()
        let restart = Thread {
            usleep(1_500_000)
            try? server.start()
        }
        restart.start()
        var failed: [LoadFailure] = []
        while let batch = try iterator.next() { failed += batch.failed }
        #expect(failed.isEmpty, "\(failed)")
        // Every video's open and clips were requests, counted with the time waited on them.
        let network = iterator.stats.network
        #expect(network.openingRequests >= names.count && network.clipRequests > 0, "\(network)")
        #expect(network.clipBytes > 0 && network.waitSeconds > 0, "\(network)")
    }
}
