import Foundation

/// The safetensors of a Hugging Face model directory: `model.safetensors`, or the shards listed by
/// `model.safetensors.index.json`. Every shard is opened and its header validated; tensor data is
/// read only when a tensor is used.
public struct SafetensorsCheckpoint: TensorSource {
    public let directory: URL
    private let shards: [SafetensorsFile]
    private let shardOfTensor: [String: Int]

    public init(directory: URL) throws {
        self.directory = directory
        let fileManager = FileManager.default
        let indexURL = directory.appendingPathComponent("model.safetensors.index.json")
        let singleURL = directory.appendingPathComponent("model.safetensors")
        if fileManager.fileExists(atPath: indexURL.path) {
            let map = try Self.readIndex(indexURL)
            let shardNames = Array(Set(map.values)).sorted()
            var shards: [SafetensorsFile] = []
            for shardName in shardNames {
                let path = directory.appendingPathComponent(shardName).path
                guard fileManager.fileExists(atPath: path) else {
                    throw CheckpointError.badIndex(file: indexURL.lastPathComponent, reason: "lists shard '\(shardName)', which does not exist")
                }
                shards.append(try SafetensorsFile(path: path))
            }
            var shardOfTensor: [String: Int] = [:]
            for (tensor, shardName) in map {
                guard let index = shardNames.firstIndex(of: shardName) else { continue }
                guard shards[index].entries[tensor] != nil else {
                    throw CheckpointError.badIndex(file: indexURL.lastPathComponent,
                                                   reason: "places tensor '\(tensor)' in \(shardName), whose header lacks it")
                }
                shardOfTensor[tensor] = index
            }
            self.shards = shards
            self.shardOfTensor = shardOfTensor
        } else if fileManager.fileExists(atPath: singleURL.path) {
            let file = try SafetensorsFile(path: singleURL.path)
            shards = [file]
            shardOfTensor = Dictionary(uniqueKeysWithValues: file.entries.keys.map { ($0, 0) })
        } else {
            throw CheckpointError.notAModel(path: directory.path,
                                            reason: "it holds neither model.safetensors nor model.safetensors.index.json")
        }
    }

    public var tensorNames: [String] { shardOfTensor.keys.sorted() }

    public func contains(_ name: String) -> Bool { shardOfTensor[name] != nil }

    public func tensor(_ name: String) throws -> TensorView {
        guard let shard = shardOfTensor[name], let view = try shards[shard].tensor(name) else {
            throw CheckpointError.missingTensor(name: name, searched: directory.lastPathComponent)
        }
        return view
    }

    private static func readIndex(_ url: URL) throws -> [String: String] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CheckpointError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let map = object["weight_map"] as? [String: String]
        else {
            throw CheckpointError.badIndex(file: url.lastPathComponent, reason: "has no 'weight_map' object of tensor name to shard file")
        }
        return map
    }
}
