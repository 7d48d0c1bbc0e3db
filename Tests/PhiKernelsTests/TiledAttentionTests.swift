import CPhiKernels
import PhiTestSupport
import Testing

/// Query tokens at consecutive positions with `heads` query heads sharing one KV head, and the
/// cache rows of every position up to the last token's.
struct TiledAttentionCase: Sendable, CustomStringConvertible {
    let format: KVRowFormat
    let headDim: Int
    let heads: Int
    let tokens: Int
    let firstPosition: Int
    let keys: KVRows
    let values: KVRows
    /// Query (t, h) at t * queryTokenStride + h * queryHeadStride, a few floats apart beyond a
    /// head to catch stride mix-ups.
    let queries: [Float]
    var queryHeadStride: Int { headDim + 3 }
    var queryTokenStride: Int { heads * queryHeadStride + 2 }
    var scale: Float { 1 / Float(headDim).squareRoot() }
    var description: String { "\(format), head \(headDim), \(heads) heads, \(tokens) tokens from position \(firstPosition)" }

    init(_ format: KVRowFormat, headDim: Int, heads: Int, tokens: Int, firstPosition: Int, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        self.format = format
        self.headDim = headDim
        self.heads = heads
        self.tokens = tokens
        self.firstPosition = firstPosition
        let context = firstPosition + tokens
        let padding = format == .f32 ? 8 : 6
        keys = KVRows(format, count: context, headDim: headDim, padding: padding, range: -3...3, using: &rng)
        values = KVRows(format, count: context, headDim: headDim, padding: padding, range: -1...1, using: &rng)
        queries = RandomData.floats(tokens * (heads * (headDim + 3) + 2), in: -3...3, using: &rng)
    }

    static func blocks(through position: Int) -> Int { position / Int(PHI_ATTN_BLOCK) + 1 }

    /// Outputs [tokens × heads × headDim] of `table`, queries cut into tiles of `tileTokens`
    /// and each tile's blocks folded in two calls cut at block `cut`.
    func tiled(_ table: phi_kernels, tileTokens: Int, cut: Int = .max) throws -> [Float] {
        let attendTile = try #require(table.attend_tile_kv)
        var output = [Float](repeating: .nan, count: tokens * heads * headDim)
        for first in stride(from: 0, to: tokens, by: tileTokens) {
            let count = min(tileTokens, tokens - first)
            let blocks = Self.blocks(through: firstPosition + first + count - 1)
            var state = [Float](repeating: 0, count: count * heads * Int(phi_attend_state_floats(Int64(headDim))))
            var work = [Float](repeating: 0, count: Int(phi_attend_work_floats(Int64(count), Int64(heads), Int64(headDim))))
            phi_attend_state_init(&state, Int64(count * heads), Int64(headDim))
            for range in [0..<min(cut, blocks), min(cut, blocks)..<blocks] {
                queries.withUnsafeBufferPointer { q in
                    attendTile(format.kernel, q.baseAddress.map { $0 + first * queryTokenStride }, Int64(queryTokenStride),
                               Int64(queryHeadStride), Int64(heads), Int64(count), Int64(firstPosition + first), keys.bytes,
                               values.bytes, keys.rowBytes, Int64(range.lowerBound), Int64(range.upperBound), Int64(headDim),
                               scale, &state, &work)
                }
            }
            output.withUnsafeMutableBufferPointer { out in
                phi_attend_finish(state, Int64(count), Int64(heads), Int64(headDim),
                                  out.baseAddress.map { $0 + first * heads * headDim }, Int64(heads * headDim), Int64(headDim))
            }
        }
        return output
    }

    /// Outputs of `table` one token at a time, each token's blocks computed in `parts` ranges
    /// (as split-K threads would), then folded in order.
    func splitKeys(_ table: phi_kernels, parts: Int) throws -> [Float] {
        let attendBlocks = try #require(table.attend_blocks_kv), fold = try #require(table.attend_fold)
        let stateFloats = Int(phi_attend_state_floats(Int64(headDim)))
        var output = [Float](repeating: .nan, count: tokens * heads * headDim)
        var work = [Float](repeating: 0, count: Int(phi_attend_work_floats(1, Int64(heads), Int64(headDim))))
        for token in 0..<tokens {
            let position = firstPosition + token
            let blocks = Self.blocks(through: position)
            var blockStates = [Float](repeating: 0, count: blocks * heads * stateFloats)
            for part in 0..<parts {
                let begin = blocks * part / parts, end = blocks * (part + 1) / parts
                queries.withUnsafeBufferPointer { q in
                    blockStates.withUnsafeMutableBufferPointer { states in
                        attendBlocks(format.kernel, q.baseAddress.map { $0 + token * queryTokenStride }, Int64(queryTokenStride),
                                     Int64(queryHeadStride), Int64(heads), 1, Int64(position), keys.bytes, values.bytes,
                                     keys.rowBytes, Int64(begin), Int64(end), Int64(headDim), scale,
                                     states.baseAddress.map { $0 + begin * heads * stateFloats }, &work)
                    }
                }
            }
            var state = [Float](repeating: 0, count: heads * stateFloats)
            phi_attend_state_init(&state, Int64(heads), Int64(headDim))
            fold(&state, blockStates, Int64(blocks), Int64(heads), Int64(headDim))
            output.withUnsafeMutableBufferPointer { out in
                phi_attend_finish(state, 1, Int64(heads), Int64(headDim), out.baseAddress.map { $0 + token * heads * headDim },
                                  0, Int64(headDim))
            }
        }
        return output
    }

    /// Untiled attention (phi_attend_head_f32) of every query over the dequantized rows.
    func untiled() -> [Float] {
        var output = [Float](repeating: 0, count: tokens * heads * headDim)
        var scores = [Float](repeating: 0, count: firstPosition + tokens)
        var head = [Float](repeating: 0, count: headDim)
        for token in 0..<tokens {
            for h in 0..<heads {
                queries.withUnsafeBufferPointer { q in
                    phi_attend_head_f32(q.baseAddress.map { $0 + token * queryTokenStride + h * queryHeadStride },
                                        keys.dequantized, values.dequantized, Int64(headDim), Int64(firstPosition + token + 1),
                                        Int64(headDim), scale, &scores, &head)
                }
                output.replaceSubrange(((token * heads + h) * headDim)..<((token * heads + h + 1) * headDim), with: head)
            }
        }
        return output
    }
}

@Suite("tiled attention over f32, f16 and q8_0 KV rows")
struct TiledAttentionTests {
    /// (head size, heads, tokens, first position): odd head sizes, tiles starting off block
    /// boundaries and crossing them, single decode tokens at and around a boundary.
    static let shapes: [(headDim: Int, heads: Int, tokens: Int, firstPosition: Int)] = [
        (128, 3, 1, 0), (16, 2, 1, 63), (96, 4, 1, 64), (13, 1, 1, 190), (40, 3, 5, 60), (128, 3, 17, 3),
        (16, 4, 33, 100), (13, 2, 70, 0), (128, 3, 70, 129),
    ]

    static func cases(_ format: KVRowFormat) -> [TiledAttentionCase] {
        shapes.enumerated().map { index, shape in
            TiledAttentionCase(format, headDim: shape.headDim, heads: shape.heads, tokens: shape.tokens,
                               firstPosition: shape.firstPosition, seed: UInt64(100 + index))
        }
    }

    @Test("every table equals the scalar reference bit for bit", arguments: KernelTable.available, KVRowFormat.allCases)
    func tablesMatchScalar(_ kernels: KernelTable, _ format: KVRowFormat) throws {
        let table = try kernels.table.pointee
        let scalar = phi_kernels_scalar().pointee
        for tiledCase in Self.cases(format) {
            let expected = try tiledCase.tiled(scalar, tileTokens: tiledCase.tokens)
            #expect(sameBits(try tiledCase.tiled(table, tileTokens: tiledCase.tokens), expected), "\(kernels) \(tiledCase)")
        }
    }

    @Test("tiles of any size, blocks cut anywhere and split-K give the same bits", arguments: KernelTable.available)
    func tilingDoesNotChangeResults(_ kernels: KernelTable) throws {
        let table = try kernels.table.pointee
        for format in KVRowFormat.allCases {
            for tiledCase in Self.cases(format) {
                let whole = try tiledCase.tiled(table, tileTokens: tiledCase.tokens)
                for (tileTokens, cut) in [(1, 1), (5, 2), (16, 3)] {
                    #expect(sameBits(try tiledCase.tiled(table, tileTokens: tileTokens, cut: cut), whole),
                            "\(kernels) \(tiledCase), tiles of \(tileTokens), blocks cut at \(cut)")
                }
                for parts in [1, 3] {
                    #expect(sameBits(try tiledCase.splitKeys(table, parts: parts), whole), "\(kernels) \(tiledCase), split-K in \(parts)")
                }
            }
        }
    }

    @Test("tiled attention is within its tolerance of untiled attention", arguments: KVRowFormat.allCases)
    func closeToUntiled(_ format: KVRowFormat) throws {
        for tiledCase in Self.cases(format) {
            let tiled = try tiledCase.tiled(phi_kernels_scalar().pointee, tileTokens: tiledCase.tokens)
            let worst = zip(tiled, tiledCase.untiled()).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= Tolerance.tiledAttention, "\(tiledCase): \(worst)")
        }
    }

    @Test("scratch and states do not depend on the context")
    func boundedScratch() {
        // Work holds one block of widened keys and values, the tile's queries, scores and states.
        #expect(phi_attend_work_floats(32, 3, 128) == 2 * 64 * 128 + 96 * (128 + 64 + 136))
        #expect(phi_attend_state_floats(128) == 136)
        #expect(phi_attend_state_floats(13) == 24)
    }

    @Test("the AVX-512 table is offered and checked where the CPU has AVX-512F/VL",
          .enabled(if: phi_kernels_avx512() != nil, "this CPU lacks AVX-512F/VL (or the build is not x86_64): skipped"))
    func avx512Offered() {
        #expect(KernelTable.available.contains { $0.name == "avx512" })
    }
}
