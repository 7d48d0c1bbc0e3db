import Foundation
import PhiModel

extension ModelSource {
    /// The model's identity on the wire: a digest of its config (every field that shapes the
    /// computation) and, for `layers`, of the names, shapes and dtypes of the tensors a stage of
    /// those layers reads.
    public func fingerprint(layers: Range<Int>?) throws -> ModelFingerprint {
        ModelFingerprint(modelName: path.lastPathComponent, configSHA256: ModelFingerprint.configDigest(of: config.fingerprintFields),
                         sliceSHA256: try layers.map { ModelFingerprint.sliceDigest(of: try sliceSignatures(layers: $0)) } ?? [],
                         layerCount: config.layerCount, hiddenSize: config.hiddenSize, vocabSize: config.vocabularySize)
    }

    /// Name, shape and dtype of every tensor a stage of `layers` reads.
    public func sliceSignatures(layers: Range<Int>) throws -> [TensorSignature] {
        var names: [String] = layers.flatMap { TensorNames.layerTensors(layout, layer: $0, config: config) }
        if layers.lowerBound == 0 { names.append(TensorNames.embedding(layout)) }
        if layers.upperBound == config.layerCount {
            names.append(TensorNames.finalNorm(layout))
            let head = TensorNames.head(layout)
            names.append(config.tieWordEmbeddings || !tensors.contains(head) ? TensorNames.embedding(layout) : head)
        }
        return try Set(names).sorted().map { name in
            let view = try tensors.tensor(name)
            return TensorSignature(name: name, shape: view.shape, dtype: view.dtype.rawValue)
        }
    }
}

extension ModelConfig {
    /// Every field that changes what the model computes, as text, for the config digest.
    var fingerprintFields: [String: String] {
        var fields: [String: String] = [
            "architecture": architecture, "hidden_size": "\(hiddenSize)", "intermediate_size": "\(intermediateSize)",
            "layers": "\(layerCount)", "heads": "\(headCount)", "kv_heads": "\(kvHeadCount)", "head_dim": "\(headDim)",
            "rotary_dims": "\(rotaryDims)", "vocabulary": "\(vocabularySize)", "rms_norm_eps": "\(rmsNormEpsilon)",
            "rope_theta": "\(ropeTheta)", "max_positions": "\(maxPositionEmbeddings)",
            "original_max_positions": "\(originalMaxPositionEmbeddings)", "tied": "\(tieWordEmbeddings)",
        ]
        switch rope {
        case .none:
            fields["rope"] = "none"
        case let .longRope(short, long, factor):
            fields["rope"] = "longrope short=\(short) long=\(long) attention=\(factor)"
        }
        return fields
    }
}
