import Foundation

/// Checks that layer ranges, in pipeline order, cover `0..<layerCount` exactly once.
public enum LayerCoverage {
    public static func check(_ ranges: [Range<Int>], layerCount: Int) throws {
        guard !ranges.isEmpty else { throw LayerCoverageError.empty }
        var next = 0
        for (index, range) in ranges.enumerated() {
            if range.isEmpty { throw LayerCoverageError.emptyRange(index: index) }
            if range.lowerBound > next { throw LayerCoverageError.gap(next..<range.lowerBound) }
            if range.lowerBound < next {
                throw LayerCoverageError.overlap(range.lowerBound..<min(next, range.upperBound))
            }
            if range.upperBound > layerCount { throw LayerCoverageError.beyondModel(range, layerCount: layerCount) }
            next = range.upperBound
        }
        if next < layerCount { throw LayerCoverageError.gap(next..<layerCount) }
    }
}

public enum LayerCoverageError: Error, Equatable, CustomStringConvertible {
    case empty
    case emptyRange(index: Int)
    case gap(Range<Int>)
    case overlap(Range<Int>)
    case beyondModel(Range<Int>, layerCount: Int)

    public var description: String {
        switch self {
        case .empty: "no stages: at least one must run the model's layers"
        case let .emptyRange(index): "stage \(index + 1) holds no layers"
        case let .gap(range): "no stage holds layers \(LayerRangeText.format(range))"
        case let .overlap(range): "layers \(LayerRangeText.format(range)) are held by two stages"
        case let .beyondModel(range, count): "layers \(LayerRangeText.format(range)) go past the model's \(count) layers (0-\(count - 1))"
        }
    }
}

/// Layer ranges as users write them: inclusive `a-b` on the command line and in manifests,
/// half-open `a..<b` inside the program.
public enum LayerRangeText {
    /// "0-15" → 0..<16; "7" → 7..<8.
    public static func parse(_ text: String) -> Range<Int>? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if parts.count == 1, let layer = Int(parts[0]), layer >= 0 { return layer..<(layer + 1) }
        guard parts.count == 2, let first = Int(parts[0]), let last = Int(parts[1]), first >= 0, last >= first else { return nil }
        return first..<(last + 1)
    }

    /// 0..<16 → "0-15".
    public static func format(_ range: Range<Int>) -> String {
        range.count == 1 ? "\(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound - 1)"
    }
}
