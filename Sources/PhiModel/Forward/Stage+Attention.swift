import CPhiKernels

/// Causal attention of a pass: every query head of every token of a segment over its cache's
/// positions up to its own, through the tiled kernels (phi_kernels.h, "Tiled causal attention").
/// Keys are folded in fixed blocks of `PHI_ATTN_BLOCK` positions, block after block, so a token's
/// output depends only on its query and the keys and values before it: a prefill in tiles and a
/// decode split across threads give the same bits as each other and as a token-by-token decode.
extension Stage {
    /// Prefill chunks are cut into tiles of (KV head, run of query tokens), its query heads
    /// together, spread over the pool; each key and value row is read (and, for f16 and q8_0,
    /// widened) once per tile. A pass of a few tokens at a long context (decode) splits each KV
    /// head's keys between the threads instead (`attendSplitKeys`), so one stream keeps every
    /// thread busy.
    func attend(layer: Int, segment: Segment, scratch: Scratch) {
        let tokens = segment.positions.count
        guard tokens > 0 else { return }
        if tokens <= Scratch.splitKeysMaxTokens && segment.positions.upperBound > Int(PHI_ATTN_BLOCK) {
            attendSplitKeys(layer: layer, segment: segment, scratch: scratch)
        } else {
            attendTiles(layer: layer, segment: segment, scratch: scratch)
        }
    }

    /// What both paths share: the segment's queries, outputs and cache, per KV head.
    private struct AttentionShape {
        let headDim: Int
        let headsPerKV: Int
        let kvHeads: Int
        let headCount: Int
        let qkvRows: Int
        let scale: Float
        let stateFloats: Int
        /// The segment's first query row (q of all its heads, then k and v).
        let queries: UnsafeMutablePointer<Float>
        /// The segment's first output row: [tokens × heads × headDim].
        let attended: UnsafeMutablePointer<Float>

        init(config: ModelConfig, segment: Stage.Segment, scratch: Scratch) {
            headDim = config.headDim
            kvHeads = config.kvHeadCount
            headsPerKV = config.headCount / config.kvHeadCount
            headCount = config.headCount
            qkvRows = config.qkvRows
            scale = 1 / Float(headDim).squareRoot()
            stateFloats = Int(phi_attend_state_floats(Int64(headDim)))
            queries = scratch.qkv.pointer + segment.rows * config.qkvRows
            attended = scratch.attended.pointer + segment.rows * config.headCount * config.headDim
        }

        /// The query of token `token`'s first head of KV head `kvHead`.
        func query(token: Int, kvHead: Int) -> UnsafeMutablePointer<Float> {
            queries + token * qkvRows + kvHead * headsPerKV * headDim
        }

        /// Writes the outputs of `tokens` tokens from `first` of KV head `kvHead` from their states.
        func finish(_ state: UnsafePointer<Float>, first: Int, tokens: Int, kvHead: Int) {
            phi_attend_finish(state, Int64(tokens), Int64(headsPerKV), Int64(headDim),
                              attended + (first * headCount + kvHead * headsPerKV) * headDim, Int64(headCount * headDim),
                              Int64(headDim))
        }
    }

    /// Blocks of keys a query at `position` folds: its own and every one before it.
    private static func blocks(through position: Int) -> Int { position / Int(PHI_ATTN_BLOCK) + 1 }

    /// Tiles of up to `Scratch.attentionTileTokens` tokens of one KV head, each folding every
    /// block its last token sees (the kernel masks the positions beyond each token's own).
    private func attendTiles(layer: Int, segment: Segment, scratch: Scratch) {
        let shape = AttentionShape(config: config, segment: segment, scratch: scratch)
        let positions = segment.positions
        let tokens = positions.count
        let tileTokens = min(tokens, Scratch.attentionTileTokens)
        let tiles = shape.kvHeads * ((tokens + tileTokens - 1) / tileTokens)
        let slots = min(tiles, Scratch.attentionSlots)
        let workFloats = Int(phi_attend_work_floats(Int64(tileTokens), Int64(shape.headsPerKV), Int64(shape.headDim)))
        let slotStates = tileTokens * shape.headsPerKV * shape.stateFloats
        let cache = segment.cache
        let format = cache.format.kernelFormat
        let rowBytes = cache.rowBytes
        let attendTile = compute.table.attend_tile_kv
        compute.pool.parallelFor(slots) { slot in
            let work = scratch.attentionWork.pointer + slot * workFloats
            let state = scratch.attentionStates.pointer + slot * slotStates
            for tile in stride(from: slot, to: tiles, by: slots) {
                let kvHead = tile % shape.kvHeads
                let first = tile / shape.kvHeads * tileTokens
                let count = min(tileTokens, tokens - first)
                let firstPosition = positions.lowerBound + first
                phi_attend_state_init(state, Int64(count * shape.headsPerKV), Int64(shape.headDim))
                attendTile?(format, shape.query(token: first, kvHead: kvHead), Int64(shape.qkvRows), Int64(shape.headDim),
                            Int64(shape.headsPerKV), Int64(count), Int64(firstPosition),
                            cache.keys(layer: layer, kvHead: kvHead), cache.values(layer: layer, kvHead: kvHead), rowBytes,
                            0, Int64(Self.blocks(through: firstPosition + count - 1)), Int64(shape.headDim), shape.scale,
                            state, work)
                shape.finish(state, first: first, tokens: count, kvHead: kvHead)
            }
        }
    }

    /// Split-K: in rounds of up to `Scratch.splitKeysRoundBlocks` blocks, the pool computes
    /// the block states of disjoint block ranges of every KV head (about two ranges a thread),
    /// then each KV head folds its round's states in block order into its running state, so the
    /// result is the tiled one bit for bit and the block states never outgrow one round.
    private func attendSplitKeys(layer: Int, segment: Segment, scratch: Scratch) {
        let shape = AttentionShape(config: config, segment: segment, scratch: scratch)
        let positions = segment.positions
        let tokens = positions.count
        let rows = tokens * shape.headsPerKV
        let blocks = Self.blocks(through: positions.upperBound - 1)
        let roundBlocks = Scratch.splitKeysRoundBlocks
        let parts = max(1, (2 * compute.pool.threadCount + shape.kvHeads - 1) / shape.kvHeads)
        let workFloats = Int(phi_attend_work_floats(Int64(tokens), Int64(shape.headsPerKV), Int64(shape.headDim)))
        let running = scratch.attentionStates.pointer  // [kvHeads × rows] states
        let blockStates = running + shape.kvHeads * rows * shape.stateFloats  // [kvHeads × roundBlocks × rows]
        let cache = segment.cache
        let format = cache.format.kernelFormat
        let rowBytes = cache.rowBytes
        let attendBlocks = compute.table.attend_blocks_kv
        let fold = compute.table.attend_fold
        phi_attend_state_init(running, Int64(shape.kvHeads * rows), Int64(shape.headDim))
        for roundStart in stride(from: 0, to: blocks, by: roundBlocks) {
            let roundCount = min(roundBlocks, blocks - roundStart)
            let roundParts = min(parts, roundCount)
            let pieces = shape.kvHeads * roundParts
            let slots = min(pieces, Scratch.attentionSlots)
            compute.pool.parallelFor(slots) { slot in
                let work = scratch.attentionWork.pointer + slot * workFloats
                for piece in stride(from: slot, to: pieces, by: slots) {
                    let kvHead = piece % shape.kvHeads
                    let part = piece / shape.kvHeads
                    let begin = roundStart + roundCount * part / roundParts
                    let end = roundStart + roundCount * (part + 1) / roundParts
                    attendBlocks?(format, shape.query(token: 0, kvHead: kvHead), Int64(shape.qkvRows), Int64(shape.headDim),
                                  Int64(shape.headsPerKV), Int64(tokens), Int64(positions.lowerBound),
                                  cache.keys(layer: layer, kvHead: kvHead), cache.values(layer: layer, kvHead: kvHead),
                                  rowBytes, Int64(begin), Int64(end), Int64(shape.headDim), shape.scale,
                                  blockStates + (kvHead * roundBlocks + begin - roundStart) * rows * shape.stateFloats, work)
                }
            }
            compute.pool.parallelFor(shape.kvHeads) { kvHead in
                fold?(running + kvHead * rows * shape.stateFloats,
                      blockStates + kvHead * roundBlocks * rows * shape.stateFloats, Int64(roundCount), Int64(rows),
                      Int64(shape.headDim))
            }
        }
        for kvHead in 0..<shape.kvHeads {
            shape.finish(running + kvHead * rows * shape.stateFloats, first: 0, tokens: tokens, kvHead: kvHead)
        }
    }
}
