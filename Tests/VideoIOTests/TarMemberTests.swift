import Foundation
import TestSupport
import Testing

@testable import VideoIO

private let corpus = try! CorpusFile.load()

/// The corpus as one pax tar (GNU tar), made once for the suite.
private let corpusTar: String = {
    let folder = try! temporaryFolder("corpus-tar")
    let tar = folder + "/corpus.tar"
    _ = try! runTool("tar", ["--format=pax", "-cf", tar, "-C", fixture("corpus")] + corpus.keys.sorted())
    return tar
}()

/// A ustar header block for `name` with `size` bytes of data: octal size, or
/// GNU's base-256 when `base256`; `type` "0" a file, "x" a pax header.
private func tarHeader(_ name: String, size: Int64, type: Character = "0", base256: Bool = false) -> [UInt8] {
    var h = [UInt8](repeating: 0, count: 512)
    func put(_ text: String, at offset: Int) { for (i, b) in text.utf8.enumerated() { h[offset + i] = b } }
    put(name, at: 0)
    put("0000644", at: 100)
    put("0000000", at: 108)
    put("0000000", at: 116)
    if base256 {
        h[124] = 0x80
        for i in 0..<8 { h[135 - i] = UInt8((size >> (8 * Int64(i))) & 0xff) }
    } else {
        put(String(format: "%011llo", size), at: 124)
    }
    put("00000000000", at: 136)
    h[156] = Character(String(type)).asciiValue!
    put("ustar", at: 257)
    put("00", at: 263)
    for i in 148..<156 { h[i] = 32 }
    put(String(format: "%06o", h.reduce(0) { $0 + Int($1) }) + "\0", at: 148)
    return h
}

private func padded(_ bytes: [UInt8]) -> [UInt8] {
    bytes + [UInt8](repeating: 0, count: (512 - bytes.count % 512) % 512)
}

/// Videos inside tar archives (`shard.tar#member`): every frame through the
/// member equals the one from the file itself, for the whole format corpus.
@Suite struct TarMemberTests {
    @Test(arguments: corpus.keys.sorted())
    func everyCorpusFrameThroughATarMember(_ name: String) throws {
        let decoder = try VideoDecoder(path: corpusTar + "#" + name)
        var seen: [String] = []
        let damaged = try decoder.decodeAll { _, bytes in seen.append(frameAdler32(bytes)) }
        #expect(damaged.isEmpty)
        #expect(seen == corpus[name]!.adler32, "\(name)")
        let scattered = corpus[name]!.scatteredIndices(keyframes: decoder.keyframes).reversed()
        for (i, frame) in zip(scattered, try decoder.frames(at: Array(scattered))) {
            #expect(frameAdler32(frame.pixels) == corpus[name]!.adler32[i], "\(name) frame \(i)")
        }
    }

    /// pax long names and GNU long names (over 100 characters) both name their member.
    @Test(arguments: ["pax", "gnu"])
    func longNamesInPaxAndGNUArchives(_ format: String) throws {
        let folder = try temporaryFolder("tar-long-\(format)")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let long = String(repeating: "a-long-folder-name/", count: 7) + "clip.mp4"
        try FileManager.default.createDirectory(
            atPath: folder + "/" + (long as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixture("vfr.mp4"), toPath: folder + "/" + long)
        _ = try runTool("tar", ["--format=\(format)", "-cf", folder + "/x.tar", "-C", folder, long])
        let decoder = try VideoDecoder(path: folder + "/x.tar#" + long)
        #expect(decoder.frameCount == 50)
        let plain = try VideoDecoder(path: fixture("vfr.mp4"))
        #expect(try decoder.frames(at: [0, 49])[1].pixels == (try plain.frames(at: [49])[0].pixels))
    }

    /// A member of 9 GiB (sparse, never written) before the video: its size in
    /// a pax record or in GNU base-256, and the video after it opens at the
    /// right offset, beyond what 32 bits or ustar's octal field can hold.
    @Test(arguments: [false, true])
    func aVideoAfterA9GiBMember(_ base256: Bool) throws {
        let folder = try temporaryFolder("tar-big")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let archive = folder + "/big.tar"
        let big: Int64 = 9 << 30
        var head: [UInt8]
        if base256 {
            head = tarHeader("big.bin", size: big, base256: true)
        } else {
            let record = "size=\(big)\n"
            let line = "\(record.utf8.count + 3) \(record)"  // the length counts itself (2 digits) and the space
            head = tarHeader("PaxHeaders/big.bin", size: Int64(line.utf8.count), type: "x") + padded(Array(line.utf8))
            head += tarHeader("big.bin", size: 0)  // the pax record's size wins over this one
        }
        let video = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixture("vfr.mp4"))))
        FileManager.default.createFile(atPath: archive, contents: Data(head))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: archive))
        try handle.seek(toOffset: UInt64(head.count) + UInt64(big))
        handle.write(
            Data(tarHeader("clip.mp4", size: Int64(video.count)) + padded(video) + [UInt8](repeating: 0, count: 1024)))
        try handle.close()
        let members = try TarArchive.members(of: archive)
        #expect(members.map(\.name) == ["big.bin", "clip.mp4"])
        #expect(members[1].offset == Int64(head.count) + big + 512)
        let decoder = try VideoDecoder(path: archive + "#clip.mp4")
        #expect(decoder.frameCount == 50)
        #expect(
            try decoder.frames(at: [7])[0].pixels
                == (try VideoDecoder(path: fixture("vfr.mp4")).frames(at: [7])[0].pixels))
    }

    /// A shard cut inside its second member: the first still opens; the
    /// second and a missing member get errors that name the archive, the
    /// member and the reason; a file that is no tar fails its header checksum.
    @Test func brokenArchivesAreNamed() throws {
        let folder = try temporaryFolder("tar-broken")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let whole = try [UInt8](Data(contentsOf: URL(fileURLWithPath: corpusTar)))
        let first = try TarArchive.members(of: corpusTar)[0]
        let second = try TarArchive.members(of: corpusTar)[1]
        let cut = folder + "/cut.tar"
        try Data(whole.prefix(Int(second.offset + second.size / 2))).write(to: URL(fileURLWithPath: cut))
        #expect(try VideoDecoder(path: cut + "#" + first.name).frameCount == corpus[first.name]!.frames)
        func reason(_ path: String) -> String {
            do {
                _ = try VideoDecoder(path: path)
                return "opened"
            } catch VideoError.cannotOpen(let p, let r) {
                return p == path ? r : "path \(p): \(r)"
            } catch {
                return "\(error)"
            }
        }
        #expect(reason(cut + "#" + second.name).contains("cut short"))
        #expect(reason(cut + "#missing.mp4").contains("no member 'missing.mp4'"))
        let notTar = folder + "/fake.tar"
        try Data(repeating: 7, count: 2048).write(to: URL(fileURLWithPath: notTar))
        do {
            _ = try VideoDecoder(path: notTar + "#x.mp4")
            Issue.record("a file that is no tar opened")
        } catch VideoError.cannotOpen(let path, let r) {
            #expect(path == notTar && r.hasPrefix("not a tar archive, or damaged"), "\(r)")
        }
        var flipped = whole
        flipped[3] ^= 1  // the first header's name: its checksum no longer holds
        let damaged = folder + "/damaged.tar"
        try Data(flipped).write(to: URL(fileURLWithPath: damaged))
        #expect(
            throws: VideoError.cannotOpen(
                path: damaged, reason: "not a tar archive, or damaged: the header at byte 0 fails its checksum")
        ) {
            try TarArchive.members(of: damaged)
        }
        // A file whose name has '#' but no '.tar' before it is a plain file.
        #expect(TarMemberPath(folder + "/clip#1.mp4") == nil)
    }

    /// A member's index cache key names the archive and the member, so two
    /// members (and the archive rewritten) never share a cached scan.
    @Test func indexCacheKeysTellMembersApart() throws {
        let members = try TarArchive.members(of: corpusTar)
        let a = try #require(IndexCacheKey.file(corpusTar + "#" + members[0].name, stream: 0))
        let b = try #require(IndexCacheKey.file(corpusTar + "#" + members[1].name, stream: 0))
        #expect(a.source.hasPrefix("tar:/") && a.source.hasSuffix("#" + members[0].name))
        #expect(a.fileName != b.fileName && a.version.contains("offset=\(members[0].offset)"))
    }
}
