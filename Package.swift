// swift-tools-version: 6.1
import PackageDescription

// Kernels are compiled with optimisation even in debug builds: the forward pass over the
// 200,064-row tied head is unusable at -O0, and the tests compare against goldens, not speed.
let kernelFlags: [CSetting] = [
    .unsafeFlags(["-O3", "-fno-strict-aliasing"]),
]

let package = Package(
    name: "phi-cluster",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "phi-coord", targets: ["phi-coord"]),
        .executable(name: "phi-worker", targets: ["phi-worker"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
    ],
    targets: [
        // C: dot/matmul kernels, scalar reference beside each SIMD path.
        .target(name: "CPhiKernels", cSettings: kernelFlags),

        .target(name: "PhiModel", dependencies: [
            "CPhiKernels",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "PhiTokenizer"),
        .target(name: "PhiCluster", dependencies: [
            "PhiModel",
            .product(name: "TOMLKit", package: "TOMLKit"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "PhiGeneration", dependencies: [
            "PhiCluster", "PhiTokenizer",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Hummingbird serves the OpenAI API; only PhiServer (and so phi-coord) links it.
        .target(name: "PhiServer", dependencies: [
            "PhiGeneration",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "phi-coord", dependencies: [
            "PhiGeneration", "PhiServer", "PhiTokenizer",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "phi-worker", dependencies: [
            "PhiCluster",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .target(name: "PhiTestSupport", dependencies: ["PhiModel"], path: "Tests/PhiTestSupport"),
        .testTarget(name: "PhiKernelsTests", dependencies: ["CPhiKernels", "PhiTestSupport"]),
        .testTarget(name: "PhiModelTests", dependencies: ["PhiModel", "PhiTestSupport"]),
        .testTarget(name: "PhiTokenizerTests", dependencies: ["PhiTokenizer", "PhiTestSupport"]),
        .testTarget(name: "PhiClusterTests", dependencies: ["PhiCluster", "PhiTestSupport"]),
        .testTarget(name: "PhiGenerationTests", dependencies: ["PhiGeneration", "PhiTestSupport"]),
        .testTarget(name: "PhiServerTests", dependencies: [
            "PhiServer", "PhiTestSupport", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "EndToEndTests", dependencies: ["PhiTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
