import CPhiWire

// SaveKV, KVSaved, LoadKV and KVLoaded between Swift values and protobuf-c structs.

extension CArena {
    func saveKV(_ value: SaveKV) -> UnsafeMutablePointer<Phi__Wire__V1__SaveKV> {
        message(phi__wire__v1__save_kv__init) { c in
            c.session_id = value.sessionID
            c.name = string(value.name)
            c.first_token = UInt32(clamping: value.firstToken)
            c.end_token = UInt32(clamping: value.endToken)
        }
    }

    func kvSaved(_ value: KVSaved) -> UnsafeMutablePointer<Phi__Wire__V1__KVSaved> {
        message(phi__wire__v1__kvsaved__init) { c in
            c.session_id = value.sessionID
            c.file = string(value.file)
            c.first_token = UInt32(clamping: value.firstToken)
            c.end_token = UInt32(clamping: value.endToken)
            c.bytes = value.bytes
            c.sha256 = bytes(value.sha256)
        }
    }

    func loadKV(_ value: LoadKV) -> UnsafeMutablePointer<Phi__Wire__V1__LoadKV> {
        message(phi__wire__v1__load_kv__init) { c in
            c.session_id = value.sessionID
            c.name = string(value.name)
            let ends = array(value.segmentEnds.map { UInt32(clamping: $0) })
            c.n_segment_ends = ends.count
            c.segment_ends = ends.pointer
            c.rope_factors = Phi__Wire__V1__RopeFactors(rawValue: value.ropeFactors.rawValue)
        }
    }

    func kvLoaded(_ value: KVLoaded) -> UnsafeMutablePointer<Phi__Wire__V1__KVLoaded> {
        message(phi__wire__v1__kvloaded__init) { c in
            c.session_id = value.sessionID
            c.tokens = UInt32(clamping: value.tokens)
            c.bytes = value.bytes
        }
    }
}

extension FieldReader {
    func saveKV(_ c: Phi__Wire__V1__SaveKV) throws(WireError) -> SaveKV {
        let value = SaveKV(sessionID: c.session_id, name: try string(c.name, "SaveKV.name"),
                           firstToken: Int(c.first_token), endToken: Int(c.end_token))
        guard KVSegmentName.isValid(value.name) else {
            throw .invalidField(peer: peer, field: "SaveKV.name", reason: KVSegmentName.rule)
        }
        guard value.firstToken < value.endToken else {
            throw .invalidField(peer: peer, field: "SaveKV.end_token",
                                reason: "[\(value.firstToken), \(value.endToken)) is not a non-empty range of positions")
        }
        return value
    }

    func kvSaved(_ c: Phi__Wire__V1__KVSaved) throws(WireError) -> KVSaved {
        KVSaved(sessionID: c.session_id, file: try string(c.file, "KVSaved.file"), firstToken: Int(c.first_token),
                endToken: Int(c.end_token), bytes: c.bytes,
                sha256: try bytes(c.sha256, "KVSaved.sha256", allowedCounts: [0, HandshakeSizes.digest]))
    }

    func loadKV(_ c: Phi__Wire__V1__LoadKV) throws(WireError) -> LoadKV {
        let name = try string(c.name, "LoadKV.name")
        guard KVSegmentName.isValid(name) else { throw .invalidField(peer: peer, field: "LoadKV.name", reason: KVSegmentName.rule) }
        // Bounded like the token counts of frames: a checkpoint has at most one segment a chunk.
        let count = try self.count(c.n_segment_ends, "LoadKV.segment_ends (count)", limit: limits.maxTokensPerFrame)
        var ends: [Int] = []
        for index in 0..<count {
            let end = Int(c.segment_ends[index])
            guard end > (ends.last ?? 0) else {
                throw .invalidField(peer: peer, field: "LoadKV.segment_ends[\(index)]",
                                    reason: "\(end) does not follow \(ends.last ?? 0): segment ends must increase from above 0")
            }
            ends.append(end)
        }
        guard !ends.isEmpty else { throw .missingField(peer: peer, field: "LoadKV.segment_ends") }
        return LoadKV(sessionID: c.session_id, name: name, segmentEnds: ends,
                      ropeFactors: try enumValue(c.rope_factors.rawValue, "LoadKV.rope_factors"))
    }

    func kvLoaded(_ c: Phi__Wire__V1__KVLoaded) -> KVLoaded {
        KVLoaded(sessionID: c.session_id, tokens: Int(c.tokens), bytes: c.bytes)
    }
}

/// Names of KV checkpoints: they become parts of file names, so nothing that could leave the
/// state directory or confuse the segment pattern.
public enum KVSegmentName {
    public static let rule = "must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'"

    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F || $0 == 0x2D }
    }
}
