#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A file mapped read-only into memory. Pages are read from disk when first touched, so a worker
/// that maps a whole checkpoint but reads only its layers keeps only those layers resident.
///
/// `@unchecked Sendable`: the mapping is read-only and never changes until `deinit` unmaps it,
/// which happens only when no tensor view refers to it any more.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let byteCount: Int
    private let base: UnsafeRawPointer?

    public init(path: String) throws {
        self.path = path
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw CheckpointError.unreadable(file: path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw CheckpointError.unreadable(file: path, reason: String(cString: strerror(errno)))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw CheckpointError.unreadable(file: path, reason: "not a regular file")
        }
        byteCount = Int(status.st_size)
        if byteCount == 0 {
            base = nil
            return
        }
        let mapping = mmap(nil, byteCount, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let mapping, mapping != MAP_FAILED else {
            throw CheckpointError.unreadable(file: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapping)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), byteCount) }
    }

    /// The bytes `range` of the file; the caller has checked that the range lies inside it.
    func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    /// The file's name without its directory, for error messages.
    public var fileName: String { URL(fileURLWithPath: path).lastPathComponent }
}
