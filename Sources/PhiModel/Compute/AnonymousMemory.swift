#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Zeroed memory from the kernel that becomes resident only where it is written.
enum AnonymousMemory {
    static func allocate(bytes: Int) throws -> UnsafeMutableRawPointer {
        let mapping = mmap(nil, max(bytes, 1), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let mapping, mapping != MAP_FAILED else { throw KVCacheError.outOfMemory(bytes: bytes) }
        return mapping
    }

    static func free(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        munmap(pointer, max(bytes, 1))
    }
}
