/// Finds added tokens in text the way Hugging Face's `AddedVocabulary` does.
///
/// Two passes: the non-normalized tokens split the whole text, then the normalized ones split the
/// gaps left between matches. Within a pass matching is leftmost-longest and non-overlapping (an
/// Aho-Corasick automaton in Hugging Face; here a scan with a first-byte filter, since there are few
/// added tokens). A match then grows over the whitespace before it (lstrip, never past the previous
/// match) and after it (rstrip); the search resumes at the end of the unstripped match.
struct AddedTokenMatcher: Sendable {
    /// A stretch of the input: an added token's id, or -1 for text to pre-tokenize.
    struct Segment: Equatable {
        var start: Int
        var end: Int
        var id: Int
    }

    private struct Pattern: Sendable {
        let bytes: [UInt8]
        let token: AddedToken
    }

    /// The passes, each a list of patterns with a table of which first bytes can start one.
    private let passes: [(patterns: [Pattern], firstBytes: [Bool])]
    let isEmpty: Bool

    init(tokens: [AddedToken]) {
        var passes: [(patterns: [Pattern], firstBytes: [Bool])] = []
        for normalized in [false, true] {
            let patterns = tokens.filter { $0.isNormalized == normalized && !$0.content.isEmpty }
                .map { Pattern(bytes: Array($0.content.utf8), token: $0) }
            var firstBytes = [Bool](repeating: false, count: 256)
            for pattern in patterns { firstBytes[Int(pattern.bytes[0])] = true }
            if !patterns.isEmpty { passes.append((patterns, firstBytes)) }
        }
        self.passes = passes
        self.isEmpty = passes.isEmpty
    }

    /// Splits `text` into added tokens and the text between them, covering all of it.
    func split(_ text: UnsafeBufferPointer<UInt8>, scanner: PieceScanner) -> [Segment] {
        var segments = [Segment(start: 0, end: text.count, id: -1)]
        for pass in passes {
            var next: [Segment] = []
            for segment in segments {
                if segment.id >= 0 || segment.start == segment.end {
                    next.append(segment)
                } else {
                    findMatches(in: text, segment.start..<segment.end, pass: pass, scanner: scanner, into: &next)
                }
            }
            segments = next
        }
        return segments
    }

    private func findMatches(in text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>,
                             pass: (patterns: [Pattern], firstBytes: [Bool]), scanner: PieceScanner,
                             into segments: inout [Segment]) {
        var startOffset = range.lowerBound
        var i = range.lowerBound
        while i < range.upperBound {
            guard pass.firstBytes[Int(text[i])], let pattern = longestMatch(in: text, at: i, range, pass.patterns) else {
                i += 1
                continue
            }
            var start = i
            var stop = i + pattern.bytes.count
            i = stop
            let token = pattern.token
            if token.matchesSingleWordOnly {
                let wordBefore = start > range.lowerBound && isWordCharacter(endingAt: start, in: text, scanner)
                let wordAfter = stop < range.upperBound && isWordCharacter(startingAt: stop, scanner)
                if wordBefore || wordAfter { continue }
            }
            if token.stripsLeft {
                start = max(whitespaceStart(before: start, lowerBound: range.lowerBound, in: text, scanner), startOffset)
            }
            if token.stripsRight {
                stop = scanner.skip(from: stop, end: range.upperBound, while: ScalarFlag.whitespace)
            }
            if startOffset < start { segments.append(Segment(start: startOffset, end: start, id: -1)) }
            segments.append(Segment(start: start, end: stop, id: token.id))
            startOffset = stop
        }
        if startOffset < range.upperBound {
            segments.append(Segment(start: startOffset, end: range.upperBound, id: -1))
        }
    }

    private func longestMatch(in text: UnsafeBufferPointer<UInt8>, at i: Int, _ range: Range<Int>,
                              _ patterns: [Pattern]) -> Pattern? {
        var best: Pattern?
        for pattern in patterns where pattern.bytes.count <= range.upperBound - i
            && pattern.bytes.count > (best?.bytes.count ?? 0) {
            var j = 0
            while j < pattern.bytes.count && text[i + j] == pattern.bytes[j] { j += 1 }
            if j == pattern.bytes.count { best = pattern }
        }
        return best
    }

    /// Start of the whitespace run ending at `end` (Rust regex `\s*$`).
    private func whitespaceStart(before end: Int, lowerBound: Int, in text: UnsafeBufferPointer<UInt8>,
                                 _ scanner: PieceScanner) -> Int {
        var start = end
        while start > lowerBound {
            let previous = scalarStart(before: start, in: text)
            if scanner.scalar(at: previous).flags & ScalarFlag.whitespace == 0 { break }
            start = previous
        }
        return start
    }

    /// Rust regex `\w` (Alphabetic, marks, decimal numbers, connector punctuation), approximated
    /// with the scanner's classes as letters, marks, numbers and `_`.
    private func isWordCharacter(startingAt i: Int, _ scanner: PieceScanner) -> Bool {
        let flags = scanner.scalar(at: i).flags
        return flags & (ScalarFlag.letter | ScalarFlag.number | ScalarFlag.upperSet) != 0
            || scanner.text[i] == UInt8(ascii: "_")
    }

    private func isWordCharacter(endingAt end: Int, in text: UnsafeBufferPointer<UInt8>,
                                 _ scanner: PieceScanner) -> Bool {
        isWordCharacter(startingAt: scalarStart(before: end, in: text), scanner)
    }

    /// The offset of the scalar that ends at `end`: back over UTF-8 continuation bytes.
    private func scalarStart(before end: Int, in text: UnsafeBufferPointer<UInt8>) -> Int {
        var i = end - 1
        while i > 0 && text[i] & 0xC0 == 0x80 { i -= 1 }
        return i
    }
}
