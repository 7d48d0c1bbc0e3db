import CPhiKernels
import Testing
@testable import PhiCluster

@Suite("wire codec")
struct WireCodecTests {
    @Test("every message survives a round trip", arguments: WireSamples.all)
    func roundTrip(_ message: WireMessage) throws {
        let decoded = try WireMessage.decode(message.encode(), from: "tcp://127.0.0.1:1")
        #expect(decoded == message)
    }

    @Test("every message survives a round trip tagged with a run key", arguments: WireSamples.all)
    func taggedRoundTrip(_ message: WireMessage) throws {
        let secret = try SharedSecret(bytes: Array("correct horse battery staple".utf8))
        let sender = WireAuthenticator(secret: secret)
        let receiver = WireAuthenticator(secret: secret)
        receiver.adoptRun(nonce: sender.startRun())
        let received = try sender.seal(message).withUnsafeBytes { try receiver.open($0, from: "tcp://127.0.0.1:2") }
        #expect(received.message == message)
        #expect(received.isAuthenticated)
        #expect(received.peer == "tcp://127.0.0.1:2")
    }

    @Test("f32 hidden states travel bit for bit")
    func f32Exact() throws {
        var values = WireSamples.hiddenValues(tokens: 5, hiddenSize: 64)
        values.replaceSubrange(0 ..< 4, with: [.infinity, -.infinity, .leastNonzeroMagnitude, -0.0])
        let states = try ActivationFrame.HiddenStates(values: values, hiddenSize: 64, dtype: .f32)
        #expect(states.bytes.count == 5 * 64 * 4)
        #expect(states.values().map(\.bitPattern) == values.map(\.bitPattern))
    }

    @Test("f16 and bf16 hidden states round to nearest even exactly as the kernels do", arguments: [WireDType.f16, .bf16])
    func halfPrecision(_ dtype: WireDType) throws {
        // Values around rounding boundaries: halfway cases, subnormals, overflow, signed zero.
        var values = WireSamples.hiddenValues(tokens: 2, hiddenSize: 64)
        values += [1.0, -2.5, 65504, 65520, 1e-8, 6.1e-5, 1.0009765625, 1.00048828125, -0.0, 3.3895314e38]
        values += Array(repeating: 0.1, count: 64 - 10)
        let states = try ActivationFrame.HiddenStates(values: values, hiddenSize: 64, dtype: dtype)
        #expect(states.bytes.count == values.count * 2)
        let expected: [Float] = values.map { value in
            dtype == .f16 ? phi_f16_to_f32(phi_f32_to_f16(value)) : phi_bf16_to_f32(phi_f32_to_bf16(value))
        }
        #expect(states.values().map(\.bitPattern) == expected.map(\.bitPattern))
        // Bytes are little-endian: 1.0 is 0x3c00 in f16 and 0x3f80 in bf16.
        let one = 2 * 64 * 2
        #expect(Array(states.bytes[one ..< one + 2]) == (dtype == .f16 ? [0x00, 0x3c] : [0x80, 0x3f]))
    }

    @Test("copyValues fills a caller's buffer and refuses a wrong size")
    func copyValues() throws {
        let values = WireSamples.hiddenValues(tokens: 2, hiddenSize: 64)
        let states = try ActivationFrame.HiddenStates(values: values, hiddenSize: 64, dtype: .f32)
        var output = [Float](repeating: 0, count: values.count)
        #expect(output.withUnsafeMutableBufferPointer { states.copyValues(into: $0) })
        #expect(output == values)
        var short = [Float](repeating: 0, count: values.count - 1)
        #expect(!short.withUnsafeMutableBufferPointer { states.copyValues(into: $0) })
    }

    @Test("hidden states that are not whole rows are refused")
    func partialRows() {
        #expect(throws: WireError.self) { try ActivationFrame.HiddenStates(values: [1, 2, 3], hiddenSize: 2, dtype: .f32) }
        #expect(throws: WireError.self) { try ActivationFrame.HiddenStates(tokenCount: 2, hiddenSize: 2, dtype: .f16, bytes: [0, 0]) }
    }

    @Test("slice digests depend on tensor names, shapes and dtypes but not on their order")
    func sliceDigest() {
        let a = TensorSignature(name: "model.layers.0.mlp.down_proj.weight", shape: [64, 128], dtype: "BF16")
        let b = TensorSignature(name: "model.layers.0.self_attn.qkv_proj.weight", shape: [128, 64], dtype: "BF16")
        #expect(ModelFingerprint.sliceDigest(of: [a, b]) == ModelFingerprint.sliceDigest(of: [b, a]))
        var reshaped = b
        reshaped.shape = [64, 128]
        #expect(ModelFingerprint.sliceDigest(of: [a, b]) != ModelFingerprint.sliceDigest(of: [a, reshaped]))
        #expect(ModelFingerprint.configDigest(of: ["a": "1", "b": "2"]) != ModelFingerprint.configDigest(of: ["a": "1", "b": "3"]))
    }
}
