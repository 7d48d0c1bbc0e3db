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
        scanner.forEachPiece(in: range, kind: kind) { start, end in
            encoder.encode(UnsafeBufferPointer(rebasing: text[start..<end]), into: &ids, scratch: &scratch, lookup: lookup)
        }
    }

    /// The pieces `kind` cuts `text` into (no added tokens): what BPE then merges one by one.
    static func pieces(of text: String, kind: PreTokenizerKind) -> [String] {
        var text = text
        let classes = UnicodeClassTable.shared
        return text.withUTF8 { bytes in
            classes.blockIndex.withUnsafeBufferPointer { blockIndex in
                classes.blocks.withUnsafeBufferPointer { blocks in
                    let scanner = PieceScanner(text: bytes, blockIndex: blockIndex, blocks: blocks)
                    var pieces: [String] = []
                    scanner.forEachPiece(in: 0..<bytes.count, kind: kind) { start, end in
                        pieces.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self))
                    }
                    return pieces
                }
            }
        }
    }
}
