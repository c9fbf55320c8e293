// swift-tools-version: 6.0
// Benchmarks live in their own package so that users never build them.
// `notify` needs nginx-light, wrk and curl: apt-get install -y nginx-light wrk curl
// `serve` needs wrk: apt-get install -y wrk
// `journal` and `serve` run on SQLite and on PostgreSQL side by side: they need libpq-dev and postgresql
// (apt-get install -y libpq-dev postgresql; scripts/setup does it) and start a throw-away cluster with
// ../scripts/postgres-cluster (fsync on), stopped again at the end, or use MUSTER_BENCH_POSTGRES_URL when set.
// `serve-sqlite`: the serve benchmark on SQLite alone.
// `serve-cluster [SECONDS] [CONNECTIONS]`: the serve workload against real `muster serve` processes: one on SQLite, one on
// PostgreSQL, two on one PostgreSQL database; build the binary first: swift build -c release --product muster (here).
// Run: swift run -c release --package-path Benchmarks muster-bench [playbooks|engine|journal|exercise|report|readiness|notify|serve|serve-sqlite|serve-cluster|all]
// Fuzz: swift run -c release --package-path Benchmarks muster-fuzz TARGET --seconds N   (muster-fuzz list: the targets)
import PackageDescription

let package = Package(
    name: "MusterBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Muster", path: ".."),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "muster-bench",
            dependencies: [
                .product(name: "MusterCore", package: "Muster"),
                .product(name: "MusterYAML", package: "Muster"),
                .product(name: "MusterJournal", package: "Muster"),
                .product(name: "MusterNotify", package: "Muster"),
                .product(name: "MusterDelivery", package: "Muster"),
                .product(name: "MusterRuntime", package: "Muster"),
                .product(name: "MusterExercise", package: "Muster"),
                .product(name: "MusterReports", package: "Muster"),
                .product(name: "MusterServer", package: "Muster"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "GRDB", package: "GRDB.swift"),
                "CLibPQBench",
            ],
            path: "Sources/MusterBench"
        ),
        // The system libpq, for the raw PostgreSQL baselines (Muster's own connection type stays internal).
        .systemLibrary(name: "CLibPQBench", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // A mutation fuzzer for the parsers of outside input (README, "Reliability"); needs no server or journal database.
        .executableTarget(
            name: "muster-fuzz",
            dependencies: [
                .product(name: "MusterCore", package: "Muster"),
                .product(name: "MusterYAML", package: "Muster"),
                .product(name: "MusterJournal", package: "Muster"),
            ],
            path: "Sources/MusterFuzz"
        ),
    ],
    swiftLanguageModes: [.v6]
)
