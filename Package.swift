// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Muster",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "muster", targets: ["muster"]),
        .library(name: "MusterCore", targets: ["MusterCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // Pure core: playbook model, validator, expression language and run engine. No I/O, no clock.
        .target(name: "MusterCore"),
        // Adapter: YAML text to the core's located source tree, files and folders to playbooks.
        .target(name: "MusterYAML", dependencies: ["MusterCore", .product(name: "Yams", package: "Yams")]),
        // Thin shell: the `muster` command.
        .executableTarget(
            name: "muster",
            dependencies: ["MusterCore", "MusterYAML", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "MusterCoreTests", dependencies: ["MusterCore", "MusterYAML"]),
        .testTarget(name: "MusterYAMLTests", dependencies: ["MusterCore", "MusterYAML"], exclude: ["Fixtures"]),
        // Runs the built `muster` binary on the fixtures (and on playbooks/ with Tests/Simulations/).
        .testTarget(name: "MusterCLITests", dependencies: ["MusterCore"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
