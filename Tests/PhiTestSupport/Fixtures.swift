import Foundation

/// Paths of the goldens copied from ../shared/golden into Tests/Fixtures.
public enum Fixtures {
    /// Tests/Fixtures, found from this source file so tests run from any working directory.
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")
    public static let tinyGolden = root.appendingPathComponent("tiny-phi4-golden")
    public static let tinyModel = tinyGolden.appendingPathComponent("model")
    public static let tinyModelSharded = tinyGolden.appendingPathComponent("model-sharded")
    public static let tokenizer = root.appendingPathComponent("phi4-mini-tokenizer")
    public static let phi4MiniConfig = root.appendingPathComponent("phi4-mini-config")
    public static let smollm2Golden = root.appendingPathComponent("smollm2-golden")
    /// The package root (the directory holding Package.swift).
    public static let packageRoot = root.deletingLastPathComponent().deletingLastPathComponent()
}
