/// Cuts streamed text at the first of the request's stop strings, holding back any tail that
/// could still become one, so no part of a stop string is ever sent.
public struct StopSequenceFilter: Sendable {
    public let stops: [String]
    private var held = ""
    public private(set) var isStopped = false

    public init(stops: [String]) {
        self.stops = stops.filter { !$0.isEmpty }
    }

    /// Adds generated text; returns the text that is safe to emit now.
    public mutating func feed(_ text: String) -> String {
        guard !isStopped else { return "" }
        held += text
        guard !stops.isEmpty else {
            defer { held = "" }
            return held
        }
        if let cut = stops.compactMap({ held.range(of: $0)?.lowerBound }).min() {
            isStopped = true
            defer { held = "" }
            return String(held[..<cut])
        }
        // Keep the longest tail that is a prefix of some stop string.
        var keep = 0
        for stop in stops {
            for length in stride(from: min(stop.count - 1, held.count), to: keep, by: -1)
            where held.hasSuffix(String(stop.prefix(length))) {
                keep = length
                break
            }
        }
        let emit = String(held.dropLast(keep))
        held = String(held.suffix(keep))
        return emit
    }

    /// Ends the text: returns what was held back (nothing once a stop string was found).
    public mutating func finish() -> String {
        defer { held = "" }
        return isStopped ? "" : held
    }
}
