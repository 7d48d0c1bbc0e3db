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
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
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
        // libnng from Debian (no pkg-config file: the module map links it).
        .systemLibrary(name: "CNNG", path: "Sources/CNNG"),
        // protoc-c output for proto/ (scripts/generate-proto), linking Debian's libprotobuf-c.
        .target(name: "CPhiWire", linkerSettings: [.linkedLibrary("protobuf-c")]),
        .target(name: "PhiCluster", dependencies: [
            "PhiModel", "CNNG", "CPhiWire",
            .product(name: "TOMLKit", package: "TOMLKit"),
            .product(name: "Crypto", package: "swift-crypto"),
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

        .target(name: "PhiTestSupport", dependencies: ["PhiModel", "PhiGeneration"], path: "Tests/PhiTestSupport"),
        .testTarget(name: "PhiKernelsTests", dependencies: ["CPhiKernels", "PhiTestSupport"]),
        // gguf/: Python scripts the GGUF tests run (the gguf PyPI package's writer and numpy reference).
        .testTarget(name: "PhiModelTests", dependencies: ["PhiModel", "PhiTestSupport"], exclude: ["gguf"]),
        .testTarget(name: "PhiTokenizerTests", dependencies: ["PhiTokenizer", "PhiTestSupport"]),
        .testTarget(name: "PhiClusterTests", dependencies: ["PhiCluster", "PhiTestSupport"]),
        .testTarget(name: "PhiGenerationTests", dependencies: ["PhiGeneration", "PhiTestSupport"]),
        .testTarget(name: "PhiServerTests", dependencies: [
            "PhiServer", "PhiTestSupport", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "EndToEndTests", dependencies: ["PhiTestSupport", "PhiGeneration"]),
    ],
    swiftLanguageModes: [.v6]
)
