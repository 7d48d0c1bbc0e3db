/// Splits UTF-8 text into the pieces a pre-tokenizer regex would match, without a regex engine.
///
/// Each `next…` function returns where the piece starting at `p` ends; the text must be valid
/// UTF-8 (it comes from a Swift `String`) and `end` is the end of the current segment: the regex
/// runs on each segment between added tokens separately, so look-aheads stop there.
struct PieceScanner {
    let text: UnsafeBufferPointer<UInt8>
    let blockIndex: UnsafeBufferPointer<UInt16>
    let blocks: UnsafeBufferPointer<UInt8>

    /// The flags and UTF-8 length of the scalar starting at byte `i`.
    @inline(__always)
    func scalar(at i: Int) -> (flags: UInt8, length: Int) {
        let b0 = text[i]
        if b0 < 0x80 { return (blocks[Int(b0)], 1) }
        let value: UInt32
        let length: Int
        if b0 < 0xE0 {
            value = UInt32(b0 & 0x1F) << 6 | UInt32(text[i + 1] & 0x3F)
            length = 2
        } else if b0 < 0xF0 {
            value = UInt32(b0 & 0x0F) << 12 | UInt32(text[i + 1] & 0x3F) << 6 | UInt32(text[i + 2] & 0x3F)
            length = 3
        } else {
            value = UInt32(b0 & 0x07) << 18 | UInt32(text[i + 1] & 0x3F) << 12
                | UInt32(text[i + 2] & 0x3F) << 6 | UInt32(text[i + 3] & 0x3F)
            length = 4
        }
        return (blocks[Int(blockIndex[Int(value >> 8)]) << 8 | Int(value & 0xFF)], length)
    }

    /// Skips scalars while `flags & mask != 0`; returns the first offset that does not match.
    @inline(__always)
    func skip(from start: Int, end: Int, while mask: UInt8) -> Int {
        var i = start
        while i < end {
            let (flags, length) = scalar(at: i)
            if flags & mask == 0 { break }
            i += length
        }
        return i
    }

    // MARK: o200k

    /// The o200k pattern, alternatives tried left to right as Oniguruma does:
    /// 1 `[^\r\n\p{L}\p{N}]?[UPPER]*[LOWER]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?`
    /// 2 `[^\r\n\p{L}\p{N}]?[UPPER]+[LOWER]*(?i:…)?`
    /// 3 `\p{N}{1,3}`  4 ` ?[^\s\p{L}\p{N}]+[\r\n/]*`  5 `\s*[\r\n]+`  6 `\s+(?!\S)`  7 `\s+`
    /// with UPPER = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] and LOWER = [\p{Ll}\p{Lm}\p{Lo}\p{M}].
    func nextO200k(from p: Int, end: Int) -> Int {
        let (f0, n0) = scalar(at: p)
        let hasPrefix = f0 & (ScalarFlag.letter | ScalarFlag.number | ScalarFlag.newline) == 0 && p + n0 < end
        if hasPrefix, let e = upperThenLower(from: p + n0, end: end) { return e }
        if let e = upperThenLower(from: p, end: end) { return e }
        if hasPrefix, let e = upperRunThenLower(from: p + n0, end: end) { return e }
        if let e = upperRunThenLower(from: p, end: end) { return e }
        if f0 & ScalarFlag.number != 0 {
            var i = p + n0
            var count = 1
            while count < 3 && i < end {
                let (flags, length) = scalar(at: i)
                if flags & ScalarFlag.number == 0 { break }
                i += length
                count += 1
            }
            return i
        }
        if let e = punctuation(from: p, firstFlags: f0, end: end, trailing: true) { return e }
        return whitespace(from: p, end: end, newlinesEndPiece: true)
    }

    /// Alternative 1 after its optional prefix: `[UPPER]*[LOWER]+` and a contraction, or nil.
    ///
    /// Backtracking, worked out: the greedy UPPER run ends at `e`. If the scalar at `e` is Ll the
    /// LOWER run continues from it. Otherwise the engine gives back UPPER scalars one by one until one
    /// is also LOWER (Lm, Lo, M), and the match ends right after the last such scalar of the run.
    @inline(__always)
    func upperThenLower(from q: Int, end: Int) -> Int? {
        var i = q
        var lastLowerEnd = -1
        while i < end {
            let (flags, length) = scalar(at: i)
            if flags & ScalarFlag.upperSet == 0 {
                if flags & ScalarFlag.lowerSet != 0 {
                    return contraction(at: skip(from: i + length, end: end, while: ScalarFlag.lowerSet), end: end)
                }
                break
            }
            i += length
            if flags & ScalarFlag.lowerSet != 0 { lastLowerEnd = i }
        }
        return lastLowerEnd >= 0 ? contraction(at: lastLowerEnd, end: end) : nil
    }

    /// Alternative 2 after its optional prefix: `[UPPER]+[LOWER]*` and a contraction, or nil.
    @inline(__always)
    func upperRunThenLower(from q: Int, end: Int) -> Int? {
        let upperEnd = skip(from: q, end: end, while: ScalarFlag.upperSet)
        if upperEnd == q { return nil }
        return contraction(at: skip(from: upperEnd, end: end, while: ScalarFlag.lowerSet), end: end)
    }

    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)?` at `i`: where the match ends. Case folding adds only U+017F
    /// LATIN SMALL LETTER LONG S (folds to s) to the ASCII letters involved.
    @inline(__always)
    func contraction(at i: Int, end: Int) -> Int {
        guard i + 1 < end, text[i] == UInt8(ascii: "'") else { return i }
        switch text[i + 1] | 0x20 {  // ASCII lowercase; the other bytes cannot match below
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
            return i + 2
        case UInt8(ascii: "r"), UInt8(ascii: "v"):
            return i + 2 < end && text[i + 2] | 0x20 == UInt8(ascii: "e") ? i + 3 : i
        case UInt8(ascii: "l"):
            return i + 2 < end && text[i + 2] | 0x20 == UInt8(ascii: "l") ? i + 3 : i
        default:
            // U+017F is C5 BF in UTF-8; C5 | 0x20 is E5, which no ASCII letter case above produces.
            return text[i + 1] == 0xC5 && i + 2 < end && text[i + 2] == 0xBF ? i + 3 : i
        }
    }

    /// ` ?[^\s\p{L}\p{N}]+` followed, in o200k, by `[\r\n/]*`; nil when neither form starts at `p`.
    @inline(__always)
    func punctuation(from p: Int, firstFlags f0: UInt8, end: Int, trailing: Bool) -> Int? {
        let notPunctuation = ScalarFlag.whitespace | ScalarFlag.letter | ScalarFlag.number
        var start = -1
        if text[p] == UInt8(ascii: " ") && p + 1 < end && scalar(at: p + 1).flags & notPunctuation == 0 {
            start = p + 1
        } else if f0 & notPunctuation == 0 {
            start = p
        }
        guard start >= 0 else { return nil }
        var i = start
        while i < end {
            let (flags, length) = scalar(at: i)
            if flags & notPunctuation != 0 { break }
            i += length
        }
        if trailing {
            while i < end && (text[i] == 0x0A || text[i] == 0x0D || text[i] == UInt8(ascii: "/")) { i += 1 }
        }
        return i
    }

    /// The whitespace alternatives at `p` (a whitespace scalar): in o200k first `\s*[\r\n]+`, ending
    /// after the run's last newline; then `\s+(?!\S)`, which gives the run's last scalar back to the
    /// next piece when a non-space follows; then `\s+`.
    @inline(__always)
    func whitespace(from p: Int, end: Int, newlinesEndPiece: Bool) -> Int {
        var i = p
        var lastStart = p
        var lastNewlineEnd = -1
        while i < end {
            let (flags, length) = scalar(at: i)
            if flags & ScalarFlag.whitespace == 0 { break }
            lastStart = i
            i += length
            if flags & ScalarFlag.newline != 0 { lastNewlineEnd = i }
        }
        if newlinesEndPiece && lastNewlineEnd >= 0 { return lastNewlineEnd }
        if i == end || lastStart == p { return i }
        return lastStart
    }

    // MARK: GPT-2

    /// GPT-2's pattern `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    /// (contractions case-sensitive).
    func nextGPT2(from p: Int, end: Int) -> Int {
        let b0 = text[p]
        if b0 == UInt8(ascii: "'") && p + 1 < end {
            switch text[p + 1] {
            case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
                return p + 2
            case UInt8(ascii: "r"), UInt8(ascii: "v"):
                if p + 2 < end && text[p + 2] == UInt8(ascii: "e") { return p + 3 }
            case UInt8(ascii: "l"):
                if p + 2 < end && text[p + 2] == UInt8(ascii: "l") { return p + 3 }
            default:
                break
            }
        }
        let (f0, _) = scalar(at: p)
        var start = p
        var flags = f0
        if b0 == UInt8(ascii: " ") && p + 1 < end {
            let f1 = scalar(at: p + 1).flags
            if f1 & ScalarFlag.whitespace == 0 {
                start = p + 1
                flags = f1
            }
        }
        if flags & ScalarFlag.letter != 0 { return skip(from: start, end: end, while: ScalarFlag.letter) }
        if flags & ScalarFlag.number != 0 { return skip(from: start, end: end, while: ScalarFlag.number) }
        if let e = punctuation(from: p, firstFlags: f0, end: end, trailing: false) { return e }
        return whitespace(from: p, end: end, newlinesEndPiece: false)
    }

    // MARK: Pieces

    /// Calls `body` with the start and end of each piece of `range`, in order.
    @inline(__always)
    func forEachPiece(in range: Range<Int>, kind: PreTokenizerKind, _ body: (Int, Int) -> Void) {
        switch kind {
        case .o200k:
            var p = range.lowerBound
            while p < range.upperBound {
                let end = nextO200k(from: p, end: range.upperBound)
                body(p, end)
                p = end
            }
        case .gpt2:
            var p = range.lowerBound
            while p < range.upperBound {
                let end = nextGPT2(from: p, end: range.upperBound)
                body(p, end)
                p = end
            }
        case .gpt2Digits:
            // Every number scalar is a piece of its own; GPT-2's regex runs on the stretches
            // between, each on its own (so `\s+(?!\S)` sees a stretch's end as the text's end).
            var stretchStart = range.lowerBound
            var p = range.lowerBound
            while p < range.upperBound {
                let (flags, length) = scalar(at: p)
                guard flags & ScalarFlag.number != 0 else {
                    p += length
                    continue
                }
                var q = stretchStart
                while q < p {
                    let end = nextGPT2(from: q, end: p)
                    body(q, end)
                    q = end
                }
                body(p, p + length)
                p += length
                stretchStart = p
            }
            var q = stretchStart
            while q < range.upperBound {
                let end = nextGPT2(from: q, end: range.upperBound)
                body(q, end)
                q = end
            }
        }
    }
}
