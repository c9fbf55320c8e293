// swift-tools-version: 6.0
// Benchmarks live in their own package so that users never build them.
<<<<<<< HEAD
// Run: swift run -c release --package-path Benchmarks muster-bench [playbooks|engine|report|all]
=======
// Run: swift run -c release --package-path Benchmarks muster-bench [playbooks|engine|exercise|all]
>>>>>>> exercise
import PackageDescription

let package = Package(
    name: "MusterBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Muster", path: ".."),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .executableTarget(
            name: "muster-bench",
            dependencies: [
                .product(name: "MusterCore", package: "Muster"),
                .product(name: "MusterYAML", package: "Muster"),
<<<<<<< HEAD
                .product(name: "MusterReports", package: "Muster"),
                .product(name: "MusterJournal", package: "Muster"),
=======
                .product(name: "MusterJournal", package: "Muster"),
                .product(name: "MusterExercise", package: "Muster"),
>>>>>>> exercise
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Sources/MusterBench"
        ),
    ],
    swiftLanguageModes: [.v6]
)
