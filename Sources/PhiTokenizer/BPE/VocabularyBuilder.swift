/// Collects a vocabulary and its merges from any source (tokenizer.json, vocab.json and
/// merges.txt, GGUF arrays) into flat byte buffers, without a string or array per token.
struct VocabularyBuilder {
    /// The file (or "tokens") the entries come from, for error messages.
    let source: String

    private var arena: [UInt8] = []
    private var entries: [(id: Int32, start: Int32, count: Int32, isEncodable: Bool)] = []
    /// Decoded merge halves back to back (left then right, so their concatenation is one slice).
    private var mergeBytes: [UInt8] = []
    private var merges: [(index: Int32, start: Int32, leftCount: Int32, rightCount: Int32)] = []
    /// One more than the largest id added.
    private(set) var tokenCount = 0

    init(source: String) {
        self.source = source
        arena.reserveCapacity(1 << 21)
        entries.reserveCapacity(1 << 18)
    }

    /// Adds token `id` written in the byte-level alphabet. A token with characters outside the
    /// alphabet keeps its UTF-8 for decoding but cannot be produced by the encoder.
    mutating func add(id: Int, byteLevelString utf8: UnsafeBufferPointer<UInt8>) {
        let start = arena.count
        let isEncodable = ByteLevel.decode(utf8, into: &arena)
        if !isEncodable { arena.append(contentsOf: utf8) }
        entries.append((Int32(id), Int32(start), Int32(arena.count - start), isEncodable))
        tokenCount = max(tokenCount, id + 1)
    }

    /// Adds merge number `index` written as `"left right"`.
    mutating func addMerge(index: Int, text: UnsafeBufferPointer<UInt8>) throws(TokenizerError) {
        guard let space = text.firstIndex(of: UInt8(ascii: " ")), space > 0, space < text.count - 1,
              !text[(space + 1)...].contains(UInt8(ascii: " ")) else {
            throw .malformedMerge(file: source, index: index, text: String(decoding: text, as: UTF8.self))
        }
        addMerge(index: index, left: UnsafeBufferPointer(rebasing: text[..<space]),
                 right: UnsafeBufferPointer(rebasing: text[(space + 1)...]))
    }

    /// Adds merge number `index` given as its two halves. A merge with a character outside the
    /// byte-level alphabet can never apply (the encoder only builds alphabet tokens) and is dropped.
    mutating func addMerge(index: Int, left: UnsafeBufferPointer<UInt8>, right: UnsafeBufferPointer<UInt8>) {
        let start = mergeBytes.count
        guard ByteLevel.decode(left, into: &mergeBytes) else { return }
        let leftCount = mergeBytes.count - start
        guard ByteLevel.decode(right, into: &mergeBytes) else {
            mergeBytes.removeSubrange(start...)
            return
        }
        merges.append((Int32(index), Int32(start), Int32(leftCount), Int32(mergeBytes.count - start - leftCount)))
    }

    /// The vocabulary in id order; a later entry for an id replaces an earlier one.
    func makeTable() -> TokenByteTable {
        let count = tokenCount
        var latest = [Int](repeating: -1, count: count)
        for (index, entry) in entries.enumerated() { latest[Int(entry.id)] = index }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(arena.count)
        var starts: [Int32] = [0]
        starts.reserveCapacity(count + 1)
        var isEncodable = [Bool](repeating: false, count: count)
        for id in 0..<count {
            if latest[id] >= 0 {
                let entry = entries[latest[id]]
                bytes.append(contentsOf: arena[Int(entry.start)..<Int(entry.start + entry.count)])
                isEncodable[id] = entry.isEncodable
            }
            starts.append(Int32(bytes.count))
        }
        return TokenByteTable(bytes: bytes, starts: starts, isEncodable: isEncodable)
    }

    /// The merges as ids, in rank order (a merge's rank is its position among those kept).
    func resolveMerges(in table: TokenByteTable) throws(TokenizerError) -> [(left: Int32, right: Int32, result: Int32)] {
        var resolved: [(left: Int32, right: Int32, result: Int32)] = []
        resolved.reserveCapacity(merges.count)
        let failure: TokenizerError? = mergeBytes.withUnsafeBufferPointer { all in
            for merge in merges {
                let start = Int(merge.start), middle = start + Int(merge.leftCount)
                let end = middle + Int(merge.rightCount)
                let left = UnsafeBufferPointer(rebasing: all[start..<middle])
                let right = UnsafeBufferPointer(rebasing: all[middle..<end])
                let whole = UnsafeBufferPointer(rebasing: all[start..<end])
                guard let leftID = table.id(of: left) else {
                    return .mergeTokenNotInVocabulary(file: source, index: Int(merge.index), token: ByteLevel.encode(left))
                }
                guard let rightID = table.id(of: right) else {
                    return .mergeTokenNotInVocabulary(file: source, index: Int(merge.index), token: ByteLevel.encode(right))
                }
                guard let resultID = table.id(of: whole) else {
                    return .mergeTokenNotInVocabulary(file: source, index: Int(merge.index), token: ByteLevel.encode(whole))
                }
                resolved.append((Int32(leftID), Int32(rightID), Int32(resultID)))
            }
            return nil
        }
        if let failure { throw failure }
        return resolved
    }
}
