/// A parsed ECMA-262 pattern, as JSON Schema's `pattern` uses them: characters are Unicode
/// scalars, sets of them are sorted scalar ranges.
indirect enum RegexNode: Sendable {
    case characters(ScalarSet)
    case sequence([RegexNode])
    case alternation([RegexNode])
    /// `node{minimum,maximum}`; maximum nil is unbounded.
    case repeated(RegexNode, minimum: Int, maximum: Int?)
}

/// The scalars a class matches, as sorted, disjoint, non-adjacent closed ranges.
struct ScalarSet: Sendable, Equatable {
    var ranges: [ClosedRange<UInt32>]

    init(_ ranges: [ClosedRange<UInt32>]) {
        let sorted = ranges.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt32>] = []
        for range in sorted {
            if let last = merged.last, range.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        self.ranges = merged
    }

    static let all = ScalarSet([0...0x10FFFF])
    static func scalar(_ value: UInt32) -> ScalarSet { ScalarSet([value...value]) }

    var inverted: ScalarSet {
        var result: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for range in ranges {
            if range.lowerBound > next { result.append(next...(range.lowerBound - 1)) }
            next = range.upperBound + 1
        }
        if next <= 0x10FFFF { result.append(next...0x10FFFF) }
        return ScalarSet(result)
    }

    func union(_ other: ScalarSet) -> ScalarSet { ScalarSet(ranges + other.ranges) }
    func intersection(_ other: ScalarSet) -> ScalarSet { inverted.union(other.inverted).inverted }
    var isEmpty: Bool { ranges.isEmpty }

    // ECMA-262 classes. Negated shorthands (\D, \W, \S) are kept to ASCII: Python's `re` (which
    // `jsonschema` uses) counts Unicode digits, letters and spaces in \d, \w, \s, so only ASCII
    // complements are valid under both readings.
    static let digits = ScalarSet([0x30...0x39])
    static let word = ScalarSet([0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
    static let space = ScalarSet([0x09...0x0D, 0x20...0x20, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200A,
                                  0x2028...0x2029, 0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000, 0xFEFF...0xFEFF])
    static let ascii = ScalarSet([0...0x7F])
    /// `.`: anything but line terminators.
    static let dot = ScalarSet([0x0A...0x0A, 0x0D...0x0D, 0x2028...0x2029]).inverted
}

/// A pattern feature the recognizer does not compile, named.
struct RegexError: Error, Sendable {
    let reason: String
}

/// Parses ECMA-262 pattern syntax: alternation, groups (capturing, `(?:`, named), classes with
/// ranges and negation, `.`, `\d \w \s` and their negations, escapes, quantifiers `* + ?
/// {m} {m,} {m,n}` (lazy ones too), and `^`/`$` at the ends of top-level alternatives.
/// Lookaround, backreferences, word boundaries and `\p{…}` are refused.
struct RegexParser {
    private let scalars: [UInt32]
    private var position = 0

    init(_ pattern: String) {
        scalars = pattern.unicodeScalars.map(\.value)
    }

    /// The pattern as a node that matches whole strings: an alternative without `^` may be
    /// preceded by anything, one without `$` followed by anything (the spec's search semantics).
    static func parse(_ pattern: String) throws(RegexError) -> RegexNode {
        var parser = RegexParser(pattern)
        var alternatives: [RegexNode] = []
        repeat {
            var isAnchoredStart = false
            if parser.peek == 0x5E { parser.position += 1; isAnchoredStart = true }  // ^
            var items = try parser.sequence(topLevel: true)
            var isAnchoredEnd = false
            if parser.peek == 0x24 { parser.position += 1; isAnchoredEnd = true }  // $
            guard parser.peek == nil || parser.peek == 0x7C else {
                throw RegexError(reason: parser.peek == 0x24 || parser.peek == 0x5E
                                 ? "an anchor inside the pattern" : "an unbalanced ')'")
            }
            let anything = RegexNode.repeated(.characters(.all), minimum: 0, maximum: nil)
            if !isAnchoredStart { items.insert(anything, at: 0) }
            if !isAnchoredEnd { items.append(anything) }
            alternatives.append(.sequence(items))
        } while parser.take(0x7C)
        return alternatives.count == 1 ? alternatives[0] : .alternation(alternatives)
    }

    private var peek: UInt32? { position < scalars.count ? scalars[position] : nil }

    private mutating func take(_ scalar: UInt32) -> Bool {
        guard peek == scalar else { return false }
        position += 1
        return true
    }

    private mutating func alternation() throws(RegexError) -> RegexNode {
        var alternatives = [RegexNode.sequence(try sequence(topLevel: false))]
        while take(0x7C) { alternatives.append(.sequence(try sequence(topLevel: false))) }
        return alternatives.count == 1 ? alternatives[0] : .alternation(alternatives)
    }

    private mutating func sequence(topLevel: Bool) throws(RegexError) -> [RegexNode] {
        var items: [RegexNode] = []
        while let scalar = peek, scalar != 0x7C, scalar != 0x29 {
            if scalar == 0x24 {  // $
                // Only at the end of a top-level alternative.
                let next = position + 1 < scalars.count ? scalars[position + 1] : nil
                if topLevel && (next == nil || next == 0x7C) { break }
                throw RegexError(reason: "an anchor inside the pattern")
            }
            if scalar == 0x5E { throw RegexError(reason: "an anchor inside the pattern") }
            let item = try self.atom()
            items.append(try quantified(item))
        }
        if !topLevel || peek != 0x29 { return items }
        throw RegexError(reason: "an unbalanced ')'")
    }

    private mutating func atom() throws(RegexError) -> RegexNode {
        guard let scalar = peek else { throw RegexError(reason: "a pattern that ends early") }
        position += 1
        switch scalar {
        case 0x28:  // (
            if take(0x3F) {  // ?
                if take(0x3A) {
                    // (?: … )
                } else if peek == 0x3C, position + 1 < scalars.count, scalars[position + 1] != 0x3D, scalars[position + 1] != 0x21 {
                    position += 1
                    while let next = peek, next != 0x3E { position += 1 }  // (?<name> … )
                    guard take(0x3E) else { throw RegexError(reason: "an unterminated group name") }
                } else {
                    throw RegexError(reason: "lookaround")
                }
            }
            let inner = try alternation()
            guard take(0x29) else { throw RegexError(reason: "an unclosed group") }
            return inner
        case 0x5B: return .characters(try characterClass())  // [
        case 0x2E: return .characters(.dot)
        case 0x5C: return .characters(try escape(inClass: false))
        case 0x2A, 0x2B, 0x3F: throw RegexError(reason: "a quantifier with nothing to repeat")
        case 0x7B:
            throw RegexError(reason: "a '{' that is no quantifier")
        case 0x29: throw RegexError(reason: "an unbalanced ')'")
        default: return .characters(.scalar(scalar))
        }
    }

    private mutating func quantified(_ atom: RegexNode) throws(RegexError) -> RegexNode {
        var node = atom
        while let scalar = peek {
            let bounds: (Int, Int?)
            switch scalar {
            case 0x2A: position += 1; bounds = (0, nil)
            case 0x2B: position += 1; bounds = (1, nil)
            case 0x3F: position += 1; bounds = (0, 1)
            case 0x7B:
                guard let braces = try braceQuantifier() else { throw RegexError(reason: "a '{' that is no quantifier") }
                bounds = braces
            default: return node
            }
            _ = take(0x3F)  // lazy: the same strings match
            if case .repeated = node { throw RegexError(reason: "a quantifier after a quantifier") }
            node = .repeated(node, minimum: bounds.0, maximum: bounds.1)
        }
        return node
    }

    private mutating func braceQuantifier() throws(RegexError) -> (Int, Int?)? {
        let start = position
        position += 1
        guard let minimum = number() else { position = start; return nil }
        var maximum: Int? = minimum
        if take(0x2C) { maximum = number() }
        guard take(0x7D) else { position = start; return nil }
        if let maximum, maximum < minimum { throw RegexError(reason: "a quantifier {\(minimum),\(maximum)} out of order") }
        if minimum > 1000 || (maximum ?? 0) > 1000 { throw RegexError(reason: "a quantifier above 1000") }
        return (minimum, maximum)
    }

    private mutating func number() -> Int? {
        var value: Int?
        while let scalar = peek, scalar >= 0x30 && scalar <= 0x39 {
            value = min((value ?? 0) * 10 + Int(scalar - 0x30), 100_000)
            position += 1
        }
        return value
    }

    private mutating func characterClass() throws(RegexError) -> ScalarSet {
        let isNegated = take(0x5E)
        var set = ScalarSet([])
        while let scalar = peek, scalar != 0x5D {
            position += 1
            let low: ScalarSet = try scalar == 0x5C ? escape(inClass: true) : .scalar(scalar)
            if peek == 0x2D, position + 1 < scalars.count, scalars[position + 1] != 0x5D,
               low.ranges.count == 1, low.ranges[0].count == 1 {
                position += 1
                let upperScalar = scalars[position]
                position += 1
                let high: ScalarSet = try upperScalar == 0x5C ? escape(inClass: true) : .scalar(upperScalar)
                guard high.ranges.count == 1, high.ranges[0].count == 1 else { throw RegexError(reason: "a class range to a class") }
                let (a, b) = (low.ranges[0].lowerBound, high.ranges[0].lowerBound)
                guard a <= b else { throw RegexError(reason: "a class range out of order") }
                set = set.union(ScalarSet([a...b]))
            } else {
                set = set.union(low)
            }
        }
        guard take(0x5D) else { throw RegexError(reason: "an unclosed '['") }
        return isNegated ? set.inverted : set
    }

    private mutating func escape(inClass: Bool) throws(RegexError) -> ScalarSet {
        guard let scalar = peek else { throw RegexError(reason: "a pattern ending in '\\'") }
        position += 1
        switch scalar {
        case 0x64: return .digits                                       // d
        case 0x44: return ScalarSet.digits.inverted.intersection(.ascii)  // D
        case 0x77: return .word                                         // w
        case 0x57: return ScalarSet.word.inverted.intersection(.ascii)    // W
        case 0x73: return .space                                        // s
        case 0x53: return ScalarSet.space.inverted.intersection(.ascii)   // S
        case 0x74: return .scalar(0x09)
        case 0x6E: return .scalar(0x0A)
        case 0x72: return .scalar(0x0D)
        case 0x66: return .scalar(0x0C)
        case 0x76: return .scalar(0x0B)
        case 0x62:
            if inClass { return .scalar(0x08) }
            throw RegexError(reason: "a word boundary '\\b'")
        case 0x30:
            if let next = peek, next >= 0x30 && next <= 0x39 { throw RegexError(reason: "an octal escape") }
            return .scalar(0)
        case 0x78: return .scalar(try hex(digits: 2))                   // xHH
        case 0x75:                                                      // uHHHH, u{H…}
            if take(0x7B) {
                var value: UInt32 = 0
                while let next = peek, next != 0x7D {
                    guard let digit = hexValue(next), value < 0x10FFFF else { throw RegexError(reason: "a bad \\u{…} escape") }
                    value = value * 16 + digit
                    position += 1
                }
                guard take(0x7D), value <= 0x10FFFF else { throw RegexError(reason: "a bad \\u{…} escape") }
                return .scalar(value)
            }
            let value = try hex(digits: 4)
            if (0xD800...0xDFFF).contains(value) { throw RegexError(reason: "a surrogate escape") }
            return .scalar(value)
        case 0x31...0x39, 0x6B: throw RegexError(reason: "a backreference")
        case 0x42: throw RegexError(reason: "a word boundary '\\B'")
        case 0x70, 0x50: throw RegexError(reason: "a Unicode property escape")
        default:
            let isAlphanumeric = (0x30...0x39).contains(scalar) || (0x41...0x5A).contains(scalar) || (0x61...0x7A).contains(scalar)
            if isAlphanumeric { throw RegexError(reason: "the escape '\\\(Character(Unicode.Scalar(scalar) ?? "?"))'") }
            return .scalar(scalar)
        }
    }

    private mutating func hex(digits: Int) throws(RegexError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let scalar = peek, let digit = hexValue(scalar) else { throw RegexError(reason: "a bad hex escape") }
            value = value * 16 + digit
            position += 1
        }
        return value
    }

    private func hexValue(_ scalar: UInt32) -> UInt32? {
        switch scalar {
        case 0x30...0x39: scalar - 0x30
        case 0x41...0x46: scalar - 0x41 + 10
        case 0x61...0x66: scalar - 0x61 + 10
        default: nil
        }
    }
}
