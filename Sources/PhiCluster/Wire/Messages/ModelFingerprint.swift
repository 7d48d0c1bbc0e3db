import Crypto

/// The identity of a model and of one worker's slice of it, exchanged in the handshake.
///
/// Two nodes serve the same model when their configuration digests agree; a worker serves the
/// slice the coordinator expects when its slice digest equals the one the coordinator computes
/// for the worker's layer range from its own checkpoint.
public struct ModelFingerprint: Sendable, Equatable {
    /// Informational, e.g. the checkpoint directory's name.
    public var modelName: String
    /// SHA-256 of the model's canonical configuration (see `configDigest(of:)`); 32 bytes.
    public var configSHA256: [UInt8]
    /// SHA-256 of the slice's tensor signatures (see `sliceDigest(of:)`); empty when no slice.
    public var sliceSHA256: [UInt8]
    /// Decoder layers of the whole model.
    public var layerCount: Int
    public var hiddenSize: Int
    public var vocabSize: Int

    public init(modelName: String, configSHA256: [UInt8], sliceSHA256: [UInt8] = [],
                layerCount: Int, hiddenSize: Int, vocabSize: Int) {
        self.modelName = modelName
        self.configSHA256 = configSHA256
        self.sliceSHA256 = sliceSHA256
        self.layerCount = layerCount
        self.hiddenSize = hiddenSize
        self.vocabSize = vocabSize
    }

    /// The same model without a slice digest, as the coordinator announces it in `Hello`.
    public var withoutSlice: ModelFingerprint {
        var copy = self
        copy.sliceSHA256 = []
        return copy
    }

    /// SHA-256 of a canonical configuration: `key=value` lines sorted by key, one per line, so that
    /// the digest does not depend on the JSON file's formatting.
    public static func configDigest(of fields: [String: String]) -> [UInt8] {
        var hasher = SHA256()
        for key in fields.keys.sorted() {
            hasher.update(data: Array("\(key)=\(fields[key] ?? "")\n".utf8))
        }
        return Array(hasher.finalize())
    }

    /// SHA-256 of a slice: one `name dtype [d0,d1,...]` line per tensor, sorted by name.
    public static func sliceDigest(of tensors: [TensorSignature]) -> [UInt8] {
        var hasher = SHA256()
        for tensor in tensors.sorted(by: { $0.name < $1.name }) {
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            hasher.update(data: Array("\(tensor.name) \(tensor.dtype) [\(shape)]\n".utf8))
        }
        return Array(hasher.finalize())
    }

    /// How the models of `self` (held by `local`) and `other` (held by `remote`) differ, one phrase
    /// per difference; empty when they are the same model. Slice digests are not compared.
    public func modelDifferences(from other: ModelFingerprint, local: String, remote: String) -> [String] {
        var differences: [String] = []
        func compare(_ field: String, _ mine: Int, _ theirs: Int) {
            if mine != theirs { differences.append("\(field): \(remote) has \(theirs), \(local) has \(mine)") }
        }
        compare("layer count", layerCount, other.layerCount)
        compare("hidden size", hiddenSize, other.hiddenSize)
        compare("vocabulary size", vocabSize, other.vocabSize)
        let digestsKnown = !configSHA256.isEmpty && !other.configSHA256.isEmpty
        if digestsKnown && configSHA256 != other.configSHA256 {
            differences.append("config sha256: \(remote) has \(hexPrefix(other.configSHA256)) ('\(other.modelName)'), "
                + "\(local) has \(hexPrefix(configSHA256)) ('\(modelName)')")
        }
        return differences
    }
}

/// A tensor as the slice digest sees it: checkpoint name, shape and dtype on disk.
public struct TensorSignature: Sendable, Hashable {
    public var name: String
    public var shape: [Int]
    public var dtype: String

    public init(name: String, shape: [Int], dtype: String) {
        self.name = name
        self.shape = shape
        self.dtype = dtype
    }
}

/// The first 8 bytes of a digest in hex, enough to tell two apart in a message.
func hexPrefix(_ bytes: [UInt8], count: Int = 8) -> String {
    if bytes.isEmpty { return "(none)" }
    return bytes.prefix(count).map { byte in
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
    }.joined()
}
