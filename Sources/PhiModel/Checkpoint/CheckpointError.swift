/// A checkpoint that cannot be read as described, naming the file, tensor or offset at fault.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case truncated(file: String, expectedBytes: Int, actualBytes: Int)
    case malformedHeader(file: String, reason: String)
    case offsetOutOfBounds(file: String, tensor: String, end: Int, fileBytes: Int)
    case unsupportedDType(file: String, tensor: String, dtype: String)
    case byteCountMismatch(file: String, tensor: String, dtype: String, shape: [Int], expectedBytes: Int, actualBytes: Int)
    case missingTensor(name: String, searched: String)
    case shapeMismatch(tensor: String, expected: [Int], found: [Int])
    case dtypeMismatch(tensor: String, expected: String, found: String)
    case badIndex(file: String, reason: String)
    case layersOutOfRange(requested: Range<Int>, layerCount: Int)
    case notAModel(path: String, reason: String)
    /// A GGUF file that does not begin with the bytes `GGUF`.
    case badMagic(file: String, found: [UInt8])
    /// A GGUF version other than 2 and 3 (a big-endian file reads as a byte-swapped version).
    case unsupportedVersion(file: String, version: UInt32)
    /// A GGUF tensor whose `ggml_type` id GGML does not define (its size cannot be known).
    case unknownTensorType(file: String, tensor: String, type: UInt32, headerOffset: Int)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): "cannot read \(file): \(reason)"
        case let .truncated(file, expected, actual): "\(file) has \(actual) bytes; its header describes \(expected)"
        case let .malformedHeader(file, reason): "\(file): malformed header: \(reason)"
        case let .offsetOutOfBounds(file, tensor, end, fileBytes):
            "\(file): tensor '\(tensor)' ends at byte \(end), past the end of the file (\(fileBytes) bytes)"
        case let .unsupportedDType(file, tensor, dtype): "\(file): tensor '\(tensor)' has unsupported dtype \(dtype)"
        case let .byteCountMismatch(file, tensor, dtype, shape, expected, actual):
            "\(file): tensor '\(tensor)' (\(dtype) \(shape)) occupies \(actual) bytes, expected \(expected)"
        case let .missingTensor(name, searched): "tensor '\(name)' is not in \(searched)"
        case let .shapeMismatch(tensor, expected, found): "tensor '\(tensor)' has shape \(found), expected \(expected)"
        case let .dtypeMismatch(tensor, expected, found): "tensor '\(tensor)' has dtype \(found), expected \(expected)"
        case let .badIndex(file, reason): "\(file): \(reason)"
        case let .layersOutOfRange(requested, layerCount):
            "layers \(requested.lowerBound)..<\(requested.upperBound) are outside the model's \(layerCount) layers"
        case let .notAModel(path, reason): "\(path) is not a model: \(reason)"
        case let .badMagic(file, found):
            "\(file) is not a GGUF file: it begins with \(found.isEmpty ? "nothing" : found.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")), not 'GGUF' (47 47 55 46)"
        case let .unsupportedVersion(file, version):
            [2, 3].contains(version.byteSwapped)
                ? "\(file) is a big-endian GGUF file (version \(version.byteSwapped)); only little-endian files are read"
                : "\(file) is GGUF version \(version); only versions 2 and 3 are read"
        case let .unknownTensorType(file, tensor, type, offset):
            "\(file): tensor '\(tensor)' has unknown GGML type \(type) (header byte \(offset))"
        }
    }
}
