// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "ClipKit",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "VideoIO", targets: ["VideoIO"]),
        .library(name: "Clips", targets: ["Clips"]),
        .library(name: "Loader", targets: ["Loader"]),
        .library(name: "Prep", targets: ["Prep"]),
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Train", targets: ["Train"]),
        .library(name: "Distributed", targets: ["Distributed"]),
        .executable(name: "clipkit", targets: ["clipkit"]),
        // The C ABI (Sources/ClipKitC/include/clipkit.h) for python/; python/setup.py
        // builds it with the Swift runtime linked in statically.
        .library(name: "ClipKitC", type: .dynamic, targets: ["ClipKitC"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // System libraries: FFmpeg (demux, decode, swscale) and OpenBLAS (GEMM).
        .systemLibrary(
            name: "CFFmpeg",
            pkgConfig: "libavformat libavcodec libswscale libavutil",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev"])]
        ),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // OpenBLAS is opened at run time (Tensor/OpenBLAS.swift), not linked.
        .systemLibrary(name: "COpenBLAS", providers: [.apt(["libopenblas0"])]),
        // Open MPI, for data-parallel jobs under mpirun (Distributed/Communicator.swift).
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        // Small utilities with no dependencies, shared by the targets above them.
        .target(name: "Support"),
        .target(name: "CPool"),
        .target(name: "VideoIO", dependencies: ["CFFmpeg", "CPool", "Support"]),
        .target(name: "Clips", dependencies: ["VideoIO", "Support"]),
        .target(name: "Loader", dependencies: ["Clips", "VideoIO", "Support"]),
        .target(name: "Distributed", dependencies: ["CMPI"]),
        .target(name: "Prep", dependencies: ["VideoIO", "Clips", "Loader", "CZlib", "Distributed", "Support"]),
        // SIMD kernels compiled once per CPU level (AVX2, AVX-512), chosen at
        // run time by Tensor (SIMDLevel.swift): the one C target outside the shims.
        .target(name: "CKernels"),
        .target(name: "Tensor", dependencies: ["COpenBLAS", "CKernels", "Support"]),
        .target(name: "ClipKitC", dependencies: ["VideoIO", "Clips", "Loader"], exclude: ["include"]),
        .target(name: "NN", dependencies: ["Tensor"]),
        .target(name: "Train", dependencies: ["NN", "Tensor", "Loader", "Clips", "Distributed", "Support"]),
        .executableTarget(
            name: "clipkit",
            dependencies: [
                "VideoIO",
                "Clips",
                "Loader",
                "Prep",
                "Tensor",
                "NN",
                "Train",
                "Distributed",
                "Support",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ]
        ),
        .target(name: "TestSupport", dependencies: ["Tensor"], path: "Tests/TestSupport"),
        .testTarget(name: "VideoIOTests", dependencies: ["VideoIO", "Support", "TestSupport"]),
        .testTarget(name: "ClipsTests", dependencies: ["Clips", "VideoIO", "TestSupport"]),
        .testTarget(name: "LoaderTests", dependencies: ["Loader", "Clips", "VideoIO", "Support", "TestSupport"]),
        .testTarget(name: "PrepTests", dependencies: ["Prep", "Clips", "Loader", "VideoIO", "Support", "TestSupport"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TestSupport"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Train", "Tensor", "TestSupport"]),
        .testTarget(
            name: "TrainTests", dependencies: ["Train", "NN", "Tensor", "Loader", "Prep", "VideoIO", "TestSupport"]),
        .testTarget(name: "ClipKitCLITests", dependencies: ["clipkit", "TestSupport"])
    ],
    swiftLanguageModes: [.v6]
)
