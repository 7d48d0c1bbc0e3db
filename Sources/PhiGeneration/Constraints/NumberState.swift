/// What a number node allows: integer or not, and the integers `lower...upper` its bounds admit.
/// A fraction is written only where every fraction stays within the bounds; exponents only
/// without bounds. Within those rules every number written is valid.
struct NumberKind: Sendable, Hashable {
    var isInteger: Bool
    var lower: Int64?
    var upper: Int64?

    /// Digits of an integer part, a fraction, an exponent: enough for any Int64-exact integer and
    /// finite Double, and a bound so a weak model cannot write digits forever.
    static let maxIntegerDigits = 15
    static let maxFractionDigits = 15
    static let maxExponentDigits = 2
    static let largestMagnitude: Int64 = 999_999_999_999_999

    var hasBounds: Bool { lower != nil || upper != nil }

    func contains(_ value: Int64) -> Bool {
        (lower.map { value >= $0 } ?? true) && (upper.map { value <= $0 } ?? true)
    }

    /// Bytes of the shortest number in the bounds.
    var minimumBytes: Int {
        if contains(0) { return 1 }
        if let lower, lower > 0 { return Self.digitCount(lower) }
        return 1 + Self.digitCount(-(upper ?? -1))
    }

    static func digitCount(_ value: Int64) -> Int {
        var count = 1
        var rest = value / 10
        while rest > 0 { count += 1; rest /= 10 }
        return count
    }
}

/// A number being written, byte by byte.
struct NumberState: Sendable, Hashable {
    enum Phase: UInt8, Sendable, Hashable {
        case start, minus, zero, integer, fractionStart, fraction, exponentStart, exponentSign, exponent
    }

    var kind: NumberKind
    var phase = Phase.start
    var digits: Int8 = 0
    var isNegative = false
    /// The integer part's value so far (without the sign).
    var magnitude: Int64 = 0

    init(kind: NumberKind) { self.kind = kind }

    var isAccepting: Bool {
        switch phase {
        case .zero, .integer: kind.contains(isNegative ? -magnitude : magnitude)
        case .fraction, .exponent: true
        default: false
        }
    }

    /// The state after `byte`, or nil when no valid number continues with it.
    func stepped(_ byte: UInt8) -> NumberState? {
        var next = self
        let isDigit = byte >= 0x30 && byte <= 0x39
        let digit = Int64(byte) - 0x30
        switch phase {
        case .start where byte == UInt8(ascii: "-"):
            guard kind.lower.map({ $0 < 0 }) ?? true else { return nil }
            next.phase = .minus
            next.isNegative = true
            return next
        case .start, .minus:
            guard isDigit else { return nil }
            next.magnitude = digit
            next.digits = 1
            next.phase = digit == 0 ? .zero : .integer
            return next.canReachBounds ? next : nil
        case .zero, .integer:
            if isDigit {
                guard phase == .integer, Int(digits) < NumberKind.maxIntegerDigits else { return nil }
                next.magnitude = magnitude * 10 + digit
                next.digits += 1
                return next.canReachBounds ? next : nil
            }
            if kind.isInteger { return nil }
            if byte == UInt8(ascii: ".") {
                guard fractionStaysInBounds else { return nil }
                next.phase = .fractionStart
                next.digits = 0
                return next
            }
            return startExponent(byte)
        case .fractionStart, .fraction:
            if isDigit {
                guard Int(digits) < NumberKind.maxFractionDigits else { return nil }
                next.phase = .fraction
                next.digits += 1
                return next
            }
            return phase == .fraction ? startExponent(byte) : nil
        case .exponentStart:
            if byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") {
                next.phase = .exponentSign
                return next
            }
            fallthrough
        case .exponentSign, .exponent:
            guard isDigit, phase == .exponent ? Int(digits) < NumberKind.maxExponentDigits : true else { return nil }
            next.digits = phase == .exponent ? digits + 1 : 1
            next.phase = .exponent
            return next
        }
    }

    private func startExponent(_ byte: UInt8) -> NumberState? {
        guard byte | 0x20 == UInt8(ascii: "e"), !kind.hasBounds else { return nil }
        var next = self
        next.phase = .exponentStart
        next.digits = 0
        return next
    }

    /// Whether I.f stays in bounds for every fraction f: I and I + 1 (or -I - 1 and -I) both are.
    private var fractionStaysInBounds: Bool {
        isNegative ? kind.contains(-magnitude - 1) && kind.contains(-magnitude)
                   : kind.contains(magnitude) && kind.contains(magnitude + 1)
    }

    /// The magnitudes the bounds allow for this sign.
    private var magnitudeRange: ClosedRange<Int64>? {
        let low: Int64, high: Int64
        if isNegative {
            low = max(0, kind.upper.map { -$0 } ?? 0)
            high = min(NumberKind.largestMagnitude, kind.lower.map { -$0 } ?? NumberKind.largestMagnitude)
        } else {
            low = max(0, kind.lower ?? 0)
            high = min(NumberKind.largestMagnitude, kind.upper ?? NumberKind.largestMagnitude)
        }
        return low <= high ? low...high : nil
    }

    /// More digits after this integer part, if any are needed, to reach the bounds (nil: never).
    var digitsToReachBounds: Int? {
        guard let range = magnitudeRange else { return nil }
        if phase == .zero { return range.contains(0) ? 0 : nil }
        var scale: Int64 = 1
        for extra in 0...(NumberKind.maxIntegerDigits - Int(digits)) {
            let low = magnitude * scale, high = low + scale - 1
            if low <= range.upperBound && high >= range.lowerBound { return extra }
            scale *= 10
        }
        return nil
    }

    private var canReachBounds: Bool { digitsToReachBounds != nil }

    /// The fewest bytes that finish the number.
    var remainingBytes: Int {
        switch phase {
        case .zero, .integer:
            if isAccepting { return 0 }
            return max(1, digitsToReachBounds ?? 1)
        case .start: return kind.minimumBytes
        case .minus: return NumberKind.digitCount(max(1, kind.upper.map { -$0 } ?? 1))
        case .fraction, .exponent: return 0
        case .fractionStart, .exponentStart, .exponentSign: return 1
        }
    }
}
