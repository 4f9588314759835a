// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "Floe",
    // Mutex and Atomic (Synchronization) need macOS 15.
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "floe", targets: ["floe"]),
        .library(name: "FloeServer", targets: ["FloeServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // System libraries. Each is a module map over the Debian -dev package, found with pkg-config.
        // libshout's pkg-config file adds -pthread, which SwiftPM refuses with a warning; its header is on the
        // default include path and the module map links it, so pkg-config is not needed.
        .systemLibrary(
            name: "CShout",
            providers: [.apt(["libshout3-dev"])]
        ),
        .systemLibrary(
            name: "CLame",
            pkgConfig: "lame",
            providers: [.apt(["libmp3lame-dev"])]
        ),
        .systemLibrary(
            name: "CMPG123",
            pkgConfig: "libmpg123",
            providers: [.apt(["libmpg123-dev"])]
        ),

        // Pure layers: no sockets, no clocks read, no files.
        .target(name: "MPEGAudio"),
        // Pure: the Reed–Solomon erasure code (bit-identical to zfec) and Floe's FEC packet format.
        .target(name: "FloeFEC"),
        .target(
            name: "FloeCore",
            dependencies: [
                "MPEGAudio",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        // The codecs, behind small Swift types: libmpg123 decoding (speakers, transcoded mounts) and LAME encoding.
        .target(
            name: "FloeCodec",
            dependencies: ["CMPG123", "CLame", "MPEGAudio", .product(name: "NIOCore", package: "swift-nio")]
        ),

        // The speaker: a mount's frames played by their clock to RTP (RTP/), FEC multicast (FEC/) or a sound device
        // (Playback/: libmpg123 → libout123). No mounts, no HTTP: the server feeds it blocks.
        .target(
            name: "FloeSpeaker",
            dependencies: [
                "FloeCore",
                "MPEGAudio",
                "FloeFEC",
                "FloeCodec",
                "CMPG123",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),

        // Floe's one HTTP/1 client (URL authentication, floe play, relays), on NIOHTTP1's codec.
        .target(
            name: "FloeHTTPClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),

        // SwiftNIO server: connections, the router and its responders, sources, the fan-out, admin, services.
        .target(
            name: "FloeServer",
            dependencies: [
                "FloeCore",
                "FloeSpeaker",
                "FloeCodec",
                "FloeHTTPClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The erasure code's speed, beside bench/fec/zfec_bench.py (see docs/PERFORMANCE.md).
        .executableTarget(name: "fec-bench", dependencies: ["FloeFEC"], path: "bench/fec", exclude: ["zfec_bench.py"]),
        // The command: serve, check-config, and the client tools play and fec-recv (Client/).
        .executableTarget(
            name: "floe",
            dependencies: [
                "FloeServer",
                "FloeSpeaker",
                "FloeHTTPClient",
                "FloeCore",
                "FloeFEC",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),

        // Test support: real encoders and decoders (LAME, mpg123), real source clients (libshout),
        // process and socket helpers for the integration tests.
        .target(
            name: "FloeTestSupport",
            dependencies: [
                "CShout", "CLame", "CMPG123", "FloeCodec", "FloeServer", "FloeCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "MPEGAudioTests", dependencies: ["MPEGAudio", "FloeTestSupport"]),
        .testTarget(name: "FloeFECTests", dependencies: ["FloeFEC"]),
        .testTarget(
            name: "FloeHTTPClientTests",
            dependencies: [
                "FloeHTTPClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "FloeSpeakerTests",
            dependencies: [
                "FloeSpeaker", "FloeCodec", "FloeCore", "MPEGAudio", "FloeTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "FloeCoreTests",
            dependencies: [
                "FloeCore", "MPEGAudio", "FloeTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "FloeServerTests",
            dependencies: [
                "FloeServer", "FloeCore", "FloeTestSupport", "MPEGAudio",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "FloeIntegrationTests",
            dependencies: [
                "FloeServer", "FloeCore", "FloeFEC", "FloeSpeaker", "FloeTestSupport", "MPEGAudio", "CShout",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // Helper programs the tests run (an independent FEC decoder on python3-zfec).
            exclude: ["Scripts"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// Zero compiler warnings, and kept so: in Floe's own targets every warning is an error.
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [.treatAllWarnings(as: .error)]
}
