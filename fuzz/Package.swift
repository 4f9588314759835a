// swift-tools-version:6.0
// Floe's libFuzzer harnesses: `make fuzz` (README). A package of its own, so that the main build never links
// them: they have no `main` (libFuzzer provides it) and build only with `--sanitize=fuzzer`. The parsers' modules
// are the main package's sources (symbolic links under Sources/), built here with the fuzzer's instrumentation.
import PackageDescription

let package = Package(
    name: "FloeFuzz",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        .target(name: "MPEGAudio"),
        .target(name: "FloeFEC"),
        .target(
            name: "FloeCore",
            dependencies: ["MPEGAudio", .product(name: "NIOCore", package: "swift-nio"), .product(name: "Yams", package: "Yams")]
        ),
        .executableTarget(name: "FuzzRequestHead", dependencies: ["FloeCore", .product(name: "NIOCore", package: "swift-nio")]),
        .executableTarget(name: "FuzzSourceIngest", dependencies: ["FloeCore", .product(name: "NIOCore", package: "swift-nio")]),
        .executableTarget(name: "FuzzChunkedBody", dependencies: ["FloeCore", .product(name: "NIOCore", package: "swift-nio")]),
        .executableTarget(name: "FuzzConfiguration", dependencies: ["FloeCore"]),
        .executableTarget(name: "FuzzFEC", dependencies: ["FloeFEC"]),
        .executableTarget(name: "FuzzRelayInput", dependencies: ["FloeCore", .product(name: "NIOCore", package: "swift-nio")]),
        .executableTarget(name: "FuzzHLS", dependencies: ["FloeCore", .product(name: "NIOCore", package: "swift-nio")]),
    ],
    swiftLanguageModes: [.v6]
)
