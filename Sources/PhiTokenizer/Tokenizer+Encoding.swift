extension Tokenizer {
    /// Token ids for `text` as Hugging Face's tokenizer gives them: added-token text (`<|end|>`)
    /// becomes its id, swallowing whitespace per its strip flags; the rest is cut by
    /// `preTokenizer` and merged. No BOS is added.
    public func encode(_ text: String) -> [Int] {
        encode(text, matchingAddedTokens: true, kind: preTokenizer)
    }

    /// Token ids for `text` as tiktoken's `encode_ordinary` gives them: no added tokens (their
    /// text is split like any other), cut by `ordinaryPreTokenizer` and merged.
    public func encodeOrdinary(_ text: String) -> [Int] {
        encode(text, matchingAddedTokens: false, kind: ordinaryPreTokenizer)
    }

    private func encode(_ text: String, matchingAddedTokens: Bool, kind: PreTokenizerKind) -> [Int] {
        var text = text
        return text.withUTF8 { bytes in
            classes.blockIndex.withUnsafeBufferPointer { blockIndex in
                classes.blocks.withUnsafeBufferPointer { blocks in
                    encoder.merges.withLookup { lookup in
                        let scanner = PieceScanner(text: bytes, blockIndex: blockIndex, blocks: blocks)
                        var ids: [Int] = []
                        ids.reserveCapacity(bytes.count / 4 + 1)
                        var scratch = BPEScratch()
                        if matchingAddedTokens && !matcher.isEmpty {
                            for segment in matcher.split(bytes, scanner: scanner) {
                                if segment.id >= 0 {
                                    ids.append(segment.id)
                                } else {
                                    encodeText(segment.start..<segment.end, kind: kind, scanner: scanner, lookup: lookup,
                                               scratch: &scratch, into: &ids)
                                }
                            }
                        } else {
                            encodeText(0..<bytes.count, kind: kind, scanner: scanner, lookup: lookup,
                                       scratch: &scratch, into: &ids)
                        }
                        return ids
                    }
                }
            }
        }
    }

    /// Pre-tokenizes `range` of the scanner's text and merges each piece.
    private func encodeText(_ range: Range<Int>, kind: PreTokenizerKind, scanner: PieceScanner, lookup: MergeLookup,
                            scratch: inout BPEScratch, into ids: inout [Int]) {
        let text = scanner.text
        switch kind {
        case .o200k:
            var p = range.lowerBound
            while p < range.upperBound {
                let end = scanner.nextO200k(from: p, end: range.upperBound)
                encoder.encode(UnsafeBufferPointer(rebasing: text[p..<end]), into: &ids, scratch: &scratch, lookup: lookup)
                p = end
            }
        case .gpt2:
            var p = range.lowerBound
            while p < range.upperBound {
                let end = scanner.nextGPT2(from: p, end: range.upperBound)
                encoder.encode(UnsafeBufferPointer(rebasing: text[p..<end]), into: &ids, scratch: &scratch, lookup: lookup)
                p = end
            }
        case .gpt2Digits:
            // Every number scalar is a piece of its own; GPT-2's regex runs on the stretches between.
            var segmentStart = range.lowerBound
            var p = range.lowerBound
            while p <= range.upperBound {
                let (flags, length) = p < range.upperBound ? scanner.scalar(at: p) : (ScalarFlag.number, 0)
                if flags & ScalarFlag.number == 0 {
                    p += length
                    continue
                }
                var q = segmentStart
                while q < p {
                    let end = scanner.nextGPT2(from: q, end: p)
                    encoder.encode(UnsafeBufferPointer(rebasing: text[q..<end]), into: &ids, scratch: &scratch, lookup: lookup)
                    q = end
                }
                if length > 0 {
                    encoder.encode(UnsafeBufferPointer(rebasing: text[p..<(p + length)]), into: &ids,
                                   scratch: &scratch, lookup: lookup)
                }
                p += length
                segmentStart = p
                if length == 0 { break }
            }
        }
    }
}
