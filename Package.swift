// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Muster",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "muster", targets: ["muster"]),
        .library(name: "MusterCore", targets: ["MusterCore"]),
        .library(name: "MusterYAML", targets: ["MusterYAML"]),
        .library(name: "MusterReports", targets: ["MusterReports"]),
        .library(name: "MusterJournal", targets: ["MusterJournal"]),
        .library(name: "MusterNotify", targets: ["MusterNotify"]),
        .library(name: "MusterDelivery", targets: ["MusterDelivery"]),
        .library(name: "MusterRuntime", targets: ["MusterRuntime"]),
        .library(name: "MusterExercise", targets: ["MusterExercise"]),
        .library(name: "MusterServer", targets: ["MusterServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // The HTTP server (`muster serve`); its default traits (swift-configuration, full Foundation) are not needed.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // Pure core: playbook model, validator, expression language and run engine. No I/O, no clock.
        .target(name: "MusterCore"),
        // Adapter: YAML text to the core's located source tree, files and folders to playbooks.
        .target(name: "MusterYAML", dependencies: ["MusterCore", .product(name: "Yams", package: "Yams")]),
        // Pure: run metrics, after-action reports (HTML, Markdown, JSON, SVG) and the improvement log's rules.
        .target(name: "MusterReports", dependencies: ["MusterCore"]),
        // The system libpq (PostgreSQL's C client).
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // Adapter: the append-only, hash-chained run journal and the notification outbox, in SQLite (GRDB, the
        // embedded default) or PostgreSQL (libpq), behind one seam.
        .target(
            name: "MusterJournal",
            dependencies: [
                "MusterCore", "CLibPQ",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The SQLite C API GRDB is built on: appends bind event rows to their statement directly.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The system libcurl, with non-variadic wrappers for its variadic setopt/getinfo functions.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // Adapter: notification payloads per channel type and delivery over libcurl (HTTP POST, SMTP).
        .target(
            name: "MusterNotify",
            dependencies: ["MusterCore", "CCurl", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The outbox worker: claims due notifications, routes them through the run's stored playbook, sends
        // them with MusterNotify and records every attempt on the run's timeline.
        .target(name: "MusterDelivery", dependencies: ["MusterCore", "MusterYAML", "MusterJournal", "MusterNotify"]),
        // Shell around the engine: replays runs from the journal, catches timers up, appends with retries,
        // and pumps timers for `muster watch`. Clocks are injected. Also what the CLI and the server both read
        // from the journal: timeline exports, the improvement log and programme.
        .target(name: "MusterRuntime", dependencies: ["MusterCore", "MusterYAML", "MusterJournal", "MusterReports"]),
        // Shell for exercises: runs an `ExerciseRun` over the journal, the facilitator console, evaluation.
        .target(name: "MusterExercise", dependencies: ["MusterCore", "MusterYAML", "MusterJournal", "MusterRuntime"]),
        // Shell: the HTTP API, the live stream (SSE) and the web board for `muster serve`, with users and permissions.
        .target(
            name: "MusterServer",
            dependencies: [
                "MusterCore", "MusterYAML", "MusterJournal", "MusterRuntime", "MusterExercise", "MusterReports",
                "MusterNotify", "MusterDelivery",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Web"), .copy("openapi.json")]
        ),
        // Test support: a manual clock (and other fakes) for tests of the runtime and its users; the real test
        // receivers (the Python scripts in Receivers/, started on 127.0.0.1 port 0) and the built `muster` binary
        // for every test target that needs them. Only test targets depend on it.
        .target(name: "MusterTestSupport", dependencies: ["MusterCore", "MusterJournal", "MusterRuntime"], exclude: ["Receivers"]),
        // Thin shell: the `muster` command.
        .executableTarget(
            name: "muster",
            dependencies: [
                "MusterCore", "MusterYAML", "MusterJournal", "MusterRuntime", "MusterExercise", "MusterReports", "MusterNotify", "MusterDelivery",
                "MusterServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // SHA-256 of every file of an evidence pack (`muster evidence`).
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(name: "MusterCoreTests", dependencies: ["MusterCore", "MusterYAML"]),
        .testTarget(name: "MusterYAMLTests", dependencies: ["MusterCore", "MusterYAML"], exclude: ["Fixtures"]),
        .testTarget(name: "MusterJournalTests", dependencies: ["MusterCore", "MusterJournal", "MusterTestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(
            name: "MusterNotifyTests",
            dependencies: ["MusterCore", "MusterNotify", "MusterTestSupport", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(name: "MusterReportsTests", dependencies: ["MusterCore", "MusterYAML", "MusterReports", "MusterJournal", "MusterRuntime", "MusterTestSupport"], exclude: ["Golden"]),
        .testTarget(name: "MusterRuntimeTests", dependencies: ["MusterCore", "MusterYAML", "MusterJournal", "MusterRuntime", "MusterTestSupport"]),
        .testTarget(name: "MusterExerciseTests", dependencies: ["MusterCore", "MusterYAML", "MusterJournal", "MusterRuntime", "MusterExercise", "MusterTestSupport"]),
        .testTarget(
            name: "MusterServerTests",
            dependencies: [
                "MusterCore", "MusterJournal", "MusterRuntime", "MusterServer", "MusterTestSupport", "MusterExercise", "MusterYAML",
                "MusterDelivery", "MusterNotify", "MusterReports",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Runs the built `muster` binary on the fixtures (and on playbooks/ with Tests/Simulations/).
        .testTarget(name: "MusterCLITests", dependencies: ["MusterCore", "MusterTestSupport"], exclude: ["Fixtures"]),
        // The outbox worker and `muster outbox`/`muster notify` against real receivers (MusterTestSupport's) and
        // the built `muster` binary.
        .testTarget(
            name: "MusterDeliveryTests",
            dependencies: [
                "MusterCore", "MusterYAML", "MusterJournal", "MusterNotify", "MusterDelivery", "MusterTestSupport",
                "MusterReports", "MusterRuntime", "MusterExercise",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
