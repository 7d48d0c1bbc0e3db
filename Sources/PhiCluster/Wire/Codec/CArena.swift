import CPhiWire

/// Memory for the protobuf-c structs of one message being packed, released all at once when the
/// arena goes. protobuf-c packs from plain C structs whose strings, bytes, repeated fields and
/// sub-messages are pointers; the arena owns whatever those point to.
final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit {
        for allocation in allocations { allocation.deallocate() }
    }

    private func allocate(byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer {
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: alignment)
        allocations.append(pointer)
        return pointer
    }

    /// A protobuf-c message struct set up by its generated `init` function, then filled by `fill`.
    func message<T>(_ initialize: (UnsafeMutablePointer<T>?) -> Void, _ fill: (inout T) -> Void) -> UnsafeMutablePointer<T> {
        let pointer = allocate(byteCount: MemoryLayout<T>.stride, alignment: MemoryLayout<T>.alignment)
            .bindMemory(to: T.self, capacity: 1)
        initialize(pointer)
        fill(&pointer.pointee)
        return pointer
    }

    /// A NUL-terminated copy of `string`.
    func string(_ string: String) -> UnsafeMutablePointer<CChar> {
        let utf8 = Array(string.utf8)
        let pointer = allocate(byteCount: utf8.count + 1, alignment: 1).bindMemory(to: CChar.self, capacity: utf8.count + 1)
        utf8.withUnsafeBytes { UnsafeMutableRawPointer(pointer).copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(pointer), byteCount: $0.count) }
        pointer[utf8.count] = 0
        return pointer
    }

    /// A copy of `bytes` as a protobuf-c `bytes` field.
    func bytes(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        guard !bytes.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        let pointer = allocate(byteCount: bytes.count, alignment: 1)
        bytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(pointer), byteCount: $0.count) }
        return ProtobufCBinaryData(len: bytes.count, data: pointer.assumingMemoryBound(to: UInt8.self))
    }

    /// A copy of `values` as a protobuf-c repeated field (`n_x`, `x`).
    func array<T>(_ values: [T]) -> (count: Int, pointer: UnsafeMutablePointer<T>?) {
        guard !values.isEmpty else { return (0, nil) }
        let pointer = allocate(byteCount: MemoryLayout<T>.stride * values.count, alignment: MemoryLayout<T>.alignment)
            .bindMemory(to: T.self, capacity: values.count)
        pointer.initialize(from: values, count: values.count)
        return (values.count, pointer)
    }
}
