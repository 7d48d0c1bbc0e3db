import CPhiKernels

// Payloads are little-endian on the wire and in memory on every target we build for (x86_64,
// aarch64), so f32 rows are copied byte for byte.
#if _endian(big)
#error("the wire payload code assumes a little-endian host")
#endif

/// Conversions between Swift floats and wire payloads of f32, f16 and bf16.
/// Narrowing rounds to nearest even with the kernels' own `phi_f32_to_f16` / `phi_f32_to_bf16`,
/// so a stage that rounds its input sees exactly what the single-process engine would.
enum FloatPacking {
    /// `values` as little-endian elements of `dtype`.
    static func bytes(of values: UnsafeBufferPointer<Float>, as dtype: WireDType) -> [UInt8] {
        let count = values.count
        return [UInt8](unsafeUninitializedCapacity: count * dtype.byteCount) { buffer, initialized in
            guard let base = buffer.baseAddress, let source = values.baseAddress else {
                initialized = 0
                return
            }
            let raw = UnsafeMutableRawPointer(base)
            switch dtype {
            case .f32:
                raw.copyMemory(from: source, byteCount: count * 4)
            case .f16:
                for index in 0 ..< count {
                    raw.storeBytes(of: phi_f32_to_f16(source[index]), toByteOffset: index * 2, as: UInt16.self)
                }
            case .bf16:
                for index in 0 ..< count {
                    raw.storeBytes(of: phi_f32_to_bf16(source[index]), toByteOffset: index * 2, as: UInt16.self)
                }
            }
            initialized = count * dtype.byteCount
        }
    }

    /// Widens `bytes` (elements of `dtype`) into `output`, which holds exactly as many floats.
    static func floats(from bytes: UnsafeRawBufferPointer, dtype: WireDType, into output: UnsafeMutableBufferPointer<Float>) {
        guard let target = output.baseAddress, let source = bytes.baseAddress else { return }
        let count = min(output.count, bytes.count / dtype.byteCount)
        switch dtype {
        case .f32:
            UnsafeMutableRawPointer(target).copyMemory(from: source, byteCount: count * 4)
        case .f16:
            for index in 0 ..< count {
                target[index] = phi_f16_to_f32(source.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self))
            }
        case .bf16:
            for index in 0 ..< count {
                target[index] = phi_bf16_to_f32(source.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self))
            }
        }
    }

    /// All elements of `bytes` as floats.
    static func floats(from bytes: UnsafeRawBufferPointer, dtype: WireDType) -> [Float] {
        let count = bytes.count / dtype.byteCount
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            floats(from: bytes, dtype: dtype, into: buffer)
            initialized = count
        }
    }
}

extension ActivationFrame.HiddenStates {
    /// Hidden states from `values`, `[tokens × hiddenSize]` floats, converted to `dtype`.
    /// Throws when `values` is empty or not a whole number of rows.
    public init(values: [Float], hiddenSize: Int, dtype: WireDType) throws(WireError) {
        guard hiddenSize > 0, !values.isEmpty, values.count % hiddenSize == 0 else {
            throw .invalidField(peer: "this node", field: "ActivationFrame.hidden",
                                reason: "\(values.count) floats are not a whole number of rows of \(hiddenSize)")
        }
        let bytes = values.withUnsafeBufferPointer { FloatPacking.bytes(of: $0, as: dtype) }
        self.init(validatedTokenCount: values.count / hiddenSize, hiddenSize: hiddenSize, dtype: dtype, bytes: bytes)
    }

    /// The states as `[tokenCount × hiddenSize]` floats (exact for f32; widened for f16/bf16).
    public func values() -> [Float] {
        bytes.withUnsafeBytes { FloatPacking.floats(from: $0, dtype: dtype) }
    }

    /// Writes the states as floats into `output`, which must hold `elementCount` floats;
    /// returns false (writing nothing) when it does not.
    @discardableResult
    public func copyValues(into output: UnsafeMutableBufferPointer<Float>) -> Bool {
        guard output.count == elementCount else { return false }
        bytes.withUnsafeBytes { FloatPacking.floats(from: $0, dtype: dtype, into: output) }
        return true
    }
}
